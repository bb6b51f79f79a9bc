/**
 * The compact, immutable facts Install Guard keeps about one published version: only
 * what install-script, signature, provenance and release-age analysis read. A full
 * packument of a popular package is megabytes; these are a few hundred bytes, so the disk
 * cache can hold tens of thousands of them and load in milliseconds.
 */
import { isRecord } from '../parse/lockJson';

/** Scripts npm runs around install (and `prepare` for git/file/link dependencies). */
export const LIFECYCLE_SCRIPTS = ['preinstall', 'install', 'postinstall', 'preprepare', 'prepare', 'postprepare'] as const;
export type LifecycleScript = (typeof LIFECYCLE_SCRIPTS)[number];

export interface RegistrySignature {
  readonly keyid: string;
  readonly sig: string;
}

export interface AttestationsRef {
  readonly url: string;
  readonly provenance: { readonly predicateType: string } | null;
}

export interface NpmUser {
  readonly name: string;
  /** Set when the version was published through trusted publishing (OIDC), e.g. { id: "github" }. */
  readonly trustedPublisher: Readonly<Record<string, string>> | null;
}

export interface VersionFacts {
  readonly name: string;
  readonly version: string;
  /** Only the lifecycle scripts, with their exact text. */
  readonly scripts: Readonly<Partial<Record<LifecycleScript, string>>>;
  readonly gypfile: boolean | null;
  /** The registry's own `hasInstallScript` flag when the document carries it. */
  readonly hasInstallScript: boolean | null;
  /** `dist.integrity` exactly as published (the registry signs this string). */
  readonly integrity: string | null;
  /** `dist.shasum` (hex sha1), for lockfiles that only record sha1. */
  readonly shasum: string | null;
  readonly tarball: string | null;
  readonly signatures: readonly RegistrySignature[] | null;
  readonly attestations: AttestationsRef | null;
  /** `time[version]` of the packument. */
  readonly publishedAt: string | null;
  readonly npmUser: NpmUser | null;
  /** The repository as a plain https URL where it can be normalized. */
  readonly repository: string | null;
  readonly deprecated: string | null;
  /** The registry the facts came from, with a trailing slash. */
  readonly registry: string;
  /** Verdicts of verifying this version's signature and attestations, once reached (provenance.ts). */
  readonly verification?: VerificationRecord | null;
}

/**
 * Where provenance says a version was built, as read from a verified Sigstore bundle:
 * the Fulcio certificate's extensions first, the SLSA predicate where the certificate is silent.
 */
export interface ProvenanceEvidence {
  readonly repository: string | null;
  readonly commit: string | null;
  readonly ref: string | null;
  /** Path of the workflow that ran the build, e.g. `.github/workflows/release.yml`. */
  readonly workflow: string | null;
  readonly builder: string | null;
  readonly predicateType: string | null;
  /** The certificate's subject alternative name (the signing workflow identity). */
  readonly signer: string | null;
}

/** A verdict that cannot change for the same bytes, so it is cached with the facts. */
export interface CachedVerdict {
  readonly state: 'verified' | 'invalid';
  readonly reason: string;
}

/**
 * Only final verdicts are cached (verified / invalid). Missing keys, unreachable endpoints
 * or an outdated trusted root give answers that a later run may improve, so they are not.
 */
export interface VerificationRecord {
  /** The dist.integrity the verdicts are about: facts of another tarball never reuse them. */
  readonly integrity: string;
  readonly signature: (CachedVerdict & { readonly keyid: string | null }) | null;
  readonly attestation: (CachedVerdict & { readonly evidence: ProvenanceEvidence | null; readonly trustedRoot: string | null }) | null;
}

type Json = Record<string, unknown>;


function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Facts of `version` from a full packument; null when the packument does not list it. */
export function extractVersionFacts(packument: Json, version: string, registry: string): VersionFacts | null {
  const versions = isRecord(packument.versions) ? packument.versions : null;
  const manifest = versions && isRecord(versions[version]) ? (versions[version] as Json) : null;
  if (!manifest) return null;
  const time = isRecord(packument.time) ? packument.time : {};
  // Some registries leave name/version out of the version objects; the packument says them.
  const complete = typeof manifest.name === 'string' && typeof manifest.version === 'string'
    ? manifest
    : { ...manifest, name: manifest.name ?? packument.name, version: manifest.version ?? version };
  return factsFromManifest(complete, registry, str(time[version]));
}

/** The scripts of every version that has none (most): one frozen object, not one each. */
export const NO_SCRIPTS: VersionFacts['scripts'] = Object.freeze({});

