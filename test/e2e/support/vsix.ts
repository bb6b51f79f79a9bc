/**
 * Packages an extension folder into a .vsix with the project's own @vscode/vsce, the same tool
 * `npm run package` uses, so the e2e tests install exactly what a user would.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../support/sharedFixtures';

const VSCE = join(projectRoot, 'node_modules', '@vscode', 'vsce', 'vsce');

/**
 * `vsce package` in `extensionDir`, written to `outFile`. --no-dependencies because the
 * extensions under test are bundled; the other flags let a throwaway manifest through.
 */
export function packageVsix(extensionDir: string, outFile: string, timeoutMs = 120_000): Promise<string> {
  if (!existsSync(VSCE)) throw new Error(`${VSCE} is missing: run npm ci`);
  const args = [VSCE, 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', outFile];
  return new Promise((resolve, reject) => {
    // vsce answers no network question here, but keep stdin closed so a prompt cannot hang CI.
    const child = spawn(process.execPath, args, { cwd: extensionDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 && existsSync(outFile)) resolve(outFile);
      else reject(new Error(`vsce package in ${extensionDir} failed (exit ${code}):\n${output}`));
    });
  });
}

/** The newest *.vsix in `dir` (for a suite that installs what `npm run package` built), or null. */
export function newestVsix(dir: string = projectRoot): string | null {
  const found = readdirSync(dir)
    .filter((f) => f.endsWith('.vsix'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return found[0] ?? null;
}
