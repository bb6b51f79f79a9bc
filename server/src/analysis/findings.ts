/**
 * Findings: what Install Guard reports, each with a stable code documented in the
 * README's "Finding codes" table (the LSP's codeDescription links to its anchor), a
 * severity the policy can override, a message that says what to do, and where.
 */
import { compareText, type Span } from '../model/inventory';

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
    title: 'An allowlist entry names a package that is no longer locked: it would silently approve it if it came back',
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
  'signature-invalid': {
    defaultSeverity: 'error',
    title: 'A registry signature does not verify, or was made with a key that had expired when the version was published',
  },
  'signature-missing': {
    defaultSeverity: 'error',
    title: 'The registry publishes signing keys but a locked version carries no signature by any of them',
  },
  'provenance-invalid': {
    defaultSeverity: 'error',
    title: 'A provenance attestation does not verify, is about another package or tarball, or contradicts its own certificate',
  },
  'provenance-required': {
    defaultSeverity: 'error',
    title: 'The policy requires verified provenance for a package that has none',
  },
  'repository-mismatch': {
    defaultSeverity: 'warning',
    title: 'Provenance says a package was built from another repository than its package.json names',
  },
  'trust-downgrade': {
    defaultSeverity: 'warning',
    title: 'A version was published with weaker trust evidence (trusted publisher, provenance) than an earlier-published one',
  },
  'release-too-young': {
    defaultSeverity: 'warning',
    title: 'A locked version was published more recently than the minimum release age',
  },
  'npmrc-scripts-enabled': {
    defaultSeverity: 'warning',
    title: 'The project does not switch dependency install scripts off (.npmrc ignore-scripts=true, .yarnrc.yml enableScripts: false) while its package manager runs them by default',
  },
  'npmrc-literal-token': {
    defaultSeverity: 'error',
    title: 'A literal registry credential (_authToken, _auth, _password, npmAuthToken) is written in the project .npmrc or .yarnrc.yml',
  },
  'ci-install-with-secrets': {
    defaultSeverity: 'warning',
    title: 'A CI step installs dependencies with install scripts enabled while secrets are in its environment',
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

/** Where the finding codes are documented: the README's table, one anchor per code. */
export const DOCS_URL = 'https://github.com/install-guard/install-guard';

/** The README section of a code, for LSP codeDescription and SARIF helpUri. */
export function findingDocsUrl(code: FindingCode): string {
  return `${DOCS_URL}#${code}`;
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    compareText(a.location.file, b.location.file) ||
    (a.location.span?.start ?? 0) - (b.location.span?.start ?? 0) ||
    compareText(a.code, b.code)
  );
}
