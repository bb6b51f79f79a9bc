/**
 * The last step of every audit: the project's own policy file adjusts the findings.
 * Severities are overridden (or a code turned off); an exception in force silences its
 * finding but keeps it visible as suppressed, with its reason; an expired exception is a
 * finding of its own, so exceptions stay time-bound.
 */
import { FINDING_CODES, type Finding } from '../analysis/findings';
import { exceptionInForce, type PolicyException, type PolicySettings } from './policyFile';

export interface SuppressedFinding {
  finding: Finding;
  exception: PolicyException;
}

export interface PolicyOutcome {
  findings: Finding[];
  suppressed: SuppressedFinding[];
}

export function applyPolicySettings(findings: Finding[], settings: PolicySettings, now: Date): PolicyOutcome {
  const active: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  const inForce = settings.exceptions.filter((e) => exceptionInForce(e, now));

  for (const finding of [...findings, ...expiredExceptionFindings(settings, now)]) {
    const exception = finding.package ? inForce.find((e) => covers(e, finding)) : undefined;
    if (exception) {
      suppressed.push({ finding, exception });
      continue;
    }
    const override = settings.severity[finding.code];
    if (override === 'off') continue;
    active.push(override ? { ...finding, severity: override } : finding);
  }
  return { findings: active, suppressed };
}

function covers(exception: PolicyException, finding: Finding): boolean {
  return (
    exception.code === finding.code &&
    exception.package === finding.package!.name &&
    (exception.version === null || exception.version === finding.package!.version)
  );
}

function expiredExceptionFindings(settings: PolicySettings, now: Date): Finding[] {
  if (!settings.file) return [];
  return settings.exceptions
    .filter((e) => !exceptionInForce(e, now))
    .map((e) => ({
      code: 'exception-expired' as const,
      severity: FINDING_CODES['exception-expired'].defaultSeverity,
      message: `The exception for ${e.package}${e.version ? `@${e.version}` : ''} (${e.code}) expired on ${e.expires}; it was: "${e.reason}"`,
      fix: 'Review the package again, then renew the exception with a new date or remove it',
      package: { name: e.package, version: e.version ?? '*' },
      location: { file: settings.file!, span: e.span },
      related: [],
    }));
}
