/**
 * Which key names a package in each native allowlist, and where the entry goes.
 *
 * - npm allowScripts: `name`, `name@1.2.3`, `name@1.2.3 || 1.2.4` (exact versions only);
 *   git deps by hosted shortcut `github:user/repo[#commit]`, file/tarball deps by their
 *   resolved spec. Pinned keys only match when the lockfile records a `resolved` URL
 *   (npm's script-allowed.js derives the version from it, never from the tarball).
 * - pnpm allowBuilds / onlyBuiltDependencies: the same `name@v1 || v2` syntax; pnpm reads
 *   versions in onlyBuiltDependencies since 10.19 (pnpm.io/blog/releases/10.19),
 *   allowBuilds exists since 10.26 (pnpm.io/blog/releases/10.26) and is the only form in
 *   pnpm 11, which also stops reading the "pnpm" field of package.json
 *   (pnpm.io/blog/releases/11.0). Settings in pnpm-workspace.yaml are read since 10.5.
 * - LavaMoat: `a>b` dependency paths of names (its canonical name), `a>b#1.2.3` pinned.
 */
import { join } from 'node:path';
import npa from 'npm-package-arg';
import semver from 'semver';
import { compareText } from '../../model/inventory';
import type { AllowlistRule, NativePolicy, PolicyPackage } from '../types';
import type { Place, ProjectTexts } from '../edits/editSession';
import { jsonValueAt } from '../edits/jsonEdit';

/** The package a fix is about, as the lockfile has it. */
export interface EditTarget {
  name: string;
  version: string;
  source: PolicyPackage['source'];
  /** The lockfile's resolved URL/spec; null when it records none (omit-lockfile-registry-resolved). */
  resolved: string | null;
  /** Dependency paths from the importer, as name or name@version steps (LavaMoat keys are paths). */
  paths?: string[][];
}

/** What one allowlist key says about the target package. */
export interface KeyInfo {
  /** The key names every version (no pin). */
  all: boolean;
  /** The pins it lists (versions, or a git commit). */
  pins: string[];
  /** It applies to the target's version. */
  covers: boolean;
}

export interface KeyScheme {
  /** undefined when the key names another package. */
  classify(key: string): KeyInfo | undefined;
  nameKey: string;
  pinnedKey(pins: string[]): string;
  /** The target's pin (version or commit); null when the format cannot pin it. */
  pin: string | null;
  /** Several pins may share one key (`name@1.0.0 || 1.2.3`). */
  joinsPins: boolean;
}

