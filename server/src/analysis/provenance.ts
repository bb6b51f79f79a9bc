/**
 * How far the origin of each locked registry version can be trusted, in one record per
 * version: registry signature, provenance attestation (with the repository, commit, ref,
 * workflow and builder it names), trust evidence and downgrade, release age — plus the
 * findings these produce (provenanceFindings.ts).
 *
 * Never fails as a whole: a registry without keys, a hanging attestations endpoint or a
 * forged bundle each end up as a state with a reason on that one package. Only the
 * configured registry is contacted (and the Sigstore TUF repository when the caller allows).
 * Final verdicts are cached with the version's facts, so a warm audit verifies nothing.
 */
import { versionKey } from '../model/inventory';
import {
  attestationsUrl, fetchAttestations, verifyAttestations, type AttestationResult, type AttestationState,
} from '../registry/attestations';
import type { RegistryConfig } from '../registry/npmConfig';
import type { PublishHistory } from '../registry/publishHistory';
import { RegistryKeyStore } from '../registry/registryKeys';
import { verifyRegistrySignatures, type SignatureResult, type SignatureState } from '../registry/signatures';
import { loadTrustedRoot, type TrustedRootInfo } from '../registry/trustedRoot';
import { integrityAgrees, type VerificationRecord, type VersionFacts } from '../registry/versionFacts';
import type { PackageReport } from './audit';
import { forEachLimited } from './forEachLimited';
import { detectDowngrade, evidenceText, releaseAge, trustEvidenceOf, type DowngradePolicy, type TrustEvidence } from './trust';

export interface ProvenanceFacts {
  signature: SignatureState;
  attestation: AttestationState;
  repository: string | null;
  commit: string | null;
  ref: string | null;
  workflow: string | null;
  builder: string | null;
  publishedAt: string | null;
  /** The trusted publisher's provider (e.g. "github") when the version was published through one. */
  trustedPublisher: string | null;
  trust: TrustEvidence;
  downgrade: null | { from: string; evidence: TrustEvidence; publishedAt: string };
  ageMinutes: number | null;
  /** Why a state is not "verified" (and what could not be checked); null when everything verified. */
  reason: string | null;
  /** The reason of each state on its own (the signature's and attestation's also when verified). */
  details: { signature: string; attestation: string; notes: string[] };
  /** The Sigstore root keyless provenance was checked against; null when none was checked. */
  trustedRoot: string | null;
}

export interface ProvenanceOptions {
  downgradePolicy: DowngradePolicy;
  /** null or 0: no minimum. */
  minimumReleaseAgeMinutes: number | null;
  now: Date;
  /** Refresh the Sigstore trusted root through TUF (the CLI: true; tests: false). */
  tufRefresh: boolean;
  timeoutMs?: number;
  retries?: number;
}

/** What provenance needs of the registry layer; registry/metadataClient's MetadataClient is one. */
export interface ProvenanceMetadata {
  publishHistory(name: string, version: string): Promise<PublishHistory | null>;
  recordVerification(facts: VersionFacts, verification: VerificationRecord): VersionFacts;
}

export interface ProvenanceDeps {
  config: RegistryConfig;
  metadata: ProvenanceMetadata;
  /** For the TUF metadata and the last refreshed trusted root; null: embedded root only. */
  cacheDir: string | null;
  offline?: boolean;
  options: ProvenanceOptions;
  /** Registry keys kept across runs (the editor's per project, the CLI's per run); absent: a store with the default TTL. */
  keys?: RegistryKeyStore;
}

interface RunContext {
  deps: ProvenanceDeps;
  keys: RegistryKeyStore;
  root: () => Promise<TrustedRootInfo>;
  texts: ReasonTexts;
}

/** What provenance reads of an audit's PackageReport (any PackageReport is one). */
export type ProvenanceSubject = Pick<PackageReport, 'name' | 'version' | 'source' | 'integrity' | 'registryFacts' | 'error' | 'entries'>;

