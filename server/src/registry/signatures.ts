/**
 * Registry signatures: the registry signs `${name}@${version}:${dist.integrity}` with an
 * ECDSA P-256 / SHA-256 key it publishes at `/-/npm/v1/keys`. A key's `expires` is judged
 * against the version's publish time, as npm does: a version published after its key
 * expired cannot carry a genuine signature by that key.
 *
 * States, each with a reason a person can act on:
 *   verified      a known, unexpired key signed exactly this name, version and integrity;
 *   invalid       a signature does not verify, or was made with a key expired at publish time;
 *   missing       the registry publishes keys but this version carries no signature;
 *   unverifiable  the registry publishes no keys (404/400/garbage, a stripping proxy), the
 *                 keys could not be fetched, or there is no integrity to check;
 *   unknown-key   every signature names a key the registry does not publish.
 * A reason says "this version", never its name: every report, hover and finding shows it
 * beside the name already, and then one text serves every version behind one registry.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { keyValidAt, type RegistryKey, type RegistryKeys } from './registryKeys';
import type { RegistrySignature } from './versionFacts';

export type SignatureState = 'verified' | 'invalid' | 'missing' | 'unverifiable' | 'unknown-key';

export interface SignatureResult {
  state: SignatureState;
  reason: string;
  /** The key that decided the state, when one did. */
  keyid: string | null;
}

export interface SignedVersion {
  name: string;
  version: string;
  /** `dist.integrity` exactly as published: the signed text contains it verbatim. */
  integrity: string | null;
  /** `dist.signatures`; null when the field is absent. */
  signatures: readonly RegistrySignature[] | null;
  publishedAt: string | null;
}

export function verifyRegistrySignatures(pkg: SignedVersion, keys: RegistryKeys): SignatureResult {
  const hasSignatures = !!pkg.signatures && pkg.signatures.length > 0;
  if (!keys.ok) {
    return hasSignatures
      ? sharedVerdict(keys, 'signed', () => ({ state: 'unverifiable', reason: `${keys.reason}; the signature of this version cannot be checked`, keyid: null }))
      : sharedVerdict(keys, 'unsigned', () => ({ state: 'unverifiable', reason: `${keys.reason}, and this version carries no signature`, keyid: null }));
  }
  if (!hasSignatures) {
    return sharedVerdict(keys, 'unsigned', () => ({
      state: 'missing',
      reason: `the registry publishes signing keys but this version carries no dist.signatures (stripped by a proxy, or not the registry's document)`,
      keyid: null,
    }));
  }
  if (!pkg.integrity) {
    return sharedVerdict(keys, 'no-integrity', () => ({ state: 'unverifiable', reason: 'this version has no dist.integrity, so there is nothing its signature could cover', keyid: null }));
  }

  const id = `${pkg.name}@${pkg.version}`;
  const message = Buffer.from(`${id}:${pkg.integrity}`, 'utf8');
  const publishedAt = pkg.publishedAt && !Number.isNaN(Date.parse(pkg.publishedAt)) ? new Date(pkg.publishedAt) : null;
  let verified: SignatureResult | null = null;
  const unknown: string[] = [];
  for (const signature of pkg.signatures!) {
    const key = keys.keys.find((k) => k.keyid === signature.keyid);
    if (!key) {
      unknown.push(signature.keyid);
      continue;
    }
    const outcome = checkOne(message, signature, key, publishedAt);
    // One bad signature is enough to distrust the document, whatever the others say.
    if (outcome.state !== 'verified') return outcome;
    verified ??= outcome;
  }
  if (verified) {
    return unknown.length === 0
      ? verified
      : { ...verified, reason: `${verified.reason}; also signed with keys the registry does not publish: ${unknown.join(', ')}` };
  }
  return {
    state: 'unknown-key',
    reason: `this version is signed with ${unknown.length === 1 ? 'key' : 'keys'} ${unknown.join(', ')}, which the registry does not publish at /-/npm/v1/keys`,
    keyid: unknown[0] ?? null,
  };
}

function checkOne(message: Buffer, signature: RegistrySignature, key: RegistryKey, publishedAt: Date | null): SignatureResult {
  const keyid = key.keyid;
  if (!key.publicKey) {
    return {
      state: 'unverifiable',
      reason: `key ${keyid} is not an ECDSA P-256 key (keytype "${key.keytype}"); the signature of this version cannot be checked`,
      keyid,
    };
  }
  if (publishedAt && !keyValidAt(key, publishedAt)) {
    return {
      state: 'invalid',
      reason: `this version was published ${publishedAt.toISOString()}, after its signing key ${keyid} expired (${key.expires}); a genuine registry signature cannot be that late`,
      keyid,
    };
  }
  let ok = false;
  try {
    ok = cryptoVerify('sha256', message, key.publicKey, Buffer.from(signature.sig, 'base64'));
  } catch {
    ok = false; // a malformed DER signature is simply not a valid one
  }
  if (!ok) {
    return {
      state: 'invalid',
      reason: `the registry signature of this version (key ${keyid}) does not match its name, version and integrity: the metadata or the signature was altered`,
      keyid,
    };
  }
  return sharedVerdict(key, publishedAt ? 'verified' : 'verified, time unknown', () => {
    const expiry = key.expires ? `, valid until ${key.expires}` : '';
    const when = publishedAt ? '' : ' (publish time unknown, so the key expiry was not judged)';
    return { state: 'verified', reason: `signed by registry key ${keyid}${expiry}${when}`, keyid };
  });
}

/**
 * Verdicts that say nothing of the version itself (no keys, no signature, verified by a
 * key) are made once per key set or key and shared, frozen, by every version they fit:
 * a 20k-package audit through one registry then holds one of each, not 20k strings.
 */
const sharedVerdicts = new WeakMap<object, Map<string, SignatureResult>>();

function sharedVerdict(owner: RegistryKeys | RegistryKey, variant: string, make: () => SignatureResult): SignatureResult {
  let byVariant = sharedVerdicts.get(owner);
  if (!byVariant) sharedVerdicts.set(owner, (byVariant = new Map()));
  let verdict = byVariant.get(variant);
  if (!verdict) byVariant.set(variant, (verdict = Object.freeze(make())));
  return verdict;
}
