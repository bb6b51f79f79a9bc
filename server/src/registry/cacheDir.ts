/**
 * Where Install Guard keeps what it learns across runs (registry facts, publish histories,
 * the CLI's compiled code). Its own module so the CLI launcher can find the directory
 * without loading the engine.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$XDG_CACHE_HOME/install-guard`, else `~/.cache/install-guard`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return xdg ? join(xdg, 'install-guard') : join(env.HOME || homedir(), '.cache', 'install-guard');
}
