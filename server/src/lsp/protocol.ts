/**
 * Everything the VS Code client and the language server say to each other beyond LSP:
 * custom requests, notifications, command ids and settings. Both sides import this one
 * module (it has no runtime dependencies, only types), so a rename cannot drift between them.
 */
import type { AllowlistTarget } from '../policy/edits/allowlistTarget';

export const SERVER_NAME = 'Install Guard';

/** Settings under `installGuard.*`; the server reads them through workspace/configuration. */
export interface InstallGuardSettings {
  enable: boolean;
  /** Registry URL that beats .npmrc; empty for npm's configuration. */
  registry: string;
  offline: boolean;
  inlayHints: boolean;
  /** Severity overrides per finding code ("off" hides a code); install-guard.jsonc wins. */
  severity: Record<string, 'error' | 'warning' | 'info' | 'off'>;
  /** Which allowlist quick fixes write: "auto" follows the package manager in use. */
  allowlistTarget: AllowlistTarget;
  /** Parallel registry requests. */
  networkConcurrency: number;
  /** Minutes kept publish histories and registry keys are used (per-version facts never expire). */
  cacheTtlMinutes: number;
  trace: { server: 'off' | 'messages' | 'verbose' };
}

export const DEFAULT_SETTINGS: InstallGuardSettings = {
  enable: true,
  registry: '',
  offline: false,
  inlayHints: true,
  severity: {},
  allowlistTarget: 'auto',
  networkConcurrency: 16,
  cacheTtlMinutes: 10080,
  trace: { server: 'off' },
};

/** Sent by the client at start: whether the workspace is trusted (VS Code Workspace Trust). */
export interface InitializationOptions {
  workspaceTrusted: boolean;
  /** Where the server keeps its metadata cache (the extension's global storage). */
  cacheDir: string | null;
}

/** Request: the full audit of one project, in the CLI's JSON format. */
export const AUDIT_REPORT_REQUEST = 'installGuard/auditReport';
export interface AuditReportParams {
  /** A file or folder URI inside the project; omitted: the first project. */
  uri?: string;
  format: 'json' | 'sarif' | 'markdown';
}
export interface AuditReportResult {
  /** The report text in the requested format. */
  text: string;
  root: string;
}

/** Request: forget every cached registry answer. */
export const CLEAR_CACHE_REQUEST = 'installGuard/clearCache';

export interface ApproveAllParams {
  /** A file or folder URI inside the project. */
  uri: string;
  /**
   * Only these (the ones the user ticked in "Approve Reviewed…"); omitted: every package
   * whose install script is unreviewed.
   */
  packages?: { name: string; version: string }[];
}

/** Notification from the server: the summary for the status bar, per project. */
export const STATUS_NOTIFICATION = 'installGuard/status';
export interface StatusParams {
  state: 'analysing' | 'ready' | 'error' | 'disabled';
  /** One line for the status bar text, plain words ("3 unreviewed"): the client adds the icons and escapes `$(`. */
  text: string;
  /** Tooltip lines: per project, counts and problems (registry outage, untrusted workspace). */
  details: string[];
  unreviewed: number;
  provenanceProblems: number;
  /** A registry outage or config problem, said once here instead of on every line. */
  registryProblem: string | null;
  /** Credentials from the workspace's own .npmrc were not used (untrusted workspace). */
  restrictedByTrust: boolean;
}

/** Commands contributed by the extension (palette category "Install Guard"). */
export const COMMANDS = {
  auditWorkspace: 'installGuard.auditWorkspace',
  runPreinstallCheck: 'installGuard.runPreinstallCheck',
  approveReviewed: 'installGuard.approveReviewed',
  clearCache: 'installGuard.clearMetadataCache',
  showOutput: 'installGuard.showOutput',
  /** The "add exception" code action runs this client command: it asks for reason and expiry. */
  addException: 'installGuard.addException',
} as const;

/** Commands the server executes (workspace/executeCommand); it answers with workspace/applyEdit. */
export const SERVER_COMMANDS = {
  /** AddExceptionArgs with reason and expires filled in. */
  addException: 'installGuard.server.addException',
  /** ApproveAllParams: allow every package whose install script is unreviewed. */
  approveAll: 'installGuard.server.approveAll',
  /** PackageDecisionArgs: allow the package's install script in the governing allowlist. */
  allow: 'installGuard.server.allow',
  /** PackageDecisionArgs: deny the package's install script in the governing allowlist. */
  deny: 'installGuard.server.deny',
} as const;

/** Arguments of SERVER_COMMANDS.allow / deny (the audit report view's row buttons). */
export interface PackageDecisionArgs {
  /** The project root, as AuditReportResult.root says it (an absolute path). */
  root: string;
  package: string;
  version: string | null;
  /** true: this exact version only (where the allowlist can express a pin); false: every version. */
  pinned: boolean;
}

/** Arguments of the addException commands: the client fills reason and expiry by asking the user. */
export interface AddExceptionArgs {
  root: string;
  package: string;
  version: string | null;
  code: string;
  reason?: string;
  expires?: string;
}
