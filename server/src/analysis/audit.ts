/**
 * The audit: every locked package of a project, what it runs at install time, on which
 * evidence, who pulls it in, and the allowlist's verdict; plus the findings that follow
 * from the facts. Its inputs are the project inventory, a metadata source and the
 * governing allowlist (it reads node_modules itself, for installed evidence), so the CLI,
 * the language server and the tests share it and each supply their own registry access.
 */
import type { LockedPackage, ProjectInventory } from '../model/inventory';
import { compareText, versionKey } from '../model/inventory';
import { compareFindings, FINDING_CODES, type Finding, type FindingLocation } from './findings';
import { decideInstallScripts, type InstallScriptFacts, type ScriptEvidence } from './installScripts';
import type { LookupResult } from '../registry/metadataClient';
import { decide } from '../policy/allowlists/decide';
import { policyFindings } from '../policy/policyFindings';
import type { NativePolicy, PolicyDecision } from '../policy/types';
import type { VersionFacts } from '../registry/versionFacts';
import { hasNodeModules, readInstalledManifest, readLocalDependencyManifest } from './localManifests';
import { forEachLimited } from './forEachLimited';
import { PackageReport, sharePolicyPackage, toPolicyPackage } from './packageReport';

export { toPolicyPackage, PackageReport } from './packageReport';

/** The registry layer as the audit sees it; registry/metadataClient's MetadataClient is one. */
export interface MetadataSource {
  lookup(name: string, version: string, integrity: string | null): Promise<LookupResult>;
  /** An answer without waiting (memory, an open disk cache), or null: call lookup(). */
  known?(name: string, version: string, integrity: string | null): LookupResult | null;
  /** Makes known() able to answer from what is stored (opens the disk cache). */
  prepare?(): Promise<void>;
  /** Changes whenever a known answer may have: equal generations, equal answers. */
  readonly factsGeneration?: number;
}

export interface AuditOptions {
  metadata: MetadataSource | null;
  /** The governing allowlist; null: no verdicts (every script unreviewed). */
  policy: NativePolicy | null;
  /** Ask the registry even when node_modules decided (provenance needs its facts). */
  alwaysConsultRegistry?: boolean;
  /** Read node_modules/<pkg>/package.json when present (default true). */
  useInstalled?: boolean;
  /** How many dependency paths to keep per package. */
  pathLimit?: number;
  /** Called as each unique version is decided. */
  onProgress?: (done: number, total: number) => void;
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
  const useInstalled = options.useInstalled !== false && (await hasNodeModules(inventory.root));

  const record = (copies: LockedPackage[], gathered: GatheredEvidence): void => {
    const first = copies[0]!;
    const { evidence, registryFacts, errorKind = null } = gathered;
    // The editor analyses the same parsed lockfile again after every edit of package.json
    // or the policy: while a version's registry facts are the same object, so is its report.
    const memo = registryFacts ? reportMemo.get(first) : undefined;
    const reused = memo?.registryFacts === registryFacts ? memo : null;
    const generation = options.metadata?.factsGeneration;
    const report = reused
      ? // package-lock v1 marks `direct` from package.json on the cached entries: read it again.
        reused.report.with({ direct: copies.some((c) => c.direct), policy: NO_DECISION, provenance: null })
      : new PackageReport(
          {
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
            entries: copies.map((c) => ({ id: c.id, span: c.span })),
            registryFacts,
            policy: NO_DECISION,
            bundled: copies.every((c) => c.bundled === true),
            provenance: null,
            error: evidence.registryError ?? null,
            errorKind,
          },
          graph,
          options.pathLimit ?? 5,
        );
    const policyPackage = reused ? sharePolicyPackage(reused.report, report) : toPolicyPackage(report);
    if (registryFacts && (!reused || reused.generation !== generation)) reportMemo.set(first, { registryFacts, report, generation });
    if (options.policy) report.policy = decide(options.policy, policyPackage);
    packages.push(report);
    options.onProgress?.(++done, groups.size);
  };

  await options.metadata?.prepare?.();
  // What must wait (node_modules, the registry), by name: every version of a name is
  // asked at once, so they share the one packument request the registry client sends.
  const waiting = new Map<string, LockedPackage[][]>();
  for (const copies of groups.values()) {
    const first = copies[0]!;
    // A link to one of the project's own workspaces is the project's code, not a dependency.
    if (first.source === 'workspace' || (first.source === 'link' && importerDirs.has(first.resolved ?? ''))) continue;
    // With nothing installed, packages the cache knows are decided at once (no promise
    // each) and, while the registry client learnt nothing new, not even looked up again.
    const memo = useInstalled ? undefined : reportMemo.get(first);
    const generation = options.metadata?.factsGeneration;
    const now = useInstalled
      ? null
      : memo && generation !== undefined && memo.generation === generation
        ? { evidence: { registry: memo.registryFacts }, registryFacts: memo.registryFacts }
        : knownEvidence(first, options);
    if (now) record(copies, now);
    else {
      const versions = waiting.get(first.name);
      if (versions) versions.push(copies);
      else waiting.set(first.name, [copies]);
    }
  }
  await forEachLimited([...waiting.values()], NAMES_IN_FLIGHT, (versions) =>
    Promise.all(versions.map(async (copies) => record(copies, await gatherEvidence(inventory.root, copies[0]!, options, useInstalled)))).then(() => undefined),
  );
  packages.sort((a, b) => compareText(a.name, b.name) || compareText(a.version, b.version));
  const findings = [
    ...problemFindings(inventory),
    ...packageFindings(inventory, packages),
    ...(options.policy ? policyFindings(inventory, options.policy, packages) : []),
  ].sort(compareFindings);
  return { inventory, packages, findings };
}

