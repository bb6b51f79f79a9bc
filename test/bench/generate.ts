/**
 * Deterministic synthetic projects for the benchmark: N locked package versions with
 * realistic names (scoped and unscoped), a dependency DAG, nested duplicate versions,
 * peer dependencies, dev / optional roots, ~1% install scripts and some gyp-only packages,
 * plus the registry manifest of every version so a loopback registry can serve them.
 *
 * The model is format-neutral; writeLockfiles.ts renders it as package-lock v3, yarn.lock
 * classic and pnpm-lock 9.0. The generator also computes what a correct parser + graph
 * must find (counts, direct / dev / optional of every version), so the bench can refuse to
 * time a parser that silently drops entries or edges.
 *
 * Invariants that keep the three renderings the same graph:
 *  - edges go from a higher index to a lower one (a DAG), and no package depends on two
 *    versions of one name;
 *  - the second version of a name (a "twin") is depended on only by its designated parents,
 *    which are first versions, and depends on no duplicated name; npm nests one copy of it
 *    under each parent, so npm's node_modules lookup finds exactly the intended versions;
 *  - a peer target is a first version that is already prod and non-optional, so the peer
 *    edges (which npm and pnpm record and yarn classic does not) change no classification.
 */
import { createHash } from 'node:crypto';
import semver from 'semver';

export type DepKind = 'prod' | 'optional';
export type RootKind = 'prod' | 'dev' | 'optional';

export interface BenchEdge {
  to: number;
  kind: DepKind;
  range: string;
  /** For an edge to a peer consumer: the index of the peer version this dependent provides. */
  peerContext: number | null;
}

export interface BenchPeer {
  name: string;
  range: string;
  /** Index of the hoisted version, then (when the consumer has two contexts) the twin. */
  targets: number[];
}

export interface BenchPackage {
  index: number;
  name: string;
  version: string;
  /** For the second version of a name: the index of the first (hoisted) one. */
  twinOf: number | null;
  deps: BenchEdge[];
  peer: BenchPeer | null;
  /** Lifecycle install scripts, null for most packages. */
  installScripts: Record<string, string> | null;
  /** gypfile: true without install scripts: npm runs an implicit `node-gyp rebuild`. */
  gypOnly: boolean;
  integrity: string;
  shasum: string;
}

export interface RootDep {
  to: number;
  kind: RootKind;
  range: string;
}

export interface Expected {
  /** Unique name@version: every format must report exactly this many. */
  versions: number;
  /** LockedPackage entries per format (npm: install paths, pnpm: snapshots, yarn: resolutions). */
  entries: { npm: number; yarn: number; pnpm: number };
  /** Versions that run something at install time (scripts + gyp-only). */
  runsInstallCode: number;
  gypOnly: number;
  /** Per version index, with the graph's meaning (server/src/parse/graph.ts). */
  direct: boolean[];
  dev: boolean[];
  optional: boolean[];
}

export interface BenchProject {
  size: number;
  seed: number;
  packages: BenchPackage[];
  roots: RootDep[];
  /** index -> indices of the packages that depend on it (roots not included). */
  dependents: number[][];
  expected: Expected;
}

export const DEFAULT_SEED = 0x16_2025;

