/**
 * pnpm-lock.yaml -> the lockfile model, lockfileVersion 6.0/6.1 (pnpm 8) and 9.0 (pnpm 9, 10).
 *
 *  6.x  `packages` keys `/name@1.2.3(peer@1.0.0)` (or `host/path/commit` + name/version fields
 *       for git and tarballs) hold resolution, dependencies and `requiresBuild` (the
 *       lockfileFlag). Importers refer to them by `version: 1.2.3(peer@…)` or a full key.
 *  9.0  `packages` keys `name@1.2.3` hold the resolution (no requiresBuild any more);
 *       `snapshots` keys `name@1.2.3(peer@1.0.0)` hold each installed instance's
 *       dependencies. One LockedPackage per snapshot (id = snapshot key), its span the
 *       `packages` key of that name@version, where the resolution and integrity are.
 *
 * Why not the `yaml` Document: on a 20k-package 9.0 lockfile (6 MB) `yaml` took 1.4-1.9 s
 * with uniqueKeys off (11 s with its default duplicate-key check, quadratic in a map's size;
 * its CST Parser alone 1.0-1.4 s) against 0.15 s for js-yaml, the parser pnpm itself reads
 * lockfiles with; the whole audit must stay under 2 s. So values come from lockfileYaml.ts
 * (a fast reader for the YAML pnpm writes, else js-yaml through @yarnpkg/parsers' parseSyml,
 * FAILSAFE schema: every scalar a string) and key spans from a scan of the machine-written
 * key lines; only
 * where the scan cannot place every key (hand-formatted YAML) does `yaml`'s Document.
 */
import { basename } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import {
  FileParseError,
  NO_SPAN,
  newLockedPackage,
  type EdgeKind,
  type FileProblem,
  type LockEdge,
  type LockedPackage,
  type LockImporter,
  type Lockfile,
  type SourceKind,
  type Span,
} from '../model/inventory';
import { isRecord, rejectConflictMarkers, stringOrNull } from './lockJson';
import { readYamlMapping } from './lockfileYaml';
import { classifyResolved } from './sourceKind';

const SUPPORTED = 'lockfileVersion 6.0 and 6.1 (pnpm 8) and 9.0 (pnpm 9 and later)';
const DEPENDENCY_BLOCKS = [
  ['dependencies', 'prod'],
  ['optionalDependencies', 'optional'],
  ['devDependencies', 'dev'],
] as const;

type Format = 'pnpm-6' | 'pnpm-9';
type Problem = (message: string, span?: Span) => void;

