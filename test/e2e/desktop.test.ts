/**
 * The editor scenario in a desktop VS Code through @vscode/test-electron: the packaged .vsix is
 * installed with the desktop VS Code's own CLI into a temp extensions folder and loaded from
 * there, a temp copy of the example workspace is opened, every registry question goes to a
 * loopback registry (the `installGuard.registry` user setting), and test/e2e/desktop-suite
 * (bundled here with esbuild) runs inside the editor through the `vscode` API.
 *
 * A desktop VS Code comes from VSCODE_EXECUTABLE_PATH or a download (support/desktop.ts). Where
 * there is none — this workplace cannot reach the update server — the test says
 * `SKIP: <reason>`; the same scenario runs through code-server in editor.test.ts. On Linux
 * without a DISPLAY an Xvfb of our own is started (Debian package xvfb).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { resolveCliArgsFromVSCodeExecutablePath, runTests } from '@vscode/test-electron';
import { findDesktopVSCode } from './support/desktop';
import { packageVsix } from './support/vsix';
import { DEFAULT_TEST_NPMRC } from './support/codeServer';
import { auditWithCli, copyExample, ensureBuilt, exampleLockedVersion, expectedWarnings, startExampleRegistry } from './support/exampleRegistry';
import type { SuiteExpectation } from './desktop-suite/index';
import { projectRoot } from '../support/sharedFixtures';

const SUBJECT = 'sharp';
const EXTENSION_FOLDER_PREFIX = 'install-guard.install-guard-';

test('Install Guard in desktop VS Code (@vscode/test-electron): diagnostics, hover, preferred allow fix', { timeout: 300_000 }, async (t) => {
  const found = await findDesktopVSCode();
  if (!found.executable) {
    t.skip(`SKIP: ${found.reason}`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'ig-e2e-desktop-'));
  const registry = await startExampleRegistry();
  let xvfb: ChildProcess | null = null;
  try {
    await ensureBuilt();
    const vsix = await packageVsix(projectRoot, join(work, 'install-guard.vsix'));
    const extensionsDir = join(work, 'extensions');
    const userDataDir = join(work, 'user-data');
    const extensionPath = installWithDesktopCli(found.executable, vsix, extensionsDir, userDataDir);
    const suite = await bundleSuite(join(work, 'suite'));

    const example = copyExample(work);
    const audit = await auditWithCli(example, registry.url, join(work, 'cli-cache'));
    const version = exampleLockedVersion(SUBJECT, example);
    const expectation: SuiteExpectation = {
      warnings: expectedWarnings(audit, readFileSync(join(example, 'package.json'), 'utf8')),
      subject: { name: SUBJECT, version, scripts: audit.packages.find((p) => p.name === SUBJECT && p.version === version)?.installScripts ?? {} },
    };
    assert.ok(expectation.warnings.some((w) => w.name === SUBJECT), `the CLI finds ${SUBJECT} unreviewed`);

    // User settings are read at start: the loopback registry, and a quiet window.
    mkdirSync(join(userDataDir, 'User'), { recursive: true });
    writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({
      'installGuard.registry': registry.url,
      'security.workspace.trust.enabled': false,
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'json.schemaDownload.enable': false,
      'npm.fetchOnlinePackageInfo': false,
      'git.enabled': false,
    }, null, 2));
    // npm's own configuration is isolated as in the code-server tier: its registry refuses, so
    // only the setting can make the extension's answers come from the loopback registry.
    const npmrc = join(work, 'user.npmrc');
    writeFileSync(npmrc, DEFAULT_TEST_NPMRC);
    writeFileSync(join(work, 'global.npmrc'), '');

    const env: Record<string, string> = {
      IG_E2E_EXPECT: JSON.stringify(expectation),
      npm_config_userconfig: npmrc,
      npm_config_globalconfig: join(work, 'global.npmrc'),
    };
    if (process.platform === 'linux' && !process.env.DISPLAY) {
      const display = await startXvfb();
      xvfb = display.process;
      env.DISPLAY = display.name;
    }
    const requestsBefore = registry.requests.length;
    const started = Date.now();
    // Resolves with 0 or throws TestRunFailedError (a failed assertion in the suite exits 1).
    const exitCode = await runTests({
      vscodeExecutablePath: found.executable,
      extensionDevelopmentPath: extensionPath,
      extensionTestsPath: suite,
      extensionTestsEnv: env,
      launchArgs: [
        example,
        `--user-data-dir=${userDataDir}`,
        `--extensions-dir=${extensionsDir}`,
        '--disable-gpu',
        '--disable-telemetry',
        '--skip-welcome',
        '--skip-release-notes',
      ],
    });
    assert.equal(exitCode, 0);
    assert.ok(registry.requests.length > requestsBefore, 'the extension asked the loopback registry');
    t.diagnostic(`desktop VS Code (${found.source}) ran the suite in ${Date.now() - started} ms`);
  } finally {
    xvfb?.kill('SIGTERM');
    await registry.close();
    rmSync(work, { recursive: true, force: true });
  }
});

/**
 * `code --install-extension <vsix>` with the desktop VS Code's own CLI, as a user installs it;
 * returns the installed folder, which the test host then loads as the extension under test.
 */
function installWithDesktopCli(executable: string, vsix: string, extensionsDir: string, userDataDir: string): string {
  // reuseMachineInstall: no profile arguments of the library's own; ours follow.
  const [cli] = resolveCliArgsFromVSCodeExecutablePath(executable, { reuseMachineInstall: true });
  const args = [`--extensions-dir=${extensionsDir}`, `--user-data-dir=${userDataDir}`, '--install-extension', vsix, '--force'];
  const result = spawnSync(cli!, args, { encoding: 'utf8', timeout: 120_000, shell: process.platform === 'win32' });
  if (result.status !== 0) throw new Error(`installing ${vsix} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  const folder = existsSync(extensionsDir) ? readdirSync(extensionsDir).find((f) => f.startsWith(EXTENSION_FOLDER_PREFIX)) : undefined;
  if (!folder) throw new Error(`the install left no ${EXTENSION_FOLDER_PREFIX}* folder in ${extensionsDir}:\n${result.stdout}`);
  return join(extensionsDir, folder);
}

/** The extension host loads CommonJS: desktop-suite/index.ts bundled, `vscode` left to the host. */
async function bundleSuite(outDir: string): Promise<string> {
  const outfile = join(outDir, 'index.js');
  await esbuild.build({
    entryPoints: [join(__dirname, 'desktop-suite', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode'],
    logLevel: 'warning',
  });
  return outfile;
}

/** An Xvfb on a free display number (-displayfd: the server picks one and writes it to us). */
function startXvfb(): Promise<{ name: string; process: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x960x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let number = '';
    const timer = setTimeout(() => reject(new Error('Xvfb did not report a display within 10 s')), 10_000);
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start Xvfb (Debian package xvfb): ${e.message}`)); });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      number += d.toString();
      if (number.includes('\n')) {
        clearTimeout(timer);
        resolve({ name: `:${number.trim()}`, process: child });
      }
    });
  });
}
