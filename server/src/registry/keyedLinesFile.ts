/**
 * The on-disk format of Install Guard's caches: a header line naming the format, then one
 * `key<TAB>json` line per entry. Values stay unparsed strings until asked for, so opening a
 * 20k-entry cache costs a split, not 20k JSON.parse calls. Writes merge what another
 * process wrote meanwhile, keep the newest `limit` entries, and replace the file atomically.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** How much of a cache file is written at a time: smaller pieces, less held at once at a cold audit's end. */
const CHUNK_CHARS = 1 << 18;

/** Entries of a cache file: raw JSON strings, or values set by this process. */
export type KeyedEntries<T> = Map<string, string | T>;

export async function readKeyedLines<T>(file: string, header: string): Promise<KeyedEntries<T>> {
  const entries: KeyedEntries<T> = new Map();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return entries;
  }
  const lines = text.split('\n');
  // Another format (a future version, or garbage): start afresh rather than misread it.
  if (lines[0] !== header) return entries;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const tab = line.indexOf('\t');
    if (tab > 0) entries.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return entries;
}

/** Merges `entries` over the file's current ones, keeps the newest `limit`, writes atomically. */
export async function writeKeyedLines<T>(
  file: string,
  header: string,
  entries: KeyedEntries<T>,
  limit: number,
  serialize: (value: T) => string,
): Promise<KeyedEntries<T>> {
  const merged: KeyedEntries<T> = new Map();
  for (const [k, v] of await readKeyedLines<T>(file, header)) if (!entries.has(k)) merged.set(k, v);
  for (const [k, v] of entries) merged.set(k, v);
  let drop = merged.size - limit;
  for (const k of merged.keys()) {
    if (drop-- <= 0) break;
    merged.delete(k);
  }
  await mkdir(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    // In pieces: a 20k-entry cache is 9 MB, and as one string plus its UTF-8 copy it was
    // the peak of a cold audit's last second.
    const out = await open(tmp, 'w');
    try {
      let chunk = `${header}\n`;
      for (const [k, v] of merged) {
        chunk += `${k}\t${typeof v === 'string' ? v : serialize(v)}\n`;
        if (chunk.length >= CHUNK_CHARS) {
          await out.write(chunk, null, 'utf8');
          chunk = '';
        }
      }
      await out.write(chunk, null, 'utf8');
    } finally {
      await out.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return merged;
}
