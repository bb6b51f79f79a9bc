/**
 * The project `.npmrc` as an install environment: does it switch dependency scripts off
 * (for the package managers that read it and run scripts by default), and does it hold a
 * literal credential that git, teammates and every install script can read.
 *
 * npm's own loader (registry/npmConfig.ts) says what the values mean but not where they
 * are; a finding needs the exact line and the exact characters of a token. So this file
 * scans the raw text with the rules of `ini` (the parser npm uses): lines split on CR/LF,
 * `;`/`#` comment lines, `[section]` headers, the key is everything before the first `=`,
 * a value in matching quotes is taken whole, otherwise it ends at the first unescaped `;`
 * or `#`. Booleans then follow @npmcli/config: `key` or `key=` alone is true, `false`,
 * `null`, `0` are false, any other string is true.
 */
import semver from 'semver';
import { FINDING_CODES, type Finding, type FindingCode, type FindingLocation, type Severity } from '../../analysis/findings';
import type { PackageManagerName, Span } from '../../model/inventory';
import type { RegistryConfig } from '../../registry/npmConfig';
import { YARN_SCRIPTS_OFF_SINCE } from '../allowlists/toolVersion';

export interface PackageManagerInfo {
  name: PackageManagerName;
  version: string | null;
}

/** Whether git tracks a file: a committed secret is in the history, an untracked one is not (yet). */
export type GitTracking = 'committed' | 'untracked' | 'unknown';

export interface NpmrcEntry {
  /** The key as npm reads it (quotes and inline comment removed). */
  key: string;
  /** The `[section]` above the entry; npm does not use sectioned keys. */
  section: string | null;
  /** The value as `ini` reads it; true for a key with no `=`. */
  value: string | true;
  keySpan: Span;
  /** The value's characters as written, inside quotes, without spaces or a trailing comment. */
  valueSpan: Span | null;
}

interface Unsafe {
  value: string;
  span: Span;
}

/** `ini`'s `unsafe()`, keeping where the resulting characters are. */
function unsafe(raw: string, offset: number): Unsafe {
  const lead = raw.length - raw.trimStart().length;
  const trimmed = raw.trim();
  const start = offset + lead;
  const quoted = trimmed.length >= 2 && /^(".*"|'.*')$/s.test(trimmed);
  if (quoted) {
    const inner = trimmed.slice(1, -1);
    let value = trimmed[0] === "'" ? inner : trimmed;
    try {
      value = String(JSON.parse(value));
    } catch {
      // `ini` keeps the text as it was when JSON.parse fails.
    }
    return { value, span: { start: start + 1, end: start + trimmed.length - 1 } };
  }
  let escaped = false;
  let out = '';
  let stop = trimmed.length;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i]!;
    if (escaped) {
      out += '\\;#'.includes(c) ? c : `\\${c}`;
      escaped = false;
    } else if (c === ';' || c === '#') {
      stop = i;
      break;
    } else if (c === '\\') {
      escaped = true;
    } else {
      out += c;
    }
  }
  if (escaped) out += '\\';
  const kept = trimmed.slice(0, stop).trimEnd();
  return { value: out.trim(), span: { start, end: start + kept.length } };
}

