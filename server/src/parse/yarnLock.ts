/**
 * yarn.lock -> the lockfile model, for both formats Yarn writes under that name:
 *  - classic (Yarn 1, "# yarn lockfile v1"): Yarn's own indentation syntax, read by
 *    yarnClassicSyntax.ts (a fast reader for what Yarn writes, Yarn 1's parser for the rest);
 *  - Berry (Yarn 2+, a `__metadata` block): YAML, read with @yarnpkg/parsers' parseSyml.
 *
 * Both key each entry by its descriptors ("name@range, name@range2") and record no offsets,
 * so spans come from a light scan of the unindented key lines, matched to the parsed
 * entries by their descriptors. Neither format has an install-script flag (lockfileFlag
 * null) nor npm integrity for Berry (its checksum hashes Yarn's cache zip, not the tarball).
 *
 * Importers: classic records none (create "." without edges; `linkYarnImporters` adds the
 * manifests' edges). Berry records each workspace as a `workspace:` entry with its
 * dependencies but without dev vs prod, so `linkYarnImporters` also sets those kinds.
 */
import { basename } from 'node:path';
import { FileParseError, newLockedPackage, NO_SPAN, type DependencyKind, type EdgeKind, type FileProblem } from '../model/inventory';
import type { LockEdge, LockedPackage, LockImporter, Lockfile, SourceKind, Span } from '../model/inventory';
import { isRecord, rejectConflictMarkers, stringOrNull } from './lockJson';
import { readYamlMapping } from './lockfileYaml';
import { classifyResolved, classifySpec } from './sourceKind';
import { readClassicLockfile } from './yarnClassicSyntax';

/** What linkYarnImporters needs of a package.json (ProjectManifest fits). */
export interface YarnImporterManifest {
  dir: string;
  name?: string | null;
  dependencies: readonly { name: string; spec: string; kind: DependencyKind }[];
}

interface YarnIndex {
  /** Every descriptor of every entry -> the entry's id, or WORKSPACE + dir for Berry workspaces. */
  byDescriptor: Map<string, string>;
  /** Berry: per workspace dir, the edges its entry declares, by dependency name. */
  workspaceEdges: Map<string, Map<string, LockEdge[]>>;
  /** Berry: `__metadata.version`, the lockfile format's own version. */
  metadataVersion: number | null;
}

/** Yarn Berry's lockfile format version (`__metadata.version`); null for classic or another format. */
export function yarnLockfileVersion(lockfile: Lockfile): number | null {
  return indexes.get(lockfile)?.metadataVersion ?? null;
}

const WORKSPACE = '\0workspace:';
/** Per parsed lockfile, what linkYarnImporters needs; the model has no place for it. */
const indexes = new WeakMap<Lockfile, YarnIndex>();
const PROTOCOL = /^[a-z][a-z0-9+.-]*:/i;

export function parseYarnLock(file: string, text: string): Lockfile {
  rejectConflictMarkers(file, text);
  return /^__metadata:/m.test(text) ? parseBerry(file, text) : parseClassic(file, text);
}

// ---------------------------------------------------------------------------------- classic

