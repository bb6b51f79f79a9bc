/**
 * pnpm's build policy, read the way the pnpm version in use reads it (from pnpm's own
 * sources, @pnpm/config getOptionsFromRootManifest / getOptionsFromPnpmSettings and
 * @pnpm/builder.policy createAllowBuildFunction):
 *
 *  < 10     every dependency builds, unless `onlyBuiltDependencies(File)` is set (then
 *           only those) or a name is in `neverBuiltDependencies`; package.json "pnpm" only.
 *  10.x     nothing builds unless listed in `onlyBuiltDependencies(File)`; a project that
 *           sets only `neverBuiltDependencies` (even `[]`) builds everything else.
 *           `ignoredBuiltDependencies` (10.1) skips silently; `strictDepBuilds` (10.3) fails
 *           the install; `dangerouslyAllowAllBuilds` (10.9) builds everything; pinned
 *           entries `name@1.2.3 || 1.2.4` (10.19; before it any `name@…` key matches
 *           nothing, from it a range fails with ERR_PNPM_INVALID_VERSION_UNION; names are
 *           exact, never patterns); `allowBuilds` (10.26) is folded into the two lists —
 *           true into onlyBuilt, false into ignoredBuilt — so an entry in both is still
 *           allowed. From 10.5 pnpm-workspace.yaml holds settings too and replaces the
 *           package.json list of the same kind key by key (its `allowBuilds` replaces both
 *           lists).
 *  11+      only `allowBuilds` in pnpm-workspace.yaml (the "pnpm" field and the old lists
 *           are no longer read), deny wins, `strictDepBuilds` defaults to true, .npmrc holds
 *           only auth and registries. 12.11 adds `permissions.<pkg>.build`, which wins over
 *           allowBuilds; from 12.12 `dangerouslyAllowAllBuilds` no longer runs denied builds.
 */
import { dirname, join } from 'node:path';
import semver from 'semver';
import type { Span } from '../../model/inventory';
import {
  configSwitch,
  emptyPart,
  jsonObjectEntries,
  jsonSource,
  jsonStringItems,
  jsonValueAt,
  makeRule,
  note,
  npmrcBoolean,
  yamlMapEntries,
  yamlScalarValue,
  yamlSource,
  yamlStringItems,
  yamlTop,
  type Entry,
  type ReadContext,
  type ToolPart,
  type YamlSource,
} from './allowlistSources';
import { parsePnpmKey } from './ruleMatching';
import type { AllowlistRule, GlobalSwitch } from '../types';

export const PNPM_PLACEHOLDER = 'set this to true or false';

const LIST_FIELDS = ['onlyBuiltDependencies', 'ignoredBuiltDependencies', 'neverBuiltDependencies'] as const;
type Group = 'only' | 'ignored' | 'never' | 'file' | 'allowBuilds' | 'permissions';

/** One entry as read, before the version in use decides whether it applies. */
interface SourceRule {
  group: Group;
  rule: AllowlistRule;
  /** Why pnpm itself matches nothing with the key (ParsedKey.ignored); null for a working key. */
  ignored: string | null;
}

interface Source {
  kind: 'package.json' | 'pnpm-workspace.yaml';
  file: string;
  /** Fields present, even empty. */
  present: Set<string>;
  rules: SourceRule[];
  /** pnpm-workspace.yaml as parsed once, for the switches read after the lists. */
  yaml?: YamlSource;
}

/** Feature gates of a pnpm version; an unknown version is read as the latest pnpm 10. */
function gates(version: string | null) {
  const at = (min: string): boolean => version === null || semver.gte(version, min);
  const below = (max: string): boolean => version === null || semver.lt(version, max);
  return {
    v10: at('10.0.0'),
    readsManifest: below('11.0.0'),
    readsYaml: at('10.5.0'),
    legacyLists: below('11.0.0'),
    ignoredList: at('10.1.0'),
    strict: at('10.3.0'),
    allowAll: at('10.9.0'),
    pinned: at('10.19.0'),
    allowBuilds: at('10.26.0'),
    strictByDefault: version !== null && semver.gte(version, '11.0.0'),
    permissions: version !== null && semver.gte(version, '12.11.0'),
    denyBeatsAllowAll: version !== null && semver.gte(version, '12.12.0'),
  };
}
export type PnpmGates = ReturnType<typeof gates>;
export const pnpmGates = gates;