/**
 * Reports decided from registry facts, by the lockfile entry that stands for the version
 * (the editor keeps parsed package-lock, pnpm and Bun lockfiles per text, so the entry is
 * the same object while the lockfile is unchanged; yarn.lock is parsed again each time,
 * and node_modules evidence is never reused). Weak: a lockfile that is gone takes its
 * reports along.
 */
const reportMemo = new WeakMap<LockedPackage, { registryFacts: VersionFacts; report: PackageReport; generation: number | undefined }>();

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

interface GatheredEvidence {
  evidence: ScriptEvidence;
  registryFacts: VersionFacts | null;
  errorKind?: string;
}

/** The registry's evidence when the metadata source has it at hand, else null. */
function knownEvidence(pkg: LockedPackage, options: AuditOptions): GatheredEvidence | null {
  if (pkg.source !== 'registry' || !options.metadata?.known) return null;
  const result = options.metadata.known(pkg.name, pkg.version, pkg.integrity);
  return result ? registryEvidence(result) : null;
}

function registryEvidence(result: LookupResult | { ok: false; message: string }): GatheredEvidence {
  return result.ok
    ? { evidence: { registry: result.facts }, registryFacts: result.facts }
    : { evidence: { registryError: result.message }, registryFacts: null, errorKind: 'kind' in result ? result.kind : 'not-consulted' };
}

async function gatherEvidence(root: string, pkg: LockedPackage, options: AuditOptions, useInstalled: boolean): Promise<GatheredEvidence> {
  const none = { registryFacts: null };
  if (useInstalled) {
    const installed = await readInstalledManifest(root, pkg);
    if (installed) {
      const facts = options.alwaysConsultRegistry && pkg.source === 'registry' ? await lookupFacts(pkg, options) : null;
      return { evidence: { installed }, registryFacts: facts?.ok ? facts.facts : null };
    }
  }
  if (pkg.source === 'file' || pkg.source === 'link') {
    return { evidence: { local: await readLocalDependencyManifest(root, pkg) }, ...none };
  }
  if (pkg.source !== 'registry') return { evidence: {}, ...none };
  return registryEvidence(await lookupFacts(pkg, options));
}

async function lookupFacts(pkg: LockedPackage, options: AuditOptions): Promise<LookupResult | { ok: false; message: string }> {
  if (!options.metadata) return { ok: false, message: 'registry not consulted' };
  return options.metadata.lookup(pkg.name, pkg.version, pkg.integrity);
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

/** Findings that come from the facts alone; verdicts are policy/policyFindings'. */
function packageFindings(inventory: ProjectInventory, packages: PackageReport[]): Finding[] {
  const lockfile = inventory.lockfile;
  if (!lockfile) return [];
  const findings: Finding[] = [];
  for (const report of packages) {
    const { facts } = report;
    if (!facts.scripts?.prepare && facts.known) continue;
    const pkg = { name: report.name, version: report.version };
    const at = { location: packageLocation(inventory, report), related: declarations(inventory, report.name), package: pkg };
    if (facts.scripts?.prepare) {
      findings.push({
        code: 'git-prepare',
        severity: FINDING_CODES['git-prepare'].defaultSeverity,
        message: `${pkg.name}@${pkg.version} (${report.source}) is built from source at install time and runs prepare: ${facts.scripts.prepare}`,
        fix: 'Depend on a published registry version instead, or review the prepare script and pin the commit',
        ...at,
      });
    }
    if (!facts.known) {
      findings.push({
        code: 'install-script-unknown',
        severity: FINDING_CODES['install-script-unknown'].defaultSeverity,
        message: `${pkg.name}@${pkg.version}: install scripts unknown — ${facts.note ?? 'no evidence'}`,
        fix: report.source === 'registry' ? 'Check the registry settings and run the audit again' : null,
        ...at,
        data: { registryError: report.error, registryErrorKind: report.errorKind },
      });
    }
  }
  return findings;
}

/** Where a package's findings point: its first lockfile entry. */
export function packageLocation(inventory: ProjectInventory, report: PackageReport): FindingLocation {
  return { file: inventory.lockfile?.file ?? inventory.root, span: report.entries[0]?.span ?? null };
}

/** "install: node-gyp rebuild; postinstall: node install.js" */
export function describeScripts(facts: InstallScriptFacts): string {
  if (!facts.scripts) return facts.evidence === 'lockfile' ? '(commands unknown)' : 'nothing';
  return Object.entries(facts.scripts)
    .map(([hook, command]) => `${hook}: ${command}`)
    .join('; ');
}

/** The locked versions of `name` that the importer at `dir` depends on directly. */
export function directVersions(packages: readonly PackageReport[], dir: string, name: string): PackageReport[] {
  return packages.filter((p) => p.name === name && p.paths.some((path) => path[0] === dir && path.length === 2));
}

/** The package.json entries that declare a package (related locations of its findings). */
export function declarations(inventory: ProjectInventory, name: string): (FindingLocation & { message: string })[] {
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

/** Names whose evidence is gathered at once: well above any registry client's concurrency. */
const NAMES_IN_FLIGHT = 128;

const NO_DECISION: PolicyDecision = { verdict: 'none', rule: null, decidedBy: null, effect: null, explanation: 'no allowlist was evaluated' };
