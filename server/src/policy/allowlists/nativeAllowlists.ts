/**
 * Every native allowlist of a project, and which one rules: the package manager that will
 * install (and its version) decides which files and fields are read and how; LavaMoat's
 * allow-scripts governs on top of npm or Yarn when the project uses it. Rules of the other
 * tools are kept as inactive rules, so an editor can still show them (and say they do
 * nothing here).
 *
 *  npm ≥ 11.16   root package.json `allowScripts`; when it has no usable entry, the first
 *                .npmrc layer (project, user, global, builtin) with `allow-scripts`
 *                (npm lib/utils/resolve-allow-scripts.js). Workspace `allowScripts` is
 *                ignored. `strict-allow-scripts`, `dangerously-allow-all-scripts`,
 *                `ignore-scripts` come from npm's own config loader.
 *  pnpm          see pnpmBuildPolicy.ts.
 *  Yarn Berry    root `dependenciesMeta[name | name@version].built` and `.yarnrc.yml`
 *                `enableScripts` (YARN_ENABLE_SCRIPTS beats it), which defaults to false
 *                from Yarn 4.14 — except that Yarn writes `enableScripts: true` into a
 *                project whose yarn.lock predates lockfile v9 on its next install.
 *  Yarn Classic  no allowlist: `ignore-scripts` (.yarnrc or .npmrc) or everything runs.
 *  Bun           root `trustedDependencies` (names); absent, Bun's built-in list applies.
 *  LavaMoat      `lavamoat.allowScripts` keyed by canonical dependency path.
 */
import { join } from 'node:path';
import semver from 'semver';
import type { FileProblem, PackageManagerName, ProjectInventory } from '../../model/inventory';
import type { ReadText } from '../../parse/project';
import { yarnLockfileVersion } from '../../parse/yarnLock';
import type { RegistryConfig } from '../../registry/npmConfig';
import {
  configSwitch,
  emptyPart,
  jsonObjectEntries,
  jsonSource,
  jsonStringItems,
  makeRule,
  note,
  npmrcEntries,
  npmrcListItems,
  retireIgnoredKey,
  yamlScalarValue,
  yamlSource,
  yamlTop,
  type ReadContext,
  type ToolPart,
} from './allowlistSources';
import { pnpmPart } from './pnpmBuildPolicy';
import { parseLavamoatKey, parseNpmKey, parseYarnMetaKey } from './ruleMatching';
import { NPM_ALLOW_SCRIPTS_SINCE, resolveInstallingTool, YARN_SCRIPTS_OFF_SINCE, type InstallingTool, type ToolVersionOptions } from './toolVersion';
import type { AllowlistRule, GlobalSwitch, NativePolicy, ToolSettings } from '../types';

export { unusedRules } from './decide';

export interface ReadNativePolicyOptions extends ToolVersionOptions {
  /** The installing tool when already known (tests, a CLI flag); otherwise it is resolved. */
  installingTool?: InstallingTool;
}

const NPMRC_LAYERS = ['project', 'user', 'global', 'builtin'] as const;

