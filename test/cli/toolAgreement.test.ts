/**
 * The real package managers agree with our verdicts. For each tool, a fixture project
 * (test/fixtures/policy/<tool>) depends on tiny made packages served by a loopback
 * registry; every install script in them is `node mark.js`, which only appends its
 * name@version to `.ig-marks/ran.txt` in the throwaway project. The test:
 *
 *  1. has the real tool write its lockfile without running anything (npm
 *     --package-lock-only with a trap --script-shell, pnpm --lockfile-only, Yarn
 *     --mode=update-lockfile, bun --lockfile-only);
 *  2. computes our verdicts from that lockfile, the project's files and the registry only
 *     (loadProject + readNativePolicy + auditInventory), before anything is installed;
 *  3. runs the real install with scripts on, in the throwaway directory, and compares:
 *     the packages we call unreviewed (and that the tool skips or warns about) are exactly
 *     the ones the tool reports — npm's "not yet covered by allowScripts" list, pnpm's
 *     "Ignored build scripts", Yarn's YN0004 (and YN0005 for denied), `bun pm untrusted` —
 *     and the scripts that really ran are exactly the ones we say run.
 *
 * Tools come from the npm registry at exact versions (`npx -y --package=<tool>@<version>`,
 * nothing of theirs runs at install) and run with HOME, caches and stores in the scratch
 * directory. A tool that cannot be fetched or run here is skipped with the reason.
 *
 * Documented difference: npm 11.19.1 runs the install script of a bundled dependency
 * whatever allowScripts says and does not list it; we call it unreviewed (no entry can
 * cover it) and say it runs — the marker file proves it does.
 */
