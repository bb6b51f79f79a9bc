/**
 * Per-version registry metadata through pacote, reduced to VersionFacts. Lookups go
 * memory -> disk facts cache -> registry (full packument: the abbreviated one lacks script
 * text and publish times), with one packument request per package however many of its
 * versions a lockfile holds, bounded concurrency, timeouts and retries. Every lookup ends
 * in a result, never a thrown error, and only registry versions are ever fetched: no git
 * clone, no `prepare`, no tarball extraction can happen here.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import semver from 'semver';
import { versionKey } from '../model/inventory';
import { FactsCache, factsKey } from './factsCache';
import type { RegistryConfig } from './npmConfig';
import { registryAgent } from './registryAgent';
import { UnreachableRegistries } from './unreachableRegistries';
import {
  classifyRegistryError, failure, offlineMiss, unsupportedSpec, versionMissing,
  type LookupContext, type LookupFailure,
} from './registryErrors';
import { extractPublishHistory, historyKey, PublishHistoryCache, type PublishHistory } from './publishHistory';
import { deepFreeze, extractVersionFacts, integrityAgrees, type VerificationRecord, type VersionFacts } from './versionFacts';

// pacote's published types are for v11; this is the part of v21 we use.
type RegistryFetcherCtor = new (spec: string, opts: Record<string, unknown>) => { packument(): Promise<Record<string, unknown>> };
let registryFetcher: RegistryFetcherCtor | null = null;
/** pacote (with sigstore behind it) takes ~100 ms to load; a warm run never needs it. */
function RegistryFetcher(): RegistryFetcherCtor {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  registryFetcher ??= (require('pacote') as { RegistryFetcher: RegistryFetcherCtor }).RegistryFetcher;
  return registryFetcher;
}

export type LookupResult =
  | { ok: true; facts: VersionFacts; from: 'memory' | 'disk' | 'registry' }
  | LookupFailure;

export interface LookupItem {
  name: string;
  version: string;
  /** The lockfile's integrity: cached facts that disagree with it are not used. */
  integrity?: string | null;
}

export interface MetadataClientOptions {
  config: RegistryConfig;
  /** Where facts (and pacote's HTTP cache, `_cacache`) live; null: memory only. */
  cacheDir: string | null;
  /**
   * Keep pacote's HTTP cache (`<cacheDir>/_cacache`) too. It lets offline runs answer versions
   * never looked up before, but full packuments are large and cacache never evicts, and writing
   * it took a quarter of a cold audit (npm run bench). The facts cache already answers warm
   * runs with no request. Default false.
   */
  httpCache?: boolean;
  /** Facts cache (and HTTP cache) only; a miss is `offline-miss`. Default: npm's `offline`. */
  offline?: boolean;
  /** Packument requests in flight at once. Default 16. */
  concurrency?: number;
  /** Per request. Default 30 s, or npm's `fetch-timeout` where the user set it. */
  timeoutMs?: number;
  /** Retries of a failed request (5xx, reset, timeout). Default npm's `fetch-retries` (2). */
  retries?: number;
  /** First retry delay; doubles each retry. Default 250 ms. */
  retryMinTimeoutMs?: number;
  /** Budget for packuments kept in memory, estimated from their size on the wire; 0: keep none. Default 256 MB. */
  packumentCacheBytes?: number;
  /**
   * Keep each fetched packument's publish history for trust-downgrade checks (provenance on),
   * so publishHistory() needs no second request after the packument left memory. Default false.
   */
  keepPublishHistory?: boolean;
  /** How long a publish history kept on disk is used without asking again. Default a week. */
  cacheTtlMs?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called once, just before the first packument request is sent (a run the caches could not answer). */
  onFirstRequest?: () => void;
  /** How long a registry that cannot be reached is not asked (unreachableRegistries.ts). Default 30 s. */
  unreachablePauseMs?: number;
}

export interface MetadataStats {
  /** Packument requests sent (retries inside one request not counted). */
  requests: number;
  /** Lookups answered from memory (facts or an already fetched packument). */
  cacheHits: number;
  diskHits: number;
  failures: number;
}

/** Valid npm names, including legacy mixed-case ones; nothing URL- or path-like. */
const PACKAGE_NAME = /^(?:@[A-Za-z0-9~-][A-Za-z0-9._~-]*\/)?[A-Za-z0-9~_-][A-Za-z0-9._~-]*$/;

let lastGeneration = 0;