/** One ProvenanceFacts per registry package, keyed by `versionKey(name, version)`. */
export async function assessProvenance(reports: readonly ProvenanceSubject[], deps: ProvenanceDeps): Promise<Map<string, ProvenanceFacts>> {
  const offline = deps.offline ?? deps.config.offline;
  let root: Promise<TrustedRootInfo> | null = null;
  const ctx: RunContext = {
    deps,
    keys:
      deps.keys ??
      new RegistryKeyStore({
        config: deps.config,
        offline,
        cacheDir: deps.cacheDir,
        ...(deps.options.timeoutMs ? { timeoutMs: deps.options.timeoutMs } : {}),
        ...(deps.options.retries !== undefined ? { retries: deps.options.retries } : {}),
      }),
    // Only a run with a bundle to verify loads the root (and maybe asks TUF), once.
    root: () => (root ??= loadTrustedRoot({ cacheDir: deps.cacheDir, tufRefresh: deps.options.tufRefresh && !offline })),
    texts: new ReasonTexts(),
  };
  const registryReports = reports.filter((r) => r.source === 'registry');
  // A TUF refresh may take its whole timeout: start it now, beside the first attestation requests.
  if (registryReports.some((r) => r.registryFacts?.attestations && !r.registryFacts.verification?.attestation)) ctx.root().catch(() => {});
  const results = new Map<string, ProvenanceFacts>();
  const memoKey = assessmentKey(deps, offline);
  // Per keys store: the editor keeps one per registry client; a one-shot run has its own.
  let assessed = assessedByKeys.get(ctx.keys);
  if (!assessed) assessedByKeys.set(ctx.keys, (assessed = new WeakMap()));
  const toAssess: ProvenanceSubject[] = [];
  for (const report of registryReports) {
    const memo = report.registryFacts ? assessed.get(report.registryFacts) : undefined;
    if (memo && memo.key === memoKey && memo.integrity === report.integrity) {
      results.set(versionKey(report.name, report.version), memo.facts);
    } else toAssess.push(report);
  }
  const record = (report: ProvenanceSubject, facts: ProvenanceFacts): void => {
    if (report.registryFacts && isSettled(report.registryFacts, facts)) {
      assessed!.set(report.registryFacts, { key: memoKey, integrity: report.integrity, facts });
    }
    results.set(versionKey(report.name, report.version), facts);
  };
  // A bug or an unexpected answer costs this one package its facts, never the audit.
  const failed = (err: unknown) => unavailable(`provenance could not be assessed: ${(err as Error)?.message ?? String(err)}`);
  // Each registry's keys once, before the versions: then most are assessed without waiting.
  const registries = new Set(toAssess.filter((r) => r.registryFacts && !verificationOf(r.registryFacts)?.signature).map((r) => deps.config.registryFor(r.name)));
  await Promise.all([...registries].map((registry) => ctx.keys.get(registry).catch(() => undefined)));
  // Only versions with registry facts ever wait: assessAtHand answers for the others.
  const waiting: { report: ProvenanceSubject; facts: VersionFacts }[] = [];
  for (const report of toAssess) {
    let facts: ProvenanceFacts | null;
    try {
      facts = assessAtHand(report, ctx);
    } catch (err) {
      facts = failed(err);
    }
    if (facts) record(report, facts);
    else waiting.push({ report, facts: report.registryFacts! });
  }
  await forEachLimited(waiting, ATTESTATION_CONCURRENCY, async ({ report, facts: versionFacts }) => {
    let facts: ProvenanceFacts;
    try {
      facts = await assessLater(report, versionFacts, ctx);
    } catch (err) {
      facts = failed(err);
    }
    record(report, facts);
  });
  return results;
}

/**
 * Assessments by the facts they were made from: the editor assesses the same versions
 * after every edit, and a version's verdicts change only with its facts (a new object when
 * a verdict is recorded), the options, or the minute (its age).
 */
/** Attestation requests and verifications in flight at once. */
const ATTESTATION_CONCURRENCY = 16;

