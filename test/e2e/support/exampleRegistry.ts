/**
 * The example workspace (example/: package.json + package-lock.json), a loopback registry
 * that serves every version its lockfile locks, from test/fixtures/example-manifests.json
 * (fetched once from the live registry by fetchExampleManifests.mjs), and what the built CLI
 * says about it. The editor tests open a copy of the example, point the extension at this
 * registry (so nothing reaches the network) and expect the editor to say what the CLI says.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../support/sharedFixtures';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../support/loopbackRegistry';

export const EXAMPLE_DIR = join(projectRoot, 'example');
export const EXAMPLE_MANIFESTS = join(projectRoot, 'test', 'fixtures', 'example-manifests.json');

interface ManifestFile {
  manifests: Record<string, Record<string, any>>;
  time: Record<string, Record<string, string | null>>;
}

function readManifestFile(): ManifestFile {
  return JSON.parse(readFileSync(EXAMPLE_MANIFESTS, 'utf8')) as ManifestFile;
}

/**
 * name@version of every registry package the example's lockfile locks (aliases by their real
 * name). The fixture must cover exactly these, or the audit would report registry errors.
 */
export function exampleLockedVersions(dir: string = EXAMPLE_DIR): string[] {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { name?: string; version?: string; resolved?: string; link?: boolean }>;
  };
  const keys = new Set<string>();
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path.includes('node_modules/') || entry.link || !entry.version) continue;
    const fromUrl = /\/((?:@[^/]+\/)?[^/]+)\/-\//.exec(entry.resolved ?? '');
    const name = entry.name ?? (fromUrl ? decodeURIComponent(fromUrl[1]) : path.slice(path.lastIndexOf('node_modules/') + 13));
    keys.add(`${name}@${entry.version}`);
  }
  return [...keys].sort();
}

/** The locked version of a direct dependency, as the lockfile says (e.g. sharp -> 0.34.5). */
export function exampleLockedVersion(name: string, dir: string = EXAMPLE_DIR): string {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as { packages?: Record<string, { version?: string }> };
  const version = lock.packages?.[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`example/package-lock.json locks no top-level ${name}`);
  return version;
}

/**
 * Starts a loopback registry serving the example's packages. The published times are the real
 * ones, so release-age findings match what a user of the example would see.
 */
export async function startExampleRegistry(): Promise<LoopbackRegistry> {
  const { manifests, time } = readManifestFile();
  const missing = exampleLockedVersions().filter((key) => !Object.hasOwn(manifests, key));
  if (missing.length > 0) {
    throw new Error(`${EXAMPLE_MANIFESTS} lacks ${missing.join(', ')}: run node test/e2e/support/fetchExampleManifests.mjs`);
  }
  const times: Record<string, Record<string, string>> = {};
  for (const [name, versions] of Object.entries(time)) {
    for (const [version, at] of Object.entries(versions)) if (at) (times[name] ??= {})[version] = at;
  }
  return startLoopbackRegistry({ manifests: new Map(Object.entries(manifests)), time: times });
}

/**
 * A throwaway copy of example/ (the tests edit its package.json), as `<parent>/example` so
 * the workbench shows the folder's real name; `parent` defaults to a new temp directory.
 */
export function copyExample(parent: string = mkdtempSync(join(tmpdir(), 'ig-e2e-example-'))): string {
  const dir = join(parent, 'example');
  cpSync(EXAMPLE_DIR, dir, { recursive: true });
  return dir;
}

// --- what the engine says, as the expectation for the editor ------------------------------------

export const CLI_BUNDLE = join(projectRoot, 'dist', 'cli', 'install-guard.js');
export const UNREVIEWED = 'unreviewed-install-script';

/** The fields of the CLI's JSON audit the editor tests compare with. */
export interface CliAudit {
  packages: { name: string; version: string; installScripts: Record<string, string> | null; policy: { verdict: string } }[];
  findings: { code: string; severity: string; file: string; message: string; package: { name: string; version: string } | null }[];
}

/**
 * The bundles the .vsix is made of. `npm test` builds before running the tiers; a standalone
 * run rebuilds only when a source is newer than a bundle (rebuilding while other test files
 * run the CLI bundle would rewrite it under them).
 */
export async function ensureBuilt(): Promise<void> {
  const bundles = ['client/extension.js', 'server/main.js', 'cli/install-guard.js'].map((f) => join(projectRoot, 'dist', f));
  const oldest = Math.min(...bundles.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
  const newest = Math.max(...['client/src', 'server/src'].map((d) => newestMtime(join(projectRoot, d))));
  if (oldest >= newest) return;
  await promisify(execFile)(process.execPath, [join(projectRoot, 'esbuild.mjs')], { cwd: projectRoot });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * `install-guard audit <dir> --format json` against `registryUrl`. Asynchronous on purpose: the
 * loopback registry answers from this same process, so a synchronous child would deadlock.
 */
export async function auditWithCli(dir: string, registryUrl: string, cacheDir: string): Promise<CliAudit> {
  const args = [CLI_BUNDLE, 'audit', dir, '--format', 'json', '--registry', registryUrl, '--cache', cacheDir, '--fail-on', 'none', '-q'];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as CliAudit;
}

/** 1-based line of the `"name":` key in package.json's text (where its diagnostic sits). */
export function declarationLine(manifestText: string, name: string): number {
  const index = manifestText.split('\n').findIndex((l) => l.trimStart().startsWith(`"${name}":`));
  if (index < 0) throw new Error(`package.json declares no ${name}`);
  return index + 1;
}

/** First line, spaces collapsed (editors show a diagnostic's "Fix:" line apart). */
export function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/\s+/g, ' ').trim();
}

export interface ExpectedWarning {
  /** name@version */
  key: string;
  name: string;
  /** 1-based line of package.json that declares the package. */
  line: number;
  /** The CLI finding's message (first line): the editor's diagnostic must say the same. */
  message: string;
}

/**
 * One warning per package the CLI calls unreviewed, on the package.json line that declares it
 * (the example's unreviewed packages are all direct dependencies), sorted by line.
 */
export function expectedWarnings(audit: CliAudit, manifestText: string): ExpectedWarning[] {
  return audit.packages
    .filter((p) => p.policy.verdict === 'unreviewed')
    .map((p) => {
      const finding = audit.findings.find((f) => f.code === UNREVIEWED && f.package?.name === p.name && f.package.version === p.version);
      if (!finding) throw new Error(`the CLI calls ${p.name}@${p.version} unreviewed but has no ${UNREVIEWED} finding for it`);
      return { key: `${p.name}@${p.version}`, name: p.name, line: declarationLine(manifestText, p.name), message: firstLine(finding.message) };
    })
    .sort((a, b) => a.line - b.line);
}
