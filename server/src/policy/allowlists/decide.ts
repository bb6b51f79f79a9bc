/**
 * The verdict on one locked package under the rules of the tool that will install it, and
 * what that tool will actually do with the script — for the version in use:
 *
 *  npm 11.16–11.x  allowed runs; denied (`false`) is skipped; unreviewed runs with a warning,
 *                  or fails the install under strict-allow-scripts (ESTRICTALLOWSCRIPTS).
 *                  Observed with npm 11.19.1: a bundled dependency's script runs whatever
 *                  allowScripts says (even `false`, even strict) and is not in the warning.
 *  npm 12          (announced) skips unreviewed scripts.  npm < 11.16 runs everything.
 *  pnpm 10+        unlisted builds are skipped ("Ignored build scripts"), or fail the
 *                  install under strictDepBuilds (ERR_PNPM_IGNORED_BUILDS); pnpm < 10 builds
 *                  everything not excluded by its lists.
 *  Yarn Berry      builds unless `built: false` (YN0005) or enableScripts is false (YN0004);
 *                  `built: true` re-enables one package under enableScripts: false
 *                  (extractBuildRequest in Yarn's core).
 *  Bun             runs trusted packages only: trustedDependencies, or its default list.
 *  LavaMoat        the manager runs nothing (ignore-scripts); `allow-scripts run` runs the
 *                  approved ones and exits 1 on a package without configuration.
 */
import { isAbsolute, relative, sep } from 'node:path';
import semver from 'semver';
import { BUN_DEFAULT_TRUSTED_DEPENDENCIES } from './bunDefaultTrusted';
import { NPM_ALLOW_SCRIPTS_SINCE } from './toolVersion';
import { pnpmGates } from './pnpmBuildPolicy';
import { identityFromTarballUrl, lavamoatCanonicalName, npmRegistryIdentity, ruleMatches, ruleNamesPackage } from './ruleMatching';
import type { AllowlistRule, NativePolicy, PolicyDecision, PolicyPackage, ScriptEffect, Verdict } from '../types';

/** One verdict for every package that runs nothing (nearly all of a lockfile): read only, never changed. */
const NOTHING_RUNS: PolicyDecision = Object.freeze({ verdict: 'none', rule: null, decidedBy: null, effect: null, explanation: 'runs nothing at install time' });

export function decide(policy: NativePolicy, pkg: PolicyPackage): PolicyDecision {
  if (!pkg.runsScripts) return NOTHING_RUNS;
  switch (policy.settings.tool) {
    case 'npm':
      return decideNpm(policy, pkg);
    case 'pnpm':
      return decidePnpm(policy, pkg);
    case 'yarn':
      return decideYarn(policy, pkg);
    case 'bun':
      return decideBun(policy, pkg);
    case 'lavamoat':
      return decideLavamoat(policy, pkg);
  }
}

/** "<file relative to the root>#<entry>". */
export function decidedByOf(policy: NativePolicy, rule: AllowlistRule): string {
  const rel = policy.root ? relative(policy.root, rule.file) : rule.file;
  const file = !rel || rel.startsWith('..') || isAbsolute(rel) ? rule.file : rel.split(sep).join('/');
  return `${file}#${rule.entry ?? `${rule.field}.${rule.key}`}`;
}

function label(policy: NativePolicy): string {
  const { manager, version } = policy.settings;
  return version ? `${manager} ${version}` : `${manager} (version unknown)`;
}

function result(policy: NativePolicy, verdict: Verdict, rule: AllowlistRule | null, effect: ScriptEffect, explanation: string): PolicyDecision {
  return { verdict, rule, decidedBy: rule ? decidedByOf(policy, rule) : null, effect, explanation };
}

function switchText(s: { what: string; file: string }): string {
  return `${s.what} (${s.file.split(/[\\/]/).pop()})`;
}

/** Deny wins over allow; a matching undecided entry (pnpm placeholder) is reported too. */
function strongest(rules: AllowlistRule[], pkg: PolicyPackage): { verdict: Verdict; rule: AllowlistRule | null } {
  const matched = rules.filter((r) => ruleMatches(r, pkg));
  const deny = matched.find((r) => r.allow === false);
  if (deny) return { verdict: 'denied', rule: deny };
  const allow = matched.find((r) => r.allow === true);
  if (allow) return { verdict: 'allowed', rule: allow };
  return { verdict: 'unreviewed', rule: matched.find((r) => r.allow === null) ?? null };
}

// ---------------------------------------------------------------------------------------

