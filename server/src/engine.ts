/**
 * The engine's front door. `analyzeProject` is the whole pipeline over one project —
 * inventory, install-script facts, the governing allowlist's verdicts, the install
 * environment, the project's own policy — with its I/O passed in, so the language server
 * runs it on the texts of open editors with a long-lived registry client. `runAudit` is
 * the CLI's one-shot form: it also reads npm's configuration and owns the caches.
 */
import { basename } from 'node:path';
import { auditInventory, declarations, type AuditReport } from './analysis/audit';
import { assessProvenance } from './analysis/provenance';
import { provenanceFindings, provenanceSummary } from './analysis/provenanceFindings';
import { versionKey } from './model/inventory';
import { compareFindings } from './analysis/findings';
import { checkEnvironment } from './policy/environment/environmentChecks';
import { applyPolicySettings, type SuppressedFinding } from './policy/applyPolicySettings';
import { readNativePolicy } from './policy/allowlists/nativeAllowlists';
import { readPolicySettings, type PolicySettings } from './policy/policyFile';
import type { NativePolicy } from './policy/types';
import { loadProject, LOCKFILE_KINDS, readTextFromDisk, type LockfileCache, type ReadText } from './parse/project';
import { describeConfig, redactUrl } from './registry/configDescribe';
import { defaultCacheDir } from './registry/cacheDir';
import { MetadataClient, type MetadataStats } from './registry/metadataClient';
import { RegistryKeyStore } from './registry/registryKeys';
import { loadRegistryConfig, type RegistryConfig } from './registry/npmConfig';

export interface AnalyzeDeps {
  readText: ReadText;
  config: RegistryConfig;
  metadata: MetadataClient | null;
  useInstalled?: boolean;
  now?: Date;
  onProgress?: (done: number, total: number) => void;
  /** Parsed lockfiles kept across analyses of the same project (the editor's). */
  lockfileCache?: LockfileCache;
  /** Registry signatures, provenance attestations, trust downgrades, release age; null: off. */
  provenance?: { tufRefresh: boolean; cacheDir: string | null; offline?: boolean; keys?: RegistryKeyStore } | null;
}

export interface ProjectAnalysis {
  /** The audit, with findings after the project's policy (severities, exceptions). */
  report: AuditReport;
  policy: NativePolicy;
  settings: PolicySettings;
  /** Findings silenced by an exception in force, each with the exception. */
  suppressed: SuppressedFinding[];
  /** One line like `npm audit signatures` prints; null when provenance was not assessed. */
  provenanceSummary: string | null;
}

export async function analyzeProject(root: string, deps: AnalyzeDeps): Promise<ProjectAnalysis> {
  const inventory = await loadProject(root, deps.readText, deps.lockfileCache);
  for (const problem of deps.config.problems) {
    inventory.problems.push({ file: problem.file ?? root, message: problem.message });
  }
  const [policy, settings] = await Promise.all([
    readNativePolicy(inventory, deps.config, deps.readText),
    readPolicySettings(inventory, deps.readText),
  ]);
  inventory.problems.push(...policy.problems, ...settings.problems);
  const report = await auditInventory(inventory, {
    metadata: deps.metadata,
    policy,
    useInstalled: deps.useInstalled ?? true,
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  });
  const provenanceSummary = await assessProvenanceInto(report, settings, deps);
  const environment = await checkEnvironment({
    root,
    packageManager: { name: policy.settings.manager, version: policy.settings.version },
    config: deps.config,
    readText: deps.readText,
  });
  const outcome = applyPolicySettings([...report.findings, ...environment], settings, deps.now ?? new Date());
  report.findings = outcome.findings.sort(compareFindings);
  return { report, policy, settings, suppressed: outcome.suppressed, provenanceSummary };
}

/** Provenance facts onto each registry package, and their findings onto the report. */
async function assessProvenanceInto(report: AuditReport, settings: PolicySettings, deps: AnalyzeDeps): Promise<string | null> {
  const lockfile = report.inventory.lockfile;
  if (!deps.provenance || !deps.metadata || !lockfile) return null;
  const now = deps.now ?? new Date();
  const minimumReleaseAgeMinutes = settings.minimumReleaseAge.value || null;
  const facts = await assessProvenance(report.packages, {
    config: deps.config,
    metadata: deps.metadata,
    cacheDir: deps.provenance.cacheDir,
    ...(deps.provenance.offline !== undefined ? { offline: deps.provenance.offline } : {}),
    ...(deps.provenance.keys ? { keys: deps.provenance.keys } : {}),
    options: { downgradePolicy: settings.trustDowngrade.value, minimumReleaseAgeMinutes, now, tufRefresh: deps.provenance.tufRefresh },
  });
  for (const pkg of report.packages) pkg.provenance = facts.get(versionKey(pkg.name, pkg.version)) ?? null;
  report.findings.push(
    ...provenanceFindings(report.packages, facts, {
      lockfile: lockfile.file,
      requireProvenance: settings.requireProvenance.value,
      minimumReleaseAgeMinutes,
      minimumReleaseAgeExclude: settings.minimumReleaseAgeExclude,
      trustDowngradeExclude: settings.trustDowngradeExclude,
      related: (name) => declarations(report.inventory, name),
    }),
  );
  return provenanceSummary(facts);
}