export function parsePnpmLock(file: string, text: string): Lockfile {
  const what = basename(file) || 'pnpm-lock.yaml';
  rejectConflictMarkers(file, text);
  const root = readYamlMapping(file, text, what);
  const format = lockfileFormat(file, text, what, root.lockfileVersion);
  for (const section of ['importers', 'packages', 'snapshots']) {
    const value = root[section];
    if (value !== undefined && value !== null && !isRecord(value)) {
      const line = new RegExp(`^${section}:[^\\r\\n]*`, 'm').exec(text);
      throw new FileParseError(file, `${what}: "${section}" is not a mapping — this is not a pnpm lockfile`, line ? { start: line.index, end: line.index + line[0].length } : undefined);
    }
  }
  const problems: FileProblem[] = [];
  const problem: Problem = (message, span) => problems.push(span ? { file, message, span } : { file, message });

  const packagesNode = recordOrEmpty(root.packages);
  const packageSpans = keySpans(text, 'packages', packagesNode, problem);
  const packages: LockedPackage[] = [];
  const declared = new Map<LockedPackage, Record<string, unknown>>();

  if (format === 'pnpm-6') {
    for (const [key, value] of Object.entries(packagesNode)) {
      const span = packageSpans.get(key) ?? NO_SPAN;
      const pkg = readPackage(key, key, value, span, problem);
      if (!pkg) continue;
      pkg.lockfileFlag = isRecord(value) && String(value.requiresBuild) === 'true';
      packages.push(pkg);
      declared.set(pkg, value as Record<string, unknown>);
    }
  } else {
    if (root.snapshots === undefined && Object.keys(packagesNode).length > 0) {
      throw new FileParseError(file, `${what} (lockfileVersion 9.0) has "packages" but no "snapshots": the file is incomplete (truncated?) — run pnpm install`, {
        start: Math.max(0, text.length - 1),
        end: text.length,
      });
    }
    const snapshots = recordOrEmpty(root.snapshots);
    const snapshotSpans = keySpans(text, 'snapshots', snapshots, problem);
    const instantiated = new Set<string>();
    for (const [key, snapshot] of Object.entries(snapshots)) {
      const metaKey = withoutSuffixes(key);
      instantiated.add(metaKey);
      const meta = packagesNode[metaKey];
      const span = packageSpans.get(metaKey) ?? snapshotSpans.get(key) ?? NO_SPAN;
      if (!isRecord(meta)) problem(`snapshot "${key}" has no "packages" entry "${metaKey}" (no resolution, no integrity)`, span);
      const pkg = readPackage(key, metaKey, isRecord(meta) ? meta : {}, span, problem);
      if (!pkg) continue;
      packages.push(pkg);
      declared.set(pkg, recordOrEmpty(snapshot));
    }
    for (const [key, meta] of Object.entries(packagesNode)) {
      if (instantiated.has(key)) continue;
      const span = packageSpans.get(key) ?? NO_SPAN;
      problem(`"packages" entry "${key}" has no snapshot: the lockfile is incomplete — run pnpm install`, span);
      const pkg = readPackage(key, key, meta, span, problem);
      if (pkg) packages.push(pkg);
    }
  }

  const ids = new Set(packages.map((p) => p.id));
  const edgesOf = (from: string, block: Record<string, unknown>, withDev: boolean, span?: Span): LockEdge[] => {
    const edges: LockEdge[] = [];
    for (const [field, kind] of DEPENDENCY_BLOCKS) {
      if (kind === 'dev' && !withDev) continue;
      for (const [name, value] of Object.entries(recordOrEmpty(block[field]))) {
        // Importers write { specifier, version }; packages and snapshots the version alone.
        const ref = isRecord(value) ? stringOrNull(value.version) : stringOrNull(value);
        if (ref === null) {
          problem(`${from}: ${field} "${name}" has no version`, span);
          continue;
        }
        const to = format === 'pnpm-6' ? refToKey6(name, ref) : refToKey9(name, ref);
        if (to === null) continue; // link: another importer or a linked folder, not a package
        if (ids.has(to)) edges.push({ to, kind: kind as EdgeKind });
        else problem(`${from}: ${field} "${name}" points at "${to}", which the lockfile does not list`, span);
      }
    }
    return edges;
  };
  for (const [pkg, block] of declared) pkg.edges = edgesOf(pkg.id, block, false, pkg.span);

  const importers: LockImporter[] = [];
  if (isRecord(root.importers)) {
    for (const [dir, block] of Object.entries(root.importers)) {
      importers.push({ dir: normalizeDir(dir), edges: edgesOf(`importer "${dir}"`, recordOrEmpty(block), true) });
    }
  } else {
    // A single-project 6.x lockfile keeps the root's dependency blocks at the top level.
    importers.push({ dir: '.', edges: edgesOf('importer "."', root, true) });
  }
  if (!importers.some((i) => i.dir === '.')) importers.unshift({ dir: '.', edges: [] });

  return { file, format, importers, packages, problems };
}

/** One LockedPackage from a 6.x `packages` entry or a 9.0 snapshot (`meta` = its `packages` entry). */
function readPackage(
  id: string,
  metaKey: string,
  meta: unknown,
  span: Span,
  problem: Problem,
): LockedPackage | null {
  if (!isRecord(meta)) {
    problem(`"packages" entry "${metaKey}" has no fields (truncated?); it is left out`, span);
    return null;
  }
  const fromKey = nameAndVersionOfKey(metaKey);
  // Git, tarball and file entries carry name and version fields; registry keys say both.
  const name = stringOrNull(meta.name) ?? fromKey?.name ?? null;
  const version = stringOrNull(meta.version) ?? fromKey?.version ?? null;
  if (name === null || version === null) {
    problem(`"packages" entry "${metaKey}" has no name@version in its key nor name/version fields; it is left out`, span);
    return null;
  }
  const resolution = meta.resolution;
  // (An empty meta: a 9.0 snapshot without a packages entry, already reported.)
  if (!isRecord(resolution) && Object.keys(meta).length > 0) problem(`"packages" entry "${metaKey}" has no resolution`, span);
  const { source, resolved, integrity } = readResolution(isRecord(resolution) ? resolution : {}, name, fromKey?.version ?? metaKey);
  return newLockedPackage({
    id,
    name,
    version,
    source,
    resolved,
    integrity,
    lockfileFlag: null, // 9.0 dropped requiresBuild; the 6.x caller sets it
    span,
    installPath: null, // pnpm's virtual store path is derived, not recorded
  });
}