function parseClassic(file: string, text: string): Lockfile {
  const what = basename(file) || 'yarn.lock';
  const document = readClassicLockfile(file, text, what);
  const parsed = document.object;
  const problems: FileProblem[] = [];
  const problem = (message: string, span?: Span) => problems.push(span ? { file, message, span } : { file, message });

  // The parser gives every descriptor of an entry the same object: group them back.
  const groups = new Map<Record<string, unknown>, string[]>();
  for (const descriptor of Object.keys(parsed)) {
    const value = parsed[descriptor];
    if (!isRecord(value)) {
      problem(`${JSON.stringify(descriptor)} is not an entry (${typeof value} at the top level); it is left out`, fallbackSpan(text, descriptor));
      continue;
    }
    if (!groups.has(value)) groups.set(value, []);
    groups.get(value)!.push(descriptor);
  }
  const spanOf = document.spans ?? new Map<Record<string, unknown>, Span>();
  if (!document.spans) {
    for (const key of scanTopLevelKeys(text)) {
      const value = parsed[firstClassicDescriptor(key.raw)];
      if (isRecord(value) && !spanOf.has(value)) spanOf.set(value, key.span);
    }
  }

  const byDescriptor = new Map<string, string>();
  const entries: { pkg: LockedPackage; value: Record<string, unknown> }[] = [];
  for (const [value, descriptors] of groups) {
    const span = spanOf.get(value) ?? fallbackSpan(text, descriptors[0]!);
    const first = splitDescriptor(descriptors[0]!);
    const version = stringOrNull(value.version);
    if (!first || version === null) {
      problem(`entry ${JSON.stringify(descriptors.join(', '))} has no ${first ? 'version' : 'name@range key'}; it is left out`, span);
      continue;
    }
    const name = aliasTarget(first.range) ?? first.name;
    const resolved = stringOrNull(value.resolved);
    // The range says git/file/link/tarball where the resolved URL cannot: a GitHub shorthand
    // resolves to a codeload tarball, which only the descriptor shows to be a git commit.
    // (A range with neither ':' nor '/' cannot name one: skip the classification.)
    const fromSpec = /[:/]/.test(first.range) ? classifySpec(first.range, name) : 'registry';
    const source: SourceKind = fromSpec !== 'registry' ? fromSpec : classifyResolved(resolved, name);
    const pkg = newPackage(descriptors[0]!, name, version, source, resolved, stringOrNull(value.integrity), span);
    for (const descriptor of descriptors) byDescriptor.set(descriptor, pkg.id);
    entries.push({ pkg, value });
  }

  for (const { pkg, value } of entries) {
    for (const [field, kind] of [['dependencies', 'prod'], ['optionalDependencies', 'optional']] as const) {
      for (const [dep, range] of stringEntries(value[field])) {
        const to = byDescriptor.get(`${dep}@${range}`);
        if (to) pkg.edges.push({ to, kind });
        else problem(`${pkg.id}: ${field} "${dep}@${range}" has no entry in ${what}`, pkg.span);
      }
    }
  }

  const packages = entries.map((e) => e.pkg);
  const lockfile: Lockfile = { file, format: 'yarn-classic', importers: [{ dir: '.', edges: [] }], packages, problems };
  indexes.set(lockfile, { byDescriptor, workspaceEdges: new Map(), metadataVersion: null });
  return lockfile;
}

/** `"a@1", a@2` -> 'a@1': the first descriptor of a key line, as Yarn 1's tokenizer reads it. */
function firstClassicDescriptor(raw: string): string {
  const comma = raw.indexOf(',');
  if (!raw.startsWith('"')) return (comma < 0 ? raw : raw.slice(0, comma)).trim();
  let end = 1;
  while (end < raw.length && raw[end] !== '"') end += raw[end] === '\\' ? 2 : 1;
  return unquoteJson(raw.slice(1, end));
}

// ------------------------------------------------------------------------------------ Berry

