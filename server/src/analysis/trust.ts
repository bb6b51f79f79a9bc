/**
 * Trust evidence, trust downgrades and release age — pure functions over publish facts.
 *
 * Evidence ranks as pnpm's `trustPolicy: no-downgrade` ranks it: a trusted publisher
 * (`_npmUser.trustedPublisher`, an OIDC publish from CI) above provenance
 * (`dist.attestations.provenance`) above none. A version is a trust downgrade when a
 * version published before it (by `time`) had stronger evidence: the usual trace of a
 * stolen token publishing from a laptop where CI used to publish.
 *
 * Policies: 'off'; 'any' (every earlier version counts, pnpm's rule); 'same-major' (only
 * earlier versions of the same major). pnpm's rule misfires on maintenance lines: semver
 * 6.3.1 was published from a laptop after 7.x had provenance, and it is no takeover.
 * Prereleases never count against a stable version (a canary built in CI says nothing
 * about how stable releases are published).
 */
import semver from 'semver';
import type { PublishedVersion } from '../registry/publishHistory';

export type TrustEvidence = 'trusted-publisher' | 'provenance' | 'none';
export type DowngradePolicy = 'off' | 'any' | 'same-major';

const RANK: Record<TrustEvidence, number> = { none: 0, provenance: 1, 'trusted-publisher': 2 };

export function trustEvidenceOf(v: Pick<PublishedVersion, 'trustedPublisher' | 'provenance'>): TrustEvidence {
  return v.trustedPublisher ? 'trusted-publisher' : v.provenance ? 'provenance' : 'none';
}

export function strongerThan(a: TrustEvidence, b: TrustEvidence): boolean {
  return RANK[a] > RANK[b];
}

export interface Downgrade {
  /** The earlier-published version that had stronger evidence. */
  from: string;
  evidence: TrustEvidence;
  publishedAt: string;
}

export interface DowngradeCheck {
  downgrade: Downgrade | null;
  /** Why the check could not be made, or was not; null when it was made. */
  note: string | null;
}

/**
 * Whether `version` is a trust downgrade within `history` (every version of the package,
 * with publish times). Among several earlier versions with the strongest evidence, the
 * most recently published one is named: the release the user most likely upgraded from.
 */
export function detectDowngrade(
  history: ReadonlyMap<string, PublishedVersion>,
  version: string,
  policy: DowngradePolicy,
  current?: Pick<PublishedVersion, 'trustedPublisher' | 'provenance' | 'publishedAt'>,
): DowngradeCheck {
  if (policy === 'off') return { downgrade: null, note: null };
  const self = current ?? history.get(version);
  if (!self) return { downgrade: null, note: `the registry's history of this package does not list ${version}` };
  const mine = Date.parse(self.publishedAt ?? '');
  if (Number.isNaN(mine)) return { downgrade: null, note: `publish time of ${version} missing: trust downgrade not checked` };
  const evidence = trustEvidenceOf(self);
  if (evidence === 'trusted-publisher') return { downgrade: null, note: null };
  const parsed = semver.parse(version);
  const stable = parsed ? parsed.prerelease.length === 0 : true;

  let best: Downgrade | null = null;
  let bestAt = 0;
  for (const [other, facts] of history) {
    if (other === version) continue;
    const at = Date.parse(facts.publishedAt ?? '');
    if (Number.isNaN(at) || at >= mine) continue;
    const otherParsed = semver.parse(other);
    if (!otherParsed) continue;
    if (stable && otherParsed.prerelease.length > 0) continue;
    if (policy === 'same-major' && parsed && otherParsed.major !== parsed.major) continue;
    const theirs = trustEvidenceOf(facts);
    if (!strongerThan(theirs, evidence)) continue;
    if (!best || strongerThan(theirs, best.evidence) || (theirs === best.evidence && at > bestAt)) {
      best = { from: other, evidence: theirs, publishedAt: facts.publishedAt! };
      bestAt = at;
    }
  }
  return { downgrade: best, note: null };
}

export interface ReleaseAge {
  publishedAt: string | null;
  /** Whole minutes since publication at `now`; null when the publish time is missing. */
  ageMinutes: number | null;
  /** Younger than the minimum; false when there is no minimum or no publish time. */
  tooYoung: boolean;
  note: string | null;
}

/** Release age against a minimum in minutes (null or 0: no minimum), as pnpm's minimumReleaseAge. */
export function releaseAge(publishedAt: string | null, now: Date, minimumMinutes: number | null): ReleaseAge {
  const at = Date.parse(publishedAt ?? '');
  if (Number.isNaN(at)) {
    return {
      publishedAt: null,
      ageMinutes: null,
      tooYoung: false,
      note: minimumMinutes ? 'publish time missing (the registry sent no `time` for this version): release age not checked' : 'publish time missing',
    };
  }
  const ageMinutes = Math.floor((now.getTime() - at) / 60_000);
  const tooYoung = !!minimumMinutes && minimumMinutes > 0 && ageMinutes < minimumMinutes;
  return {
    publishedAt,
    ageMinutes,
    tooYoung,
    note: tooYoung ? `published ${describeMinutes(Math.max(ageMinutes, 0))} ago, younger than the minimum release age of ${describeMinutes(minimumMinutes!)}` : null,
  };
}

/** "3 days 4 hours", "25 minutes". */
export function describeMinutes(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts = [
    days ? `${days} day${days === 1 ? '' : 's'}` : '',
    hours ? `${hours} hour${hours === 1 ? '' : 's'}` : '',
    !days && mins ? `${mins} minute${mins === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(' ') : '0 minutes';
}

/** "a trusted publisher", "provenance", or neither, for messages. */
export function evidenceText(evidence: TrustEvidence): string {
  return evidence === 'trusted-publisher' ? 'a trusted publisher' : evidence === 'provenance' ? 'provenance' : 'neither trusted publisher nor provenance';
}
