/**
 * The audit: every locked package of a project, what it runs at install time, on which
 * evidence, and who pulls it in; plus the findings. Pure over its inputs — the project
 * inventory and a metadata source — so the CLI, the language server and the tests share
 * it and each supply their own I/O.
 */
import type { LockedPackage, ProjectInventory, Span } from '../model/inventory';
import { versionKey } from '../model/inventory';
import { compareFindings, FINDING_CODES, type Finding, type FindingLocation } from './findings';
import {
  decideInstallScripts,
  runsInstallCode,
  type InstallScriptFacts,
  type ScriptEvidence,
} from './installScripts';
import type { LookupResult } from '../registry/metadataClient';
import type { VersionFacts } from '../registry/versionFacts';
import { readInstalledManifest, readLocalDependencyManifest } from './localManifests';

/** The registry layer as the audit sees it; registry/metadataClient's MetadataClient is one. */
export interface MetadataSource {
  lookup(name: string, version: string, integrity: string | null): Promise<LookupResult>;
}

export interface AuditOptions {
  metadata: MetadataSource | null;
  /** Read node_modules/<pkg>/package.json when present (default true). */
  useInstalled?: boolean;
  /** How many dependency paths to keep per package. */
  pathLimit?: number;
  /** Called as each unique version is decided. */
  onProgress?: (done: number, total: number) => void;
}

/** One unique locked version (copies at several install paths are merged). */
export interface PackageReport {
  name: string;
  version: string;
  source: LockedPackage['source'];
  resolved: string | null;
  integrity: string | null;
  direct: boolean;
  dev: boolean;
  optional: boolean;
  lockfileFlag: boolean | null;
  facts: InstallScriptFacts;
  paths: string[][];
  /** Every lockfile entry of this version (for diagnostics on each copy). */
  entries: { id: string; span: Span }[];
  /** The registry's facts of this version, when they were read (policy and provenance use them). */
  registryFacts: VersionFacts | null;
  error: string | null;
}

export interface AuditReport {
  inventory: ProjectInventory;
  packages: PackageReport[];
  findings: Finding[];
}

export async function auditInventory(inventory: ProjectInventory, options: AuditOptions): Promise<AuditReport> {
  const { lockfile, graph } = inventory;
  const groups = groupByVersion(lockfile?.packages ?? []);
  const importerDirs = new Set((lockfile?.importers ?? []).map((i) => i.dir));
  const packages: PackageReport[] = [];
  let done = 0;

  await Promise.all(
    [...groups.values()].map(async (copies) => {
      const first = copies[0]!;
      // A link to one of the project's own workspaces is the project's code, not a dependency.
      if (first.source === 'workspace' || (first.source === 'link' && importerDirs.has(first.resolved ?? ''))) return;
      const { evidence, registryFacts } = await gatherEvidence(inventory.root, first, options);
      const report: PackageReport = {
        name: first.name,
        version: first.version,
        source: first.source,
        resolved: first.resolved,
        integrity: first.integrity,
        direct: copies.some((c) => c.direct),
        dev: copies.every((c) => c.dev),
        optional: copies.every((c) => c.optional),
        lockfileFlag: copies.some((c) => c.lockfileFlag === true) ? true : first.lockfileFlag,
        facts: decideInstallScripts(first, evidence),
        paths: collectPaths(copies, (id, limit) => graph?.pathsTo(id, limit) ?? [], options.pathLimit ?? 5),
        entries: copies.map((c) => ({ id: c.id, span: c.span })),
        registryFacts,
        error: evidence.registryError ?? null,
      };
      packages.push(report);
      options.onProgress?.(++done, groups.size);
    }),
  );
  packages.sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  const findings = [...problemFindings(inventory), ...packageFindings(inventory, packages)].sort(compareFindings);
  return { inventory, packages, findings };
}

function groupByVersion(packages: LockedPackage[]): Map<string, LockedPackage[]> {
  const groups = new Map<string, LockedPackage[]>();
  for (const pkg of packages) {
    const key = pkg.source === 'registry' ? versionKey(pkg.name, pkg.version) : `${pkg.source}:${pkg.name}@${pkg.resolved ?? pkg.version}`;
    const list = groups.get(key);
    if (list) list.push(pkg);
    else groups.set(key, [pkg]);
  }
  return groups;
}