const assessedByKeys = new WeakMap<RegistryKeyStore, WeakMap<VersionFacts, { key: string; integrity: string | null; facts: ProvenanceFacts }>>();

function assessmentKey(deps: ProvenanceDeps, offline: boolean): string {
  const { options } = deps;
  return [options.downgradePolicy, options.minimumReleaseAgeMinutes, Math.floor(options.now.getTime() / 60_000), offline].join('|');
}

/** Nothing in it may change on another try: no attestation left to fetch, no history missing. */
function isSettled(facts: VersionFacts, result: ProvenanceFacts): boolean {
  const attestationFinal = !facts.attestations || result.attestation === 'verified' || result.attestation === 'invalid';
  return attestationFinal && !result.details.notes.some((note) => note.startsWith(HISTORY_UNAVAILABLE));
}

/**
 * What a version's verdicts are made from. Gathered at once when everything is at hand (the
 * registry's keys already read, no attestation to fetch, no publish history to read): a
 * warm audit then assesses 5k versions without a promise each.
 */
interface Gathered {
  signature: SignatureResult;
  attestation: AttestationResult;
  trustedRoot: string | null;
  /** undefined: not needed (downgrade checks off); null: unavailable. */
  history: PublishHistory | null | undefined;
}

/** The version's facts when everything they need is at hand; null when something must be awaited. */
function assessAtHand(report: ProvenanceSubject, ctx: RunContext): ProvenanceFacts | null {
  const facts = report.registryFacts;
  if (!facts) return unavailable(`registry metadata unavailable${report.error ? `: ${report.error}` : ''}`);
  const cached = verificationOf(facts);
  const now = gatherAtHand(report, facts, cached, ctx);
  return now && conclude(report, facts, cached, now, ctx);
}

/** The version's facts once what they need has arrived (keys, attestations, publish history). */
async function assessLater(report: ProvenanceSubject, facts: VersionFacts, ctx: RunContext): Promise<ProvenanceFacts> {
  const cached = verificationOf(facts);
  return conclude(report, facts, cached, await gather(report, facts, cached, ctx), ctx);
}

/** Verdicts kept with the facts, while they are about the same tarball. */
function verificationOf(facts: VersionFacts): VerificationRecord | null {
  return facts.integrity && facts.verification?.integrity === facts.integrity ? facts.verification : null;
}

function gatherAtHand(report: ProvenanceSubject, facts: VersionFacts, cached: VerificationRecord | null, ctx: RunContext): Gathered | null {
  if (ctx.deps.options.downgradePolicy !== 'off') return null;
  const attestation = attestationAtHand(facts, cached, ctx.deps);
  if (!attestation) return null;
  let signature = cachedSignature(cached);
  if (!signature) {
    const keys = ctx.keys.peek(ctx.deps.config.registryFor(report.name), signatureKeyIds(facts));
    if (!keys) return null;
    signature = verifyRegistrySignatures(facts, keys);
  }
  return { signature, ...attestation, history: undefined };
}

async function gather(report: ProvenanceSubject, facts: VersionFacts, cached: VerificationRecord | null, ctx: RunContext): Promise<Gathered> {
  const { deps } = ctx;
  const { options, config } = deps;
  const registry = config.registryFor(report.name);
  const signature = cachedSignature(cached) ?? verifyRegistrySignatures(facts, await ctx.keys.get(registry, signatureKeyIds(facts)));
  let found = attestationAtHand(facts, cached, deps);
  if (!found) {
    const url = attestationsUrl(config, report.name, report.version);
    const fetched = await fetchAttestations(url, config, options.timeoutMs ?? 30_000, options.retries ?? config.fetchRetries);
    if (!fetched.ok) {
      found = { attestation: { state: 'unverifiable', reason: `the packument lists attestations but ${fetched.reason}`, evidence: null, bundles: [] }, trustedRoot: null };
    } else {
      const [rootInfo, keys] = await Promise.all([ctx.root(), ctx.keys.get(registry)]);
      let attestation = verifyAttestations(fetched.body, { name: report.name, version: report.version, integrities: [facts.integrity, report.integrity] }, { root: rootInfo, keys });
      if (rootInfo.note && attestation.state !== 'absent') attestation = { ...attestation, reason: `${attestation.reason} — ${rootInfo.note}` };
      found = { attestation, trustedRoot: rootInfo.label };
    }
  }
  const history = options.downgradePolicy !== 'off' ? await deps.metadata.publishHistory(report.name, report.version) : undefined;
  return { signature, ...found, history };
}

