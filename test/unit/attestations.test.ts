import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assessProvenance, type ProvenanceFacts, type ProvenanceSubject } from '../../server/src/analysis/provenance';
import { provenanceFindings } from '../../server/src/analysis/provenanceFindings';
import { attestationsUrl, packagePurl, verifyAttestations } from '../../server/src/registry/attestations';
import { certificateClaims, crossCheck, predicateClaims } from '../../server/src/registry/buildClaims';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import { parseRegistryKeys } from '../../server/src/registry/registryKeys';
import { embeddedTrustedRoot, loadTrustedRoot } from '../../server/src/registry/trustedRoot';
import type { RegistryConfig } from '../../server/src/registry/npmConfig';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import {
  loadProvenanceFixtures, loadSignatureFixture, loopbackConfig, reportFor, reportsFrom, sri, type ProvenanceFixture, type Variant,
} from '../support/provenanceFixtures';
import { SHARED_MISSING } from '../support/sharedFixtures';

const fixtures = loadProvenanceFixtures();
const npmKeys = loadSignatureFixture()?.keys;
const skip = fixtures && npmKeys ? false : SHARED_MISSING;

/** What the certificates of the five valid pairs really say (read from their Fulcio extensions). */
const EXPECTED: Record<string, { repository: string; commit: string; ref: string; workflow: string; builder: string }> = {
  'gundam-visor@1.0.1': {
    repository: 'https://github.com/ramonpetgrave64/gundam-visor', commit: '599500821344b070902a7a5666064bfdaba715df',
    ref: 'refs/tags/v1.0.1', workflow: '.github/workflows/npm-publish.yml', builder: 'https://github.com/actions/runner/github-hosted',
  },
  'sigstore@2.3.1': {
    repository: 'https://github.com/sigstore/sigstore-js', commit: '46e7056ff9912ebfee5298d94024895a9fea76c0',
    ref: 'refs/heads/main', workflow: '.github/workflows/release.yml', builder: 'https://github.com/actions/runner/github-hosted',
  },
  '@laurentsimon/provenance-npm-test@1.0.3': {
    repository: 'https://github.com/laurentsimon/provenance-npm-test', commit: 'b38894f2dda4355ea5606fccb166e61565e12a14',
    ref: 'refs/heads/main', workflow: '.github/workflows/release.yml', builder: 'https://github.com/actions/runner',
  },
  // Built by slsa-github-generator's reusable workflow, called from the project's release-slsa3.yml.
  '@laurentsimon/provenance-npm-test@1.0.5': {
    repository: 'https://github.com/laurentsimon/provenance-npm-test', commit: '34490b44db557f009617bcb92b8780f972c189ab',
    ref: 'refs/heads/main', workflow: '.github/workflows/release-slsa3.yml',
    builder: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_nodejs_slsa3.yml@refs/tags/v1.6.0',
  },
  '@trishankatdatadog/supreme-goggles@1.0.5': {
    repository: 'https://github.com/trishankatdatadog/supreme-goggles', commit: '38ebf99444e033b2f1550c9aaaeacd62d02a12ba',
    ref: 'refs/tags/v1.0.5', workflow: '.github/workflows/npm-publish.yml', builder: 'https://github.com/actions/runner',
  },
};

const OPTIONS = { downgradePolicy: 'off' as const, minimumReleaseAgeMinutes: null, now: new Date('2026-01-01T00:00:00Z'), tufRefresh: false };
const key = (f: ProvenanceFixture) => `${f.name}@${f.version}`;

interface Served {
  variant?: Variant;
  /** name@version -> the tarball whose sha512 the manifest's dist.integrity states. */
  integrityOf?: (f: ProvenanceFixture) => Buffer;
  keys?: boolean;
  stripSignatures?: boolean;
  faults?: LoopbackRegistry['faults'];
}

async function serve(opts: Served = {}): Promise<LoopbackRegistry> {
  const variant = opts.variant ?? 'valid';
  return startLoopbackRegistry({
    manifests: fixtures!.map((f) => ({
      name: f.name, version: f.version, repository: f.repository,
      dist: { integrity: sri(opts.integrityOf?.(f) ?? f.tarball) },
    })),
    attestations: new Map(fixtures!.map((f) => [key(f), f.bodies[variant]])),
    tarballs: new Map(fixtures!.map((f) => [key(f), f.tarball])),
    ...(opts.keys === false ? {} : { keys: npmKeys }),
    ...(opts.stripSignatures ? { stripSignatures: true } : {}),
    ...(opts.faults ? { faults: opts.faults } : {}),
  });
}