export function scanNpmrc(text: string): NpmrcEntry[] {
  const entries: NpmrcEntry[] = [];
  let section: string | null = null;
  for (const match of text.matchAll(/[^\r\n]+/g)) {
    const line = match[0];
    const at = match.index!;
    if (/^\s*[;#]/.test(line) || /^\s*$/.test(line)) continue;
    const header = /^\[([^\]]*)\]\s*$/.exec(line);
    if (header) {
      section = unsafe(header[1]!, at + 1).value;
      continue;
    }
    const eq = line.indexOf('=');
    const key = unsafe(eq < 0 ? line : line.slice(0, eq), at);
    if (!key.value) continue;
    const value = eq < 0 ? null : unsafe(line.slice(eq + 1), at + eq + 1);
    entries.push({ key: key.value, section, value: value ? value.value : true, keySpan: key.span, valueSpan: value?.span ?? null });
  }
  return entries;
}

/** npm's `${VAR}` / `${VAR?}` references (an odd number of backslashes before `$` escapes one). */
const ENV_REFERENCE = /(?<!\\)(\\*)\$\{([^${}?]+)(\?)?\}/g;

/** True when the value is nothing but environment references, so no secret is written here. */
export function onlyEnvReferences(value: string): boolean {
  const rest = value.replace(ENV_REFERENCE, (whole, escapes: string) => (escapes.length % 2 ? whole : ''));
  return rest.trim() === '' && value.trim() !== '';
}

/** How npm reads a boolean config value from a file (ini, then @npmcli/config, then nopt). */
export function npmBoolean(value: string | true): boolean | 'env' {
  if (value === true) return true;
  const text = value.trim();
  if (text === '' || text === 'true') return true;
  if (text === 'false' || text === 'null' || text === 'undefined') return false;
  if (/\$\{[^}]+\}/.test(text)) return 'env';
  if (!isNaN(Number(text))) return Number(text) !== 0;
  return true;
}

const CREDENTIAL_KEYS = new Map([
  ['_authtoken', 'token'],
  ['-authtoken', 'token'],
  ['_auth', 'basic auth (base64 user:password)'],
  ['_password', 'password'],
]);

/** A value shown in a message: a well-known token prefix and at most the last 4 characters of a long token. */
export function redactSecret(value: string, kind: string): string {
  if (kind !== 'token') return '…';
  const prefix = /^(npm_|glpat-|ghp_|gho_|ghs_|github_pat_|AKCp)/.exec(value)?.[0] ?? '';
  return value.length >= 20 ? `${prefix}…${value.slice(-4)}` : `${prefix}…`;
}

export function environmentFinding(
  code: FindingCode,
  location: FindingLocation,
  message: string,
  fix: string | null,
  related: Finding['related'] = [],
  severity: Severity = FINDING_CODES[code].defaultSeverity,
): Finding {
  return { code, severity, message, fix, package: null, location, related };
}

export function trackingPhrase(file: string, tracking: GitTracking): string {
  if (tracking === 'committed') return `${file} is committed to git`;
  if (tracking === 'untracked') return `${file} is present in the working tree (not committed)`;
  return `${file} is present in the project`;
}

/** Literal credentials in a project `.npmrc`, each pointing at the characters of the secret. */
export function literalTokenFindings(file: string, text: string, tracking: GitTracking): Finding[] {
  const findings: Finding[] = [];
  for (const entry of scanNpmrc(text)) {
    const suffix = (entry.key.startsWith('//') ? entry.key.slice(entry.key.lastIndexOf(':') + 1) : entry.key).toLowerCase();
    const kind = CREDENTIAL_KEYS.get(suffix);
    if (!kind || entry.value === true || entry.value.trim() === '' || onlyEnvReferences(entry.value)) continue;
    const variable = suffix.includes('token') ? 'NPM_TOKEN' : suffix === '_auth' ? 'NPM_AUTH' : 'NPM_PASSWORD';
    const where = trackingPhrase('.npmrc', tracking);
    const fix =
      tracking === 'untracked'
        ? `Keep it out of the project: move it to your user ~/.npmrc or write the value as \${${variable}} and set ${variable} in the environment.`
        : `Write the value as \${${variable}}, set ${variable} in the environment or CI secrets, and revoke this ${kind === 'token' ? 'token' : 'credential'}: it stays in the git history.`;
    findings.push(
      environmentFinding(
        'npmrc-literal-token',
        { file, span: entry.valueSpan },
        `"${entry.key}" in .npmrc holds a literal ${kind} (${redactSecret(entry.value, kind)}); ${where}, so anyone with the repository and every install script can read it.`,
        fix,
        [],
        tracking === 'untracked' ? 'warning' : FINDING_CODES['npmrc-literal-token'].defaultSeverity,
      ),
    );
  }
  return findings;
}