/** `name`, `name@*`, `name@1.2.3 || 1.2.4`; undefined for ranges, tags, URLs. */
function parseNameKey(key: string): { name: string; pins: string[] | null } | undefined {
  const at = key.indexOf('@', key.startsWith('@') ? 1 : 0);
  const name = at === -1 ? key : key.slice(0, at);
  const spec = at === -1 ? '' : key.slice(at + 1).trim();
  if (!/^(?:@[^/@\s]+\/)?[^/@\s#>]+$/.test(name)) return undefined;
  if (spec === '' || spec === '*') return { name, pins: null };
  const pins = spec.split('||').map((p) => p.trim());
  return pins.every((p) => p !== '' && semver.valid(p) !== null) ? { name, pins } : undefined;
}

/** Versions compare as semver reads them (`v1.2.3` is 1.2.3); commits and specs as text. */
export function samePin(a: string, b: string): boolean {
  return a === b || (semver.valid(a) !== null && semver.valid(a) === semver.valid(b));
}

function formatNameKey(name: string, pins: string[] | null): string {
  return pins && pins.length > 0 ? `${name}@${pins.join(' || ')}` : name;
}

/** Keys by name and exact versions (npm and pnpm registry packages). */
export function registryScheme(name: string, version: string | null, joinsPins = true): KeyScheme {
  return {
    classify(key) {
      const parsed = parseNameKey(key);
      if (!parsed || parsed.name !== name) return undefined;
      const all = parsed.pins === null;
      return { all, pins: parsed.pins ?? [], covers: all || (version !== null && parsed.pins!.some((p) => samePin(p, version))) };
    },
    nameKey: name,
    pinnedKey: (pins) => formatNameKey(name, pins),
    pin: version,
    joinsPins,
  };
}

/** The parts of hosted-git-info that npm's writer uses (its @types omit them). */
interface Hosted {
  committish?: string | null;
  shortcut(options?: { noCommittish?: boolean }): string;
  ssh(options?: { noCommittish?: boolean }): string;
}

/** npm's keys for a target, following its allow-scripts writer; a string says why there is none. */
export function npmScheme(target: EditTarget): KeyScheme | string {
  if (target.source === 'registry') return registryScheme(target.name, target.resolved ? target.version : null);
  if (target.source === 'git' && target.resolved) {
    let hosted: Hosted | undefined;
    let commit: string | null = null;
    try {
      const parsed = npa(target.resolved);
      hosted = parsed.hosted as Hosted | undefined;
      commit = parsed.gitCommittish || hosted?.committish || null;
    } catch {
      hosted = undefined;
    }
    if (!hosted) return `npm names a git dependency in allowScripts by its hosted shortcut, and ${target.resolved} is not on a known git host`;
    const base = hosted.shortcut({ noCommittish: true });
    const ssh = hosted.ssh({ noCommittish: true });
    return {
      classify(key) {
        try {
          const parsed = npa(key);
          const keyHosted = parsed.hosted as Hosted | undefined;
          if (parsed.type !== 'git' || !keyHosted || keyHosted.ssh({ noCommittish: true }) !== ssh) return undefined;
          const keyCommit = parsed.gitCommittish || keyHosted.committish || null;
          // npm matches a short SHA in the key as a prefix of the locked commit.
          return { all: !keyCommit, pins: keyCommit ? [keyCommit] : [], covers: !keyCommit || (commit !== null && commit.startsWith(keyCommit)) };
        } catch {
          return undefined;
        }
      },
      nameKey: base,
      pinnedKey: (pins) => `${base}#${pins[0]}`,
      pin: commit,
      joinsPins: false,
    };
  }
  if ((target.source === 'file' || target.source === 'tarball') && target.resolved) {
    const spec = target.resolved;
    return {
      classify: (key) => (key === spec ? { all: true, pins: [], covers: true } : undefined),
      nameKey: spec,
      pinnedKey: () => spec,
      pin: null,
      joinsPins: false,
    };
  }
  return `npm's allowScripts cannot name a ${target.source} dependency without its resolved spec`;
}

/** How a pnpm project states its build rules, and where the next entry belongs. */
export interface PnpmPlan {
  mode: 'allowBuilds' | 'lists' | 'never';
  /** The map (allowBuilds) or allow list (onlyBuiltDependencies / neverBuiltDependencies). */
  place: Place;
  /** ignoredBuiltDependencies, in list mode. */
  denyPlace: Place | null;
  canPin: boolean;
  /** Why a pinned entry cannot be written or may not be read. */
  pinCaveat: string | null;
  /** Why the field itself may not be read (the pnpm version is unknown). */
  fieldCaveat: string | null;
}

export function planPnpm(policy: NativePolicy, texts: ProjectTexts): PnpmPlan {
  const version = semver.coerce(policy.settings.version, { includePrerelease: false })?.version ?? null;
  const at = (v: string) => version !== null && semver.gte(version, v);
  const workspaceFile = join(texts.root, 'pnpm-workspace.yaml');
  const manifestFile = join(texts.root, 'package.json');
  type Home = { file: string; format: 'json' | 'yaml'; prefix: string[] };
  const yamlHome: Home = { file: workspaceFile, format: 'yaml', prefix: [] };
  const manifestHome: Home = { file: manifestFile, format: 'json', prefix: ['pnpm'] };
  // Where each field is stated: its rules' files, and fields declared even when empty.
  const named = (...fields: string[]): Home[] => [
    ...policy.rules
      .filter((r) => r.tool === 'pnpm' && fields.includes(r.field.split('.').pop()!))
      .map((r) => (r.file.endsWith('.yaml') || r.file.endsWith('.yml') ? { ...yamlHome, file: r.file } : manifestHome)),
    ...(policy.declaredFields ?? []).filter((f) => fields.includes(f.split('.').pop()!)).map((f) => (f.startsWith('pnpm.') ? manifestHome : yamlHome)),
  ];
  const homeOf = (found: Home[]) => found[0]!;
  const allowRules = named('allowBuilds');
  const listRules = named('onlyBuiltDependencies', 'ignoredBuiltDependencies');
  const neverRules = named('neverBuiltDependencies');
  const allowBuilds = (home: Home, fieldCaveat: string | null): PnpmPlan => ({
    mode: 'allowBuilds',
    place: { file: home.file, format: home.format, path: [...home.prefix, 'allowBuilds'] },
    denyPlace: null,
    canPin: true,
    pinCaveat: null,
    fieldCaveat,
  });
  const lists = (home: Home, canPin: boolean, pinCaveat: string | null): PnpmPlan => ({
    mode: 'lists',
    place: { file: home.file, format: home.format, path: [...home.prefix, 'onlyBuiltDependencies'] },
    denyPlace: { file: home.file, format: home.format, path: [...home.prefix, 'ignoredBuiltDependencies'] },
    canPin,
    pinCaveat,
    fieldCaveat: null,
  });

  // pnpm 11 reads build rules only from allowBuilds in pnpm-workspace.yaml.
  if (at('11.0.0')) return allowBuilds(allowRules.length > 0 && homeOf(allowRules).format === 'yaml' ? homeOf(allowRules) : yamlHome, null);
  if (allowRules.length > 0) return allowBuilds(homeOf(allowRules), version === null ? 'The pnpm version is unknown; allowBuilds needs pnpm 10.26 or later' : null);
  if (neverRules.length > 0 && listRules.length === 0) {
    const home = homeOf(neverRules);
    return { mode: 'never', place: { file: home.file, format: home.format, path: [...home.prefix, 'neverBuiltDependencies'] }, denyPlace: null, canPin: false, pinCaveat: 'neverBuiltDependencies lists names only, so every version is allowed', fieldCaveat: null };
  }
  // Keep writing the lists a pnpm 10 project already uses rather than split its rules.
  if (listRules.length > 0) {
    const canPin = at('10.19.0');
    return lists(homeOf(listRules), canPin, canPin ? null : version === null ? 'The pnpm version is unknown, and only pnpm 10.19 or later reads versions in onlyBuiltDependencies' : `pnpm ${version} reads only names in onlyBuiltDependencies (versions need pnpm 10.19)`);
  }
  if (version === null) return allowBuilds(yamlHome, 'The pnpm version is unknown; allowBuilds needs pnpm 10.26 or later (older pnpm 10 reads onlyBuiltDependencies)');
  if (at('10.26.0')) return allowBuilds(yamlHome, null);
  const keepsSettingsInManifest = !texts.files.has(workspaceFile) && hasPnpmField(texts.files.get(manifestFile));
  const home = !at('10.5.0') || keepsSettingsInManifest ? manifestHome : yamlHome;
  const canPin = at('10.19.0');
  return lists(home, canPin, canPin ? null : `pnpm ${version} reads only names in onlyBuiltDependencies (versions need pnpm 10.19)`);
}

function hasPnpmField(text: string | undefined): boolean {
  if (text === undefined) return false;
  try {
    const value = jsonValueAt(text, ['pnpm'], 'package.json');
    return !!value && typeof value === 'object';
  } catch {
    return false;
  }
}

/** A path step `@scope/name@1.2.3` or `name` -> the name. */
function stepName(step: string): string {
  const at = step.indexOf('@', step.startsWith('@') ? 1 : 0);
  return at === -1 ? step : step.slice(0, at);
}

/**
 * LavaMoat's key for the target: the path an existing entry already uses, else the
 * shortest dependency path of names (ties broken alphabetically, as its canonical names
 * are), else the one entry in the file that ends in the package's name.
 */
export function lavamoatPathFor(target: EditTarget, rules: readonly AllowlistRule[], existingKeys: readonly string[]): string | undefined {
  const candidates = (target.paths ?? [])
    .map((path) => path.map(stepName))
    .map((names) => (names[names.length - 1] === target.name ? names : [...names, target.name]))
    .map((names) => names.join('>'));
  const known = [
    ...rules.filter((r) => r.tool === 'lavamoat' && r.lavamoatPath).map((r) => r.lavamoatPath!.join('>')),
    ...existingKeys.map((key) => key.split('#')[0]!),
  ];
  const used = known.find((path) => candidates.includes(path));
  if (used) return used;
  if (candidates.length > 0) {
    return [...candidates].sort((a, b) => a.split('>').length - b.split('>').length || compareText(a, b))[0];
  }
  const endingInName = [...new Set(known.filter((path) => path.split('>').pop() === target.name))];
  return endingInName.length === 1 ? endingInName[0] : undefined;
}