async function audit(reg: LoopbackRegistry, cacheDir: string | null = null) {
  const { dir, config } = await loopbackConfig(reg.url);
  const metadata = new MetadataClient({ config, cacheDir });
  const reports = await reportsFrom(metadata, fixtures!.map((f) => ({ name: f.name, version: f.version })));
  const facts = await assessProvenance(reports, { config, metadata, cacheDir, options: OPTIONS });
  await metadata.flush();
  const findings = provenanceFindings(reports, facts, { lockfile: join(dir, 'package-lock.json') });
  await rm(dir, { recursive: true, force: true });
  return { facts, findings, reports };
}

function get(facts: Map<string, ProvenanceFacts>, f: ProvenanceFixture): ProvenanceFacts {
  const p = facts.get(key(f));
  assert.ok(p, `${key(f)} assessed`);
  return p;
}

test('the five valid pairs verify, naming the repository, commit, ref, workflow and builder of their certificates', { skip }, async () => {
  const reg = await serve();
  try {
    const { facts, findings } = await audit(reg);
    assert.equal(facts.size, 5);
    for (const f of fixtures!) {
      const p = get(facts, f);
      assert.equal(p.attestation, 'verified', `${key(f)}: ${p.details.attestation}`);
      const { repository, commit, ref, workflow, builder } = p;
      assert.deepEqual({ repository, commit, ref, workflow, builder }, EXPECTED[key(f)], key(f));
      assert.match(p.trustedRoot!, /^embedded \(shipped with Install Guard: @sigstore\/tuf [\d.]+ seed, newest entry \d{4}-\d\d-\d\d\)$/);
      assert.match(p.details.attestation, /^SLSA v(0\.2|1) provenance \+ publish attestation verified|^publish attestation \+ SLSA/);
    }
    assert.deepEqual(findings.filter((x) => x.code === 'provenance-invalid' || x.code === 'repository-mismatch'), []);
    // Attestations come from the configured registry only, one request per version; keys once.
    const attestationRequests = reg.requests.filter((r) => r.url.startsWith('/-/npm/v1/attestations/'));
    assert.equal(attestationRequests.length, 5);
    assert.ok(attestationRequests.some((r) => r.url === '/-/npm/v1/attestations/@laurentsimon%2fprovenance-npm-test@1.0.5'));
    assert.equal(reg.requests.filter((r) => r.url === '/-/npm/v1/keys').length, 1);
  } finally {
    await reg.close();
  }
});

test('every -invalidsigprov and -invalidsigpub variant is invalid, and says which bundle failed', { skip }, async () => {
  for (const variant of ['invalidsigprov', 'invalidsigpub'] as const) {
    const reg = await serve({ variant });
    try {
      const { facts, findings } = await audit(reg);
      for (const f of fixtures!) {
        const p = get(facts, f);
        assert.equal(p.attestation, 'invalid', `${variant} ${key(f)}`);
        assert.match(p.details.attestation, variant === 'invalidsigprov' ? /^SLSA v[\d.]+ provenance: signature does not verify/ : /^publish attestation: signature does not verify/);
        assert.equal(p.repository, null, 'no evidence from an invalid attestation');
      }
      const invalid = findings.filter((x) => x.code === 'provenance-invalid');
      assert.equal(invalid.length, 5);
      assert.ok(invalid.every((x) => x.severity === 'error' && x.location.span?.start === 10));
    } finally {
      await reg.close();
    }
  }
});

