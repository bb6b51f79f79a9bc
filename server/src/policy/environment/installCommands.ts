/**
 * Finding package installs in CI shell scripts: `npm ci`, `pnpm install`, bare `yarn`,
 * `bun i`, ... with what the command line itself says about install scripts, plus what a
 * script leaves behind for later steps (exported variables, `npm config set`, lines
 * appended to $GITHUB_ENV, files written). The words come from shellWords.ts.
 */
import { parseShell, type ShellCommand, type ShellWord } from './shellWords';

export { parseShell } from './shellWords';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type InstallTool = 'npm' | 'pnpm' | 'yarn' | 'bun';

export interface InstallCommand {
  tool: InstallTool;
  /** The subcommand as written (`ci`, `i`, `install`); '' for a bare `yarn`. */
  subcommand: string;
  /** From the tool's word to the end of the command's last word, as script offsets. */
  start: number;
  end: number;
  /** The command from the tool on, words unquoted and joined by spaces, for messages. */
  text: string;
  /** `--ignore-scripts`, Yarn Berry's `--mode=skip-build`: true; `--ignore-scripts=false`: false; absent: null. */
  ignoreScriptsFlag: boolean | null;
  /** Variables set for this command only: `VAR=x npm ci`, `env VAR=x npm ci`. */
  env: Map<string, string>;
  statement: number;
}

const INSTALL_SUBCOMMANDS: Record<InstallTool, Set<string>> = {
  // npm's aliases (including its typo aliases) of install, ci, install-test, install-ci-test, update, rebuild.
  npm: new Set([
    'install', 'i', 'in', 'ins', 'inst', 'insta', 'instal', 'isnt', 'isnta', 'isntal', 'isntall', 'add',
    'ci', 'clean-install', 'ic', 'install-clean', 'isntall-clean', 'install-test', 'it',
    'install-ci-test', 'cit', 'clean-install-test', 'sit', 'update', 'up', 'upgrade', 'udpate', 'rebuild', 'rb',
  ]),
  pnpm: new Set(['install', 'i', 'add', 'update', 'up', 'upgrade', 'rebuild', 'rb', 'install-test', 'it']),
  yarn: new Set(['', 'install', 'add', 'up', 'upgrade']),
  bun: new Set(['install', 'i', 'add', 'a', 'update']),
};

/** Options given before the subcommand that take a separate value (`npm --prefix dir ci`). */
const VALUE_OPTIONS = new Set([
  '--prefix', '-C', '--dir', '--workspace', '-w', '--filter', '-F', '--userconfig', '--globalconfig',
  '--cache', '--registry', '--loglevel', '--cwd', '--modules-folder', '--cache-folder', '--mutex',
  '--network-timeout', '--reporter', '--config', '-c',
]);

/** Words that run the next word as the command. */
const PREFIX_WORDS = new Set(['then', 'do', 'else', 'if', 'elif', 'while', 'until', '!', '{', 'time', 'exec', 'command', 'nohup', 'corepack']);

function toolOf(word: string): InstallTool | null {
  const base = word.replace(/^.*[\\/]/, '').replace(/\.(cmd|exe|ps1)$/i, '').toLowerCase();
  if (base === 'npm' || base === 'pnpm' || base === 'bun') return base;
  if (base === 'yarn' || base === 'yarnpkg') return 'yarn';
  return null;
}

function assignment(word: string): [string, string] | null {
  const eq = word.indexOf('=');
  if (eq <= 0 || !NAME.test(word.slice(0, eq))) return null;
  return [word.slice(0, eq), word.slice(eq + 1)];
}

/** The command's words after `VAR=x`, `env ...`, `sudo ...`, `timeout N`, `then`, ...; with the variables set. */
export function commandHead(words: ShellWord[]): { rest: ShellWord[]; env: Map<string, string> } {
  const env = new Map<string, string>();
  let k = 0;
  while (k < words.length) {
    const text = words[k]!.text;
    const assigned = assignment(text);
    if (assigned) env.set(assigned[0], assigned[1]);
    else if (PREFIX_WORDS.has(text)) {
      /* the next word is the command */
    } else if (text === 'env' || text === 'sudo') {
      // Their own options: `env -u NAME`, `sudo -E -u user`.
      while (k + 1 < words.length && words[k + 1]!.text.startsWith('-')) {
        k++;
        if (/^-[ugC]$/.test(words[k]!.text)) k++;
      }
    } else if (text === 'timeout' && k + 1 < words.length) {
      k++;
    } else break;
    k++;
  }
  return { rest: words.slice(k), env };
}

/** What `--ignore-scripts[=v]` / `--no-ignore-scripts` / `--mode=skip-build` say, or null. */
function scriptFlag(args: ShellWord[]): boolean | null {
  let result: boolean | null = null;
  args.forEach((arg, index) => {
    const text = arg.text;
    const next = args[index + 1]?.text;
    if (text === '--ignore-scripts') result = next === 'false' ? false : true;
    else if (text.startsWith('--ignore-scripts=')) result = !/^(false|0|null)$/i.test(text.slice(17));
    else if (text === '--no-ignore-scripts') result = false;
    else if (text === '--mode=skip-build' || (text === '--mode' && next === 'skip-build')) result = true;
  });
  return result;
}

