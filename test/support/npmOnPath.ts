/**
 * The npm the tests that run npm itself use: its version and, when it cannot take part,
 * why (asked synchronously: the skip decision is needed when the tests are declared).
 */
import { spawnSync } from 'node:child_process';
import semver from 'semver';

export function npmOnPath(env: NodeJS.ProcessEnv): { version: string | null; skip: string | false } {
  const r = spawnSync('npm', ['--version'], { encoding: 'utf8', env: { ...env, npm_config_update_notifier: 'false' } });
  const version = r.status === 0 && semver.valid(r.stdout.trim()) ? r.stdout.trim() : null;
  const skip =
    version === null ? 'npm is not on PATH'
    : !semver.gte(version, '11.16.0') ? `npm ${version} predates allowScripts (needs ≥ 11.16)`
    : process.platform === 'win32' ? 'the --script-shell trap is a POSIX shell script'
    : false;
  return { version, skip };
}