function readResolution(
  resolution: Record<string, unknown>,
  name: string,
  ref: string,
): { source: SourceKind; resolved: string | null; integrity: string | null } {
  const integrity = stringOrNull(resolution.integrity);
  const type = stringOrNull(resolution.type);
  if (type === 'git') {
    const repo = stringOrNull(resolution.repo) ?? '';
    const commit = stringOrNull(resolution.commit);
    return { source: 'git', resolved: commit ? `${repo}#${commit}` : repo, integrity };
  }
  if (type === 'directory') {
    return { source: 'file', resolved: `file:${stringOrNull(resolution.directory) ?? ''}`, integrity };
  }
  const tarball = stringOrNull(resolution.tarball);
  if (tarball !== null) {
    if (/^file:/i.test(tarball)) return { source: 'file', resolved: tarball, integrity };
    // pnpm fetches a hosted git dependency as the host's archive and runs its `prepare`
    // like any git dependency (its isGitHostedPkgUrl rule): that is a git source.
    if (isGitHostedArchive(tarball)) return { source: 'git', resolved: tarball, integrity };
    return { source: classifyResolved(tarball, name), resolved: tarball, integrity };
  }
  if (type !== null) return { source: 'tarball', resolved: ref, integrity }; // e.g. runtime binaries
  // { integrity } alone: the configured registry's tarball of name@version.
  return { source: 'registry', resolved: null, integrity };
}

function isGitHostedArchive(url: string): boolean {
  return (
    /^https:\/\/codeload\.github\.com\//i.test(url) ||
    /^https:\/\/gitlab\.com\/.+\/-\/archive\//i.test(url) ||
    /^https:\/\/bitbucket\.org\/.+\/get\//i.test(url)
  );
}

/** `/@s/a@1.0.0(p@1)` (6.x) or `@s/a@1.0.0(p@1)` (9.0) -> { name, version }; null for other shapes. */
function nameAndVersionOfKey(key: string): { name: string; version: string } | null {
  const body = withoutSuffixes(key.startsWith('/') ? key.slice(1) : key);
  const at = body.indexOf('@', body.startsWith('@') ? 1 : 0);
  if (at <= 0) return null;
  return { name: body.slice(0, at), version: body.slice(at + 1) };
}

/**
 * The key without its trailing `(peer@1)(patch_hash=…)` groups: balanced parentheses read
 * from the end, so a '(' inside a URL earlier in the key is kept.
 */
function withoutSuffixes(key: string): string {
  let end = key.length;
  while (end > 0 && key[end - 1] === ')') {
    let depth = 0;
    let i = end - 1;
    for (; i >= 0; i--) {
      if (key[i] === ')') depth++;
      else if (key[i] === '(' && --depth === 0) break;
    }
    if (i <= 0) break;
    end = i;
  }
  return key.slice(0, end);
}

/** pnpm 8's refToRelative: the `packages` key a dependency version points at (null: a link). */
function refToKey6(name: string, ref: string): string | null {
  if (ref.startsWith('link:')) return null;
  if (ref.startsWith('file:')) return ref;
  const paren = ref.indexOf('(');
  if (!ref.includes('/') || (paren >= 0 && ref.lastIndexOf('/', paren) === -1)) return `/${name}@${ref}`;
  return ref;
}

/** pnpm 9's refToRelative: `1.2.3(p@1)` -> `name@1.2.3(p@1)`; an alias's `real@1.2.3` stays. */
function refToKey9(name: string, ref: string): string | null {
  if (ref.startsWith('link:')) return null;
  if (ref.startsWith('@')) return ref;
  const at = ref.indexOf('@');
  if (at < 0) return `${name}@${ref}`;
  const colon = ref.indexOf(':');
  const paren = ref.indexOf('(');
  return (colon < 0 || at < colon) && (paren < 0 || at < paren) ? ref : `${name}@${ref}`;
}