export class MetadataClient {
  private readonly config: RegistryConfig;
  private readonly cacheDir: string | null;
  private readonly httpCacheDir: string | null;
  private readonly offline: boolean;
  private readonly timeoutMs: number;
  private readonly fetchOptions: Record<string, unknown>;
  /**
   * Facts in memory when there is no disk cache. With one, the disk cache's own map keeps
   * the parsed facts, so a second store would only double the work of a warm audit (and
   * an LRU of this size costs milliseconds just to construct).
   */
  private memoryOnly: LRUCache<string, VersionFacts> | null = null;
  private readonly packuments: LRUCache<string, Record<string, unknown>>;
  private readonly inflight = new Map<string, Promise<Record<string, unknown>>>();
  private readonly slots: Semaphore;
  private disk: Promise<FactsCache | null> | null = null;
  /** The disk cache once open (known() reads it synchronously). */
  private openDisk: FactsCache | null = null;
  /** Publish histories (trust-downgrade checks), keyed by historyKey; bounded by the versions they hold. */
  private readonly histories = new LRUCache<string, PublishHistory>({ maxSize: 1_000_000, sizeCalculation: (h) => Math.max(1, h.versions.size) });
  private historyDisk: Promise<PublishHistoryCache | null> | null = null;
  private readonly counters: MetadataStats = { requests: 0, cacheHits: 0, diskHits: 0, failures: 0 };
  /** A packument request was started (onFirstRequest has been called). */
  private requested = false;
  private readonly unreachable: UnreachableRegistries;
  /** Unique across clients, so a memo made with one client never matches another's. */
  private generation = ++lastGeneration;

  constructor(private readonly opts: MetadataClientOptions) {
    this.config = opts.config;
    this.cacheDir = opts.cacheDir;
    this.httpCacheDir = opts.cacheDir && opts.httpCache === true ? join(opts.cacheDir, '_cacache') : null;
    this.offline = opts.offline ?? opts.config.offline;
    this.timeoutMs = opts.timeoutMs ?? (opts.config.originOf('fetch-timeout') ? opts.config.fetchTimeoutMs : 30_000);
    this.slots = new Semaphore(Math.max(1, opts.concurrency ?? 16));
    this.unreachable = new UnreachableRegistries(opts.unreachablePauseMs);
    this.packuments = new LRUCache<string, Record<string, unknown>>({
      maxSize: Math.max(1, opts.packumentCacheBytes ?? 256 * 1024 * 1024),
      // Parsed JSON takes a few times its wire size; unknown sizes count as 1 MB.
      sizeCalculation: (p) => Math.max(1, Number(p._contentLength ?? 1_000_000) * 4),
    });
    const minTimeout = opts.retryMinTimeoutMs ?? 250;
    this.fetchOptions = {
      ...opts.config.fetchOptions,
      fullMetadata: true,
      ...(opts.packumentCacheBytes === 0 ? {} : { packumentCache: this.packuments }),
      // No cache path means make-fetch-happen stores nothing (and never writes into ~/.npm).
      cache: this.httpCacheDir ?? undefined,
      offline: this.offline,
      timeout: this.timeoutMs,
      agent: registryAgent(opts.config.fetchOptions, this.timeoutMs),
      retry: {
        retries: opts.retries ?? opts.config.fetchRetries,
        factor: 2,
        minTimeout,
        maxTimeout: minTimeout * 8,
      },
    };
  }

  /** Bumped whenever an answer may change (new facts, a recorded verdict, a cleared cache): the same generation gives the same known() answers. */
  get factsGeneration(): number {
    return this.generation;
  }

  async lookup(name: string, version: string, integrity?: string | null): Promise<LookupResult> {
    const result = await this.lookupOne(name, version, integrity ?? null);
    if (!result.ok) this.counters.failures++;
    return result;
  }

  /** Looks up every distinct name@version; the map is keyed by `versionKey(name, version)`. */
  async lookupAll(items: Iterable<LookupItem>): Promise<Map<string, LookupResult>> {
    const unique = new Map<string, LookupItem>();
    for (const item of items) {
      const key = versionKey(item.name, item.version);
      if (!unique.has(key) || (!unique.get(key)!.integrity && item.integrity)) unique.set(key, item);
    }
    const results = new Map<string, LookupResult>();
    const total = unique.size;
    let done = 0;
    await Promise.all(
      [...unique].map(async ([key, item]) => {
        results.set(key, await this.lookup(item.name, item.version, item.integrity));
        this.opts.onProgress?.(++done, total);
      }),
    );
    return results;
  }

  /** Writes new facts to the disk cache (call once at the end of a run). */
  async flush(): Promise<void> {
    const disk = await this.diskCache();
    await disk?.flush();
    // Only histories someone asked for were put in the disk cache; opening it is lazy too.
    if (this.historyDisk) await (await this.historyDisk)?.flush();
  }

