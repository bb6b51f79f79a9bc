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
import { deepFreeze, type VersionFacts } from './versionFacts';

const HEADER = '{"format":"install-guard-facts","version":1}';
export const FACTS_FILE = 'facts-v1.jsonl';
/** Beyond this many versions the least recently used are dropped when the file is written. */
const DEFAULT_MAX_ENTRIES = 200_000;

export function factsKey(registry: string, name: string, version: string): string {
  return `${registry} ${name}@${version}`;
}

export class FactsCache {
  /** key -> the JSON text of the line, or the parsed facts once read. Map order = recency. */
  private entries = new Map<string, string | VersionFacts>();
  private dirty = false;

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
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Re-insert so the Map's order tracks recency for eviction.
    this.entries.delete(key);
    if (typeof entry !== 'string') {
      this.entries.set(key, entry);
      return entry;
    }
    const facts = parseLine(key, entry);
    if (facts) this.entries.set(key, facts);
    else this.dirty = true; // a corrupt line: drop it
    return facts ?? undefined;
  }

  set(key: string, facts: VersionFacts): void {
    this.entries.delete(key);
    this.entries.set(key, facts);
    this.dirty = true;
  }

  /** Writes the cache if it changed, merging what another process wrote meanwhile. */
  async flush(): Promise<void> {
    if (!this.dirty) return;
    this.entries = await writeKeyedLines(this.file, HEADER, this.entries, this.maxEntries, serialize);
    this.dirty = false;
  }

  async clear(): Promise<void> {
    this.entries.clear();
    this.dirty = false;
    await rm(this.file, { force: true });
  }
}


/** Every field a line may leave out, with the value it then has. */
const DEFAULTS: Omit<VersionFacts, 'name' | 'version' | 'registry'> = {
  scripts: {}, gypfile: null, hasInstallScript: null, integrity: null, shasum: null, tarball: null,
  signatures: null, attestations: null, publishedAt: null, npmUser: null, repository: null, deprecated: null,
};

/** The registry, name and version live in the key; null fields are left out (most are null). */
function serialize(facts: VersionFacts): string {
  const { name: _n, version: _v, registry: _r, ...rest } = facts;
  const compact: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v !== null && !(k === 'scripts' && Object.keys(v as object).length === 0)) compact[k] = v;
  }
  return JSON.stringify(compact);
}

function parseLine(key: string, json: string): VersionFacts | null {
  const space = key.indexOf(' ');
  const at = key.lastIndexOf('@');
  if (space < 0 || at <= space + 1) return null;
  try {
    const rest = JSON.parse(json) as Partial<VersionFacts>;
    if (typeof rest !== 'object' || rest === null || Array.isArray(rest)) return null;
    return deepFreeze({
      name: key.slice(space + 1, at),
      version: key.slice(at + 1),
      ...DEFAULTS,
      ...rest,
      scripts: rest.scripts ?? {},
      registry: key.slice(0, space),
    });
  } catch {
    return null;
  }
}