export interface RunAuditOptions {
  /** Registry URL that beats .npmrc (like `npm --registry`). */
  registry?: string | null;
  /** Metadata cache directory; null/undefined: the default (~/.cache/install-guard). */
  cacheDir?: string | null;
  offline?: boolean;
  useInstalled?: boolean;
  concurrency?: number | null;
  timeoutMs?: number | null;
  retries?: number | null;
  /** How long kept publish histories and registry keys are used; default a week. */
  cacheTtlMs?: number | null;
  env?: NodeJS.ProcessEnv;
  /** false for untrusted workspaces: the project's .npmrc may not redirect traffic or credentials. */
  trustProjectConfig?: boolean;
  readText?: ReadText;
  now?: Date;
  /** Verify registry signatures and provenance (default true). */
  provenance?: boolean;
  /** Refresh the Sigstore trusted root through TUF when the network allows (default true). */
  tufRefresh?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Called once, when the first packument request is about to be sent. */
  onFirstRegistryRequest?: () => void;
}

export interface AuditRun extends ProjectAnalysis {
  /** The default registry, credentials redacted. */
  registry: string;
  /** npm's configuration as it applied, secrets redacted. */
  configSummary: string;
  stats: MetadataStats;
  /**
   * Texts read during the run, so presenters need not read files again; null for a
   * lockfile, which is not kept (at 20k packages it is 10 MB held through the whole
   * audit): a presenter that needs its lines reads it again.
   */
  fileText: (file: string) => string | null;
}

const LOCKFILE_NAMES = new Set(LOCKFILE_KINDS.map((kind) => kind.file));

export async function runAudit(root: string, options: RunAuditOptions = {}): Promise<AuditRun> {
  const texts = new Map<string, string>();
  const baseRead = options.readText ?? readTextFromDisk;
  const readText: ReadText = async (path) => {
    const text = await baseRead(path);
    if (text !== null && !LOCKFILE_NAMES.has(basename(path))) texts.set(path, text);
    return text;
  };
  const env = options.env ?? process.env;
  const config = await loadRegistryConfig({
    projectDir: root,
    env,
    ...(options.registry ? { registryOverride: options.registry } : {}),
    trustProjectConfig: options.trustProjectConfig ?? true,
  });
  const provenanceOn = options.provenance !== false;
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  const ttlMs = options.cacheTtlMs ?? undefined;
  const metadata = new MetadataClient({
    config,
    cacheDir,
    keepPublishHistory: provenanceOn,
    // One run asks for every version of a name at once (the versions share the request in
    // flight) and keeps the facts and the publish history it needs, so a packument is not
    // needed again: keep none (a cold 20k audit held 800 MB of them at the editor's 256 MB
    // budget, counted from wire sizes, and still 90 MB more at 32 MB than at none).
    packumentCacheBytes: 0,
    ...(options.offline !== undefined ? { offline: options.offline } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.retries !== undefined && options.retries !== null ? { retries: options.retries } : {}),
    ...(ttlMs !== undefined ? { cacheTtlMs: ttlMs } : {}),
    ...(options.onFirstRegistryRequest ? { onFirstRequest: options.onFirstRegistryRequest } : {}),
  });
  const keys = provenanceOn
    ? new RegistryKeyStore({ config, offline: options.offline ?? config.offline, cacheDir, ...(ttlMs !== undefined ? { ttlMs } : {}) })
    : null;
  // The cache files are read while the lockfile is parsed, rather than waited for later.
  metadata.prepare().catch(() => undefined);
  keys?.preload();
  const analysis = await analyzeProject(root, {
    readText,
    config,
    metadata,
    useInstalled: options.useInstalled ?? true,
    provenance: keys
      ? {
          tufRefresh: options.tufRefresh ?? true,
          cacheDir,
          keys,
          ...(options.offline !== undefined ? { offline: options.offline } : {}),
        }
      : null,
    ...(options.now ? { now: options.now } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  await metadata.flush();
  return {
    ...analysis,
    registry: redactUrl(config.defaultRegistry),
    configSummary: describeConfig(config),
    stats: metadata.stats(),
    fileText: (file) => texts.get(file) ?? null,
  };
}