/** mulberry32: tiny, fast and good enough to make the same project on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'react babel eslint webpack lodash postcss vite rollup jest vue fast tiny micro simple json yaml css string ' +
  'array object is get has parse to path glob chalk color debug semver uuid ws http stream buffer crypto util ' +
  'core graph type date time async promise event log config env file fs os shell cli term ansi escape regex url ' +
  'query form mime zlib tar zip image font svg dom html markdown intl test mock lint format build bundle compile ' +
  'transform plugin loader preset runtime helper types utils kit sdk api client server router store state cache ' +
  'queue pool retry throttle debounce merge clone deep flat pick omit map set list tree hash bit byte char text ' +
  'word line wrap pad trim case camel snake kebab'
).split(' ');
const SCOPES = (
  'babel types vue eslint rollup aws-sdk smithy jest testing-library octokit sentry opentelemetry radix-ui ' +
  'tanstack vitest swc esbuild img mui nestjs'
).split(' ');
const SCRIPT_SAMPLES: Record<string, string>[] = [
  { postinstall: 'node install.js' },
  { install: 'node-gyp-build' },
  { preinstall: 'node scripts/check-env.js' },
  { postinstall: 'node ./postinstall.js || exit 0' },
  { install: 'prebuild-install || node-gyp rebuild' },
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function uniqueName(rand: () => number, taken: Set<string>): string {
  for (;;) {
    const words = [pick(rand, WORDS), pick(rand, WORDS)];
    if (rand() < 0.35) words.push(pick(rand, WORDS));
    if (words[0] === words[1]) continue;
    const base = words.join('-');
    const name = rand() < 0.15 ? `@${pick(rand, SCOPES)}/${base}` : base;
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

function randomVersion(rand: () => number): string {
  const r = rand();
  const major = r < 0.2 ? 0 : r < 0.7 ? 1 + Math.floor(rand() * 4) : 5 + Math.floor(rand() * 16);
  // No 0.0.x: there a caret range pins one patch, which the ranges below do not expect.
  const minor = major === 0 ? 1 + Math.floor(rand() * 29) : Math.floor(rand() * 30);
  return `${major}.${minor}.${Math.floor(rand() * 20)}`;
}

/** A range the way people write them, always satisfied by `version`. */
export function rangeFor(rand: () => number, version: string): string {
  const [major, minor, patch] = version.split('.').map(Number) as [number, number, number];
  const r = rand();
  const range =
    r < 0.5 ? `^${version}`
    : r < 0.65 ? `^${major}.${minor}.0`
    : r < 0.8 ? `~${version}`
    : r < 0.9 ? version
    : r < 0.95 ? `^${major}.${major === 0 ? minor : 0}.0`
    : `>=${major}.${minor}.${patch} <${major + 1}.0.0`;
  if (!semver.satisfies(version, range)) throw new Error(`generator bug: ${range} does not cover ${version}`);
  return range;
}

function digests(name: string, version: string): { integrity: string; shasum: string } {
  const id = `${name}@${version}`;
  return {
    integrity: `sha512-${createHash('sha512').update(id).digest('base64')}`,
    shasum: createHash('sha1').update(id).digest('hex'),
  };
}

