/**
 * The one model every file format is parsed into. Parsers (server/src/parse/) produce it,
 * analysis (server/src/analysis/) reads it, and the CLI and the language server present
 * it. Every entry carries the span of its text so diagnostics and edits can point at it.
 */
import type { LockGraph } from '../parse/graph';

/** A half-open range of UTF-16 offsets into the text of the file that holds it. */
export interface Span {
  start: number;
  end: number;
}

/** Where an entry is when its text position could not be found. */
export const NO_SPAN: Span = { start: 0, end: 0 };

/** A problem with one file; the rest of the project is still analysed. */
export interface FileProblem {
  /** Absolute path of the file. */
  file: string;
  message: string;
  /** Where in the file, when the parser could tell. */
  span?: Span;
}

/** Thrown by a parser when a file cannot be read as its format at all. */
export class FileParseError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly span?: Span,
  ) {
    super(message);
    this.name = 'FileParseError';
  }
}

export type DependencyKind =
  | 'dependencies'
  | 'devDependencies'
  | 'optionalDependencies'
  | 'peerDependencies';

/** One entry of a dependencies block of a package.json. */
export interface ManifestDependency {
  name: string;
  spec: string;
  kind: DependencyKind;
  /** Span of the quoted key, e.g. `"sharp"`. */
  nameSpan: Span;
  /** Span of the quoted value, e.g. `"^0.33.0"`. */
  specSpan: Span;
}

/** One leaf of `overrides` (npm, nested), `resolutions` (yarn) or `pnpm.overrides`. */
export interface OverrideEntry {
  field: 'overrides' | 'resolutions' | 'pnpm.overrides';
  /** The chain of keys from the field to this value, e.g. ["foo@1", "bar"]. */
  keyPath: string[];
  spec: string;
  span: Span;
}

/** A package.json of the project root or of one workspace. */
export interface ProjectManifest {
  /** Absolute path of the package.json. */
  file: string;
  /** Directory relative to the project root, "." for the root, "/" separated. */
  dir: string;
  text: string;
  name: string | null;
  version: string | null;
  dependencies: ManifestDependency[];
  overrides: OverrideEntry[];
  /** `packageManager`, e.g. { name: "pnpm", version: "10.12.1" }. */
  packageManager: { name: string; version: string; span: Span } | null;
  /** Workspace globs declared here (npm/yarn `workspaces`), root only. */
  workspaces: string[];
  /** The parsed JSON value (jsonc), for fields the policy layer reads. */
  json: Record<string, unknown>;
}

export type SourceKind = 'registry' | 'git' | 'tarball' | 'file' | 'link' | 'workspace' | 'patch';

export type EdgeKind = 'prod' | 'optional' | 'peer' | 'dev';

/** An edge in the locked dependency graph, from an importer or a package to a package. */
export interface LockEdge {
  /** `LockedPackage.id` of the target. */
  to: string;
  kind: EdgeKind;
}

/** A workspace root as the lockfile records it (npm "" / pnpm importers / yarn workspace:). */
export interface LockImporter {
  /** Directory relative to the project root, "." for the root. */
  dir: string;
  edges: LockEdge[];
}

export type LockfileFormat =
  | 'package-lock-v1'
  | 'package-lock-v2'
  | 'package-lock-v3'
  | 'yarn-classic'
  | 'yarn-berry'
  | 'pnpm-6'
  | 'pnpm-9'
  | 'bun';

/** One package as locked. The same name@version can appear several times (nested copies). */
export interface LockedPackage {
  /** Unique within the lockfile: the install path, descriptor or key the format uses. */
  id: string;
  name: string;
  version: string;
  source: SourceKind;
  resolved: string | null;
  integrity: string | null;
  /** What the lockfile itself says about install scripts; null when the format has no flag. */
  lockfileFlag: boolean | null;
  /** Span of the entry's key in the lockfile. */
  span: Span;
  /** Where npm installs it, relative to the root ("node_modules/a/node_modules/b"), when known. */
  installPath: string | null;
  /**
   * Shipped inside its parent's tarball (bundleDependencies). npm 11.19 still runs its install
   * scripts, and no allowScripts entry can cover it (seen in test/cli/toolAgreement.test.ts).
   */
  bundled?: boolean;
  edges: LockEdge[];
  /** Filled in by LockGraph (parse/graph.ts): reachable only through dev / optional edges, or from an importer. */
  dev: boolean;
  optional: boolean;
  direct: boolean;
}

export interface Lockfile {
  /** Absolute path. */
  file: string;
  format: LockfileFormat;
  importers: LockImporter[];
  packages: LockedPackage[];
  /** Problems that did not stop parsing (an entry that could not be read, ...). */
  problems: FileProblem[];
}

export type PackageManagerName = 'npm' | 'pnpm' | 'yarn' | 'bun';

/** Everything read from a project directory, before any registry access. */
export interface ProjectInventory {
  root: string;
  manifests: ProjectManifest[];
  lockfile: Lockfile | null;
  /** The lockfile's dependency graph (who pulls what in); null without a lockfile. */
  graph: LockGraph | null;
  packageManager: { name: PackageManagerName; version: string | null; reason: string };
  problems: FileProblem[];
}

/**
 * A LockedPackage as a parser creates it: no edges yet, and direct / dev / optional left
 * to the graph pass. One literal shape for every format (no spread): it runs 20k times.
 */
export function newLockedPackage(
  p: Pick<LockedPackage, 'id' | 'name' | 'version' | 'source' | 'resolved' | 'integrity' | 'lockfileFlag' | 'span' | 'installPath'>,
): LockedPackage {
  return {
    id: p.id,
    name: p.name,
    version: p.version,
    source: p.source,
    resolved: p.resolved,
    integrity: p.integrity,
    lockfileFlag: p.lockfileFlag,
    span: p.span,
    installPath: p.installPath,
    edges: [],
    dev: false,
    optional: false,
    direct: false,
  };
}

/** `name@version` the way every other layer keys a registry version. */
export function versionKey(name: string, version: string): string {
  return `${name}@${version}`;
}

/**
 * Orders strings by UTF-16 code units: the same order on every machine (localeCompare
 * follows the process's locale) and a tenth of its cost, which a 20k-package sort notices.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
