/**
 * "Pin a safe version": the newest published version of a package that satisfies every
 * rule in force (safeVersionRules.ts), written where the package manager will use it.
 *
 *  direct      the newest qualifying version within the range each declaring package.json
 *              writes, else the newest beyond it (said in the title); the spec becomes the
 *              exact version — a range would let the next install resolve a newer release
 *              nobody has reviewed.
 *  transitive  an override entry of the package manager in use: npm `overrides`, pnpm
 *              `pnpm.overrides` or `overrides` in pnpm-workspace.yaml, Yarn `resolutions`,
 *              Bun `overrides` (or `resolutions`, which it also reads). Nobody declared a
 *              range for it here, so "within" means within the major of the locked version
 *              (the range its dependents most likely accept).
 *
 * Candidates are looked at newest first and only until one qualifies; the packument is
 * fetched once per name (MetadataClient), so each candidate's facts come from memory.
 * When none qualifies there is no fix, and the explanation says why for each candidate.
 */
import { join } from 'node:path';
import npa from 'npm-package-arg';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import type { ProjectAnalysis } from '../../engine';
import type { ManifestDependency, PackageManagerName, ProjectManifest } from '../../model/inventory';
import type { MetadataClient } from '../../registry/metadataClient';
import type { PublishedVersion } from '../../registry/publishHistory';
import { pnpmGates } from '../allowlists/pnpmBuildPolicy';
import type { FixEdit } from '../types';
import { EditRefusedError } from './applyEdits';
import { EditSession, type Place } from './editSession';
import { jsonValueAt } from './jsonEdit';
import { describeRules, judgeCandidate, type CandidateVerdict, type RulesInForce } from './safeVersionRules';

export type { CandidateVerdict } from './safeVersionRules';

export interface SafeVersionPlan {
  package: string;
  current: string;
  chosen: string | null;
  /** false: the chosen version is beyond the declared range, and the title says so. */
  withinRange: boolean;
  /** Every version looked at, newest first. */
  candidates: CandidateVerdict[];
  /** null when no version qualifies or nothing can be written; edits [] when already pinned. */
  fix: FixEdit | null;
  explanation: string;
}

export interface SafeVersionDeps {
  metadata: Pick<MetadataClient, 'lookup' | 'publishHistory'>;
  now: Date;
  /** Absolute path -> current text (open editors over disk); edits are against these. */
  texts: ReadonlyMap<string, string>;
}

/** Beyond this many versions looked at, the rest are counted, not judged. */
const MAX_EXAMINED = 100;
/** How many rejected candidates an explanation lists by name. */
const LISTED = 10;
const EDITABLE_KINDS = new Set(['dependencies', 'devDependencies', 'optionalDependencies']);

/** A package.json entry whose registry range resolved to the locked version. */
interface Declaration {
  manifest: ProjectManifest;
  dep: ManifestDependency;
  /** The semver range it allows ("*" for a dist-tag). */
  range: string;
  /** How the user wrote it, for titles. */
  label: string;
  /** The exact spec to write, keeping an alias an alias. */
  write: (version: string) => string;
}

