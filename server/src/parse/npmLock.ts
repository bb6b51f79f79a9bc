/**
 * package-lock.json (lockfileVersion 1, 2, 3) and npm-shrinkwrap.json -> the lockfile model.
 *
 * v2/v3 are read from "packages" (keyed by install path, the shape npm itself loads);
 * v1 from the nested "dependencies" tree. Edges are resolved the way npm's node_modules
 * lookup finds a dependency: from the requiring package's install path, the nearest
 * `node_modules/<dep>` walking up towards the root.
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
  type LockfileFormat,
  type SourceKind,
  type Span,
} from '../model/inventory';
import {
  describeJsonValue,
  isRecord,
  parseJsonOrThrow,
  rejectConflictMarkers,
  packagesKeySpans,
  scanPropertyKeys,
  stringMap,
  stringOrNull,
  topLevelValueSpan,
  addEdge,
  declaredEdges,
} from './lockJson';
import { classifyResolved } from './sourceKind';

export function parseNpmLock(file: string, text: string): Lockfile {
  const what = basename(file) || 'package-lock.json';
  rejectConflictMarkers(file, text);
  const root = parseJsonOrThrow(file, text, what);
  if (!isRecord(root)) {
    throw new FileParseError(file, `${what} is not a lockfile: expected an object at the top level`, {
      start: 0,
      end: Math.min(text.length, 1),
    });
  }
  const version = root.lockfileVersion;
  if (version === 2 || version === 3) {
    const format: LockfileFormat = version === 2 ? 'package-lock-v2' : 'package-lock-v3';
    if (isRecord(root.packages)) return readPackagesSection(file, text, root.packages, format);
    // A v2 file written by a tool that only kept the v1 half is still loadable, as npm does.
    if (version === 2 && isRecord(root.dependencies)) {
      return readDependencyTree(file, text, root.dependencies, format);
    }
    throw new FileParseError(
      file,
      `${what} (lockfileVersion ${version}) has no "packages" object: the file is incomplete — regenerate it with npm install --package-lock-only`,
      topLevelValueSpan(text, 'lockfileVersion'),
    );
  }
  if (version === 1) {
    return readDependencyTree(file, text, isRecord(root.dependencies) ? root.dependencies : {}, 'package-lock-v1');
  }
  if (version === undefined) {
    throw new FileParseError(file, `${what} has no lockfileVersion: it is not a package-lock.json`, {
      start: 0,
      end: Math.min(text.length, 1),
    });
  }
  throw new FileParseError(
    file,
    `${what} has lockfileVersion ${JSON.stringify(version)}, which Install Guard does not know (it reads 1, 2 and 3)`,
    topLevelValueSpan(text, 'lockfileVersion'),
  );
}

/** Where npm looks next for a dependency: the install directory enclosing `path`. */
function parentInstallDir(path: string): string {
  const at = path.lastIndexOf('/node_modules/');
  // `node_modules/a`, a workspace folder `packages/x` and `../lib` all resolve from the root.
  return at >= 0 ? path.slice(0, at) : '';
}

/**
 * Who is installed in which node_modules folder, and npm's lookup over it. Packages are
 * grouped by the folder that holds them so a lookup hashes short, already-hashed strings
 * instead of building `a/node_modules/b/node_modules/c` for every step of every edge.
 */
class InstallTree {
  readonly byPath = new Map<string, LockedPackage>();
  /** Install dir ("" = root, "node_modules/a", "packages/x") -> folder name -> package. */
  private readonly children = new Map<string, Map<string, LockedPackage>>();
  private readonly parents = new Map<string, string>();

  add(pkg: LockedPackage): void {
    const path = pkg.id;
    this.byPath.set(path, pkg);
    const cut = path.lastIndexOf('node_modules/');
    const dir = cut === 0 ? '' : path.slice(0, cut - 1);
    let inDir = this.children.get(dir);
    if (!inDir) this.children.set(dir, (inDir = new Map()));
    inDir.set(path.slice(cut + 'node_modules/'.length), pkg);
  }

  /** `<from>/node_modules/<dep>`, then the same from each enclosing install dir. */
  resolve(from: string, dep: string): LockedPackage | undefined {
    let base = from;
    for (;;) {
      const found = this.children.get(base)?.get(dep);
      if (found) return found;
      if (base === '') return undefined;
      let parent = this.parents.get(base);
      if (parent === undefined) this.parents.set(base, (parent = parentInstallDir(base)));
      base = parent;
    }
  }
}

function isInstallPath(key: string): boolean {
  return key.startsWith('node_modules/') || key.includes('/node_modules/');
}

/** The folder name a package is installed under: the part after the last `node_modules/`. */
function installedName(path: string): string {
  const at = path.lastIndexOf('node_modules/');
  return at >= 0 ? path.slice(at + 'node_modules/'.length) : path;
}

