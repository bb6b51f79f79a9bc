import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadRegistryConfig, type RegistryConfig } from '../../server/src/registry/npmConfig';
import { MetadataClient, type LookupResult } from '../../server/src/registry/metadataClient';
import { FactsCache, FACTS_FILE, factsKey } from '../../server/src/registry/factsCache';
import { factsFromManifest, integrityAgrees, normalizeRepository, LIFECYCLE_SCRIPTS } from '../../server/src/registry/versionFacts';
import { FAILURES_BEFORE_PAUSE } from '../../server/src/registry/unreachableRegistries';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { loadSharedManifests } from '../support/sharedManifests';
import { SHARED_MISSING } from '../support/sharedFixtures';

const shared = loadSharedManifests();
const skipShared = shared ? false : SHARED_MISSING;

const fake = [
  { name: 'ok', version: '1.0.0', scripts: { install: 'node-gyp rebuild', test: 'x' }, gypfile: true,
    repository: { type: 'git', url: 'git+https://github.com/o/ok.git' },
    _npmUser: { name: 'GitHub Actions', email: 'x@y', trustedPublisher: { id: 'github', oidcConfigId: 'oidc:1' } },
    deprecated: 'use ok@2',
    dist: { integrity: 'sha512-b2s=', shasum: 'a9993e364706816aba3e25717850c26c9cd0d89d',
      signatures: [{ keyid: 'SHA256:k', sig: 'MEUC' }],
      attestations: { url: 'https://registry.npmjs.org/-/npm/v1/attestations/ok@1.0.0', provenance: { predicateType: 'https://slsa.dev/provenance/v1' } } } },
  { name: 'ok', version: '1.1.0', dist: { integrity: 'sha512-b3M=' } },
  ...['f404', 'f401', 'f403', 'f500', 'fgarbage', 'fhang', 'fslow'].map((name) => ({ name, version: '1.0.0', dist: { integrity: 'sha512-AA==' } })),
];
const FAULTS = { f404: '404', f401: '401', f403: '403', f500: '500', fgarbage: 'garbage', fhang: 'hang', fslow: 'slow' } as const;

async function setup(registry: LoopbackRegistry): Promise<{ dir: string; config: RegistryConfig }> {
  const dir = await mkdtemp(join(tmpdir(), 'ig-meta-'));
  await mkdir(join(dir, 'home'));
  const config = await loadRegistryConfig({
    projectDir: dir,
    env: { HOME: join(dir, 'home'), PREFIX: join(dir, 'prefix') },
    registryOverride: registry.url,
  });
  return { dir, config };
}

function facts(r: LookupResult | undefined) {
  assert.ok(r, 'a result');
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.facts;
}

