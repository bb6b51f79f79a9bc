/**
 * Cross-check against npm itself: for each npm sample project (test/fixtures/projects),
 * the real npm (≥ 11.16) lists the packages whose install scripts are "not yet covered by
 * allowScripts", and the built CLI must name the same name@version set — apart from the
 * differences documented below, each of which the test derives and explains.
 *
 * How npm is made to list without running anything (see the projects' README for the
 * reading of npm's source): `npm install --package-lock-only --json` with scripts NOT
 * ignored (with --ignore-scripts npm lists nothing at install time), against a loopback
 * registry. --package-lock-only never unpacks or builds a dependency; the only scripts npm
 * could still run are the ROOT project's own lifecycle scripts, so the test refuses to run
 * npm on a project that has any, and points --script-shell at a trap that records any call.
 *
 * Two npm views per project:
 *  - "lockfile": npm reads the committed lockfile and trusts its `hasInstallScript` flags
 *    (it prints the placeholder "(install scripts present)" for the body);
 *  - "registry": the lockfile is removed and npm resolves from the loopback registry; its
 *    resolver always asks for full packuments, so it prints the real script bodies.
 *
 * Documented differences (npm's list = ours after these):
 *  1. gyp-only: a package with a binding.gyp and no preinstall/install script runs
 *     `node-gyp rebuild` at a real install, which we report; npm only notices the file on
 *     disk after unpacking, so with nothing unpacked it does not list the package.
 *  2. inert optional packages: npm drops an optional package whose os/cpu excludes this
 *     machine before any script runs, so it never lists it; we report every locked package.
 *  3. stale lockfile flag: in the "lockfile" view npm lists a package whose lockfile says
 *     `hasInstallScript: true` although its published manifest has no install script (real
 *     lockfiles carry this for fsevents 2.3.2/2.3.3); we trust the manifest.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { npmOnPath } from '../support/npmOnPath';
import { PROJECTS_DIR } from '../support/projectFixtures';
import { CLI } from '../support/runCli';

const NPM_PROJECTS: { name: string; lockfile: string; views: View[] }[] = [
  { name: 'npm-basic', lockfile: 'package-lock.json', views: ['lockfile', 'registry'] },
  { name: 'npm-workspaces', lockfile: 'package-lock.json', views: ['lockfile', 'registry'] },
  // Resolving afresh would only repeat npm-basic: the shrinkwrap's point is being read.
  { name: 'npm-shrinkwrap', lockfile: 'npm-shrinkwrap.json', views: ['lockfile'] },
];
/** What npm prints for a lockfile-flagged package whose script bodies it cannot read. */
const NPM_PLACEHOLDER = '(install scripts present)';
const INSTALL_EVENTS = ['preinstall', 'install', 'postinstall'] as const;
/** Root lifecycle events `npm install` (even --package-lock-only) runs for the project itself. */
const ROOT_EVENTS = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare',
  'postprepare', 'predependencies', 'dependencies', 'postdependencies'];

type Manifest = Record<string, any>;
type Scripts = Record<string, string>;
interface OurPackage {
  name: string;
  version: string;
  source: string;
  optional: boolean;
  installScripts: Scripts | null;
  gyp: boolean;
  lockfileFlag: boolean | null;
}
type View = 'lockfile' | 'registry';

const fixtureData = JSON.parse(readFileSync(join(PROJECTS_DIR, 'manifests.json'), 'utf8')) as {
  manifests: Record<string, Manifest>;
  time: Record<string, Record<string, string>>;
};

const scratch = mkdtempSync(join(tmpdir(), 'ig-npm-xcheck-'));
// Two files: npm refuses to load one file as both user and global config.
const emptyRc = join(scratch, 'empty-user-npmrc');
const emptyGlobalRc = join(scratch, 'empty-global-npmrc');
const trapMarker = join(scratch, 'script-shell-called');
const trapShell = join(scratch, 'trap-shell.sh');
let registry: LoopbackRegistry;
let runCounter = 0;

const { version: npmVersion, skip: npmSkip } = npmOnPath(process.env);
const cliMissing = existsSync(CLI) ? null : `the CLI is not built (${CLI}); run \`npm run build\``;

before(async () => {
  writeFileSync(emptyRc, '');
  writeFileSync(emptyGlobalRc, '');
  writeFileSync(trapShell, `#!/bin/sh\necho "$@" >> '${trapMarker}'\nexit 97\n`);
  chmodSync(trapShell, 0o755);
  registry = await startLoopbackRegistry({ manifests: new Map(Object.entries(fixtureData.manifests)), time: fixtureData.time });
});

