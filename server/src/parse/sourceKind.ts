/**
 * One rule, shared by every lockfile parser, for where a locked package comes from.
 *
 * Why it matters: a registry version can be judged from its registry manifest (scripts,
 * signatures, provenance); a git, tarball, file or link dependency cannot, and git/file/link
 * ones also run `prepare`. So a parser must never call an Artifactory or Verdaccio tarball
 * "tarball" (it is a registry version, only on another host) nor a GitHub codeload
 * tarball "registry".
 */
import type { SourceKind } from '../model/inventory';

/** Prefixes npm, yarn, pnpm and bun write for git sources (resolved URLs and specs). */
const GIT_PREFIXES = [
  'git+ssh:',
  'git+https:',
  'git+http:',
  'git+file:',
  'git:',
  'git@',
  'ssh://',
  'github:',
  'gitlab:',
  'bitbucket:',
  'gist:',
];

/** GitHub Packages' registry host; its tarball URLs have their own shape. */
const GITHUB_PACKAGES_HOST = 'npm.pkg.github.com';

/** The registry package a tarball URL names, when its path has a registry tarball's shape. */
export interface RegistryTarball {
  name: string;
  version: string;
}

/**
 * Reads `<anything>/<name>/-/<basename>-<version>.tgz` (the path every npm-compatible
 * registry serves, whatever the host or prefix: `/api/npm/npm-remote/foo/-/foo-1.0.0.tgz`
 * on Artifactory, `/repository/npm-group/@s/x/-/x-2.0.0.tgz` on Nexus), and GitHub
 * Packages' `/download/@scope/name/<version>/<digest>`. Query and fragment (yarn appends
 * `#sha1`) are ignored. Returns null for anything else (codeload, git hosts, CDNs).
 */
export function parseRegistryTarballUrl(url: string): RegistryTarball | null {
  // Sliced by hand rather than with `new URL` and split: every package of a 20k lockfile
  // passes here, and this is most of what classifying a package costs.
  const scheme = url.indexOf('://');
  if (scheme !== 4 && scheme !== 5) return null;
  const protocol = url.slice(0, scheme).toLowerCase();
  if (protocol !== 'https' && protocol !== 'http') return null;
  const pathStart = url.indexOf('/', scheme + 3);
  if (pathStart < 0) return null;
  let pathEnd = url.length;
  const query = url.indexOf('?', pathStart);
  if (query >= 0) pathEnd = query;
  const fragment = url.indexOf('#', pathStart);
  if (fragment >= 0 && fragment < pathEnd) pathEnd = fragment;
  let path = url.slice(pathStart, pathEnd);
  if (path.includes('%')) {
    // Some registries encode the scope slash (`@scope%2fname`); compare decoded paths.
    try {
      path = decodeURIComponent(path);
    } catch {
      return null;
    }
  }
  const dash = path.lastIndexOf('/-/');
  if (dash < 0) {
    const host = url.slice(scheme + 3, pathStart).toLowerCase();
    return host.endsWith(GITHUB_PACKAGES_HOST) ? parseGithubPackagesPath(path) : null;
  }
  const fileName = path.slice(dash + 3);
  if (fileName.includes('/') || !fileName.endsWith('.tgz')) return null;
  const baseStart = path.lastIndexOf('/', dash - 1) + 1;
  const base = path.slice(baseStart, dash);
  // The file is named after the unscoped name: `@babel/core/-/core-7.0.0.tgz`.
  if (base === '' || !fileName.startsWith(`${base}-`)) return null;
  const version = fileName.slice(base.length + 1, -'.tgz'.length);
  if (!looksLikeVersion(version)) return null;
  if (baseStart >= 2) {
    const scope = path.slice(path.lastIndexOf('/', baseStart - 2) + 1, baseStart - 1);
    if (scope.startsWith('@')) return { name: `${scope}/${base}`, version };
  }
  return { name: base, version };
}

/** GitHub Packages serves `/download/@scope/name/<version>/<digest>`. */
function parseGithubPackagesPath(path: string): RegistryTarball | null {
  const segments = path.split('/').filter((s) => s.length > 0);
  const at = segments.indexOf('download');
  const scope = segments[at + 1];
  const base = segments[at + 2];
  const version = segments[at + 3];
  if (at >= 0 && scope?.startsWith('@') && base && version && looksLikeVersion(version)) {
    return { name: `${scope}/${base}`, version };
  }
  return null;
}

/**
 * True when `url` is a registry tarball. With `name`, the URL must be that package's
 * tarball (so `https://x/foo/-/foo-1.0.0.tgz` is not a registry tarball of `bar`, which
 * would mean the lockfile points an alias at some other package's file).
 */
export function isRegistryTarballUrl(url: string, name?: string): boolean {
  const tarball = parseRegistryTarballUrl(url);
  if (!tarball) return false;
  return name === undefined || tarball.name === name;
}

/** True for a git source written as a resolved URL or a spec (`github:u/r`, `git+ssh://…`). */
export function isGitSource(value: string): boolean {
  const lower = value.toLowerCase();
  if (GIT_PREFIXES.some((p) => lower.startsWith(p))) return true;
  // `https://github.com/u/r.git` and `https://host/r.git#ref` are git clones, not tarballs.
  return /^https?:\/\/[^#?]+\.git(?:[#?].*)?$/i.test(value);
}

/**
 * The source of a locked package from what the lockfile records as where it came from:
 * a resolved URL, a `file:`/`link:`/`workspace:` spec, or nothing (npm's
 * omit-lockfile-registry-resolved and bun's empty registry field: the configured registry).
 * `name` lets an http(s) URL be checked against the package it should be the tarball of.
 */
export function classifyResolved(resolved: string | null | undefined, name?: string): SourceKind {
  if (resolved === null || resolved === undefined) return 'registry';
  const value = resolved.trim();
  if (value === '') return 'registry';
  const lower = value.toLowerCase();
  if (lower.startsWith('https://') || lower.startsWith('http://')) {
    if (isRegistryTarballUrl(value, name)) return 'registry';
    return isGitSource(value) ? 'git' : 'tarball';
  }
  if (isGitSource(value)) return 'git';
  if (lower.startsWith('file:')) return 'file';
  if (lower.startsWith('link:') || lower.startsWith('portal:')) return 'link';
  if (lower.startsWith('workspace:')) return 'workspace';
  if (lower.startsWith('patch:')) return 'patch';
  if (lower.startsWith('npm:')) return 'registry';
  if (isPathLike(value)) return 'file';
  // A bare version or range: the configured registry.
  return 'registry';
}

/**
 * The source a dependency *spec* asks for (`^1.0.0`, `npm:x@1`, `u/r#ref`, `./lib`,
 * `https://…/x.tgz`). Unlike a resolved value, a spec may use GitHub's `user/repo` shorthand.
 */
export function classifySpec(spec: string, name?: string): SourceKind {
  const value = spec.trim();
  if (/^[^@./:#\s][^/:\s]*\/[^/:\s]+(?:#.*)?$/.test(value) && !value.startsWith('npm:')) {
    // `user/repo` or `user/repo#ref` is GitHub shorthand (npm-package-arg's rule).
    return 'git';
  }
  return classifyResolved(value, name);
}

function isPathLike(value: string): boolean {
  return (
    value.startsWith('./') ||
    value.startsWith('../') ||
    value.startsWith('/') ||
    value.startsWith('~/') ||
    /^[a-zA-Z]:[\\/]/.test(value)
  );
}

function looksLikeVersion(version: string): boolean {
  return /^v?\d+\.\d+\.\d+/.test(version);
}