export async function planSafeVersion(analysis: ProjectAnalysis, target: { name: string; version: string }, deps: SafeVersionDeps): Promise<SafeVersionPlan> {
  const { name, version: current } = target;
  const { inventory } = analysis.report;
  const report = analysis.report.packages.find((p) => p.name === name && p.version === current) ?? null;
  const none = (explanation: string, candidates: CandidateVerdict[] = []): SafeVersionPlan => ({ package: name, current, chosen: null, withinRange: false, candidates, fix: null, explanation });
  if (report && report.source !== 'registry') return none(`${name}@${current} comes from ${report.source === 'git' ? 'a git repository' : `a ${report.source} source`}, not the registry: there is no published version to pin`);
  if (report?.bundled) return none(`${name}@${current} is bundled inside its parent's tarball: neither a pin nor an override changes it; pin a version of the package that bundles it`);

  const { editable, unwritable } = declarationsOf(inventory.manifests, name, current);
  if (editable.length === 0 && unwritable.length > 0) {
    const where = unwritable.map((d) => `"${d.dep.spec}" in ${label(inventory.root, d.manifest.file)}`).join(', ');
    return none(`${name} is declared as ${where}, which is not a registry range: change the version where that spec points`);
  }
  const direct = editable.length > 0;
  const history = await deps.metadata.publishHistory(name, current);
  if (!history) return none(`the registry's list of ${name} versions could not be read (offline, or the registry did not answer): no version can be judged`);

  const prerelease = semver.prerelease(current) !== null;
  const ordered = publishedVersions(history.versions, prerelease);
  const ranges = direct ? [...new Set(editable.map((d) => d.range))] : [compatibleRange(current)];
  const rangeLabel = direct ? [...new Set(editable.map((d) => d.label))].join(' and ') : `${ranges[0]} (the major of the locked ${current})`;
  const inRange = (v: string) => ranges.every((r) => semver.satisfies(v, r, { includePrerelease: prerelease }));

  const rules: RulesInForce = { name, policy: analysis.policy, settings: analysis.settings, now: deps.now, paths: report?.paths.map((path) => path.slice(1)) ?? [] };
  const judged = new Map<string, CandidateVerdict>();
  let chosen: string | null = null;
  let withinRange = false;
  search: for (const [list, within] of [[ordered.filter(inRange), true], [ordered.filter((v) => !inRange(v)), false]] as const) {
    for (const version of list) {
      if (judged.size >= MAX_EXAMINED) break search;
      const verdict = await judge(version, history.versions, rules, analysis, deps);
      judged.set(version, verdict);
      if (verdict.ok) {
        chosen = version;
        withinRange = within;
        break search;
      }
    }
  }
  const candidates = [...judged.values()].sort((a, b) => semver.rcompare(a.version, b.version));
  const unexamined = chosen === null ? ordered.length - judged.size : 0;
  const ruleText = describeRules(rules).join('; ');
  if (chosen === null) return none(noCandidateText(name, ruleText, candidates, unexamined), candidates);

  const texts = withManifestTexts(deps.texts, inventory.manifests);
  const manager = analysis.policy.settings.manager;
  const beyond = withinRange ? '' : direct ? ` — beyond the declared range ${rangeLabel}` : ` — beyond ${rangeLabel}`;
  let fix: FixEdit;
  try {
    fix = direct
      ? pinDirect(inventory.root, texts, editable, name, chosen, beyond, report)
      : addOverride(inventory.root, texts, analysis, name, chosen, beyond);
  } catch (error) {
    if (!(error instanceof EditRefusedError)) throw error;
    return { package: name, current, chosen, withinRange, candidates, fix: null, explanation: `${name} ${chosen} qualifies, but the fix cannot be written: ${error.message}` };
  }
  const chosenVerdict = judged.get(chosen)!;
  // Everything judged before the chosen one failed a rule: newer ones in range, or the whole range.
  const passedOver = candidates.filter((c) => !c.ok);
  const explanation = [
    `${name} ${chosen} is the newest version ${withinRange ? 'within' : 'beyond'} ${direct && !withinRange ? 'the declared range ' : ''}${rangeLabel} that satisfies every rule in force (${ruleText}): ${chosenVerdict.notes.join('; ') || 'nothing against it'}.`,
    passedOver.length ? `Passed over: ${passedOver.slice(0, LISTED).map((c) => `${c.version} (${c.reasons.join('; ')})`).join(', ')}${passedOver.length > LISTED ? ` and ${passedOver.length - LISTED} more` : ''}.` : '',
    direct ? 'The exact version keeps the next install from resolving a newer release nobody has reviewed.' : '',
    fix.edits.length ? `Then run \`${manager} install\` so the lockfile follows.` : '',
  ].filter(Boolean).join(' ');
  return { package: name, current, chosen, withinRange, candidates, fix, explanation };
}

async function judge(version: string, history: ReadonlyMap<string, PublishedVersion>, rules: RulesInForce, analysis: ProjectAnalysis, deps: SafeVersionDeps): Promise<CandidateVerdict> {
  const lookup = await deps.metadata.lookup(rules.name, version);
  const locked = analysis.report.packages.find((p) => p.name === rules.name && p.version === version);
  return judgeCandidate({
    version,
    facts: lookup.ok ? lookup.facts : null,
    lookupError: lookup.ok ? null : lookup.message,
    history,
    assessed: locked?.provenance ?? null,
  }, rules);
}

/** Valid, published versions, newest first; prereleases only when the locked one is one. */
function publishedVersions(history: ReadonlyMap<string, PublishedVersion>, prerelease: boolean): string[] {
  return [...history.keys()]
    .filter((v) => semver.valid(v) !== null && (prerelease || semver.prerelease(v) === null))
    .sort(semver.rcompare);
}

