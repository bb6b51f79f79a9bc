/**
 * Runs VS Code for the web (code-server, installed by test/e2e/setup/setup-code-server.sh) for the
 * editor end-to-end tests: an isolated user-data and extensions directory per server, a .vsix
 * installed before start, loopback only, no auth, and a reliable stop (the whole process group:
 * code-server forks the VS Code server, extension hosts, pty host and file watcher).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';

/** Cache root of the e2e tools, outside the repository (same default as the setup script). */
export function e2eHome(): string {
  return process.env.INSTALL_GUARD_E2E_HOME || join(homedir(), '.cache', 'install-guard-e2e');
}

/** Where the setup script puts code-server for this Node (native modules are per ABI). */
export function codeServerEntry(): string {
  return join(
    e2eHome(),
    `code-server-${CODE_SERVER_VERSION}-node-abi${process.versions.modules}`,
    'node_modules', 'code-server', 'out', 'node', 'entry.js',
  );
}

/** null when code-server and chromium are installed, else the reason (for a SKIP line). */
export function codeServerMissingReason(): string | null {
  if (process.versions.node.split('.')[0] !== '20') return `code-server ${CODE_SERVER_VERSION} needs Node 20, this is ${process.version}`;
  if (!existsSync(codeServerEntry())) return `code-server is not installed at ${codeServerEntry()}: run test/e2e/setup/setup-code-server.sh`;
  if (!existsSync('/usr/bin/chromium')) return '/usr/bin/chromium is missing: run test/e2e/setup/setup-code-server.sh';
  return null;
}

/**
 * Workspace Trust for the session:
 *  - 'off': trust disabled, every folder runs fully (the default scenario);
 *  - 'untrusted': trust on and never prompted, so a folder opens in Restricted Mode;
 *  - 'prompt': trust on with VS Code's own startup dialog (the test answers it).
 */
export type TrustMode = 'off' | 'untrusted' | 'prompt';

export interface CodeServerOptions {
  /** .vsix files installed with `--install-extension` before the server starts. */
  vsix?: string[];
  trust?: TrustMode;
  /** Extra user settings, merged over the quiet defaults below. */
  settings?: Record<string, unknown>;
  /**
   * The user .npmrc that code-server and the extension host see (npm config is isolated from
   * the machine's: a temp user and global npmrc, no inherited npm_config_* variables). Default:
   * DEFAULT_TEST_NPMRC, whose registry refuses connections. Give a loopback registry here.
   */
  npmrc?: string;
  /** Extra environment for code-server and so for the extension host. */
  env?: NodeJS.ProcessEnv;
  /** Keep the temporary directory after stop (for debugging a failure). */
  keepDir?: boolean;
  startTimeoutMs?: number;
}

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Temporary root holding user-data/, extensions/, npm/user.npmrc and config.yaml. */
  readonly dir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  /** The URL that opens `absFolder` in the workbench. */
  folderUrl(absFolder: string): string;
  /** How long installing the .vsix files and starting (until /healthz answered) took. */
  readonly timings: { installMs: number; startMs: number };
  /** Everything code-server printed so far (stdout and stderr interleaved). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Nothing in a test may reach the live registry, and VS Code's own npm extension runs
 * `npm view <dependency>` for every package.json hover whatever its settings say (it only needs an
 * npm on PATH). Port 9 (discard) on loopback refuses at once; no retries so it fails fast.
 */
export const DEFAULT_TEST_NPMRC = 'registry=http://127.0.0.1:9/\nfetch-retries=0\n';

/** Settings that keep the workbench quiet and deterministic: no welcome page, no network. */
function userSettings(trust: TrustMode, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    'security.workspace.trust.enabled': trust !== 'off',
    'security.workspace.trust.startupPrompt': trust === 'prompt' ? 'always' : 'never',
    'security.workspace.trust.banner': 'always',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'git.enabled': false,
    'git.openRepositoryInParentFolders': 'never',
    'chat.commandCenter.enabled': false,
    'files.autoSave': 'off',
    'editor.hover.delay': 200,
    'workbench.reduceMotion': 'on', // no fade-ins half-way in a screenshot
    'window.commandCenter': false,
    // The machine has no network: schema downloads would show as problems, auto port
    // forwarding as a "Ports 3" badge; the npm scripts code lens would move editor lines.
    'json.schemaDownload.enable': false,
    // The built-in npm extension hovers package.json dependencies with live registry data
    // ("Latest version: 1.3.0 published 2 years ago"): tests never use the live registry.
    'npm.fetchOnlinePackageInfo': false,
    'remote.autoForwardPorts': false,
    'debug.javascript.codelens.npmScripts': 'never',
    ...extra,
  };
}

