/**
 * `npm run bench`: Install Guard on generated lockfiles of 1k, 5k and 20k packages in
 * three formats (package-lock v3, yarn.lock classic, pnpm-lock 9.0), against a loopback
 * registry that serves every version:
 *
 *   parse ms      the format's parser on the lockfile text, in process (median; in a clean
 *                 node of its own, see parseTiming.ts);
 *   JSON.parse ms a bare JSON.parse of the package-lock.json of the same package set,
 *                 timed interleaved with the parser — the floor any parser is held to;
 *   warm s        the built CLI, whole process (spawn to exit), cache primed by the cold run;
 *   floor s       whole process `node -e 'JSON.parse(readFileSync(package-lock.json))'`;
 *   cold s        the CLI with an empty cache dir (every packument fetched), measured once;
 *   peak MB       the CLI's RSS high-water mark (getrusage via test/bench/maxRss.cjs).
 *
 * Every generated lockfile is first read back with loadProject and checked against the
 * generator's own counts and graph (verify.ts), and every CLI report is checked too: a
 * parser that drops entries fails the bench instead of looking fast.
 *
 * Two more sections follow the CLI table:
 *   lsp           the language server's latency, didChange -> publishDiagnostics, warm (lsp.ts);
 *   provenance    what verifying signatures and attestations costs (provenance.ts; needs
 *                 ../shared/fixtures, skipped without it).
 *
 * Options: --sizes 1000,5000 --formats npm,pnpm --keep (leave the temp dir),
 * --profile warm|cold (one extra CPU-profiled warm run, or profile the cold run, of each
 * format and size; prints self time by source file and function, keeps the .cpuprofile
 * in test/bench/results/), --profile lsp (profile the LSP section's timed changes),
 * --sections cli,lsp,provenance (default all), --changes 20 (LSP changes per case).
 * Pass them after `--`: npm run bench -- --sizes 5000 --profile warm.
 * IG_BENCH_CLI=<file> runs another build of the CLI than dist/cli/install-guard.js.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadProject } from '../../server/src/parse/project';
import { projectRoot, SHARED_MISSING } from '../support/sharedFixtures';
import { startLoopbackRegistry } from '../support/loopbackRegistry';
import { isolatedNpmEnv } from '../support/runCli';
import { generateProject, registryManifests, type BenchProject } from './generate';
import { benchLspLatency, formatLspTable, type LspLatencyRow } from './lsp';
import { childEnv, floorArgs, spawnMeasured, summarize, type ProcessRun, type Timing } from './measure';
import { timeParseInChild } from './parseTiming';
import { formatProfileSummary, summarizeProfile } from './profileSummary';
import { benchProvenance, provenanceFixturesPresent } from './provenance';
import { formatTable, type BenchRow } from './table';
import { verifyInventory, verifyReport } from './verify';
import { BENCH_FORMATS, LOCKFILE_NAME, lockfileText, writeProject, type BenchFormat } from './writeLockfiles';

const DEFAULT_SIZES = [1000, 5000, 20_000];
/** Above this size the cold run (dominated by fetching every packument, whatever the format) runs for package-lock only. */
const COLD_EVERY_FORMAT_UP_TO = 1000;
const CLI_TIMEOUT_MS = 10 * 60_000;
const RESULTS_DIR = join(__dirname, 'results');

const parseRuns = (size: number) => (size <= 1000 ? 15 : size <= 5000 ? 7 : 3);
const warmRuns = (size: number) => (size <= 5000 ? 5 : 3);
const FLOOR_RUNS = 3;
const SECTIONS = ['cli', 'lsp', 'provenance'] as const;
type Section = (typeof SECTIONS)[number];

