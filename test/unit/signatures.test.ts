import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { assessProvenance } from '../../server/src/analysis/provenance';
import { provenanceFindings } from '../../server/src/analysis/provenanceFindings';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import { parseRegistryKeys, RegistryKeyStore, type RegistryKeys } from '../../server/src/registry/registryKeys';
import { verifyRegistrySignatures, type SignedVersion } from '../../server/src/registry/signatures';
import { startLoopbackRegistry, type RegistryFault } from '../support/loopbackRegistry';
import { loadSignatureFixture, loopbackConfig, reportsFrom } from '../support/provenanceFixtures';
import { SHARED_MISSING } from '../support/sharedFixtures';

const fixture = loadSignatureFixture();
const skip = fixture ? false : SHARED_MISSING;
const NPM_KEY = 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA';
/** Before the key's expiry (2025-01-29), as every fixture version was really published. */
const BEFORE_EXPIRY = '2023-03-01T00:00:00.000Z';

function keysOk(): RegistryKeys {
  return { ok: true, registry: 'https://registry.example/', keys: parseRegistryKeys(fixture!.keys)! };
}

function signed(i: number, patch: Partial<SignedVersion> = {}): SignedVersion {
  const v = fixture!.versions[i]!;
  return { name: v.name, version: v.version, integrity: v.integrity, signatures: v.signatures, publishedAt: BEFORE_EXPIRY, ...patch };
}

/** The base64 signature with one byte of its DER flipped (still well-formed base64). */
function flipByte(sig: string, at: number): string {
  const bytes = Buffer.from(sig, 'base64');
  bytes[at] = bytes[at]! ^ 0x01;
  return bytes.toString('base64');
}

test('the five real registry signatures verify with the real npm key', { skip }, () => {
  assert.equal(fixture!.versions.length, 5);
  for (let i = 0; i < 5; i++) {
    const result = verifyRegistrySignatures(signed(i), keysOk());
    assert.equal(result.state, 'verified', `${fixture!.versions[i]!.name}: ${result.reason}`);
    assert.equal(result.keyid, NPM_KEY);
    assert.match(result.reason, /signed by registry key SHA256:jl3bw.*valid until 2025-01-29/);
  }
});

test('a flipped byte, another integrity or another version is invalid', { skip }, () => {
  for (let i = 0; i < 5; i++) {
    const sig = fixture!.versions[i]!.signatures[0]!;
    // A byte inside the r value (past the DER header) changes the signature, not its shape.
    const flipped = verifyRegistrySignatures(signed(i, { signatures: [{ keyid: sig.keyid, sig: flipByte(sig.sig, 10) }] }), keysOk());
    assert.equal(flipped.state, 'invalid', fixture!.versions[i]!.name);
    assert.match(flipped.reason, /does not match its name, version and integrity/);
  }
  const otherIntegrity = verifyRegistrySignatures(signed(0, { integrity: fixture!.versions[1]!.integrity }), keysOk());
  assert.equal(otherIntegrity.state, 'invalid');
  const otherVersion = verifyRegistrySignatures(signed(0, { version: '1.0.1' }), keysOk());
  assert.equal(otherVersion.state, 'invalid');
  // Garbage where a DER signature should be is invalid too, not an exception.
  const garbage = verifyRegistrySignatures(signed(0, { signatures: [{ keyid: NPM_KEY, sig: 'bm90IGEgc2lnbmF0dXJl' }] }), keysOk());
  assert.equal(garbage.state, 'invalid');
});

test('an unknown keyid is unknown-key; a known one beside it still decides', { skip }, () => {
  const sig = fixture!.versions[2]!.signatures[0]!;
  const unknown = verifyRegistrySignatures(signed(2, { signatures: [{ keyid: 'SHA256:not-a-published-key', sig: sig.sig }] }), keysOk());
  assert.equal(unknown.state, 'unknown-key');
  assert.equal(unknown.keyid, 'SHA256:not-a-published-key');
  assert.match(unknown.reason, /does not publish/);
  const both = verifyRegistrySignatures(signed(2, { signatures: [{ keyid: 'SHA256:other', sig: sig.sig }, sig] }), keysOk());
  assert.equal(both.state, 'verified');
  assert.match(both.reason, /also signed with keys the registry does not publish: SHA256:other/);
});

