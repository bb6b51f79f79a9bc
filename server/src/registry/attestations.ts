/**
 * Provenance attestations: the Sigstore bundles the registry serves at
 * `/-/npm/v1/attestations/<name>@<version>` — SLSA provenance (v0.2 or v1, keyless: a
 * Fulcio certificate and a Rekor entry) and the registry's own publish attestation (signed
 * with the registry's key from `/-/npm/v1/keys`).
 *
 * The URL is always built on the CONFIGURED registry for the package: the packument's
 * `dist.attestations.url` only says that attestations exist. A packument naming another
 * host must not make Install Guard talk to that host (or send it this registry's token).
 *
 * Every bundle is verified with @sigstore/verify against the trusted root (no network);
 * then its in-toto statement must name this package's purl with the tarball's sha512, and
 * what the certificate says about the build must agree with what the predicate says.
 * Every check runs on every bundle, so one bad bundle never hides another problem.
 */
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { Verifier as VerifierType } from '@sigstore/verify';
import { certificateClaims, crossCheck, predicateClaims, type CertificateIdentity } from './buildClaims';
import { redactUrl } from './configDescribe';
import type { RegistryConfig } from './npmConfig';
import { keyValidAt, npmRegistryFetch, registryFetchOptions, type RegistryKeys } from './registryKeys';
import type { TrustedRootInfo } from './trustedRoot';
import type { ProvenanceEvidence } from './versionFacts';

export type AttestationState = 'verified' | 'invalid' | 'absent' | 'unverifiable';

export const PUBLISH_PREDICATE = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';
export const SLSA_PREDICATES = ['https://slsa.dev/provenance/v0.2', 'https://slsa.dev/provenance/v1'];
const IN_TOTO_PAYLOAD = 'application/vnd.in-toto+json';
const NO_DIGEST = 'no sha512 integrity is known for the tarball to compare the subject with';

export interface BundleOutcome {
  predicateType: string;
  state: 'verified' | 'invalid' | 'unverifiable';
  reason: string;
}

export interface AttestationResult {
  state: AttestationState;
  reason: string;
  /** From the verified SLSA provenance bundle; null when there is none. */
  evidence: ProvenanceEvidence | null;
  bundles: BundleOutcome[];
}

/** The package the attestations must be about. */
export interface AttestedPackage {
  name: string;
  version: string;
  /** Every integrity known for the tarball (registry's and lockfile's): each sha512 must be the subject's. */
  integrities: (string | null)[];
}

export interface AttestationTrust {
  root: TrustedRootInfo;
  /** The keys of the registry that serves the attestations (for the publish attestation). */
  keys: RegistryKeys;
}

/** `https://<configured registry>/-/npm/v1/attestations/@scope%2fname@1.0.0`, whatever the packument said. */
export function attestationsUrl(config: Pick<RegistryConfig, 'registryFor'>, name: string, version: string): string {
  return new URL(`-/npm/v1/attestations/${name.replace('/', '%2f')}@${encodeURIComponent(version)}`, config.registryFor(name)).href;
}

export type FetchedAttestations = { ok: true; body: unknown } | { ok: false; reason: string };

export async function fetchAttestations(url: string, config: RegistryConfig, timeoutMs: number, retries: number): Promise<FetchedAttestations> {
  const shown = redactUrl(url);
  try {
    return { ok: true, body: await npmRegistryFetch().json(url, registryFetchOptions(config, timeoutMs, retries)) };
  } catch (err) {
    const e = err as { statusCode?: number; code?: string; type?: string; message?: string };
    if (e.statusCode) return { ok: false, reason: `the registry answered ${e.statusCode} for ${shown}` };
    if (e.type === 'invalid-json') return { ok: false, reason: `${shown} is not JSON` };
    return { ok: false, reason: `could not fetch ${shown}: ${e.code ?? (e.message ?? String(err)).split('\n')[0]}` };
  }
}

/* eslint-disable @typescript-eslint/no-require-imports -- ~40 ms to load; only runs with bundles to verify pay for it */
const sigstoreVerify = () => require('@sigstore/verify') as typeof import('@sigstore/verify');
const sigstoreBundle = () => require('@sigstore/bundle') as typeof import('@sigstore/bundle');
/* eslint-enable @typescript-eslint/no-require-imports */

/** Trust material is costly to build (certificate parsing): one Verifier per root and key set. */
const verifiers = new WeakMap<TrustedRoot, WeakMap<RegistryKeys, VerifierType>>();

