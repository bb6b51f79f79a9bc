/**
 * The real registry manifests of every version locked by the shared lockfile fixtures
 * (`lockfiles/manifests.json.gz`, keyed "name@version"). A loopback registry serves them
 * so tests see what the public registry publishes, with no network.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { sharedFixture } from './sharedFixtures';

export type Manifest = Record<string, any>;

let loaded: Map<string, Manifest> | null | undefined;

/** name@version -> manifest, or null when the shared fixtures are absent. Gunzipped once per process. */
export function loadSharedManifests(): Map<string, Manifest> | null {
  if (loaded !== undefined) return loaded;
  const file = sharedFixture('lockfiles', 'manifests.json.gz');
  if (!file) {
    loaded = null;
    return loaded;
  }
  const parsed = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Record<string, Manifest>;
  loaded = new Map(Object.entries(parsed));
  return loaded;
}

/** The manifests of a set of names (every locked version of each), for a registry that serves only those. */
export function sharedManifestsFor(names: Iterable<string>): Map<string, Manifest> {
  const all = loadSharedManifests();
  const wanted = new Set(names);
  const out = new Map<string, Manifest>();
  if (!all) return out;
  for (const [key, manifest] of all) {
    if (wanted.has(manifest.name)) out.set(key, manifest);
  }
  return out;
}
