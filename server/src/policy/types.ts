/**
 * The policy layer's shared vocabulary. Native allowlists (npm allowScripts, pnpm
 * allowBuilds / onlyBuiltDependencies, Yarn dependenciesMeta, Bun trustedDependencies,
 * LavaMoat allowScripts) are read into AllowlistRules; the rules of the tool that will
 * install decide each package that runs install scripts; fixes write back to the same
 * files as text edits that keep formatting and comments.
 */
import type { FileProblem, PackageManagerName, Span } from '../model/inventory';

/** The tool whose rules govern install scripts: a package manager, or LavaMoat on top of one. */
export type PolicyTool = PackageManagerName | 'lavamoat';

export type Verdict = 'allowed' | 'denied' | 'unreviewed' | 'none';

/** What the installing tool will actually do with the package's script. */
export type ScriptEffect = 'runs' | 'skipped' | 'fails-install';

/** One entry of a native allowlist, as written in its file. */
export interface AllowlistRule {
  tool: PolicyTool;
  /** Absolute path of the file that holds it. */
  file: string;
  /**
   * Where in the file, as a dotted path: "allowScripts", "pnpm.onlyBuiltDependencies",
   * "allowBuilds", "onlyBuiltDependencies", "ignoredBuiltDependencies",
   * "neverBuiltDependencies", "permissions" (pnpm 12), "dependenciesMeta",
   * "trustedDependencies", "lavamoat.allowScripts", "onlyBuiltDependenciesFile", and
   * "allow-scripts" (npm's .npmrc list).
   */
  field: string;
  /** The key or list item exactly as written: "sharp", "nx@21.6.4 || 21.6.5", "a>b". */
  key: string;
  /** The package it names; null when the key names no registry package (git URL, path). */
  name: string | null;
  /** Exact versions it is limited to; null for every version. */
  versions: string[] | null;
  /** For keys that name a source rather than a registry package: the git/tarball/file spec. */
  sourceSpec: string | null;
  /** LavaMoat: the dependency path `a>b>c` the key names (names only). */
  lavamoatPath: string[] | null;
  /** true allow, false deny, null not decided yet (pnpm's "set this to true or false"). */
  allow: boolean | null;
  /** The whole entry (property or list item) in the file, for diagnostics and removal. */
  span: Span;
  /**
   * The entry's place in its file as `decidedBy` shows it after "<file>#": "allowScripts.sharp",
   * "onlyBuiltDependencies[2]", "dependenciesMeta.sharp@0.34.5.built", "allow-scripts[0]".
   */
  entry?: string;
}

/** A switch that applies to every package (ignore-scripts, enableScripts: false, ...). */
export interface GlobalSwitch {
  file: string;
  span: Span | null;
  /** As the user would recognise it: "ignore-scripts=true", "enableScripts: false". */
  what: string;
}

export interface ToolSettings {
  tool: PolicyTool;
  /** The package manager that will run the install (LavaMoat runs under one). */
  manager: PackageManagerName;
  /** Its version, from `packageManager` or the one on PATH; null when unknown. */
  version: string | null;
  /** Where the version came from: 'package.json "packageManager"', 'pnpm on PATH', ... */
  versionSource: string | null;
  /** Why the version is unknown ("pnpm is not on PATH"); the current release's rules are then assumed. */
  versionProblem?: string;
  /** Every install script is off. */
  scriptsDisabled: GlobalSwitch | null;
  /** Every install script is on regardless of lists (pnpm dangerouslyAllowAllBuilds). */
  allowAll: GlobalSwitch | null;
  /** An unreviewed script fails the install (npm strict-allow-scripts, pnpm strictDepBuilds). */
  strict: GlobalSwitch | null;
}

export interface NativePolicy {
  settings: ToolSettings;
  /** Rules of the governing tool. */
  rules: AllowlistRule[];
  /** Rules found for other tools (e.g. an allowScripts in a pnpm project): shown, not applied. */
  inactiveRules: AllowlistRule[];
  problems: FileProblem[];
  /** Every file read, so an editor can re-evaluate when one changes. */
  files: string[];
  /** The project root, so decisions can name files relative to it ("package.json#allowScripts.sharp"). */
  root?: string;
  /**
   * Allowlist fields present in the governing configuration, even when empty: an empty
   * list still changes the tool's default (pnpm 9 `onlyBuiltDependencies: []` builds nothing,
   * pnpm 10 `neverBuiltDependencies: []` builds everything, Bun `trustedDependencies: []`
   * replaces the default list). Names as in AllowlistRule.field.
   */
  declaredFields?: string[];
  /**
   * LavaMoat only: the policy of the package manager it runs on. That manager still decides
   * (and runs scripts itself) unless its own scripts are switched off, as allow-scripts needs.
   */
  underlying?: NativePolicy;
  /** The flavour of the tool when its rules differ by it: 'yarn-classic' | 'yarn-berry'. */
  variant?: string;
}

/** What a policy decision needs to know about one locked package. */
export interface PolicyPackage {
  name: string;
  version: string;
  source: 'registry' | 'git' | 'tarball' | 'file' | 'link' | 'workspace' | 'patch';
  resolved: string | null;
  /** Dependency paths as name@version steps after the importer (LavaMoat keys are paths). */
  paths: string[][];
  /** Whether it runs anything at install time (install hooks, implicit gyp, prepare). */
  runsScripts: boolean;
  /**
   * Bundled dependencies (shipped inside their parent's tarball). arborist's script-allowed.js
   * says they never run and cannot be allowlisted, but npm 11.19 does run them (see decide.ts).
   */
  bundled?: boolean;
  /** The lockfile's own key (pnpm dependency path, ...): pnpm allowBuilds can name artifacts by it. */
  id?: string;
}

export interface PolicyDecision {
  verdict: Verdict;
  /** The rule that decided, when one did. */
  rule: AllowlistRule | null;
  /** "<file relative to the root>#<entry>", e.g. "package.json#allowScripts.sharp"; null when no entry decided. */
  decidedBy: string | null;
  /** null when the verdict is "none" (nothing runs). */
  effect: ScriptEffect | null;
  /** What the installing tool will do and why, e.g. "npm 11.19 runs an unreviewed script and only warns". */
  explanation: string;
}

/** A text replacement in one file; offsets are into the file's current text. */
export interface TextEdit {
  file: string;
  span: Span;
  newText: string;
}

/** A fix, as the editor's quick-fix and `install-guard allow|deny` apply it. */
export interface FixEdit {
  title: string;
  edits: TextEdit[];
  /** The one fix an editor marks as preferred. */
  preferred: boolean;
  /** What the target format cannot express (e.g. Bun cannot pin a version or deny). */
  limitation: string | null;
}
