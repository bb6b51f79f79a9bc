/**
 * Manifests that are already on disk: the installed copy in node_modules (what the
 * package manager executes from, when its name and version match the lockfile) and the
 * package.json of file:/link: dependencies inside the project. Only reads files.
 */
import { access, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { LockedPackage } from '../model/inventory';
import type { ScriptManifest } from './installScripts';

export interface OnDiskManifest extends ScriptManifest {
  path: string;
}

/**
 * Whether anything is installed at all. Probing node_modules/<pkg> for each of 20k locked
 * packages of a project that has none costs a failed open() each — a third of a warm audit.
 */
export async function hasNodeModules(root: string): Promise<boolean> {
  return exists(join(root, 'node_modules'));
}

/** Where each package manager's layout puts a package, most specific first. */
function installedCandidates(root: string, pkg: LockedPackage): string[] {
  const candidates: string[] = [];
  if (pkg.installPath) candidates.push(join(root, pkg.installPath));
  // pnpm's virtual store: node_modules/.pnpm/@scope+name@1.2.3/node_modules/@scope/name
  candidates.push(join(root, 'node_modules', '.pnpm', `${pkg.name.replace('/', '+')}@${pkg.version}`, 'node_modules', pkg.name));
  candidates.push(join(root, 'node_modules', pkg.name));
  return [...new Set(candidates)];
}

/** The installed manifest of exactly this name@version, or null. */
export async function readInstalledManifest(root: string, pkg: LockedPackage): Promise<OnDiskManifest | null> {
  for (const dir of installedCandidates(root, pkg)) {
    const manifest = await readManifestDir(dir);
    if (manifest && manifest.name === pkg.name && manifest.version === pkg.version) return manifest.facts;
  }
  return null;
}

/** The package.json a file:/link: dependency points at, when it lies on disk. */
export async function readLocalDependencyManifest(root: string, pkg: LockedPackage): Promise<OnDiskManifest | null> {
  if (pkg.source !== 'file' && pkg.source !== 'link') return null;
  const target = (pkg.resolved ?? '').replace(/^(file|link):/, '');
  if (!target || /\.(tgz|tar\.gz|tar)$/.test(target)) return null;
  const dir = isAbsolute(target) ? target : resolve(root, target);
  return (await readManifestDir(dir))?.facts ?? null;
}

async function readManifestDir(dir: string): Promise<{ name: unknown; version: unknown; facts: OnDiskManifest } | null> {
  const path = join(dir, 'package.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null; // absent or unreadable: fall back to weaker evidence
  }
  const scripts = json.scripts && typeof json.scripts === 'object' ? (json.scripts as Record<string, unknown>) : null;
  const gypfile = typeof json.gypfile === 'boolean' ? json.gypfile : null;
  // Only a package that does not install itself can get the implicit node-gyp build,
  // so only then is binding.gyp worth a stat.
  const needsGypCheck = gypfile !== false && !scripts?.install && !scripts?.preinstall;
  const hasBindingGyp = needsGypCheck ? await exists(join(dir, 'binding.gyp')) : false;
  return { name: json.name, version: json.version, facts: { path, scripts, gypfile, hasBindingGyp } };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
