/**
 * The rules shared by the GitHub Actions and GitLab CI checks: when does an install in CI
 * run dependency scripts, which variables count as secrets, and how the finding reads.
 *
 * Scripts are off for an install when, in the precedence order of the tool:
 * - npm / pnpm: the command's `--ignore-scripts[=bool]`, then `npm_config_ignore_scripts`
 *   in its environment (any case; an empty value is ignored, as npm does), then the project
 *   `.npmrc`, then `npm|pnpm config set ignore-scripts` run earlier in the job (user config);
 *   npm ≥ 12 and pnpm ≥ 10 skip dependency scripts that are not allowlisted anyway (pnpm's
 *   version from `pnpm/action-setup`'s `version`, else the project's `packageManager`).
 * - Yarn Berry: `--mode=skip-build`, `YARN_ENABLE_SCRIPTS`, `.yarnrc.yml` `enableScripts`,
 *   `yarn config set enableScripts false`. Yarn Berry ignores `.npmrc` and npm_config_*.
 * - Yarn classic: `--ignore-scripts`, `YARN_IGNORE_SCRIPTS`, `.yarnrc` `ignore-scripts`,
 *   `yarn config set ignore-scripts true`. Yarn 1 keeps its own default for ignore-scripts,
 *   so `.npmrc` and npm_config_ignore_scripts do not reach it.
 * - Bun runs only trusted dependencies' scripts: never reported.
 * An unknown version is taken as the current release line (npm 11, pnpm 10), as in npmrcChecks.
 */
import type { Finding, FindingLocation } from '../../analysis/findings';
import type { Span } from '../../model/inventory';
import type { ConfigWrite, InstallCommand, InstallTool } from './installCommands';
import {
  environmentFinding,
  majorOf,
  npmBoolean,
  scriptsFlavour,
  type PackageManagerInfo,
  type ProjectScriptSettings,
} from './npmrcChecks';

export interface CiContext {
  packageManager: PackageManagerInfo;
  settings: ProjectScriptSettings;
}

/** A secret in an install's environment: a name, never a value. */
export interface SecretSource {
  /** The variable (or credential) name: "NODE_AUTH_TOKEN", "AWS credentials". */
  name: string;
  /** Where it comes from, names only: "secrets.NPM_TOKEN", "job env", "step 2 (aws-actions/configure-aws-credentials)". */
  detail: string;
  location: FindingLocation | null;
}

/**
 * Variable names that hold credentials by convention: tokens, secrets, passwords, keys,
 * cloud credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS,
 * AZURE_CLIENT_SECRET, AZURE_CREDENTIALS). Bare `KEY` is too common (CACHE_KEY) to count.
 */
const SECRET_NAME =
  /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?|CONNECTION_STRING|PAT|(PRIVATE|API|ACCESS|SECRET|SSH|DEPLOY|SIGNING|ENCRYPTION|MASTER|LICENSE)_KEY|APIKEY)(_|$)/i;

export function looksLikeSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A value from an environment map by name, case-insensitively (npm reads npm_config_* in any case). */
function envValue(env: Map<string, string>, name: string): string | undefined {
  for (const [key, value] of env) if (key.toLowerCase() === name.toLowerCase() && value !== '') return value;
  return undefined;
}

function yarnBoolean(value: string): boolean | null {
  if (/^(true|1)$/i.test(value.trim())) return true;
  if (/^(false|0)$/i.test(value.trim())) return false;
  return null;
}

export interface ScriptsState {
  off: boolean;
  /** Why scripts run (for the message) or why they do not (for tests and hovers). */
  reason: string;
}

export interface InstallEnvironment {
  /** Every variable in the install's environment, the nearest definition winning. */
  env: Map<string, string>;
  /** Config files written earlier in the job (`npm config set ignore-scripts true`). */
  configWrites: ConfigWrite[];
  /** pnpm's version as `pnpm/action-setup` installs it in this job, when it says. */
  pnpmVersion: string | null;
}

function lastConfig(writes: ConfigWrite[], tools: InstallTool[], key: string): string | undefined {
  return writes.filter((w) => tools.includes(w.tool) && w.key === key).pop()?.value;
}