export async function readNativePolicy(
  inventory: ProjectInventory,
  config: RegistryConfig | null,
  readText: ReadText,
  options: ReadNativePolicyOptions = {},
): Promise<NativePolicy> {
  const root = inventory.root;
  const problems: FileProblem[] = [];
  const files = new Set<string>();
  const texts = new Map<string, Promise<string | null>>();
  const read = (path: string): Promise<string | null> => {
    files.add(path);
    if (!texts.has(path)) texts.set(path, readText(path).catch((error: Error) => {
      problems.push({ file: path, message: `cannot read: ${error.message}` });
      return null;
    }));
    return texts.get(path)!;
  };
  const manifest = inventory.manifests.find((m) => m.dir === '.') ?? null;
  if (manifest) files.add(manifest.file);
  const installing = options.installingTool ?? (await resolveInstallingTool(inventory, { ...options, readText }));
  const manager = installing.manager;
  const pkg = manifest ? jsonSource(manifest.file, manifest.text, false) : null;
  const context = (tool: PackageManagerName): ReadContext => ({
    root,
    manifests: inventory.manifests,
    pkg,
    lockfile: inventory.lockfile,
    config,
    read,
    problems,
    env: options.env ?? process.env,
    governing: tool === manager,
  });
  const versionOf = (tool: PackageManagerName): string | null => (tool === manager ? installing.version : null);

  const parts: Record<PackageManagerName, ToolPart> = {
    npm: await npmPart(context('npm'), versionOf('npm')),
    pnpm: await pnpmPart(context('pnpm'), versionOf('pnpm')),
    yarn: await yarnPart(context('yarn'), versionOf('yarn')),
    bun: bunPart(context('bun')),
  };
  const lavamoat = lavamoatPart(context(manager), manifest?.json ?? {});

  const own = parts[manager];
  const others = (Object.keys(parts) as PackageManagerName[]).filter((t) => t !== manager).flatMap((t) => [...parts[t].rules, ...parts[t].inactive]);
  const settings: ToolSettings = {
    tool: manager,
    manager,
    version: installing.version,
    versionSource: installing.source,
    scriptsDisabled: own.scriptsDisabled,
    allowAll: own.allowAll,
    strict: own.strict,
    ...(installing.problem ? { versionProblem: installing.problem } : {}),
  };
  const native: NativePolicy = {
    settings,
    rules: own.rules,
    inactiveRules: [...own.inactive, ...others],
    problems,
    files: [...files],
    root,
    declaredFields: own.declaredFields,
    ...(own.variant ? { variant: own.variant } : {}),
  };
  if (!lavamoat) {
    native.inactiveRules.push(...lavamoatRules(context(manager), manifest?.json ?? {}));
    return native;
  }
  // LavaMoat: the package manager runs with scripts off and allow-scripts runs the approved ones.
  return {
    settings: { ...settings, tool: 'lavamoat', allowAll: null, strict: null },
    rules: lavamoat.rules,
    inactiveRules: [...own.rules, ...native.inactiveRules],
    problems,
    files: [...files],
    root,
    declaredFields: lavamoat.declaredFields,
    underlying: native,
  };
}

// ---------------------------------------------------------------------------------------
// npm