function verifierFor(trust: AttestationTrust): VerifierType {
  let byKeys = verifiers.get(trust.root.root);
  if (!byKeys) verifiers.set(trust.root.root, (byKeys = new WeakMap()));
  let verifier = byKeys.get(trust.keys);
  if (!verifier) {
    const { Verifier, toTrustMaterial } = sigstoreVerify();
    const keys = trust.keys.ok ? trust.keys.keys : [];
    const material = toTrustMaterial(trust.root.root, (hint: string) => {
      const key = keys.find((k) => k.keyid === hint);
      const publicKey = key?.publicKey;
      if (!key || !publicKey) throw Object.assign(new Error(`key not found: ${hint}`), { code: 'PUBLIC_KEY_ERROR' });
      return { publicKey, validFor: (when: Date) => keyValidAt(key, when) };
    });
    verifier = new Verifier(material);
    byKeys.set(trust.keys, verifier);
  }
  return verifier;
}

/** Verifies an attestations response (`{"attestations":[{predicateType, bundle}]}`); never throws. */
export function verifyAttestations(body: unknown, pkg: AttestedPackage, trust: AttestationTrust): AttestationResult {
  const list = (body as { attestations?: unknown } | null)?.attestations;
  if (!Array.isArray(list)) {
    return { state: 'unverifiable', reason: 'the attestations response is not an attestations document', evidence: null, bundles: [] };
  }
  if (list.length === 0) {
    return { state: 'unverifiable', reason: 'the registry lists attestations for this version but served none', evidence: null, bundles: [] };
  }
  const digests = sha512Hexes(pkg.integrities);
  let evidence: ProvenanceEvidence | null = null;
  const bundles: BundleOutcome[] = [];
  for (const entry of list) {
    const checked = verifyOne(entry, pkg, digests, trust);
    bundles.push(checked.outcome);
    if (checked.outcome.state === 'verified' && checked.evidence && !evidence) evidence = checked.evidence;
  }
  const describe = (state: BundleOutcome['state']): string =>
    bundles.filter((b) => b.state === state).map((b) => `${shortPredicate(b.predicateType)}: ${b.reason}`).join('; ');
  if (bundles.some((b) => b.state === 'invalid')) return { state: 'invalid', reason: describe('invalid'), evidence: null, bundles };
  if (bundles.some((b) => b.state === 'unverifiable')) return { state: 'unverifiable', reason: describe('unverifiable'), evidence, bundles };
  if (!evidence) {
    return { state: 'absent', reason: 'the registry serves only its publish attestation; there is no build provenance', evidence: null, bundles };
  }
  return { state: 'verified', reason: `${bundles.map((b) => shortPredicate(b.predicateType)).join(' + ')} verified (${trust.root.label})`, evidence, bundles };
}

function verifyOne(
  entry: unknown,
  pkg: AttestedPackage,
  digests: string[],
  trust: AttestationTrust,
): { outcome: BundleOutcome; evidence: ProvenanceEvidence | null } {
  const { predicateType: listed, bundle: json } = (entry ?? {}) as { predicateType?: unknown; bundle?: unknown };
  const predicateType = typeof listed === 'string' ? listed : '(no predicateType)';
  const out = (state: BundleOutcome['state'], reason: string, evidence: ProvenanceEvidence | null = null) =>
    ({ outcome: { predicateType, state, reason }, evidence });

  let bundle: ReturnType<ReturnType<typeof sigstoreBundle>['bundleFromJSON']>;
  try {
    bundle = sigstoreBundle().bundleFromJSON(json);
  } catch (err) {
    return out('invalid', `not a Sigstore bundle (${(err as Error).message})`);
  }
  if (bundle.content.$case !== 'dsseEnvelope') return out('invalid', 'the bundle signs a message, not an in-toto statement');
  const envelope = bundle.content.dsseEnvelope;

  const problems: string[] = [];
  // Trust material this root or registry lacks makes a bundle unverifiable, not forged.
  const missing = missingTrust(bundle, trust);
  if (missing) return out('unverifiable', missing);
  let identity: CertificateIdentity | undefined;
  try {
    const { toSignedEntity } = sigstoreVerify();
    identity = verifierFor(trust).verify(toSignedEntity(bundle)).identity as CertificateIdentity | undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    problems.push(`signature does not verify (${[e.code, e.message].filter(Boolean).join(': ')})`);
  }

  // The statement checks run whether or not the signature held, so every problem is told.
  let statement: { _type?: unknown; subject?: unknown; predicateType?: unknown; predicate?: unknown } = {};
  if (envelope.payloadType !== IN_TOTO_PAYLOAD) problems.push(`payload type is ${envelope.payloadType}, not an in-toto statement`);
  try {
    statement = JSON.parse(envelope.payload.toString('utf8')) as typeof statement;
  } catch {
    problems.push('the statement is not JSON');
  }
  if (typeof statement._type !== 'string' || !statement._type.startsWith('https://in-toto.io/Statement/')) {
    problems.push(`the payload is not an in-toto statement (_type ${String(statement._type)})`);
  }
  if (statement.predicateType !== predicateType) {
    problems.push(`the statement's predicateType ${String(statement.predicateType)} is not the listed ${predicateType}`);
  }
  problems.push(...subjectProblems(statement.subject, pkg, digests));

  let evidence: ProvenanceEvidence | null = null;
  if (predicateType === PUBLISH_PREDICATE) {
    // The registry's own statement: signed with its key, never with a CI certificate.
    if (bundle.verificationMaterial.content.$case !== 'publicKey') problems.push('the publish attestation is not signed with the registry\'s key');
    const p = (statement.predicate ?? {}) as { name?: unknown; version?: unknown };
    if (p.name !== pkg.name || p.version !== pkg.version) {
      problems.push(`the publish attestation is about ${String(p.name)}@${String(p.version)}`);
    }
  } else if (SLSA_PREDICATES.includes(predicateType)) {
    if (!identity && problems.length === 0) problems.push('provenance is not signed with a certificate');
    const checked = crossCheck(predicateType, certificateClaims(identity), predicateClaims(predicateType, statement.predicate));
    problems.push(...checked.conflicts);
    evidence = checked.evidence;
  }
  // Only the comparison was impossible (no sha512 known, e.g. a sha1-only lockfile): not a forgery.
  if (problems.length === 1 && digests.length === 0 && problems[0] === NO_DIGEST) return out('unverifiable', NO_DIGEST);
  return problems.length > 0 ? out('invalid', problems.join('; ')) : out('verified', 'verified', evidence);
}