test('a version published after its key expired is invalid, with the dates in the reason', { skip }, () => {
  const late = verifyRegistrySignatures(signed(3, { publishedAt: '2025-03-01T12:00:00.000Z' }), keysOk());
  assert.equal(late.state, 'invalid');
  assert.match(late.reason, /published 2025-03-01T12:00:00.000Z, after its signing key SHA256:jl3bw\S+ expired \(2025-01-29/);
  // The boundary: one millisecond before expiry still verifies.
  assert.equal(verifyRegistrySignatures(signed(3, { publishedAt: '2025-01-28T23:59:59.999Z' }), keysOk()).state, 'verified');
  // No publish time: the signature is checked, and the reason says the expiry was not judged.
  const undated = verifyRegistrySignatures(signed(3, { publishedAt: null }), keysOk());
  assert.equal(undated.state, 'verified');
  assert.match(undated.reason, /publish time unknown/);
});

test('no keys is unverifiable; keys without a signature is missing', { skip }, () => {
  const none: RegistryKeys = { ok: false, registry: 'https://mirror.example/', kind: 'none', reason: 'registry https://mirror.example/ publishes no keys (it answered 404 for /-/npm/v1/keys)' };
  const unverifiable = verifyRegistrySignatures(signed(0), none);
  assert.equal(unverifiable.state, 'unverifiable');
  assert.match(unverifiable.reason, /publishes no keys.*cannot be checked/);
  assert.equal(verifyRegistrySignatures(signed(0, { signatures: null }), none).state, 'unverifiable');
  for (const signatures of [null, []]) {
    const missing = verifyRegistrySignatures(signed(0, { signatures }), keysOk());
    assert.equal(missing.state, 'missing');
    assert.match(missing.reason, /publishes signing keys but this version carries no dist.signatures/);
  }
  assert.equal(verifyRegistrySignatures(signed(0, { integrity: null }), keysOk()).state, 'unverifiable');
});

test('keys endpoint: served, 404, garbage, 500 and a hang each say what happened', { skip }, async () => {
  const withKeys = await startLoopbackRegistry({ manifests: [], keys: fixture!.keys });
  const without = await startLoopbackRegistry({ manifests: [] });
  const faulty = await startLoopbackRegistry({ manifests: [], keys: fixture!.keys, faults: { '/-/npm/v1/keys': 'garbage' } });
  const dirs: string[] = [];
  try {
    const storeFor = async (url: string, fault?: RegistryFault): Promise<RegistryKeys> => {
      if (fault) faulty.faults['/-/npm/v1/keys'] = fault;
      const { dir, config } = await loopbackConfig(url);
      dirs.push(dir);
      return new RegistryKeyStore({ config, timeoutMs: 400, retries: 0 }).get(url);
    };
    const ok = await storeFor(withKeys.url);
    assert.ok(ok.ok);
    assert.deepEqual(ok.keys.map((k) => [k.keyid, k.expires, k.publicKey?.asymmetricKeyType]), [[NPM_KEY, '2025-01-29T00:00:00.000Z', 'ec']]);
    const notFound = await storeFor(without.url);
    assert.ok(!notFound.ok && notFound.kind === 'none' && /publishes no keys \(it answered 404/.test(notFound.reason), JSON.stringify(notFound));
    const garbage = await storeFor(faulty.url, 'garbage');
    assert.ok(!garbage.ok && garbage.kind === 'none', JSON.stringify(garbage));
    const broken = await storeFor(faulty.url, '500');
    assert.ok(!broken.ok && broken.kind === 'unreachable' && /answered 500/.test(broken.reason), JSON.stringify(broken));
    const t0 = Date.now();
    const hang = await storeFor(faulty.url, 'hang');
    assert.ok(!hang.ok && hang.kind === 'unreachable', JSON.stringify(hang));
    assert.ok(Date.now() - t0 < 3000, 'a hanging keys endpoint is given up on');
    // One request per registry, however many packages ask.
    const { dir, config } = await loopbackConfig(withKeys.url);
    dirs.push(dir);
    const store = new RegistryKeyStore({ config });
    const before = withKeys.requests.length;
    await Promise.all([store.get(withKeys.url), store.get(withKeys.url), store.get(withKeys.url)]);
    assert.equal(withKeys.requests.length - before, 1);
  } finally {
    await Promise.all([withKeys.close(), without.close(), faulty.close()]);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
});

test('registry keys are kept in the cache dir for the TTL; a signature by a key they lack asks again', { skip }, async () => {
  const withKeys = await startLoopbackRegistry({ manifests: [], keys: fixture!.keys });
  const without = await startLoopbackRegistry({ manifests: [] });
  const failing = await startLoopbackRegistry({ manifests: [], faults: { '/-/npm/v1/keys': '500' } });
  const dirs: string[] = [];
  try {
    const setup = async (url: string) => {
      const { dir, config } = await loopbackConfig(url);
      dirs.push(dir);
      return (extra: { ttlMs?: number; offline?: boolean } = {}) => new RegistryKeyStore({ config, cacheDir: dir, retries: 0, timeoutMs: 2000, ...extra });
    };
    const keysRequests = (r: { requests: { url: string }[] }) => r.requests.filter((q) => q.url.endsWith('/-/npm/v1/keys')).length;

    // "Publishes no keys" is an answer: kept, and the next run does not ask.
    const noKeys = await setup(without.url);
    const first = await noKeys().get(without.url);
    const kept = await noKeys().get(without.url);
    assert.equal(keysRequests(without), 1);
    assert.ok(!kept.ok && kept.kind === 'none' && !first.ok && kept.reason === first.reason, JSON.stringify(kept));
    await noKeys({ ttlMs: 0 }).get(without.url);
    assert.equal(keysRequests(without), 2, 'a kept answer older than the TTL is asked again');
    const offline = await noKeys({ ttlMs: 0, offline: true }).get(without.url);
    assert.ok(!offline.ok && offline.kind === 'none', 'offline, a stale kept answer beats none');
    assert.equal(keysRequests(without), 2);

    // Keys are kept with their public keys usable; a signature by another key refreshes once.
    const served = await setup(withKeys.url);
    await served().get(withKeys.url);
    const store = served();
    const again = await store.get(withKeys.url, [NPM_KEY]);
    assert.ok(again.ok && again.keys[0]!.publicKey?.asymmetricKeyType === 'ec');
    assert.equal(keysRequests(withKeys), 1);
    await Promise.all([store.get(withKeys.url, ['SHA256:rotated']), store.get(withKeys.url, ['SHA256:rotated'])]);
    await store.get(withKeys.url, ['SHA256:rotated']);
    assert.equal(keysRequests(withKeys), 2, 'the rotated key makes one fresh request, not one per signature');

    // No answer is not an answer: nothing is kept.
    const broken = await setup(failing.url);
    const down = await broken().get(failing.url);
    await broken().get(failing.url);
    assert.ok(!down.ok && down.kind === 'unreachable');
    assert.equal(keysRequests(failing), 2);
  } finally {
    await Promise.all([withKeys.close(), without.close(), failing.close()]);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
});

/** The fixture versions as registry manifests (real integrity and signatures). */
function manifests(): Record<string, unknown>[] {
  return fixture!.versions.map((v) => ({ name: v.name, version: v.version, dist: { integrity: v.integrity, signatures: v.signatures } }));
}

test('through the audit path: loopback registries with keys, without keys, stripping, and a late publish', { skip }, async () => {
  const names = fixture!.versions.map((v) => ({ name: v.name, version: v.version }));
  const late = { 'node-fetch': { '1.7.1': '2025-06-01T00:00:00.000Z' } };
  const registries = {
    signing: await startLoopbackRegistry({ manifests: manifests(), keys: fixture!.keys, time: late }),
    keyless: await startLoopbackRegistry({ manifests: manifests() }),
    stripping: await startLoopbackRegistry({ manifests: manifests(), keys: fixture!.keys, stripSignatures: true }),
    // A registry that publishes a key, but not the one its documents are signed with.
    rotated: await startLoopbackRegistry({ manifests: manifests(), keys: { keys: fixture!.keys.keys.map((k) => ({ ...k, keyid: 'SHA256:rotated' })) } }),
  };
  const dirs: string[] = [];
  try {
    const run = async (url: string) => {
      const { dir, config } = await loopbackConfig(url);
      dirs.push(dir);
      const metadata = new MetadataClient({ config, cacheDir: null });
      const reports = await reportsFrom(metadata, names);
      const options = { downgradePolicy: 'off' as const, minimumReleaseAgeMinutes: null, now: new Date('2026-01-01T00:00:00Z'), tufRefresh: false };
      const facts = await assessProvenance(reports, { config, metadata, cacheDir: null, options });
      return { facts, findings: provenanceFindings(reports, facts, { lockfile: `${dir}/package-lock.json` }) };
    };
    const signing = await run(registries.signing.url);
    for (const { name, version } of names) {
      const p = signing.facts.get(`${name}@${version}`)!;
      assert.equal(p.signature, name === 'node-fetch' ? 'invalid' : 'verified', `${name}: ${p.details.signature}`);
    }
    assert.match(signing.facts.get('node-fetch@1.7.1')!.reason!, /signature invalid: .*after its signing key .* expired/);
    assert.deepEqual(signing.findings.filter((f) => f.code.startsWith('signature')).map((f) => [f.code, f.severity, f.package?.name]), [['signature-invalid', 'error', 'node-fetch']]);
    // kms-demo has signatures and no attestations: it was published without provenance.
    assert.equal(signing.facts.get('kms-demo@1.0.0')!.attestation, 'absent');
    assert.equal(registries.signing.requests.filter((r) => r.url === '/-/npm/v1/keys').length, 1);

    const keyless = await run(registries.keyless.url);
    for (const p of keyless.facts.values()) {
      assert.equal(p.signature, 'unverifiable');
      assert.match(p.reason!, /publishes no keys \(it answered 404/);
    }
    assert.equal(keyless.findings.filter((f) => f.code.startsWith('signature')).length, 0, 'unverifiable is never a tampering finding');

    const stripping = await run(registries.stripping.url);
    for (const p of stripping.facts.values()) {
      assert.equal(p.signature, 'missing');
      assert.equal(p.attestation, 'unverifiable', 'a stripped dist says nothing about provenance');
    }
    assert.equal(stripping.findings.filter((f) => f.code === 'signature-missing').length, 5);

    const rotated = await run(registries.rotated.url);
    for (const p of rotated.facts.values()) assert.equal(p.signature, 'unknown-key');
    const unknown = rotated.findings.filter((f) => f.code === 'signature-missing');
    assert.equal(unknown.length, 5, 'counted as missing, as npm audit signatures does');
    assert.match(unknown[0]!.message, /signed only with keys its registry does not publish — .* SHA256:jl3bw/);
  } finally {
    await Promise.all(Object.values(registries).map((r) => r.close()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
});
