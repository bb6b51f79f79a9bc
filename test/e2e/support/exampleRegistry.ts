/**
 * The example workspace (example/: package.json + package-lock.json) and a loopback registry
 * that serves every version its lockfile locks, from test/fixtures/example-manifests.json
 * (fetched once from the live registry by fetchExampleManifests.mjs). The editor tests open a
 * copy of the example and point the extension at this registry, so nothing reaches the network.
 */
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** A throwaway copy of example/ (the tests edit its package.json). */
export function copyExample(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'ig-e2e-example-')), 'example');
  cpSync(EXAMPLE_DIR, dir, { recursive: true });
  return dir;
}
