/**
 * One unique locked version as the audit reports it, and the view of it the allowlist
 * rules read. Both are classes because a 20k-package audit keeps 20k of each for the
 * whole run: as object literals with a getter and an optional spread they were V8
 * dictionaries (about 500 bytes each), and the dependency paths, kept as arrays of
 * arrays, were another 700 bytes a package. The graph answers the paths when they are
 * read (a report, a hover, a LavaMoat key), from the shortest paths it keeps anyway.
 */
import type { LockedPackage, Span } from '../model/inventory';
import type { PolicyDecision, PolicyPackage } from '../policy/types';
import type { VersionFacts } from '../registry/versionFacts';
import { runsInstallCode, type InstallScriptFacts } from './installScripts';
import type { ProvenanceFacts } from './provenance';

/** What a report is made of: facts of the version's lockfile entries and of the evidence. */
export interface ReportFields {
  name: string;
  version: string;
  source: LockedPackage['source'];
  resolved: string | null;
  integrity: string | null;
  direct: boolean;
  dev: boolean;
  optional: boolean;
  lockfileFlag: boolean | null;
  facts: InstallScriptFacts;
  /** Every lockfile entry of this version (for diagnostics on each copy). */
  entries: { id: string; span: Span }[];
  /** The registry's facts of this version, when they were read (policy and provenance use them). */
  registryFacts: VersionFacts | null;
  /** The governing allowlist's verdict and what the installing tool will do. */
  policy: PolicyDecision;
  /** Every copy is bundled inside its parent's tarball. */
  bundled: boolean;
  /** Registry signature, provenance, trust and release age; null until assessed (or when off). */
  provenance: ProvenanceFacts | null;
  error: string | null;
  /** The kind of registry failure behind `error` (registry/registryErrors), for grouping outages. */
  errorKind: string | null;
}

/** What answers "who pulls this in": the project's LockGraph. */
export interface PathSource {
  pathsTo(id: string, limit: number): string[][];
}

/**
 * One unique locked version (copies at several install paths are merged). The interface
 * gives the class its fields, which the constructor copies in, always in one order.
 */
export interface PackageReport extends ReportFields {}
export class PackageReport {
  readonly #graph: PathSource | null;
  readonly #pathLimit: number;

  constructor(fields: ReportFields, graph: PathSource | null, pathLimit: number) {
    Object.assign(this, fields);
    this.#graph = graph;
    this.#pathLimit = pathLimit;
  }

  /**
   * Up to `pathLimit` dependency paths, each from an importer dir to "name@version" of
   * this version. Made when read, not kept: the graph answers from the paths it keeps.
   */
  get paths(): string[][] {
    return this.#graph ? collectPaths(this.entries, this.#graph, this.#pathLimit) : [];
  }

  /** The same version with what differs between two analyses of one lockfile changed. */
  with(changes: Partial<ReportFields>): PackageReport {
    return new PackageReport({ ...this, ...changes }, this.#graph, this.#pathLimit);
  }
}

/** Distinct paths over every copy of the version, at most `limit`. */
function collectPaths(copies: readonly { id: string }[], graph: PathSource, limit: number): string[][] {
  // One copy (nearly every version): the graph's paths are distinct already.
  if (copies.length === 1) return graph.pathsTo(copies[0]!.id, limit);
  const seen = new Set<string>();
  const paths: string[][] = [];
  for (const copy of copies) {
    for (const path of graph.pathsTo(copy.id, limit)) {
      const key = path.join('\0');
      if (seen.has(key)) continue;
      seen.add(key);
      paths.push(path);
      if (paths.length >= limit) return paths;
    }
  }
  return paths;
}

/** What the allowlist rules need to know about a package (made once per report). */
export function toPolicyPackage(report: PackageReport): PolicyPackage {
  let made = policyPackages.get(report);
  if (!made) policyPackages.set(report, (made = new ReportPolicyView(report)));
  return made;
}

/** Shares one view between two reports of the same version (the editor's reanalysis). */
export function sharePolicyPackage(from: PackageReport, to: PackageReport): PolicyPackage {
  const view = toPolicyPackage(from);
  policyPackages.set(to, view);
  return view;
}

/** The fields it is made from are never changed once a report is recorded. */
const policyPackages = new WeakMap<PackageReport, PolicyPackage>();

class ReportPolicyView implements PolicyPackage {
  readonly name: string;
  readonly version: string;
  readonly source: PolicyPackage['source'];
  readonly resolved: string | null;
  readonly runsScripts: boolean;
  readonly bundled: boolean;
  readonly id: string | undefined;
  #paths: string[][] | undefined;

  constructor(private readonly report: PackageReport) {
    this.name = report.name;
    this.version = report.version;
    this.source = report.source;
    this.resolved = report.resolved;
    this.runsScripts = runsInstallCode(report.facts);
    this.bundled = report.bundled;
    this.id = report.entries[0]?.id;
  }

  /**
   * Without the importer: LavaMoat keys and "who pulls it in" are package names only.
   * Made when first read: only rules for packages that run something look at them.
   */
  get paths(): string[][] {
    return (this.#paths ??= this.report.paths.map((path) => path.slice(1)));
  }
}
