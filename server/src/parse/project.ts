/**
 * Reads a project directory into a ProjectInventory: the root package.json, every
 * workspace package.json (npm/yarn/bun `workspaces`, pnpm-workspace.yaml `packages`), the
 * lockfile the package manager in use will read, and which package manager that is.
 *
 * Every file is read through `readText`, so the language server can pass the unsaved
 * text of open editors and the CLI can read the disk. A file that does not parse becomes
 * a problem for that file; the rest of the project is still read.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { glob } from 'tinyglobby';
import { parse as parseYaml } from 'yaml';
import {
  FileParseError,
  type FileProblem,
  type Lockfile,
  type PackageManagerName,
  type ProjectInventory,
  type ProjectManifest,
} from '../model/inventory';
import { LockGraph } from './graph';
import { parseBunLock } from './bunLock';
import { parseNpmLock } from './npmLock';
import { parsePackageJson } from './packageJson';
import { parsePnpmLock } from './pnpmLock';
import { linkYarnImporters, parseYarnLock } from './yarnLock';

export type ReadText = (absolutePath: string) => Promise<string | null>;

export const readTextFromDisk: ReadText = async (path) => {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
};

interface LockfileKind {
  file: string;
  manager: PackageManagerName;
  parse: (file: string, text: string) => Lockfile;
}

/** In the order a project with several lockfiles and no packageManager field is read. */
export const LOCKFILE_KINDS: readonly LockfileKind[] = [
  { file: 'npm-shrinkwrap.json', manager: 'npm', parse: parseNpmLock },
  { file: 'package-lock.json', manager: 'npm', parse: parseNpmLock },
  { file: 'pnpm-lock.yaml', manager: 'pnpm', parse: parsePnpmLock },
  { file: 'yarn.lock', manager: 'yarn', parse: parseYarnLock },
  { file: 'bun.lock', manager: 'bun', parse: parseBunLock },
];

/**
 * Parsed lockfiles by path, reused while the text is unchanged: an editor re-reads the
 * project on every keystroke in package.json, and the lockfile is the expensive part.
 */
export type LockfileCache = Map<string, { text: string; graph: LockGraph }>;

export async function loadProject(
  root: string,
  readText: ReadText = readTextFromDisk,
  lockfileCache?: LockfileCache,
): Promise<ProjectInventory> {
  const problems: FileProblem[] = [];
  const manifests: ProjectManifest[] = [];

  const rootFile = join(root, 'package.json');
  const rootText = await readText(rootFile);
  if (rootText === null) {
    problems.push({ file: rootFile, message: `No package.json in ${root}: not a JavaScript project root` });
  } else {
    const parsed = parsePackageJson(rootFile, '.', rootText);
    manifests.push(parsed.manifest);
    problems.push(...parsed.problems);
  }

  const pnpmWorkspace = await readPnpmWorkspaceGlobs(root, readText, problems);
  const globs = [...(manifests[0]?.workspaces ?? []), ...(pnpmWorkspace ?? [])];
  for (const dir of await expandWorkspaceGlobs(root, globs)) {
    const file = join(root, dir, 'package.json');
    const text = await readText(file);
    if (text === null) continue;
    const parsed = parsePackageJson(file, dir, text);
    manifests.push(parsed.manifest);
    problems.push(...parsed.problems);
  }

  const present = [];
  for (const kind of LOCKFILE_KINDS) {
    const text = await readText(join(root, kind.file));
    if (text !== null) present.push({ kind, text });
  }
  // Only read (binary, as text) when there is no bun.lock to use instead.
  if (!present.some((p) => p.kind.manager === 'bun') && (await readText(join(root, 'bun.lockb'))) !== null) {
    problems.push({
      file: join(root, 'bun.lockb'),
      message: 'bun.lockb is a binary lockfile Install Guard cannot read; run `bun install --save-text-lockfile` to write bun.lock',
    });
  }

  const packageManager = detectPackageManager(manifests[0] ?? null, present.map((p) => p.kind), pnpmWorkspace !== null);
  const chosen =
    present.find((p) => p.kind.manager === packageManager.name) ?? (present.length > 0 ? present[0] : undefined);
  if (present.length > 1 && chosen) {
    problems.push({
      file: join(root, chosen.kind.file),
      message: `Several lockfiles (${present.map((p) => p.kind.file).join(', ')}); reading ${chosen.kind.file}, the one ${packageManager.name} uses`,
    });
  }

  let lockfile: Lockfile | null = null;
  let graph: LockGraph | null = null;
  if (chosen) {
    const file = join(root, chosen.kind.file);
    try {
      // yarn.lock is linked to the manifests after parsing (its importers live in
      // package.json), so it is re-read whenever anything changes.
      const cacheable = chosen.kind.manager !== 'yarn';
      const cached = cacheable ? lockfileCache?.get(file) : undefined;
      // package-lock v1 takes `direct` from the root package.json; without one, the graph's own
      // answer must be made again rather than an earlier package.json's kept.
      const reuse = cached?.text === chosen.text && (manifests[0] || cached.graph.lockfile.format !== 'package-lock-v1')
        ? cached
        : undefined;
      lockfile = reuse ? reuse.graph.lockfile : chosen.kind.parse(file, chosen.text);
      if (!cacheable) linkYarnImporters(lockfile, manifests);
      // The graph depends on the lockfile alone (and keeps the paths it has computed).
      graph = reuse?.graph ?? new LockGraph(lockfile); // also fills in direct / dev / optional
      if (cacheable) lockfileCache?.set(file, { text: chosen.text, graph });
      if (lockfile.format === 'package-lock-v1' && manifests[0]) markV1Direct(lockfile, manifests[0]);
      problems.push(...lockfile.problems);
    } catch (error) {
      if (!(error instanceof FileParseError)) throw error;
      problems.push(error.span ? { file, message: error.message, span: error.span } : { file, message: error.message });
    }
  }

  return { root, manifests, lockfile, graph, packageManager, problems };
}

