/**
 * Findings: what Install Guard reports, each with a stable code documented in the
 * README's "Finding codes" table (the LSP's codeDescription links to its anchor), a
 * severity the policy can override, a message that says what to do, and where.
 */
import type { Span } from '../model/inventory';

export type Severity = 'error' | 'warning' | 'info';

export interface FindingCodeInfo {
  defaultSeverity: Severity;
  /** One line for the README table and SARIF rule descriptions. */
  title: string;
}

export const FINDING_CODES = {
  'unreviewed-install-script': {
    defaultSeverity: 'warning',
    title: 'A locked package runs code at install time and no entry of the governing allowlist allows or denies it',
  },
  'denied-package': {
    defaultSeverity: 'info',
    title: 'A package the allowlist denies is locked: its install script will not run (check the package still works)',
  },
  'stale-allowlist-entry': {
    defaultSeverity: 'info',
    title: 'An allowlist entry matches no locked package that runs install scripts',
  },
  'pinned-version-not-locked': {
    defaultSeverity: 'warning',
    title: 'A pinned approval names only versions that are no longer locked: the locked version is unreviewed',
  },
  'exception-expired': {
    defaultSeverity: 'warning',
    title: 'An exception in install-guard.jsonc has expired: review the package again, then renew or remove it',
  },
  'git-prepare': {
    defaultSeverity: 'warning',
    title: 'A git, file or link dependency is built from source at install time, which runs its prepare script',
  },
  'install-script-unknown': {
    defaultSeverity: 'info',
    title: 'Whether a locked package runs install scripts could not be decided (registry error, offline cache miss, unreadable source)',
  },
  'file-problem': {
    defaultSeverity: 'error',
    title: 'A package.json, lockfile or workspace file could not be read; the rest of the project is still audited',
  },
} as const satisfies Record<string, FindingCodeInfo>;

export type FindingCode = keyof typeof FINDING_CODES;

export interface FindingLocation {
  /** Absolute path. */
  file: string;
  span: Span | null;
}

export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
  /** What to do about it, in one sentence; null when there is nothing to do here. */
  fix: string | null;
  package: { name: string; version: string } | null;
  location: FindingLocation;
  /** Other places that matter: the package.json entry of a direct dependency, ... */
  related: (FindingLocation & { message: string })[];
  /** What quick fixes need (kept in LSP diagnostic data), e.g. the locked source and paths. */
  data?: Record<string, unknown>;
}

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

export function atOrAbove(severity: Severity, threshold: Severity): boolean {
  return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold];
}

export function isSeverity(value: string): value is Severity {
  return value === 'error' || value === 'warning' || value === 'info';
}

/** The README anchor of a code, for LSP codeDescription and SARIF helpUri. */
export function findingDocsAnchor(code: FindingCode): string {
  return `#${code}`;
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    a.location.file.localeCompare(b.location.file) ||
    (a.location.span?.start ?? 0) - (b.location.span?.start ?? 0) ||
    a.code.localeCompare(b.code)
  );
}
