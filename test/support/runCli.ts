/**
 * Runs the built CLI (dist/cli/install-guard.js) as a user would, in a child process,
 * with npm configuration isolated from the machine's: an empty user and global .npmrc,
 * so only what the test sets up applies.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from './sharedFixtures';

export const CLI = join(projectRoot, 'dist', 'cli', 'install-guard.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A fresh directory with empty npm config files, for HOME-like isolation. */
export function isolatedNpmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dir = tempDir('ig-npmrc-');
  writeFileSync(join(dir, 'user.npmrc'), '');
  writeFileSync(join(dir, 'global.npmrc'), '');
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_config_/i.test(key)) env[key] = value;
  }
  return {
    ...env,
    HOME: dir,
    XDG_CACHE_HOME: join(dir, 'cache'),
    npm_config_userconfig: join(dir, 'user.npmrc'),
    npm_config_globalconfig: join(dir, 'global.npmrc'),
    ...extra,
  };
}

/** `wrapper`: a command the CLI runs under, e.g. `taskset -c 0` for one core. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; wrapper?: string[] } = {}): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, [...prefix, CLI, ...args], { env: options.env ?? isolatedNpmEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`install-guard ${args.join(' ')} did not finish in ${options.timeoutMs ?? 60000} ms\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const created: string[] = [];
// Test processes leave nothing behind in /tmp (servers and CLIs they started are gone by then).
process.on('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'ig-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}