function decideNpm(policy: NativePolicy, pkg: PolicyPackage): PolicyDecision {
  const { version, scriptsDisabled, allowAll, strict } = policy.settings;
  const L = label(policy);
  if (version !== null && semver.lt(version, NPM_ALLOW_SCRIPTS_SINCE)) {
    return result(policy, 'unreviewed', null, scriptsDisabled ? 'skipped' : 'runs',
      scriptsDisabled ? `${switchText(scriptsDisabled)}: npm runs no install script` : `${L} has no allowScripts (added in npm 11.16): it runs every install script`);
  }
  if (pkg.bundled) {
    return result(policy, 'unreviewed', null, scriptsDisabled ? 'skipped' : 'runs',
      scriptsDisabled
        ? `${switchText(scriptsDisabled)}: npm runs no install script`
        : `bundled inside its parent's tarball, so allowScripts cannot cover it; ${L} runs its install script anyway — even when denied or under strict-allow-scripts — and leaves it out of its warning (observed with npm 11.19.1: arborist's rebuild only skips packages the policy denies, and script-allowed.js never denies a bundled one)`);
  }
  const { verdict, rule } = strongest(policy.rules, pkg);
  const by = rule ? decidedByOf(policy, rule) : '';
  if (scriptsDisabled) return result(policy, verdict, rule, 'skipped', `${switchText(scriptsDisabled)}: npm runs no install script`);
  if (allowAll) return result(policy, verdict, rule, 'runs', `${switchText(allowAll)}: ${L} runs every install script, approved or denied`);
  if (verdict === 'allowed') return result(policy, verdict, rule, 'runs', `${L} runs it: approved by ${by}`);
  if (verdict === 'denied') return result(policy, verdict, rule, 'skipped', `${L} skips its install scripts (its bins are still linked): denied by ${by}`);
  const refused = refusedPin(policy.rules, pkg);
  if (strict) return result(policy, verdict, null, 'fails-install', `${refused}${L} fails the install before any script runs (ESTRICTALLOWSCRIPTS, ${switchText(strict)}): no allowScripts entry covers it`);
  if (version !== null && semver.gte(version, '12.0.0')) {
    return result(policy, verdict, null, 'skipped', `${refused}npm 12 (announced) skips install scripts no allowScripts entry covers`);
  }
  return result(policy, verdict, null, 'runs', `${refused}${L} runs an unreviewed install script and only warns ("install scripts not yet covered by allowScripts")`);
}

/** Why a pinned approval that names the package did not apply, when the lockfile hides the version. */
function refusedPin(rules: AllowlistRule[], pkg: PolicyPackage): string {
  const pinned = rules.find((r) => r.allow === true && r.versions !== null && ruleNamesPackage(r, pkg));
  if (!pinned || pkg.source !== 'registry' || npmRegistryIdentity(pkg).version !== null) return '';
  return `"${pinned.key}" cannot apply: the lockfile has no resolved URL for it (omit-lockfile-registry-resolved), so npm cannot verify the version and refuses a pinned approval; `;
}

// ---------------------------------------------------------------------------------------

