/**
 * The signing keys a registry publishes at `/-/npm/v1/keys` (the npm registry's ECDSA
 * P-256 keys that sign `dist.signatures` and the publish attestations). Fetched from the
 * configured registry only, through npm-registry-fetch with npm's own options, so the
 * credentials, proxy and TLS settings for that host apply and no other host is asked.
 *
 * Many registries and proxies answer 404 or 400 here, or something that is not a keys
 * document: that means "this registry publishes no keys", which makes signatures
 * unverifiable, never invalid. One request per registry per run at most: an answer is
 * kept in the cache dir for `ttlMs`, and a signature by a key the kept answer does not
 * list (the registry rotated its keys) asks again at once.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { redactUrl } from './configDescribe';
import { readKeyedLines, writeKeyedLines } from './keyedLinesFile';
import type { RegistryConfig } from './npmConfig';
import { registryAgent } from './registryAgent';
import { DEFAULT_HISTORY_TTL_MS } from './publishHistory';

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
  /** Where answers are kept across runs (`registry-keys-v1.jsonl`); null/absent: not kept. */
  cacheDir?: string | null;
  /** How long a kept answer is used without asking again. Default: the publish histories' TTL. */
  ttlMs?: number;
}

const KEYS_FILE = 'registry-keys-v1.jsonl';
const KEYS_HEADER = '{"format":"install-guard-registry-keys","version":1}';

/** A kept answer: the keys as served, or why there are none. */
interface StoredKeys {
  fetchedAt: number;
  keys?: Omit<RegistryKey, 'publicKey'>[];
  reason?: string;
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

/** Options for npm-registry-fetch: npm's flat config, no HTTP cache, our timeout and retries, one agent per origin. */
export function registryFetchOptions(config: RegistryConfig, timeoutMs: number, retries: number): Record<string, unknown> {
  return {
    ...config.fetchOptions,
    cache: undefined,
    offline: false,
    timeout: timeoutMs,
    agent: registryAgent(config.fetchOptions, timeoutMs),
    retry: { retries, factor: 2, minTimeout: 250, maxTimeout: 2000 },
    // The body is checked by the caller; an integrity option would make the fetch compare it to something else.
    integrity: null,
  };
}

/** Whether the answer names every key in `keyIds`. */
function hasAll(keys: RegistryKeys, keyIds: readonly string[]): boolean {
  return keyIds.every((id) => keys.ok && keys.keys.some((k) => k.keyid === id));
}

export class RegistryKeyStore {
  private readonly byRegistry = new Map<string, Promise<RegistryKeys>>();
  /** Answers that have arrived, by the promise that brought them (peek() reads them without waiting). */
  private readonly settled = new WeakMap<Promise<RegistryKeys>, RegistryKeys>();
  /** Registries whose answer came from the disk (and may be stale); cleared once asked afresh. */
  private readonly fromDisk = new Set<string>();
  private readonly timeoutMs: number;
  private stored: Promise<Map<string, string | StoredKeys>> | null = null;

  constructor(private readonly opts: RegistryKeyStoreOptions) {
    this.timeoutMs = opts.timeoutMs ?? (opts.config.originOf('fetch-timeout') ? opts.config.fetchTimeoutMs : 30_000);
  }

  /**
   * The keys of `registry` (a base URL with a trailing slash). `keyIds`: the keys a
   * signature names; a kept answer that lacks one is replaced by the registry's own.
   */
  async get(registry: string, keyIds: readonly string[] = []): Promise<RegistryKeys> {
    let pending = this.byRegistry.get(registry);
    if (!pending) {
      pending = this.settle(this.keptOrFetched(registry));
      this.byRegistry.set(registry, pending);
    }
    const keys = await pending;
    if (hasAll(keys, keyIds)) return keys;
    // Ask afresh once; callers that waited on the kept answer meanwhile get the fresh one too.
    if (this.fromDisk.delete(registry)) this.byRegistry.set(registry, this.settle(this.fetchAndKeep(registry)));
    const latest = this.byRegistry.get(registry)!;
    return latest === pending ? keys : latest;
  }

  /**
   * What get() would answer without waiting: the keys once they are read and when no new
   * request is due for `keyIds`; undefined otherwise (then call get()).
   */
  peek(registry: string, keyIds: readonly string[] = []): RegistryKeys | undefined {
    const pending = this.byRegistry.get(registry);
    const keys = pending && this.settled.get(pending);
    if (!keys) return undefined;
    return hasAll(keys, keyIds) || !this.fromDisk.has(registry) ? keys : undefined;
  }

  private settle(pending: Promise<RegistryKeys>): Promise<RegistryKeys> {
    pending.then((keys) => this.settled.set(pending, keys), () => undefined);
    return pending;
  }

  /** Forgets every answer, here and on disk. */
  async clear(): Promise<void> {
    this.byRegistry.clear();
    this.fromDisk.clear();
    this.stored = null;
    if (this.opts.cacheDir) await rm(join(this.opts.cacheDir, KEYS_FILE), { force: true });
  }

  private async keptOrFetched(registry: string): Promise<RegistryKeys> {
    const kept = await this.kept(registry);
    const offline = this.opts.offline ?? this.opts.config.offline;
    if (kept && (offline || Date.now() - kept.fetchedAt <= (this.opts.ttlMs ?? DEFAULT_HISTORY_TTL_MS))) {
      this.fromDisk.add(registry);
      return fromStored(registry, kept);
    }
    return this.fetchAndKeep(registry);
  }

  /** Starts reading the answers kept on disk, so the first get() need not wait for the file. */
  preload(): void {
    if (this.opts.cacheDir) this.stored ??= readKeyedLines<StoredKeys>(join(this.opts.cacheDir, KEYS_FILE), KEYS_HEADER);
  }

  private async kept(registry: string): Promise<StoredKeys | null> {
    this.preload();
    if (!this.stored) return null;
    const entry = (await this.stored).get(registry);
    if (typeof entry !== 'string') return entry ?? null;
    try {
      const parsed = JSON.parse(entry) as StoredKeys;
      return typeof parsed.fetchedAt === 'number' ? parsed : null;
    } catch {
      return null;
    }
  }

  /** Asks the registry; a definite answer (keys, or none) is kept for the next runs. */
  private async fetchAndKeep(registry: string): Promise<RegistryKeys> {
    const keys = await this.fetchKeys(registry);
    if (this.opts.cacheDir && (keys.ok || keys.kind === 'none')) {
      const stored: StoredKeys = keys.ok
        ? { fetchedAt: Date.now(), keys: keys.keys.map(({ publicKey: _, ...raw }) => raw) }
        : { fetchedAt: Date.now(), reason: keys.reason };
      const entries = new Map<string, string | StoredKeys>([[registry, stored]]);
      // A cache that cannot be written costs a request next run, nothing else.
      await writeKeyedLines(join(this.opts.cacheDir, KEYS_FILE), KEYS_HEADER, entries, 1000, (v) => JSON.stringify(v)).catch(() => {});
    }
    return keys;
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

function fromStored(registry: string, stored: StoredKeys): RegistryKeys {
  const keys = stored.keys ? parseRegistryKeys({ keys: stored.keys }) : null;
  if (keys && keys.length > 0) return { ok: true, registry, keys };
  return { ok: false, registry, kind: 'none', reason: stored.reason ?? `registry ${redactUrl(registry)} publishes no keys` };
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
