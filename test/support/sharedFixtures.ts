/**
 * Where the team's shared real-world test data lives (`../shared/fixtures` beside the
 * clone). It is read in place, never copied into the project. Tests that need it skip
 * with a clear message where it is absent.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..');

export const sharedFixturesDir: string | null = (() => {
  const candidates = [
    process.env.INSTALL_GUARD_SHARED_FIXTURES,
    join(repoRoot, '..', 'shared', 'fixtures'),
  ].filter((p): p is string => !!p);
  return candidates.find((p) => existsSync(join(p, 'README.md'))) ?? null;
})();

export const SHARED_MISSING =
  'SKIP: ../shared/fixtures is absent (set INSTALL_GUARD_SHARED_FIXTURES to its path to run these tests)';

/** Path inside the shared fixtures, or null when they are absent. */
export function sharedFixture(...parts: string[]): string | null {
  return sharedFixturesDir ? join(sharedFixturesDir, ...parts) : null;
}

export const projectRoot = repoRoot;
