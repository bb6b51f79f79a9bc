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
 *
 * Packages are numbered once and edges kept as arrays of numbers (compressed rows), so the
 * three walks and each step of a path query touch no string hash (a query looks its
 * package up once): they ran a tenth of a warm CLI audit when they went through Maps of ids.
 */
import type { EdgeKind, LockedPackage, Lockfile } from '../model/inventory';

/** Edge kinds as numbers, for the typed arrays. */
const KIND: Record<EdgeKind, number> = { prod: 0, dev: 1, optional: 2, peer: 3 };
const DEV = KIND.dev;
const OPTIONAL = KIND.optional;
/** shortestParent of a package no importer reaches; importer i is stored as -(i + 2). */
const NO_PARENT = -1;

/** Adjacency in compressed rows: the targets of row r are to[start[r]] .. to[start[r + 1] - 1]. */
interface Rows {
  start: Int32Array;
  to: Int32Array;
}

/** Rows of edges, with each edge's kind. */
interface EdgeRows extends Rows {
  kind: Uint8Array;
}

export class LockGraph {
  private readonly indexOf = new Map<string, number>();
  private readonly packages: LockedPackage[];
  /** Forward edges per package, and per importer (rows in lockfile.importers order). */
  private readonly edges: EdgeRows;
  private readonly importerEdges: EdgeRows;
  /** Reverse edges: the distinct packages that depend on each package. */
  private readonly dependents: Rows;
  /** Per package, the distinct importers (indexes) that depend on it directly. */
  private readonly importerDependents = new Map<number, number[]>();
  /** BFS parent on a shortest path from an importer (see NO_PARENT). */
  private readonly shortestParent: Int32Array;
  /** Shortest paths computed so far (null: no importer reaches the package). */
  private readonly shortestPaths: (string[] | null | undefined)[];
  /** "name@version" per package, made once: every path through a package shares it. */
  private readonly labels: (string | undefined)[];

  constructor(readonly lockfile: Lockfile) {
    this.packages = lockfile.packages;
    const n = this.packages.length;
    this.packages.forEach((pkg, i) => this.indexOf.set(pkg.id, i));
    this.edges = this.rows(this.packages.map((pkg) => pkg.edges));
    this.importerEdges = this.rows(lockfile.importers.map((importer) => importer.edges));
    this.dependents = reverse(this.edges, n);
    const { start, to } = this.importerEdges;
    for (let i = 0; i + 1 < start.length; i++) {
      for (let e = start[i]!; e < start[i + 1]!; e++) {
        const list = this.importerDependents.get(to[e]!);
        // One importer can reach a package by two edges (dependencies and devDependencies).
        if (!list) this.importerDependents.set(to[e]!, [i]);
        else if (list[list.length - 1] !== i) list.push(i);
      }
    }
    this.shortestParent = new Int32Array(n).fill(NO_PARENT);
    this.shortestPaths = new Array(n);
    this.labels = new Array(n);
    this.classify();
  }

  /**
   * Up to `limit` distinct dependency paths that pull `id` in, each from an importer dir to
   * the package, as "name@version" steps: one shortest path through each distinct dependent.
   * Enumerating every path is exponential on real graphs; one per parent answers "who".
   */
  pathsTo(id: string, limit = 5): string[][] {
    const index = this.indexOf.get(id);
    if (index === undefined) return [];
    const label = this.label(index);
    const paths: string[][] = [];
    for (const importer of this.importerDependents.get(index) ?? []) {
      if (paths.length >= limit) return paths;
      paths.push([this.lockfile.importers[importer]!.dir, label]);
    }
    const { start, to } = this.dependents;
    for (let e = start[index]!; e < start[index + 1]! && paths.length < limit; e++) {
      const prefix = this.shortestPath(to[e]!);
      if (!prefix || prefix.includes(label)) continue;
      const path = prefix.slice(); // slice + push: a spread iterates, and this runs per path
      path.push(label);
      // Two copies of one name@version (nested in package-lock) can give the same path.
      if (!paths.some((p) => samePath(p, path))) paths.push(path);
    }
    return paths;
  }

  /** The shortest path from an importer to package `index`, or null when no importer reaches it. */
  private shortestPath(index: number): string[] | null {
    const cached = this.shortestPaths[index];
    if (cached !== undefined) return cached;
    // Walk up the BFS parents to an importer or a package whose path is known, then fill
    // in the paths on the way back down: every package's path is computed once.
    const chain: number[] = [];
    let current = index;
    let prefix: string[] | null = null;
    for (;;) {
      const known = this.shortestPaths[current];
      if (known !== undefined) {
        prefix = known;
        break;
      }
      chain.push(current);
      const parent = this.shortestParent[current]!;
      if (parent === NO_PARENT) break;
      if (parent < NO_PARENT) {
        prefix = [this.lockfile.importers[-parent - 2]!.dir];
        break;
      }
      current = parent;
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      if (prefix) {
        prefix = prefix.slice();
        prefix.push(this.label(chain[i]!));
      }
      this.shortestPaths[chain[i]!] = prefix;
    }
    return this.shortestPaths[index] ?? null;
  }