/** Project-level switches that turn dependency scripts off, as read from the project's own files. */
export interface ProjectScriptSettings {
  /** The last `ignore-scripts` entry of the project `.npmrc` (npm, pnpm). */
  npmrcIgnoreScripts: { value: boolean | 'env'; entry: NpmrcEntry } | null;
  /** Yarn classic `.yarnrc`: `ignore-scripts true` or `--ignore-scripts true`. */
  yarnrcIgnoreScripts: boolean | null;
  /** Yarn Berry `.yarnrc.yml` `enableScripts`. */
  yarnEnableScripts: { value: boolean; span: Span | null } | null;
  /** A `.yarnrc.yml` exists: the project uses Yarn Berry when the version is not known. */
  hasYarnrcYml: boolean;
}

export function npmrcScriptsSetting(text: string): ProjectScriptSettings['npmrcIgnoreScripts'] {
  const entry = scanNpmrc(text).filter((e) => e.key === 'ignore-scripts' && e.section === null).pop();
  return entry ? { value: npmBoolean(entry.value), entry } : null;
}

/** How a package manager treats dependency scripts, and the file a project uses to switch them off. */
export type ScriptsFlavour = 'npm' | 'pnpm' | 'yarn-classic' | 'yarn-berry' | 'bun';

export function majorOf(version: string | null): number | null {
  const match = /^\D*(\d+)/.exec(version ?? '');
  return match ? Number(match[1]) : null;
}

/**
 * Whether the tool runs dependency scripts unless told not to. An unknown version is taken
 * as the current release line: npm 11 (runs them), pnpm 10 (blocks them), Yarn 4 when a
 * .yarnrc.yml exists (runs them), Bun (blocks all but trusted ones).
 */
export function scriptsFlavour(pm: PackageManagerInfo, hasYarnrcYml: boolean): { flavour: ScriptsFlavour; runsByDefault: boolean; label: string } {
  const major = majorOf(pm.version);
  const label = pm.version ? `${pm.name} ${pm.version}` : pm.name;
  switch (pm.name) {
    case 'npm':
      return { flavour: 'npm', runsByDefault: (major ?? 11) < 12, label };
    case 'pnpm':
      return { flavour: 'pnpm', runsByDefault: (major ?? 10) < 10, label };
    case 'yarn': {
      const berry = major !== null ? major >= 2 : hasYarnrcYml;
      // Yarn 4.14 stopped running dependency scripts by default (enableScripts: false);
      // an unknown Berry version is taken as the current release, as the allowlist reader does.
      const runsByDefault = !berry || (pm.version !== null && semver.valid(semver.coerce(pm.version)) !== null && semver.lt(semver.coerce(pm.version)!, YARN_SCRIPTS_OFF_SINCE));
      return { flavour: berry ? 'yarn-berry' : 'yarn-classic', runsByDefault, label };
    }
    case 'bun':
      return { flavour: 'bun', runsByDefault: false, label };
  }
}

export const SWITCH_FOR: Record<Exclude<ScriptsFlavour, 'bun'>, { file: string; line: string }> = {
  npm: { file: '.npmrc', line: 'ignore-scripts=true' },
  pnpm: { file: '.npmrc', line: 'ignore-scripts=true' },
  'yarn-classic': { file: '.yarnrc', line: 'ignore-scripts true' },
  'yarn-berry': { file: '.yarnrc.yml', line: 'enableScripts: false' },
};

/** Scripts are off for every install of the project by its own files. */
export function projectDisablesScripts(flavour: ScriptsFlavour, settings: ProjectScriptSettings): boolean {
  switch (flavour) {
    case 'npm':
    case 'pnpm':
      return settings.npmrcIgnoreScripts?.value === true;
    case 'yarn-classic':
      return settings.yarnrcIgnoreScripts === true;
    case 'yarn-berry':
      return settings.yarnEnableScripts?.value === false;
    case 'bun':
      return true;
  }
}

export interface ScriptsSwitchVerdict {
  flavour: Exclude<ScriptsFlavour, 'bun'>;
  /** The file that should hold the switch, and the line to add. */
  file: string;
  line: string;
  /** An entry that explicitly turns scripts on, in that file; the finding points at it. */
  explicitOn: Span | null;
  message: string;
}