function decidePnpm(policy: NativePolicy, pkg: PolicyPackage): PolicyDecision {
  const { version, scriptsDisabled, allowAll, strict } = policy.settings;
  const g = pnpmGates(version);
  const L = label(policy);
  const declared = new Set(policy.declaredFields ?? []);
  let verdict: Verdict;
  let rule: AllowlistRule | null;
  let blocksByDefault: boolean;

  if (!g.legacyLists) {
    // pnpm 11+: allowBuilds, deny first; pnpm 12.11 `permissions.<pkg>.build` wins over it.
    const permission = g.permissions ? policy.rules.find((r) => r.field === 'permissions' && ruleMatches(r, pkg)) : undefined;
    ({ verdict, rule } = permission ? { verdict: permission.allow ? 'allowed' : 'denied', rule: permission } : strongest(policy.rules.filter((r) => r.field !== 'permissions'), pkg));
    blocksByDefault = true;
  } else {
    const onlyMode = declared.has('onlyBuiltDependencies') || declared.has('onlyBuiltDependenciesFile') || declared.has('allowBuilds');
    blocksByDefault = g.v10 ? onlyMode || !declared.has('neverBuiltDependencies') : onlyMode;
    const matched = policy.rules.filter((r) => ruleMatches(r, pkg));
    // pnpm 10 folds allowBuilds into onlyBuilt / ignoredBuilt lists: being listed to build wins.
    const allow = matched.find((r) => r.allow === true);
    const deny = matched.find((r) => r.allow === false);
    const undecided = matched.find((r) => r.allow === null);
    if (blocksByDefault) ({ verdict, rule } = allow ? { verdict: 'allowed', rule: allow } : deny ? { verdict: 'denied', rule: deny } : { verdict: 'unreviewed', rule: undecided ?? null });
    else {
      // Everything builds but neverBuiltDependencies; ignoredBuiltDependencies only silences the report.
      const never = matched.find((r) => r.field.endsWith('neverBuiltDependencies'));
      ({ verdict, rule } = never ? { verdict: 'denied', rule: never } : { verdict: 'unreviewed', rule: null });
    }
  }
  const by = rule ? decidedByOf(policy, rule) : '';

  if (scriptsDisabled) return result(policy, verdict, rule, 'skipped', `${switchText(scriptsDisabled)}: pnpm runs no dependency script`);
  if (allowAll && !(verdict === 'denied' && g.denyBeatsAllowAll)) {
    return result(policy, verdict, rule, 'runs', `${switchText(allowAll)}: ${L} builds every dependency${verdict === 'denied' ? ', denied ones included' : ''}`);
  }
  if (verdict === 'allowed') return result(policy, verdict, rule, 'runs', `${L} builds it: approved by ${by}`);
  if (verdict === 'denied') return result(policy, verdict, rule, 'skipped', `${L} skips its build without listing it: denied by ${by}`);
  if (!blocksByDefault) {
    return result(policy, verdict, rule, 'runs', g.v10
      ? `${L} builds every dependency not in neverBuiltDependencies (no onlyBuiltDependencies/allowBuilds is set)`
      : `${L} runs every dependency's build script unless onlyBuiltDependencies is set (pnpm blocks by default from 10)`);
  }
  const undecided = rule ? `"${rule.key}" is still "set this to true or false" in ${by}; ` : '';
  if (strict) return result(policy, verdict, rule, 'fails-install', `${undecided}${L} fails the install (ERR_PNPM_IGNORED_BUILDS, ${switchText(strict)}) on a build nobody approved`);
  return result(policy, verdict, rule, 'skipped', `${undecided}${L} skips builds nobody approved and lists them under "Ignored build scripts"`);
}

// ---------------------------------------------------------------------------------------

function decideYarn(policy: NativePolicy, pkg: PolicyPackage): PolicyDecision {
  const { scriptsDisabled } = policy.settings;
  const L = label(policy);
  if (policy.variant === 'yarn-classic') {
    return result(policy, 'unreviewed', null, scriptsDisabled ? 'skipped' : 'runs',
      scriptsDisabled ? `${switchText(scriptsDisabled)}: Yarn runs no install script` : `${L} (Classic) has no build allowlist: it runs every install script`);
  }
  // getDependencyMeta: the name entry first, then the exact-version entry over it.
  const matched = policy.rules.filter((r) => ruleMatches(r, pkg));
  const rule = matched.find((r) => r.versions !== null) ?? matched.find((r) => r.versions === null) ?? null;
  const verdict: Verdict = rule === null ? 'unreviewed' : rule.allow ? 'allowed' : 'denied';
  const by = rule ? decidedByOf(policy, rule) : '';
  if (pkg.source === 'link') return result(policy, verdict, rule, 'skipped', `${L} never builds a soft-linked package (YN0006)`);
  if (verdict === 'denied') return result(policy, verdict, rule, 'skipped', `${L} skips it: "its build has been explicitly disabled through configuration" (YN0005, ${by})`);
  if (verdict === 'allowed') {
    return result(policy, verdict, rule, 'runs', scriptsDisabled ? `${L} builds it although ${scriptsDisabled.what}: built: true in ${by} re-enables it` : `${L} builds it (${by})`);
  }
  if (scriptsDisabled) return result(policy, verdict, null, 'skipped', `${L} skips it: "all build scripts have been disabled" (YN0004, ${scriptsDisabled.what})`);
  return result(policy, verdict, null, 'runs', `${L} runs every build script while enableScripts is true; no dependenciesMeta entry reviewed this one`);
}

// ---------------------------------------------------------------------------------------

