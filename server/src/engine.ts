/**
 * The engine's front door: one call that reads a project, reads npm's configuration for
 * it, consults the registry (through the caches) and audits. The CLI calls it; the
 * language server calls the same pieces with the texts of open editors.
 */
import { auditInventory, type AuditReport } from './analysis/audit';
import { loadProject, readTextFromDisk, type ReadText } from './parse/project';
import { describeConfig, redactUrl } from './registry/configDescribe';
import { defaultCacheDir } from './registry/factsCache';
import { MetadataClient, type MetadataStats } from './registry/metadataClient';
import { loadRegistryConfig } from './registry/npmConfig';

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
  env?: NodeJS.ProcessEnv;
  /** false for untrusted workspaces: the project's .npmrc may not redirect traffic or credentials. */
  trustProjectConfig?: boolean;
  readText?: ReadText;
  onProgress?: (done: number, total: number) => void;
}

export interface AuditRun {
  report: AuditReport;
  /** The default registry, credentials redacted. */
  registry: string;
  /** npm's configuration as it applied, secrets redacted. */
  configSummary: string;
  stats: MetadataStats;
  /** Texts read during the run, so presenters need not read files again. */
  fileText: (file: string) => string | null;
}

export async function runAudit(root: string, options: RunAuditOptions = {}): Promise<AuditRun> {
  const texts = new Map<string, string>();
  const baseRead = options.readText ?? readTextFromDisk;
  const readText: ReadText = async (path) => {
    const text = await baseRead(path);
    if (text !== null) texts.set(path, text);
    return text;
  };
  const inventory = await loadProject(root, readText);
  const config = await loadRegistryConfig({
    projectDir: root,
    env: options.env ?? process.env,
    ...(options.registry ? { registryOverride: options.registry } : {}),
    trustProjectConfig: options.trustProjectConfig ?? true,
  });
  for (const problem of config.problems) {
    inventory.problems.push({ file: problem.file ?? root, message: problem.message });
  }
  const client = new MetadataClient({
    config,
    cacheDir: options.cacheDir === undefined || options.cacheDir === null ? defaultCacheDir(options.env ?? process.env) : options.cacheDir,
    ...(options.offline !== undefined ? { offline: options.offline } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.retries !== undefined && options.retries !== null ? { retries: options.retries } : {}),
  });
  const report = await auditInventory(inventory, {
    metadata: client,
    useInstalled: options.useInstalled ?? true,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  await client.flush();
  return {
    report,
    registry: redactUrl(config.defaultRegistry),
    configSummary: describeConfig(config),
    stats: client.stats(),
    fileText: (file) => texts.get(file) ?? null,
  };
}
