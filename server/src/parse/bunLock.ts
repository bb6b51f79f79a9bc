/**
 * bun.lock (Bun's text lockfile, JSONC with trailing commas) -> the lockfile model.
 *
 * Shape (as Bun writes and reads it, src/install/lockfile/bun.lock.zig):
 *   "workspaces": { "": {name, dependencies, devDependencies, ...}, "packages/x": {...} }
 *   "packages": { key: [ident, ...] } where ident is "name@resolution" and the rest depends
 *   on the resolution:
 *     npm        ["name@1.2.3", registryTarballUrlOr"", INFO, integrity]
 *     git/github ["name@git+…" | "name@github:u/r#ref", INFO, resolvedCommitTag, integrity?]
 *     tarball    ["name@https://…/x.tgz" | "name@./x.tgz", INFO, integrity?]
 *     file/link  ["name@file:path" | "name@link:path", INFO]
 *     workspace  ["name@workspace:packages/x"]
 *     root       ["name@root:", {bin}]
 * Keys nest for conflicting versions: "a/b" is the copy of b used under a, and Bun
 * resolves a dependency c of "a/b" as "a/b/c", then "a/c", then "c"; a workspace named w
 * looks up "w/c", then "c".
 */
import { basename } from 'node:path';
import {
  FileParseError,
  NO_SPAN,
  newLockedPackage,
  type FileProblem,
  type LockEdge,
  type LockedPackage,
  type LockImporter,
  type Lockfile,
  type SourceKind,
  type Span,
} from '../model/inventory';
import {
  describeJsonValue,
  isRecord,
  parseJsonOrThrow,
  rejectConflictMarkers,
  packagesKeySpans,
  skipWhitespace,
  stringOrNull,
  topLevelValueSpan,
  declaredEdges,
} from './lockJson';
import { classifyResolved } from './sourceKind';

interface BunEntry {
  pkg: LockedPackage;
  /** The INFO object (dependencies, optionalDependencies, peerDependencies, optionalPeers). */
  info: Record<string, unknown> | null;
  /** Lookup base for this entry's dependencies: its key, or a workspace's name. */
  lookupFrom: string;
}

export function parseBunLock(file: string, text: string): Lockfile {
  const what = basename(file) || 'bun.lock';
  rejectConflictMarkers(file, text);
  const root = parseJsonOrThrow(file, text, what, true);
  if (!isRecord(root)) {
    throw new FileParseError(file, `${what} is not a lockfile: expected an object at the top level`, {
      start: 0,
      end: Math.min(text.length, 1),
    });
  }
  const version = root.lockfileVersion;
  if (version === undefined) {
    throw new FileParseError(file, `${what} has no lockfileVersion: it is not a bun.lock`, {
      start: 0,
      end: Math.min(text.length, 1),
    });
  }
  // 0..3 share the "packages" shape: v1 dropped workspace entries' dependency objects, v2
  // only made Bun's own parsing stricter, v3 allows object-valued "overrides".
  if (version !== 0 && version !== 1 && version !== 2 && version !== 3) {
    throw new FileParseError(
      file,
      `${what} has lockfileVersion ${JSON.stringify(version)}, which Install Guard does not know (it reads 0 to 3)`,
      topLevelValueSpan(text, 'lockfileVersion'),
    );
  }
  if (!isRecord(root.workspaces)) {
    throw new FileParseError(
      file,
      `${what} has no "workspaces" object: the file is incomplete — run bun install`,
      topLevelValueSpan(text, 'workspaces'),
    );
  }
  const packagesValue = root.packages ?? {};
  if (!isRecord(packagesValue)) {
    throw new FileParseError(file, `${what}: "packages" is not an object`, topLevelValueSpan(text, 'packages'));
  }
  // trustedDependencies / patchedDependencies / overrides / catalogs are not read from
  // here: Bun's trusted list comes from package.json (policy/allowlists).

  const problems: FileProblem[] = [];
  const spans = packageKeySpans(text, packagesValue);
  const workspaceNames = new Map<string, string>(); // workspace dir -> package name
  for (const [dir, ws] of Object.entries(root.workspaces)) {
    if (dir !== '' && isRecord(ws) && typeof ws.name === 'string') workspaceNames.set(dir, ws.name);
  }

  const byKey = new Map<string, BunEntry>();
  for (const key of Object.keys(packagesValue)) {
    const span = spans.get(key) ?? NO_SPAN;
    const entry = readEntry(key, packagesValue[key], span, root.workspaces, workspaceNames, (message) =>
      problems.push({ file, message: `"packages" entry ${JSON.stringify(key)} ${message}`, span }),
    );
    if (entry) byKey.set(key, entry);
  }

  const keys = new KeyResolver(byKey);
  for (const { pkg, info, lookupFrom } of byKey.values()) {
    if (info) pkg.edges = entryEdges(info, lookupFrom, keys, false);
  }

  const importers: LockImporter[] = [];
  for (const [dir, ws] of Object.entries(root.workspaces)) {
    if (!isRecord(ws)) {
      problems.push({ file, message: `workspace ${JSON.stringify(dir)} is not an object; it is left out` });
      continue;
    }
    // The root looks its dependencies up at the top; a workspace first under its own name.
    const lookupFrom = dir === '' ? '' : (workspaceNames.get(dir) ?? '');
    importers.push({ dir: dir === '' ? '.' : dir, edges: entryEdges(ws, lookupFrom, keys, true) });
  }
  if (!importers.some((i) => i.dir === '.')) importers.unshift({ dir: '.', edges: [] });

  return {
    file,
    format: 'bun',
    importers,
    packages: [...byKey.values()].map((e) => e.pkg),
    problems,
  };
}

