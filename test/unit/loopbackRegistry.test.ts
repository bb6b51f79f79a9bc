import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import semver from 'semver';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { loadSharedManifests, sharedManifestsFor } from '../support/sharedManifests';
import { SHARED_MISSING } from '../support/sharedFixtures';

const shared = loadSharedManifests();
const skipShared = shared ? false : SHARED_MISSING;
const CORGI = 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*';

async function get(reg: LoopbackRegistry, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(path, reg.url), { headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text };
}

const small = [
  { name: 'a', version: '1.0.0', scripts: { postinstall: 'node x.js', test: 'jest' }, dist: { integrity: 'sha512-AAAA', shasum: '00', tarball: 'https://registry.npmjs.org/a/-/a-1.0.0.tgz' } },
  { name: 'a', version: '1.2.0', dist: { integrity: 'sha512-BBBB' } },
  { name: 'a', version: '2.0.0-beta.1', dist: { integrity: 'sha512-CCCC' } },
  { name: '@s/b', version: '0.1.0', scripts: { prepare: 'tsc' }, dist: { integrity: 'sha512-DDDD', signatures: [{ keyid: 'k', sig: 's' }] } },
];

test('serves full packuments with latest, time and tarball URLs on this server', async () => {
  const reg = await startLoopbackRegistry({ manifests: small, time: { a: { '1.0.0': '2019-05-05T00:00:00.000Z' } } });
  try {
    const { status, text } = await get(reg, '/a');
    assert.equal(status, 200);
    const doc = JSON.parse(text);
    assert.equal(doc['dist-tags'].latest, '1.2.0', 'highest non-prerelease');
    assert.deepEqual(Object.keys(doc.versions).sort(), ['1.0.0', '1.2.0', '2.0.0-beta.1']);
    assert.deepEqual(doc.versions['1.0.0'].scripts, small[0].scripts, 'full document keeps scripts');
    assert.equal(doc.versions['1.0.0'].dist.tarball, `${reg.url}a/-/a-1.0.0.tgz`);
    assert.equal(doc.versions['1.0.0']._id, 'a@1.0.0');
    assert.equal(doc.time['1.0.0'], '2019-05-05T00:00:00.000Z', 'given time wins');
    assert.ok(Date.parse(doc.time['1.2.0']) < Date.parse(doc.time['2.0.0-beta.1']), 'synthesized in semver order');
    assert.ok(doc.time.created && doc.time.modified);
    for (const path of ['/@s%2fb', '/@s/b', '/@s%2Fb']) {
      const scoped = JSON.parse((await get(reg, path)).text);
      assert.equal(scoped.name, '@s/b', path);
      assert.equal(scoped.versions['0.1.0'].dist.tarball, `${reg.url}@s/b/-/b-0.1.0.tgz`);
      assert.deepEqual(scoped.versions['0.1.0'].dist.signatures, [{ keyid: 'k', sig: 's' }]);
    }
    assert.equal((await get(reg, '/nope')).status, 404);
    assert.equal(JSON.parse((await get(reg, '/a/1.0.0')).text).version, '1.0.0');
    assert.equal(JSON.parse((await get(reg, '/a/latest')).text).version, '1.2.0');
    assert.equal(reg.requests.length, 7);
    assert.deepEqual(reg.requests[0], { method: 'GET', url: '/a', accept: '*/*' });
  } finally {
    await reg.close();
  }
});

test('the abbreviated document flags install scripts as the public registry does', { skip: skipShared }, async () => {
  const names = ['esbuild', 'core-js', 'cpu-features', 'express', '@swc/core', 'simple-git-hooks', 'bcrypt'];
  const manifests = sharedManifestsFor(names);
  const reg = await startLoopbackRegistry({ manifests });
  try {
    let flagged = 0;
    for (const name of names) {
      const res = await get(reg, `/${name.replace('/', '%2f')}`, { accept: CORGI });
      assert.equal(res.type, 'application/vnd.npm.install-v1+json');
      const doc = JSON.parse(res.text);
      assert.equal(doc.time, undefined, 'corgi has no time');
      assert.ok(doc.modified);
      for (const [version, v] of Object.entries<any>(doc.versions)) {
        const scripts = manifests.get(`${name}@${version}`)!.scripts ?? {};
        const expected = !!(scripts.preinstall || scripts.install || scripts.postinstall);
        assert.equal(v.hasInstallScript === true, expected, `${name}@${version}`);
        assert.equal(v.scripts, undefined, 'corgi has no scripts');
        assert.ok(v.dist.integrity);
        if (expected) flagged++;
      }
    }
    assert.ok(flagged >= 7, `flagged ${flagged}`);
  } finally {
    await reg.close();
  }
});

test('faults answer as configured and close() ends hanging requests', async () => {
  const reg = await startLoopbackRegistry({
    manifests: small,
    faults: { a: '500', '@s/b': 'garbage', 'a@1.0.0': '404' },
  });
  try {
    assert.equal((await get(reg, '/a')).status, 500);
    const garbage = await get(reg, '/@s%2fb');
    assert.equal(garbage.status, 200);
    assert.throws(() => JSON.parse(garbage.text));
    reg.faults.a = '401';
    assert.equal((await get(reg, '/a')).status, 401);
    reg.faults.a = '403';
    assert.equal((await get(reg, '/a')).status, 403);
    delete reg.faults.a;
    const doc = JSON.parse((await get(reg, '/a')).text);
    assert.deepEqual(Object.keys(doc.versions).sort(), ['1.2.0', '2.0.0-beta.1'], 'a version-level 404 drops the version');
    assert.equal((await get(reg, '/a/-/a-1.0.0.tgz')).status, 404);

    reg.faults.a = 'slow';
    const t0 = Date.now();
    assert.equal((await get(reg, '/a')).status, 200);
    assert.ok(Date.now() - t0 >= 290, 'slow waits ~300 ms');

    reg.faults.a = 'hang';
    const hung = fetch(new URL('/a', reg.url)).then(
      () => 'answered',
      () => 'socket closed',
    );
    const raced = await Promise.race([hung, new Promise((r) => setTimeout(() => r('still waiting'), 200))]);
    assert.equal(raced, 'still waiting');
    const c0 = Date.now();
    await reg.close();
    assert.ok(Date.now() - c0 < 1000, 'close() does not wait for the hung request');
    assert.equal(await hung, 'socket closed');
  } finally {
    await reg.close();
  }
});