function parseBerry(file: string, text: string): Lockfile {
  const what = basename(file) || 'yarn.lock';
  const parsed = readYamlMapping(file, text, what);
  const problems: FileProblem[] = [];
  const problem = (message: string, span?: Span) => problems.push(span ? { file, message, span } : { file, message });
  if (!isRecord(parsed.__metadata)) {
    throw new FileParseError(file, `${what} has a __metadata key that is not a block: it is not a Yarn Berry lockfile`, fallbackSpan(text, '__metadata'));
  }
  const spans = new Map<string, Span>();
  for (const key of scanTopLevelKeys(text)) spans.set(unquoteYamlKey(key.raw), key.span);

  const byDescriptor = new Map<string, string>();
  /** Builtin compat patches (`X@patch:X@npm%3A^1#optional!builtin<compat/X>`) by the plain descriptor they wrap. */
  const patchOf = new Map<string, string>();
  /** pkg: null for a workspace (dir); madeFrom: the descriptor a patch entry wraps. */
  const entries: { pkg: LockedPackage | null; dir: string | null; value: Record<string, unknown>; span: Span; madeFrom?: string }[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    if (key === '__metadata') continue;
    const span = spans.get(key) ?? fallbackSpan(text, key);
    const descriptors = key.split(/ *, */).filter((d) => d !== '');
    const resolution = isRecord(value) ? stringOrNull(value.resolution) : null;
    const locator = resolution === null ? null : splitDescriptor(resolution);
    if (!isRecord(value) || !locator || descriptors.length === 0) {
      problem(`entry ${JSON.stringify(key)} has no ${isRecord(value) ? 'resolution ("name@protocol:…")' : 'fields'}; it is left out`, span);
      continue;
    }
    const ref = locator.range;
    if (ref.startsWith('workspace:')) {
      const dir = ref.slice('workspace:'.length).replace(/^\.\//, '').replace(/\/+$/, '') || '.';
      for (const d of descriptors) byDescriptor.set(d, WORKSPACE + dir);
      entries.push({ pkg: null, dir, value, span });
      continue;
    }
    const source = berrySource(ref, locator.name);
    const version = stringOrNull(value.version) ?? (ref.startsWith('npm:') ? ref.slice(4) : null);
    if (version === null) problem(`entry ${JSON.stringify(key)} has no version`, span);
    // resolved: the protocol part (`git+https://…#commit=…`, `patch:…`), null for npm: (the
    // configured registry). integrity stays null: `checksum` hashes Yarn's cache zip.
    const pkg = newPackage(descriptors[0]!, locator.name, version ?? '', source, ref.startsWith('npm:') ? null : ref, null, span);
    for (const d of descriptors) {
      byDescriptor.set(d, pkg.id);
      const wrapped = d.includes('@patch:') ? /^(?:[^@]+|@[^@]+)@patch:([^#]+)#(?:optional!)?builtin</.exec(d) : null;
      if (wrapped) patchOf.set(safeDecode(wrapped[1]!), pkg.id);
    }
    // The key's descriptor (`…@patch:fsevents@npm%3A^2.3.3#…`) names the entry a patch wraps.
    const inner = source === 'patch' ? /@patch:([^#]+)#/.exec(descriptors[0]!) : null;
    entries.push({ pkg, dir: null, value, span, ...(inner ? { madeFrom: safeDecode(inner[1]!) } : {}) });
  }

  let byName: Map<string, Set<string>> | undefined; // built on the first miss: rarely needed
  const resolveEdge = (dep: string, range: string): string[] => {
    let descriptor = `${dep}@${range}`;
    let to = byDescriptor.get(descriptor);
    if (to === undefined && !PROTOCOL.test(range)) to = byDescriptor.get((descriptor = `${dep}@npm:${range}`));
    // A root `resolutions` override makes Yarn lock the overriding descriptor instead: when
    // the name has a single entry, that entry is the one installed.
    if (to === undefined) {
      const only = (byName ??= idsByName(byDescriptor)).get(dep);
      if (only?.size === 1) to = [...only][0];
    }
    if (to === undefined) return [];
    // Yarn rewrites a plain descriptor to its builtin compat patch when it installs.
    const patched = patchOf.get(descriptor);
    return patched && patched !== to ? [to, patched] : [to];
  };
  const importers: LockImporter[] = [];
  const workspaceEdges = new Map<string, Map<string, LockEdge[]>>();
  for (const { pkg, dir, value, span, madeFrom } of entries) {
    const edges: LockEdge[] = [];
    const edgesByName = new Map<string, LockEdge[]>();
    const meta = isRecord(value.dependenciesMeta) ? value.dependenciesMeta : {};
    for (const [dep, range] of stringEntries(value.dependencies)) {
      const targets = resolveEdge(dep, range);
      if (targets.length === 0) problem(`${pkg ? pkg.id : `workspace ${dir}`}: dependency "${dep}@${range}" has no entry in ${what}`, span);
      const depMeta = meta[dep];
      const kind: EdgeKind = isRecord(depMeta) && String(depMeta.optional) === 'true' ? 'optional' : 'prod';
      // A target in another workspace is an importer, not a package: no edge.
      const depEdges = targets.filter((to) => !to.startsWith(WORKSPACE)).map((to) => ({ to, kind }));
      edges.push(...depEdges);
      edgesByName.set(dep, depEdges);
    }
    // peerDependencies are ranges the parent satisfies (Yarn's virtual packages are not
    // locked), so they add no edge: the parent's own dependency edge already reaches them.
    if (pkg) {
      // A patch entry is built from the package it wraps: keep that one reachable through it.
      const wrapped = madeFrom === undefined ? undefined : byDescriptor.get(madeFrom);
      if (wrapped !== undefined && !wrapped.startsWith(WORKSPACE)) edges.unshift({ to: wrapped, kind: 'prod' });
      pkg.edges = edges;
    } else if (dir !== null) {
      importers.push({ dir, edges });
      workspaceEdges.set(dir, edgesByName);
    }
  }
  if (!importers.some((i) => i.dir === '.')) importers.unshift({ dir: '.', edges: [] });
  const packages = entries.flatMap((e) => (e.pkg ? [e.pkg] : []));
  const lockfile: Lockfile = { file, format: 'yarn-berry', importers, packages, problems };
  const version = Number(parsed.__metadata.version);
  indexes.set(lockfile, { byDescriptor, workspaceEdges, metadataVersion: Number.isInteger(version) ? version : null });
  return lockfile;
}

/** The source a Berry resolution (`name@<protocol>:…`) names. */
function berrySource(ref: string, name: string): SourceKind {
  if (ref.startsWith('npm:')) return 'registry';
  if (ref.startsWith('patch:')) return 'patch';
  // exec: runs a local script that produces the package: no registry can vouch for it.
  if (ref.startsWith('exec:')) return 'file';
  const source = classifyResolved(ref, name);
  // An unknown plugin protocol is not the registry either.
  return source === 'registry' && !/^https?:/i.test(ref) ? 'tarball' : source;
}

// ------------------------------------------------------------------------------- importers

/**
 * Adds the edges of each package.json to its importer. yarn.lock classic records no
 * importers: each manifest dependency `name@spec` is resolved to the entry listing that
 * descriptor. Berry records each workspace's dependencies but not whether they are dev:
 * the manifest sets the kind (prod wins when a name is in several blocks; an edge the
 * lockfile marks optional stays optional). Workspace and link dependencies add no edge.
 */
export function linkYarnImporters(lockfile: Lockfile, manifests: readonly YarnImporterManifest[]): void {
  if (lockfile.format !== 'yarn-classic' && lockfile.format !== 'yarn-berry') return;
  const index = indexes.get(lockfile);
  if (!index) return; // not parseYarnLock's: nothing to resolve descriptors with
  const berry = lockfile.format === 'yarn-berry';
  const workspaceNames = new Set(manifests.map((m) => m.name).filter((n): n is string => !!n));
  for (const manifest of manifests) {
    let importer = lockfile.importers.find((i) => i.dir === manifest.dir);
    if (!importer) lockfile.importers.push((importer = { dir: manifest.dir, edges: [] }));
    const recorded = index.workspaceEdges.get(manifest.dir);
    const kinds = new Map<string, { kind: EdgeKind; spec: string }>();
    for (const dep of manifest.dependencies) {
      if (dep.kind === 'peerDependencies') continue; // installed by whoever depends on this workspace
      const kind = EDGE_KIND[dep.kind];
      const seen = kinds.get(dep.name);
      if (!seen || RANK[kind] > RANK[seen.kind]) kinds.set(dep.name, { kind, spec: dep.spec });
    }
    for (const [name, { kind, spec }] of kinds) {
      const edges = recorded?.get(name);
      if (edges) {
        for (const edge of edges) edge.kind = kind === 'prod' && edge.kind === 'optional' ? 'optional' : kind;
        continue;
      }
      const descriptor = berry && !PROTOCOL.test(spec) ? `${name}@npm:${spec}` : `${name}@${spec}`;
      const to = index.byDescriptor.get(`${name}@${spec}`) ?? index.byDescriptor.get(descriptor);
      if (to !== undefined) {
        if (!to.startsWith(WORKSPACE) && !importer.edges.some((e) => e.to === to)) importer.edges.push({ to, kind });
        continue;
      }
      if (/^(workspace|link|portal):/.test(spec) || workspaceNames.has(name)) continue;
      const where = manifest.dir === '.' ? 'package.json' : `${manifest.dir}/package.json`;
      const message = `${where} depends on "${name}@${spec}", which ${basename(lockfile.file)} does not lock: the lockfile is out of date — run yarn install`;
      lockfile.problems.push({ file: lockfile.file, message });
    }
  }
}

const EDGE_KIND: Record<DependencyKind, EdgeKind> = { dependencies: 'prod', devDependencies: 'dev', optionalDependencies: 'optional', peerDependencies: 'peer' };
const RANK: Record<EdgeKind, number> = { prod: 3, optional: 2, dev: 1, peer: 0 };

// --------------------------------------------------------------------------------- helpers

/**
 * Every entry key of a yarn.lock as written (quotes included, no colon): an unindented,
 * non-comment line ending in ':' (or YAML's `? key` form Berry uses past 1024 characters).
 */
function scanTopLevelKeys(text: string): { raw: string; span: Span }[] {
  const keys: { raw: string; span: Span }[] = [];
  const line = /^[^\s#][^\r\n]*/gm;
  for (let m = line.exec(text); m; m = line.exec(text)) {
    const content = m[0].trimEnd();
    if (content.startsWith('? ')) {
      const raw = content.slice(2).trim();
      const start = m.index + m[0].indexOf(raw);
      keys.push({ raw, span: { start, end: start + raw.length } });
    } else if (content.endsWith(':')) {
      const raw = content.slice(0, -1).trimEnd();
      keys.push({ raw, span: { start: m.index, end: m.index + raw.length } });
    }
  }
  return keys;
}

function unquoteYamlKey(raw: string): string {
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) return unquoteJson(raw.slice(1, -1));
  if (raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'")) return raw.slice(1, -1).replace(/''/g, "'");
  return raw;
}

/** The content of a double-quoted string, its escapes read as JSON reads them. */
function unquoteJson(inner: string): string {
  return inner.includes('\\') ? orElse(() => JSON.parse(`"${inner}"`) as string, inner) : inner;
}

function safeDecode(value: string): string {
  return orElse(() => decodeURIComponent(value), value);
}

function orElse<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** Where a key the scan missed (hand-formatted text) is, at worst the file's first character. */
function fallbackSpan(text: string, key: string): Span {
  const at = text.indexOf(key);
  return at < 0 ? NO_SPAN : { start: at, end: at + key.length };
}

/** `@scope/name@range` -> { name: '@scope/name', range }; the separator is the first '@' after a scope. */
function splitDescriptor(descriptor: string): { name: string; range: string } | null {
  const at = descriptor.indexOf('@', descriptor.startsWith('@') ? 1 : 0);
  return at > 0 ? { name: descriptor.slice(0, at), range: descriptor.slice(at + 1) } : null;
}

/** The real package of an alias range `npm:real@^1` (classic writes no name field). */
function aliasTarget(range: string): string | null {
  if (!range.startsWith('npm:')) return null;
  const inner = splitDescriptor(range.slice(4));
  return inner ? inner.name : range.slice(4) || null;
}

function newPackage(
  id: string, name: string, version: string, source: SourceKind, resolved: string | null, integrity: string | null, span: Span,
): LockedPackage {
  // yarn.lock has no install-script flag (lockfileFlag), nor the layout (node_modules, PnP).
  return newLockedPackage({ id, name, version, source, resolved, integrity, lockfileFlag: null, span, installPath: null });
}

/** Descriptor name (the alias for `a@npm:b@1`) -> the ids of the entries locked under it. */
function idsByName(byDescriptor: Map<string, string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [descriptor, id] of byDescriptor) {
    const name = splitDescriptor(descriptor)?.name ?? '';
    out.set(name, (out.get(name) ?? new Set<string>()).add(id));
  }
  return out;
}

/** The string entries of a `{ name: range }` block. */
function stringEntries(value: unknown): [string, string][] {
  return isRecord(value) ? (Object.entries(value).filter((e) => typeof e[1] === 'string') as [string, string][]) : [];
}
