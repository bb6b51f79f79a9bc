/**
 * Install Guard's own policy file, `install-guard.jsonc` at the workspace root: what no
 * package manager expresses — severities per finding code, provenance requirements,
 * release age, the trust-downgrade rule, and exceptions that expire. pnpm projects may
 * state trustPolicy / minimumReleaseAge once, in pnpm-workspace.yaml or package.json
 * "pnpm"; our file only overrides what it sets itself.
 */
import { join } from 'node:path';
import { findNodeAtLocation, getNodeValue, parseTree, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { parse as parseYaml } from 'yaml';
import { FINDING_CODES, isSeverity, type FindingCode, type Severity } from '../analysis/findings';
import type { FileProblem, ProjectInventory, Span } from '../model/inventory';
import { describeSyntaxErrors, spanOf } from '../parse/packageJson';
import type { ReadText } from '../parse/project';

export const POLICY_FILE_NAME = 'install-guard.jsonc';

export type DowngradePolicy = 'off' | 'any' | 'same-major';

export interface PolicyException {
  package: string;
  /** Exact version it is limited to; null for every version. */
  version: string | null;
  code: string;
  reason: string;
  /** YYYY-MM-DD: the exception holds through that day (UTC). */
  expires: string;
  span: Span;
}

/** A setting and where it was stated, so a finding can say which file to change. */
export interface Sourced<T> {
  value: T;
  source: string;
}

export interface PolicySettings {
  /** Absolute path of install-guard.jsonc, or null when the project has none. */
  file: string | null;
  severity: Partial<Record<FindingCode, Severity | 'off'>>;
  /** true: every package; a list: name patterns ("@org/*", "sharp"); false: none. */
  requireProvenance: Sourced<true | false | string[]>;
  /** Minutes a version must have been published before it may be installed; 0 for none. */
  minimumReleaseAge: Sourced<number>;
  /** Names (or "@scope/*" patterns) the release-age rule does not apply to (pnpm's minimumReleaseAgeExclude). */
  minimumReleaseAgeExclude: string[];
  trustDowngrade: Sourced<DowngradePolicy>;
  /** Names the trust-downgrade rule does not apply to (pnpm's trustPolicyExclude). */
  trustDowngradeExclude: string[];
  exceptions: PolicyException[];
  problems: FileProblem[];
}

const DEFAULTS = 'Install Guard default';

export async function readPolicySettings(inventory: Pick<ProjectInventory, 'root' | 'manifests'>, readText: ReadText): Promise<PolicySettings> {
  const file = join(inventory.root, POLICY_FILE_NAME);
  const text = await readText(file);
  const settings: PolicySettings = {
    file: text === null ? null : file,
    severity: {},
    requireProvenance: { value: false, source: DEFAULTS },
    minimumReleaseAge: { value: 0, source: DEFAULTS },
    minimumReleaseAgeExclude: [],
    trustDowngrade: { value: 'off', source: DEFAULTS },
    trustDowngradeExclude: [],
    exceptions: [],
    problems: [],
  };
  await applyPnpmSettings(settings, inventory, readText);
  if (text !== null) applyPolicyFile(settings, file, text);
  return settings;
}

/** pnpm's trustPolicy / minimumReleaseAge, from pnpm-workspace.yaml, then package.json "pnpm". */
async function applyPnpmSettings(settings: PolicySettings, inventory: Pick<ProjectInventory, 'root' | 'manifests'>, readText: ReadText): Promise<void> {
  const sources: { source: string; values: Record<string, unknown> }[] = [];
  const rootPnpm = inventory.manifests.find((m) => m.dir === '.')?.json.pnpm;
  if (rootPnpm && typeof rootPnpm === 'object') sources.push({ source: 'package.json#pnpm', values: rootPnpm as Record<string, unknown> });
  const workspaceFile = join(inventory.root, 'pnpm-workspace.yaml');
  const workspaceText = await readText(workspaceFile);
  if (workspaceText !== null) {
    try {
      const values = parseYaml(workspaceText) as unknown;
      if (values && typeof values === 'object') sources.push({ source: 'pnpm-workspace.yaml', values: values as Record<string, unknown> });
    } catch {
      // project.ts already reports a pnpm-workspace.yaml that does not parse
    }
  }
  // Later sources win: pnpm reads pnpm-workspace.yaml over the package.json field.
  for (const { source, values } of sources) {
    if (values.trustPolicy === 'no-downgrade') settings.trustDowngrade = { value: 'any', source: `${source}#trustPolicy` };
    if (values.trustPolicy === 'off') settings.trustDowngrade = { value: 'off', source: `${source}#trustPolicy` };
    if (typeof values.minimumReleaseAge === 'number') settings.minimumReleaseAge = { value: values.minimumReleaseAge, source: `${source}#minimumReleaseAge` };
    if (isStringList(values.trustPolicyExclude)) settings.trustDowngradeExclude = values.trustPolicyExclude;
    if (isStringList(values.minimumReleaseAgeExclude)) settings.minimumReleaseAgeExclude = values.minimumReleaseAgeExclude;
  }
}

function applyPolicyFile(settings: PolicySettings, file: string, text: string): void {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true });
  settings.problems.push(...describeSyntaxErrors(file, text, errors));
  if (!root || root.type !== 'object') {
    if (root) settings.problems.push({ file, message: `${POLICY_FILE_NAME} must contain a JSON object`, span: spanOf(root) });
    return;
  }
  const problem = (node: JsonNode, message: string) => settings.problems.push({ file, message, span: spanOf(node) });
  const source = (key: string) => `${POLICY_FILE_NAME}#${key}`;

  const severity = findNodeAtLocation(root, ['severity']);
  for (const property of severity?.type === 'object' ? (severity.children ?? []) : []) {
    const [key, value] = property.children ?? [];
    if (!key || !value) continue;
    const code = key.value as string;
    const level = value.value;
    if (!(code in FINDING_CODES)) problem(key, `unknown finding code "${code}" (see the README's finding codes)`);
    else if (level !== 'off' && !(typeof level === 'string' && isSeverity(level))) problem(value, `severity must be "error", "warning", "info" or "off"`);
    else settings.severity[code as FindingCode] = level as Severity | 'off';
  }

  const provenance = findNodeAtLocation(root, ['requireProvenance']);
  if (provenance) {
    const value = getNodeValue(provenance) as unknown;
    if (typeof value === 'boolean' || isStringList(value)) settings.requireProvenance = { value, source: source('requireProvenance') };
    else problem(provenance, 'requireProvenance must be true, false or a list of package name patterns');
  }
  const age = findNodeAtLocation(root, ['minimumReleaseAge']);
  if (age) {
    if (typeof age.value === 'number' && age.value >= 0) settings.minimumReleaseAge = { value: age.value, source: source('minimumReleaseAge') };
    else problem(age, 'minimumReleaseAge must be a number of minutes (0 for none)');
  }
  const ageExclude = findNodeAtLocation(root, ['minimumReleaseAgeExclude']);
  if (ageExclude && isStringList(getNodeValue(ageExclude))) settings.minimumReleaseAgeExclude = getNodeValue(ageExclude) as string[];
  const downgrade = findNodeAtLocation(root, ['trustDowngrade']);
  if (downgrade) {
    if (downgrade.value === 'off' || downgrade.value === 'any' || downgrade.value === 'same-major') {
      settings.trustDowngrade = { value: downgrade.value, source: source('trustDowngrade') };
    } else problem(downgrade, 'trustDowngrade must be "off", "any" (any earlier version) or "same-major"');
  }
  const downgradeExclude = findNodeAtLocation(root, ['trustDowngradeExclude']);
  if (downgradeExclude && isStringList(getNodeValue(downgradeExclude))) settings.trustDowngradeExclude = getNodeValue(downgradeExclude) as string[];

  const exceptions = findNodeAtLocation(root, ['exceptions']);
  for (const item of exceptions?.type === 'array' ? (exceptions.children ?? []) : []) {
    const value = getNodeValue(item) as Record<string, unknown> | null;
    const missing = ['package', 'code', 'reason', 'expires'].filter((k) => typeof value?.[k] !== 'string' || value[k] === '');
    if (!value || typeof value !== 'object' || missing.length > 0) {
      problem(item, `an exception needs ${missing.map((k) => `"${k}"`).join(', ')}: exceptions are visible, explained and time-bound`);
      continue;
    }
    if (!isIsoDate(value.expires as string)) {
      problem(item, `"expires" must be a date like 2026-12-31, not "${String(value.expires)}"`);
      continue;
    }
    settings.exceptions.push({
      package: value.package as string,
      version: typeof value.version === 'string' ? value.version : null,
      code: value.code as string,
      reason: value.reason as string,
      expires: value.expires as string,
      span: spanOf(item),
    });
  }
}

/** True while the exception holds: through the whole `expires` day, UTC. */
export function exceptionInForce(exception: Pick<PolicyException, 'expires'>, now: Date): boolean {
  return now.getTime() < Date.parse(`${exception.expires}T00:00:00Z`) + 24 * 60 * 60 * 1000;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** A real calendar day written as YYYY-MM-DD (2026-02-30 is not one). */
export function isIsoDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const time = Date.parse(`${value}T00:00:00Z`);
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 10) === value;
}