interface Context {
  /** Profile one extra warm run, or the cold run, of every format and size (--profile warm|cold). */
  profile: 'warm' | 'cold' | null;
  keep: boolean;
  cli: string;
  env: NodeJS.ProcessEnv;
  work: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string' }, formats: { type: 'string' }, keep: { type: 'boolean' }, profile: { type: 'string' },
      sections: { type: 'string' }, changes: { type: 'string' },
    },
  });
  const profileArg = values.profile ?? null;
  if (profileArg !== null && profileArg !== 'warm' && profileArg !== 'cold' && profileArg !== 'lsp') throw new Error('--profile takes warm, cold or lsp');
  const profile = profileArg === 'lsp' ? null : profileArg;
  const sections = values.sections ? (values.sections.split(',') as Section[]) : [...SECTIONS];
  for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`unknown section ${s} (known: ${SECTIONS.join(', ')})`);
  const sizes = values.sizes ? values.sizes.split(',').map(Number) : DEFAULT_SIZES;
  const formats = values.formats ? (values.formats.split(',') as BenchFormat[]) : [...BENCH_FORMATS];
  for (const f of formats) if (!BENCH_FORMATS.includes(f)) throw new Error(`unknown format ${f} (known: ${BENCH_FORMATS.join(', ')})`);
  const cli = process.env.IG_BENCH_CLI ?? join(projectRoot, 'dist', 'cli', 'install-guard.js');
  if (sections.includes('cli') && !existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  if (!(globalThis as { gc?: unknown }).gc) console.warn('bench: run with --expose-gc for steadier in-process timings');

  const started = Date.now();
  const loadBefore = loadavg();
  const ctx: Context = { profile, keep: values.keep ?? false, cli, env: childEnv(isolatedNpmEnv()), work: mkdtempSync(join(tmpdir(), 'ig-bench-')) };
  if (loadBefore[0]! > cpus().length) {
    console.warn(`bench: load average ${loadBefore[0]!.toFixed(1)} on ${cpus().length} cores — other work is running; figures will be inflated`);
  }
  const rows: BenchRow[] = [];
  let lspRows: LspLatencyRow[] = [];
  let provenance: string[] | null = null;
  try {
    if (sections.includes('cli')) {
      for (const size of sizes) {
        const sizeStart = Date.now();
        rows.push(...(await benchSize(ctx, size, formats)));
        console.log(`bench: ${size} done in ${((Date.now() - sizeStart) / 1000).toFixed(0)} s`);
      }
    }
    if (sections.includes('lsp')) {
      const lspStart = Date.now();
      lspRows = await benchLspLatency({ changes: Number(values.changes ?? 20), profile: profileArg === 'lsp' });
      console.log(`bench: lsp done in ${((Date.now() - lspStart) / 1000).toFixed(0)} s`);
    }
    if (sections.includes('provenance')) {
      if (provenanceFixturesPresent()) {
        console.log('\n--- provenance (test/bench/provenance.ts) ---');
        provenance = await benchProvenance();
      } else console.log(`bench: provenance section skipped: ${SHARED_MISSING}`);
    }
    const totalS = (Date.now() - started) / 1000;
    if (rows.length) console.log(`\n${formatTable(rows)}`);
    if (lspRows.length) console.log(`\nLanguage server latency (test/bench/lsp.ts)\n${formatLspTable(lspRows)}`);
    if (provenance) console.log(`\nProvenance (test/bench/provenance.ts)\n${provenance.join('\n')}`);
    console.log(`\nload average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadavg().map((l) => l.toFixed(2)).join(' ')} after; total ${totalS.toFixed(0)} s`);
    const results = {
      date: new Date(started).toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? null,
      loadAverage: { before: loadBefore, after: loadavg() },
      commit: gitCommit(),
      cli,
      totalSeconds: totalS,
      sections,
      jsonParseBaseline: 'JSON.parse of the package-lock.json (v3) of the same generated package set, for every format',
      rows,
      lsp: lspRows,
      provenance,
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
    console.log(`results: ${join(RESULTS_DIR, 'latest.json')}`);
  } finally {
    if (!values.keep) rmSync(ctx.work, { recursive: true, force: true });
    else console.log(`bench: projects kept in ${ctx.work}`);
  }
}

async function benchSize(ctx: Context, size: number, formats: BenchFormat[]): Promise<BenchRow[]> {
  const genStart = performance.now();
  const project = generateProject(size);
  const texts = new Map<BenchFormat, string>();
  const dirs = new Map<BenchFormat, string>();
  // The package-lock is always written: it is every format's JSON.parse baseline.
  for (const format of new Set<BenchFormat>(['npm', ...formats])) {
    const text = lockfileText(project, format);
    texts.set(format, text);
    dirs.set(format, writeProject(ctx.work, project, format, text));
  }
  console.log(`bench: ${size} packages generated in ${Math.round(performance.now() - genStart)} ms ` +
    `(${project.packages.filter((p) => p.twinOf !== null).length} nested duplicates, ${project.packages.filter((p) => p.peer).length} peer consumers, ` +
    `${project.expected.runsInstallCode} with install code)`);
  for (const format of formats) verifyInventory(project, format, await loadProject(dirs.get(format)!));
  console.log(`bench: ${size}: ${formats.join(', ')} lockfiles read back complete`);

  const registry = await startLoopbackRegistry({ manifests: registryManifests(project) });
  const rows: BenchRow[] = [];
  let primedCache: string | null = null;
  try {
    for (const format of formats) {
      const row = await benchFormat(ctx, project, format, texts, dirs, registry, primedCache);
      primedCache ??= row.cacheDir;
      rows.push(row.row);
      console.log(`bench: ${format} ${size}: parse ${row.row.parseMs.median.toFixed(1)} ms, warm ${(row.row.warm.medianMs / 1000).toFixed(2)} s` +
        (row.row.cold ? `, cold ${(row.row.cold.wallMs / 1000).toFixed(1)} s` : ''));
    }
  } finally {
    await registry.close();
  }
  // pacote's HTTP cache holds one entry per package (~300 MB at 20k): free the disk now.
  if (!ctx.keep) for (const format of formats) rmSync(join(ctx.work, `cache-${format}-${size}`), { recursive: true, force: true });
  return rows;
}

async function benchFormat(
  ctx: Context,
  project: BenchProject,
  format: BenchFormat,
  texts: Map<BenchFormat, string>,
  dirs: Map<BenchFormat, string>,
  registry: { url: string; requests: unknown[] },
  primedCache: string | null,
): Promise<{ row: BenchRow; cacheDir: string }> {
  const size = project.size;
  const dir = dirs.get(format)!;
  const file = join(dir, LOCKFILE_NAME[format]);
  const text = texts.get(format)!;
  const npmText = texts.get('npm')!;
  const timings = timeParseInChild(format, file, join(dirs.get('npm')!, LOCKFILE_NAME.npm), parseRuns(size), ctx.env);

  const cacheDir = join(ctx.work, `cache-${format}-${size}`);
  const reportFile = join(ctx.work, `report-${format}-${size}.json`);
  const audit = async (nodeFlags: string[] = []): Promise<ProcessRun> => {
    const run = await spawnMeasured({
      args: [...nodeFlags, ctx.cli, 'audit', dir, '--format', 'json', '--registry', registry.url, '--cache', cacheDir, '--quiet'],
      env: ctx.env,
      stdoutFile: reportFile,
      scratchDir: ctx.work,
      timeoutMs: CLI_TIMEOUT_MS,
    });
    if (run.code !== 0 && run.code !== 1) throw new Error(`install-guard audit ${format} ${size} exited ${run.code}\n${run.stderr}`);
    verifyReport(project, format, readFileSync(reportFile, 'utf8'));
    return run;
  };

  let cold: (ProcessRun & { requests: number }) | null = null;
  if (size <= COLD_EVERY_FORMAT_UP_TO || primedCache === null) {
    const before = registry.requests.length;
    const run = await audit();
    cold = { ...run, requests: registry.requests.length - before };
  } else {
    // Facts are keyed by registry and name@version, not by lockfile format: the cache the
    // first format's cold run filled is exactly the one this format's cold run would fill.
    // pacote's HTTP cache (_cacache, hundreds of MB at 20k) is left behind: a warm run answers
    // from the facts file and never reads it — a miss would show up as registry requests.
    cpSync(primedCache, cacheDir, { recursive: true, filter: (src) => !src.includes('_cacache') });
  }
  const warmBefore = registry.requests.length;
  const warm: ProcessRun[] = [];
  for (let i = 0; i < warmRuns(size); i++) warm.push(await audit());
  const warmRequests = registry.requests.length - warmBefore;
  if (warmRequests > 0) console.warn(`bench: ${format} ${size}: the warm runs sent ${warmRequests} registry requests — the cache did not answer everything`);
  // A profiled run is extra: --cpu-prof slows the process, so it is never one of the timed runs.
  if (ctx.profile === 'warm') await audit(profileFlags(ctx, `warm-${format}-${size}`));
  if (ctx.profile === 'cold' && cold) {
    rmSync(cacheDir, { recursive: true, force: true });
    await audit(profileFlags(ctx, `cold-${format}-${size}`));
  }
  if (ctx.profile) printProfile(ctx, `${ctx.profile}-${format}-${size}`);

  const floor: number[] = [];
  for (let i = 0; i < FLOOR_RUNS; i++) {
    const run = await spawnMeasured({
      args: floorArgs(join(dirs.get('npm')!, LOCKFILE_NAME.npm)),
      env: ctx.env,
      stdoutFile: join(ctx.work, 'floor.out'),
      scratchDir: ctx.work,
      timeoutMs: CLI_TIMEOUT_MS,
    });
    floor.push(run.wallMs);
  }

  const warmTiming: Timing = summarize(warm.map((r) => r.wallMs));
  const row: BenchRow = {
    format,
    size,
    entries: project.expected.entries[format],
    lockfileBytes: Buffer.byteLength(text),
    jsonBaselineBytes: Buffer.byteLength(npmText),
    parseMs: ms(timings.parse),
    jsonParseMs: ms(timings.json),
    warm: { ...warmTiming, peakMb: Math.max(...warm.map((r) => r.peakMb ?? NaN)), registryRequests: warmRequests },
    floor: summarize(floor),
    cold: cold ? { wallMs: cold.wallMs, peakMb: cold.peakMb, registryRequests: cold.requests } : null,
  };
  return { row, cacheDir };
}

function profileFlags(ctx: Context, name: string): string[] {
  return ['--cpu-prof', '--cpu-prof-dir', join(ctx.work, 'profiles', name)];
}

/** Prints where the time went in the profiled run (and keeps the .cpuprofile in the results dir). */
function printProfile(ctx: Context, name: string): void {
  const dir = join(ctx.work, 'profiles', name);
  const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
  if (!file) return;
  const kept = join(RESULTS_DIR, `${name}.cpuprofile`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  cpSync(join(dir, file), kept);
  const summary = summarizeProfile(JSON.parse(readFileSync(kept, 'utf8')), 20);
  console.log(`\nprofile ${name} (${kept}):\n${formatProfileSummary(summary)}\n`);
}

function ms(t: Timing): BenchRow['parseMs'] {
  return { median: t.medianMs, min: t.minMs, runs: t.runs.length };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error)?.stack ?? String(error)}`);
  process.exitCode = 1;
});