/** The caret range of the locked version's major (of its minor for 0.x): what dependents most likely accept. */
function compatibleRange(version: string): string {
  const v = semver.parse(version);
  if (!v) return version;
  if (v.major > 0) return `^${v.major}.0.0`;
  return v.minor > 0 ? `^0.${v.minor}.0` : `~0.0.0`;
}

/** The dependency entries naming the package, split into ones we can rewrite and ones we cannot. */
function declarationsOf(manifests: readonly ProjectManifest[], name: string, current: string): { editable: Declaration[]; unwritable: { manifest: ProjectManifest; dep: ManifestDependency }[] } {
  const registry: Declaration[] = [];
  const unwritable: { manifest: ProjectManifest; dep: ManifestDependency }[] = [];
  for (const manifest of manifests) {
    for (const dep of manifest.dependencies) {
      if (!EDITABLE_KINDS.has(dep.kind)) continue;
      const parsed = registrySpec(dep, name);
      if (parsed) registry.push({ manifest, dep, ...parsed });
      else if (dep.name === name) unwritable.push({ manifest, dep });
    }
  }
  // Importers whose range took the locked version; others hold another copy of the package.
  const resolvedHere = registry.filter((d) => semver.satisfies(current, d.range, { includePrerelease: true }));
  return { editable: resolvedHere.length ? resolvedHere : registry, unwritable };
}

function registrySpec(dep: ManifestDependency, name: string): Pick<Declaration, 'range' | 'label' | 'write'> | null {
  let parsed: npa.Result;
  try {
    parsed = npa.resolve(dep.name, dep.spec);
  } catch {
    return null; // workspace:, catalog:, link: ... — not a registry spec npm understands
  }
  let write = (v: string) => v;
  if (parsed.type === 'alias') {
    const sub = (parsed as npa.AliasResult).subSpec;
    if (sub.name !== name) return null;
    parsed = sub;
    write = (v) => `npm:${name}@${v}`;
  } else if (dep.name !== name) {
    return null;
  }
  if (parsed.type === 'tag') return { range: '*', label: `"${dep.spec}" (a dist-tag)`, write };
  if (parsed.type !== 'range' && parsed.type !== 'version') return null;
  const range = parsed.fetchSpec || '*';
  return semver.validRange(range) === null ? null : { range, label: dep.spec || '*', write };
}

function pinDirect(root: string, texts: ReadonlyMap<string, string>, declarations: Declaration[], name: string, chosen: string, beyond: string, report: ProjectAnalysis['report']['packages'][number] | null): FixEdit {
  const session = new EditSession({ root, files: texts });
  for (const d of declarations) {
    session.set({ file: d.manifest.file, format: 'json', path: [d.dep.kind] }, d.dep.name, d.write(chosen));
  }
  const edits = session.edits();
  const files = [...new Set(declarations.map((d) => session.label(d.manifest.file)))];
  const where = files.length === 1 && files[0] === 'package.json' ? '' : ` in ${files.join(', ')}`;
  // The copies other packages pull in follow their own ranges; a pin of ours does not move them.
  const parents = [...new Set((report?.paths ?? []).filter((p) => p.length > 2).map((p) => p[p.length - 2]!))];
  return {
    title: edits.length ? `Pin ${name} to ${chosen} (exact)${where}${beyond}` : `${name} is already pinned to ${chosen} (exact)${where}`,
    edits,
    preferred: edits.length > 0,
    limitation: parents.length ? `${name} is also a dependency of ${parents.slice(0, 3).join(', ')}${parents.length > 3 ? ' and others' : ''}, whose copies follow their own ranges` : null,
  };
}

function addOverride(root: string, texts: ReadonlyMap<string, string>, analysis: ProjectAnalysis, name: string, chosen: string, beyond: string): FixEdit {
  const rootManifest = analysis.report.inventory.manifests.find((m) => m.dir === '.');
  if (!rootManifest) throw new EditRefusedError('the project has no root package.json to hold an override');
  const session = new EditSession({ root, files: texts });
  const { place, key, field } = overridePlace(session, rootManifest.file, join(root, 'pnpm-workspace.yaml'), analysis.policy.settings.manager, analysis.policy.settings.version, name);
  const previous = session.entries(place)?.find((e) => e.key === key)?.value;
  session.set(place, key, chosen);
  const edits = session.edits();
  const where = `${session.label(place.file)} ${field}`;
  const replaces = typeof previous === 'string' && previous !== chosen ? ` (replaces "${key}": "${previous}")` : '';
  return {
    title: edits.length ? `Add override ${name}@${chosen} (${where})${replaces}${beyond}` : `${name} is already overridden to ${chosen} in ${where}`,
    edits,
    preferred: edits.length > 0,
    limitation: null,
  };
}

