/**
 * The on-disk format of Install Guard's caches: a header line naming the format, then one
 * `key<TAB>json` line per entry. Values stay unparsed strings until asked for, so opening a
 * 20k-entry cache costs a split, not 20k JSON.parse calls. Writes merge what another
 * process wrote meanwhile, keep the newest `limit` entries, and replace the file atomically.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

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
  const lines = [header];
  for (const [k, v] of merged) lines.push(`${k}\t${typeof v === 'string' ? v : serialize(v)}`);
  await mkdir(join(file, '..'), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, lines.join('\n') + '\n', 'utf8');
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return merged;
}
