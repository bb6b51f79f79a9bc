/**
 * How each tool reads an allowlist key and matches it against a locked package — written
 * from the tools' own sources, because the same key means different things to each:
 *
 *  npm 11.16+  @npmcli/arborist lib/script-allowed.js: keys parsed with npm-package-arg;
 *              registry packages are identified by the lockfile's `resolved` URL, never by
 *              the tarball's package.json; a pinned allow with no trustworthy version is
 *              refused while a pinned deny still blocks; git keys match host/repo plus a
 *              short-sha prefix; file/remote keys match `resolved` exactly.
 *  pnpm 10/11  @pnpm/builder.policy createAllowBuildFunction + config.version-policy: exact
 *              names (no globs), `name@1.2.3 || 1.2.4` unions, and dependency-path keys for
 *              git/tarball/local artifacts; a bare name never approves a non-registry one.
 *  Yarn Berry  Project.getDependencyMeta: `name` entries first, then `name@<exact version>`.
 *  Bun         trustedDependencies: names only.
 *  LavaMoat    @lavamoat/aa canonical names: the preferred dependency path `a>b>c`.
 */
import npa from 'npm-package-arg';
import semver from 'semver';
import type { AllowlistRule, PolicyPackage } from '../types';

export interface ParsedKey {
  name: string | null;
  versions: string[] | null;
  sourceSpec: string | null;
  lavamoatPath: string[] | null;
  /** Why the tool itself ignores this key; null when it is a working key. */
  ignored: string | null;
}

const nameOnly = (name: string): ParsedKey => ({ name, versions: null, sourceSpec: null, lavamoatPath: null, ignored: null });

function parseNpa(key: string, where?: string): npa.Result | null {
  try {
    return npa(key, where);
  } catch {
    return null;
  }
}

/** Exact versions joined by `||` (arborist's isExactVersionDisjunction). */
export function exactVersionUnion(spec: string): string[] | null {
  if (spec.trim() === '') return null;
  const parts = spec.split('||').map((p) => p.trim());
  return parts.every((p) => p !== '' && semver.valid(p) !== null) ? parts.map((p) => semver.valid(p)!) : null;
}

/** An npm `allowScripts` key, read the way resolve-allow-scripts.js validates it. */
export function parseNpmKey(key: string, root: string): ParsedKey {
  const parsed = parseNpa(key, root);
  const base: ParsedKey = { name: parsed?.name ?? null, versions: null, sourceSpec: null, lavamoatPath: null, ignored: null };
  if (!parsed) return { ...base, ignored: `npm cannot parse "${key}" and ignores it` };
  switch (parsed.type) {
    case 'tag':
      return { ...base, ignored: `npm ignores "${key}": dist-tags are not allowed; use exact versions joined by "||" or the bare name` };
    case 'range':
    case 'version': {
      if (parsed.rawSpec === '' || parsed.rawSpec === '*' || parsed.fetchSpec === '*') return base;
      const versions = exactVersionUnion(parsed.fetchSpec ?? '');
      if (!versions) return { ...base, ignored: `npm ignores "${key}": semver ranges (^, ~, >=, <) are not allowed; use exact versions joined by "||"` };
      return { ...base, versions };
    }
    case 'alias':
      return { ...base, ignored: `npm never matches an alias key ("${key}"); name the real package` };
    default:
      return { ...base, sourceSpec: key };
  }
}

/** pnpm: a dependency-path key (git, tarball, local artifacts) rather than a name rule. */
function isPnpmDepPathKey(key: string): boolean {
  if (/\(.*\)$/.test(key)) return true; // peer suffix
  if (key.includes('||')) return false;
  const at = key.startsWith('@') ? key.indexOf('@', 1) : key.indexOf('@');
  if (at > 0) {
    const version = key.slice(at + 1);
    return semver.valid(version) === null && /[:/]/.test(version);
  }
  return !key.startsWith('@') && /[:/]/.test(key);
}

/** A pnpm allowBuilds / onlyBuiltDependencies / ... entry (config.version-policy parseVersionPolicyRule). */
export function parsePnpmKey(key: string): ParsedKey {
  if (isPnpmDepPathKey(key)) {
    const at = key.startsWith('@') ? key.indexOf('@', 1) : key.indexOf('@');
    return { name: at > 0 ? key.slice(0, at) : null, versions: null, sourceSpec: key, lavamoatPath: null, ignored: null };
  }
  const at = key.startsWith('@') ? key.indexOf('@', 1) : key.indexOf('@');
  if (at < 0) {
    return key.includes('*')
      ? { ...nameOnly(key), ignored: `pnpm matches build entries by exact name; "${key}" is not a pattern to it` }
      : nameOnly(key);
  }
  const name = key.slice(0, at);
  const versions = exactVersionUnion(key.slice(at + 1));
  if (!versions) return { ...nameOnly(name), ignored: `pnpm rejects "${key}" (ERR_PNPM_INVALID_VERSION_UNION): use exact versions only` };
  return { ...nameOnly(name), versions };
}