/** package-lock entries: node_modules lookup from the requiring package, peerDependenciesMeta. */
function entryEdges(entry: Record<string, unknown>, from: string, installed: InstallTree, withDev: boolean): LockEdge[] {
  const peerMeta = entry.peerDependenciesMeta;
  const optionalPeers = isRecord(peerMeta)
    ? new Set(Object.keys(peerMeta).filter((name) => isRecord(peerMeta[name]) && peerMeta[name].optional === true))
    : undefined;
  return declaredEdges(entry, from, (name) => installed.resolve(from, name)?.id ?? null, { withDev, optionalPeers });
}

function newPackage(
  id: string,
  name: string,
  version: string,
  source: SourceKind,
  resolved: string | null,
  integrity: string | null,
  lockfileFlag: boolean | null,
  span: Span,
): LockedPackage {
  return newLockedPackage({ id, name, version, source, resolved, integrity, lockfileFlag, span, installPath: id });
}

/** Spans of the "packages" keys; every entry's value is an object. */
function packageKeySpans(text: string, entries: Record<string, unknown>): Map<string, Span> {
  return packagesKeySpans(text, entries, (t, at) => t.charCodeAt(at) === 123 /* { */);
}

/** lockfileVersion 2 and 3: the flat "packages" object keyed by install path. */
function readPackagesSection(
  file: string,
  text: string,
  entries: Record<string, unknown>,
  format: LockfileFormat,
): Lockfile {
  const spans = packageKeySpans(text, entries);
  const problems: FileProblem[] = [];
  const spanOf = (key: string) => spans.get(key) ?? NO_SPAN;
  const problem = (key: string, message: string) =>
    problems.push({ file, message: `"packages" entry ${JSON.stringify(key)} ${message}; it is left out`, span: spanOf(key) });

  const installed = new InstallTree();
  const folders: string[] = [];
  const links: LockedPackage[] = [];
  for (const key of Object.keys(entries)) {
    const entry = entries[key];
    if (!isRecord(entry)) {
      problem(key, `is ${describeJsonValue(entry)}, not an object`);
      continue;
    }
    if (!isInstallPath(key)) {
      folders.push(key); // "" (the root) or a workspace / linked folder: an importer
      continue;
    }
    const name = stringOrNull(entry.name) ?? installedName(key);
    if (entry.link === true) {
      const target = stringOrNull(entry.resolved);
      if (target === null) {
        problem(key, 'is a link without "resolved" (the folder it links to)');
        continue;
      }
      const targetEntry = entries[target];
      const folder = isRecord(targetEntry) ? targetEntry : {};
      const pkg = newPackage(
        key,
        name,
        stringOrNull(folder.version) ?? stringOrNull(entry.version) ?? '',
        'link',
        target,
        null,
        // npm writes the flag on the folder entry: the link itself never runs anything.
        folder.hasInstallScript === true,
        spanOf(key),
      );
      installed.add(pkg);
      links.push(pkg);
      continue;
    }
    const version = stringOrNull(entry.version);
    if (version === null) {
      problem(key, 'has no "version"');
      continue;
    }
    const resolved = stringOrNull(entry.resolved);
    const pkg = newPackage(
      key,
      name,
      version,
      // No "resolved" (omit-lockfile-registry-resolved, bundled deps) means the registry.
      classifyResolved(resolved),
      resolved,
      stringOrNull(entry.integrity),
      entry.hasInstallScript === true,
      spanOf(key),
    );
    if (entry.inBundle === true) pkg.bundled = true;
    installed.add(pkg);
  }

  for (const pkg of installed.byPath.values()) {
    if (pkg.source === 'link') continue;
    pkg.edges = entryEdges(entries[pkg.id] as Record<string, unknown>, pkg.id, installed, false);
  }
  // A link's dependencies are its target folder's, installed beside that folder.
  for (const link of links) {
    const folder = entries[link.resolved!];
    if (isRecord(folder)) link.edges = entryEdges(folder, link.resolved!, installed, false);
  }
  const importers: LockImporter[] = folders.map((key) => ({
    dir: key === '' ? '.' : key,
    edges: entryEdges(entries[key] as Record<string, unknown>, key, installed, true),
  }));
  if (!folders.includes('')) importers.unshift({ dir: '.', edges: [] });

  return { file, format, importers, packages: [...installed.byPath.values()], problems };
}

/** `npm:string-width@4.2.3` -> the real package and version behind an alias. */
function splitAlias(spec: string): { name: string; version: string } | null {
  const rest = spec.slice('npm:'.length);
  const at = rest.lastIndexOf('@');
  if (at <= 0) return null;
  return { name: rest.slice(0, at), version: rest.slice(at + 1) };
}