after(async () => {
  await registry?.close();
  rmSync(scratch, { recursive: true, force: true });
});

for (const project of NPM_PROJECTS) {
  for (const view of project.views) {
    test(`${project.name}: npm's install-script list (${view} view) vs Install Guard's`, { skip: npmSkip }, async (t) => {
      let npmList = new Map<string, Scripts>();
      await t.test('npm lists exactly the locked packages whose manifest has an install script', async (t) => {
        const dir = copyProject(project.name);
        if (view === 'registry') rmSync(join(dir, project.lockfile));
        const asked = registry.requests.length;
        npmList = await npmUnreviewed(dir);
        if (view === 'lockfile') assert.equal(registry.requests.length, asked, 'npm asked the registry despite a complete lockfile');
        else assert.ok(registry.requests.length > asked, 'npm resolved without asking the loopback registry');
        t.diagnostic(`npm ${npmVersion} lists: ${[...npmList].map(([k, s]) => `${k} ${JSON.stringify(s)}`).join('; ')}`);

        // Independent of our CLI: npm's list is the locked packages whose published
        // manifest has an install script, less the inert optional ones.
        const locked = lockedPackages(join(PROJECTS_DIR, project.name, project.lockfile));
        if (view === 'registry') assertSameVersions(locked, join(dir, 'package-lock.json'));
        const fromManifests = new Set(
          locked.filter((p) => explicitScripts(manifestOf(p.key)) !== null && !isInert(p.optional, manifestOf(p.key))).map((p) => p.key),
        );
        assertSameSet(`npm (${view} view)`, npmList, 'published manifests less inert optional packages', fromManifests, []);
        for (const [key, scripts] of npmList) {
          if (view === 'registry') assert.deepEqual(scripts, explicitScripts(manifestOf(key)), `npm's script bodies for ${key}`);
          else assert.deepEqual(scripts, { install: NPM_PLACEHOLDER }, `npm trusts the lockfile flag for ${key}`);
        }
      });
      await t.test('Install Guard names the same set, apart from documented differences', { skip: cliMissing ?? false }, async () => {
        assert.ok(npmList.size > 0, 'npm listed nothing; nothing to compare');
        const ours = await auditWithCli(copyProject(project.name));
        compareWithOurs(view, npmList, ours);
      });
    });
  }
}