  private label(index: number): string {
    let label = this.labels[index];
    if (label === undefined) {
      const pkg = this.packages[index]!;
      label = this.labels[index] = `${pkg.name}@${pkg.version}`;
    }
    return label;
  }

  /** Edge lists -> rows of package indexes; edges to packages the lockfile lacks are dropped. */
  private rows(lists: readonly (readonly { to: string; kind: EdgeKind }[])[]): EdgeRows {
    let total = 0;
    for (const list of lists) total += list.length;
    const start = new Int32Array(lists.length + 1);
    const to = new Int32Array(total);
    const kind = new Uint8Array(total);
    let e = 0;
    lists.forEach((list, row) => {
      start[row] = e;
      for (const edge of list) {
        const target = this.indexOf.get(edge.to);
        if (target === undefined) continue;
        to[e] = target;
        kind[e++] = KIND[edge.kind];
      }
    });
    start[lists.length] = e;
    return { start, to: to.subarray(0, e), kind: kind.subarray(0, e) };
  }

  private classify(): void {
    const n = this.packages.length;
    const reachable = this.walk(() => true, true);
    const notDev = this.walk((kind, fromImporter) => !(fromImporter && kind === DEV), false);
    const notOptional = this.walk((kind) => kind !== OPTIONAL, false);
    const direct = new Uint8Array(n);
    const { to } = this.importerEdges;
    for (let e = 0; e < to.length; e++) direct[to[e]!] = 1;
    for (let i = 0; i < n; i++) {
      const pkg = this.packages[i]!;
      pkg.direct = direct[i] === 1;
      pkg.dev = reachable[i] === 1 && notDev[i] === 0;
      pkg.optional = reachable[i] === 1 && notOptional[i] === 0;
    }
  }

  /** Breadth-first reach from all importers through the edges `follow` accepts (1 = reached). */
  private walk(follow: (kind: number, fromImporter: boolean) => boolean, recordParents: boolean): Uint8Array {
    const seen = new Uint8Array(this.packages.length);
    const queue = new Int32Array(this.packages.length);
    let tail = 0;
    const { start: iStart, to: iTo, kind: iKind } = this.importerEdges;
    for (let importer = 0; importer + 1 < iStart.length; importer++) {
      for (let e = iStart[importer]!; e < iStart[importer + 1]!; e++) {
        const target = iTo[e]!;
        if (seen[target] === 1 || !follow(iKind[e]!, true)) continue;
        seen[target] = 1;
        if (recordParents) this.shortestParent[target] = -importer - 2;
        queue[tail++] = target;
      }
    }
    const { start, to, kind } = this.edges;
    for (let head = 0; head < tail; head++) {
      const from = queue[head]!;
      for (let e = start[from]!; e < start[from + 1]!; e++) {
        const target = to[e]!;
        if (seen[target] === 1 || !follow(kind[e]!, false)) continue;
        seen[target] = 1;
        if (recordParents) this.shortestParent[target] = from;
        queue[tail++] = target;
      }
    }
    return seen;
  }
}

/** The reverse of `rows` (n packages), each dependent once per target. */
function reverse(rows: Rows, n: number): Rows {
  const { start, to } = rows;
  const count = new Int32Array(n + 1);
  for (let from = 0; from < n; from++) {
    for (let e = start[from]!; e < start[from + 1]!; e++) {
      // A package can list one dependency twice (dependencies and peerDependencies).
      if (!isRepeat(to, start[from]!, e)) count[to[e]! + 1]!++;
    }
  }
  for (let i = 0; i < n; i++) count[i + 1]! += count[i]!;
  const reversed = new Int32Array(count[n]!);
  const fill = count.slice(0, n);
  for (let from = 0; from < n; from++) {
    for (let e = start[from]!; e < start[from + 1]!; e++) {
      if (!isRepeat(to, start[from]!, e)) reversed[fill[to[e]!]!++] = from;
    }
  }
  return { start: count, to: reversed };
}

/** Whether to[e] already appeared in the row between `rowStart` and e (rows are short). */
function isRepeat(to: Int32Array, rowStart: number, e: number): boolean {
  for (let k = rowStart; k < e; k++) if (to[k] === to[e]) return true;
  return false;
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
