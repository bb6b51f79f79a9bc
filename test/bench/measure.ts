/**
 * How the benchmark measures: in-process timings as medians with a GC before each run,
 * and whole-process timings of the built CLI as wall time from spawn to exit, with the
 * child's RSS high-water mark reported by a preload (maxRss.cjs) through a file.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

export const MAXRSS_PRELOAD = join(__dirname, 'maxRss.cjs');

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(runs: number[]): Timing {
  return { medianMs: median(runs), minMs: Math.min(...runs), runs };
}

/**
 * Times several functions on the same input, interleaved run by run (a, b, a, b, ...), so
 * that both see the same machine state; a GC before each run keeps one run's garbage out
 * of the next one's figure. The first round is a warm-up (JIT) and is not counted.
 */
export function timeInterleaved(runs: number, fns: Record<string, () => unknown>): Record<string, Timing> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(fns)) samples[name] = [];
  for (let round = 0; round <= runs; round++) {
    for (const [name, fn] of Object.entries(fns)) {
      gc?.();
      const start = performance.now();
      fn();
      const elapsed = performance.now() - start;
      if (round > 0) samples[name]!.push(elapsed);
    }
  }
  const out: Record<string, Timing> = {};
  for (const [name, list] of Object.entries(samples)) out[name] = summarize(list);
  return out;
}

export interface ProcessRun {
  wallMs: number;
  /** RSS high-water mark of the child in MB (1 MB = 1024 KB, as getrusage counts), null if not reported. */
  peakMb: number | null;
  code: number | null;
  stderr: string;
}

export interface SpawnMeasuredOptions {
  args: string[];
  env: NodeJS.ProcessEnv;
  /** stdout goes to this file, as with `> file`: the parent reads nothing while the child runs. */
  stdoutFile: string;
  scratchDir: string;
  timeoutMs: number;
}

let runCounter = 0;

/** `node -r maxRss.cjs <args>`: wall time from spawn to exit, and the child's peak RSS. */
export function spawnMeasured(options: SpawnMeasuredOptions): Promise<ProcessRun> {
  const rssFile = join(options.scratchDir, `maxrss-${process.pid}-${++runCounter}.txt`);
  rmSync(rssFile, { force: true });
  const out = openSync(options.stdoutFile, 'w');
  return new Promise<ProcessRun>((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['-r', MAXRSS_PRELOAD, ...options.args], {
      env: { ...options.env, IG_BENCH_MAXRSS_FILE: rssFile },
      stdio: ['ignore', out, 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      closeSync(out);
      reject(error);
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - start;
      clearTimeout(timer);
      closeSync(out);
      if (signal) {
        reject(new Error(`${options.args.join(' ')} was killed (${signal}) after ${Math.round(wallMs)} ms\n${stderr}`));
        return;
      }
      const kb = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8')) : NaN;
      rmSync(rssFile, { force: true });
      resolve({ wallMs, peakMb: Number.isFinite(kb) ? kb / 1024 : null, code, stderr });
    });
  });
}

/**
 * The whole-process floor for a lockfile: start node, read the file, JSON.parse it, exit.
 * No audit of that lockfile can take less than this on this machine.
 */
export function floorArgs(jsonFile: string): string[] {
  return ['-e', 'JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"))', jsonFile];
}

/** The environment for child processes: no NODE_OPTIONS from the caller (the CLI is measured alone). */
export function childEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...base };
  delete env.NODE_OPTIONS;
  return env;
}