/** The install this command runs, if it runs one. */
export function installOf(command: ShellCommand): InstallCommand | null {
  const { rest, env } = commandHead(command.words);
  const tool = rest.length ? toolOf(rest[0]!.text) : null;
  if (!tool) return null;
  const args = rest.slice(1);
  let subcommand = '';
  for (let k = 0; k < args.length; k++) {
    const text = args[k]!.text;
    if (text.startsWith('-')) {
      if (VALUE_OPTIONS.has(text)) k++;
      continue;
    }
    // `pnpm recursive install`: the subcommand comes next.
    if (tool === 'pnpm' && ['recursive', 'multi', 'm'].includes(text)) continue;
    subcommand = text;
    break;
  }
  if (!INSTALL_SUBCOMMANDS[tool].has(subcommand)) return null;
  const last = command.words[command.words.length - 1]!;
  return {
    tool,
    subcommand,
    start: rest[0]!.start,
    end: last.end,
    text: rest.map((w) => w.text).join(' '),
    ignoreScriptsFlag: scriptFlag(args),
    env,
    statement: command.statement,
  };
}

export interface ConfigWrite {
  /** The tool whose user/project config is written. */
  tool: InstallTool;
  key: string;
  value: string;
  start: number;
}

export interface ScriptFacts {
  installs: InstallCommand[];
  /** `export NAME=value`, in script order. */
  exports: { name: string; value: string; start: number }[];
  /** `npm config set ignore-scripts true`, `yarn config set enableScripts false`, ... */
  configWrites: ConfigWrite[];
  /** `echo "NAME=value" >> $GITHUB_ENV`: variables for the job's later steps. */
  githubEnvWrites: { name: string; value: string; start: number }[];
  /** Whether the statement around a script offset leaves something behind (a file, config, a login). */
  persistsAt(index: number): boolean;
}

// Not files an install can read later: the terminal, or the runner's own command files
// ($GITHUB_ENV is followed as environment by the caller).
const SCRATCH_TARGETS = /^\/dev\/(null|stdout|stderr|tty)$|GITHUB_(ENV|OUTPUT|PATH|STEP_SUMMARY|STATE)\b/;

function persists(command: ShellCommand): boolean {
  if (command.redirects.some((r) => /^(>|>>|>\||&>|&>>)$/.test(r.op) && !SCRATCH_TARGETS.test(r.target))) return true;
  const { rest } = commandHead(command.words);
  const words = rest.map((w) => w.text);
  if (words[0] === 'tee') return true;
  // `docker login`, `gh auth login`, `gcloud auth activate-service-account`: credentials saved on disk.
  if (words.slice(1, 4).some((w) => w === 'login' || w === 'activate-service-account')) return true;
  // `npm config set`, `npm set`, `git config ...`: written to a config file.
  return (toolOf(words[0] ?? '') !== null && words.slice(1, 3).includes('set')) || words[1] === 'config';
}

export function scanScript(script: string): ScriptFacts {
  const { commands, heredocs } = parseShell(script);
  const installs: InstallCommand[] = [];
  const exports: ScriptFacts['exports'] = [];
  const configWrites: ConfigWrite[] = [];
  const githubEnvWrites: ScriptFacts['githubEnvWrites'] = [];
  const persistingStatements = new Set<number>();
  for (const command of commands) {
    if (persists(command)) persistingStatements.add(command.statement);
    const install = installOf(command);
    if (install) {
      installs.push(install);
      continue;
    }
    const { rest } = commandHead(command.words);
    const words = rest.map((w) => w.text);
    if (words[0] === 'export') {
      for (const w of rest.slice(1)) {
        const assigned = assignment(w.text);
        if (assigned) exports.push({ name: assigned[0], value: assigned[1], start: w.start });
      }
    }
    const tool = words.length ? toolOf(words[0]!) : null;
    const setAt = words.findIndex((w) => w === 'set');
    if (tool && setAt > 0 && setAt <= 2 && (setAt === 1 || words[1] === 'config')) {
      const [key, inlineValue] = words[setAt + 1]?.split('=', 2) ?? [];
      const value = inlineValue ?? words[setAt + 2];
      if (key && value !== undefined) configWrites.push({ tool, key, value, start: rest[0]!.start });
    }
    if (command.redirects.some((r) => /^>>?$/.test(r.op) && /GITHUB_ENV/.test(r.target)) && ['echo', 'printf'].includes(words[0] ?? '')) {
      const line = words.slice(1).filter((w) => !/^-[neE]+$/.test(w)).join(' ');
      const assigned = assignment(line);
      if (assigned) githubEnvWrites.push({ name: assigned[0], value: assigned[1], start: rest[0]!.start });
    }
  }
  const statementAt = (index: number): number => {
    for (const c of commands) if (c.words.some((w) => w.start <= index && index < w.end)) return c.statement;
    for (const h of heredocs) if (h.start <= index && index < h.end) return h.statement;
    return -1;
  };
  return {
    installs,
    exports,
    configWrites,
    githubEnvWrites,
    persistsAt: (index) => persistingStatements.has(statementAt(index)),
  };
}
