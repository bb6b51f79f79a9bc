/**
 * What every lockfile parser's tests share: fixture paths, the registry truth and entry
 * counts of ../shared/fixtures, and assertions that print what differs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileParseError, type LockedPackage, type Lockfile } from '../../server/src/model/inventory';
import { projectRoot, sharedFixture } from './sharedFixtures';

/** Our own made and malformed fixtures of one tool (test/fixtures/{made,malformed}/<tool>). */
export function fixturePaths(tool: 'npm' | 'bun' | 'yarn' | 'pnpm') {
  return {
    made: (...parts: string[]) => join(projectRoot, 'test', 'fixtures', 'made', tool, ...parts),
    malformed: (name: string) => join(projectRoot, 'test', 'fixtures', 'malformed', tool, name),
  };
}

/** Reads a file and parses it, keeping the text for span checks. */
export function loader(parse: (file: string, text: string) => Lockfile) {
  return (file: string): { text: string; lock: Lockfile } => {
    const text = readFileSync(file, 'utf8');
    return { text, lock: parse(file, text) };
  };
}

export function byId(lock: Lockfile, id: string): LockedPackage {
  const pkg = lock.packages.find((p) => p.id === id);
  assert.ok(pkg, `no package ${id}`);
  return pkg;
}

export function edgeList(edges: { to: string; kind: string }[]): string[] {
  return edges.map((e) => `${e.kind}:${e.to}`).sort();
}

export interface Truth {
  packages: { name: string; version: string; lockfileFlag: boolean | null }[];
  nonRegistry: Record<string, { count: number; items: string[] }>;
}

/** lockfiles/truth/<project>.json of the shared fixtures. */
export function truth(project: string): Truth {
  return JSON.parse(readFileSync(sharedFixture('lockfiles', 'truth', `${project}.json`)!, 'utf8')) as Truth;
}

/** A column of lockfiles/SOURCES.md for one project row, by header name. */
export function sourcesColumn(project: string, column: string): number {
  const lines = readFileSync(sharedFixture('lockfiles', 'SOURCES.md')!, 'utf8').split('\n');
  const cells = (line: string) => line.split('|').map((c) => c.trim());
  const header = cells(lines.find((l) => l.startsWith('| dir |'))!);
  const row = cells(lines.find((l) => l.startsWith(`| ${project} |`))!);
  return Number(row[header.indexOf(column)]);
}

export function assertSameSet(actual: Iterable<string>, expected: Iterable<string>, what: string): void {
  const a = new Set(actual);
  const e = new Set(expected);
  const missing = [...e].filter((k) => !a.has(k));
  const extra = [...a].filter((k) => !e.has(k));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${what}: sets differ`);
}

const REFUSED = 'refused';

/**
 * For texts a fast reader must decline: it returns null, and the parser's reading (`ours`,
 * which then falls back to the tool's parser) is the tool's own (`theirs`): the same value,
 * or both refuse. `oursMayRefuse`: ours may refuse what the tool reads (Yarn 1's parser
 * hangs on some texts ours refuses first). A crash of ours is never taken for a refusal.
 */
export function assertDeclinedAndReadAlike(
  cases: readonly (readonly [name: string, text: string])[],
  readers: { fast: (text: string) => unknown; ours: (text: string) => unknown; theirs: (text: string) => unknown; oursMayRefuse?: boolean },
): void {
  for (const [name, text] of cases) {
    assert.equal(readers.fast(text), null, name);
    let ours: unknown;
    let theirs: unknown;
    try {
      ours = readers.ours(text);
    } catch (error) {
      if (!(error instanceof FileParseError)) throw error;
      ours = REFUSED;
    }
    try {
      theirs = readers.theirs(text);
    } catch {
      theirs = REFUSED;
    }
    if (!(readers.oursMayRefuse && ours === REFUSED)) assert.deepStrictEqual(ours, theirs, name);
  }
}