import { test, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { auditInventory, type PackageReport } from '../../server/src/analysis/audit';
import type { PackageManagerName } from '../../server/src/model/inventory';
import { loadProject, readTextFromDisk } from '../../server/src/parse/project';
import { BUN_DEFAULT_TRUSTED_DEPENDENCIES, BUN_DEFAULT_TRUSTED_VERSION } from '../../server/src/policy/allowlists/bunDefaultTrusted';
import { readNativePolicy } from '../../server/src/policy/allowlists/nativeAllowlists';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import { loadRegistryConfig } from '../../server/src/registry/npmConfig';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { projectRoot } from '../support/sharedFixtures';
import { npmOnPath } from '../support/npmOnPath';

const FIXTURES = join(projectRoot, 'test', 'fixtures', 'policy');
const PNPM = 'pnpm@10.34.9';
const YARN = '@yarnpkg/cli-dist@4.18.1';
/** The Bun release whose built-in trusted list bunDefaultTrusted.ts copies. */
const BUN_VERSION = BUN_DEFAULT_TRUSTED_VERSION;
const STEP_TIMEOUT_MS = 180_000;

interface MadePackage {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  bundleDependencies?: string[];
}

/** The only code our packages run: append name@version to the project's marker file. */
const MARK_JS = `const fs = require('fs');
const path = require('path');
const { name, version } = require('./package.json');
for (let dir = __dirname; ; dir = path.dirname(dir)) {
  const marks = path.join(dir, '.ig-marks');
  if (fs.existsSync(marks)) { fs.appendFileSync(path.join(marks, 'ran.txt'), name + '@' + version + '\\n'); break; }
  if (path.dirname(dir) === dir) break;
}
`;

const made = (JSON.parse(readFileSync(join(FIXTURES, 'packages.json'), 'utf8')) as { packages: MadePackage[] }).packages;
const scratch = mkdtempSync(join(tmpdir(), 'ig-tool-agreement-'));
const home = join(scratch, 'home');
const userRc = join(scratch, 'empty-user-npmrc');
const globalRc = join(scratch, 'empty-global-npmrc');
let registry: LoopbackRegistry;
let copies = 0;

beforeEach(() => {
  seen = [];
});

afterEach((t) => {
  if ('diagnostic' in t) for (const line of seen) t.diagnostic(line);
});

before(async () => {
  mkdirSync(home, { recursive: true });
  writeFileSync(userRc, '');
  writeFileSync(globalRc, '');
  const manifests = new Map<string, Record<string, unknown>>();
  const tarballs = new Map<string, Buffer>();
  for (const pkg of made) {
    const tgz = tarball(pkg);
    manifests.set(`${pkg.name}@${pkg.version}`, {
      ...pkg,
      dist: { integrity: `sha512-${createHash('sha512').update(tgz).digest('base64')}`, shasum: createHash('sha1').update(tgz).digest('hex') },
    });
    tarballs.set(`${pkg.name}@${pkg.version}`, tgz);
  }
  registry = await startLoopbackRegistry({ manifests, tarballs });
});

after(async () => {
  await registry?.close();
  rmSync(scratch, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// Made packages

function tarball(pkg: MadePackage): Buffer {
  const files: [string, string][] = [['package/package.json', JSON.stringify(pkg, null, 2)]];
  if (pkg.scripts) files.push(['package/mark.js', MARK_JS]);
  for (const name of pkg.bundleDependencies ?? []) {
    const inner = made.find((p) => p.name === name)!;
    files.push([`package/node_modules/${name}/package.json`, JSON.stringify(inner, null, 2)]);
    if (inner.scripts) files.push([`package/node_modules/${name}/mark.js`, MARK_JS]);
  }
  const blocks: Buffer[] = [];
  for (const [path, text] of files) {
    const body = Buffer.from(text);
    blocks.push(ustarHeader(path, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

function ustarHeader(path: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';
  h.write(path, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(0, 12), 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

// ---------------------------------------------------------------------------------------
// Projects, runs and our side

function copyFixture(name: string): string {
  const dir = join(scratch, `${name}-${++copies}`);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  mkdirSync(join(dir, '.ig-marks'));
  return dir;
}

function ran(dir: string): Set<string> {
  const file = join(dir, '.ig-marks', 'ran.txt');
  return new Set(existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
}

/** The environment of every tool run: no npm_* from a parent `npm test`, HOME and caches in scratch. */
function toolEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|pnpm_|yarn_|bun_)/i.test(k) && k !== 'NODE_ENV' && k !== 'CI') env[k] = v;
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    npm_config_userconfig: userRc,
    npm_config_globalconfig: globalRc,
    npm_config_update_notifier: 'false',
    COREPACK_ENABLE_STRICT: '0',
    ...extra,
  };
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
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

const ok = (r: RunResult, what: string) => assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);

/** Our verdicts from the lockfile, the project's files and the registry — nothing installed. */
async function ours(dir: string, manager: PackageManagerName, version: string): Promise<Map<string, PackageReport>> {
  const config = await loadRegistryConfig({ projectDir: dir, registryOverride: registry.url, userConfigFile: userRc, globalConfigFile: globalRc, env: { HOME: home } });
  const inventory = await loadProject(dir);
  assert.ok(inventory.lockfile, `no lockfile in ${dir}`);
  const policy = await readNativePolicy(inventory, config, readTextFromDisk, { installingTool: { manager, version, source: 'test', problem: null }, env: {} });
  assert.equal(policy.settings.manager, manager);
  const report = await auditInventory(inventory, { metadata: new MetadataClient({ config, cacheDir: null }), policy, useInstalled: false });
  const byKey = new Map<string, PackageReport>();
  for (const pkg of report.packages) {
    assert.equal(pkg.facts.known, true, `${pkg.name}@${pkg.version}: ${pkg.facts.note}`);
    byKey.set(`${pkg.name}@${pkg.version}`, pkg);
  }
  return byKey;
}

const keysWhere = (reports: Map<string, PackageReport>, pick: (r: PackageReport) => boolean) => new Set([...reports].filter(([, r]) => pick(r)).map(([k]) => k));
const sorted = (s: Iterable<string>) => [...s].sort();

/** What each comparison saw, printed as test diagnostics (the report's "tool printed vs ours"). */
let seen: string[] = [];

function assertSame(label: string, theirs: Iterable<string>, mine: Iterable<string>, reports: Map<string, PackageReport>): void {
  const a = sorted(theirs);
  const b = sorted(mine);
  seen.push(`${label}: ${a.join(', ') || '(none)'}`);
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const verdicts = [...reports].map(([k, r]) => `    ${k}: ${r.policy.verdict}/${r.policy.effect} by ${r.policy.decidedBy ?? '-'} — ${r.policy.explanation}`);
  assert.fail(`${label}\n  the tool: ${a.join(', ') || '(none)'}\n  Install Guard: ${b.join(', ') || '(none)'}\n  our verdicts:\n${verdicts.join('\n')}`);
}

/** `npx -y --package=<spec>` once; the package's node_modules directory inside npx's cache. */
const fetched = new Map<string, Promise<string>>();
function fetchTool(spec: string): Promise<string> {
  if (!fetched.has(spec)) {
    fetched.set(spec, (async () => {
      // The user's own npm config (mirror, proxy) fetches the tool; nothing of it runs.
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
      const r = await run('npx', ['-y', `--package=${spec}`, '--', 'node', '-p', `process.env.PATH.split(${JSON.stringify(delimiter)})[0]`], scratch, { ...env, npm_config_update_notifier: 'false' });
      const bin = r.stdout.trim().split('\n').pop() ?? '';
      if (r.code !== 0 || !bin.endsWith('.bin')) throw new Error(`\`npx -y --package=${spec}\` failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      return join(bin, '..');
    })());
  }
  return fetched.get(spec)!;
}

async function toolOrSkip(t: { skip(message: string): void }, spec: string, path: string[]): Promise<string | null> {
  try {
    const file = join(await fetchTool(spec), ...path);
    if (!existsSync(file)) throw new Error(`${spec} has no ${path.join('/')}`);
    return file;
  } catch (error) {
    t.skip(`${spec} could not be fetched or run here: ${(error as Error).message}`);
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// npm

const { version: npmVersion, skip: npmSkip } = npmOnPath(toolEnv());

function npmArgs(extra: string[]): string[] {
  return ['install', `--registry=${registry.url}`, `--cache=${join(scratch, 'npm-cache')}`, `--userconfig=${userRc}`, `--globalconfig=${globalRc}`, '--no-audit', '--no-fund', '--no-update-notifier', ...extra];
}

test(`npm ${npmVersion ?? ''}: the allowScripts warning list and the scripts that ran match our verdicts`, { skip: npmSkip }, async () => {
  const dir = copyFixture('npm');
  const trap = join(scratch, 'trap-shell.sh');
  const trapped = join(scratch, 'trap-called');
  writeFileSync(trap, `#!/bin/sh\necho "$@" >> '${trapped}'\nexit 97\n`);
  chmodSync(trap, 0o755);

  const lockOnly = await run('npm', [...npmArgs(['--package-lock-only', '--json', `--script-shell=${trap}`])], dir, toolEnv());
  ok(lockOnly, 'npm install --package-lock-only');
  assert.ok(!existsSync(trapped), 'npm ran a script while only writing the lockfile');
  const listed = new Set(((JSON.parse(lockOnly.stdout.slice(lockOnly.stdout.indexOf('{'))) as { unreviewedScripts?: { name: string; version: string }[] }).unreviewedScripts ?? []).map((e) => `${e.name}@${e.version}`));

  const mine = await ours(dir, 'npm', npmVersion!);
  const bundled = keysWhere(mine, (r) => r.bundled);
  assert.deepEqual(sorted(bundled), ['ig-inner@1.0.0'], 'the fixture bundles ig-inner');
  // npm leaves bundled packages out of its list; everything else we call unreviewed, it lists.
  assertSame('npm --package-lock-only unreviewedScripts vs our unreviewed (bundled aside)', listed, keysWhere(mine, (r) => r.policy.verdict === 'unreviewed' && !r.bundled), mine);
  assert.equal(mine.get('ig-denied@1.0.0')?.policy.decidedBy, 'package.json#allowScripts.ig-denied');
  assert.equal(mine.get('ig-transitive@1.0.0')?.policy.decidedBy, 'package.json#allowScripts.ig-transitive@1.0.0 || 1.0.1');

  const install = await run('npm', npmArgs([]), dir, toolEnv());
  ok(install, 'npm install');
  const warned = new Set([...install.stderr.matchAll(/^npm warn install-scripts {3}(\S+@\S+) \(/gm)].map((m) => m[1]!));
  assertSame('npm install warning list vs our unreviewed (bundled aside)', warned, listed, mine);
  assertSame('scripts that really ran vs our effect "runs"', ran(dir), keysWhere(mine, (r) => r.policy.effect === 'runs'), mine);
  assert.ok(ran(dir).has('ig-inner@1.0.0'), 'npm ran the bundled package\'s script although allowScripts denies it');
  assert.equal(mine.get('ig-inner@1.0.0')?.policy.effect, 'runs');
});

test(`npm ${npmVersion ?? ''} with strict-allow-scripts in .npmrc fails before any script runs, on exactly our unreviewed packages`, { skip: npmSkip }, async () => {
  const dir = copyFixture('npm');
  writeFileSync(join(dir, '.npmrc'), 'strict-allow-scripts=true\n');
  ok(await run('npm', npmArgs(['--package-lock-only', '--ignore-scripts']), dir, toolEnv()), 'npm install --package-lock-only');
  const mine = await ours(dir, 'npm', npmVersion!);
  const failing = keysWhere(mine, (r) => r.policy.effect === 'fails-install');
  assert.ok(failing.size > 0);

  const install = await run('npm', npmArgs([]), dir, toolEnv());
  assert.notEqual(install.code, 0, 'npm should refuse the install');
  assert.match(install.stderr, /ESTRICTALLOWSCRIPTS/);
  const named = new Set([...install.stderr.matchAll(/^npm error {3}(\S+@\S+) \(/gm)].map((m) => m[1]!));
  assertSame('ESTRICTALLOWSCRIPTS list vs our "fails-install"', named, failing, mine);
  assert.deepEqual([...ran(dir)], [], 'no script ran');
});

// ---------------------------------------------------------------------------------------
// pnpm

function pnpmArgs(extra: string[]): string[] {
  // A store per project copy: a shared one would replay cached build side effects instead of running scripts.
  return ['install', `--registry=${registry.url}`, `--store-dir=${join(scratch, `pnpm-store-${copies}`)}`, `--cache-dir=${join(scratch, 'pnpm-cache')}`, '--reporter=append-only', ...extra];
}

/** pnpm's "Ignored build scripts: a@1.0.0, b@2.0.0." (the box and line breaks removed). */
function ignoredBuildScripts(output: string): Set<string> {
  const flat = output.replace(/[│╭╮╰╯─]/g, ' ').replace(/\s+/g, ' ');
  const match = /Ignored build scripts: (.*?)\.? Run "pnpm approve-builds"/.exec(flat);
  return new Set(match ? match[1]!.split(', ').map((s) => s.trim()).filter(Boolean) : []);
}

test(`pnpm ${PNPM}: "Ignored build scripts" and the scripts that ran match our verdicts`, async (t) => {
  const pnpm = await toolOrSkip(t, PNPM, ['pnpm', 'bin', 'pnpm.cjs']);
  if (!pnpm) return;
  const version = PNPM.split('@')[1]!;
  const dir = copyFixture('pnpm');
  ok(await run(process.execPath, [pnpm, ...pnpmArgs(['--lockfile-only'])], dir, toolEnv()), 'pnpm install --lockfile-only');
  assert.deepEqual([...ran(dir)], [], 'pnpm ran a script while only writing the lockfile');
  const mine = await ours(dir, 'pnpm', version);
  assert.equal(mine.get('ig-placeholder@1.0.0')?.policy.decidedBy, 'pnpm-workspace.yaml#allowBuilds.ig-placeholder');
  assert.equal(mine.get('ig-transitive@1.0.0')?.policy.decidedBy, 'pnpm-workspace.yaml#onlyBuiltDependencies[0]');

  const install = await run(process.execPath, [pnpm, ...pnpmArgs([])], dir, toolEnv());
  ok(install, 'pnpm install');
  const ignored = ignoredBuildScripts(install.stdout + install.stderr);
  assert.ok(ignored.size > 0, `no "Ignored build scripts" in pnpm's output:\n${install.stdout}`);
  assertSame('pnpm "Ignored build scripts" vs our unreviewed', ignored, keysWhere(mine, (r) => r.policy.verdict === 'unreviewed'), mine);
  const modules = parseYaml(readFileSync(join(dir, 'node_modules', '.modules.yaml'), 'utf8')) as { ignoredBuilds?: string[] };
  assertSame('node_modules/.modules.yaml ignoredBuilds vs pnpm\'s printed list', modules.ignoredBuilds ?? [], ignored, mine);
  assertSame('scripts that really ran vs our effect "runs"', ran(dir), keysWhere(mine, (r) => r.policy.effect === 'runs'), mine);
});

test(`pnpm ${PNPM} with strictDepBuilds fails the install on exactly our unreviewed packages`, async (t) => {
  const pnpm = await toolOrSkip(t, PNPM, ['pnpm', 'bin', 'pnpm.cjs']);
  if (!pnpm) return;
  const dir = copyFixture('pnpm');
  writeFileSync(join(dir, 'pnpm-workspace.yaml'), readFileSync(join(dir, 'pnpm-workspace.yaml'), 'utf8') + 'strictDepBuilds: true\n');
  ok(await run(process.execPath, [pnpm, ...pnpmArgs(['--lockfile-only'])], dir, toolEnv()), 'pnpm install --lockfile-only');
  const mine = await ours(dir, 'pnpm', PNPM.split('@')[1]!);
  const failing = keysWhere(mine, (r) => r.policy.effect === 'fails-install');
  assert.ok(failing.size > 0);

  const install = await run(process.execPath, [pnpm, ...pnpmArgs([])], dir, toolEnv());
  assert.notEqual(install.code, 0, 'pnpm should fail the install');
  const output = install.stdout + install.stderr;
  assert.match(output, /ERR_PNPM_IGNORED_BUILDS/);
  assertSame('ERR_PNPM_IGNORED_BUILDS list vs our "fails-install"', ignoredInError(output), failing, mine);
  for (const key of ran(dir)) assert.equal(mine.get(key)?.policy.verdict, 'allowed', `${key} ran before pnpm failed; only approved builds may`);
});

/** The list in pnpm's ERR_PNPM_IGNORED_BUILDS error, which wraps lines (even inside a name). */
function ignoredInError(output: string): string[] {
  const match = /ERR_PNPM_IGNORED_BUILDS[\s\S]*?Ignored build scripts:([\s\S]*?)(?:\n\s*\n|\n\s*help:|Run "pnpm approve-builds"|$)/.exec(output);
  const list = (match?.[1] ?? '').replace(/[│╰─▶]/g, ' ').replace(/\s*\n\s*/g, '').trim().replace(/\.$/, '');
  return list.split(/,\s*/).map((s) => s.trim()).filter(Boolean);
}

/** pnpm 12 is a native executable per platform (@pnpm/exe.<platform>-<arch>). */
function pnpmExePackage(version: string): { spec: string; binary: string[] } | string {
  const arch = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : null;
  if (!arch || !['linux', 'darwin', 'win32'].includes(process.platform)) return `pnpm ${version} publishes no executable for ${process.platform}/${process.arch}`;
  const musl = process.platform === 'linux' && !(process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  const name = `exe.${process.platform}-${arch}${musl ? '-musl' : ''}`;
  return { spec: `@pnpm/${name}@${version}`, binary: ['@pnpm', name, process.platform === 'win32' ? 'pnpm.exe' : 'pnpm'] };
}

const PNPM_12 = '12.21.0';
test(`pnpm ${PNPM_12}: allowBuilds alone decides, strictDepBuilds is on by default; the failure names exactly our unreviewed packages`, async (t) => {
  const target = pnpmExePackage(PNPM_12);
  if (typeof target === 'string') return t.skip(target);
  const pnpm = await toolOrSkip(t, target.spec, target.binary);
  if (!pnpm) return;
  const dir = copyFixture('pnpm');
  ok(await run(pnpm, pnpmArgs(['--lockfile-only']), dir, toolEnv()), 'pnpm install --lockfile-only');
  const mine = await ours(dir, 'pnpm', PNPM_12);
  assert.equal(mine.get('ig-transitive@1.0.0')?.policy.verdict, 'unreviewed', 'onlyBuiltDependencies is not read after pnpm 10');
  const install = await run(pnpm, pnpmArgs([]), dir, toolEnv());
  assert.notEqual(install.code, 0, 'pnpm should fail the install');
  assertSame('ERR_PNPM_IGNORED_BUILDS list vs our "fails-install"', ignoredInError(install.stdout + install.stderr), keysWhere(mine, (r) => r.policy.effect === 'fails-install'), mine);
  // pnpm builds the approved packages, then fails on the rest.
  assertSame('scripts that really ran vs our allowed', ran(dir), keysWhere(mine, (r) => r.policy.verdict === 'allowed'), mine);
});

// ---------------------------------------------------------------------------------------
// Yarn

async function yarnProject(fixture: string, yarnrcExtra: string): Promise<string> {
  const dir = copyFixture(fixture);
  const rc = readFileSync(join(dir, '.yarnrc.yml'), 'utf8');
  writeFileSync(join(dir, '.yarnrc.yml'), `${rc}${yarnrcExtra}npmRegistryServer: "${registry.url.replace(/\/$/, '')}"\nunsafeHttpWhitelist:\n  - "127.0.0.1"\n`);
  writeFileSync(join(dir, 'yarn.lock'), '');
  return dir;
}

const yarnEnv = (dir: string) => toolEnv({ YARN_CACHE_FOLDER: join(dir, '.yarn-cache'), YARN_ENABLE_GLOBAL_CACHE: 'false', YARN_ENABLE_TELEMETRY: '0', YARN_ENABLE_PROGRESS_BARS: 'false' });

/** `➤ YN0004: │ ig-unlisted@npm:1.0.0 lists build scripts, ...` -> ig-unlisted@1.0.0 */
function yarnCodes(output: string, code: string): Set<string> {
  return new Set([...output.matchAll(new RegExp(`${code}: [^A-Za-z@]*(@?[^@\\s]+)@npm:(\\S+) lists build scripts`, 'g'))].map((m) => `${m[1]}@${m[2]}`));
}

for (const variant of [
  { label: 'enableScripts left to its default (false in Yarn 4.14+)', extra: '' },
  { label: 'enableScripts: true', extra: 'enableScripts: true\n' },
]) {
  test(`Yarn ${YARN} (${variant.label}): YN0004/YN0005 and the scripts that ran match our verdicts`, async (t) => {
    const yarn = await toolOrSkip(t, YARN, ['@yarnpkg', 'cli-dist', 'bin', 'yarn.js']);
    if (!yarn) return;
    const dir = await yarnProject('yarn', variant.extra);
    ok(await run(process.execPath, [yarn, 'install', '--mode=update-lockfile'], dir, yarnEnv(dir)), 'yarn install --mode=update-lockfile');
    assert.deepEqual([...ran(dir)], [], 'Yarn ran a script while only writing the lockfile');
    const mine = await ours(dir, 'yarn', YARN.split('@').pop()!);
    assert.equal(mine.get('ig-transitive@1.0.0')?.policy.decidedBy, 'package.json#dependenciesMeta.ig-transitive@1.0.0.built');

    const install = await run(process.execPath, [yarn, 'install'], dir, yarnEnv(dir));
    ok(install, 'yarn install');
    assertSame('YN0004 ("all build scripts have been disabled") vs our unreviewed + skipped', yarnCodes(install.stdout, 'YN0004'), keysWhere(mine, (r) => r.policy.verdict === 'unreviewed' && r.policy.effect === 'skipped'), mine);
    assertSame('YN0005 ("explicitly disabled through configuration") vs our denied', yarnCodes(install.stdout, 'YN0005'), keysWhere(mine, (r) => r.policy.verdict === 'denied'), mine);
    assertSame('scripts that really ran vs our effect "runs"', ran(dir), keysWhere(mine, (r) => r.policy.effect === 'runs'), mine);
    if (variant.extra === '') assert.ok(keysWhere(mine, (r) => r.policy.verdict === 'unreviewed').size > 0);
  });
}

// ---------------------------------------------------------------------------------------
// Bun

function bunPackage(): { spec: string; binary: string[] } | string {
  const arch = process.arch === 'x64' ? 'x64' : process.arch === 'arm64' ? 'aarch64' : null;
  if (!arch) return `Bun publishes no binary for ${process.arch}`;
  if (process.platform === 'win32') return { spec: `@oven/bun-windows-${arch}@${BUN_VERSION}`, binary: ['@oven', `bun-windows-${arch}`, 'bin', 'bun.exe'] };
  if (process.platform !== 'linux' && process.platform !== 'darwin') return `Bun publishes no binary for ${process.platform}`;
  const musl = process.platform === 'linux' && !(process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  const name = `bun-${process.platform}-${arch}${musl ? '-musl' : ''}`;
  return { spec: `@oven/${name}@${BUN_VERSION}`, binary: ['@oven', name, 'bin', 'bun'] };
}

/** `./node_modules/ig-allowed @1.0.0` lines of `bun pm untrusted`. */
function bunUntrusted(output: string): Set<string> {
  return new Set([...output.matchAll(/^\.\/node_modules\/(\S+) @(\S+)$/gm)].map((m) => `${m[1]!.split('/node_modules/').pop()}@${m[2]}`));
}

for (const fixture of ['bun-default', 'bun-trusted']) {
  test(`Bun ${BUN_VERSION} (${fixture}): \`bun pm untrusted\` and the scripts that ran match our verdicts`, async (t) => {
    const target = bunPackage();
    if (typeof target === 'string') return t.skip(target);
    const bun = await toolOrSkip(t, target.spec, target.binary);
    if (!bun) return;
    const dir = copyFixture(fixture);
    // bunfig, so that `bun install` and `bun pm untrusted` both know the registry.
    writeFileSync(join(dir, 'bunfig.toml'), `[install]\nregistry = "${registry.url}"\n`);
    const env = toolEnv({ BUN_INSTALL_CACHE_DIR: join(dir, '.bun-cache'), DO_NOT_TRACK: '1' });
    ok(await run(bun, ['install', '--lockfile-only'], dir, env), 'bun install --lockfile-only');
    assert.deepEqual([...ran(dir)], [], 'Bun ran a script while only writing the lockfile');
    const mine = await ours(dir, 'bun', BUN_VERSION);

    const install = await run(bun, ['install'], dir, env);
    ok(install, 'bun install');
    const untrusted = await run(bun, ['pm', 'untrusted'], dir, env);
    ok(untrusted, 'bun pm untrusted');
    assertSame('`bun pm untrusted` vs our unreviewed', bunUntrusted(untrusted.stdout + untrusted.stderr), keysWhere(mine, (r) => r.policy.verdict === 'unreviewed'), mine);
    assertSame('scripts that really ran vs our effect "runs"', ran(dir), keysWhere(mine, (r) => r.policy.effect === 'runs'), mine);
    const esbuild = mine.get('esbuild@0.0.1-ig')!.policy;
    assert.equal(esbuild.verdict, fixture === 'bun-default' ? 'allowed' : 'unreviewed', 'the default list applies only without trustedDependencies');
  });
}

test(`Bun ${BUN_VERSION}: our copy of the default trusted list is the one inside the binary`, async (t) => {
  const target = bunPackage();
  if (typeof target === 'string') return t.skip(target);
  const bun = await toolOrSkip(t, target.spec, target.binary);
  if (!bun) return;
  const bytes = readFileSync(bun);
  const sortedNames = [...BUN_DEFAULT_TRUSTED_DEPENDENCIES].sort();
  const first = Buffer.from(`${sortedNames[0]}\n`);
  const last = Buffer.from(`\n${sortedNames.at(-1)}\n`);
  const start = bytes.indexOf(first);
  const end = start < 0 ? -1 : bytes.indexOf(last, start);
  if (start < 0 || end < 0) return t.skip(`the list's first and last names (${sortedNames[0]}, ${sortedNames.at(-1)}) are not both in this Bun binary; it changed`);
  const embedded = bytes.subarray(start, end + last.length).toString('utf8').split('\n').filter(Boolean);
  assert.deepEqual(embedded, sortedNames);
});