export function generateProject(size: number, seed = DEFAULT_SEED): BenchProject {
  const rand = seededRandom(seed ^ size);
  const rootCount = Math.min(400, Math.max(20, Math.round(size / 25)));
  const window = 400;
  const taken = new Set<string>();
  const packages: BenchPackage[] = [];
  const duplicated = new Set<string>();

  for (let i = 0; i < size; i++) {
    let twinOf: number | null = null;
    if (i >= 20 && i < size - rootCount - 50 && rand() < 0.03) {
      const first = Math.floor(rand() * i);
      if (packages[first]!.twinOf === null && !duplicated.has(packages[first]!.name)) twinOf = first;
    }
    const name = twinOf === null ? uniqueName(rand, taken) : packages[twinOf]!.name;
    let version = randomVersion(rand);
    if (twinOf !== null) {
      duplicated.add(name);
      version = `${Number(packages[twinOf]!.version.split('.')[0]) + 1 + Math.floor(rand() * 3)}.${Math.floor(rand() * 10)}.0`;
    }
    packages.push({ index: i, name, version, twinOf, deps: [], peer: null, installScripts: null, gypOnly: false, ...digests(name, version) });
  }

  // Dev tooling is its own subgraph: dev packages may use prod ones, never the reverse, so
  // a good share of the lockfile is dev-only as in real projects.
  const devGroup = packages.map((_, i) => rand() < (i < size - rootCount ? 0.4 : 0.3));
  const depNames = packages.map(() => new Set<string>());
  const dependents: number[][] = packages.map(() => []);
  const isTwin = (i: number) => packages[i]!.twinOf !== null;
  const allowed = (from: number, to: number): boolean => {
    const target = packages[to]!;
    if (from <= to || depNames[from]!.has(target.name) || packages[from]!.name === target.name) return false;
    if ((isTwin(to) && isTwin(from)) || (devGroup[to] && !devGroup[from])) return false;
    return !(isTwin(from) && duplicated.has(target.name));
  };
  const addEdge = (from: number, to: number, kind: DepKind, peerContext: number | null = null): BenchEdge => {
    const edge: BenchEdge = { to, kind, range: rangeFor(rand, packages[to]!.version), peerContext };
    packages[from]!.deps.push(edge);
    depNames[from]!.add(packages[to]!.name);
    dependents[to]!.push(from);
    return edge;
  };

  // Every non-root gets a parent above it, so everything is reachable from the roots. The
  // parent is drawn nearer rather than farther (squared draw): shortest paths from the root
  // come out like a real tree's, median depth ~5, deepest ~20 at 20k.
  for (let j = 0; j < size - rootCount; j++) {
    const copies = isTwin(j) && rand() < 0.3 ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      let parent = -1;
      for (let tries = 0; tries < 40 && parent < 0; tries++) {
        const p = j + 1 + Math.floor(rand() ** 2 * (size - j - 1));
        if (allowed(p, j) && devGroup[p] === devGroup[j]) parent = p;
      }
      for (let p = j + 1; parent < 0 && p < size; p++) if (allowed(p, j) && devGroup[p] === devGroup[j]) parent = p;
      if (parent < 0) throw new Error(`generator bug: no parent for ${j}`);
      addEdge(parent, j, rand() < 0.015 ? 'optional' : 'prod');
    }
  }
  // A few more dependencies on earlier first versions (twins keep only their parents),
  // drawn towards the lowest indices: a few packages become hubs many others use, as
  // lodash or tslib are.
  for (let i = 1; i < size; i++) {
    const r = rand();
    const extra = r < 0.2 ? 0 : r < 0.5 ? 1 : r < 0.75 ? 2 : r < 0.9 ? 3 : 4;
    for (let k = 0; k < extra; k++) {
      const to = Math.floor(rand() ** 2 * i);
      if (!isTwin(to) && allowed(i, to)) addEdge(i, to, rand() < 0.02 ? 'optional' : 'prod');
    }
  }

  const roots: RootDep[] = [];
  for (let i = size - rootCount; i < size; i++) {
    const kind = devGroup[i] ? 'dev' : rand() < 0.9 ? 'prod' : 'optional';
    roots.push({ to: i, kind, range: rangeFor(rand, packages[i]!.version) });
  }

  // Peers: on first versions that are already prod and non-optional (see the invariants).
  let classes = classify(packages, roots);
  const solid = (i: number) => !isTwin(i) && !classes.dev[i] && !classes.optional[i];
  const peerCount = Math.max(4, Math.round(size * 0.01));
  let secondContexts = 0;
  const twins = packages.filter((p) => p.twinOf !== null);
  const peerTargets = new Set<number>();
  for (let made = 0, tries = 0; made < peerCount && tries < peerCount * 50; tries++) {
    const consumer = 1 + Math.floor(rand() * (size - 1));
    const host = packages[consumer]!;
    // Peers of peers would nest suffixes (`a@1(b@2(c@3))`); one level is enough here.
    if (isTwin(consumer) || host.peer || peerTargets.has(consumer)) continue;
    const wantTwin = made % 3 === 0;
    const candidates = wantTwin ? twins.filter((p) => p.index < consumer) : [];
    const twin = candidates.length > 0 ? pick(rand, candidates) : null;
    const target = twin ? twin.twinOf! : consumer - 1 - Math.floor(rand() * Math.min(window, consumer));
    if (!solid(target) || packages[target]!.peer || depNames[consumer]!.has(packages[target]!.name) || packages[target]!.name === host.name) continue;
    // The twin's context needs a parent of the twin, above the consumer, reaching it by a prod edge.
    const provider = twin
      ? dependents[twin.index]!.find((d) => d > consumer && !isTwin(d) && allowed(d, consumer) &&
          packages[d]!.deps.some((e) => e.to === twin.index && e.kind === 'prod'))
      : undefined;
    if (twin && provider === undefined) continue;
    const targets = [target];
    let range = rangeFor(rand, packages[target]!.version);
    if (twin && provider !== undefined) {
      targets.push(twin.index);
      range = `${range} || ^${twin.version}`;
      addEdge(provider, consumer, 'prod', twin.index);
      secondContexts++;
    }
    host.peer = { name: packages[target]!.name, range, targets };
    for (const t of targets) peerTargets.add(t);
    made++;
  }
  classes = classify(packages, roots);

  // Install scripts on ~1%, gyp-only on ~0.3% (at least one of each).
  const scriptCount = Math.max(1, Math.round(size * 0.01));
  const gypCount = Math.max(1, Math.round(size * 0.003));
  for (let made = 0; made < scriptCount + gypCount; ) {
    const p = packages[Math.floor(rand() * size)]!;
    if (p.installScripts || p.gypOnly) continue;
    if (made < scriptCount) p.installScripts = { ...pick(rand, SCRIPT_SAMPLES) };
    else p.gypOnly = true;
    made++;
  }

  const direct = packages.map(() => false);
  for (const root of roots) direct[root.to] = true;
  const npmEntries = packages.reduce((n, p) => n + (p.twinOf === null ? 1 : dependents[p.index]!.length), 0);
  return {
    size,
    seed,
    packages,
    roots,
    dependents,
    expected: {
      versions: size,
      entries: { npm: npmEntries, yarn: size, pnpm: size + secondContexts },
      runsInstallCode: scriptCount + gypCount,
      gypOnly: gypCount,
      direct,
      dev: classes.dev,
      optional: classes.optional,
    },
  };
}

