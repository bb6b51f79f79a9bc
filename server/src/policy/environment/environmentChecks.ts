/**
 * Install-environment checks: where the project's installs run, and with what in reach.
 * - `npmrc-scripts-enabled`: the project does not switch dependency scripts off while its
 *   package manager runs them by default (npm < 12, pnpm < 10, Yarn);
 * - `npmrc-literal-token`: a literal credential in the project `.npmrc` (or `.yarnrc.yml`),
 *   worse when git tracks the file;
 * - `ci-install-with-secrets`: a CI install with scripts on and secrets in its environment.
 *
 * Each check is pure over file texts (npmrcChecks, yarnrcChecks, ciWorkflowChecks), so the
 * language server can run it on unsaved editor text; this file reads the files, asks git
 * whether a credential file is tracked, and puts the findings together.
 */
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { compareFindings, type Finding } from '../../analysis/findings';
import type { Span } from '../../model/inventory';
import type { RegistryConfig } from '../../registry/npmConfig';
import { checkWorkflowText } from './ciWorkflowChecks';
import {
  checkNpmrcText,
  environmentFinding,
  npmrcScriptsSetting,
  scriptsSwitchFix,
  scriptsSwitchVerdict,
  type GitTracking,
  type PackageManagerInfo,
  type ProjectScriptSettings,
} from './npmrcChecks';
import { checkYarnrcYmlText, readYarnrcYml, yarnrcClassicIgnoreScripts } from './yarnrcChecks';

export interface CheckEnvironmentInput {
  root: string;
  /** The package manager that installs the project, as the caller detected it. */
  packageManager: PackageManagerInfo;
  /** npm's view of the configuration; tells whether ignore-scripts comes from elsewhere than the project. */
  config: RegistryConfig | null;
  /** File text, or null when the file does not exist or cannot be read. */
  readText: (absPath: string) => Promise<string | null>;
  /** Absolute paths of the files in `dir` whose names match; defaults to reading the directory. */
  listFiles?: (dir: string, pattern: RegExp) => Promise<string[]>;
  /** Whether git tracks a file; defaults to `git ls-files --error-unmatch`. */
  gitTracking?: (absPath: string) => Promise<GitTracking>;
}

const GIT_TIMEOUT_MS = 3000;

/**
 * Asks git whether it tracks the file. Runs with fsmonitor off (a repository's config could
 * otherwise name a program for git to run) and without inherited GIT_* variables (a hook's
 * GIT_DIR would point at another repository). Not a repository, no git, or a timeout: unknown.
 */
export function gitTrackingOf(absPath: string, timeoutMs = GIT_TIMEOUT_MS): Promise<GitTracking> {
  const env: NodeJS.ProcessEnv = { GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0' };
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-c', 'core.fsmonitor=false', 'ls-files', '--error-unmatch', '--', basename(absPath)],
      { cwd: dirname(absPath), env, timeout: timeoutMs, windowsHide: true },
      (error, _stdout, stderr) => {
        if (!error) resolve('committed');
        else if (error.code === 1 && /did not match any file/i.test(String(stderr))) resolve('untracked');
        else resolve('unknown');
      },
    );
  });
}

export async function listDirectory(dir: string, pattern: RegExp): Promise<string[]> {
  try {
    const names = await readdir(dir);
    return names.filter((name) => pattern.test(name)).sort().map((name) => join(dir, name));
  } catch {
    return [];
  }
}

/** The `"packageManager": ...` property of package.json: the line that decides which tool's rules apply. */
function packageManagerSpan(text: string | null): Span | null {
  if (!text) return null;
  const node = findNodeAtLocation(parseTree(text) ?? { type: 'null', offset: 0, length: 0 }, ['packageManager']);
  const property = node?.parent;
  return property ? { start: property.offset, end: property.offset + property.length } : null;
}

export const WORKFLOW_FILE = /\.ya?ml$/i;

export async function checkEnvironment(input: CheckEnvironmentInput): Promise<Finding[]> {
  const { root, packageManager: pm, config, readText } = input;
  const listFiles = input.listFiles ?? listDirectory;
  const tracking = input.gitTracking ?? ((file: string) => gitTrackingOf(file));
  const paths = {
    npmrc: join(root, '.npmrc'),
    yarnrc: join(root, '.yarnrc'),
    yarnrcYml: join(root, '.yarnrc.yml'),
    packageJson: join(root, 'package.json'),
    gitlab: join(root, '.gitlab-ci.yml'),
  };
  const [npmrc, yarnrc, yarnrcYml, packageJson] = await Promise.all([
    readText(paths.npmrc),
    readText(paths.yarnrc),
    readText(paths.yarnrcYml),
    readText(paths.packageJson),
  ]);
  const yarnEnableScripts = yarnrcYml !== null ? readYarnrcYml(yarnrcYml).enableScripts : null;
  const settings: ProjectScriptSettings = {
    npmrcIgnoreScripts: npmrc !== null ? npmrcScriptsSetting(npmrc) : null,
    yarnrcIgnoreScripts: yarnrc !== null ? yarnrcClassicIgnoreScripts(yarnrc) : null,
    yarnEnableScripts,
    hasYarnrcYml: yarnrcYml !== null,
  };
  const findings: Finding[] = [];

  if (npmrc !== null) {
    findings.push(...checkNpmrcText(paths.npmrc, npmrc, { packageManager: pm, tracking: await tracking(paths.npmrc), settings, config }));
  }
  if (yarnrcYml !== null) {
    findings.push(...checkYarnrcYmlText(paths.yarnrcYml, yarnrcYml, { packageManager: pm, tracking: await tracking(paths.yarnrcYml), settings }));
  }
  // The switch belongs in a file the project does not have: point at package.json instead.
  const verdict = scriptsSwitchVerdict(pm, settings, config);
  const fileExists = verdict && { '.npmrc': npmrc, '.yarnrc.yml': yarnrcYml, '.yarnrc': null }[verdict.file] !== null;
  const projectLayerSaysOff = npmrc === null && config?.ignoreScripts.layer === 'project' && config.ignoreScripts.value;
  if (verdict && !fileExists && !projectLayerSaysOff) {
    const onYarnrc = verdict.file === '.yarnrc' && yarnrc !== null;
    const file = onYarnrc ? paths.yarnrc : paths.packageJson;
    const missing = verdict.file === '.yarnrc' && yarnrc !== null ? '' : ` The project has no ${verdict.file}.`;
    findings.push(
      environmentFinding(
        'npmrc-scripts-enabled',
        { file, span: onYarnrc ? null : packageManagerSpan(packageJson) },
        `${verdict.message}${missing}`,
        verdict.file === '.yarnrc' && yarnrc !== null ? scriptsSwitchFix(verdict) : `Create ${verdict.file} at the project root with "${verdict.line}", then allow the few packages that need their scripts in the allowlist your package manager enforces.`,
      ),
    );
  }

  const ciFiles = await listFiles(join(root, '.github', 'workflows'), WORKFLOW_FILE);
  const ciContext = { packageManager: pm, settings };
  for (const file of [...ciFiles, paths.gitlab]) {
    const text = await readText(file);
    if (text !== null) findings.push(...checkWorkflowText(file, text, ciContext));
  }
  return findings.sort(compareFindings);
}