test('a tarball integrity that is not the attested subject is invalid', { skip }, async () => {
  // Each manifest states the integrity of the next fixture's tarball.
  const next = (f: ProvenanceFixture) => fixtures![(fixtures!.indexOf(f) + 1) % fixtures!.length]!.tarball;
  const reg = await serve({ integrityOf: next });
  try {
    const { facts } = await audit(reg);
    for (const f of fixtures!) {
      const p = get(facts, f);
      assert.equal(p.attestation, 'invalid', key(f));
      assert.match(p.details.attestation, /the attested tarball sha512 [0-9a-f]{16}… is not the integrity of this version/);
      // The signatures themselves verified: only the subject is wrong.
      assert.doesNotMatch(p.details.attestation, /signature does not verify/);
    }
  } finally {
    await reg.close();
  }
  // A lockfile whose integrity differs from the registry's (and the subject) is caught too.
  const good = await serve();
  try {
    const { dir, config } = await loopbackConfig(good.url);
    const metadata = new MetadataClient({ config, cacheDir: null });
    const f = fixtures![0]!;
    const [report] = await reportsFrom(metadata, [f]);
    const tampered: ProvenanceSubject = { ...report!, integrity: sri(fixtures![1]!.tarball) };
    const facts = await assessProvenance([tampered], { config, metadata, cacheDir: null, options: OPTIONS });
    assert.equal(facts.get(key(f))!.attestation, 'invalid');
    await rm(dir, { recursive: true, force: true });
  } finally {
    await good.close();
  }
});

test('attestations about another package are invalid (purl check)', { skip }, () => {
  const root = embeddedTrustedRoot();
  const keys = { ok: true as const, registry: 'https://registry.example/', keys: parseRegistryKeys(npmKeys)! };
  const gundam = fixtures![0]!;
  const result = verifyAttestations(gundam.bodies.valid, { name: 'gundam-visor-evil', version: '1.0.1', integrities: [gundam.integrity] }, { root, keys });
  assert.equal(result.state, 'invalid');
  assert.match(result.reason, /about pkg:npm\/gundam-visor@1\.0\.1, not pkg:npm\/gundam-visor-evil@1\.0\.1/);
  assert.equal(packagePurl('@laurentsimon/provenance-npm-test', '1.0.5'), 'pkg:npm/%40laurentsimon/provenance-npm-test@1.0.5');
  // A response that is not an attestations document, or an empty one, is unverifiable, not a crash.
  assert.equal(verifyAttestations({ nope: 1 }, { name: 'x', version: '1.0.0', integrities: [] }, { root, keys }).state, 'unverifiable');
  assert.equal(verifyAttestations({ attestations: [] }, { name: 'x', version: '1.0.0', integrities: [] }, { root, keys }).state, 'unverifiable');
  const junk = verifyAttestations({ attestations: [{ predicateType: 'https://slsa.dev/provenance/v1', bundle: { junk: true } }] }, { name: 'x', version: '1.0.0', integrities: [] }, { root, keys });
  assert.equal(junk.state, 'invalid');
  assert.match(junk.reason, /not a Sigstore bundle/);
});

test('stripped attestations, a failing attestations endpoint and a keyless registry are unverifiable, with why', { skip }, async () => {
  const stripping = await serve({ stripSignatures: true, keys: false });
  const failing = await serve({ faults: { '/-/npm/v1/attestations/': '500' } });
  const keyless = await serve({ keys: false });
  try {
    for (const p of (await audit(stripping)).facts.values()) {
      assert.equal(p.attestation, 'unverifiable');
      assert.match(p.details.attestation, /neither signatures nor attestations/);
    }
    for (const p of (await audit(failing)).facts.values()) {
      assert.equal(p.attestation, 'unverifiable');
      assert.match(p.details.attestation, /lists attestations but the registry answered 500/);
    }
    // Without the registry's key only the publish attestation is unchecked; the keyless SLSA bundle still verified.
    const { facts, findings } = await audit(keyless);
    for (const f of fixtures!) {
      const p = get(facts, f);
      assert.equal(p.attestation, 'unverifiable');
      assert.match(p.details.attestation, /^publish attestation: signed with registry key SHA256:jl3bw\S+, but registry .* publishes no keys/);
      assert.equal(p.repository, EXPECTED[key(f)]!.repository);
    }
    assert.equal(findings.filter((x) => x.code === 'provenance-invalid').length, 0);
    // ...and a policy that requires provenance says so for exactly the matching names.
    const reports = fixtures!.map((f) => reportFor(null, f.name, f.version));
    const required = provenanceFindings(reports, facts, { lockfile: '/p/package-lock.json', requireProvenance: ['@laurentsimon/*', 'sigstore'] });
    assert.deepEqual(required.map((x) => `${x.code} ${x.package!.name}@${x.package!.version}`).sort(), [
      'provenance-required @laurentsimon/provenance-npm-test@1.0.3',
      'provenance-required @laurentsimon/provenance-npm-test@1.0.5',
      'provenance-required sigstore@2.3.1',
    ]);
  } finally {
    await Promise.all([stripping.close(), failing.close(), keyless.close()]);
  }
});