async function npmPart(ctx: ReadContext, version: string | null): Promise<ToolPart> {
  const part = emptyPart();
  const label = version ? `npm ${version}` : 'npm';
  const fromPackage: AllowlistRule[] = [];
  if (ctx.pkg) {
    const entries = jsonObjectEntries(ctx.pkg, ['allowScripts'], ctx.problems);
    if (entries) part.declaredFields.push('allowScripts');
    for (const entry of entries ?? []) {
      const parsed = parseNpmKey(entry.key, ctx.root);
      const allow = typeof entry.value === 'boolean' ? entry.value : null;
      const rule = makeRule('npm', ctx.pkg.file, 'allowScripts', `allowScripts.${entry.key}`, entry.key, allow, entry.span, parsed);
      if (allow === null) note(ctx, ctx.pkg.file, `allowScripts "${entry.key}" must be true or false; npm matches nothing with it`, entry.span);
      if (retireIgnoredKey(ctx, part.inactive, rule, parsed.ignored)) continue;
      (allow === null ? part.inactive : fromPackage).push(rule);
    }
  }
  for (const workspace of ctx.manifests.filter((m) => m.dir !== '.')) {
    const src = jsonSource(workspace.file, workspace.text, false);
    for (const entry of jsonObjectEntries(src, ['allowScripts'], []) ?? []) {
      part.inactive.push(makeRule('npm', workspace.file, 'allowScripts', `allowScripts.${entry.key}`, entry.key, typeof entry.value === 'boolean' ? entry.value : null, entry.span, parseNpmKey(entry.key, ctx.root)));
      note(ctx, workspace.file, `npm ignores allowScripts in workspace ${workspace.dir}; move it to the root package.json`, entry.span);
    }
  }

  // npm rejects --allow-scripts / npm_config_allow_scripts in a project install (EALLOWSCRIPTS).
  for (const layer of ['cli', 'env'] as const) {
    if (listOf(ctx.config?.layerValue(layer, 'allow-scripts')).length > 0 && ctx.pkg) {
      note(ctx, ctx.pkg.file, `${layer === 'env' ? 'npm_config_allow_scripts is set' : '--allow-scripts is given'}: npm refuses every install in this project (EALLOWSCRIPTS); put the entries in "allowScripts"`);
    }
  }
  const npmrc = await npmrcAllowScripts(ctx);
  part.inactive.push(...npmrc.ignored);
  if (fromPackage.length > 0) {
    part.rules = fromPackage;
    part.inactive.push(...npmrc.rules);
    if (npmrc.rules.length > 0) note(ctx, npmrc.rules[0]!.file, '.npmrc allow-scripts is ignored because package.json declares its own allowScripts field', npmrc.rules[0]!.span);
  } else {
    // npm drops keys it cannot use; a package.json field left with none falls through to .npmrc.
    part.rules = npmrc.rules;
  }

  if (version !== null && semver.lt(version, NPM_ALLOW_SCRIPTS_SINCE)) {
    if (part.rules.length > 0) note(ctx, part.rules[0]!.file, `${label} has no allowScripts (added in npm 11.16): it runs every install script and these entries have no effect`, part.rules[0]!.span);
    part.inactive.push(...part.rules);
    part.rules = [];
  } else {
    part.strict = await configSwitch(ctx, 'strict-allow-scripts', 'strict-allow-scripts=true');
    part.allowAll = await configSwitch(ctx, 'dangerously-allow-all-scripts', 'dangerously-allow-all-scripts=true');
  }
  part.scriptsDisabled = await configSwitch(ctx, 'ignore-scripts', 'ignore-scripts=true');
  return part;
}

/** The first .npmrc layer with an `allow-scripts` list (a list only allows). */
async function npmrcAllowScripts(ctx: ReadContext): Promise<{ rules: AllowlistRule[]; ignored: AllowlistRule[] }> {
  const layers: { file: string; names: string[] }[] = [];
  if (ctx.config) {
    for (const layer of NPMRC_LAYERS) {
      const names = listOf(ctx.config.layerValue(layer, 'allow-scripts'));
      const file = layer === 'project' ? ctx.config.files.project : ctx.config.files[layer];
      if (names.length > 0 && file) layers.push({ file, names });
    }
  } else {
    const file = join(ctx.root, '.npmrc');
    const text = await ctx.read(file);
    const names = text === null ? [] : npmrcEntries(text, 'allow-scripts').flatMap((e) => npmrcListItems(e).map((i) => i.item));
    if (names.length > 0) layers.push({ file, names });
  }
  const result = { rules: [] as AllowlistRule[], ignored: [] as AllowlistRule[] };
  const first = layers[0];
  if (!first) return result;
  const entries = npmrcEntries((await ctx.read(first.file)) ?? '', 'allow-scripts');
  // ini keeps the last plain `key=` line, or every `key[]=` line.
  const used = entries.some((e) => e.key.endsWith('[]')) ? entries.filter((e) => e.key.endsWith('[]')) : entries.slice(-1);
  const located = used.flatMap(npmrcListItems);
  first.names.forEach((name, index) => {
    const at = located[index]?.item === name ? located[index] : located.find((l) => l.item === name);
    const parsed = parseNpmKey(name, ctx.root);
    const rule = makeRule('npm', first.file, 'allow-scripts', `allow-scripts[${index}]`, name, true, at?.span ?? { start: 0, end: 0 }, parsed);
    if (!retireIgnoredKey(ctx, result.ignored, rule, parsed.ignored)) result.rules.push(rule);
  });
  return result;
}