export function factsFromManifest(manifest: Json, registry: string, publishedAt: string | null): VersionFacts {
  let scripts: Partial<Record<LifecycleScript, string>> | null = null;
  if (isRecord(manifest.scripts)) {
    for (const name of LIFECYCLE_SCRIPTS) {
      const text = manifest.scripts[name];
      if (typeof text === 'string') (scripts ??= {})[name] = text;
    }
  }
  const dist = isRecord(manifest.dist) ? manifest.dist : {};
  return deepFreeze({
    name: String(manifest.name),
    version: String(manifest.version),
    scripts: scripts ?? NO_SCRIPTS,
    gypfile: typeof manifest.gypfile === 'boolean' ? manifest.gypfile : null,
    hasInstallScript: typeof manifest.hasInstallScript === 'boolean' ? manifest.hasInstallScript : null,
    integrity: str(dist.integrity),
    shasum: str(dist.shasum),
    tarball: str(dist.tarball),
    signatures: signaturesOf(dist.signatures),
    attestations: attestationsOf(dist.attestations),
    publishedAt,
    npmUser: npmUserOf(manifest._npmUser),
    repository: normalizeRepository(manifest.repository),
    deprecated: str(manifest.deprecated),
    registry,
  });
}

function signaturesOf(v: unknown): RegistrySignature[] | null {
  if (!Array.isArray(v)) return null;
  return v
    .filter((s): s is Json => isRecord(s) && typeof s.keyid === 'string' && typeof s.sig === 'string')
    .map((s) => ({ keyid: s.keyid as string, sig: s.sig as string }));
}

function attestationsOf(v: unknown): AttestationsRef | null {
  if (!isRecord(v) || typeof v.url !== 'string') return null;
  const p = isRecord(v.provenance) && typeof v.provenance.predicateType === 'string'
    ? { predicateType: v.provenance.predicateType }
    : null;
  return { url: v.url, provenance: p };
}

function npmUserOf(v: unknown): NpmUser | null {
  if (!isRecord(v) || typeof v.name !== 'string') return null;
  let trustedPublisher: Record<string, string> | null = null;
  if (isRecord(v.trustedPublisher)) {
    trustedPublisher = {};
    for (const [k, val] of Object.entries(v.trustedPublisher)) {
      if (typeof val === 'string') trustedPublisher[k] = val;
    }
  }
  return { name: v.name, trustedPublisher };
}

const HOSTED: Record<string, string> = {
  github: 'https://github.com/',
  gitlab: 'https://gitlab.com/',
  bitbucket: 'https://bitbucket.org/',
};

/** `git+https://github.com/a/b.git`, `github:a/b`, `a/b`, `git@github.com:a/b` -> https://github.com/a/b */
export function normalizeRepository(v: unknown): string | null {
  const raw = typeof v === 'string' ? v : isRecord(v) && typeof v.url === 'string' ? v.url : null;
  if (!raw || !raw.trim()) return null;
  let url = raw.trim();
  const shorthand = /^(?:(github|gitlab|bitbucket):)?([\w.-]+\/[\w.-]+)$/.exec(url);
  if (shorthand) url = `${HOSTED[shorthand[1] ?? 'github']}${shorthand[2]}`;
  const scp = /^(?:ssh:\/\/)?git@([^:/]+)[:/](.+)$/.exec(url);
  if (scp) url = `https://${scp[1]}/${scp[2]}`;
  url = url.replace(/^git\+/, '').replace(/^(git|ssh):\/\//, 'https://').replace(/^https:\/\/[^@/]*@/, 'https://');
  return url.replace(/\.git$/, '').replace(/\/+$/, '');
}

/**
 * Whether a lockfile's integrity (possibly several hashes, e.g. "sha512-... sha1-...")
 * names the same tarball as these facts: every algorithm both know must agree, and at
 * least one must be shared.
 */
export function integrityAgrees(lockIntegrity: string, facts: Pick<VersionFacts, 'integrity' | 'shasum'>): boolean {
  // The common case, and the hot path of a warm audit.
  if (lockIntegrity === facts.integrity) return true;
  const known = new Map<string, Set<string>>();
  const add = (algo: string, digest: string): void => {
    const set = known.get(algo) ?? new Set();
    set.add(digest);
    known.set(algo, set);
  };
  for (const [algo, digest] of hashes(facts.integrity ?? '')) add(algo, digest);
  if (facts.shasum && /^[0-9a-f]{40}$/i.test(facts.shasum)) {
    add('sha1', Buffer.from(facts.shasum, 'hex').toString('base64'));
  }
  let shared = false;
  for (const [algo, digest] of hashes(lockIntegrity)) {
    const digests = known.get(algo);
    if (!digests) continue;
    if (!digests.has(digest)) return false;
    shared = true;
  }
  return shared;
}

function hashes(integrity: string): [string, string][] {
  const out: [string, string][] = [];
  for (const token of integrity.trim().split(/\s+/)) {
    const m = /^(sha\d+)-([A-Za-z0-9+/=]+)(?:\?.*)?$/.exec(token);
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

/** Freezes an object graph in place (facts are shared between callers and caches). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