test('an attestations URL naming another host is never fetched from that host', { skip }, async () => {
  const configured = await serve();
  const other = await startLoopbackRegistry({ manifests: [], attestations: new Map(fixtures!.map((f) => [key(f), f.bodies.valid])) });
  try {
    const { dir, config } = await loopbackConfig(configured.url);
    const metadata = new MetadataClient({ config, cacheDir: null });
    const reports = (await reportsFrom(metadata, fixtures!)).map((r) => ({
      ...r,
      registryFacts: { ...r.registryFacts!, attestations: { url: `${other.url}-/npm/v1/attestations/evil@6.6.6`, provenance: { predicateType: 'https://slsa.dev/provenance/v1' } } },
    }));
    const facts = await assessProvenance(reports, { config, metadata, cacheDir: null, options: OPTIONS });
    for (const f of fixtures!) assert.equal(get(facts, f).attestation, 'verified');
    assert.equal(other.requests.length, 0, 'the host the packument names saw no request');
    assert.equal(configured.requests.filter((r) => r.url.startsWith('/-/npm/v1/attestations/')).length, 5);
    assert.equal(attestationsUrl(config, '@a/b', '1.0.0'), `${configured.url}-/npm/v1/attestations/@a%2fb@1.0.0`);
    // A registry with a path keeps its path (Artifactory-style).
    const pathy = { registryFor: () => 'https://art.example/api/npm/npm-remote/' } as unknown as RegistryConfig;
    assert.equal(attestationsUrl(pathy, 'x', '1.0.0'), 'https://art.example/api/npm/npm-remote/-/npm/v1/attestations/x@1.0.0');
    await rm(dir, { recursive: true, force: true });
  } finally {
    await Promise.all([configured.close(), other.close()]);
  }
});

test('repository named in package.json is cross-checked against verified provenance', { skip }, async () => {
  const reg = await serve();
  try {
    const { facts, reports } = await audit(reg);
    const moved = reports.map((r) => (r.name === 'sigstore' ? { ...r, registryFacts: { ...r.registryFacts!, repository: 'https://github.com/someone-else/sigstore-js' } } : r));
    // (These made manifests carry no registry signatures: leave those findings aside.)
    const findings = provenanceFindings(moved, facts, { lockfile: '/p/package-lock.json' }).filter((x) => x.code !== 'signature-missing');
    assert.deepEqual(findings.map((x) => [x.code, x.severity, x.package!.name]), [['repository-mismatch', 'warning', 'sigstore']]);
    assert.match(findings[0]!.message, /names repository https:\/\/github\.com\/someone-else\/sigstore-js .* built from https:\/\/github\.com\/sigstore\/sigstore-js/);
  } finally {
    await reg.close();
  }
});

