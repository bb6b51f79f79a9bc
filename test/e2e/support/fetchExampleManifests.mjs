#!/usr/bin/env node
/**
 * Fetches, from the live npm registry, the manifest and publish time of every version that
 * example/package-lock.json locks, trimmed to what a loopback registry needs, into
 * test/fixtures/example-manifests.json (the same shape as test/fixtures/projects/manifests.json).
 * The editor tests serve that file from a loopback registry, so they never reach the network.
 *
 * Run by hand only, after the example's lockfile changes (tests never run it):
 *   node test/e2e/support/fetchExampleManifests.mjs
 *
 * It reads JSON documents only: nothing is installed and no package code runs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const LOCKFILE = join(repoRoot, 'example', 'package-lock.json');
const OUT = join(repoRoot, 'test', 'fixtures', 'example-manifests.json');
const REGISTRY = 'https://registry.npmjs.org/';

// The fields Install Guard and npm read from a version manifest; the rest (readme, maintainers,
// contributors…) only makes the fixture big. Same list as the projects' generator.
const KEEP = ['name', 'version', 'scripts', 'gypfile', 'dependencies', 'optionalDependencies', 'peerDependencies',
  'peerDependenciesMeta', 'bin', 'os', 'cpu', 'engines', '_npmUser', 'repository', 'deprecated'];

/** The registry name of a lock entry: `name` (aliases) or the tarball URL, else the folder. */
function lockedName(path, entry) {
  if (entry.name) return entry.name;
  const fromUrl = /\/((?:@[^/]+\/)?[^/]+)\/-\//.exec(entry.resolved ?? '');
  if (fromUrl) return decodeURIComponent(fromUrl[1]);
  return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

function lockedVersions() {
  const lock = JSON.parse(readFileSync(LOCKFILE, 'utf8'));
  const keys = new Set();
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    // '' is the project itself; links point into the project, not the registry.
    if (!path.includes('node_modules/') || entry.link || !entry.version) continue;
    keys.add(`${lockedName(path, entry)}@${entry.version}`);
  }
  return [...keys].sort();
}

function trim(doc) {
  const out = {};
  for (const k of KEEP) if (doc[k] !== undefined) out[k] = doc[k];
  const { integrity, shasum, tarball } = doc.dist ?? {};
  out.dist = { integrity, shasum, tarball };
  return out;
}

async function getJson(url) {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, { headers: { accept: 'application/json' } });
    if (res.ok) return res.json();
    if (attempt >= 3) throw new Error(`${url}: HTTP ${res.status}`);
    await new Promise((r) => setTimeout(r, 1000 * attempt));
  }
}

const registryPath = (name) => name.replace('/', '%2f');

async function main() {
  const keys = lockedVersions();
  const manifests = {};
  const time = {};
  const packuments = new Map();
  for (const key of keys) {
    const at = key.lastIndexOf('@');
    const name = key.slice(0, at);
    const version = key.slice(at + 1);
    manifests[key] = trim(await getJson(`${REGISTRY}${registryPath(name)}/${version}`));
    // The packument only for its publish times (release age is part of the audit).
    if (!packuments.has(name)) packuments.set(name, (await getJson(`${REGISTRY}${registryPath(name)}`)).time ?? {});
    (time[name] ??= {})[version] = packuments.get(name)[version] ?? null;
    process.stdout.write('.');
  }
  writeFileSync(OUT, JSON.stringify({ manifests, time }, null, 1) + '\n');
  console.log(`\n${keys.length} versions -> ${OUT}`);
}

await main();
