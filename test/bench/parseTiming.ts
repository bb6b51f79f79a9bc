/**
 * Parser timing in a process of its own: the format's parser on the lockfile text and a
 * bare JSON.parse of the package-lock.json of the same package set, interleaved, median.
 *
 * Why a separate process: the bench's own process holds the generated projects and the
 * loopback registry's 20k manifests, and every allocation-heavy call there pays for
 * collecting that big heap — JSON.parse of a 9 MB lockfile measured 2-3x slower in it than
 * in a clean process. Here only the parser is loaded, as in the CLI.
 *
 *   node --expose-gc --import tsx test/bench/parseTiming.ts <npm|yarn|pnpm> <lockfile> <package-lock.json> <runs>
 * prints {"parse": Timing, "json": Timing} on stdout.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Lockfile } from '../../server/src/model/inventory';
import { parseNpmLock } from '../../server/src/parse/npmLock';
import { parsePnpmLock } from '../../server/src/parse/pnpmLock';
import { parseYarnLock } from '../../server/src/parse/yarnLock';
import { projectRoot } from '../support/sharedFixtures';
import { timeInterleaved, type Timing } from './measure';
import type { BenchFormat } from './writeLockfiles';

export const PARSERS: Record<BenchFormat, (file: string, text: string) => Lockfile> = {
  npm: parseNpmLock,
  yarn: parseYarnLock,
  pnpm: parsePnpmLock,
};

export interface ParseTimings {
  parse: Timing;
  json: Timing;
}

/** Runs this file in a fresh node and returns its timings. */
export function timeParseInChild(format: BenchFormat, lockfile: string, jsonLockfile: string, runs: number, env: NodeJS.ProcessEnv): ParseTimings {
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', __filename, format, lockfile, jsonLockfile, String(runs)],
    { cwd: projectRoot, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (result.status !== 0) throw new Error(`parse timing of ${lockfile} failed (exit ${result.status}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as ParseTimings;
}

function runAsScript(argv: string[]): void {
  const [format, lockfile, jsonLockfile, runs] = argv as [BenchFormat, string, string, string];
  const parse = PARSERS[format];
  if (!parse || !lockfile || !jsonLockfile || !(Number(runs) > 0)) {
    throw new Error('usage: parseTiming.ts <npm|yarn|pnpm> <lockfile> <package-lock.json> <runs>');
  }
  const text = readFileSync(lockfile, 'utf8');
  const jsonText = readFileSync(jsonLockfile, 'utf8');
  // Each result is dropped right away, so the next run starts on the same small heap.
  const timings = timeInterleaved(Number(runs), {
    parse: () => {
      if (parse(lockfile, text).packages.length === 0) throw new Error(`${lockfile}: no packages`);
    },
    json: () => {
      if (typeof JSON.parse(jsonText) !== 'object') throw new Error(`${jsonLockfile}: not an object`);
    },
  });
  process.stdout.write(JSON.stringify(timings));
}

if (require.main === module) runAsScript(process.argv.slice(2));
