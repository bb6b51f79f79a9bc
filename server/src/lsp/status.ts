/**
 * The workspace summary behind the status bar: per project, how many install scripts are
 * unreviewed and how many provenance problems there are; a registry outage or a
 * restriction by Workspace Trust is said here once, not on every line.
 */
import type { ProjectAnalysis } from '../engine';
import type { StatusParams } from './protocol';
import { runsInstallCode } from '../analysis/installScripts';
import type { AnalysisPhase } from './workspaceAnalyzer';

const PROVENANCE_CODES = new Set(['signature-invalid', 'signature-missing', 'provenance-invalid', 'provenance-required', 'repository-mismatch', 'trust-downgrade']);

interface ProjectStatus {
  state: 'analysing' | 'ready' | 'error';
  /** False until the first analysis of the project has been published. */
  hasResult: boolean;
  unreviewed: number;
  provenanceProblems: number;
  registryProblem: string | null;
  restrictedByTrust: boolean;
  detail: string;
}

export class StatusTracker {
  private readonly projects = new Map<string, ProjectStatus>();

  constructor(private readonly send: (params: StatusParams) => void) {}

  analysing(root: string): void {
    const previous = this.projects.get(root);
    this.projects.set(root, { ...(previous ?? empty(root)), state: 'analysing' });
    this.emit();
  }

  failed(root: string, message: string): void {
    this.projects.set(root, { ...empty(root), state: 'error', hasResult: true, detail: `${root}: analysis failed — ${message}` });
    this.emit();
  }

  update(root: string, analysis: ProjectAnalysis, phase: AnalysisPhase, registryProblem: string | null, restrictedByTrust: boolean): void {
    const { report } = analysis;
    const unreviewed = report.packages.filter((p) => p.policy.verdict === 'unreviewed').length;
    const provenanceProblems = report.findings.filter((f) => PROVENANCE_CODES.has(f.code)).length;
    const running = report.packages.filter((p) => runsInstallCode(p.facts)).length;
    const pm = report.inventory.packageManager;
    this.projects.set(root, {
      state: phase === 'local' ? 'analysing' : 'ready',
      hasResult: true,
      unreviewed,
      provenanceProblems,
      registryProblem,
      restrictedByTrust,
      detail:
        `${root} (${pm.name}${pm.version ? ` ${pm.version}` : ''}): ${report.packages.length} packages, ${running} run install scripts, ` +
        `${unreviewed} unreviewed${provenanceProblems ? `, ${provenanceProblems} provenance problems` : ''}${phase === 'local' ? ' — waiting for the registry' : ''}`,
    });
    this.emit();
  }

  private emit(): void {
    const all = [...this.projects.values()];
    const unreviewed = sum(all.map((p) => p.unreviewed));
    const provenanceProblems = sum(all.map((p) => p.provenanceProblems));
    const registryProblem = all.find((p) => p.registryProblem)?.registryProblem ?? null;
    const restrictedByTrust = all.some((p) => p.restrictedByTrust);
    const state = all.some((p) => p.state === 'error') ? 'error' : all.some((p) => p.state === 'analysing') ? 'analysing' : 'ready';
    // Before any result, counts of zero would claim a clean project.
    const parts = all.every((p) => !p.hasResult) ? ['analysing'] : [unreviewed === 0 ? 'no unreviewed scripts' : `${unreviewed} unreviewed`];
    if (provenanceProblems) parts.push(`${provenanceProblems} provenance`);
    const details = all.map((p) => p.detail);
    if (registryProblem) details.push(registryProblem);
    if (restrictedByTrust) details.push("Untrusted workspace: the workspace's own .npmrc may not choose registries or credentials; your user configuration is used");
    this.send({ state, text: parts.join(', '), details, unreviewed, provenanceProblems, registryProblem, restrictedByTrust });
  }
}

function empty(root: string): ProjectStatus {
  return { state: 'analysing', hasResult: false, unreviewed: 0, provenanceProblems: 0, registryProblem: null, restrictedByTrust: false, detail: `${root}: analysing…` };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