  /**
   * Every published version of `name` with its publish time and trust evidence, from the
   * packument; null when it cannot be had (offline cache miss, registry error). A cached
   * history is used while it is fresh and already lists `version` (see publishHistory.ts).
   */
  async publishHistory(name: string, version: string): Promise<PublishHistory | null> {
    if (!PACKAGE_NAME.test(name) || name.startsWith('.')) return null;
    const registry = this.config.registryFor(name);
    const key = historyKey(registry, name);
    const disk = await this.historyCache();
    const inMemory = this.histories.get(key);
    if (inMemory?.versions.has(version)) {
      disk?.set(inMemory);
      return inMemory;
    }
    const onDisk = disk?.get(registry, name, version);
    if (onDisk) {
      this.histories.set(key, onDisk);
      return onDisk;
    }
    if (this.offline && !this.httpCacheDir) return inMemory ?? null;
    try {
      const packument = await this.packument(name, registry);
      if (!isPackument(packument)) return inMemory ?? null;
      const history = extractPublishHistory(packument, registry, Date.now());
      this.histories.set(key, history);
      disk?.set(history);
      return history;
    } catch {
      return inMemory ?? null;
    }
  }

  /**
   * Keeps verification verdicts with the version's facts (memory and disk): they hold for
   * as long as the facts do, since both are about one immutable tarball. Returns the new facts.
   */
  recordVerification(facts: VersionFacts, verification: VerificationRecord): VersionFacts {
    const updated = deepFreeze({ ...facts, verification });
    this.remember(factsKey(facts.registry, facts.name, facts.version), updated);
    this.generation = ++lastGeneration;
    return updated;
  }

  /** Forgets everything: memory, the facts file and the HTTP cache. */
  async clearCache(): Promise<void> {
    this.memoryOnly?.clear();
    this.generation = ++lastGeneration;
    this.packuments.clear();
    this.histories.clear();
    const disk = await this.diskCache();
    await disk?.clear();
    await (await this.historyCache())?.clear();
    if (this.cacheDir) await rm(join(this.cacheDir, '_cacache'), { recursive: true, force: true });
  }

  stats(): MetadataStats {
    return { ...this.counters };
  }

  private historyCache(): Promise<PublishHistoryCache | null> {
    this.historyDisk ??= this.cacheDir ? PublishHistoryCache.open(this.cacheDir, this.opts.cacheTtlMs).catch(() => null) : Promise.resolve(null);
    return this.historyDisk;
  }

  private diskCache(): Promise<FactsCache | null> {
    this.disk ??= (this.cacheDir ? FactsCache.open(this.cacheDir) : Promise.resolve(null)).then((cache) => (this.openDisk = cache));
    return this.disk;
  }

  /**
   * What is already known about name@version without waiting: the memory and (once open,
   * see prepare()) the disk cache, or an input that is never fetched. Null: ask lookup().
   * A warm audit answers nearly every package here, with no promise per package.
   */
  known(name: string, version: string, integrity: string | null): LookupResult | null {
    if (!PACKAGE_NAME.test(name) || name.startsWith('.')) {
      return unsupportedSpec(name, version, 'not a valid npm package name; not fetched');
    }
    const registry = this.config.registryFor(name);
    const key = factsKey(registry, name, version);
    const usable = (f: VersionFacts | undefined): f is VersionFacts =>
      !!f && (!integrity || integrityAgrees(integrity, f));
    const inMemory = this.memoryOnly?.get(key);
    if (usable(inMemory)) {
      this.counters.cacheHits++;
      return { ok: true, facts: inMemory, from: 'memory' };
    }
    // Read from the file's text now, or parsed by an earlier read: that is memory.
    const onDisk = this.openDisk?.read(key);
    if (onDisk && usable(onDisk.facts)) {
      this.counters[onDisk.fromFile ? 'diskHits' : 'cacheHits']++;
      return { ok: true, facts: onDisk.facts, from: onDisk.fromFile ? 'disk' : 'memory' };
    }
    // Only exact registry versions: a git URL, tarball URL, path or alias never reaches pacote.
    if (!semver.valid(version)) {
      return unsupportedSpec(name, version, 'not an exact registry version (git, file, URL or alias dependency); not fetched');
    }
    return null;
  }

  /** Keeps facts in the disk cache (written at flush()), or in memory when there is none. */
  private remember(key: string, facts: VersionFacts): void {
    if (this.openDisk) {
      this.openDisk.set(key, facts);
      this.memoryOnly?.delete(key);
      return;
    }
    (this.memoryOnly ??= new LRUCache<string, VersionFacts>({ max: 100_000 })).set(key, facts);
    // Facts met before the disk cache opened (a verdict recorded early) still reach the file.
    if (this.cacheDir) this.diskCache().then((disk) => disk?.set(key, facts)).catch(() => {});
  }