function cachedSignature(cached: VerificationRecord | null): SignatureResult | null {
  return cached?.signature ? { state: cached.signature.state, reason: cached.signature.reason, keyid: cached.signature.keyid } : null;
}

function signatureKeyIds(facts: VersionFacts): string[] {
  return (facts.signatures ?? []).map((s) => s.keyid);
}

/** The attestation verdict when no bundle needs fetching (cached, none listed, checks off, offline); null otherwise. */
function attestationAtHand(facts: VersionFacts, cached: VerificationRecord | null, deps: ProvenanceDeps): { attestation: AttestationResult; trustedRoot: string | null } | null {
  const unverifiable = (reason: string) => ({ attestation: { state: 'unverifiable' as const, reason, evidence: null, bundles: [] }, trustedRoot: null });
  if (cached?.attestation) {
    const { state, reason, evidence, trustedRoot } = cached.attestation;
    return { attestation: { state, reason, evidence, bundles: [] }, trustedRoot };
  }
  if (!facts.attestations) {
    return facts.signatures && facts.signatures.length > 0
      ? { attestation: { state: 'absent', reason: 'published without provenance', evidence: null, bundles: [] }, trustedRoot: null }
      // No signatures either: a proxy that strips dist fields looks exactly like this.
      : unverifiable('the registry sends neither signatures nor attestations (a proxy that strips them?): provenance unknown');
  }
  if (deps.offline ?? deps.config.offline) return unverifiable('offline: the attestations were not fetched');
  return null;
}

function conclude(report: ProvenanceSubject, facts: VersionFacts, cached: VerificationRecord | null, gathered: Gathered, ctx: RunContext): ProvenanceFacts {
  const { deps, texts } = ctx;
  const { options } = deps;
  const { signature, attestation, trustedRoot, history } = gathered;
  remember(deps.metadata, facts, report, cached, signature, attestation, trustedRoot);

  const tp = facts.npmUser?.trustedPublisher ?? null;
  const current = { trustedPublisher: !!tp, provenance: !!facts.attestations?.provenance, publishedAt: facts.publishedAt };
  const trust = trustEvidenceOf(current);
  const notes: string[] = [];
  let downgrade: ProvenanceFacts['downgrade'] = null;
  if (history === null) notes.push(`${HISTORY_UNAVAILABLE}: trust downgrade not checked`);
  else if (history) {
    const check = detectDowngrade(history.versions, report.version, options.downgradePolicy, current);
    downgrade = check.downgrade;
    if (check.note) notes.push(check.note);
  }
  const age = releaseAge(facts.publishedAt, options.now, options.minimumReleaseAgeMinutes);
  if (age.note && (options.minimumReleaseAgeMinutes || !facts.publishedAt)) notes.push(age.note);

  const extras = downgrade
    ? [`trust downgrade: ${downgrade.from} (published ${downgrade.publishedAt}) had ${evidenceText(downgrade.evidence)}, this version has ${evidenceText(trust)}`, ...notes]
    : notes;
  const e = attestation.evidence;
  return {
    signature: signature.state,
    attestation: attestation.state,
    repository: e?.repository ?? null,
    commit: e?.commit ?? null,
    ref: e?.ref ?? null,
    workflow: e?.workflow ?? null,
    builder: e?.builder ?? null,
    publishedAt: facts.publishedAt,
    trustedPublisher: tp ? (tp.id ?? Object.values(tp)[0] ?? 'yes') : null,
    trust,
    downgrade,
    ageMinutes: age.ageMinutes,
    reason: texts.reason(signature, attestation, extras),
    details: { signature: texts.shared(signature.reason), attestation: texts.shared(attestation.reason), notes: notes.length ? notes : NO_NOTES },
    trustedRoot,
  };
}