function readEntry(
  key: string,
  value: unknown,
  span: Span,
  workspaces: Record<string, unknown>,
  workspaceNames: Map<string, string>,
  problem: (message: string) => void,
): BunEntry | null {
  if (!Array.isArray(value) || typeof value[0] !== 'string') {
    const what = Array.isArray(value) ? 'an array not starting with a string' : describeJsonValue(value);
    problem(`is ${what}, not ["name@resolution", ...]; it is left out`);
    return null;
  }
  const ident = value[0];
  // A scoped name starts with "@": the separator is the first "@" after it.
  const at = ident.indexOf('@', ident.startsWith('@') ? 1 : 0);
  if (at <= 0) {
    problem(`has no "name@resolution" (${JSON.stringify(ident)}); it is left out`);
    return null;
  }
  const name = ident.slice(0, at);
  const resolution = ident.slice(at + 1);
  if (resolution === 'root:') return null; // the project itself, nothing installed

  const pkg = newLockedPackage({
    id: key,
    name,
    version: resolution,
    source: 'registry',
    resolved: null,
    integrity: null,
    lockfileFlag: null, // bun.lock records no install-script flag
    span,
    installPath: null, // Bun's layout (hoisted or isolated) is not recorded per package
  });

  if (resolution.startsWith('workspace:')) {
    const dir = resolution.slice('workspace:'.length);
    const ws = workspaces[dir];
    pkg.source = 'workspace';
    pkg.resolved = resolution;
    pkg.version = isRecord(ws) ? (stringOrNull(ws.version) ?? '') : '';
    if (!isRecord(ws)) problem(`names workspace ${JSON.stringify(dir)}, which "workspaces" does not list`);
    // Its dependencies are the workspace's own, looked up under the workspace's name.
    return { pkg, info: isRecord(ws) ? ws : null, lookupFrom: workspaceNames.get(dir) ?? name };
  }

  const source: SourceKind = classifyResolved(resolution);
  // Only a bare version is Bun's npm layout; a registry-shaped tarball URL is a tarball entry.
  const npmLayout = source === 'registry' && !resolution.includes(':');
  const info = value[npmLayout ? 2 : 1];
  if (!isRecord(info)) problem('has no dependencies object where Bun writes one');
  if (npmLayout) {
    const registry = value[1];
    if (typeof registry !== 'string') problem('has no registry field');
    pkg.resolved = typeof registry === 'string' && registry !== '' ? registry : null;
    pkg.integrity = stringOrNull(value[3]);
    if (pkg.integrity === null) problem('has no integrity');
  } else {
    pkg.source = source;
    pkg.resolved = resolution;
    // git/github carry the resolved commit tag before the optional integrity.
    pkg.integrity = stringOrNull(value[source === 'git' ? 3 : 2]);
  }
  return { pkg, info: isRecord(info) ? info : null, lookupFrom: key };
}

/** Splits a package key into its names, keeping "@scope/name" together. */
function keySegments(key: string): string[] {
  const parts = key.split('/');
  const segments: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.startsWith('@') && i + 1 < parts.length) segments.push(`${part}/${parts[++i]}`);
    else segments.push(part);
  }
  return segments;
}

/** Bun's lookup: "<from>/<dep>", then the same from each shorter prefix, then "<dep>". */
class KeyResolver {
  /** Package key -> the prefixes to try, longest first, each ending in "/". */
  private readonly prefixes = new Map<string, string[]>();

  constructor(readonly byKey: Map<string, BunEntry>) {}

  resolve(from: string, dep: string): BunEntry | undefined {
    if (from !== '') {
      let tries = this.prefixes.get(from);
      if (!tries) {
        const segments = keySegments(from);
        tries = segments.map((_, i) => `${segments.slice(0, segments.length - i).join('/')}/`);
        this.prefixes.set(from, tries);
      }
      for (const prefix of tries) {
        const found = this.byKey.get(prefix + dep);
        if (found) return found;
      }
    }
    return this.byKey.get(dep);
  }
}

/** bun.lock entries: Bun's nested-key lookup, `optionalPeers` lists. */
function entryEdges(declared: Record<string, unknown>, from: string, keys: KeyResolver, withDev: boolean): LockEdge[] {
  const optionalPeers = Array.isArray(declared.optionalPeers)
    ? new Set(declared.optionalPeers.filter((p): p is string => typeof p === 'string'))
    : undefined;
  return declaredEdges(declared, from, (name) => keys.resolve(from, name)?.pkg.id ?? null, { withDev, optionalPeers });
}

/** Spans of the "packages" keys: every entry's value is written as `["name@…`, which no nested key's value is. */
function packageKeySpans(text: string, packages: Record<string, unknown>): Map<string, Span> {
  return packagesKeySpans(text, packages, (t, at) => {
    if (t.charCodeAt(at) !== 91 /* [ */) return false;
    const quote = skipWhitespace(t, at + 1, 1);
    if (t.charCodeAt(quote) !== 34 /* " */) return false;
    const close = t.indexOf('"', quote + 1);
    return close > 0 && t.slice(quote + 2, close).includes('@');
  });
}
