import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assessProvenance } from '../../server/src/analysis/provenance';
import { packageSelector, provenanceFindings, provenanceSummary } from '../../server/src/analysis/provenanceFindings';
import { describeMinutes, detectDowngrade, releaseAge, trustEvidenceOf } from '../../server/src/analysis/trust';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import { extractPublishHistory, HISTORY_FILE, PublishHistoryCache } from '../../server/src/registry/publishHistory';
import { startLoopbackRegistry } from '../support/loopbackRegistry';
import { loopbackConfig, reportsFrom } from '../support/provenanceFixtures';

const PROVENANCE = { url: 'https://registry.npmjs.org/-/npm/v1/attestations/x', provenance: { predicateType: 'https://slsa.dev/provenance/v1' } };
const TRUSTED = { name: 'GitHub Actions', email: 'npm-oidc-no-reply@github.com', trustedPublisher: { id: 'github', oidcConfigId: 'oidc:1' } };

/**
 * A made packument in the shape of semver's real history: 7.x published with provenance
 * from 7.5.2 on, then 6.3.1 and 5.7.2 (maintenance releases) published from a laptop
 * after that — pnpm's no-downgrade rule flags 6.3.1 though nothing was taken over.
 */
const SEMVER_RELEASES: [version: string, time: string | null, evidence: 'none' | 'provenance' | 'trusted'][] = [
  ['5.7.1', '2019-08-12T15:47:35.000Z', 'none'],
  ['6.3.0', '2019-07-23T17:11:11.000Z', 'none'],
  ['7.5.2', '2023-06-15T17:56:54.000Z', 'provenance'],
  ['7.5.3', '2023-06-22T16:14:00.000Z', 'provenance'],
  ['7.5.4', '2023-07-07T21:10:32.000Z', 'provenance'],
  ['6.3.1', '2023-07-10T17:26:50.000Z', 'none'],
  ['5.7.2', '2023-07-10T22:57:44.000Z', 'none'],
  ['7.6.0', '2024-01-31T21:00:00.000Z', 'provenance'],
  ['7.6.1', '2024-02-10T09:00:00.000Z', 'none'], // a true downgrade: the next 7.x, no provenance
  ['7.7.0', '2025-02-01T10:00:00.000Z', 'trusted'],
  ['7.7.1', '2025-03-01T10:00:00.000Z', 'provenance'], // weaker than the trusted publish before it
  ['8.0.0-beta.1', '2025-04-01T10:00:00.000Z', 'trusted'],
  ['8.0.0-beta.2', '2025-04-02T10:00:00.000Z', 'none'],
  ['8.0.0', '2025-05-01T10:00:00.000Z', 'none'],
  ['9.0.0', null, 'none'],
];

function semverManifests(): Record<string, unknown>[] {
  return SEMVER_RELEASES.map(([version, , evidence]) => ({
    name: 'semver', version,
    dist: { integrity: `sha512-${Buffer.from(version).toString('base64')}`, signatures: [{ keyid: 'SHA256:k', sig: 'MEUC' }], ...(evidence === 'provenance' ? { attestations: PROVENANCE } : {}) },
    _npmUser: evidence === 'trusted' ? TRUSTED : { name: 'isaacs', email: 'i@izs.me' },
  }));
}

function semverPackument(): Record<string, unknown> {
  const time: Record<string, string> = { created: '2011-01-01T00:00:00.000Z' };
  for (const [version, at] of SEMVER_RELEASES) if (at) time[version] = at;
  return { name: 'semver', versions: Object.fromEntries(semverManifests().map((m) => [m.version as string, m])), time };
}

test('evidence ranks trusted publisher > provenance > none, as read from the packument', () => {
  const history = extractPublishHistory(semverPackument(), 'https://registry.npmjs.org/', Date.now());
  assert.equal(history.versions.size, SEMVER_RELEASES.length);
  assert.equal(trustEvidenceOf(history.versions.get('7.7.0')!), 'trusted-publisher');
  assert.equal(trustEvidenceOf(history.versions.get('7.5.4')!), 'provenance');
  assert.equal(trustEvidenceOf(history.versions.get('6.3.1')!), 'none');
  assert.equal(history.versions.get('9.0.0')!.publishedAt, null);
});

