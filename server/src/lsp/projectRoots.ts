/**
 * Which project a file belongs to. A project root is where the package manager runs:
 * the topmost folder (inside the workspace folder) whose package.json has a lockfile,
 * declares workspaces, or sits beside pnpm-workspace.yaml; otherwise the nearest folder
 * with a package.json. Files outside any package (a CI workflow, .npmrc at the top)
 * belong to the workspace folder's root project.
 */
import { dirname, join, relative, sep } from 'node:path';
import { LOCKFILE_KINDS, type ReadText } from '../parse/project';

const ROOT_MARKERS = [...LOCKFILE_KINDS.map((k) => k.file), 'pnpm-workspace.yaml', 'bun.lockb'];

export async function findProjectRoot(file: string, workspaceFolders: readonly string[], readText: ReadText): Promise<string | null> {
  const folder = workspaceFolders
    .filter((f) => file === f || file.startsWith(f.endsWith(sep) ? f : f + sep))
    .sort((a, b) => b.length - a.length)[0];
  if (!folder) return null;
  let nearest: string | null = null;
  let topmostRoot: string | null = null;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = await readText(join(dir, 'package.json'));
    if (manifest !== null) {
      nearest ??= dir;
      if (await isRootMarked(dir, manifest, readText)) topmostRoot = dir;
    }
    if (dir === folder || relative(folder, dir).startsWith('..') || dirname(dir) === dir) break;
  }
  if (topmostRoot ?? nearest) return topmostRoot ?? nearest;
  // A CI workflow or .npmrc above every package belongs to the folder's project.
  return (await readText(join(folder, 'package.json'))) !== null ? folder : null;
}

async function isRootMarked(dir: string, manifestText: string, readText: ReadText): Promise<boolean> {
  if (/"workspaces"\s*:/.test(manifestText)) return true;
  for (const marker of ROOT_MARKERS) {
    if ((await readText(join(dir, marker))) !== null) return true;
  }
  return false;
}

/** The files whose change can change a project's analysis, relative to its root. */
export function isRelevantFile(root: string, file: string): boolean {
  const rel = relative(root, file).split(sep).join('/');
  if (rel.startsWith('..')) return false;
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  return (
    base === 'package.json' ||
    ROOT_MARKERS.includes(base) ||
    base === '.npmrc' ||
    base === '.yarnrc.yml' ||
    base === 'install-guard.jsonc' ||
    rel === '.gitlab-ci.yml' ||
    /^\.github\/workflows\/[^/]+\.ya?ml$/.test(rel)
  );
}