/** Where the package manager in use reads overrides, and the key for this package there. */
function overridePlace(session: EditSession, manifest: string, workspaceYaml: string, manager: PackageManagerName, version: string | null, name: string): { place: Place; key: string; field: string } {
  const json = (path: string[]): unknown => {
    const text = session.current(manifest);
    return text === null ? undefined : jsonValueAt(text, path, session.label(manifest));
  };
  const inJson = (field: string): { place: Place; key: string; field: string } => {
    const path = field.split('.');
    const existing = json([...path, name]);
    // npm's object form `"name": { ".": "1.0.0", "dep": ... }` keeps its nested overrides.
    if (existing !== null && typeof existing === 'object') return { place: { file: manifest, format: 'json', path: [...path, name] }, key: '.', field: `${field}["${name}"]` };
    return { place: { file: manifest, format: 'json', path }, key: name, field };
  };
  switch (manager) {
    case 'npm':
      return inJson('overrides');
    case 'yarn': {
      // Yarn Classic users often write "**/name"; update that entry rather than add a second one.
      const glob = `**/${name}`;
      const existing = json(['resolutions', glob]);
      return typeof existing === 'string' ? { place: { file: manifest, format: 'json', path: ['resolutions'] }, key: glob, field: 'resolutions' } : inJson('resolutions');
    }
    case 'bun':
      return json(['overrides']) === undefined && json(['resolutions']) !== undefined ? inJson('resolutions') : inJson('overrides');
    case 'pnpm': {
      const yaml = { place: { file: workspaceYaml, format: 'yaml' as const, path: ['overrides'] }, key: name, field: 'overrides' };
      return pnpmOverridesInYaml(session, workspaceYaml, version, json(['pnpm'])) ? yaml : inJson('pnpm.overrides');
    }
  }
}

/**
 * pnpm < 10.5 reads overrides from package.json only, pnpm 11 from pnpm-workspace.yaml
 * only; in between both, the YAML winning key by key. There, write where the project
 * already keeps its overrides, else where it keeps its settings.
 */
function pnpmOverridesInYaml(session: EditSession, workspaceYaml: string, version: string | null, pnpmField: unknown): boolean {
  const gates = pnpmGates(version);
  if (!gates.readsYaml) return false;
  if (!gates.readsManifest) return true;
  const text = session.current(workspaceYaml);
  let settings: Record<string, unknown> = {};
  try {
    const parsed = text === null ? null : (parseYaml(text) as unknown);
    if (parsed && typeof parsed === 'object') settings = parsed as Record<string, unknown>;
  } catch {
    // A broken file is refused by the YAML edit itself, with its line.
  }
  if ('overrides' in settings) return true;
  const field = pnpmField && typeof pnpmField === 'object' ? (pnpmField as Record<string, unknown>) : null;
  if (field && 'overrides' in field) return false;
  // A workspace file that only lists packages (and catalogs) is not where the project keeps settings.
  return Object.keys(settings).some((k) => k !== 'packages' && k !== 'catalog' && k !== 'catalogs');
}

function noCandidateText(name: string, ruleText: string, candidates: CandidateVerdict[], unexamined: number): string {
  if (candidates.length === 0) return `The registry lists no version of ${name} to consider.`;
  const listed = candidates.slice(0, LISTED).map((c) => `- ${c.version}: ${c.reasons.join('; ')}`);
  const more = candidates.length - listed.length;
  return [
    `No published version of ${name} satisfies every rule in force (${ruleText}):`,
    ...listed,
    ...(more > 0 ? [`- and ${more} older version${more === 1 ? '' : 's'}, each failing a rule`] : []),
    ...(unexamined > 0 ? [`(${unexamined} older version${unexamined === 1 ? '' : 's'} not examined)`] : []),
  ].join('\n');
}

/** The caller's texts, with each package.json the analysis read filling any gap. */
function withManifestTexts(texts: ReadonlyMap<string, string>, manifests: readonly ProjectManifest[]): Map<string, string> {
  const merged = new Map(texts);
  for (const manifest of manifests) if (!merged.has(manifest.file)) merged.set(manifest.file, manifest.text);
  return merged;
}

function label(root: string, file: string): string {
  return file.startsWith(root) ? file.slice(root.length).replace(/^[\\/]/, '') || file : file;
}