test('semver@6.3.1: a downgrade for "any", not for "same-major"; true downgrades are caught by both', () => {
  const { versions } = extractPublishHistory(semverPackument(), 'https://registry.npmjs.org/', Date.now());
  const any = detectDowngrade(versions, '6.3.1', 'any');
  assert.deepEqual(any.downgrade, { from: '7.5.4', evidence: 'provenance', publishedAt: '2023-07-07T21:10:32.000Z' });
  assert.equal(detectDowngrade(versions, '6.3.1', 'same-major').downgrade, null);
  assert.equal(detectDowngrade(versions, '5.7.2', 'same-major').downgrade, null);
  assert.equal(detectDowngrade(versions, '6.3.1', 'off').downgrade, null);
  for (const policy of ['any', 'same-major'] as const) {
    assert.deepEqual(detectDowngrade(versions, '7.6.1', policy).downgrade?.from, '7.6.0', policy);
    // The strongest earlier evidence wins, even over a more recent weaker one.
    assert.deepEqual(detectDowngrade(versions, '7.7.1', policy).downgrade, { from: '7.7.0', evidence: 'trusted-publisher', publishedAt: '2025-02-01T10:00:00.000Z' });
    assert.equal(detectDowngrade(versions, '7.6.0', policy).downgrade, null, 'provenance after provenance');
    assert.equal(detectDowngrade(versions, '7.5.2', policy).downgrade, null, 'the first provenance release');
  }
  // Earlier-published, not lower-numbered: 7.5.4 came before 6.3.1, 7.6.0 did not come before 7.5.4.
  assert.equal(detectDowngrade(versions, '7.5.4', 'any').downgrade, null);
});

test('prereleases never count against a stable version, but do against a prerelease', () => {
  const { versions } = extractPublishHistory(semverPackument(), 'https://registry.npmjs.org/', Date.now());
  // 8.0.0: the trusted 8.0.0-beta.1 does not count; under "any" the 7.x trusted publish does.
  assert.equal(detectDowngrade(versions, '8.0.0', 'same-major').downgrade, null);
  assert.equal(detectDowngrade(versions, '8.0.0', 'any').downgrade?.from, '7.7.0');
  assert.deepEqual(detectDowngrade(versions, '8.0.0-beta.2', 'same-major').downgrade?.from, '8.0.0-beta.1');
});

test('a missing publish time is said, not guessed', () => {
  const { versions } = extractPublishHistory(semverPackument(), 'https://registry.npmjs.org/', Date.now());
  const check = detectDowngrade(versions, '9.0.0', 'any');
  assert.equal(check.downgrade, null);
  assert.match(check.note!, /publish time of 9.0.0 missing: trust downgrade not checked/);
  assert.match(detectDowngrade(versions, '10.0.0', 'any').note!, /does not list 10.0.0/);
  const age = releaseAge(null, new Date(), 1440);
  assert.deepEqual([age.ageMinutes, age.tooYoung], [null, false]);
  assert.match(age.note!, /publish time missing \(the registry sent no `time` for this version\): release age not checked/);
});

test('release age against a minimum in minutes', () => {
  const now = new Date('2025-06-01T12:00:00.000Z');
  const young = releaseAge('2025-06-01T11:30:00.000Z', now, 1440);
  assert.deepEqual([young.ageMinutes, young.tooYoung], [30, true]);
  assert.match(young.note!, /published 30 minutes ago, younger than the minimum release age of 1 day/);
  const old = releaseAge('2025-05-29T12:00:00.000Z', now, 1440);
  assert.deepEqual([old.ageMinutes, old.tooYoung, old.note], [4320, false, null]);
  assert.equal(releaseAge('2025-06-01T11:30:00.000Z', now, null).tooYoung, false, 'no minimum, never too young');
  assert.equal(releaseAge('2025-06-01T11:30:00.000Z', now, 30).tooYoung, false, 'exactly the minimum is old enough');
  assert.equal(describeMinutes(4 * 1440 + 125), '4 days 2 hours');
});

