/**
 * Does this exact locked version run code at install time, and what exactly?
 *
 * npm's rule (which pnpm, Yarn and Bun follow for the same hooks): `preinstall`,
 * `install` and `postinstall` run; a package with a binding.gyp and no `install` /
 * `preinstall` gets an implicit `node-gyp rebuild` unless `gypfile: false`. Git, file and
 * link sources are packed from source first, which runs their `prepare`.
 *
 * The evidence is weighed cheapest first but decided by the strongest available:
 *   installed  node_modules/<pkg>/package.json of the same name and version — the
 *              manifest the package manager actually executes from;
 *   local      the package.json of a file:/link: dependency inside the project;
 *   registry   the registry's manifest of that version;
 *   lockfile   only the lockfile's own flag, a hint: package-lock misses gyp-only
 *              packages and keeps stale flags, pnpm 9 and yarn.lock have none.
 * Nothing here executes anything; it only reads JSON and checks that files exist.
 */
import type { LockedPackage } from '../model/inventory';

export const INSTALL_HOOKS = ['preinstall', 'install', 'postinstall'] as const;
export type LifecycleScript = (typeof INSTALL_HOOKS)[number] | 'prepare';
export type ScriptMap = Partial<Record<LifecycleScript, string>>;

export type Evidence = 'installed' | 'local' | 'registry' | 'lockfile' | 'none';

/** The parts of a manifest (registry, installed or local) that decide install scripts. */
export interface ScriptManifest {
  scripts?: Record<string, unknown> | null;
  gypfile?: boolean | null;
  /** Whether a binding.gyp file was seen beside it (installed / local manifests only). */
  hasBindingGyp?: boolean;
}

export interface InstallScriptFacts {
  /** What runs at install time; null when nothing runs or nothing is known. */
  scripts: ScriptMap | null;
  /** The package builds a native addon with node-gyp (gypfile / binding.gyp). */
  gyp: boolean;
  evidence: Evidence;
  /** False when no evidence could decide (registry unreachable, offline miss...). */
  known: boolean;
  /** Why the evidence is weak or what could not be read. */
  note: string | null;
}

export const IMPLICIT_GYP_COMMAND = 'node-gyp rebuild';

/** Packs run `prepare` only for sources that are built from a working tree. */
export function runsPrepare(pkg: Pick<LockedPackage, 'source'>): boolean {
  return pkg.source === 'git' || pkg.source === 'file' || pkg.source === 'link';
}

/** Applies npm's rule to one manifest. */
export function scriptsFromManifest(manifest: ScriptManifest, includePrepare: boolean): { scripts: ScriptMap | null; gyp: boolean } {
  const declared = manifest.scripts ?? {};
  const scripts: ScriptMap = {};
  for (const hook of INSTALL_HOOKS) {
    const command = declared[hook];
    if (typeof command === 'string' && command.trim() !== '') scripts[hook] = command;
  }
  if (includePrepare && typeof declared.prepare === 'string' && declared.prepare.trim() !== '') {
    scripts.prepare = declared.prepare;
  }
  const gyp = manifest.gypfile === true || manifest.hasBindingGyp === true;
  // The implicit build only applies when the package does not install itself; the
  // registry's manifest usually already carries it as scripts.install at publish.
  if (gyp && manifest.gypfile !== false && !scripts.install && !scripts.preinstall) {
    scripts.install = IMPLICIT_GYP_COMMAND;
  }
  return { scripts: Object.keys(scripts).length > 0 ? scripts : null, gyp };
}

export interface ScriptEvidence {
  installed?: ScriptManifest | null;
  local?: ScriptManifest | null;
  registry?: ScriptManifest | null;
  /** Why the registry manifest is missing, when it was asked for and not had. */
  registryError?: string | null;
}

export function decideInstallScripts(pkg: LockedPackage, evidence: ScriptEvidence): InstallScriptFacts {
  const prepare = runsPrepare(pkg);
  const decided = (source: ScriptManifest, kind: Evidence, note: string | null = null): InstallScriptFacts => {
    const { scripts, gyp } = scriptsFromManifest(source, prepare);
    return { scripts, gyp, evidence: kind, known: true, note: note ?? staleFlagNote(pkg, scripts) };
  };
  if (evidence.installed) return decided(evidence.installed, 'installed');
  if (evidence.local) return decided(evidence.local, 'local');
  if (evidence.registry) return decided(evidence.registry, 'registry');

  const reason = evidence.registryError ?? (pkg.source === 'registry' ? 'registry manifest not read' : unreadableSourceNote(pkg));
  if (pkg.lockfileFlag === true) {
    return {
      scripts: null,
      gyp: false,
      evidence: 'lockfile',
      known: true,
      note: `the lockfile flags install scripts but which commands is unknown: ${reason}`,
    };
  }
  return { scripts: null, gyp: false, evidence: 'none', known: false, note: reason };
}

/** npm keeps `hasInstallScript` from older resolutions (fsevents 2.3.x); say so when it disagrees. */
function staleFlagNote(pkg: LockedPackage, scripts: ScriptMap | null): string | null {
  const runsHooks = scripts !== null && INSTALL_HOOKS.some((hook) => scripts[hook] !== undefined);
  if (pkg.lockfileFlag === true && !runsHooks) return 'the lockfile flags install scripts, but this version has none';
  if (pkg.lockfileFlag === false && runsHooks) return 'the lockfile does not flag the install scripts this version has';
  return null;
}

function unreadableSourceNote(pkg: LockedPackage): string {
  switch (pkg.source) {
    case 'git':
      return 'git dependency: its package.json is not in the registry and Install Guard does not clone it; it runs `prepare` (and install hooks) if it has them';
    case 'tarball':
      return 'remote tarball: its package.json is only inside the tarball, which Install Guard does not download';
    default:
      return `${pkg.source} dependency: its package.json could not be read`;
  }
}

/** True when the facts say something runs at install time. */
export function runsInstallCode(facts: InstallScriptFacts): boolean {
  return facts.scripts !== null || facts.evidence === 'lockfile';
}
