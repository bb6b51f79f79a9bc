/**
 * Yarn's counterparts of the `.npmrc` checks. Yarn Berry never reads `.npmrc`: its switch
 * is `enableScripts: false` in `.yarnrc.yml` and its credentials are `npmAuthToken` /
 * `npmAuthIdent` (top level, per scope, per registry) in the same file. Yarn classic reads
 * `ignore-scripts true` (or `--ignore-scripts true`) from `.yarnrc`, in the lockfile syntax.
 */
import { parse as parseYarnClassicFile } from '@yarnpkg/lockfile';
import { isScalar, parseDocument, Scalar, type Document } from 'yaml';
import type { Finding } from '../../analysis/findings';
import type { Span } from '../../model/inventory';
import { deref, mapEntries, mapGet } from './yamlSourceMap';
import {
  environmentFinding,
  redactSecret,
  scriptsSwitchFix,
  scriptsSwitchVerdict,
  trackingPhrase,
  type GitTracking,
  type PackageManagerInfo,
  type ProjectScriptSettings,
} from './npmrcChecks';

/** `.yarnrc` (Yarn classic): true/false when it sets ignore-scripts, null when not or unreadable. */
export function yarnrcClassicIgnoreScripts(text: string): boolean | null {
  let parsed: { object: Record<string, unknown> };
  try {
    parsed = parseYarnClassicFile(text);
  } catch {
    return null;
  }
  const value = parsed.object['ignore-scripts'] ?? parsed.object['--ignore-scripts'];
  if (value === undefined) return null;
  return !(value === false || value === 'false' || value === 0 || value === '0');
}

export interface YarnrcYml {
  doc: Document | null;
  enableScripts: { value: boolean; span: Span | null } | null;
  /** Parse errors; the file is not read further when there are any. */
  errors: { message: string; span: Span }[];
}

/** Yarn's boolean settings: true/1 and false/0, as booleans or strings. */
function yarnBoolean(value: unknown): boolean | null {
  if (value === true || value === 'true' || value === 1 || value === '1') return true;
  if (value === false || value === 'false' || value === 0 || value === '0') return false;
  return null;
}

export function readYarnrcYml(text: string): YarnrcYml {
  const doc = parseDocument(text, { keepSourceTokens: true, prettyErrors: false });
  if (doc.errors.length) {
    return { doc: null, enableScripts: null, errors: doc.errors.map((e) => ({ message: e.message, span: { start: e.pos[0], end: e.pos[1] } })) };
  }
  const node = mapGet(doc, doc.contents, 'enableScripts');
  const value = isScalar(node) ? yarnBoolean(node.value) : null;
  return {
    doc,
    enableScripts: value === null ? null : { value, span: node?.range ? { start: node.range[0], end: node.range[1] } : null },
    errors: [],
  };
}

/** Yarn's `${NAME}` / `${NAME:-default}` references only, so no secret is written in the file. */
function onlyYarnEnvReferences(value: string): boolean {
  return value.trim() !== '' && value.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(:?-[^}]*)?\}/g, '').trim() === '';
}

/** The characters of a scalar's value in the file (inside quotes). */
function valueSpan(node: Scalar): Span | null {
  if (!node.range) return null;
  const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE;
  return quoted ? { start: node.range[0] + 1, end: node.range[1] - 1 } : { start: node.range[0], end: node.range[1] };
}

export function yarnLiteralTokenFindings(file: string, yarnrc: YarnrcYml, tracking: GitTracking): Finding[] {
  const doc = yarnrc.doc;
  if (!doc) return [];
  const findings: Finding[] = [];
  const inspect = (owner: unknown, path: string): void => {
    for (const { key, value } of mapEntries(doc, owner)) {
      if (key !== 'npmAuthToken' && key !== 'npmAuthIdent') continue;
      if (!isScalar(value) || typeof value.value !== 'string' || !value.value.trim() || onlyYarnEnvReferences(value.value)) continue;
      const kind = key === 'npmAuthToken' ? 'token' : 'basic auth (user:password)';
      const variable = key === 'npmAuthToken' ? 'NPM_TOKEN' : 'NPM_AUTH_IDENT';
      findings.push(
        environmentFinding(
          'npmrc-literal-token',
          { file, span: valueSpan(value) },
          `"${path}${key}" in .yarnrc.yml holds a literal ${kind} (${redactSecret(value.value, kind)}); ${trackingPhrase('.yarnrc.yml', tracking)}, so anyone with the repository and every install script can read it.`,
          tracking === 'untracked'
            ? `Keep it out of the project: move it to your home ~/.yarnrc.yml or write the value as \${${variable}}.`
            : `Write the value as \${${variable}}, set ${variable} in the environment or CI secrets, and revoke this credential: it stays in the git history.`,
          [],
          tracking === 'untracked' ? 'warning' : 'error',
        ),
      );
    }
  };
  inspect(doc.contents, '');
  for (const group of ['npmScopes', 'npmRegistries']) {
    for (const { key, value } of mapEntries(doc, mapGet(doc, doc.contents, group))) inspect(deref(doc, value), `${group}.${key}.`);
  }
  return findings;
}

export interface YarnrcYmlContext {
  packageManager: PackageManagerInfo;
  tracking: GitTracking;
  /** The other project files' settings; this file's own are read from `text`. */
  settings?: Omit<ProjectScriptSettings, 'yarnEnableScripts' | 'hasYarnrcYml'>;
}

/** Every finding for `.yarnrc.yml`, from its text alone: literal credentials, scripts left on under Yarn Berry. */
export function checkYarnrcYmlText(file: string, text: string, context: YarnrcYmlContext): Finding[] {
  const yarnrc = readYarnrcYml(text);
  if (yarnrc.errors.length) {
    const first = yarnrc.errors[0]!;
    return [environmentFinding('file-problem', { file, span: first.span }, `.yarnrc.yml is not valid YAML: ${first.message}`, 'Fix the YAML syntax; Yarn refuses to run with this file.')];
  }
  const findings = yarnLiteralTokenFindings(file, yarnrc, context.tracking);
  const settings: ProjectScriptSettings = {
    npmrcIgnoreScripts: null,
    yarnrcIgnoreScripts: null,
    ...context.settings,
    yarnEnableScripts: yarnrc.enableScripts,
    hasYarnrcYml: true,
  };
  const verdict = scriptsSwitchVerdict(context.packageManager, settings, null);
  if (verdict && verdict.file === '.yarnrc.yml') {
    findings.push(environmentFinding('npmrc-scripts-enabled', { file, span: verdict.explicitOn }, verdict.message, scriptsSwitchFix(verdict)));
  }
  return findings;
}
