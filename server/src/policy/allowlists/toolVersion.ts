/**
 * Which package manager will run the install, and which version of it — the rules for
 * install scripts changed within majors (npm 11.16 added allowScripts, pnpm 10.26 added
 * allowBuilds, Yarn 4.14 turned enableScripts off by default), so a verdict without the
 * version is a guess.
 *
 * In order of authority:
 *  1. package.json "packageManager" (corepack and the managers themselves switch to it);
 *  2. package.json "devEngines.packageManager" with an exact version;
 *  3. Yarn's `.yarnrc.yml` `yarnPath` (a committed yarn-x.y.z.cjs release runs whatever
 *     yarn is on PATH);
 *  4. `<tool> --version` from PATH. Running the package manager binary's own --version runs
 *     no project code; it is run outside the project (so no project config or corepack pin
 *     applies), with corepack downloads off and a short timeout, once per process.
 */
import { execFile } from 'node:child_process';
import { readFile, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import semver from 'semver';
import { parseDocument } from 'yaml';
import type { PackageManagerName, ProjectInventory } from '../../model/inventory';
import type { ReadText } from '../../parse/project';

/** The first npm that reads package.json "allowScripts". */
export const NPM_ALLOW_SCRIPTS_SINCE = '11.16.0';
/** The first Yarn (Berry) that runs no dependency scripts unless told to. */
export const YARN_SCRIPTS_OFF_SINCE = '4.14.0';

export interface InstallingTool {
  manager: PackageManagerName;
  /** Exact version, or null when it could not be found. */
  version: string | null;
  /** Where the version came from: 'package.json "packageManager"', 'pnpm on PATH', ... */
  source: string | null;
  /** Why the version is unknown (or was not trusted), when it is. */
  problem: string | null;
}

export type VersionRunner = (tool: PackageManagerName) => Promise<{ version: string | null; error: string | null }>;

export interface ToolVersionOptions {
  readText?: ReadText;
  /** Ask PATH for the version (default true). The language server may turn it off. */
  usePath?: boolean;
  /** Replaces spawning `<tool> --version` (tests). */
  runVersion?: VersionRunner;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 4000;

export async function resolveInstallingTool(inventory: ProjectInventory, options: ToolVersionOptions = {}): Promise<InstallingTool> {
  const manager = inventory.packageManager.name;
  const root = inventory.manifests.find((m) => m.dir === '.') ?? null;

  const declared = root?.packageManager;
  if (declared && declared.name === manager) {
    const version = semver.valid(declared.version);
    if (version) return { manager, version, source: 'package.json "packageManager"', problem: null };
  }
  const devEngine = devEnginesVersion(root?.json ?? {}, manager);
  if (devEngine) return { manager, version: devEngine, source: 'package.json "devEngines.packageManager"', problem: null };

  if (manager === 'yarn' && options.readText) {
    const fromYarnPath = await yarnPathVersion(inventory.root, options.readText);
    if (fromYarnPath) return { manager, version: fromYarnPath, source: '.yarnrc.yml "yarnPath"', problem: null };
  }

  const declaredProblem = declared && declared.name === manager ? `"packageManager" version "${declared.version}" is not an exact version` : null;
  if (options.usePath === false) {
    return { manager, version: null, source: null, problem: declaredProblem ?? `no "packageManager" field; ${manager} on PATH not consulted` };
  }
  const run = options.runVersion ?? ((tool) => versionOnPath(tool, options));
  const found = await run(manager);
  if (found.version) return { manager, version: found.version, source: `${manager} on PATH`, problem: declaredProblem };
  return { manager, version: null, source: null, problem: declaredProblem ?? found.error ?? `${manager} version unknown` };
}

/** `devEngines.packageManager` (object or list) naming this manager with an exact version. */
function devEnginesVersion(json: Record<string, unknown>, manager: PackageManagerName): string | null {
  const devEngines = json.devEngines as { packageManager?: unknown } | undefined;
  const entries = Array.isArray(devEngines?.packageManager) ? devEngines.packageManager : [devEngines?.packageManager];
  for (const entry of entries) {
    if (!entry || typeof entry !== 'object') continue;
    const { name, version } = entry as { name?: unknown; version?: unknown };
    if (name === manager && typeof version === 'string' && semver.valid(version)) return semver.valid(version);
  }
  return null;
}

/** The version in a committed Yarn release path: `.yarn/releases/yarn-4.5.3.cjs`. */
async function yarnPathVersion(root: string, readText: ReadText): Promise<string | null> {
  const text = await readText(join(root, '.yarnrc.yml')).catch(() => null);
  if (!text) return null;
  const value = parseDocument(text).get('yarnPath');
  if (typeof value !== 'string') return null;
  const match = /yarn-(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\.c?js$/.exec(value);
  return match ? semver.valid(match[1]!) : null;
}

const cache = new Map<string, Promise<{ version: string | null; error: string | null }>>();

/** `<tool> --version` from PATH, once per process per tool and PATH. */
export function versionOnPath(tool: PackageManagerName, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ version: string | null; error: string | null }> {
  const env = options.env ?? process.env;
  const key = `${tool}\0${env.PATH ?? ''}`;
  let pending = cache.get(key);
  if (!pending) {
    pending = installedPackageVersion(tool, env).then((version) =>
      version === ABSENT
        ? { version: null, error: `${tool} is not on PATH` }
        : version
          ? { version, error: null }
          : spawnVersion(tool, env, options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    );
    cache.set(key, pending);
  }
  return pending;
}

/**
 * The version of a package manager installed as an npm package (npm, pnpm, yarn): follow
 * the PATH entry's symlink to its package.json. Reading a file answers in a millisecond where
 * spawning `npm --version` (a Node start) costs a quarter of a warm audit; a corepack shim,
 * a standalone binary (bun) or anything unexpected falls back to spawning. ABSENT: no
 * PATH entry holds the tool at all.
 */
async function installedPackageVersion(tool: PackageManagerName, env: NodeJS.ProcessEnv): Promise<string | null | typeof ABSENT> {
  // Windows finds programs through PATHEXT (npm.cmd, a bun.exe): let the shell look.
  if (process.platform === 'win32') return null;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let target: string;
    try {
      target = await realpath(join(dir, tool));
    } catch {
      continue; // not in this PATH entry
    }
    if (tool === 'bun') return null; // a standalone binary: only it can say its version
    // e.g. /usr/lib/node_modules/npm/bin/npm-cli.js -> /usr/lib/node_modules/npm/package.json
    for (let at = dirname(target); dirname(at) !== at; at = dirname(at)) {
      try {
        const manifest = JSON.parse(await readFile(join(at, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        const expected = tool === 'yarn' ? ['yarn', '@yarnpkg/cli-dist'] : [tool];
        if (typeof manifest.name === 'string' && expected.includes(manifest.name) && typeof manifest.version === 'string') {
          return semver.valid(manifest.version);
        }
        return null; // the first package.json up is someone else's (a corepack shim): spawn
      } catch {
        // no package.json at this level
      }
    }
    return null;
  }
  // In no PATH entry: spawning would only fail, after forking this process (a CI job
  // that checks the lockfile before it installs pnpm or yarn).
  return ABSENT;
}

const ABSENT = Symbol('not on PATH');

function spawnVersion(tool: PackageManagerName, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ version: string | null; error: string | null }> {
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    // A corepack shim must not download a release just to answer --version.
    COREPACK_ENABLE_NETWORK: '0',
    COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
    COREPACK_ENABLE_STRICT: '0',
    npm_config_update_notifier: 'false',
    NO_UPDATE_NOTIFIER: '1',
  };
  return new Promise((resolve) => {
    execFile(
      tool,
      ['--version'],
      // Outside the project: its packageManager pin and config must not steer the binary.
      { cwd: tmpdir(), env: childEnv, timeout: timeoutMs, windowsHide: true, shell: process.platform === 'win32', maxBuffer: 64 * 1024 },
      (error, stdout) => {
        const version = semver.valid(String(stdout).trim().split(/\s+/).pop() ?? '');
        if (version) return resolve({ version, error: null });
        const reason = error
          ? (error as NodeJS.ErrnoException).code === 'ENOENT'
            ? `${tool} is not on PATH`
            : error.killed
              ? `\`${tool} --version\` did not answer within ${timeoutMs} ms`
              : `\`${tool} --version\` failed: ${error.message.split('\n')[0]}`
          : `\`${tool} --version\` printed no version`;
        resolve({ version: null, error: reason });
      },
    );
  });
}