/** lockfileVersion 1: the nested "dependencies" tree, each level a node_modules folder. */
function readDependencyTree(
  file: string,
  text: string,
  top: Record<string, unknown>,
  format: LockfileFormat,
): Lockfile {
  // A key is a package when every other enclosing key is "dependencies":
  // dependencies.a.dependencies.b -> node_modules/a/node_modules/b.
  const spans = new Map<string, Span>();
  scanPropertyKeys(text, (path, key, start, end) => {
    const depth = path.length;
    if (depth % 2 === 0 || path[depth - 1] !== 'dependencies') return;
    let installPath = '';
    for (let i = 0; i < depth; i += 2) {
      if (path[i] !== 'dependencies') return;
      if (i > 0) installPath += `node_modules/${path[i - 1]}/`;
    }
    spans.set(`${installPath}node_modules/${key}`, { start, end });
  });
  const problems: FileProblem[] = [];
  const installed = new InstallTree();
  const raw = new Map<string, Record<string, unknown>>();

  const walk = (deps: Record<string, unknown>, parent: string) => {
    for (const key of Object.keys(deps)) {
      const path = parent === '' ? `node_modules/${key}` : `${parent}/node_modules/${key}`;
      const entry = deps[key];
      const pkg = readTreeEntry(file, path, key, entry, spans.get(path) ?? NO_SPAN, problems);
      if (pkg) {
        installed.add(pkg);
        raw.set(path, entry as Record<string, unknown>);
      }
      // Children of an entry we could not read are still readable.
      if (isRecord(entry) && isRecord(entry.dependencies)) walk(entry.dependencies, path);
    }
  };
  walk(top, '');

  // v1 `requires` lists dependencies and optionalDependencies alike; the target's own
  // "optional" flag (npm sets it when only optional edges reach it) tells them apart.
  for (const [path, pkg] of installed.byPath) {
    const requires = stringMap(raw.get(path)!.requires);
    if (!requires) continue;
    for (const dep of Object.keys(requires)) {
      const target = installed.resolve(path, dep);
      if (target && target !== pkg) {
        addEdge(pkg.edges, target.id, raw.get(target.id)!.optional === true ? 'optional' : 'prod');
      }
    }
  }

  // The root's own dependencies live in package.json, which this parser does not see.
  // npm's flags stand in for them: a top-level entry marked "dev" is reached only through
  // devDependencies, "optional" only through optional ones, any other one is installed for
  // production. Hoisted transitive packages become edges of "." too, which keeps the dev /
  // optional classification exact while over-approximating "direct". An entry both "dev"
  // and "optional" (fsevents under a dev tool) can only be reached as what it is through
  // its dependents, so it gets a root edge only when nothing else requires it.
  const required = new Set<string>();
  for (const pkg of installed.byPath.values()) for (const edge of pkg.edges) required.add(edge.to);
  const rootEdges: LockEdge[] = [];
  for (const key of Object.keys(top)) {
    const path = `node_modules/${key}`;
    const entry = raw.get(path);
    if (!entry) continue;
    const dev = entry.dev === true;
    const optional = entry.optional === true;
    if (dev && optional && required.has(path)) continue;
    addEdge(rootEdges, path, dev ? 'dev' : optional ? 'optional' : 'prod');
  }

  return {
    file,
    format,
    importers: [{ dir: '.', edges: rootEdges }],
    packages: [...installed.byPath.values()],
    problems,
  };
}

function readTreeEntry(
  file: string,
  path: string,
  key: string,
  entry: unknown,
  span: Span,
  problems: FileProblem[],
): LockedPackage | null {
  if (!isRecord(entry)) {
    problems.push({
      file,
      message: `dependency ${JSON.stringify(path)} is ${describeJsonValue(entry)}, not an object; it is left out`,
      span,
    });
    return null;
  }
  const spec = stringOrNull(entry.version);
  if (spec === null) {
    problems.push({ file, message: `dependency ${JSON.stringify(path)} has no "version"; it is left out`, span });
    return null;
  }
  // v1 writes the spec itself as "version" for non-registry sources
  // (`github:u/r#sha`, `file:../lib`, `https://host/x.tgz`) and `npm:real@1.2.3` for aliases.
  const alias = spec.startsWith('npm:') ? splitAlias(spec) : null;
  const specKind = alias ? 'registry' : classifyResolved(spec);
  const resolved = stringOrNull(entry.resolved) ?? (specKind === 'registry' ? null : spec);
  return newPackage(
    path,
    alias?.name ?? key,
    alias?.version ?? spec,
    specKind === 'registry' ? classifyResolved(resolved) : specKind,
    resolved,
    stringOrNull(entry.integrity),
    null, // v1 has no install-script flag
    span,
  );
}