/**
 * Caches new final verdicts with the facts (beside any cached before); never verdicts a
 * later run could improve (unverifiable, missing...), nor ones reached against a lockfile
 * integrity that is not the registry's.
 */
function remember(
  metadata: ProvenanceMetadata, facts: VersionFacts, report: ProvenanceSubject, cached: VerificationRecord | null,
  signature: SignatureResult, attestation: AttestationResult, trustedRoot: string | null,
): void {
  if (!facts.integrity) return;
  if (report.integrity && !integrityAgrees(report.integrity, facts)) return;
  const final = (s: string): s is 'verified' | 'invalid' => s === 'verified' || s === 'invalid';
  const sig = !cached?.signature && final(signature.state) ? { state: signature.state, reason: signature.reason, keyid: signature.keyid } : null;
  const att = !cached?.attestation && final(attestation.state)
    ? { state: attestation.state, reason: attestation.reason, evidence: attestation.evidence, trustedRoot }
    : null;
  if (!sig && !att) return;
  metadata.recordVerification(facts, {
    integrity: facts.integrity,
    signature: sig ?? cached?.signature ?? null,
    attestation: att ?? cached?.attestation ?? null,
  });
}

function unavailable(reason: string): ProvenanceFacts {
  return {
    signature: 'unverifiable', attestation: 'unverifiable', repository: null, commit: null, ref: null, workflow: null,
    builder: null, publishedAt: null, trustedPublisher: null, trust: 'none', downgrade: null, ageMinutes: null, reason,
    details: { signature: reason, attestation: reason, notes: NO_NOTES }, trustedRoot: null,
  };
}


const HISTORY_UNAVAILABLE = 'publish history unavailable';

/**
 * One copy of each reason text per run: thousands of versions behind one registry share
 * their reasons word for word (no keys, no provenance), and as a new string each they were
 * 10 MB of a 20k-package audit through a proxy that strips signatures.
 */
class ReasonTexts {
  private readonly texts = new Map<string, string>();
  /** Whole reasons by the signature's and the attestation's own, for versions with nothing else to say. */
  private readonly joined = new Map<string, Map<string, { signature: string; attestation: string; text: string | null }>>();

  shared(text: string): string {
    const known = this.texts.get(text);
    if (known !== undefined) return known;
    this.texts.set(text, text);
    return text;
  }

  /** Why a state is not "verified", then the downgrade and the notes; null when there is nothing to say. */
  reason(signature: Pick<SignatureResult, 'state' | 'reason'>, attestation: Pick<AttestationResult, 'state' | 'reason'>, extras: readonly string[]): string | null {
    // Most versions: nothing but the two states, whose reason strings are shared objects,
    // so the lookup costs no hashing of a joined text.
    const byAttestation = extras.length === 0 ? this.joined.get(signature.reason) : undefined;
    const known = byAttestation?.get(attestation.reason);
    if (known && known.signature === signature.state && known.attestation === attestation.state) return known.text;
    const parts = [
      signature.state !== 'verified' ? `signature ${signature.state}: ${signature.reason}` : null,
      attestation.state !== 'verified' ? `provenance ${attestation.state}: ${attestation.reason}` : null,
      ...extras,
    ].filter((r): r is string => !!r);
    const text = parts.length ? this.shared(parts.join('; ')) : null;
    if (extras.length === 0) {
      let map = this.joined.get(signature.reason);
      if (!map) this.joined.set(signature.reason, (map = new Map()));
      map.set(attestation.reason, { signature: signature.state, attestation: attestation.state, text });
    }
    return text;
  }
}

/** Shared by every version without notes (most), instead of an empty array each; nothing adds to it. */
const NO_NOTES: string[] = [];