test('facts of real manifests, one packument request per package', { skip: skipShared }, async () => {
  const manifests = shared!;
  const names = ['esbuild', 'core-js', '@swc/core', 'sharp', 'chalk', 'bcrypt', 'node-sass'];
  const picked = [...manifests.values()].filter((m) => names.includes(m.name));
  const reg = await startLoopbackRegistry({ manifests });
  const { dir, config } = await setup(reg);
  try {
    const progress: number[] = [];
    const client = new MetadataClient({ config, cacheDir: null, onProgress: (done, total) => progress.push(total - done) });
    const results = await client.lookupAll(picked.map((m) => ({ name: m.name, version: m.version, integrity: m.dist.integrity })));
    assert.equal(results.size, picked.length);
    assert.ok(picked.length > names.length * 2, `${picked.length} versions of ${names.length} packages`);
    for (const m of picked) {
      const f = facts(results.get(`${m.name}@${m.version}`));
      const expected = Object.fromEntries(LIFECYCLE_SCRIPTS.filter((s) => m.scripts?.[s] !== undefined).map((s) => [s, m.scripts[s]]));
      assert.deepEqual(f.scripts, expected, `${m.name}@${m.version}`);
      assert.equal(f.integrity, m.dist.integrity);
      assert.equal(f.gypfile, typeof m.gypfile === 'boolean' ? m.gypfile : null);
      assert.equal(f.tarball, `${reg.url}${m.name}/-/${m.name.split('/').pop()}-${m.version}.tgz`);
      assert.equal(f.registry, reg.url);
      assert.ok(f.publishedAt && !Number.isNaN(Date.parse(f.publishedAt)));
      assert.ok(Object.isFrozen(f) && Object.isFrozen(f.scripts));
    }
    assert.equal(reg.requests.length, names.length, 'one packument per package');
    assert.ok(reg.requests.every((r) => r.accept === 'application/json'), 'full documents');
    assert.equal(client.stats().requests, names.length);
    assert.equal(progress.at(-1), 0);
    // Asking again is answered from memory.
    const again = await client.lookup(picked[0].name, picked[0].version);
    assert.equal(again.ok && again.from, 'memory');
    assert.equal(reg.requests.length, names.length);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('extracted facts carry signatures, provenance, publisher, repository', async () => {
  const reg = await startLoopbackRegistry({ manifests: fake, time: { ok: { '1.0.0': '2024-02-03T04:05:06.000Z' } } });
  const { dir, config } = await setup(reg);
  try {
    const f = facts(await new MetadataClient({ config, cacheDir: null }).lookup('ok', '1.0.0'));
    assert.deepEqual(f.scripts, { install: 'node-gyp rebuild' });
    assert.equal(f.gypfile, true);
    assert.deepEqual(f.signatures, [{ keyid: 'SHA256:k', sig: 'MEUC' }]);
    assert.deepEqual(f.attestations, { url: `${reg.url}-/npm/v1/attestations/ok@1.0.0`, provenance: { predicateType: 'https://slsa.dev/provenance/v1' } });
    assert.deepEqual(f.npmUser, { name: 'GitHub Actions', trustedPublisher: { id: 'github', oidcConfigId: 'oidc:1' } });
    assert.equal(f.repository, 'https://github.com/o/ok');
    assert.equal(f.deprecated, 'use ok@2');
    assert.equal(f.publishedAt, '2024-02-03T04:05:06.000Z');
    assert.equal(f.shasum, 'a9993e364706816aba3e25717850c26c9cd0d89d');
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('each registry failure becomes a result naming package and registry', async () => {
  const reg = await startLoopbackRegistry({ manifests: fake, faults: { ...FAULTS } });
  const { dir, config } = await setup(reg);
  try {
    const client = new MetadataClient({ config, cacheDir: null, retries: 1, retryMinTimeoutMs: 10, timeoutMs: 700 });
    const t0 = Date.now();
    const results = await client.lookupAll([
      ...Object.keys(FAULTS).map((name) => ({ name, version: '1.0.0' })),
      { name: 'ok', version: '9.9.9' },
      { name: 'missing-pkg', version: '1.0.0' },
    ]);
    const elapsed = Date.now() - t0;
    const expect = {
      'f404@1.0.0': ['not-found', 404], 'f401@1.0.0': ['auth', 401], 'f403@1.0.0': ['auth', 403],
      'f500@1.0.0': ['server', 500], 'fgarbage@1.0.0': ['garbage', undefined], 'fhang@1.0.0': ['timeout', undefined],
      'ok@9.9.9': ['not-found', 404], 'missing-pkg@1.0.0': ['not-found', 404],
    } as const;
    const host = reg.url.replace(/^http:\/\//, '');
    for (const [key, [kind, status]] of Object.entries(expect)) {
      const r = results.get(key)!;
      assert.equal(r.ok, false, key);
      if (r.ok) continue;
      assert.equal(r.kind, kind, `${key}: ${r.message}`);
      assert.equal(r.status, status, key);
      assert.ok(r.message.startsWith(`${key}: `), r.message);
      assert.ok(r.message.includes(host), r.message);
    }
    assert.equal((results.get('f500@1.0.0') as { message: string }).message, `f500@1.0.0: registry ${reg.url} answered 500`);
    assert.match((results.get('ok@9.9.9') as { message: string }).message, /has ok but no version 9\.9\.9/);
    assert.match((results.get('missing-pkg@1.0.0') as { message: string }).message, /has no package missing-pkg/);
    assert.equal(facts(results.get('fslow@1.0.0')).version, '1.0.0', 'slow is not a failure');
    // 5xx and timeouts are retried once; 4xx and garbage are not.
    const count = (name: string) => reg.requests.filter((r) => r.url === `/${name}`).length;
    assert.deepEqual([count('f500'), count('fhang'), count('f404'), count('f401'), count('fgarbage')], [2, 2, 1, 1, 1]);
    assert.ok(elapsed < 4000, `hang bounded by the timeout (${elapsed} ms)`);
    assert.equal(client.stats().failures, 8);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a hanging registry times out after timeoutMs', async () => {
  const reg = await startLoopbackRegistry({ manifests: fake, faults: { ok: 'hang' } });
  const { dir, config } = await setup(reg);
  try {
    const t0 = Date.now();
    const r = await new MetadataClient({ config, cacheDir: null, retries: 0, timeoutMs: 300 }).lookup('ok', '1.0.0');
    const elapsed = Date.now() - t0;
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.kind, 'timeout');
    assert.match(!r.ok ? r.message : '', /did not answer within 300 ms/);
    assert.ok(elapsed >= 250 && elapsed < 2000, `${elapsed} ms`);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a registry that refuses connections is asked a few times, then not until the pause ends; another registry is unaffected', async () => {
  const live = await startLoopbackRegistry({ manifests: [{ name: '@live/a', version: '1.0.0', dist: { integrity: 'sha512-AA==' } }] });
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const refused = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
  await new Promise((resolve) => closed.close(resolve));
  const dir = await mkdtemp(join(tmpdir(), 'ig-meta-'));
  try {
    await mkdir(join(dir, 'home'));
    await writeFile(join(dir, 'home', '.npmrc'), `@live:registry=${live.url}\n`);
    const config = await loadRegistryConfig({ projectDir: dir, env: { HOME: join(dir, 'home'), PREFIX: join(dir, 'prefix') }, registryOverride: refused });
    const client = new MetadataClient({ config, cacheDir: null, retries: 0, concurrency: 1, unreachablePauseMs: 300 });
    const names = Array.from({ length: 20 }, (_, i) => ({ name: `pkg${i}`, version: '1.0.0' }));
    const results = [...(await client.lookupAll([...names, { name: '@live/a', version: '1.0.0' }])).values()];
    const messages = results.flatMap((r) => (r.ok ? [] : [r.message]));
    assert.equal(results.filter((r) => r.ok).length, 1, 'the scoped registry still answers');
    assert.equal(messages.length, 20);
    assert.ok(messages.every((m) => m.includes('ECONNREFUSED')), messages[0]);
    const notAsked = messages.filter((m) => m.includes('not asked'));
    assert.equal(notAsked.length, 20 - FAILURES_BEFORE_PAUSE, messages.join('\n'));
    assert.match(notAsked[0]!, /^pkg\d+@1\.0\.0: not asked: registry http:\/\/127\.0\.0\.1:\d+\/ could not be reached \(3 requests failed: ECONNREFUSED\)/);
    assert.equal(client.stats().requests, FAILURES_BEFORE_PAUSE + 1);

    await new Promise((resolve) => setTimeout(resolve, 400));
    const again = await client.lookup('pkg-later', '1.0.0');
    assert.ok(!again.ok && !again.message.includes('not asked'), 'asked again once the pause is over');
    assert.equal(client.stats().requests, FAILURES_BEFORE_PAUSE + 2);
  } finally {
    await live.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a registry that answers, even only errors, is never paused', async () => {
  const reg = await startLoopbackRegistry({ manifests: [] });
  const { dir, config } = await setup(reg);
  try {
    const client = new MetadataClient({ config, cacheDir: null, retries: 0, concurrency: 1 });
    const results = await client.lookupAll(Array.from({ length: 6 }, (_, i) => ({ name: `gone${i}`, version: '1.0.0' })));
    assert.deepEqual([...results.values()].map((r) => !r.ok && r.kind), Array(6).fill('not-found'));
    assert.equal(reg.requests.length, 6);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('concurrency bounds the requests in flight', async () => {
  const slow = Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, version: '1.0.0', dist: { integrity: 'sha512-AA==' } }));
  const reg = await startLoopbackRegistry({ manifests: slow, faults: Object.fromEntries(slow.map((m) => [m.name, 'slow' as const])) });
  const { dir, config } = await setup(reg);
  try {
    const items = slow.map((m) => ({ name: m.name, version: m.version }));
    let t0 = Date.now();
    await new MetadataClient({ config, cacheDir: null, concurrency: 2 }).lookupAll(items);
    const serial = Date.now() - t0;
    t0 = Date.now();
    await new MetadataClient({ config, cacheDir: null, concurrency: 6 }).lookupAll(items);
    const parallel = Date.now() - t0;
    assert.ok(serial >= 880, `3 rounds of 300 ms with concurrency 2 (${serial} ms)`);
    assert.ok(parallel < serial - 300, `one round with concurrency 6 (${parallel} ms)`);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('disk cache: a warm run sends no request; a lockfile integrity that disagrees bypasses it', async () => {
  const reg = await startLoopbackRegistry({ manifests: fake });
  const { dir, config } = await setup(reg);
  const cacheDir = join(dir, 'cache');
  try {
    const cold = new MetadataClient({ config, cacheDir });
    const first = await cold.lookupAll([{ name: 'ok', version: '1.0.0' }, { name: 'ok', version: '1.1.0' }, { name: 'f404', version: '1.0.0' }]);
    await cold.flush();
    assert.equal(reg.requests.length, 2);
    const text = await readFile(join(cacheDir, FACTS_FILE), 'utf8');
    assert.equal(text.split('\n').filter(Boolean).length, 4, 'header + three versions');
    assert.ok(!text.includes('x@y'), 'publisher e-mail is not kept');

    reg.requests.length = 0;
    const warm = new MetadataClient({ config, cacheDir });
    const second = await warm.lookupAll([{ name: 'ok', version: '1.0.0', integrity: 'sha512-b2s=' }, { name: 'ok', version: '1.1.0' }]);
    assert.equal(reg.requests.length, 0, 'warm run: zero requests');
    assert.deepEqual(warm.stats(), { requests: 0, cacheHits: 0, diskHits: 2, failures: 0 });
    assert.deepEqual(facts(second.get('ok@1.0.0')), facts(first.get('ok@1.0.0')));
    assert.equal((second.get('ok@1.0.0') as { from: string }).from, 'disk');

    // A sha1-only lockfile (package-lock v1) still matches through dist.shasum.
    const sha1 = `sha1-${Buffer.from('a9993e364706816aba3e25717850c26c9cd0d89d', 'hex').toString('base64')}`;
    const bySha1 = await new MetadataClient({ config, cacheDir }).lookup('ok', '1.0.0', sha1);
    assert.equal(bySha1.ok && bySha1.from, 'disk');
    assert.equal(reg.requests.length, 0);

    const mismatch = await new MetadataClient({ config, cacheDir }).lookup('ok', '1.0.0', 'sha512-ZGlmZmVyZW50');
    assert.equal(mismatch.ok && mismatch.from, 'registry', 'disagreeing cache entry not used');
    assert.equal(reg.requests.length, 1);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('offline: cache only, a miss is offline-miss and the registry sees nothing', async () => {
  const reg = await startLoopbackRegistry({ manifests: fake });
  const { dir, config } = await setup(reg);
  const cacheDir = join(dir, 'cache');
  try {
    for (const dirOption of [cacheDir, null]) {
      const r = await new MetadataClient({ config, cacheDir: dirOption, offline: true }).lookup('ok', '1.0.0');
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.kind, 'offline-miss');
      assert.equal(!r.ok && r.message, `ok@1.0.0: not in the cache; run once online (registry ${reg.url})`);
    }
    assert.equal(reg.requests.length, 0, 'offline: zero requests');

    // With the (opt-in) HTTP cache, versions never looked up are answerable offline too.
    const online = new MetadataClient({ config, cacheDir, httpCache: true });
    await online.lookup('ok', '1.0.0');
    await online.flush();
    reg.requests.length = 0;
    const warm = await new MetadataClient({ config, cacheDir, offline: true, httpCache: true }).lookupAll([
      { name: 'ok', version: '1.0.0' }, { name: 'ok', version: '1.1.0' },
    ]);
    assert.equal(warm.get('ok@1.0.0')!.ok, true);
    // 1.1.0 was never looked up, but its packument is in the HTTP cache from the online run.
    assert.equal(facts(warm.get('ok@1.1.0')).version, '1.1.0');
    assert.equal(reg.requests.length, 0);

    // npm's own `offline=true` is honoured the same way.
    const offlineConfig = await loadRegistryConfig({ projectDir: dir, env: { HOME: join(dir, 'home'), npm_config_offline: 'true' }, registryOverride: reg.url });
    const viaNpm = await new MetadataClient({ config: offlineConfig, cacheDir: null }).lookup('ok', '1.1.0');
    assert.equal(!viaNpm.ok && viaNpm.kind, 'offline-miss');
    assert.equal(reg.requests.length, 0);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('git, file, URL and alias specs are never fetched', async () => {
  const reg = await startLoopbackRegistry({ manifests: fake });
  const { dir, config } = await setup(reg);
  try {
    const client = new MetadataClient({ config, cacheDir: null });
    const results = await client.lookupAll([
      { name: 'ok', version: 'github:o/ok#main' },
      { name: 'ok', version: 'git+ssh://git@github.com/o/ok.git' },
      { name: 'ok', version: 'file:../ok' },
      { name: 'ok', version: 'https://example.com/ok.tgz' },
      { name: 'ok', version: 'npm:other@1.0.0' },
      { name: 'ok', version: '^1.0.0' },
      { name: '../../etc', version: '1.0.0' },
      { name: 'https://evil.example/x', version: '1.0.0' },
    ]);
    for (const [key, r] of results) {
      assert.equal(!r.ok && r.kind, 'unsupported', key);
    }
    assert.equal(reg.requests.length, 0);
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the facts file round-trips 20k entries across registries', { skip: skipShared }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ig-facts-'));
  try {
    const cache = await FactsCache.open(dir);
    const manifests = [...shared!.values()];
    let n = 0;
    for (let copy = 0; n < 20_000; copy++) {
      const registry = `https://mirror${copy}.example/`;
      for (const m of manifests) {
        if (n++ >= 20_000) break;
        cache.set(factsKey(registry, m.name, m.version), factsFromManifest(m, registry, '2024-01-01T00:00:00.000Z'));
      }
    }
    await cache.flush();
    const t0 = performance.now();
    const loaded = await FactsCache.open(dir);
    const openMs = performance.now() - t0;
    assert.equal(loaded.size, 20_000);
    const t1 = performance.now();
    const sample = manifests[1234];
    const f = loaded.get(factsKey('https://mirror0.example/', sample.name, sample.version))!;
    assert.equal(f.integrity, sample.dist.integrity);
    assert.equal(f.registry, 'https://mirror0.example/');
    let hits = 0;
    for (let copy = 0; copy < 5; copy++) {
      for (const m of manifests) if (loaded.get(factsKey(`https://mirror${copy}.example/`, m.name, m.version))) hits++;
    }
    const readAllMs = performance.now() - t1;
    assert.equal(hits, 20_000);
    // Timings are reported for the curious; npm run bench measures them, tests do not gate on them.
    t.diagnostic(`open ${openMs.toFixed(1)} ms, read all ${readAllMs.toFixed(1)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a full facts file drops the versions least recently read or written', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ig-facts-'));
  const made = (name: string) => factsFromManifest({ name, version: '1.0.0', dist: { integrity: `sha512-${name}` } }, 'https://r/', null);
  const keys = ['a', 'b', 'c', 'd'].map((name) => factsKey('https://r/', name, '1.0.0'));
  try {
    const first = await FactsCache.open(dir, 4);
    for (const [i, key] of keys.entries()) first.set(key, made('abcd'[i]!));
    await first.flush();
    // Read a and c (c twice, a last), then add e: b and d were used least recently.
    const second = await FactsCache.open(dir, 3);
    for (const key of [keys[2]!, keys[0]!, keys[2]!, keys[0]!]) assert.ok(second.get(key));
    second.set(factsKey('https://r/', 'e', '1.0.0'), made('e'));
    await second.flush();
    const third = await FactsCache.open(dir, 3);
    assert.deepEqual(
      ['a', 'b', 'c', 'd', 'e'].filter((name) => third.get(factsKey('https://r/', name, '1.0.0'))),
      ['a', 'c', 'e'],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a corrupt or foreign facts file is an empty cache', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ig-facts-'));
  try {
    await writeFile(join(dir, FACTS_FILE), '\u0000garbage\nnot a header');
    assert.equal((await FactsCache.open(dir)).size, 0);
    await writeFile(join(dir, FACTS_FILE), '{"format":"install-guard-facts","version":1}\nhttps://r/ a@1.0.0\t{broken json\n');
    const cache = await FactsCache.open(dir);
    assert.equal(cache.size, 1);
    assert.equal(cache.get('https://r/ a@1.0.0'), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('repository normalization and integrity agreement', () => {
  for (const [input, expected] of [
    ['git+https://github.com/a/b.git', 'https://github.com/a/b'],
    ['github:a/b', 'https://github.com/a/b'],
    ['a/b', 'https://github.com/a/b'],
    ['gitlab:a/b', 'https://gitlab.com/a/b'],
    ['git@github.com:a/b.git', 'https://github.com/a/b'],
    ['git://github.com/a/b.git', 'https://github.com/a/b'],
    ['git+ssh://git@github.com/a/b.git', 'https://github.com/a/b'],
    [{ type: 'git', url: 'https://gitlab.example/x/y' }, 'https://gitlab.example/x/y'],
    [undefined, null],
  ] as const) {
    assert.equal(normalizeRepository(input), expected, String(input));
  }
  const f = { integrity: 'sha512-AAA=', shasum: 'a9993e364706816aba3e25717850c26c9cd0d89d' };
  const sha1 = `sha1-${Buffer.from(f.shasum, 'hex').toString('base64')}`;
  assert.equal(integrityAgrees('sha512-AAA=', f), true);
  assert.equal(integrityAgrees(`sha512-AAA= ${sha1}`, f), true);
  assert.equal(integrityAgrees(sha1, f), true);
  assert.equal(integrityAgrees('sha512-BBB=', f), false);
  assert.equal(integrityAgrees(`sha512-AAA= sha1-Zm9v`, f), false, 'every shared algorithm must agree');
  assert.equal(integrityAgrees('sha384-AAA=', f), false, 'nothing shared');
});
