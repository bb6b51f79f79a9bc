/**
 * The signing keys a registry publishes at `/-/npm/v1/keys` (the npm registry's ECDSA
 * P-256 keys that sign `dist.signatures` and the publish attestations). Fetched from the
 * configured registry only, through npm-registry-fetch with npm's own options, so the
 * credentials, proxy and TLS settings for that host apply and no other host is asked.
 *
 * Many registries and proxies answer 404 or 400 here, or something that is not a keys
 * document: that means "this registry publishes no keys", which makes signatures
 * unverifiable, never invalid. One request per registry per run.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { redactUrl } from './configDescribe';
import type { RegistryConfig } from './npmConfig';

export interface RegistryKey {
  keyid: string;
  keytype: string;
  scheme: string;
  /** Base64 DER SubjectPublicKeyInfo, as the registry serves it. */
  key: string;
  /** ISO time after which the key signs nothing; null: no expiry. */
  expires: string | null;
  /** null when the key is not a usable ECDSA P-256 key. */
  publicKey: KeyObject | null;
}

export type RegistryKeys =
  | { ok: true; registry: string; keys: RegistryKey[] }
  | {
      ok: false;
      registry: string;
      /** none: the registry answered but publishes no keys; unreachable: no answer; offline: not asked. */
      kind: 'none' | 'unreachable' | 'offline';
      reason: string;
    };

export interface RegistryKeyStoreOptions {
  config: RegistryConfig;
  /** Do not ask the network at all (npm's `offline`). */
  offline?: boolean;
  /** Per request. Default 30 s, or npm's `fetch-timeout` where the user set it. */
  timeoutMs?: number;
  retries?: number;
}

type RegistryFetch = ((url: string, opts: Record<string, unknown>) => Promise<unknown>) & {
  json(url: string, opts: Record<string, unknown>): Promise<unknown>;
};
let registryFetch: RegistryFetch | null = null;
/** Loaded on first use: a warm run whose verdicts are all cached never needs it. */
export function npmRegistryFetch(): RegistryFetch {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  registryFetch ??= require('npm-registry-fetch') as RegistryFetch;
  return registryFetch;
}

/** Options for npm-registry-fetch: npm's flat config, no HTTP cache, our timeout and retries. */
export function registryFetchOptions(config: RegistryConfig, timeoutMs: number, retries: number): Record<string, unknown> {
  return {
    ...config.fetchOptions,
    cache: undefined,
    offline: false,
    timeout: timeoutMs,
    retry: { retries, factor: 2, minTimeout: 250, maxTimeout: 2000 },
    // The body is checked by the caller; an integrity option would make the fetch compare it to something else.
    integrity: null,
  };
}

export class RegistryKeyStore {
  private readonly byRegistry = new Map<string, Promise<RegistryKeys>>();
  private readonly timeoutMs: number;

  constructor(private readonly opts: RegistryKeyStoreOptions) {
    this.timeoutMs = opts.timeoutMs ?? (opts.config.originOf('fetch-timeout') ? opts.config.fetchTimeoutMs : 30_000);
  }

  /** The keys of `registry` (a base URL with a trailing slash); asked once per run. */
  get(registry: string): Promise<RegistryKeys> {
    let pending = this.byRegistry.get(registry);
    if (!pending) {
      pending = this.fetchKeys(registry);
      this.byRegistry.set(registry, pending);
    }
    return pending;
  }

  private async fetchKeys(registry: string): Promise<RegistryKeys> {
    const shown = redactUrl(registry);
    if (this.opts.offline ?? this.opts.config.offline) {
      return { ok: false, registry, kind: 'offline', reason: `offline: the keys of ${shown} were not fetched` };
    }
    const url = new URL('-/npm/v1/keys', registry).href;
    let body: unknown;
    try {
      const options = registryFetchOptions(this.opts.config, this.timeoutMs, this.opts.retries ?? this.opts.config.fetchRetries);
      body = await npmRegistryFetch().json(url, options);
    } catch (err) {
      const e = err as { statusCode?: number; code?: string; type?: string; message?: string };
      if (e.statusCode === 404 || e.statusCode === 400 || e.statusCode === 405) {
        return { ok: false, registry, kind: 'none', reason: `registry ${shown} publishes no keys (it answered ${e.statusCode} for /-/npm/v1/keys)` };
      }
      if (e.type === 'invalid-json' || (err as Error)?.name === 'SyntaxError') {
        return { ok: false, registry, kind: 'none', reason: `registry ${shown} publishes no keys (/-/npm/v1/keys is not JSON)` };
      }
      const what = e.statusCode ? `answered ${e.statusCode}` : (e.code ?? (e.message ?? String(err)).split('\n')[0]);
      return { ok: false, registry, kind: 'unreachable', reason: `could not fetch the keys of ${shown}: ${what}` };
    }
    const keys = parseRegistryKeys(body);
    if (!keys || keys.length === 0) {
      return { ok: false, registry, kind: 'none', reason: `registry ${shown} publishes no keys (/-/npm/v1/keys lists none)` };
    }
    return { ok: true, registry, keys };
  }
}

/** The keys of a `/-/npm/v1/keys` body (`{"keys":[{keyid, keytype, scheme, key, expires}]}`); null when it is not one. */
export function parseRegistryKeys(body: unknown): RegistryKey[] | null {
  const list = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) return null;
  const keys: RegistryKey[] = [];
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { keyid, keytype, scheme, key, expires } = entry as Record<string, unknown>;
    if (typeof keyid !== 'string' || typeof key !== 'string') continue;
    keys.push({
      keyid,
      keytype: typeof keytype === 'string' ? keytype : '',
      scheme: typeof scheme === 'string' ? scheme : '',
      key,
      expires: typeof expires === 'string' && !Number.isNaN(Date.parse(expires)) ? expires : null,
      publicKey: toP256Key(key),
    });
  }
  return keys;
}

/** A P-256 public key from base64 SPKI; null for anything else (the registry signs with P-256 only). */
function toP256Key(base64: string): KeyObject | null {
  try {
    const key = createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? key : null;
  } catch {
    return null;
  }
}

/** Whether `key` was valid at `when` (a key with no `expires` always is). */
export function keyValidAt(key: RegistryKey, when: Date): boolean {
  return key.expires === null || when.getTime() < Date.parse(key.expires);
}