test('requireToken, keys, attestations, tarballs and stripped signatures', async () => {
  const attestation = { attestations: [{ predicateType: 'https://slsa.dev/provenance/v1', bundle: {} }] };
  const reg = await startLoopbackRegistry({
    manifests: small,
    requireToken: 'tok',
    keys: { keys: [{ keyid: 'k' }] },
    attestations: new Map([['@s/b@0.1.0', attestation]]),
    tarballs: new Map([['a@1.2.0', Buffer.from('tarball-bytes')]]),
  });
  const auth = { authorization: 'Bearer tok' };
  try {
    assert.equal((await get(reg, '/a')).status, 401);
    assert.equal((await get(reg, '/a', { authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await get(reg, '/a', auth)).status, 200);
    assert.equal(reg.requests[2].authorization, 'Bearer tok');
    assert.deepEqual(JSON.parse((await get(reg, '/-/npm/v1/keys', auth)).text), { keys: [{ keyid: 'k' }] });
    const b = JSON.parse((await get(reg, '/@s%2fb', auth)).text).versions['0.1.0'];
    assert.deepEqual(b.dist.attestations, {
      url: `${reg.url}-/npm/v1/attestations/@s/b@0.1.0`,
      provenance: { predicateType: 'https://slsa.dev/provenance/v1' },
    });
    assert.deepEqual(JSON.parse((await get(reg, '/-/npm/v1/attestations/@s%2fb@0.1.0', auth)).text), attestation);
    assert.equal((await get(reg, '/-/npm/v1/attestations/a@1.0.0', auth)).status, 404);
    const tgz = await get(reg, JSON.parse((await get(reg, '/a', auth)).text).versions['1.2.0'].dist.tarball.slice(reg.url.length - 1), auth);
    assert.equal(tgz.text, 'tarball-bytes');
  } finally {
    await reg.close();
  }
  const stripped = await startLoopbackRegistry({ manifests: small, stripSignatures: true, attestations: new Map([['@s/b@0.1.0', attestation]]) });
  try {
    const b = JSON.parse((await get(stripped, '/@s%2fb')).text).versions['0.1.0'];
    assert.equal(b.dist.signatures, undefined);
    assert.equal(b.dist.attestations, undefined);
    assert.equal((await get(stripped, '/-/npm/v1/keys')).status, 404, 'no keys given: 404 like many mirrors');
  } finally {
    await stripped.close();
  }
});

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...opts, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('npm itself resolves a lockfile from the loopback registry', { skip: skipShared, timeout: 150_000 }, async () => {
  const manifests = shared!;
  const reg = await startLoopbackRegistry({ manifests });
  const dir = await mkdtemp(join(tmpdir(), 'ig-npm-xcheck-'));
  try {
    const deps = { esbuild: '0.20.2', 'cpu-features': '0.0.10', express: '^4.0.0', chalk: '^4.0.0' };
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'xcheck', version: '1.0.0', dependencies: deps }));
    await writeFile(join(dir, 'empty-npmrc'), '');
    await writeFile(join(dir, 'empty-globalrc'), '');
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
    const res = await run('npm', [
      'install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--no-update-notifier',
      `--registry=${reg.url}`, `--cache=${join(dir, 'cache')}`,
      `--userconfig=${join(dir, 'empty-npmrc')}`, `--globalconfig=${join(dir, 'empty-globalrc')}`,
    ], { cwd: dir, env });
    assert.equal(res.code, 0, res.stderr);
    const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8'));
    const entries = Object.entries<any>(lock.packages).filter(([path]) => path !== '');
    assert.ok(entries.length > 50, `${entries.length} packages locked`);
    for (const [path, entry] of entries) {
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      const manifest = manifests.get(`${name}@${entry.version}`);
      assert.ok(manifest, `${name}@${entry.version} is one we served`);
      assert.ok(entry.resolved.startsWith(reg.url), entry.resolved);
      assert.equal(entry.integrity, manifest.dist.integrity, `${name} integrity`);
      const s = manifest.scripts ?? {};
      assert.equal(entry.hasInstallScript === true, !!(s.preinstall || s.install || s.postinstall), `${name} hasInstallScript`);
    }
    assert.equal(lock.packages['node_modules/esbuild'].hasInstallScript, true);
    assert.ok(semver.satisfies(lock.packages['node_modules/express'].version, '^4.0.0'));
    // npm 11's arborist asks for full documents (it needs `time` for min-release-age); never a tarball.
    const locked = new Set(entries.map(([path]) => `/${path.slice(path.lastIndexOf('node_modules/') + 13).replace('/', '%2f')}`));
    assert.deepEqual(reg.requests.filter((r) => !locked.has(r.url)), [], 'only packuments of locked packages');
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  }
});
