/**
 * Exceptions in Install Guard's own policy file (install-guard.jsonc at the workspace
 * root): a package (optionally one exact version), a finding code, a reason and an expiry
 * date. Exceptions are meant to be visible, explained, time-bound and rare, so a request
 * without a reason or with a date already past is refused rather than written.
 *
 * The file is created when absent (no "$schema": the extension associates the schema by
 * file name); otherwise the exception is appended to "exceptions" with the same lossless
 * JSONC edits as the allowlists, so the user's comments and trailing commas stay.
 */
import npa from 'npm-package-arg';
import semver from 'semver';
import { basename } from 'node:path';
import { isIsoDate } from '../policyFile';
import { EditComposer, EditRefusedError } from './applyEdits';
import type { PolicyFix } from './allowlistEdits';
import { appendJsonItem, jsonArrayItems, parseJsonForEdit, removeJsonItem, setJsonProperty } from './jsonEdit';

export interface ExceptionRequest {
  package: string;
  /** Exact version; absent for every version of the package. */
  version?: string;
  /** The finding code it silences, e.g. "unreviewed-install-script". */
  code: string;
  reason: string;
  /** YYYY-MM-DD; the exception holds through that day (UTC). */
  expires: string;
}

/** Longer than this and the fix says so: an exception is a stopgap, not a policy. */
const LONG_EXCEPTION_DAYS = 366;

/** Why the request cannot become an exception, or null when it can. */
export function validateException(exception: ExceptionRequest, now: Date): string | null {
  if (!isPackageName(exception.package)) return `"${exception.package}" is not a package name`;
  if (exception.version !== undefined && semver.valid(exception.version) !== exception.version) {
    return `"${exception.version}" is not an exact version (like 1.2.3); leave the version out to cover every version`;
  }
  if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(exception.code)) return `"${exception.code}" is not a finding code (like unreviewed-install-script)`;
  if (exception.reason.trim() === '') return 'an exception needs a reason: say why the finding is accepted';
  if (!isIsoDate(exception.expires)) return `"${exception.expires}" is not a date like 2026-12-31`;
  const today = now.toISOString().slice(0, 10);
  if (exception.expires < today) return `${exception.expires} is in the past (today is ${today}); an exception must expire today or later`;
  return null;
}

export function addException(policyFileText: string | null, policyFilePath: string, exception: ExceptionRequest, now: Date): PolicyFix {
  const label = basename(policyFilePath);
  const subject = `${exception.package}${exception.version ? `@${exception.version}` : ''} (${exception.code})`;
  const title = `Add an exception for ${subject} until ${exception.expires} to ${label}`;
  const invalid = validateException(exception, now);
  if (invalid) return refused(title, invalid);
  const entry = {
    package: exception.package,
    ...(exception.version !== undefined ? { version: exception.version } : {}),
    code: exception.code,
    reason: exception.reason.trim(),
    expires: exception.expires,
  };
  const days = (Date.parse(`${exception.expires}T00:00:00Z`) - Date.parse(`${now.toISOString().slice(0, 10)}T00:00:00Z`)) / 86_400_000;
  const limitation = days > LONG_EXCEPTION_DAYS ? `The exception lasts ${Math.round(days)} days; exceptions are meant to be short-lived.` : null;

  if (policyFileText === null) {
    const text = `${JSON.stringify({ exceptions: [entry] }, null, 2)}\n`;
    return { title, edits: [{ file: policyFilePath, span: { start: 0, end: 0 }, newText: text }], preferred: false, limitation, status: 'edit', reason: null, createsFiles: [policyFilePath] };
  }
  try {
    parseJsonForEdit(policyFileText, label);
    const composer = new EditComposer(policyFileText);
    const items = jsonArrayItems(policyFileText, ['exceptions'], label);
    const index = (items ?? []).findIndex((item) => sameException(item.value, exception));
    if (index === -1) {
      composer.apply(items === undefined ? setJsonProperty(policyFileText, [], 'exceptions', [entry], label) : appendJsonItem(policyFileText, ['exceptions'], entry, label));
    } else {
      // The same package, version and code: renew it in place instead of adding a twin.
      for (const key of ['reason', 'expires'] as const) {
        const current = (items![index]!.value as Record<string, unknown>)[key];
        if (current !== entry[key]) composer.apply(setJsonProperty(composer.text, ['exceptions', index], key, entry[key], label));
      }
    }
    const edits = composer.result().map((e) => ({ file: policyFilePath, span: { start: e.start, end: e.end }, newText: e.newText }));
    return {
      title: index === -1 ? title : edits.length > 0 ? `Renew the exception for ${subject} until ${exception.expires} in ${label}` : `The exception for ${subject} until ${exception.expires} is already in ${label}`,
      edits,
      preferred: false,
      limitation,
      status: edits.length > 0 ? 'edit' : 'unchanged',
      reason: null,
      createsFiles: [],
    };
  } catch (error) {
    if (error instanceof EditRefusedError) return refused(title, error.message);
    throw error;
  }
}

/** Removes an exception (an expired one, or one no longer needed). */
export function removeException(policyFileText: string | null, policyFilePath: string, match: Pick<ExceptionRequest, 'package' | 'version' | 'code'>): PolicyFix {
  const label = basename(policyFilePath);
  const subject = `${match.package}${match.version ? `@${match.version}` : ''} (${match.code})`;
  const title = `Remove the exception for ${subject} from ${label}`;
  if (policyFileText === null) return { title, edits: [], preferred: false, limitation: null, status: 'unchanged', reason: null, createsFiles: [] };
  try {
    const items = jsonArrayItems(policyFileText, ['exceptions'], label) ?? [];
    const index = items.findIndex((item) => sameException(item.value, match));
    const edits = index === -1 ? [] : removeJsonItem(policyFileText, ['exceptions'], index, label).map((e) => ({ file: policyFilePath, span: { start: e.start, end: e.end }, newText: e.newText }));
    return { title, edits, preferred: false, limitation: null, status: edits.length > 0 ? 'edit' : 'unchanged', reason: null, createsFiles: [] };
  } catch (error) {
    if (error instanceof EditRefusedError) return refused(title, error.message);
    throw error;
  }
}

function refused(title: string, reason: string): PolicyFix {
  return { title: `${title}: cannot be written`, edits: [], preferred: false, limitation: reason, status: 'refused', reason, createsFiles: [] };
}

function sameException(value: unknown, exception: Pick<ExceptionRequest, 'package' | 'version' | 'code'>): boolean {
  if (!value || typeof value !== 'object') return false;
  const item = value as Record<string, unknown>;
  return item.package === exception.package && item.code === exception.code && (item.version ?? undefined) === (exception.version ?? undefined);
}

function isPackageName(name: string): boolean {
  try {
    const parsed = npa(name);
    return parsed.name === name && parsed.registry === true && (parsed.rawSpec === '' || parsed.rawSpec === '*');
  } catch {
    return false;
  }
}