async function gatherEvidence(
  root: string,
  pkg: LockedPackage,
  options: AuditOptions,
): Promise<{ evidence: ScriptEvidence; registryFacts: VersionFacts | null }> {
  const none = { registryFacts: null };
  if (options.useInstalled !== false) {
    const installed = await readInstalledManifest(root, pkg);
    if (installed) return { evidence: { installed }, ...none };
  }
  if (pkg.source === 'file' || pkg.source === 'link') {
    return { evidence: { local: await readLocalDependencyManifest(root, pkg) }, ...none };
  }
  if (pkg.source !== 'registry') return { evidence: {}, ...none };
  if (!options.metadata) return { evidence: { registryError: 'registry not consulted' }, ...none };
  const result = await options.metadata.lookup(pkg.name, pkg.version, pkg.integrity);
  return result.ok
    ? { evidence: { registry: result.facts }, registryFacts: result.facts }
    : { evidence: { registryError: result.message }, ...none };
}

function collectPaths(copies: LockedPackage[], pathsTo: (id: string, limit: number) => string[][], limit: number): string[][] {
  const seen = new Set<string>();
  const paths: string[][] = [];
  for (const copy of copies) {
    for (const path of pathsTo(copy.id, limit)) {
      const key = path.join('\0');
      if (seen.has(key)) continue;
      seen.add(key);
      paths.push(path);
      if (paths.length >= limit) return paths;
    }
  }
  return paths;
}

function problemFindings(inventory: ProjectInventory): Finding[] {
  return inventory.problems.map((problem) => ({
    code: 'file-problem',
    severity: FINDING_CODES['file-problem'].defaultSeverity,
    message: problem.message,
    fix: null,
    package: null,
    location: { file: problem.file, span: problem.span ?? null },
    related: [],
  }));
}

function packageFindings(inventory: ProjectInventory, packages: PackageReport[]): Finding[] {
  const lockfile = inventory.lockfile;
  if (!lockfile) return [];
  const findings: Finding[] = [];
  for (const report of packages) {
    const location: FindingLocation = { file: lockfile.file, span: report.entries[0]?.span ?? null };
    const related = manifestEntries(inventory, report.name);
    const pkg = { name: report.name, version: report.version };
    const { facts } = report;
    if (facts.scripts?.prepare) {
      findings.push({
        code: 'git-prepare',
        severity: FINDING_CODES['git-prepare'].defaultSeverity,
        message: `${pkg.name}@${pkg.version} (${report.source}) is built from source at install time and runs prepare: ${facts.scripts.prepare}`,
        fix: 'Depend on a published registry version instead, or review the prepare script and pin the commit',
        package: pkg,
        location,
        related,
      });
    }
    if (facts.scripts && (facts.scripts.preinstall || facts.scripts.install || facts.scripts.postinstall)) {
      findings.push({
        code: 'install-script',
        severity: FINDING_CODES['install-script'].defaultSeverity,
        message: `${pkg.name}@${pkg.version} runs code at install time: ${describeScripts(facts)} (evidence: ${facts.evidence})`,
        fix: 'Review what it runs; allow it in the package manager\'s allowlist or block scripts (ignore-scripts)',
        package: pkg,
        location,
        related,
      });
    } else if (facts.evidence === 'lockfile' && runsInstallCode(facts)) {
      findings.push({
        code: 'install-script',
        severity: FINDING_CODES['install-script'].defaultSeverity,
        message: `${pkg.name}@${pkg.version} runs install scripts according to the lockfile; ${facts.note ?? ''}`.trim(),
        fix: 'Run the audit online to see the exact commands',
        package: pkg,
        location,
        related,
      });
    } else if (!facts.known) {
      findings.push({
        code: 'install-script-unknown',
        severity: FINDING_CODES['install-script-unknown'].defaultSeverity,
        message: `${pkg.name}@${pkg.version}: install scripts unknown — ${facts.note ?? 'no evidence'}`,
        fix: report.source === 'registry' ? 'Check the registry settings and run the audit again' : null,
        package: pkg,
        location,
        related,
      });
    }
  }
  return findings;
}

/** "install: node-gyp rebuild; postinstall: node install.js" */
export function describeScripts(facts: InstallScriptFacts): string {
  if (!facts.scripts) return facts.evidence === 'lockfile' ? '(commands unknown)' : 'nothing';
  return Object.entries(facts.scripts)
    .map(([hook, command]) => `${hook}: ${command}`)
    .join('; ');
}

function manifestEntries(inventory: ProjectInventory, name: string): (FindingLocation & { message: string })[] {
  const related: (FindingLocation & { message: string })[] = [];
  for (const manifest of inventory.manifests) {
    for (const dep of manifest.dependencies) {
      if (dep.name === name) {
        related.push({ file: manifest.file, span: dep.nameSpan, message: `declared in ${dep.kind} of ${manifest.dir === '.' ? 'the root' : manifest.dir}` });
      }
    }
  }
  return related;
}
