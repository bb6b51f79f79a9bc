/**
 * Keeps every project of the workspace analysed while the user edits: a change to any
 * file a project depends on (package.json, lockfile, .npmrc, pnpm-workspace.yaml,
 * install-guard.jsonc, CI workflows) schedules that project again, debounced; a newer
 * change supersedes older work, whose result is dropped; lockfiles are parsed once per
 * text; the registry client (and its caches) lives as long as the project's npm
 * configuration does. When the registry is slow, a first result from local evidence only
 * is published and replaced when the registry has answered.
 */
import { analyzeProject, type ProjectAnalysis } from '../engine';
import type { LockfileCache, ReadText } from '../parse/project';
import { defaultCacheDir } from '../registry/cacheDir';
import { MetadataClient } from '../registry/metadataClient';
import { RegistryKeyStore } from '../registry/registryKeys';
import { loadRegistryConfig, type RegistryConfig } from '../registry/npmConfig';
import type { InstallGuardSettings } from './protocol';
import { findProjectRoot, isRelevantFile } from './projectRoots';

/**
 * Between a change and its analysis. Short: a warm re-analysis after a package.json edit
 * takes ~15 ms (npm run bench), and a change during a run queues exactly one more, so a
 * burst of keystrokes costs at most two analyses, not one each.
 */
export const DEFAULT_DEBOUNCE_MS = 10;

export interface AnalyzerRuntime {
  /** Open editors' text over the disk. */
  readText: ReadText;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  env: NodeJS.ProcessEnv;
  log(message: string): void;
}

export interface AnalyzerOptions {
  settings: InstallGuardSettings;
  /** VS Code Workspace Trust: untrusted projects' .npmrc may not redirect traffic or credentials. */
  trusted: boolean;
  cacheDir: string | null;
  /** Debounce between a change and its analysis. */
  debounceMs?: number;
  /** How long the registry may take before a local-evidence result is published first. */
  localFirstAfterMs?: number;
}

/** "local": from the lockfile and node_modules only, while the registry is still answering. */
export type AnalysisPhase = 'local' | 'final';

export interface AnalyzerListener {
  onAnalysis(root: string, analysis: ProjectAnalysis, phase: AnalysisPhase): void;
  onStarted(root: string): void;
  onFailed(root: string, error: Error): void;
}

interface ProjectState {
  root: string;
  config: RegistryConfig | null;
  metadata: MetadataClient | null;
  /** The registry's signing keys, asked once for as long as the registry client lives. */
  keys: RegistryKeyStore | null;
  /** Bumped with every reset of `config`, so a load that began before the reset is not kept. */
  configEpoch: number;
  lockfileCache: LockfileCache;
  timer: unknown;
  /** Bumped by every change: a run whose generation is stale publishes nothing. */
  generation: number;
  running: Promise<void> | null;
  rerun: boolean;
  latest: ProjectAnalysis | null;
}

export class WorkspaceAnalyzer {
  private readonly projects = new Map<string, ProjectState>();
  private readonly rootOfFile = new Map<string, string | null>();
  private folders: string[] = [];
  private disposed = false;

  constructor(
    private readonly runtime: AnalyzerRuntime,
    private options: AnalyzerOptions,
    private readonly listener: AnalyzerListener,
  ) {}

  setWorkspaceFolders(folders: string[]): void {
    this.folders = folders;
    this.rootOfFile.clear();
  }

  get settings(): InstallGuardSettings {
    return this.options.settings;
  }

  get trusted(): boolean {
    return this.options.trusted;
  }

  /** New settings or trust: every project reloads its npm configuration and runs again. */
  reconfigure(options: Partial<AnalyzerOptions>): void {
    this.options = { ...this.options, ...options };
    for (const project of this.projects.values()) {
      project.config = null;
      project.metadata = null;
      project.configEpoch++;
      this.schedule(project.root);
    }
  }

  async rootFor(file: string): Promise<string | null> {
    if (!this.rootOfFile.has(file)) {
      this.rootOfFile.set(file, await findProjectRoot(file, this.folders, this.runtime.readText));
    }
    return this.rootOfFile.get(file) ?? null;
  }

  /** The latest analysis of the project a file belongs to. */
  async analysisFor(file: string): Promise<{ root: string; analysis: ProjectAnalysis } | null> {
    const root = await this.rootFor(file);
    if (!root) return null;
    const analysis = this.projects.get(root)?.latest ?? (await this.analyzeNow(root));
    return analysis ? { root, analysis } : null;
  }

  /** A file was opened, changed or saved: re-analyse every project it matters to. */
  async fileChanged(file: string): Promise<void> {
    // Installed packages' own package.json files are evidence, not project files.
    if (file.includes('/node_modules/') || file.includes('\\node_modules\\')) return;
    const base = file.slice(file.lastIndexOf('/') + 1);
    if (base === 'package.json' || base === 'pnpm-workspace.yaml') this.rootOfFile.clear();
    const root = await this.rootFor(file);
    const roots = new Set([...this.projects.keys()].filter((r) => isRelevantFile(r, file)));
    if (root) roots.add(root);
    for (const r of roots) {
      const project = this.project(r);
      if (base === '.npmrc') {
        project.config = null;
        project.metadata = null;
        project.configEpoch++;
      }
      this.schedule(r);
    }
  }

  /** Runs now (no debounce) and returns the final analysis; null when superseded or failed. */
  async analyzeNow(root: string): Promise<ProjectAnalysis | null> {
    const project = this.project(root);
    project.generation++;
    // A change still waiting for its debounce would supersede this run's result: fold it in.
    for (;;) {
      if (project.timer !== null) {
        this.runtime.clearTimeout(project.timer);
        project.timer = null;
      }
      await this.run(project);
      if (project.timer === null && !project.running) return project.latest;
    }
  }