/** A Yarn `dependenciesMeta` key: `name` or `name@<exact version>` (Manifest.ensureDependencyMeta). */
export function parseYarnMetaKey(key: string): ParsedKey {
  const at = key.startsWith('@') ? key.indexOf('@', 1) : key.indexOf('@');
  if (at < 0) return nameOnly(key);
  const name = key.slice(0, at);
  const version = semver.valid(key.slice(at + 1));
  if (!version) return { ...nameOnly(name), ignored: `Yarn rejects "${key}" ("Invalid meta field range"): only exact versions are allowed` };
  return { ...nameOnly(name), versions: [version] };
}

/**
 * A LavaMoat allowScripts key: a canonical dependency path `a>b>c`, optionally pinned to a
 * version as `a>b#1.2.3` (what @lavamoat/allow-scripts v5 writes unless --skip-versions).
 */
export function parseLavamoatKey(key: string): ParsedKey {
  const hash = key.lastIndexOf('#');
  const version = hash > 0 ? key.slice(hash + 1) : null;
  const path = (hash > 0 ? key.slice(0, hash) : key).split('>');
  return { name: path.at(-1) ?? key, versions: version ? [version] : null, sourceSpec: null, lavamoatPath: path, ignored: null };
}

/** The canonical path of a LavaMoat key, without its `#version`. */
function lavamoatKeyPath(rule: AllowlistRule): string {
  return rule.lavamoatPath ? rule.lavamoatPath.join('>') : rule.key;
}

// ---------------------------------------------------------------------------------------
// Identity of a locked package

/** name@version of a registry tarball URL: `/<name>/-/<base>-<version>.tgz` (arborist's version-from-tgz). */
export function identityFromTarballUrl(resolved: string): { name: string; version: string } | null {
  if (!/^https?:\/\//.test(resolved)) return null;
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(resolved).pathname);
  } catch {
    return null;
  }
  const file = pathname.slice(pathname.lastIndexOf('/') + 1);
  const parts = pathname.slice(1).split('/-/');
  if (parts.length < 2 || !file.endsWith('.tgz') || parts.at(-1) !== file) return null;
  const before = parts[parts.length - 2]!.split(/\/|%2f/i);
  const project = before.pop() ?? '';
  const scope = before.pop();
  if (!project || !file.startsWith(`${project}-`)) return null;
  const version = semver.parse(file.slice(project.length + 1, -'.tgz'.length));
  if (!version) return null;
  return { name: scope?.startsWith('@') ? `${scope}/${project}` : project, version: version.version };
}

/**
 * npm's trusted identity of a registry package: the resolved URL's name and version; with no
 * URL (omit-lockfile-registry-resolved) the name as the dependents wrote it and no version.
 */
export function npmRegistryIdentity(pkg: PolicyPackage): { name: string; version: string | null } {
  const fromUrl = pkg.resolved ? identityFromTarballUrl(pkg.resolved) : null;
  return fromUrl ?? { name: pkg.name, version: null };
}

function withoutPeerSuffix(depPath: string): string {
  const open = depPath.indexOf('(');
  return open < 0 ? depPath : depPath.slice(0, open);
}

/** "a@1.2.3" -> "a": the name of a dependency-path step. */
export function stepName(step: string): string {
  const at = step.lastIndexOf('@');
  return at > 0 ? step.slice(0, at) : step;
}

/** @lavamoat/aa's preference between two names: shorter first, then (as its code compares) later in sort order. */
function comparePreferredName(a: string, b: string): number {
  if (a.length !== b.length) return a.length > b.length ? 1 : -1;
  return a > b ? -1 : a < b ? 1 : 0;
}

/** The canonical name @lavamoat/aa gives a package: its preferred (shortest) dependency path. */
export function lavamoatCanonicalName(pkg: PolicyPackage): string {
  let best: string[] | null = null;
  for (const path of pkg.paths) {
    const names = path.map(stepName);
    if (names.length === 0) continue;
    if (best === null || names.length < best.length) {
      best = names;
      continue;
    }
    if (names.length > best.length) continue;
    for (let i = 0; i < names.length; i++) {
      const c = comparePreferredName(names[i]!, best[i]!);
      if (c < 0) best = names;
      if (c !== 0) break;
    }
  }
  return (best ?? [pkg.name]).join('>');
}