// ------------------------------------------------------------------------- reading the text

function lockfileFormat(file: string, text: string, what: string, version: unknown): Format {
  const line = /^lockfileVersion:[^\r\n]*/m.exec(text);
  const span = line ? { start: line.index, end: line.index + line[0].length } : { start: 0, end: Math.min(1, text.length) };
  if (typeof version !== 'string' && typeof version !== 'number') {
    throw new FileParseError(file, `${what} has no lockfileVersion: it is not a pnpm lockfile (Install Guard reads ${SUPPORTED})`, span);
  }
  const v = String(version);
  if (v === '6.0' || v === '6.1') return 'pnpm-6';
  if (v === '9.0') return 'pnpm-9';
  const era = /^[1-5](\.|$)/.test(v) ? ' (written by pnpm 7 or older)' : '';
  throw new FileParseError(file, `${what} has lockfileVersion ${v}${era}, which Install Guard cannot read: it reads ${SUPPORTED} — regenerate the lockfile with a current pnpm`, span);
}

/**
 * Spans of the keys of a top-level section, as written (quotes included). pnpm writes each
 * key on its own line, two spaces in; the scan reads those lines. When it cannot place every
 * key the parser found (hand-written flow style, odd indentation), `yaml`'s Document does.
 */
function keySpans(text: string, section: string, parsed: Record<string, unknown>, problem: Problem): Map<string, Span> {
  const spans = new Map<string, Span>();
  const header = new RegExp(`^${section}:[ \\t]*(?:#[^\\r\\n]*)?\\r?$`, 'm').exec(text);
  if (header) {
    const next = /^[^\s#]/gm;
    next.lastIndex = header.index + header[0].length;
    const end = next.exec(text)?.index ?? text.length;
    const keyLine = /^ {2}([^\s#][^\r\n]*)/gm;
    keyLine.lastIndex = header.index + header[0].length;
    for (let m = keyLine.exec(text); m && m.index < end; m = keyLine.exec(text)) {
      const key = readKey(m[1]!);
      if (!key) continue;
      const span = { start: m.index + 2, end: m.index + 2 + key.length };
      // js-yaml here keeps the last of two equal keys; pnpm's own reading refuses the file.
      if (spans.has(key.value)) problem(`"${section}" lists "${key.value}" twice (a bad merge?); pnpm refuses such a lockfile`, span);
      else spans.set(key.value, span);
    }
  }
  for (const key of Object.keys(parsed)) if (!spans.has(key)) return documentKeySpans(text, section);
  return spans;
}

/** A key at the start of `line`: its value and how many characters it takes, or null. */
function readKey(line: string): { value: string; length: number } | null {
  const quote = line[0];
  if (quote === "'" || quote === '"') {
    let i = 1;
    for (; i < line.length; i++) {
      if (quote === '"' && line[i] === '\\') i++;
      else if (line[i] === quote) {
        if (quote === "'" && line[i + 1] === "'") i++;
        else break;
      }
    }
    if (i >= line.length || line[i + 1] !== ':') return null;
    const raw = line.slice(0, i + 1);
    if (quote === "'") return { value: raw.slice(1, -1).replace(/''/g, "'"), length: raw.length };
    try {
      return { value: JSON.parse(raw) as string, length: raw.length };
    } catch {
      return null;
    }
  }
  let colon = line.indexOf(': ');
  if (colon < 0) colon = line.trimEnd().endsWith(':') ? line.trimEnd().length - 1 : -1;
  return colon > 0 ? { value: line.slice(0, colon), length: colon } : null;
}

function documentKeySpans(text: string, section: string): Map<string, Span> {
  const spans = new Map<string, Span>();
  const node = parseDocument(text, { uniqueKeys: false }).get(section, true);
  if (!isMap(node)) return spans;
  for (const pair of node.items) {
    const key = pair.key;
    if (isScalar(key) && key.range && !spans.has(String(key.value))) {
      spans.set(String(key.value), { start: key.range[0], end: key.range[1] });
    }
  }
  return spans;
}

// --------------------------------------------------------------------------------- helpers

function normalizeDir(dir: string): string {
  const trimmed = dir.replace(/^\.\//, '').replace(/\/+$/, '');
  return trimmed === '' ? '.' : trimmed;
}

function recordOrEmpty(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}