test('npm-basic: npm trusts a stale hasInstallScript flag, Install Guard trusts the manifest', { skip: npmSkip }, async (t) => {
  // debug@2.6.9 has no install script; mark it the way real lockfiles mark fsevents 2.3.x.
  const dir = copyProject('npm-basic');
  const lockPath = join(dir, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  assert.equal(explicitScripts(manifestOf('debug@2.6.9')), null);
  lock.packages['node_modules/debug'].hasInstallScript = true;
  writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
  // npm rewrites the lockfile it reads; audit an untouched copy.
  const oursDir = join(scratch, `npm-basic-stale-${++runCounter}`);
  cpSync(dir, oursDir, { recursive: true });

  let npmList = new Map<string, Scripts>();
  await t.test('npm lists the flagged package', async () => {
    npmList = await npmUnreviewed(dir);
    assert.deepEqual(npmList.get('debug@2.6.9'), { install: NPM_PLACEHOLDER });
  });
  await t.test('Install Guard reports the flag but no install script', { skip: cliMissing ?? false }, async () => {
    const ours = await auditWithCli(oursDir);
    const debug = ours.find((p) => p.name === 'debug' && p.version === '2.6.9');
    assert.ok(debug, 'Install Guard reports debug@2.6.9');
    assert.equal(debug.installScripts, null, 'the manifest has no install script');
    assert.equal(debug.lockfileFlag, true, 'and the lockfile flag is reported as read');
    compareWithOurs('lockfile', npmList, ours);
  });
});

// ---------------------------------------------------------------------------------------

/** Our list turned into npm's by the documented differences; the two must then be equal. */
function compareWithOurs(view: View, npmList: Map<string, Scripts>, ours: OurPackage[]): void {
  const expected = new Set<string>();
  const explained: string[] = [];
  for (const p of ours) {
    const key = `${p.name}@${p.version}`;
    if (p.source === 'workspace' || p.source === 'link') {
      // npm skips the project's own workspaces and links: their owner runs them.
      if (p.installScripts) explained.push(`${key}: ${p.source}; npm never lists workspaces or links`);
      continue;
    }
    if (p.source !== 'registry') {
      // No registry manifest to judge by (git/file/tarball): npm lists what we list.
      if (p.installScripts) expected.add(key);
      continue;
    }
    const manifest = manifestOf(key);
    if (isInert(p.optional, manifest)) {
      if (p.installScripts) explained.push(`${key}: optional and not installable on ${process.platform}/${process.arch}; npm drops it (2)`);
      continue;
    }
    if (p.installScripts) {
      if (explicitScripts(manifest) === null) {
        assert.ok(p.gyp, `${key}: we report install scripts its manifest does not have, and not as gyp`);
        explained.push(`${key}: gyp-only (node-gyp rebuild); npm cannot see binding.gyp before unpacking (1)`);
        continue;
      }
      expected.add(key);
    } else if (view === 'lockfile' && p.lockfileFlag === true) {
      explained.push(`${key}: stale lockfile hasInstallScript; npm trusts it, we trust the manifest (3)`);
      expected.add(key);
    }
  }
  assertSameSet(`npm (${view} view)`, npmList, 'Install Guard after documented differences', expected, explained, ours);

  // Where npm printed real bodies, ours must be the same scripts.
  for (const [key, scripts] of npmList) {
    if (scripts.install === NPM_PLACEHOLDER) continue;
    const mine = ours.find((p) => `${p.name}@${p.version}` === key)?.installScripts ?? null;
    assert.deepEqual(pickInstallEvents(mine), scripts, `script bodies of ${key}: Install Guard vs npm`);
  }

  // Gyp-only packages are the one thing npm cannot list before unpacking: we must.
  for (const p of ours.filter((o) => o.source === 'registry')) {
    const m = manifestOf(`${p.name}@${p.version}`);
    if (m.gypfile === true && !m.scripts?.install && !m.scripts?.preinstall) {
      assert.ok(p.gyp && p.installScripts?.install, `${p.name}@${p.version} publishes gypfile: true; expected the implied node-gyp rebuild`);
    }
  }
}

function assertSameSet(
  leftLabel: string,
  left: Map<string, Scripts>,
  rightLabel: string,
  right: Set<string>,
  explained: string[],
  ours?: OurPackage[],
): void {
  const onlyLeft = [...left.keys()].filter((k) => !right.has(k));
  const onlyRight = [...right].filter((k) => !left.has(k));
  if (onlyLeft.length === 0 && onlyRight.length === 0) return;
  const lines = [
    `${leftLabel} and ${rightLabel} disagree.`,
    `  ${leftLabel}: ${[...left.keys()].sort().join(', ') || '(none)'}`,
    `  ${rightLabel}: ${[...right].sort().join(', ') || '(none)'}`,
    `  only in ${leftLabel}: ${onlyLeft.join(', ') || '-'}`,
    `  only in ${rightLabel}: ${onlyRight.join(', ') || '-'}`,
    `  documented differences applied: ${explained.length ? '\n    ' + explained.join('\n    ') : '(none)'}`,
  ];
  if (ours) {
    const raw = ours.filter((p) => p.installScripts).map((p) => `${p.name}@${p.version} ${JSON.stringify(p.installScripts)}`);
    lines.push(`  Install Guard raw (installScripts != null):\n    ${raw.join('\n    ') || '(none)'}`);
  }
  assert.fail(lines.join('\n'));
}

/** Runs the real npm so that it prints its list; returns name@version -> scripts. */
async function npmUnreviewed(dir: string): Promise<Map<string, Scripts>> {
  assertNoRootScripts(dir);
  const args = [
    'install', '--package-lock-only', '--json',
    `--registry=${registry.url}`, `--cache=${join(scratch, `npm-cache-${++runCounter}`)}`,
    `--userconfig=${emptyRc}`, `--globalconfig=${emptyGlobalRc}`,
    '--no-audit', '--no-fund', '--no-update-notifier', `--script-shell=${trapShell}`,
  ];
  const r = await run('npm', args, dir);
  assert.ok(!existsSync(trapMarker), `npm tried to run a script: ${existsSync(trapMarker) ? readFileSync(trapMarker, 'utf8') : ''}`);
  assert.equal(r.code, 0, `npm ${args.join(' ')} failed:\n${r.stderr}`);
  const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { unreviewedScripts?: { name: string; version: string; scripts: Scripts }[] };
  const list = new Map<string, Scripts>();
  for (const entry of out.unreviewedScripts ?? []) list.set(`${entry.name}@${entry.version}`, entry.scripts);
  return list;
}

async function auditWithCli(dir: string): Promise<OurPackage[]> {
  const args = [CLI, 'audit', dir, '--format', 'json', '--registry', registry.url,
    '--cache', join(scratch, `ig-cache-${++runCounter}`), '--quiet'];
  const r = await run(process.execPath, args, dir);
  assert.ok(r.code === 0 || r.code === 1, `install-guard exited ${r.code}:\n${r.stderr}`);
  let report: { schemaVersion: number; packages: OurPackage[] };
  try {
    report = JSON.parse(r.stdout);
  } catch {
    assert.fail(`install-guard (exit ${r.code}) printed no JSON report.\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 4000)}`);
  }
  assert.equal(report.schemaVersion, 1);
  return report.packages;
}

/** npm runs the project's own lifecycle scripts even with --package-lock-only: refuse. */
function assertNoRootScripts(dir: string): void {
  const lock = ['package-lock.json', 'npm-shrinkwrap.json'].map((f) => join(dir, f)).find(existsSync);
  const workspaceDirs = lock
    ? Object.entries(JSON.parse(readFileSync(lock, 'utf8')).packages ?? {})
        .filter(([path]) => !path.includes('node_modules/')).map(([path]) => join(dir, path))
    : [dir];
  for (const ws of new Set([dir, ...workspaceDirs])) {
    const pkg = JSON.parse(readFileSync(join(ws, 'package.json'), 'utf8'));
    const events = ROOT_EVENTS.filter((e) => pkg.scripts?.[e] !== undefined);
    assert.deepEqual(events, [], `${ws} declares lifecycle scripts npm would run`);
    assert.ok(!existsSync(join(ws, 'binding.gyp')), `${ws} has a binding.gyp npm would build`);
  }
}

interface LockedEntry { key: string; optional: boolean }

/** Every registry package a package-lock v2/v3 installs (links and workspaces skipped). */
function lockedPackages(lockPath: string): LockedEntry[] {
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  const out: LockedEntry[] = [];
  for (const [path, entry] of Object.entries<any>(lock.packages ?? {})) {
    if (!path.includes('node_modules/') || entry.link) continue;
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    out.push({ key: `${name}@${entry.version}`, optional: entry.optional === true });
  }
  return out;
}

/** Resolving afresh from the loopback registry must land on the versions the fixture locks. */
function assertSameVersions(locked: LockedEntry[], npmWrote: string): void {
  const a = new Set(locked.map((p) => p.key));
  const b = new Set(lockedPackages(npmWrote).map((p) => p.key));
  assert.deepEqual([...b].sort(), [...a].sort(), 'npm resolved other versions than the fixture locks');
}

function manifestOf(key: string): Manifest {
  const m = fixtureData.manifests[key];
  assert.ok(m, `no manifest for ${key} in test/fixtures/projects/manifests.json (an alias reported under its alias name, or the file needs regenerating)`);
  return m;
}

/** The preinstall/install/postinstall a registry manifest declares, or null. */
function explicitScripts(manifest: Manifest): Scripts | null {
  return pickInstallEvents(manifest.scripts ?? null);
}

function pickInstallEvents(scripts: Scripts | null): Scripts | null {
  const out: Scripts = {};
  for (const e of INSTALL_EVENTS) if (typeof scripts?.[e] === 'string') out[e] = scripts[e];
  return Object.keys(out).length ? out : null;
}

/** npm's inert rule as far as these fixtures need it: an optional package whose os/cpu excludes this machine (npm also drops engine failures and the packages only they pull in). */
function isInert(optional: boolean, manifest: Manifest): boolean {
  return optional && !(allows(manifest.os, process.platform) && allows(manifest.cpu, process.arch));
}

function allows(list: unknown, value: string): boolean {
  if (!Array.isArray(list) || list.length === 0) return true;
  if (list.includes(`!${value}`)) return false;
  const positive = list.filter((x: string) => !x.startsWith('!'));
  return positive.length === 0 || positive.includes(value) || positive.includes('any');
}

function copyProject(name: string): string {
  const dir = join(scratch, `${name}-${++runCounter}`);
  cpSync(join(PROJECTS_DIR, name), dir, { recursive: true });
  return dir;
}

/** Runs a command without blocking the event loop (the loopback registry lives in this process). */
function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // A clean environment: under `npm test` npm exports its own config as npm_config_*.
  const env: NodeJS.ProcessEnv = { npm_config_userconfig: emptyRc, npm_config_globalconfig: emptyGlobalRc };
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_ENV') env[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