/** @npmcli/config's parse-allow-scripts-list: strings or lists, comma separated, trimmed. */
function listOf(value: unknown): string[] {
  const raw = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  return raw.filter((v): v is string => typeof v === 'string').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

// ---------------------------------------------------------------------------------------
// Yarn

async function yarnPart(ctx: ReadContext, version: string | null): Promise<ToolPart> {
  const part = emptyPart();
  const yarnrcFile = join(ctx.root, '.yarnrc.yml');
  const yarnrcText = await ctx.read(yarnrcFile);
  const yarnrc = yarnrcText === null ? null : yamlSource(yarnrcFile, yarnrcText);
  if (yarnrc && ctx.governing) ctx.problems.push(...yarnrc.problems);
  const berry = isBerry(version, ctx.lockfile?.format ?? null, yarnrc !== null);

  const rules: AllowlistRule[] = [];
  if (ctx.pkg) {
    const meta = jsonObjectEntries(ctx.pkg, ['dependenciesMeta'], ctx.problems) ?? [];
    for (const entry of meta) {
      const built = jsonObjectEntries(ctx.pkg, ['dependenciesMeta', entry.key], [])?.find((e) => e.key === 'built');
      if (!built) continue;
      const parsed = parseYarnMetaKey(entry.key);
      const allow = typeof built.value === 'boolean' ? built.value : null;
      const rule = makeRule('yarn', ctx.pkg.file, 'dependenciesMeta', `dependenciesMeta.${entry.key}.built`, entry.key, allow, built.span, parsed);
      if (allow === null) note(ctx, ctx.pkg.file, `dependenciesMeta "${entry.key}".built must be true or false (Yarn: "Invalid built meta field")`, built.span);
      if (retireIgnoredKey(ctx, part.inactive, rule, parsed.ignored)) continue;
      (allow === null ? part.inactive : rules).push(rule);
    }
  }
  for (const workspace of ctx.manifests.filter((m) => m.dir !== '.')) {
    const src = jsonSource(workspace.file, workspace.text, false);
    const meta = jsonObjectEntries(src, ['dependenciesMeta'], []);
    if (meta?.length) note(ctx, workspace.file, `Yarn reads dependenciesMeta only from the root package.json; this one (${workspace.dir}) is ignored`);
  }

  part.variant = berry ? 'yarn-berry' : 'yarn-classic';
  if (!berry) {
    if (rules.length > 0) note(ctx, rules[0]!.file, 'Yarn Classic has no build allowlist: dependenciesMeta.built is ignored and every install script runs', rules[0]!.span);
    part.inactive.push(...rules);
    part.scriptsDisabled = (await yarnrcClassicSwitch(ctx)) ?? (await configSwitch(ctx, 'ignore-scripts', 'ignore-scripts=true'));
    return part;
  }
  part.rules = rules;
  part.scriptsDisabled = enableScriptsOff(ctx, version, yarnrcFile, yarnrc);
  return part;
}

/** Yarn 2+ ("Berry"): by version, else by lockfile format, else by the presence of .yarnrc.yml. */
function isBerry(version: string | null, lockFormat: string | null, hasYarnrcYml: boolean): boolean {
  if (version !== null) return semver.major(version) >= 2;
  return lockFormat === 'yarn-berry' || (lockFormat !== 'yarn-classic' && hasYarnrcYml);
}

/** enableScripts: false, from the environment, .yarnrc.yml or Yarn's default. */
function enableScriptsOff(ctx: ReadContext, version: string | null, file: string, yarnrc: ReturnType<typeof yamlSource> | null): GlobalSwitch | null {
  const env = ctx.env.YARN_ENABLE_SCRIPTS;
  if (env !== undefined) return /^(false|0)$/i.test(env) ? { file: 'environment (YARN_ENABLE_SCRIPTS)', span: null, what: `YARN_ENABLE_SCRIPTS=${env}` } : null;
  const top = yarnrc ? yamlTop(yarnrc, 'enableScripts') : null;
  if (top) {
    const value = yamlScalarValue(top.node);
    const off = value === false || value === 'false';
    return off ? { file, span: top.span, what: 'enableScripts: false' } : null;
  }
  if (version !== null && semver.lt(version, YARN_SCRIPTS_OFF_SINCE)) return null;
  // Yarn ≥ 4.14 migrates a project whose yarn.lock predates lockfile v9 to enableScripts: true.
  const lock = ctx.lockfile;
  const lockVersion = lock?.format === 'yarn-classic' ? -1 : lock ? yarnLockfileVersion(lock) : null;
  if (lockVersion !== null && lockVersion < 9) return null;
  return { file, span: null, what: `enableScripts defaults to false (Yarn ≥ 4.14${version ? `; ${version} in use` : ''})` };
}

async function yarnrcClassicSwitch(ctx: ReadContext): Promise<GlobalSwitch | null> {
  const file = join(ctx.root, '.yarnrc');
  const text = await ctx.read(file);
  const match = text === null ? null : /^[ \t]*(--)?ignore-scripts[ \t]+"?true"?[ \t]*$/m.exec(text);
  return match ? { file, span: { start: match.index + match[0].length - match[0].trimStart().length, end: match.index + match[0].trimEnd().length }, what: 'ignore-scripts true' } : null;
}

// ---------------------------------------------------------------------------------------
// Bun and LavaMoat

function bunPart(ctx: ReadContext): ToolPart {
  const part = emptyPart();
  if (!ctx.pkg) return part;
  const items = jsonStringItems(ctx.pkg, ['trustedDependencies'], 'trustedDependencies', ctx.problems);
  if (items === null) return part;
  part.declaredFields.push('trustedDependencies');
  part.rules = items.map((item) =>
    makeRule('bun', ctx.pkg!.file, 'trustedDependencies', `trustedDependencies[${item.index}]`, item.key, true, item.span, { name: item.key, versions: null, sourceSpec: null, lavamoatPath: null, ignored: null }),
  );
  return part;
}

function lavamoatRules(ctx: ReadContext, json: Record<string, unknown>): AllowlistRule[] {
  if (!ctx.pkg || !json.lavamoat) return [];
  return (jsonObjectEntries(ctx.pkg, ['lavamoat', 'allowScripts'], ctx.problems) ?? []).map((entry) => {
    // allow-scripts splits entries by truthiness (config.js indexLifecycleConfiguration).
    if (typeof entry.value !== 'boolean') note(ctx, ctx.pkg!.file, `lavamoat.allowScripts "${entry.key}" should be true or false; allow-scripts reads it as ${entry.value ? 'true' : 'false'}`, entry.span);
    return makeRule('lavamoat', ctx.pkg!.file, 'lavamoat.allowScripts', `lavamoat.allowScripts.${entry.key}`, entry.key, !!entry.value, entry.span, parseLavamoatKey(entry.key));
  });
}

/** LavaMoat governs when package.json configures it or depends on @lavamoat/allow-scripts. */
function lavamoatPart(ctx: ReadContext, json: Record<string, unknown>): { rules: AllowlistRule[]; declaredFields: string[] } | null {
  const configured = !!(json.lavamoat && typeof json.lavamoat === 'object' && 'allowScripts' in (json.lavamoat as object));
  const depends = ['dependencies', 'devDependencies', 'optionalDependencies'].some((kind) => {
    const deps = json[kind];
    return !!deps && typeof deps === 'object' && '@lavamoat/allow-scripts' in (deps as object);
  });
  if (!configured && !depends) return null;
  return { rules: lavamoatRules(ctx, json), declaredFields: configured ? ['lavamoat.allowScripts'] : [] };
}