/**
 * Whether the project leaves dependency scripts on for its package manager, and what to
 * say. `config` adds what npm's loader knows: a switch set only in user/global config or
 * the environment protects this machine, not CI or teammates.
 */
export function scriptsSwitchVerdict(
  pm: PackageManagerInfo,
  settings: ProjectScriptSettings,
  config: RegistryConfig | null,
): ScriptsSwitchVerdict | null {
  const { flavour, runsByDefault, label } = scriptsFlavour(pm, settings.hasYarnrcYml);
  if (flavour === 'bun' || !runsByDefault || projectDisablesScripts(flavour, settings)) return null;
  const npmrcSetting = settings.npmrcIgnoreScripts;
  const { file, line } = SWITCH_FOR[flavour];
  const parts = [`${label} runs dependency install scripts by default, and the project does not switch them off (${line} in ${file})`];
  let explicitOn: Span | null = null;
  if (flavour === 'npm' || flavour === 'pnpm') {
    if (npmrcSetting?.value === false) {
      explicitOn = npmrcSetting.entry.valueSpan ?? npmrcSetting.entry.keySpan;
      parts.push('.npmrc sets ignore-scripts to false');
    } else if (npmrcSetting?.value === 'env') {
      explicitOn = npmrcSetting.entry.valueSpan;
      parts.push('.npmrc takes ignore-scripts from an environment variable, which CI and teammates may not set');
    }
    if (config && config.ignoreScripts.value && config.ignoreScripts.layer !== 'project' && config.ignoreScripts.layer !== 'default') {
      parts.push(`ignore-scripts=true comes from ${config.ignoreScripts.source ?? config.ignoreScripts.layer}, which does not travel with the project`);
    }
  } else if (flavour === 'yarn-berry') {
    if (settings.yarnEnableScripts?.value === true) {
      explicitOn = settings.yarnEnableScripts.span;
      parts.push('.yarnrc.yml sets enableScripts: true');
    }
    if (npmrcSetting?.value === true) parts.push('Yarn Berry does not read .npmrc, so its ignore-scripts has no effect');
  } else if (npmrcSetting?.value === true) {
    parts.push('Yarn classic takes ignore-scripts from .yarnrc, not from .npmrc');
  }
  return { flavour, file, line, explicitOn, message: `${parts.join('; ')}.` };
}

export function scriptsSwitchFix(verdict: ScriptsSwitchVerdict): string {
  return `Add "${verdict.line}" to ${verdict.file} at the project root, then allow the few packages that need their scripts in the allowlist your package manager enforces.`;
}

export interface NpmrcContext {
  packageManager: PackageManagerInfo;
  tracking: GitTracking;
  /** The other project files' settings (.yarnrc, .yarnrc.yml); this .npmrc's own are read from `text`. */
  settings?: Omit<ProjectScriptSettings, 'npmrcIgnoreScripts'>;
  config?: RegistryConfig | null;
}

/**
 * Every finding for the project `.npmrc`, from its text alone (the editor may hold unsaved
 * changes): literal credentials, and missing `ignore-scripts=true` when the package manager
 * reads it from here (npm, pnpm) and runs scripts by default.
 */
export function checkNpmrcText(file: string, text: string, context: NpmrcContext): Finding[] {
  const findings = literalTokenFindings(file, text, context.tracking);
  const settings: ProjectScriptSettings = {
    yarnrcIgnoreScripts: null,
    yarnEnableScripts: null,
    hasYarnrcYml: false,
    ...context.settings,
    npmrcIgnoreScripts: npmrcScriptsSetting(text),
  };
  const verdict = scriptsSwitchVerdict(context.packageManager, settings, context.config ?? null);
  if (verdict && verdict.file === '.npmrc') {
    findings.push(environmentFinding('npmrc-scripts-enabled', { file, span: verdict.explicitOn }, verdict.message, scriptsSwitchFix(verdict)));
  }
  return findings;
}