// ---------------------------------------------------------------------------------------
// Matching

const npaCache = new Map<string, npa.Result | null>();
function cachedNpa(spec: string): npa.Result | null {
  if (!npaCache.has(spec)) {
    if (npaCache.size > 2000) npaCache.clear();
    npaCache.set(spec, parseNpa(spec));
  }
  return npaCache.get(spec) ?? null;
}

/** The part of hosted-git-info that @types/npm-package-arg leaves out. */
interface HostedInfo {
  ssh(opts?: { noCommittish?: boolean }): string | undefined;
  committish?: string | null;
}
const hostedOf = (result: npa.Result): HostedInfo | undefined => result.hosted as unknown as HostedInfo | undefined;

function npmGitMatches(key: npa.Result, resolved: string | null): boolean {
  if (!resolved || !resolved.startsWith('git')) return false;
  const node = cachedNpa(resolved);
  if (!node) return false;
  const keyHost = hostedOf(key)?.ssh({ noCommittish: true });
  const nodeHost = hostedOf(node)?.ssh({ noCommittish: true });
  if (keyHost && nodeHost) {
    if (keyHost !== nodeHost) return false;
  } else if (!key.fetchSpec || !node.fetchSpec || key.fetchSpec !== node.fetchSpec) {
    return false;
  }
  const keyCommit = key.gitCommittish || hostedOf(key)?.committish;
  if (!keyCommit) return true;
  const nodeCommit = node.gitCommittish || hostedOf(node)?.committish || '';
  // The lockfile's full sha must start with the key's short one, never the reverse.
  return nodeCommit !== '' && nodeCommit.startsWith(keyCommit);
}

/** npm's matches(node, key, failClosed) over our model. */
export function npmRuleMatches(rule: AllowlistRule, pkg: PolicyPackage): boolean {
  if (rule.sourceSpec === null) {
    if (rule.name === null || pkg.source !== 'registry') return false;
    const trusted = npmRegistryIdentity(pkg);
    if (trusted.name !== rule.name) return false;
    if (rule.versions === null) return true;
    // Unverifiable version: a deny still blocks (fail closed), an allow is refused.
    if (trusted.version === null) return rule.allow === false;
    return rule.versions.includes(trusted.version);
  }
  const key = cachedNpa(rule.sourceSpec);
  if (!key) return false;
  if (key.type === 'git') return npmGitMatches(key, pkg.resolved);
  const resolved = pkg.resolved;
  if (!resolved) return false;
  const candidates = new Set([resolved, resolved.startsWith('file:') ? resolved.slice(5) : `file:${resolved}`]);
  return [key.saveSpec, key.fetchSpec, rule.sourceSpec].some((s) => s !== null && candidates.has(s));
}

export function pnpmRuleMatches(rule: AllowlistRule, pkg: PolicyPackage): boolean {
  if (rule.sourceSpec !== null) {
    const key = withoutPeerSuffix(rule.sourceSpec);
    if (pkg.id && withoutPeerSuffix(pkg.id) === key) return true;
    if (pkg.resolved && (`${pkg.name}@${pkg.resolved}` === key || pkg.resolved === key)) return true;
    // A git repository key without a commit approves every commit of that repository.
    return !!pkg.resolved && pkg.source === 'git' && pkg.resolved.split('#')[0] === key.split('#')[0] && !key.includes('#');
  }
  // Name rules need a trusted identity: a registry name and a semver version.
  if (pkg.source !== 'registry' || rule.name !== pkg.name) return false;
  return rule.versions === null || rule.versions.includes(pkg.version);
}

export function ruleMatches(rule: AllowlistRule, pkg: PolicyPackage): boolean {
  switch (rule.tool) {
    case 'npm':
      return npmRuleMatches(rule, pkg);
    case 'pnpm':
      return pnpmRuleMatches(rule, pkg);
    case 'yarn':
      return rule.name === pkg.name && (rule.versions === null || (semver.valid(pkg.version) !== null && rule.versions.includes(pkg.version)));
    case 'bun':
      return rule.name === pkg.name;
    case 'lavamoat':
      return lavamoatKeyPath(rule) === lavamoatCanonicalName(pkg) && (rule.versions === null || rule.versions.includes(pkg.version));
  }
}

/** Does the rule name this package at all, whatever version it pins? (stale-entry checks) */
export function ruleNamesPackage(rule: AllowlistRule, pkg: PolicyPackage): boolean {
  if (rule.tool === 'lavamoat') return lavamoatKeyPath(rule) === lavamoatCanonicalName(pkg);
  if (rule.versions === null) return ruleMatches(rule, pkg);
  return ruleMatches({ ...rule, versions: null, allow: true }, pkg);
}