/**
 * dev / optional with graph.ts's meaning, on the name@version graph: dev = reachable only
 * through a devDependencies edge of the root; optional = reachable only through an optional
 * edge. Peer edges count as prod.
 */
function classify(packages: BenchPackage[], roots: RootDep[]): { dev: boolean[]; optional: boolean[] } {
  const walk = (rootOk: (k: RootKind) => boolean, edgeOk: (k: DepKind | 'peer') => boolean): Uint8Array => {
    const seen = new Uint8Array(packages.length);
    const stack: number[] = [];
    for (const r of roots) if (rootOk(r.kind) && !seen[r.to]) (seen[r.to] = 1), stack.push(r.to);
    while (stack.length > 0) {
      const p = packages[stack.pop()!]!;
      const next: [number, DepKind | 'peer'][] = p.deps.map((e) => [e.to, e.kind]);
      if (p.peer) next.push([p.peer.targets[0]!, 'peer']);
      for (const [to, kind] of next) if (edgeOk(kind) && !seen[to]) (seen[to] = 1), stack.push(to);
    }
    return seen;
  };
  const reachable = walk(() => true, () => true);
  const notDev = walk((k) => k !== 'dev', () => true);
  const notOptional = walk((k) => k !== 'optional', (k) => k !== 'optional');
  const unreachable = packages.findIndex((_, i) => !reachable[i]);
  if (unreachable >= 0) throw new Error(`generator bug: package ${unreachable} is unreachable`);
  return {
    dev: packages.map((_, i) => !notDev[i]),
    optional: packages.map((_, i) => !notOptional[i]),
  };
}

/** The published manifest of every version, keyed name@version (loopbackRegistry's input). */
export function registryManifests(project: BenchProject): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const p of project.packages) {
    const deps: Record<string, string> = {};
    const optional: Record<string, string> = {};
    for (const e of p.deps) (e.kind === 'optional' ? optional : deps)[project.packages[e.to]!.name] = e.range;
    const base = p.name.slice(p.name.indexOf('/') + 1);
    out.set(`${p.name}@${p.version}`, {
      name: p.name,
      version: p.version,
      description: `Synthetic benchmark package ${p.index}`,
      license: 'MIT',
      main: 'index.js',
      repository: { type: 'git', url: `git+https://github.com/ig-bench/${base}.git` },
      scripts: { test: 'node test.js', ...(p.installScripts ?? {}) },
      ...(p.gypOnly ? { gypfile: true } : {}),
      ...(Object.keys(deps).length ? { dependencies: deps } : {}),
      ...(Object.keys(optional).length ? { optionalDependencies: optional } : {}),
      ...(p.peer ? { peerDependencies: { [p.peer.name]: p.peer.range } } : {}),
      engines: { node: '>=14' },
      _npmUser: { name: 'ig-bench', email: 'bench@example.invalid' },
      dist: { integrity: p.integrity, shasum: p.shasum, tarball: 'rewritten-by-the-registry', fileCount: 4, unpackedSize: 4096 },
    });
  }
  return out;
}
