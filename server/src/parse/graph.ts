/**
 * The locked dependency graph, the same for every lockfile format: parsers record
 * importers and edges, this module derives what the formats record inconsistently (or not
 * at all) — direct / dev / optional — and answers "who pulls this package in".
 *
 * dev and optional follow npm's meaning, so they can be cross-checked with the flags npm
 * writes into package-lock v2/v3:
 *  - dev: not reachable from any importer without passing through a devDependencies edge;
 *  - optional: not reachable from any importer without passing through an optional edge.
 * A package reachable from no importer at all (extraneous) is neither.
 */
import type { EdgeKind, LockedPackage, Lockfile } from '../model/inventory';

export class LockGraph {
  private readonly byId = new Map<string, LockedPackage>();
  /** Reverse edges: package id -> ids of packages that depend on it. */
  private readonly dependents = new Map<string, string[]>();
  /** Importer dirs that depend on a package directly. */
  private readonly importerDependents = new Map<string, string[]>();
  /** BFS parent on a shortest path from an importer ("" prefix marks an importer). */
  private readonly shortestParent = new Map<string, string>();
  /** Shortest paths computed so far (null: no importer reaches the package). */
  private readonly shortestPaths = new Map<string, string[] | null>();
  /** "name@version" per package id, made once: every path through a package shares it. */
  private readonly labels = new Map<string, string>();

  constructor(readonly lockfile: Lockfile) {
    for (const pkg of lockfile.packages) this.byId.set(pkg.id, pkg);
    for (const pkg of lockfile.packages) {
      for (const edge of pkg.edges) {
        if (!this.byId.has(edge.to)) continue;
        push(this.dependents, edge.to, pkg.id);
      }
    }
    for (const importer of lockfile.importers) {
      for (const edge of importer.edges) {
        if (this.byId.has(edge.to)) push(this.importerDependents, edge.to, importer.dir);
      }
    }
    this.classify();
  }

  get(id: string): LockedPackage | undefined {
    return this.byId.get(id);
  }

  /**
   * Up to `limit` dependency paths that pull `id` in, each from an importer dir to the
   * package, as "name@version" steps: one shortest path through each distinct dependent.
   * Enumerating every path is exponential on real graphs; one per parent answers "who".
   */
  pathsTo(id: string, limit = 5): string[][] {
    const pkg = this.byId.get(id);
    if (!pkg) return [];
    const label = this.label(pkg);
    const paths: string[][] = [];
    for (const dir of this.importerDependents.get(id) ?? []) {
      if (paths.length >= limit) return paths;
      paths.push([dir, label]);
    }
    for (const parentId of this.dependents.get(id) ?? []) {
      if (paths.length >= limit) break;
      const prefix = this.shortestPathTo(parentId);
      if (prefix && !prefix.includes(label)) paths.push([...prefix, label]);
    }
    return paths;
  }

  /** The shortest path from an importer to `id`, or null when no importer reaches it. */
  shortestPathTo(id: string): string[] | null {
    const cached = this.shortestPaths.get(id);
    if (cached !== undefined) return cached;
    // Walk up the BFS parents to an importer or a package whose path is known, then fill
    // in the paths on the way back down: every package's path is computed once.
    const chain: string[] = [];
    let current: string | undefined = id;
    let prefix: string[] | null = null;
    while (current !== undefined) {
      if (current.startsWith(IMPORTER)) {
        prefix = [current.slice(IMPORTER.length)];
        break;
      }
      const known = this.shortestPaths.get(current);
      if (known !== undefined) {
        prefix = known;
        break;
      }
      // BFS parents form a tree, so this only guards against a malformed graph.
      if (!this.byId.has(current) || chain.length > this.byId.size) break;
      chain.push(current);
      current = this.shortestParent.get(current);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      prefix = prefix ? [...prefix, this.label(this.byId.get(chain[i]!)!)] : null;
      this.shortestPaths.set(chain[i]!, prefix);
    }
    return this.shortestPaths.get(id) ?? null;
  }

  private label(pkg: LockedPackage): string {
    let label = this.labels.get(pkg.id);
    if (label === undefined) {
      label = `${pkg.name}@${pkg.version}`;
      this.labels.set(pkg.id, label);
    }
    return label;
  }

  private classify(): void {
    const { packages, importers } = this.lockfile;
    const reachable = this.walk(() => true, true);
    const notDev = this.walk((kind, fromImporter) => !(fromImporter && kind === 'dev'), false);
    const notOptional = this.walk((kind) => kind !== 'optional', false);
    const direct = new Set<string>();
    for (const importer of importers) for (const edge of importer.edges) direct.add(edge.to);
    for (const pkg of packages) {
      const isReachable = reachable.has(pkg.id);
      pkg.direct = direct.has(pkg.id);
      pkg.dev = isReachable && !notDev.has(pkg.id);
      pkg.optional = isReachable && !notOptional.has(pkg.id);
    }
  }

  /** Breadth-first reach from all importers through the edges `follow` accepts. */
  private walk(
    follow: (kind: EdgeKind, fromImporter: boolean) => boolean,
    recordParents: boolean,
  ): Set<string> {
    const seen = new Set<string>();
    let frontier: string[] = [];
    for (const importer of this.lockfile.importers) {
      for (const edge of importer.edges) {
        if (!follow(edge.kind, true) || seen.has(edge.to) || !this.byId.has(edge.to)) continue;
        seen.add(edge.to);
        if (recordParents) this.shortestParent.set(edge.to, IMPORTER + importer.dir);
        frontier.push(edge.to);
      }
    }
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const edge of this.byId.get(id)!.edges) {
          if (!follow(edge.kind, false) || seen.has(edge.to) || !this.byId.has(edge.to)) continue;
          seen.add(edge.to);
          if (recordParents) this.shortestParent.set(edge.to, id);
          next.push(edge.to);
        }
      }
      frontier = next;
    }
    return seen;
  }
}

const IMPORTER = '\0importer:';

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