/** Environment without what would make code-server talk to another VS Code or ask a password. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VSCODE_|CODE_SERVER_|ELECTRON_|npm_config_|npm_package_|npm_lifecycle_)/i.test(key)) continue;
    if (key === 'PASSWORD' || key === 'HASHED_PASSWORD' || key === 'PORT' || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

interface RunResult { code: number | null; output: string }

function runToEnd(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [codeServerEntry(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`code-server ${args.join(' ')} timed out after ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

// A test that throws between start and stop must not leave a server behind.
// (An exit handler runs for a normal exit or an uncaught error, not for a signal.)
const running = new Map<ChildProcess, string | null>(); // child -> its temp dir to remove
process.on('exit', () => {
  for (const [child, dir] of running) {
    killGroup(child, 'SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
});

/** Installs a .vsix into the given directories (the same way a user would, through the CLI). */
export async function installExtension(vsix: string, dirs: { userDataDir: string; extensionsDir: string }, env: NodeJS.ProcessEnv = cleanEnv({})): Promise<string> {
  if (!existsSync(vsix)) throw new Error(`no such .vsix: ${vsix}`);
  const result = await runToEnd(
    ['--user-data-dir', dirs.userDataDir, '--extensions-dir', dirs.extensionsDir, '--install-extension', vsix, '--force'],
    env, 120_000,
  );
  if (result.code !== 0 || !/successfully installed/i.test(result.output)) {
    throw new Error(`installing ${vsix} failed (exit ${result.code}):\n${result.output}`);
  }
  return result.output.trim();
}

/** Starts code-server on 127.0.0.1 with a port the kernel picks, after installing `vsix`. */
export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  const missing = codeServerMissingReason();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'ig-code-server-'));
  const userDataDir = join(dir, 'user-data');
  const extensionsDir = join(dir, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  // Read once at start: code-server does not apply later edits of this file to a running
  // workbench (use writeWorkspaceSettings for a change mid-test).
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify(userSettings(options.trust ?? 'off', options.settings ?? {}), null, 2));
  // Our own config file, or code-server writes a default one (with a password) into ~/.config.
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, 'auth: none\ncert: false\n');
  mkdirSync(join(dir, 'npm'));
  writeFileSync(join(dir, 'npm', 'user.npmrc'), options.npmrc ?? DEFAULT_TEST_NPMRC);
  writeFileSync(join(dir, 'npm', 'global.npmrc'), '');
  const env = cleanEnv({
    npm_config_userconfig: join(dir, 'npm', 'user.npmrc'),
    npm_config_globalconfig: join(dir, 'npm', 'global.npmrc'),
    ...options.env,
  });

  const installStarted = Date.now();
  try {
    for (const vsix of options.vsix ?? []) await installExtension(vsix, { userDataDir, extensionsDir }, env);
  } catch (e) {
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const installMs = Date.now() - installStarted;
  const startStarted = Date.now();

  const args = [
    codeServerEntry(),
    '--config', configFile,
    '--bind-addr', '127.0.0.1:0', // port 0: the kernel picks a free one, no race with other tests
    '--auth', 'none',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  if (options.trust === undefined || options.trust === 'off') args.push('--disable-workspace-trust');
  // detached: its own process group, so stop() reaches every process it forks.
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.set(child, options.keepDir ? null : dir);
  let output = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.on('exit', () => running.delete(child));

  const port = await new Promise<number>((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 60_000;
    const timer = setTimeout(() => reject(new Error(`code-server did not listen within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`code-server exited (${code}) before listening:\n${output}`)); });
  }).catch(async (e: unknown) => {
    killGroup(child, 'SIGKILL');
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  });

  const url = `http://127.0.0.1:${port}`;
  await waitForHealthz(url, 30_000);
  const startMs = Date.now() - startStarted;

  let stopped: Promise<void> | undefined;
  return {
    url, port, dir, userDataDir, extensionsDir,
    pid: child.pid!,
    timings: { installMs, startMs },
    folderUrl: (absFolder) => `${url}/?folder=${encodeURIComponent(absFolder)}`,
    output: () => output,
    stop() {
      stopped ??= (async () => {
        killGroup(child, 'SIGTERM');
        const graceful = await Promise.race([exited.then(() => true), delay(5_000).then(() => false)]);
        // The forked VS Code processes may outlive a SIGTERM'd parent: always finish the group.
        await delay(graceful ? 200 : 0);
        killGroup(child, 'SIGKILL');
        await Promise.race([exited, delay(5_000)]);
        if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/**
 * Merges `patch` into `<folder>/.vscode/settings.json`. The workbench watches the workspace, so
 * an open folder applies the change live (within a second or two).
 */
export function writeWorkspaceSettings(folder: string, patch: Record<string, unknown>): void {
  const file = join(folder, '.vscode', 'settings.json');
  const current = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  mkdirSync(join(folder, '.vscode'), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...current, ...patch }, null, 2) + '\n');
}

async function waitForHealthz(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await delay(200);
  }
  throw new Error(`${url}/healthz did not answer within ${timeoutMs} ms (${last})`);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
