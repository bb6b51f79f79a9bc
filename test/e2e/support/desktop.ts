/**
 * The desktop VS Code for the @vscode/test-electron suite. It comes from VSCODE_EXECUTABLE_PATH,
 * from an earlier download in the e2e cache, or from the VS Code update server; where none of
 * these works (this workplace has no route to the update server) the suite prints
 * `SKIP: <reason>` and the same scenarios run through code-server instead.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { downloadAndUnzipVSCode, SilentReporter } from '@vscode/test-electron';
import { e2eHome } from './codeServer';

/** Same VS Code as code-server 4.100.3, so both tiers test one editor version. */
export const DEFAULT_DESKTOP_VERSION = '1.100.3';

export type DesktopVSCode =
  | { executable: string; source: 'VSCODE_EXECUTABLE_PATH' | 'download'; reason?: undefined }
  | { executable: null; reason: string };

export interface DesktopOptions {
  /** A VS Code version or 'stable'. Default: INSTALL_GUARD_VSCODE_VERSION or DEFAULT_DESKTOP_VERSION. */
  version?: string;
  /** The whole attempt (version lookup, download, unzip) gives up after this. */
  timeoutMs?: number;
  /** Where downloads are kept (outside the repository). */
  cachePath?: string;
}

/**
 * Finds a desktop VS Code without ever throwing: a path, or null with the reason to print.
 * A cached download is reused without any network (test-electron checks the cache first when
 * the version is exact).
 */
export async function findDesktopVSCode(options: DesktopOptions = {}): Promise<DesktopVSCode> {
  const given = process.env.VSCODE_EXECUTABLE_PATH;
  if (given) {
    try {
      accessSync(given, constants.X_OK);
      return withDisplay({ executable: given, source: 'VSCODE_EXECUTABLE_PATH' });
    } catch {
      return { executable: null, reason: `VSCODE_EXECUTABLE_PATH=${given} is not an executable file` };
    }
  }
  const version = options.version ?? process.env.INSTALL_GUARD_VSCODE_VERSION ?? DEFAULT_DESKTOP_VERSION;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const cachePath = options.cachePath ?? join(e2eHome(), 'vscode-test');
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const executable = await Promise.race([
      // The library's own timeout is per idle socket; ours bounds the whole attempt.
      downloadAndUnzipVSCode({ version, cachePath, timeout: timeoutMs, reporter: new SilentReporter() }),
      deadline,
    ]);
    return withDisplay({ executable, source: 'download' });
  } catch (e) {
    const cause = e instanceof Error ? describeError(e) : String(e);
    return { executable: null, reason: `cannot download VS Code ${version} from the update server (${cause}); set VSCODE_EXECUTABLE_PATH to a desktop VS Code to run this suite` };
  } finally {
    clearTimeout(timer);
  }
}

/** Desktop VS Code is an Electron window: on Linux it needs a display (or xvfb-run to make one). */
function withDisplay(found: DesktopVSCode): DesktopVSCode {
  if (found.executable && process.platform === 'linux' && !process.env.DISPLAY && !existsSync('/usr/bin/xvfb-run')) {
    return { executable: null, reason: `VS Code is at ${found.executable} but there is no DISPLAY and no xvfb-run (Debian package xvfb)` };
  }
  return found;
}

/** The innermost cause, e.g. "getaddrinfo ENOTFOUND update.code.visualstudio.com". */
function describeError(e: Error): string {
  let current: unknown = e;
  const parts: string[] = [];
  while (current instanceof Error && parts.length < 4) {
    parts.push(current.message);
    current = (current as Error & { cause?: unknown }).cause;
  }
  return parts.filter((p, i) => p && parts.indexOf(p) === i).join(': ');
}