  /** Opens the disk cache, so known() can answer from it. */
  async prepare(): Promise<void> {
    await this.diskCache();
  }

  private async lookupOne(name: string, version: string, integrity: string | null): Promise<LookupResult> {
    await this.diskCache();
    const answer = this.known(name, version, integrity);
    if (answer) return answer;
    const clean = semver.valid(version)!;
    const registry = this.config.registryFor(name);
    const key = factsKey(registry, name, version);

    const ctx: LookupContext = { name, version, registry, timeoutMs: this.timeoutMs };
    // Without an HTTP cache, make-fetch-happen would go to the network even in offline mode.
    if (this.offline && !this.httpCacheDir) return offlineMiss(ctx);

    let packument: Record<string, unknown>;
    try {
      packument = await this.packument(name, registry);
    } catch (err) {
      return (err === REGISTRY_PAUSED && this.unreachable.skip(ctx)) || classifyRegistryError(err, ctx);
    }
    if (!isPackument(packument)) {
      return failure(ctx, 'garbage', '{registry} answered with something that is not a packument');
    }
    const hKey = historyKey(registry, name);
    // The packument is in hand: keep its history now rather than refetch it for a downgrade check.
    if (this.opts.keepPublishHistory && !this.histories.get(hKey)?.versions.has(version)) {
      this.histories.set(hKey, extractPublishHistory(packument, registry, Date.now()));
    }
    const facts = extractVersionFacts(packument, version, registry) ??
      (clean !== version ? extractVersionFacts(packument, clean, registry) : null);
    if (!facts) return versionMissing(ctx);
    // A registry must not answer for one package with another's metadata.
    if (facts.name !== name || (facts.version !== version && facts.version !== clean)) {
      return failure(ctx, 'garbage', `{registry} answered with the manifest of ${facts.name}@${facts.version}`);
    }
    this.remember(key, facts);
    this.generation = ++lastGeneration;
    return { ok: true, facts, from: 'registry' };
  }

  /** One request per package at a time, reused by every version of it. */
  private packument(name: string, registry: string): Promise<Record<string, unknown>> {
    // pacote's own key for the packument cache it shares with us.
    const cacheKey = `full:${registry.replace(/\/+$/, '')}/${name.replace('/', '%2f')}`;
    const cached = this.packuments.get(cacheKey);
    if (cached) {
      this.counters.cacheHits++;
      return Promise.resolve(cached);
    }
    let pending = this.inflight.get(cacheKey);
    if (pending) {
      this.counters.cacheHits++;
      return pending;
    }
    // Not sent to a registry found unreachable, whether asked now or queued before it was.
    if (this.unreachable.paused(registry)) return Promise.reject(REGISTRY_PAUSED);
    if (!this.requested) {
      this.requested = true;
      this.opts.onFirstRequest?.();
    }
    pending = this.slots.run(() => {
      if (this.unreachable.paused(registry)) return Promise.reject(REGISTRY_PAUSED);
      if (!this.packuments.has(cacheKey)) this.counters.requests++;
      // RegistryFetcher directly: pacote.packument() would pick a git or file fetcher for other specs.
      const Fetcher = RegistryFetcher();
      return new Fetcher(name, this.fetchOptions).packument().then(
        (packument) => {
          this.unreachable.succeeded(registry);
          return packument;
        },
        (err: unknown) => {
          this.unreachable.failed(registry, err);
          throw err;
        },
      );
    });
    this.inflight.set(cacheKey, pending);
    pending.finally(() => this.inflight.delete(cacheKey)).catch(() => {});
    return pending;
  }
}

/** Thrown instead of sending a request to a registry that is paused as unreachable. */
const REGISTRY_PAUSED = new Error('registry paused as unreachable');

function isPackument(p: unknown): p is Record<string, unknown> {
  return typeof p === 'object' && p !== null && typeof (p as Record<string, unknown>).versions === 'object' &&
    (p as Record<string, unknown>).versions !== null;
}

/** A counting semaphore: at most `size` tasks run at once, in arrival order. */
class Semaphore {
  private active = 0;
  /**
   * Waiters from `next` on. A cold audit queues one per package (20k); shift() on an array
   * that long copies it every time (V8 cannot trim large arrays in place): 0.2 s per 20k.
   */
  private waiting: (() => void)[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.wakeOne();
    }
  }

  private wakeOne(): void {
    if (this.next >= this.waiting.length) return;
    const resolve = this.waiting[this.next++]!;
    if (this.next === this.waiting.length) {
      this.waiting = [];
      this.next = 0;
    } else if (this.next >= 1024 && this.next * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.next);
      this.next = 0;
    }
    resolve();
  }
}