/** Why the bundle cannot be checked with the trust material at hand; null when it can. */
function missingTrust(bundle: ReturnType<ReturnType<typeof sigstoreBundle>['bundleFromJSON']>, trust: AttestationTrust): string | null {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'publicKey') {
    const hint = material.publicKey.hint;
    if (!trust.keys.ok) return `signed with registry key ${hint}, but ${trust.keys.reason}`;
    if (!trust.keys.keys.some((k) => k.keyid === hint)) return `signed with key ${hint}, which the registry does not publish at /-/npm/v1/keys`;
  }
  const known = new Set(
    trust.root.root.tlogs.flatMap((t) => [t.logId?.keyId, t.checkpointKeyId?.keyId]).filter((k) => !!k).map((k) => Buffer.from(k!).toString('base64')),
  );
  for (const entry of bundle.verificationMaterial.tlogEntries) {
    const id = Buffer.from(entry.logId?.keyId ?? []).toString('base64');
    if (!known.has(id)) return `recorded in transparency log ${id}, which the trusted root (${trust.root.label}) does not know`;
  }
  return null;
}

function subjectProblems(subject: unknown, pkg: AttestedPackage, digests: string[]): string[] {
  const purl = packagePurl(pkg.name, pkg.version);
  const subjects = Array.isArray(subject) ? (subject as { name?: unknown; digest?: { sha512?: unknown } }[]) : [];
  const mine = subjects.find((s) => s?.name === purl);
  if (!mine) return [`the statement is about ${subjects.map((s) => String(s?.name)).join(', ') || 'nothing'}, not ${purl}`];
  const attested = typeof mine.digest?.sha512 === 'string' ? mine.digest.sha512.toLowerCase() : null;
  if (!attested) return ['the statement names no sha512 for the tarball'];
  if (digests.length === 0) return [NO_DIGEST];
  const wrong = digests.filter((d) => d !== attested);
  return wrong.length === 0
    ? []
    : [`the attested tarball sha512 ${attested.slice(0, 16)}… is not the integrity of this version (${wrong[0]!.slice(0, 16)}…)`];
}

/** The purl npm attests: `pkg:npm/%40scope/name@1.0.0` (as npm-package-arg's toPurl writes it). */
export function packagePurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

/** Hex sha512 digests of SRI strings ("sha512-<base64>", possibly several per string). */
export function sha512Hexes(integrities: (string | null)[]): string[] {
  const out = new Set<string>();
  for (const integrity of integrities) {
    for (const token of (integrity ?? '').trim().split(/\s+/)) {
      const m = /^sha512-([A-Za-z0-9+/=]+)/.exec(token);
      if (m) out.add(Buffer.from(m[1]!, 'base64').toString('hex'));
    }
  }
  return [...out];
}

function shortPredicate(type: string): string {
  if (type === PUBLISH_PREDICATE) return 'publish attestation';
  const slsa = /^https:\/\/slsa\.dev\/provenance\/(v[\d.]+)$/.exec(type);
  return slsa ? `SLSA ${slsa[1]} provenance` : type;
}