test('through the registry: downgrades and release age become findings; histories are cached', async () => {
  const time = Object.fromEntries(SEMVER_RELEASES.filter(([, at]) => at).map(([v, at]) => [v, at!]));
  time['7.7.1'] = '2025-05-31T23:00:00.000Z'; // young on the run's clock below
  time['9.0.0'] = ''; // the loopback registry would make one up; an empty one is no time at all
  const reg = await startLoopbackRegistry({ manifests: semverManifests(), time: { semver: time } });
  const { dir, config } = await loopbackConfig(reg.url);
  const cacheDir = await mkdtemp(join(tmpdir(), 'ig-trust-'));
  try {
    const locked = ['6.3.1', '7.6.1', '7.7.1', '9.0.0'].map((version) => ({ name: 'semver', version }));
    const run = async (policy: 'any' | 'same-major', offline = false) => {
      const metadata = new MetadataClient({ config, cacheDir, offline });
      const reports = await reportsFrom(metadata, locked);
      const options = { downgradePolicy: policy, minimumReleaseAgeMinutes: 1440, now: new Date('2025-06-01T12:00:00.000Z'), tufRefresh: false };
      const facts = await assessProvenance(reports, { config, metadata, cacheDir, offline, options });
      await metadata.flush();
      const findingsWith = (extra: Omit<Parameters<typeof provenanceFindings>[2], 'lockfile'> = {}) =>
        provenanceFindings(reports, facts, { lockfile: join(dir, 'package-lock.json'), minimumReleaseAgeMinutes: 1440, ...extra })
          .filter((f) => f.code === 'trust-downgrade' || f.code === 'release-too-young');
      return { facts, findings: findingsWith(), findingsWith };
    };
    const any = await run('any');
    assert.deepEqual(any.findings.map((f) => `${f.code} ${f.package!.version}`).sort(), [
      'release-too-young 7.7.1', 'trust-downgrade 6.3.1', 'trust-downgrade 7.6.1', 'trust-downgrade 7.7.1',
    ]);
    const t = any.findings.find((f) => f.package!.version === '7.7.1' && f.code === 'trust-downgrade')!;
    assert.equal(t.severity, 'warning');
    assert.match(t.message, /semver@7.7.1 was published with provenance, but 7.7.0, published before it, had a trusted publisher/);
    assert.deepEqual(any.facts.get('semver@7.6.1')!.downgrade, { from: '7.6.0', evidence: 'provenance', publishedAt: '2024-01-31T21:00:00.000Z' });
    assert.equal(any.facts.get('semver@7.7.1')!.ageMinutes, 13 * 60);
    assert.match(any.facts.get('semver@9.0.0')!.reason!, /publish time of 9.0.0 missing/);
    assert.match(any.facts.get('semver@9.0.0')!.reason!, /release age not checked/);
    assert.equal(any.facts.get('semver@7.7.0'), undefined, 'only locked versions are assessed');
    assert.match(provenanceSummary(any.facts), /^audited 4 registry packages: .* 3 trust downgrades$/);
    // pnpm's exclude lists: a name pattern, or exact versions.
    const excluded = any.findingsWith({ trustDowngradeExclude: ['semver@6.3.1 || 7.6.1'], minimumReleaseAgeExclude: ['sem*'] });
    assert.deepEqual(excluded.map((f) => `${f.code} ${f.package!.version}`), ['trust-downgrade 7.7.1']);

    const history = await readFile(join(cacheDir, HISTORY_FILE), 'utf8');
    assert.match(history.split('\n')[1]!, new RegExp(`^${reg.url.replace(/[.]/g, '\\.')} semver\\t\\{"f":\\d+,"v":\\{`));
    // Same major only: the maintenance release is no longer flagged. Offline: the history comes from the cache.
    const requestsBefore = reg.requests.length;
    const sameMajor = await run('same-major', true);
    assert.deepEqual(sameMajor.findings.map((f) => `${f.code} ${f.package!.version}`).sort(), [
      'release-too-young 7.7.1', 'trust-downgrade 7.6.1', 'trust-downgrade 7.7.1',
    ]);
    assert.deepEqual(reg.requests.slice(requestsBefore), [], 'offline run used the cached facts and history');
  } finally {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  }
});

test('package selectors: name patterns with optional exact versions', () => {
  const sel = (s: string) => packageSelector(s);
  assert.ok(sel('@org/*')('@org/a', '1.0.0'));
  assert.ok(!sel('@org/*')('@other/a', '1.0.0'));
  assert.ok(sel('nx@21.6.4 || 21.6.5')('nx', '21.6.5'));
  assert.ok(!sel('nx@21.6.4 || 21.6.5')('nx', '21.6.6'));
  assert.ok(sel('@scope/pkg@1.0.0')('@scope/pkg', '1.0.0'));
  assert.ok(!sel('@scope/pkg@1.0.0')('@scope/pkg', '1.0.1'));
  assert.ok(sel('*')('anything', '0.0.1'));
  assert.ok(!sel('a.b')('axb', '1.0.0'), 'a dot is a dot');
});

test('a cached history is used only while fresh and while it lists the asked version', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ig-hist-'));
  try {
    const cache = await PublishHistoryCache.open(dir, 60_000);
    const history = extractPublishHistory(semverPackument(), 'https://r.example/', Date.now());
    cache.set(history);
    await cache.flush();
    const reopened = await PublishHistoryCache.open(dir, 60_000);
    const got = reopened.get('https://r.example/', 'semver', '7.7.0');
    assert.ok(got);
    assert.deepEqual(got.versions.get('7.7.0'), history.versions.get('7.7.0'));
    assert.equal(reopened.get('https://r.example/', 'semver', '99.0.0'), undefined, 'a version published after the history was read');
    assert.equal(reopened.get('https://r.example/', 'semver', '7.7.0', Date.now() + 120_000), undefined, 'stale');
    assert.equal(reopened.get('https://other.example/', 'semver', '7.7.0'), undefined, 'per registry');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