function decideBun(policy: NativePolicy, pkg: PolicyPackage): PolicyDecision {
  const { scriptsDisabled } = policy.settings;
  const L = label(policy);
  const declared = (policy.declaredFields ?? []).includes('trustedDependencies');
  if (declared) {
    const rule = policy.rules.find((r) => ruleMatches(r, pkg)) ?? null;
    if (scriptsDisabled) return result(policy, rule ? 'allowed' : 'unreviewed', rule, 'skipped', `${switchText(scriptsDisabled)}: Bun runs no install script`);
    if (rule) return result(policy, 'allowed', rule, 'runs', `${L} runs it: trusted by ${decidedByOf(policy, rule)}`);
    const defaultNote = BUN_DEFAULT_TRUSTED_DEPENDENCIES.has(pkg.name) ? ' (it is on Bun\'s default list, but trustedDependencies replaces that list)' : '';
    return result(policy, 'unreviewed', null, 'skipped', `${L} blocks it: not in trustedDependencies${defaultNote}; \`bun pm untrusted\` lists it`);
  }
  const onDefault = BUN_DEFAULT_TRUSTED_DEPENDENCIES.has(pkg.name) && pkg.source === 'registry' && canonicalTarball(pkg);
  const verdict: Verdict = onDefault ? 'allowed' : 'unreviewed';
  if (scriptsDisabled) return result(policy, verdict, null, 'skipped', `${switchText(scriptsDisabled)}: Bun runs no install script`);
  if (onDefault) return result(policy, verdict, null, 'runs', `${L} runs it: on Bun's built-in default trusted list (package.json has no trustedDependencies)`);
  return result(policy, verdict, null, 'skipped', `${L} blocks it: not on Bun's default trusted list${BUN_DEFAULT_TRUSTED_DEPENDENCIES.has(pkg.name) ? ' for a package that does not come from the registry' : ''} and package.json has no trustedDependencies; \`bun pm untrusted\` lists it`);
}

/** Bun grants its default list only to a registry tarball at the registry's own URL for it. */
function canonicalTarball(pkg: PolicyPackage): boolean {
  if (!pkg.resolved) return true;
  const identity = identityFromTarballUrl(pkg.resolved);
  return identity !== null && identity.name === pkg.name && identity.version === pkg.version;
}

// ---------------------------------------------------------------------------------------

function decideLavamoat(policy: NativePolicy, pkg: PolicyPackage): PolicyDecision {
  const canonical = lavamoatCanonicalName(pkg);
  // A pinned key (`path#1.2.3`) counts only for its version; a deny wins over an allow.
  const matching = policy.rules.filter((r) => ruleMatches(r, pkg));
  const rule = matching.find((r) => r.allow === false) ?? matching[0] ?? null;
  const verdict: Verdict = rule === null ? 'unreviewed' : rule.allow ? 'allowed' : 'denied';
  const off = policy.settings.scriptsDisabled;
  if (!off && policy.underlying) {
    const native = decide(policy.underlying, pkg);
    return result(policy, verdict, rule, native.effect ?? 'runs',
      `LavaMoat's allowlist is not enforced at install: ${policy.settings.manager} runs scripts itself until they are switched off (${policy.settings.manager === 'yarn' ? 'enableScripts: false' : 'ignore-scripts=true'}); ${native.explanation}`);
  }
  const by = rule ? decidedByOf(policy, rule) : '';
  if (verdict === 'allowed') return result(policy, verdict, rule, 'runs', `\`allow-scripts run\` runs it after the install (${by})`);
  if (verdict === 'denied') return result(policy, verdict, rule, 'skipped', `\`allow-scripts run\` skips it (${by})`);
  return result(policy, verdict, null, 'fails-install', `\`allow-scripts run\` stops with exit code 1 before running any script: "${canonical}" has no configuration (run \`allow-scripts auto\`, then review it)`);
}

// ---------------------------------------------------------------------------------------

/**
 * Entries that no longer do anything: a rule whose package is not locked at all, or a
 * pinned approval none of whose versions is locked (the locked version is then unreviewed).
 */
export function unusedRules(policy: NativePolicy, packages: PolicyPackage[]): { rule: AllowlistRule; reason: 'matches-nothing' | 'pinned-version-not-locked' }[] {
  const unused: { rule: AllowlistRule; reason: 'matches-nothing' | 'pinned-version-not-locked' }[] = [];
  for (const rule of policy.rules) {
    const named = packages.filter((p) => ruleNamesPackage(rule, p));
    if (named.length === 0) {
      unused.push({ rule, reason: 'matches-nothing' });
      continue;
    }
    if (rule.versions === null || named.some((p) => rule.versions!.includes(p.version))) continue;
    unused.push({ rule, reason: rule.allow === true ? 'pinned-version-not-locked' : 'matches-nothing' });
  }
  return unused;
}