  latest(root: string): ProjectAnalysis | null {
    return this.projects.get(root)?.latest ?? null;
  }

  roots(): string[] {
    return [...this.projects.keys()];
  }

  /**
   * The project's registry client, whose packuments and publish histories the analysis
   * already holds: "pin a safe version" judges other versions of a package from them.
   */
  async metadataFor(root: string): Promise<MetadataClient | null> {
    return (await this.registryFor(this.project(root))).metadata;
  }

  async clearCache(): Promise<void> {
    for (const project of this.projects.values()) {
      await project.metadata?.clearCache();
      await project.keys?.clear();
    }
    for (const project of this.projects.values()) {
      project.metadata = null;
      this.schedule(project.root);
    }
  }

  /** Shutdown: pending work is dropped and nothing more is published. */
  dispose(): void {
    this.disposed = true;
    for (const project of this.projects.values()) {
      if (project.timer !== null) this.runtime.clearTimeout(project.timer);
      project.timer = null;
      project.generation++;
    }
  }

  schedule(root: string): void {
    if (this.disposed) return;
    const project = this.project(root);
    project.generation++;
    if (project.timer !== null) this.runtime.clearTimeout(project.timer);
    project.timer = this.runtime.setTimeout(() => {
      project.timer = null;
      void this.run(project);
    }, this.options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  }

  private project(root: string): ProjectState {
    let project = this.projects.get(root);
    if (!project) {
      project = { root, config: null, metadata: null, keys: null, configEpoch: 0, lockfileCache: new Map(), timer: null, generation: 0, running: null, rerun: false, latest: null };
      this.projects.set(root, project);
    }
    return project;
  }

  /**
   * One run at a time per project; a change during a run queues exactly one more. The
   * promise covers the queued runs too, so awaiting it yields the newest result.
   */
  private run(project: ProjectState): Promise<void> {
    if (project.running) {
      project.rerun = true;
      return project.running;
    }
    project.running = (async () => {
      do {
        project.rerun = false;
        await this.analyze(project);
      } while (project.rerun);
    })().finally(() => {
      project.running = null;
    });
    return project.running;
  }

  private async analyze(project: ProjectState): Promise<void> {
    const generation = project.generation;
    const current = () => generation === project.generation && !this.disposed;
    this.listener.onStarted(project.root);
    try {
      const { config, metadata, keys } = await this.registryFor(project);
      const cacheDir = this.options.cacheDir ?? defaultCacheDir(this.runtime.env);
      const deps = {
        readText: this.runtime.readText,
        config,
        lockfileCache: project.lockfileCache,
        provenance: { tufRefresh: true, cacheDir, offline: this.options.settings.offline, ...(keys ? { keys } : {}) },
      };
      let finalDone = false;
      // The registry may be slow or down: show what local evidence says meanwhile.
      const localTimer = this.runtime.setTimeout(() => {
        if (finalDone) return;
        void analyzeProject(project.root, { ...deps, metadata: null, provenance: null }).then(
          (local) => {
            if (!finalDone && current()) this.listener.onAnalysis(project.root, local, 'local');
          },
          () => undefined,
        );
      }, this.options.localFirstAfterMs ?? 400);
      const analysis = await analyzeProject(project.root, { ...deps, metadata });
      finalDone = true;
      this.runtime.clearTimeout(localTimer);
      void metadata?.flush().catch((error: Error) => this.runtime.log(`cache flush failed: ${error.message}`));
      if (!current()) return;
      project.latest = analysis;
      this.listener.onAnalysis(project.root, analysis, 'final');
    } catch (error) {
      this.runtime.log(`analysis of ${project.root} failed: ${(error as Error).stack ?? error}`);
      if (current()) this.listener.onFailed(project.root, error as Error);
    }
  }

  private async registryFor(project: ProjectState): Promise<{ config: RegistryConfig; metadata: MetadataClient | null; keys: RegistryKeyStore | null }> {
    if (!project.config) {
      const epoch = project.configEpoch;
      const { settings, trusted } = this.options;
      const config = await loadRegistryConfig({
        projectDir: project.root,
        env: this.runtime.env,
        ...(settings.registry ? { registryOverride: settings.registry } : {}),
        trustProjectConfig: trusted,
      });
      // Settings, trust or .npmrc changed while npm's configuration was read (the first
      // workspace/configuration answer arrives while the first run is here): this run is
      // superseded (every reset schedules a new one), so keep nothing it read, or the next
      // run would reuse the old registry.
      if (epoch !== project.configEpoch) return { config, metadata: null, keys: null };
      project.config = config;
      project.metadata = null;
    }
    const { settings } = this.options;
    if (!project.metadata) {
      const offline = settings.offline || project.config.offline;
      const cacheDir = this.options.cacheDir ?? defaultCacheDir(this.runtime.env);
      project.metadata = new MetadataClient({
        config: project.config,
        cacheDir,
        offline,
        concurrency: settings.networkConcurrency,
        keepPublishHistory: true,
        cacheTtlMs: settings.cacheTtlMinutes * 60_000,
      });
      // Not per analysis: a keys request on every keystroke would sit on the critical path.
      project.keys = new RegistryKeyStore({ config: project.config, offline, cacheDir, ttlMs: settings.cacheTtlMinutes * 60_000 });
    }
    return { config: project.config, metadata: project.metadata, keys: project.keys };
  }
}
