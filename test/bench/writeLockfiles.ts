/**
 * Renders a BenchProject as the files each package manager would write: package.json plus
 * package-lock.json (v3), yarn.lock (classic v1) or pnpm-lock.yaml (9.0), byte-shaped the
 * way npm, yarn 1 and pnpm 9 format them (key order, quoting, blank lines), so the parsers
 * are timed on text that looks like the real thing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchPackage, BenchProject } from './generate';

export type BenchFormat = 'npm' | 'yarn' | 'pnpm';
export const BENCH_FORMATS: readonly BenchFormat[] = ['npm', 'yarn', 'pnpm'];
export const LOCKFILE_NAME: Record<BenchFormat, string> = {
  npm: 'package-lock.json',
  yarn: 'yarn.lock',
  pnpm: 'pnpm-lock.yaml',
};

const ROOT_FIELD = { prod: 'dependencies', dev: 'devDependencies', optional: 'optionalDependencies' } as const;

function sortedObject(entries: [string, string][]): Record<string, string> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function projectName(project: BenchProject, format: BenchFormat): string {
  return `ig-bench-${format}-${project.size}`;
}

export function packageJsonText(project: BenchProject, format: BenchFormat): string {
  const fields: Record<string, [string, string][]> = { dependencies: [], devDependencies: [], optionalDependencies: [] };
  for (const root of project.roots) fields[ROOT_FIELD[root.kind]]!.push([project.packages[root.to]!.name, root.range]);
  const json: Record<string, unknown> = { name: projectName(project, format), version: '1.0.0', private: true };
  for (const [field, list] of Object.entries(fields)) if (list.length) json[field] = sortedObject(list);
  return JSON.stringify(json, null, 2) + '\n';
}

function unscoped(name: string): string {
  return name.slice(name.indexOf('/') + 1);
}

// ---------------------------------------------------------------- package-lock.json v3

export function npmLockText(project: BenchProject): string {
  const { packages, expected } = project;
  const rootEntry: Record<string, unknown> = { name: projectName(project, 'npm'), version: '1.0.0' };
  const manifest = JSON.parse(packageJsonText(project, 'npm')) as Record<string, unknown>;
  for (const field of Object.values(ROOT_FIELD)) if (manifest[field]) rootEntry[field] = manifest[field];

  const entries: [string, Record<string, unknown>][] = [];
  for (const p of packages) {
    const entry: Record<string, unknown> = {
      version: p.version,
      resolved: `https://registry.npmjs.org/${p.name}/-/${unscoped(p.name)}-${p.version}.tgz`,
      integrity: p.integrity,
    };
    if (expected.dev[p.index]) entry.dev = true;
    if (expected.optional[p.index]) entry.optional = true;
    if (p.installScripts) entry.hasInstallScript = true;
    entry.license = 'MIT';
    const deps = p.deps.filter((e) => e.kind === 'prod').map((e): [string, string] => [packages[e.to]!.name, e.range]);
    const optional = p.deps.filter((e) => e.kind === 'optional').map((e): [string, string] => [packages[e.to]!.name, e.range]);
    if (deps.length) entry.dependencies = sortedObject(deps);
    entry.engines = { node: '>=14' };
    if (optional.length) entry.optionalDependencies = sortedObject(optional);
    if (p.peer) entry.peerDependencies = { [p.peer.name]: p.peer.range };
    // A second version is nested under each package that needs it.
    const paths = p.twinOf === null
      ? [`node_modules/${p.name}`]
      : project.dependents[p.index]!.map((d) => `node_modules/${packages[d]!.name}/node_modules/${p.name}`);
    for (const path of paths) entries.push([path, entry]);
  }
  const collator = new Intl.Collator('en');
  entries.sort(([a], [b]) => collator.compare(a, b));
  const lock = {
    name: projectName(project, 'npm'),
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: Object.fromEntries([['', rootEntry], ...entries]),
  };
  return JSON.stringify(lock, null, 2) + '\n';
}

// ---------------------------------------------------------------- yarn.lock (classic)

/** yarn 1's own quoting rule (lockfile/stringify.js `shouldWrapKey`). */
function yarnQuote(value: string): string {
  const wrap =
    value.startsWith('true') || value.startsWith('false') || /[:\s\n\\",[\]]/.test(value) ||
    /^[0-9]/.test(value) || !/^[a-zA-Z]/.test(value);
  return wrap ? JSON.stringify(value) : value;
}

export function yarnLockText(project: BenchProject): string {
  const { packages } = project;
  const descriptors = packages.map(() => new Set<string>());
  for (const root of project.roots) descriptors[root.to]!.add(root.range);
  for (const p of packages) for (const e of p.deps) descriptors[e.to]!.add(e.range);

  const blocks: [string, string][] = [];
  for (const p of packages) {
    const keys = [...descriptors[p.index]!].map((range) => `${p.name}@${range}`).sort();
    const head = keys.map(yarnQuote).join(', ');
    const lines = [
      `${head}:`,
      `  version ${yarnQuote(p.version)}`,
      `  resolved ${yarnQuote(`https://registry.yarnpkg.com/${p.name}/-/${unscoped(p.name)}-${p.version}.tgz#${p.shasum}`)}`,
      `  integrity ${yarnQuote(p.integrity)}`,
    ];
    for (const [field, kind] of [['dependencies', 'prod'], ['optionalDependencies', 'optional']] as const) {
      const deps = p.deps.filter((e) => e.kind === kind).map((e): [string, string] => [packages[e.to]!.name, e.range]);
      if (!deps.length) continue;
      lines.push(`  ${field}:`);
      for (const [name, range] of Object.entries(sortedObject(deps))) lines.push(`    ${yarnQuote(name)} ${yarnQuote(range)}`);
    }
    blocks.push([keys[0]!, lines.join('\n')]);
  }
  blocks.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header = '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n';
  return header + blocks.map(([, text]) => text).join('\n\n') + '\n';
}

// ---------------------------------------------------------------- pnpm-lock.yaml 9.0

/** Plain YAML scalar where pnpm writes one, single-quoted otherwise (`'@scope/x'`, `'>=1 <2'`). */
function yamlScalar(value: string): string {
  return /^[A-Za-z0-9^~][A-Za-z0-9._\-+/()@^~]*$/.test(value) ? value : `'${value.replace(/'/g, "''")}'`;
}

/** The snapshot suffix of a peer consumer in the context of one peer version. */
function peerSuffix(project: BenchProject, p: BenchPackage, context: number | null): string {
  if (!p.peer) return '';
  const target = project.packages[context ?? p.peer.targets[0]!]!;
  return `(${target.name}@${target.version})`;
}

export function pnpmLockText(project: BenchProject): string {
  const { packages, expected } = project;
  const out: string[] = [
    "lockfileVersion: '9.0'",
    '',
    'settings:',
    '  autoInstallPeers: true',
    '  excludeLinksFromLockfile: false',
    '',
    'importers:',
    '',
    '  .:',
  ];
  for (const kind of ['prod', 'optional', 'dev'] as const) {
    const roots = project.roots.filter((r) => r.kind === kind).sort((a, b) => cmp(packages[a.to]!.name, packages[b.to]!.name));
    if (!roots.length) continue;
    out.push(`    ${ROOT_FIELD[kind]}:`);
    for (const root of roots) {
      const p = packages[root.to]!;
      out.push(`      ${yamlScalar(p.name)}:`, `        specifier: ${yamlScalar(root.range)}`, `        version: ${yamlScalar(p.version + peerSuffix(project, p, null))}`);
    }
  }

  out.push('', 'packages:', '');
  const sorted = [...packages].sort((a, b) => cmp(`${a.name}@${a.version}`, `${b.name}@${b.version}`));
  for (const p of sorted) {
    out.push(`  ${yamlScalar(`${p.name}@${p.version}`)}:`, `    resolution: {integrity: ${p.integrity}}`, "    engines: {node: '>=14'}");
    if (p.peer) out.push('    peerDependencies:', `      ${yamlScalar(p.peer.name)}: ${yamlScalar(p.peer.range)}`);
    out.push('');
  }

  out.push('snapshots:', '');
  const snapshots: [string, string[]][] = [];
  for (const p of packages) {
    for (const context of p.peer ? p.peer.targets : [null]) {
      const key = `${p.name}@${p.version}${peerSuffix(project, p, context)}`;
      const body: string[] = [];
      const prod: [string, string][] = p.deps
        .filter((e) => e.kind === 'prod')
        .map((e) => [packages[e.to]!.name, packages[e.to]!.version + peerSuffix(project, packages[e.to]!, e.peerContext)]);
      // pnpm lists the resolved peer among the instance's dependencies.
      if (p.peer) prod.push([p.peer.name, packages[context!]!.version]);
      const optional: [string, string][] = p.deps
        .filter((e) => e.kind === 'optional')
        .map((e) => [packages[e.to]!.name, packages[e.to]!.version + peerSuffix(project, packages[e.to]!, e.peerContext)]);
      for (const [field, list] of [['dependencies', prod], ['optionalDependencies', optional]] as const) {
        if (!list.length) continue;
        body.push(`    ${field}:`);
        for (const [name, version] of Object.entries(sortedObject(list))) body.push(`      ${yamlScalar(name)}: ${yamlScalar(version)}`);
      }
      if (expected.optional[p.index]) body.push('    optional: true');
      snapshots.push([key, body]);
    }
  }
  snapshots.sort(([a], [b]) => cmp(a, b));
  for (const [key, body] of snapshots) {
    if (body.length) out.push(`  ${yamlScalar(key)}:`, ...body, '');
    else out.push(`  ${yamlScalar(key)}: {}`, '');
  }
  return out.join('\n');
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function lockfileText(project: BenchProject, format: BenchFormat): string {
  return format === 'npm' ? npmLockText(project) : format === 'yarn' ? yarnLockText(project) : pnpmLockText(project);
}

/** Writes package.json + the lockfile into `<parent>/<format>-<size>`; returns the directory. */
export function writeProject(parent: string, project: BenchProject, format: BenchFormat, lockText: string): string {
  const dir = join(parent, `${format}-${project.size}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), packageJsonText(project, format));
  writeFileSync(join(dir, LOCKFILE_NAME[format]), lockText);
  return dir;
}