test('verdicts are cached with the facts: a warm run fetches no attestations', { skip }, async () => {
  const reg = await serve({ variant: 'invalidsigpub' });
  const cacheDir = await mkdtemp(join(tmpdir(), 'ig-prov-cache-'));
  try {
    const cold = await audit(reg, cacheDir);
    const fetched = reg.requests.filter((r) => r.url.startsWith('/-/npm/v1/attestations/')).length;
    assert.equal(fetched, 5);
    const warm = await audit(reg, cacheDir);
    assert.equal(reg.requests.filter((r) => r.url.startsWith('/-/npm/v1/attestations/')).length, fetched, 'no attestation fetched again');
    for (const f of fixtures!) {
      assert.equal(get(warm.facts, f).attestation, 'invalid');
      assert.equal(get(warm.facts, f).details.attestation, get(cold.facts, f).details.attestation);
    }
  } finally {
    await reg.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
});

test('the trusted root: embedded without TUF; a hanging TUF mirror falls back quickly, once per run', { skip }, async () => {
  const shipped = await loadTrustedRoot({ cacheDir: null, tufRefresh: false });
  assert.equal(shipped.source, 'embedded');
  assert.ok(shipped.root.tlogs.length > 0 && shipped.root.certificateAuthorities.length > 0);
  const mirror = await startLoopbackRegistry({ manifests: [], faults: { '/': 'hang' } });
  const cacheDir = await mkdtemp(join(tmpdir(), 'ig-tuf-'));
  try {
    const t0 = Date.now();
    const root = await loadTrustedRoot({ cacheDir, tufRefresh: true, timeoutMs: 500, mirrorUrl: mirror.url.replace(/\/$/, '') });
    const elapsed = Date.now() - t0;
    assert.equal(root.source, 'embedded');
    assert.match(root.note!, /TUF refresh failed \(no answer within 500 ms\); using the shipped root/);
    assert.ok(elapsed < 2500, `fell back in ${elapsed} ms`);
    assert.ok(mirror.requests.length >= 1, 'the mirror was asked');
    const t1 = Date.now();
    await loadTrustedRoot({ cacheDir, tufRefresh: true, timeoutMs: 500, mirrorUrl: mirror.url.replace(/\/$/, '') });
    assert.ok(Date.now() - t1 < 200, 'asked once per run');
    // A root refreshed by an earlier run (newer than the shipped one) is used, and labelled as such.
    const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets: Record<string, string> }>;
    const trustedRoot = JSON.parse(Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']!.targets['trusted_root.json']!, 'base64').toString('utf8'));
    await writeFile(join(cacheDir, 'sigstore-trusted-root.json'), JSON.stringify({ refreshedAt: '2099-01-02T03:04:05.000Z', trustedRoot }));
    const refreshed = await loadTrustedRoot({ cacheDir, tufRefresh: false });
    assert.deepEqual([refreshed.source, refreshed.label], ['tuf', 'tuf (refreshed 2099-01-02)']);
    // ...and bundles verify against it.
    const keys = { ok: true as const, registry: 'https://registry.example/', keys: parseRegistryKeys(npmKeys)! };
    const f = fixtures![1]!;
    assert.equal(verifyAttestations(f.bodies.valid, { name: f.name, version: f.version, integrities: [f.integrity] }, { root: refreshed, keys }).state, 'verified');
  } finally {
    await mirror.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
});

test('certificate and predicate must agree: a predicate naming another build is a conflict', { skip }, () => {
  const { X509Certificate } = require('@sigstore/core') as typeof import('@sigstore/core');
  for (const f of fixtures!) {
    const slsa = (f.bodies.valid as { attestations: { predicateType: string; bundle: any }[] }).attestations.find((a) => a.predicateType.startsWith('https://slsa.dev/'))!;
    const cert = X509Certificate.parse(Buffer.from(slsa.bundle.verificationMaterial.x509CertificateChain.certificates[0].rawBytes, 'base64'));
    // The identity as @sigstore/verify returns it for a verified certificate.
    const identity = {
      subjectAlternativeName: cert.subjectAltName,
      oids: cert.extensions.map((ext) => ({ oid: { id: ext.subs[0]!.toOID().split('.').map(Number) }, value: ext.subs[ext.subs.length - 1]!.value })),
    };
    const predicate = JSON.parse(Buffer.from(slsa.bundle.dsseEnvelope.payload, 'base64').toString('utf8')).predicate;
    const claims = certificateClaims(identity);
    const agreed = crossCheck(slsa.predicateType, claims, predicateClaims(slsa.predicateType, predicate));
    assert.deepEqual(agreed.conflicts, [], key(f));
    assert.equal(agreed.evidence.repository, EXPECTED[key(f)]!.repository);
    assert.equal(agreed.evidence.signer, cert.subjectAltName);
    const lying = predicateClaims(slsa.predicateType, predicate);
    const forged = crossCheck(slsa.predicateType, claims, { ...lying, repository: 'https://github.com/attacker/repo', commit: '0'.repeat(40), workflow: '.github/workflows/evil.yml' });
    assert.deepEqual(forged.conflicts.map((c) => c.split(':')[0]), ['repository', 'commit', 'workflow'], key(f));
    assert.equal(forged.evidence.repository, EXPECTED[key(f)]!.repository, 'evidence comes from the certificate');
  }
});
