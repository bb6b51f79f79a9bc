/**
 * The disk cache of VersionFacts across runs. A published version never changes, so a
 * warm audit of a 20k-package lockfile needs no registry at all — if loading the cache is
 * cheap. One file per cache dir, one line per version (`<registry> <name>@<version>\t<json>`):
 * loading splits lines and indexes keys without parsing JSON (a line is parsed when it is
 * first read), and writing is temp file + rename so a crash never leaves half a cache.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readKeyedLines, writeKeyedLines } from './keyedLinesFile';
import { deepFreeze, NO_SCRIPTS, type VersionFacts } from './versionFacts';

const HEADER = '{"format":"install-guard-facts","version":1}';
export const FACTS_FILE = 'facts-v1.jsonl';
/** Beyond this many versions the least recently used are dropped when the file is written. */
const DEFAULT_MAX_ENTRIES = 200_000;

export function factsKey(registry: string, name: string, version: string): string {
  return `${registry} ${name}@${version}`;
}

export class FactsCache {
  /** key -> the JSON text of the line, or the parsed facts once read. Map order = the file's (oldest first). */
  private entries = new Map<string, string | VersionFacts>();
  /**
   * Keys read or set by this process, in order: at flush they move to the end, the newest.
   * (Re-inserting into the Map at every read kept that order too, at a tenth of a warm audit.)
   */
  private used: string[] = [];
  private dirty = false;
  private lastRegistry = '';

  private constructor(
    readonly file: string,
    private readonly maxEntries: number,
  ) {}

  /** Loads `<dir>/facts-v1.jsonl`; a missing or unreadable file is an empty cache. */
  static async open(dir: string, maxEntries = DEFAULT_MAX_ENTRIES): Promise<FactsCache> {
    const cache = new FactsCache(join(dir, FACTS_FILE), maxEntries);
    cache.entries = await readKeyedLines<VersionFacts>(cache.file, HEADER);
    return cache;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): VersionFacts | undefined {
    return this.read(key)?.facts;
  }

  /** The facts of `key`, and whether this call parsed them from the file's line. */
  read(key: string): { facts: VersionFacts; fromFile: boolean } | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.touch(key);
    if (typeof entry !== 'string') return { facts: entry, fromFile: false };
    const facts = parseLine(key, entry, (registry) => this.sharedRegistry(registry));
    if (facts) this.entries.set(key, facts);
    else {
      this.entries.delete(key); // a corrupt line: drop it
      this.dirty = true;
    }
    return facts ? { facts, fromFile: true } : undefined;
  }

  set(key: string, facts: VersionFacts): void {
    this.entries.set(key, facts);
    this.touch(key);
    this.dirty = true;
  }

  /** Writes the cache if it changed, merging what another process wrote meanwhile. */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.entries = await writeKeyedLines(this.file, HEADER, this.byRecency(), this.maxEntries, serialize);
    this.used = [];
    this.dirty = false;
  }

  /** One string per registry rather than a slice of each key (a warm audit reads 20k keys of one). */
  private sharedRegistry(registry: string): string {
    if (registry !== this.lastRegistry) this.lastRegistry = registry;
    return this.lastRegistry;
  }

  private touch(key: string): void {
    // A long-lived editor reads the same keys again and again between writes: keep each once.
    if (this.used.push(key) > 2 * this.entries.size + 1024) this.used = lastOccurrences(this.used);
  }

  /** The entries, least recently used first (writeKeyedLines drops from the front). */
  private byRecency(): Map<string, string | VersionFacts> {
    const recent = lastOccurrences(this.used);
    const isRecent = new Set(recent);
    const ordered = new Map<string, string | VersionFacts>();
    for (const [key, value] of this.entries) if (!isRecent.has(key)) ordered.set(key, value);
    for (const key of recent) {
      const value = this.entries.get(key);
      if (value !== undefined) ordered.set(key, value);
    }
    return ordered;
  }

  async clear(): Promise<void> {
    this.entries.clear();
    this.used = [];
    this.dirty = false;
    await rm(this.file, { force: true });
  }
}


/** Each key once, where it last occurs, in order. */
function lastOccurrences(keys: readonly string[]): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (let i = keys.length - 1; i >= 0; i--) {
    if (seen.has(keys[i]!)) continue;
    seen.add(keys[i]!);
    kept.push(keys[i]!);
  }
  return kept.reverse();
}

/** The registry, name and version live in the key; null fields are left out (most are null). */
function serialize(facts: VersionFacts): string {
  const { name: _n, version: _v, registry: _r, ...rest } = facts;
  const compact: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v !== null && !(k === 'scripts' && Object.keys(v as object).length === 0)) compact[k] = v;
  }
  return JSON.stringify(compact);
}

function parseLine(key: string, json: string, shared: (registry: string) => string): VersionFacts | null {
  const space = key.indexOf(' ');
  const at = key.lastIndexOf('@');
  if (space < 0 || at <= space + 1) return null;
  try {
    const line = JSON.parse(json) as Partial<VersionFacts>;
    if (typeof line !== 'object' || line === null || Array.isArray(line)) return null;
    // Every field written out (a left-out field is null), in one order: one object shape
    // for all facts, built without a spread, as a warm audit reads thousands of lines.
    const facts: { -readonly [K in keyof VersionFacts]: VersionFacts[K] } = {
      name: key.slice(space + 1, at),
      version: key.slice(at + 1),
      scripts: line.scripts ?? NO_SCRIPTS,
      gypfile: line.gypfile ?? null,
      hasInstallScript: line.hasInstallScript ?? null,
      integrity: line.integrity ?? null,
      shasum: line.shasum ?? null,
      tarball: line.tarball ?? null,
      signatures: line.signatures ?? null,
      attestations: line.attestations ?? null,
      publishedAt: line.publishedAt ?? null,
      npmUser: line.npmUser ?? null,
      repository: line.repository ?? null,
      deprecated: line.deprecated ?? null,
      registry: shared(key.slice(0, space)),
    };
    if (line.verification) facts.verification = line.verification;
    return deepFreeze(facts);
  } catch {
    return null;
  }
}