export async function pnpmPart(ctx: ReadContext, version: string | null): Promise<ToolPart> {
  const g = gates(version);
  const label = version ? `pnpm ${version}` : 'pnpm';
  const part = emptyPart();
  const manifest = await readManifestSource(ctx);
  const yamlFile = join(ctx.root, 'pnpm-workspace.yaml');
  const yamlText = await ctx.read(yamlFile);
  const yaml = yamlText === null ? null : await readYamlSource(ctx, yamlFile, yamlText);

  const retire = (rules: { rule: AllowlistRule }[], why: string): void => {
    if (rules.length > 0) note(ctx, rules[0]!.rule.file, why, rules[0]!.rule.span);
    part.inactive.push(...rules.map((r) => r.rule));
  };
  const sets = (src: Source | null, group: Group): boolean => {
    if (!src) return false;
    const viaAllowBuilds = g.allowBuilds && src.present.has('allowBuilds');
    switch (group) {
      case 'only': return src.present.has('onlyBuiltDependencies') || viaAllowBuilds;
      case 'ignored': return (g.ignoredList && src.present.has('ignoredBuiltDependencies')) || viaAllowBuilds;
      case 'never': return src.present.has('neverBuiltDependencies');
      case 'file': return src.present.has('onlyBuiltDependenciesFile');
      default: return src.present.has(group);
    }
  };

  if (!g.readsManifest && manifest) retire(manifest.rules, `${label} no longer reads settings from the "pnpm" field of package.json; move them to pnpm-workspace.yaml as allowBuilds`);
  if (!g.readsYaml && yaml) retire(yaml.rules, `${label} reads build settings only from the "pnpm" field of package.json (pnpm-workspace.yaml settings came in pnpm 10.5)`);
  const sources = [g.readsManifest ? manifest : null, g.readsYaml ? yaml : null];

  for (const src of sources) {
    if (!src) continue;
    for (const entry of src.rules) {
      const { rule, group } = entry;
      // "name@…", pinned or not: before 10.19 pnpm compares the whole key with a package name.
      const versionedKey = rule.sourceSpec === null && rule.name !== rule.key;
      const unsupported =
        group === 'allowBuilds' && !g.allowBuilds ? `allowBuilds is read from pnpm 10.26; ${label} ignores it`
        : group === 'ignored' && !g.ignoredList ? `ignoredBuiltDependencies is read from pnpm 10.1; ${label} ignores it`
        : (group === 'only' || group === 'ignored' || group === 'never' || group === 'file') && !g.legacyLists ? `${rule.field} was removed in pnpm 11 (replaced by allowBuilds); ${label} ignores it`
        : group === 'permissions' && !g.permissions ? `permissions is read from pnpm 12.11; ${label} ignores it`
        : versionedKey && !g.pinned ? `${label} matches build entries by name only (versions from pnpm 10.19); "${rule.key}" matches nothing`
        // A key pnpm rejects or never matches (a range, a name pattern) approves nothing here
        // either: kept as a rule, it would match by its bare name and approve every version.
        : entry.ignored;
      if (unsupported) {
        retire([entry], unsupported);
        continue;
      }
      // From 10.5 the workspace file replaces the package.json list of the same kind.
      const group2 = group === 'allowBuilds' && g.legacyLists ? (rule.allow === false ? 'ignored' : 'only') : group;
      if (src === manifest && yaml && g.readsYaml && sets(yaml, group2)) {
        retire([entry], `overridden: pnpm-workspace.yaml sets its own ${group2 === 'only' ? 'onlyBuiltDependencies/allowBuilds' : group2 === 'ignored' ? 'ignoredBuiltDependencies/allowBuilds' : rule.field.replace(/^pnpm\./, '')}, which replaces this list`);
        continue;
      }
      part.rules.push(rule);
    }
  }

  const effective = (group: Group): boolean => sources.some((src) => sets(src, group) && !(src === manifest && yaml && g.readsYaml && sets(yaml, group)));
  if (g.legacyLists) {
    for (const [group, field] of [['only', 'onlyBuiltDependencies'], ['ignored', 'ignoredBuiltDependencies'], ['never', 'neverBuiltDependencies'], ['file', 'onlyBuiltDependenciesFile']] as const) {
      if (effective(group)) part.declaredFields.push(field);
    }
  }
  if (g.allowBuilds && sources.some((s) => s?.present.has('allowBuilds'))) part.declaredFields.push('allowBuilds');
  // With an allow list in force, pnpm never consults neverBuiltDependencies.
  if (g.legacyLists && effective('never') && (effective('only') || effective('file'))) {
    const never = part.rules.filter((r) => r.field.endsWith('neverBuiltDependencies'));
    part.rules = part.rules.filter((r) => !never.includes(r));
    part.declaredFields = part.declaredFields.filter((f) => f !== 'neverBuiltDependencies');
    retire(never.map((rule) => ({ rule })), `${label} ignores neverBuiltDependencies while onlyBuiltDependencies/allowBuilds is set (pnpm rebuild fails with CONFIG_CONFLICT_BUILT_DEPENDENCIES)`);
  }

  await readSwitches(ctx, part, g, label, yaml?.yaml ?? null);
  return part;
}

