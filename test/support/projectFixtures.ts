/**
 * Our own generated sample projects (test/fixtures/projects, see its README) and the
 * registry manifests a loopback registry serves for them.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './sharedFixtures';
import { tempDir } from './runCli';
import type { LoopbackRegistryOptions } from './loopbackRegistry';

export const PROJECTS_DIR = join(projectRoot, 'test', 'fixtures', 'projects');

let cached: { manifests: Record<string, Record<string, any>>; time: Record<string, Record<string, string>> } | null = null;

/** Options for startLoopbackRegistry serving every version the sample projects lock. */
export function projectRegistryOptions(): Pick<LoopbackRegistryOptions, 'manifests' | 'time'> {
  cached ??= JSON.parse(readFileSync(join(PROJECTS_DIR, 'manifests.json'), 'utf8'));
  return { manifests: new Map(Object.entries(cached!.manifests)), time: cached!.time };
}

/** A throwaway copy of a sample project, so a test may add files or install into it. */
export function copyProject(name: string): string {
  const dir = join(tempDir('ig-project-'), name);
  cpSync(join(PROJECTS_DIR, name), dir, { recursive: true });
  return dir;
}