async function readPnpmWorkspaceGlobs(root: string, readText: ReadText, problems: FileProblem[]): Promise<string[] | null> {
  const file = join(root, 'pnpm-workspace.yaml');
  const text = await readText(file);
  if (text === null) return null;
  try {
    const value = parseYaml(text) as { packages?: unknown } | null;
    const packages = Array.isArray(value?.packages) ? value.packages : [];
    return packages.filter((p): p is string => typeof p === 'string');
  } catch (error) {
    problems.push({ file, message: `pnpm-workspace.yaml does not parse: ${(error as Error).message.split('\n')[0]}` });
    return [];
  }
}

/** Workspace globs -> directories relative to the root ("/" separated, sorted). */
export async function expandWorkspaceGlobs(root: string, globs: string[]): Promise<string[]> {
  const include = globs.filter((g) => !g.startsWith('!')).map(trimSlashes);
  if (include.length === 0) return [];
  const ignore = ['**/node_modules/**', ...globs.filter((g) => g.startsWith('!')).map((g) => trimSlashes(g.slice(1)))];
  const dirs = await glob(
    include.map((g) => `${g}/package.json`),
    { cwd: root, ignore, onlyFiles: true, dot: false, expandDirectories: false },
  );
  const result = new Set<string>();
  for (const file of dirs) {
    const dir = relative(root, join(root, file, '..')).split(sep).join('/');
    if (dir && dir !== '.') result.add(dir);
  }
  return [...result].sort();
}

function trimSlashes(pattern: string): string {
  return pattern.replace(/^\.\//, '').replace(/\/+$/, '');
}

export function detectPackageManager(
  rootManifest: ProjectManifest | null,
  lockfiles: readonly LockfileKind[],
  hasPnpmWorkspace: boolean,
): ProjectInventory['packageManager'] {
  const declared = rootManifest?.packageManager;
  if (declared && isManager(declared.name)) {
    return { name: declared.name, version: declared.version, reason: `package.json "packageManager": "${declared.name}@${declared.version}"` };
  }
  const lock = lockfiles[0];
  if (lock) return { name: lock.manager, version: null, reason: `${lock.file} present` };
  if (hasPnpmWorkspace) return { name: 'pnpm', version: null, reason: 'pnpm-workspace.yaml present' };
  return { name: 'npm', version: null, reason: 'no lockfile or packageManager field; npm is the default' };
}

function isManager(name: string): name is PackageManagerName {
  return name === 'npm' || name === 'pnpm' || name === 'yarn' || name === 'bun';
}

/**
 * package-lock v1 does not record the root's own dependencies, so the parser links every
 * top-level entry to the root to keep dev/optional right; which of them the project
 * declares itself (direct) only the root package.json can say.
 */
function markV1Direct(lockfile: Lockfile, root: ProjectManifest): void {
  const declared = new Set(root.dependencies.map((d) => `node_modules/${d.name}`));
  for (const pkg of lockfile.packages) pkg.direct = pkg.installPath !== null && declared.has(pkg.installPath);
}