export function scriptsState(install: Pick<InstallCommand, 'tool' | 'ignoreScriptsFlag'>, environment: InstallEnvironment, context: CiContext): ScriptsState {
  const { env, configWrites } = environment;
  const settings = context.settings;
  const pm = context.packageManager;
  if (install.tool === 'bun') return { off: true, reason: 'Bun runs only trusted dependencies’ scripts' };
  if (install.tool === 'npm' || install.tool === 'pnpm') {
    if (install.tool === 'pnpm') {
      const version = environment.pnpmVersion ?? (pm.name === 'pnpm' ? pm.version : null);
      const major = majorOf(version) ?? 10;
      if (major >= 10) return { off: true, reason: `pnpm ${version ?? '≥ 10'} skips dependency build scripts that are not allowlisted` };
    }
    if (install.ignoreScriptsFlag !== null) return { off: install.ignoreScriptsFlag, reason: 'set by the command line' };
    const fromEnv = envValue(env, 'npm_config_ignore_scripts');
    if (fromEnv !== undefined) {
      const value = npmBoolean(fromEnv);
      if (value !== 'env') return { off: value, reason: `npm_config_ignore_scripts=${fromEnv}` };
    }
    const project = settings.npmrcIgnoreScripts?.value;
    if (project === true) return { off: true, reason: 'ignore-scripts=true in the project .npmrc' };
    if (project !== false) {
      const written = lastConfig(configWrites, ['npm', 'pnpm'], 'ignore-scripts');
      if (written !== undefined && npmBoolean(written) === true) return { off: true, reason: '`config set ignore-scripts true` earlier in the job' };
    }
    if (install.tool === 'npm' && pm.name === 'npm' && (majorOf(pm.version) ?? 11) >= 12) {
      return { off: true, reason: `npm ${pm.version} skips dependency scripts that are not allowlisted` };
    }
    const version = install.tool === 'pnpm' ? environment.pnpmVersion ?? pm.version : pm.name === 'npm' ? pm.version : null;
    return { off: false, reason: `${install.tool}${version ? ` ${version}` : ''} runs dependency install scripts unless told not to` };
  }
  const yarnVersion = pm.name === 'yarn' ? pm.version : null;
  const { flavour } = scriptsFlavour({ name: 'yarn', version: yarnVersion }, settings.hasYarnrcYml);
  if (flavour === 'yarn-berry') {
    if (install.ignoreScriptsFlag) return { off: true, reason: '--mode=skip-build' };
    const fromEnv = envValue(env, 'YARN_ENABLE_SCRIPTS');
    const envSays = fromEnv === undefined ? null : yarnBoolean(fromEnv);
    if (envSays !== null) return { off: !envSays, reason: `YARN_ENABLE_SCRIPTS=${fromEnv}` };
    if (settings.yarnEnableScripts) return { off: !settings.yarnEnableScripts.value, reason: `enableScripts: ${settings.yarnEnableScripts.value} in .yarnrc.yml` };
    const written = lastConfig(configWrites, ['yarn'], 'enableScripts');
    if (written !== undefined && yarnBoolean(written) === false) return { off: true, reason: '`yarn config set enableScripts false` earlier in the job' };
    return { off: false, reason: `Yarn${yarnVersion ? ` ${yarnVersion}` : ' Berry'} runs dependency scripts unless enableScripts is false` };
  }
  if (install.ignoreScriptsFlag !== null) return { off: install.ignoreScriptsFlag, reason: 'set by the command line' };
  const fromEnv = envValue(env, 'YARN_IGNORE_SCRIPTS');
  const envSays = fromEnv === undefined ? null : yarnBoolean(fromEnv);
  if (envSays !== null) return { off: envSays, reason: `YARN_IGNORE_SCRIPTS=${fromEnv}` };
  if (settings.yarnrcIgnoreScripts !== null) return { off: settings.yarnrcIgnoreScripts, reason: '.yarnrc ignore-scripts' };
  const written = lastConfig(configWrites, ['yarn'], 'ignore-scripts');
  if (written !== undefined && npmBoolean(written) === true) return { off: true, reason: '`yarn config set ignore-scripts true` earlier in the job' };
  return { off: false, reason: `Yarn${yarnVersion ? ` ${yarnVersion}` : ' classic'} runs dependency install scripts unless told not to` };
}

/** The fix, in the words of the tool that installs. */
function fixFor(tool: InstallTool, context: CiContext, platform: 'github' | 'gitlab'): string {
  const scope = platform === 'github' ? "this step's env" : "this job's variables";
  const move = platform === 'github' ? 'or move the secrets to the later step that needs them' : 'or move the secrets to a separate job that does not install';
  const yarnBerry = scriptsFlavour({ name: 'yarn', version: context.packageManager.name === 'yarn' ? context.packageManager.version : null }, context.settings.hasYarnrcYml).flavour === 'yarn-berry';
  if (tool === 'yarn' && yarnBerry) return `Set YARN_ENABLE_SCRIPTS: "false" in ${scope} (or enableScripts: false in .yarnrc.yml), ${move}.`;
  if (tool === 'yarn') return `Add --ignore-scripts to this command (or set YARN_IGNORE_SCRIPTS: "true" in ${scope}), ${move}.`;
  return `Add --ignore-scripts to this command (or set npm_config_ignore_scripts: "true" in ${scope}), ${move}.`;
}

export function describeSecrets(secrets: SecretSource[]): string {
  const byName = new Map<string, Set<string>>();
  for (const s of secrets) {
    if (!byName.has(s.name)) byName.set(s.name, new Set());
    if (s.detail) byName.get(s.name)!.add(s.detail);
  }
  return [...byName].map(([name, details]) => (details.size ? `${name} (${[...details].join(', ')})` : name)).join(', ');
}

export function ciInstallFinding(input: {
  file: string;
  span: Span | null;
  /** `step "Install" of job "build"`, `job "test"`. */
  where: string;
  command: string;
  tool: InstallTool;
  state: ScriptsState;
  secrets: SecretSource[];
  context: CiContext;
  platform: 'github' | 'gitlab';
}): Finding {
  const { where, command, state, secrets } = input;
  const message =
    `${where[0]!.toUpperCase()}${where.slice(1)} ${/^jobs /.test(where) ? 'run' : 'runs'} \`${command}\` with dependency install scripts enabled (${state.reason}) ` +
    `while secrets are in its environment: ${describeSecrets(secrets)}. Any dependency's install script can read them.`;
  const related = secrets
    .filter((s) => s.location)
    .map((s) => ({ ...s.location!, message: `${s.name} enters the environment here` }));
  return environmentFinding('ci-install-with-secrets', { file: input.file, span: input.span }, message, fixFor(input.tool, input.context, input.platform), related);
}