async function readManifestSource(ctx: ReadContext): Promise<Source | null> {
  const pkg = ctx.pkg;
  if (!pkg || !jsonValueAt(pkg, ['pnpm'])) return null;
  const src: Source = { kind: 'package.json', file: pkg.file, present: new Set(), rules: [] };
  const allowBuilds = jsonObjectEntries(pkg, ['pnpm', 'allowBuilds'], ctx.problems);
  if (allowBuilds) addAllowBuilds(ctx, src, allowBuilds, 'pnpm.');
  for (const field of LIST_FIELDS) {
    const items = jsonStringItems(pkg, ['pnpm', field], `pnpm.${field}`, ctx.problems);
    if (items) addList(src, field, items, 'pnpm.');
  }
  const listFile = jsonValueAt(pkg, ['pnpm', 'onlyBuiltDependenciesFile']);
  if (listFile) await addListFile(ctx, src, listFile.value, listFile.span, dirname(pkg.file));
  for (const key of ['dangerouslyAllowAllBuilds', 'strictDepBuilds']) {
    const misplaced = jsonValueAt(pkg, ['pnpm', key]);
    if (misplaced) note(ctx, pkg.file, `pnpm does not read "pnpm.${key}" from package.json; set ${key} in pnpm-workspace.yaml`, misplaced.span);
  }
  return src;
}

async function readYamlSource(ctx: ReadContext, file: string, text: string): Promise<Source> {
  const yaml = yamlSource(file, text);
  if (ctx.governing) ctx.problems.push(...yaml.problems);
  const src: Source = { kind: 'pnpm-workspace.yaml', file, present: new Set(), rules: [], yaml };
  const allowBuilds = yamlTop(yaml, 'allowBuilds');
  if (allowBuilds) addAllowBuilds(ctx, src, yamlMapEntries(yaml, allowBuilds.node, 'allowBuilds', ctx.problems), '');
  for (const field of LIST_FIELDS) {
    const top = yamlTop(yaml, field);
    if (top) addList(src, field, yamlStringItems(yaml, top.node, field, ctx.problems), '');
  }
  const listFile = yamlTop(yaml, 'onlyBuiltDependenciesFile');
  if (listFile) await addListFile(ctx, src, yamlScalarValue(listFile.node), listFile.span, dirname(file));
  const permissions = yamlTop(yaml, 'permissions');
  if (permissions) {
    src.present.add('permissions');
    for (const pkgEntry of yamlMapEntries(yaml, permissions.node, 'permissions', ctx.problems)) {
      const build = yamlMapEntries(yaml, (pkgEntry.value ?? null) as never, `permissions.${pkgEntry.key}`, ctx.problems).find((e) => e.key === 'build');
      if (!build || typeof build.value !== 'boolean') continue;
      src.rules.push(keyed('permissions', file, 'permissions', `permissions.${pkgEntry.key}.build`, pkgEntry.key, build.value, build.span));
    }
  }
  return src;
}

function addAllowBuilds(ctx: ReadContext, src: Source, entries: Entry[], prefix: string): void {
  src.present.add('allowBuilds');
  for (const entry of entries) {
    let allow: boolean | null;
    if (typeof entry.value === 'boolean') allow = entry.value;
    else if (typeof entry.value === 'string') {
      // Any string is undecided; pnpm scaffolds exactly this placeholder.
      allow = null;
      if (entry.value !== PNPM_PLACEHOLDER) ctx.problems.push({ file: src.file, message: `allowBuilds "${entry.key}": "${entry.value}" is not true or false; pnpm treats it as undecided`, span: entry.span });
    } else {
      ctx.problems.push({ file: src.file, message: `allowBuilds "${entry.key}" must be true, false or "${PNPM_PLACEHOLDER}" (pnpm 11 fails with ERR_PNPM_INVALID_ALLOW_BUILDS)`, span: entry.span });
      continue;
    }
    src.rules.push(keyed('allowBuilds', src.file, `${prefix}allowBuilds`, `${prefix}allowBuilds.${entry.key}`, entry.key, allow, entry.span));
  }
}

