/**
 * The publish history of a package name: for every version, when it was published and
 * with which trust evidence (trusted publisher, provenance). Trust-downgrade detection
 * compares a locked version with the versions published before it, so it needs the
 * whole history, not just the locked version's facts.
 *
 * A history grows with every publish, so unlike VersionFacts it is not immutable. But a
 * downgrade check only looks at versions published *before* the one asked about, and
 * those do not change: a cached history that already lists the asked version answers the
 * question. The TTL only bounds how long an unpublish (or a changed `time`) goes unseen
 * across runs; a history held in memory (the editor's registry client) is not re-checked.
 * Cached in `<cacheDir>/publish-history-v1.jsonl`, one line per name, parsed on first use.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord } from '../parse/lockJson';
import { readKeyedLines, writeKeyedLines } from './keyedLinesFile';

export interface PublishedVersion {
  /** `time[version]` of the packument; null when the registry sent none. */
  readonly publishedAt: string | null;
  readonly trustedPublisher: boolean;
  /** `dist.attestations.provenance` is present (pnpm's definition of provenance evidence). */
  readonly provenance: boolean;
}

export interface PublishHistory {
  readonly name: string;
  readonly registry: string;
  /** When the packument was read (ms since the epoch). */
  readonly fetchedAt: number;
  readonly versions: ReadonlyMap<string, PublishedVersion>;
}

const HEADER = '{"format":"install-guard-publish-history","version":1}';
export const HISTORY_FILE = 'publish-history-v1.jsonl';
export const DEFAULT_HISTORY_TTL_MS = 7 * 24 * 3_600_000;
const DEFAULT_MAX_NAMES = 50_000;
const TRUSTED = 1;
const PROVENANCE = 2;

type Json = Record<string, unknown>;

export function extractPublishHistory(packument: Json, registry: string, fetchedAt: number): PublishHistory {
  const versions = new Map<string, PublishedVersion>();
  const time = isRecord(packument.time) ? packument.time : {};
  const all = isRecord(packument.versions) ? packument.versions : {};
  for (const [version, manifest] of Object.entries(all)) {
    if (!isRecord(manifest)) continue;
    const npmUser = isRecord(manifest._npmUser) ? manifest._npmUser : null;
    const dist = isRecord(manifest.dist) ? manifest.dist : null;
    const attestations = dist && isRecord(dist.attestations) ? dist.attestations : null;
    const at = time[version];
    versions.set(version, {
      publishedAt: typeof at === 'string' && at !== '' ? at : null,
      trustedPublisher: !!npmUser && isRecord(npmUser.trustedPublisher),
      provenance: !!attestations && isRecord(attestations.provenance),
    });
  }
  return { name: String(packument.name ?? ''), registry, fetchedAt, versions };
}

export function historyKey(registry: string, name: string): string {
  return `${registry} ${name}`;
}

/** The disk cache of histories; same shape and write discipline as the facts cache. */
export class PublishHistoryCache {
  private entries = new Map<string, string | PublishHistory>();
  private dirty = false;

  private constructor(
    readonly file: string,
    private readonly ttlMs: number,
    private readonly maxNames: number,
  ) {}

  static async open(dir: string, ttlMs = DEFAULT_HISTORY_TTL_MS, maxNames = DEFAULT_MAX_NAMES): Promise<PublishHistoryCache> {
    const cache = new PublishHistoryCache(join(dir, HISTORY_FILE), ttlMs, maxNames);
    cache.entries = await readKeyedLines<PublishHistory>(cache.file, HEADER);
    return cache;
  }

  /** The cached history when it is fresh and already lists `version`; else undefined. */
  get(registry: string, name: string, version: string, now = Date.now()): PublishHistory | undefined {
    const key = historyKey(registry, name);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    const history = typeof entry === 'string' ? parseLine(registry, name, entry) : entry;
    if (!history) {
      this.entries.delete(key);
      this.dirty = true;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, history);
    if (now - history.fetchedAt > this.ttlMs || !history.versions.has(version)) return undefined;
    return history;
  }

  set(history: PublishHistory): void {
    const key = historyKey(history.registry, history.name);
    this.entries.delete(key);
    this.entries.set(key, history);
    this.dirty = true;
  }

  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.entries = await writeKeyedLines(this.file, HEADER, this.entries, this.maxNames, serialize);
    this.dirty = false;
  }

  async clear(): Promise<void> {
    this.entries.clear();
    this.dirty = false;
    await rm(this.file, { force: true });
  }
}


/** `{"f":<fetchedAt>,"v":{"1.0.0":["2020-01-01T00:00:00.000Z",3]}}` — flags: 1 trusted publisher, 2 provenance. */
function serialize(history: PublishHistory): string {
  const v: Record<string, [string | null, number]> = {};
  for (const [version, p] of history.versions) {
    v[version] = [p.publishedAt, (p.trustedPublisher ? TRUSTED : 0) | (p.provenance ? PROVENANCE : 0)];
  }
  return JSON.stringify({ f: history.fetchedAt, v });
}

function parseLine(registry: string, name: string, json: string): PublishHistory | null {
  try {
    const parsed = JSON.parse(json) as { f?: unknown; v?: unknown };
    if (typeof parsed.f !== 'number' || !isRecord(parsed.v)) return null;
    const versions = new Map<string, PublishedVersion>();
    for (const [version, entry] of Object.entries(parsed.v)) {
      if (!Array.isArray(entry) || typeof entry[1] !== 'number') return null;
      const at = entry[0];
      versions.set(version, {
        publishedAt: typeof at === 'string' ? at : null,
        trustedPublisher: (entry[1] & TRUSTED) !== 0,
        provenance: (entry[1] & PROVENANCE) !== 0,
      });
    }
    return { name, registry, fetchedAt: parsed.f, versions };
  } catch {
    return null;
  }
}