function addList(src: Source, field: (typeof LIST_FIELDS)[number], items: Entry[], prefix: string): void {
  src.present.add(field);
  const group: Group = field === 'onlyBuiltDependencies' ? 'only' : field === 'ignoredBuiltDependencies' ? 'ignored' : 'never';
  for (const item of items) {
    src.rules.push(keyed(group, src.file, `${prefix}${field}`, `${prefix}${field}[${item.index}]`, item.key, field === 'onlyBuiltDependencies', item.span));
  }
}

/** `onlyBuiltDependenciesFile`: a JSON list of names, relative to the file that names it. */
async function addListFile(ctx: ReadContext, src: Source, value: unknown, span: Span, baseDir: string): Promise<void> {
  src.present.add('onlyBuiltDependenciesFile');
  if (typeof value !== 'string' || value === '') {
    ctx.problems.push({ file: src.file, message: 'onlyBuiltDependenciesFile must be a path to a JSON list of package names', span });
    return;
  }
  const file = join(baseDir, value);
  const text = await ctx.read(file);
  if (text === null) {
    ctx.problems.push({ file: src.file, message: `onlyBuiltDependenciesFile "${value}" does not exist (pnpm fails to install)`, span });
    return;
  }
  const json = jsonSource(file, text, true);
  ctx.problems.push(...json.problems);
  const items = jsonStringItems(json, [], value, ctx.problems) ?? [];
  for (const item of items) {
    src.rules.push(keyed('file', file, 'onlyBuiltDependenciesFile', `[${item.index}]`, item.key, true, item.span));
  }
}

/** An entry as pnpm parses its key; one pnpm ignores is retired by pnpmPart, which knows the version. */
function keyed(group: Group, file: string, field: string, entry: string, key: string, allow: boolean | null, span: Span): SourceRule {
  const parsed = parsePnpmKey(key);
  return { group, rule: makeRule('pnpm', file, field, entry, key, allow, span, parsed), ignored: parsed.ignored };
}

/** dangerouslyAllowAllBuilds, strictDepBuilds and ignore-scripts, where this version reads them. */
async function readSwitches(ctx: ReadContext, part: ToolPart, g: PnpmGates, label: string, yaml: YamlSource | null): Promise<void> {
  const fromYaml = (key: string): { value: unknown; switch: GlobalSwitch } | null => {
    if (!yaml || !g.readsYaml) return null;
    const top = yamlTop(yaml, key);
    if (!top) return null;
    const value = yamlScalarValue(top.node);
    return { value, switch: { file: yaml.file, span: top.span, what: `${key}: ${String(value)}` } };
  };
  const npmrcFile = join(ctx.root, '.npmrc');
  const fromNpmrc = async (key: string): Promise<GlobalSwitch | null> => {
    if (!g.legacyLists) return null; // pnpm 11 reads only auth and registries from .npmrc
    const text = await ctx.read(npmrcFile);
    const found = text === null ? null : npmrcBoolean(text, key);
    return found?.value === true ? { file: npmrcFile, span: found.span, what: `${key}=true` } : null;
  };

  const allowAll = fromYaml('dangerouslyAllowAllBuilds');
  const allowAllSwitch = allowAll ? (allowAll.value === true ? allowAll.switch : null) : await fromNpmrc('dangerously-allow-all-builds');
  if (allowAllSwitch && g.allowAll) part.allowAll = allowAllSwitch;
  else if (allowAllSwitch) note(ctx, allowAllSwitch.file, `dangerouslyAllowAllBuilds is read from pnpm 10.9; ${label} ignores it`, allowAllSwitch.span ?? undefined);

  const strict = fromYaml('strictDepBuilds');
  if (strict) {
    if (strict.value === true && g.strict) part.strict = strict.switch;
  } else {
    const rc = await fromNpmrc('strict-dep-builds');
    if (rc && g.strict) part.strict = rc;
    else if (g.strictByDefault) part.strict = { file: yaml?.file ?? join(ctx.root, 'pnpm-workspace.yaml'), span: null, what: `strictDepBuilds (true by default since pnpm 11)` };
  }

  const ignore = fromYaml('ignoreScripts');
  if (ignore?.value === true) part.scriptsDisabled = ignore.switch;
  else if (!ignore && g.legacyLists) part.scriptsDisabled = await configSwitch(ctx, 'ignore-scripts', 'ignore-scripts=true');
}
