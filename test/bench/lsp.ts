/**
 * The language server's latency while the user edits (product issue #5): time from a
 * didChange to the publishDiagnostics that reflects it, over the real protocol — the
 * in-process server and a real LSP client over two streams (test/support/lspClient.ts),
 * against the loopback registry serving the generated packages — with a warm cache (one
 * full analysis done, the facts cache primed).
 *
 *   package.json   a project of 100 direct dependencies (generate.ts at 2.5k locked
 *                  packages: it declares size/25), package.json open; each change edits a
 *                  dependency's range text and adds or removes an allowScripts entry for a
 *                  package that runs an install script, so the diagnostic on package.json
 *                  that names it disappears or comes back: that publish is the change's.
 *   lockfile       a 5k-package package-lock v3, the lockfile open; each change adds or
 *                  removes a line in the lockfile's first entry, which moves the
 *                  diagnostic of a later install-script entry one line down or back up.
 *
 * Changes are sent the way VS Code sends them to a server that asked for incremental
 * sync: the edited range only, not the whole text. Every figure includes the server's
 * debounce (workspaceAnalyzer.ts DEFAULT_DEBOUNCE_MS). The total is split where the server's analysis
 * run starts (WorkspaceAnalyzer's `analyze`, timed by wrapping it in this process — the
 * server runs here): "to start" = didChange dispatch + the debounce timer; "analysis" =
 * the run, the diagnostics, the publish and its delivery to the client.
 *
 * Standalone: node --expose-gc --import tsx test/bench/lsp.ts [--changes 20] [--profile]
 * (--profile: a CPU profile of the timed changes only, printed by file and function and
 * kept in test/bench/results/).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DidChangeTextDocumentNotification, type Diagnostic, type TextDocumentContentChangeEvent } from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { DEFAULT_DEBOUNCE_MS, WorkspaceAnalyzer } from '../../server/src/lsp/workspaceAnalyzer';
import { startLoopbackRegistry } from '../support/loopbackRegistry';
import { startTestClient, type TestClient } from '../support/lspClient';
import { generateProject, registryManifests, type BenchPackage, type BenchProject } from './generate';
import { formatProfileSummary, summarizeProfile } from './profileSummary';
import { LOCKFILE_NAME, npmLockText, packageJsonText } from './writeLockfiles';

/** generate.ts declares size/25 direct dependencies: 2.5k locked packages -> 100. */
const PACKAGE_JSON_PROJECT_SIZE = 2500;
const LOCKFILE_PROJECT_SIZE = 5000;
/** The server's default; the bench does not change it. */
export const SERVER_DEBOUNCE_MS = DEFAULT_DEBOUNCE_MS;
export const LSP_TARGETS_MS = { 'package.json': 50, lockfile: 300 } as const;
/** Untimed changes first: the JIT and the server's caches settle on the edit path. */
const WARMUP_CHANGES = 3;
/** A pause between changes, as between keystrokes: the previous change's work is over. */
const PAUSE_MS = 30;
const RESULTS_DIR = join(__dirname, 'results');

export type LspCase = keyof typeof LSP_TARGETS_MS;

export interface LatencySummary {
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

export interface LspLatencyRow {
  case: LspCase;
  lockedPackages: number;
  directDependencies: number;
  fileBytes: number;
  changes: number;
  /** didChange sent -> the publishDiagnostics that reflects it arrived (debounce included). */
  total: LatencySummary;
  /** didChange sent -> the server's analysis run starts: dispatch + debounce. */
  toStart: LatencySummary;
  /** The run starts -> the client has the publish: analysis, diagnostics, publish, delivery. */
  analysis: LatencySummary;
  /**
   * CPU time of this process (server and client, all threads) from the change to the publish:
   * what the machine's load cannot inflate, so total ≈ debounce + this on an idle machine.
   */
  cpu: LatencySummary;
  /** Analysis runs the timed changes caused (one per change when nothing is superseded). */
  analysisRuns: number;
  targetMs: number;
  debounceMs: number;
  /** Registry requests during the timed changes, and their distinct paths. */
  registryRequests: number;
  registryPaths: string[];
  /** Changes whose first matching publish came later than the local-first delay (400 ms): maybe a local-evidence result. */
  overLocalFirst: number;
  samplesMs: number[];
}

export interface LspBenchOptions {
  changes?: number;
  /** Profile the timed changes of each case (inspector, in process); the summary is printed. */
  profile?: boolean;
  log?: (line: string) => void;
}

export async function benchLspLatency(options: LspBenchOptions = {}): Promise<LspLatencyRow[]> {
  const changes = options.changes ?? 20;
  const log = options.log ?? ((line: string) => console.log(line));
  const work = mkdtempSync(join(tmpdir(), 'ig-bench-lsp-'));
  try {
    return [
      await benchCase('package.json', generateProject(PACKAGE_JSON_PROJECT_SIZE), work, changes, options.profile ?? false, log),
      await benchCase('lockfile', generateProject(LOCKFILE_PROJECT_SIZE), work, changes, options.profile ?? false, log),
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface Sample {
  totalMs: number;
  toStartMs: number;
  cpuMs: number;
  runs: number;
}

/** One edit made the way the editor makes it: the changed range only, applied to our copy too. */
interface Edit {
  start: number;
  end: number;
  text: string;
}

interface CaseScript {
  file: string;
  /** The edit of change number i (0-based): even adds, odd takes away. */
  editsFor(text: string, i: number): Edit[];
  /** Whether the file's published diagnostics show the state after change i. */
  reflects(diagnostics: Diagnostic[], i: number): boolean;
}

async function benchCase(kind: LspCase, project: BenchProject, work: string, changes: number, profile: boolean, log: (line: string) => void): Promise<LspLatencyRow> {
  const dir = join(work, `${kind === 'lockfile' ? 'lock' : 'manifest'}-${project.size}`);
  mkdirSync(dir, { recursive: true });
  // allowScripts present from the start: an npm 11 project that reviews its install scripts.
  const manifest = JSON.parse(packageJsonText(project, 'npm')) as Record<string, unknown>;
  manifest.allowScripts = {};
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(join(dir, LOCKFILE_NAME.npm), npmLockText(project));

  const registry = await startLoopbackRegistry({ manifests: registryManifests(project) });
  const probe = probeAnalysisRuns();
  let client: TestClient | null = null;
  try {
    client = await startTestClient({ folder: dir, settings: { registry: registry.url } });
    const marked = scriptPackage(project);
    const script = kind === 'package.json' ? manifestScript(dir, project, marked) : lockfileScript(dir, marked);
    await client.open(script.file);
    // Warm: the first full analysis (every packument fetched, the facts cache filled).
    const coldStart = performance.now();
    await client.waitForStatus((s) => s.state === 'ready', 120_000);
    await client.waitForDiagnostics(script.file, (d) => script.reflects(d, -1), 60_000);
    log(`bench: lsp ${kind}: first analysis of ${project.size} packages ${Math.round(performance.now() - coldStart)} ms (${registry.requests.length} registry requests)`);

    let document = TextDocument.create(client.uri(script.file), 'json', 1, readFileSync(script.file, 'utf8'));
    let version = 1000;
    const change = async (i: number): Promise<Sample> => {
      const edits = script.editsFor(document.getText(), i);
      const contentChanges: TextDocumentContentChangeEvent[] = [];
      for (const edit of edits) {
        const c = { range: { start: document.positionAt(edit.start), end: document.positionAt(edit.end) }, text: edit.text };
        contentChanges.push(c);
        document = TextDocument.update(document, [c], ++version);
      }
      const statusFrom = client!.statuses.length;
      const runsFrom = probe.starts.length;
      let cpuDone = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const published = client!.waitForDiagnostics(script.file, (d) => script.reflects(d, i)).then(() => {
        cpuDone = cpuMs(process.cpuUsage(cpu0));
        return performance.now();
      });
      await client!.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri: document.uri, version }, contentChanges });
      const tDone = await published;
      // The final status follows the publish; the next change starts from an idle server.
      await client!.waitForStatus((s) => s.state === 'ready' && client!.statuses.indexOf(s) >= statusFrom);
      await new Promise((r) => setTimeout(r, PAUSE_MS));
      const tStart = probe.starts[runsFrom];
      if (tStart === undefined) throw new Error(`lsp ${kind}: change ${i} was published without an analysis run`);
      return { totalMs: tDone - t0, toStartMs: tStart - t0, cpuMs: cpuDone, runs: probe.starts.length - runsFrom };
    };

    let i = 0;
    for (let w = 0; w < WARMUP_CHANGES; w++) await change(i++);
    const requestsBefore = registry.requests.length;
    const session = profile ? await startProfile() : null;
    const samples: Sample[] = [];
    for (let n = 0; n < changes; n++) samples.push(await change(i++));
    const timedRequests = registry.requests.slice(requestsBefore);
    if (session) log(await stopProfile(session, `lsp-${kind}`, changes));

    const totals = samples.map((s) => s.totalMs);
    return {
      case: kind,
      lockedPackages: project.size,
      directDependencies: project.roots.length,
      fileBytes: Buffer.byteLength(readFileSync(script.file, 'utf8')),
      changes,
      total: summary(totals),
      toStart: summary(samples.map((s) => s.toStartMs)),
      analysis: summary(samples.map((s) => s.totalMs - s.toStartMs)),
      cpu: summary(samples.map((s) => s.cpuMs)),
      analysisRuns: samples.reduce((n, s) => n + s.runs, 0),
      targetMs: LSP_TARGETS_MS[kind],
      debounceMs: SERVER_DEBOUNCE_MS,
      registryRequests: timedRequests.length,
      registryPaths: [...new Set(timedRequests.map((r) => r.url))],
      overLocalFirst: totals.filter((t) => t > 400).length,
      samplesMs: totals,
    };
  } finally {
    client?.close();
    probe.restore();
    await registry.close();
  }
}

/**
 * When each analysis run of the in-process server starts: WorkspaceAnalyzer's private
 * `analyze` (called once the debounce timer fires) wrapped for the bench, unchanged otherwise.
 */
function probeAnalysisRuns(): { starts: number[]; restore(): void } {
  const proto = WorkspaceAnalyzer.prototype as unknown as { analyze: (...args: unknown[]) => Promise<void> };
  const original = proto.analyze;
  if (typeof original !== 'function') throw new Error('WorkspaceAnalyzer has no analyze method any more: update test/bench/lsp.ts');
  const starts: number[] = [];
  proto.analyze = function (this: unknown, ...args: unknown[]) {
    starts.push(performance.now());
    return original.apply(this, args);
  };
  return { starts, restore: () => void (proto.analyze = original) };
}

/** The first single-version package that runs an install script: its unreviewed finding is the marker. */
function scriptPackage(project: BenchProject): BenchPackage {
  const twinned = new Set(project.packages.filter((p) => p.twinOf !== null).map((p) => p.name));
  const found = project.packages.find((p) => p.installScripts && !twinned.has(p.name));
  if (!found) throw new Error('the generated project has no install-script package');
  return found;
}

const names = (pkg: BenchPackage) => (d: Diagnostic) =>
  d.code === 'unreviewed-install-script' && (typeof d.message === 'string' ? d.message : d.message.value).includes(`${pkg.name}@${pkg.version} `);

/** package.json: a dependency's range flips between its written form and `>=<locked>`, and `"<marked>": true` comes and goes in allowScripts. */
function manifestScript(dir: string, project: BenchProject, marked: BenchPackage): CaseScript {
  const edited = project.roots.find((r) => r.kind === 'prod')!;
  const dep = project.packages[edited.to]!;
  const ranges = [edited.range, `>=${dep.version}`];
  return {
    file: join(dir, 'package.json'),
    editsFor(text, i) {
      const key = `"${dep.name}": "`;
      const at = text.indexOf(key) + key.length;
      const range = text.slice(at, text.indexOf('"', at));
      const allow = text.indexOf('"allowScripts": {') + '"allowScripts": {'.length;
      const close = text.indexOf('}', allow);
      const allowEdit: Edit = i % 2 === 0 ? { start: allow, end: close, text: `\n    ${JSON.stringify(marked.name)}: true\n  ` } : { start: allow, end: close, text: '' };
      // Later offset first: the earlier edit's offsets stay valid.
      return [allowEdit, { start: at, end: at + range.length, text: ranges[(i + 1) % 2]! }];
    },
    // Even changes allow the package: its diagnostic goes; odd ones bring it back (-1: the initial state).
    reflects: (diagnostics, i) => diagnostics.some(names(marked)) === (i % 2 !== 0),
  };
}

/** Lockfile: a `"funding"` line comes and goes in the first entry; the marked package's entry diagnostic moves with it. */
function lockfileScript(dir: string, marked: BenchPackage): CaseScript {
  const file = join(dir, LOCKFILE_NAME.npm);
  const text = readFileSync(file, 'utf8');
  const firstEntry = text.indexOf('"node_modules/');
  const markedEntry = text.indexOf(`"node_modules/${marked.name}": {`);
  if (firstEntry >= markedEntry) throw new Error(`the marked package ${marked.name} is the lockfile's first entry`);
  const funding = '\n      "funding": "https://example.invalid/ig-bench",';
  let baseLine: number | null = null;
  const lineOf = (diagnostics: Diagnostic[]): number | null => {
    const lines = diagnostics.filter(names(marked)).map((d) => d.range.start.line);
    return lines.length ? Math.min(...lines) : null;
  };
  return {
    file,
    editsFor(current, i) {
      const versionLineEnd = current.indexOf('\n', current.indexOf('"version"', firstEntry));
      return i % 2 === 0
        ? [{ start: versionLineEnd, end: versionLineEnd, text: funding }]
        : [{ start: versionLineEnd, end: versionLineEnd + funding.length, text: '' }];
    },
    reflects(diagnostics, i) {
      const line = lineOf(diagnostics);
      if (line === null) return false;
      if (i < 0) {
        baseLine = line;
        return true;
      }
      return line === baseLine! + (i % 2 === 0 ? 1 : 0);
    },
  };
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

function summary(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { medianMs: median, p90Ms: at(0.9), minMs: sorted[0]!, maxMs: sorted[sorted.length - 1]! };
}

async function startProfile(): Promise<Session> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return session;
}

async function stopProfile(session: Session, name: string, changes: number): Promise<string> {
  const { profile } = await new Promise<{ profile: Profile }>((resolve, reject) =>
    session.post('Profiler.stop', (err, result) => (err ? reject(err) : resolve(result as never))),
  );
  session.disconnect();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const kept = join(RESULTS_DIR, `${name}.cpuprofile`);
  writeFileSync(kept, JSON.stringify(profile));
  return [
    `\nprofile ${name}, the ${changes} timed changes only (${kept}):`,
    formatProfileSummary(summarizeProfile(profile, 25)),
    `total time (self + callees) per change, Install Guard's own functions:`,
    ...inclusiveTimes(profile, /\/server\/src\//)
      .slice(0, 30)
      .map((l) => `  ${(l.ms / changes).toFixed(1).padStart(8)} ms  ${l.where}`),
    '',
  ].join('\n');
}

type Profile = Parameters<typeof summarizeProfile>[0];

/** Time in each function including what it calls (recursion counted once): the pipeline's stages. */
function inclusiveTimes(profile: Profile, urlFilter: RegExp): { where: string; ms: number }[] {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return urlFilter.test(f.url) ? `${f.url.slice(f.url.search(urlFilter) + 1)}:${f.functionName || '(anonymous)'}` : null;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((sample, i) => {
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const where = label(id);
      if (where && !seen.has(where)) {
        seen.add(where);
        totals.set(where, (totals.get(where) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
      }
    }
  });
  return [...totals].map(([where, ms]) => ({ where, ms })).sort((a, b) => b.ms - a.ms);
}

const fmt = (ms: number) => ms.toFixed(1);

export function formatLspTable(rows: LspLatencyRow[]): string {
  const header = ['case', 'locked', 'deps', 'file KB', 'changes', 'median ms', 'p90 ms', 'min-max ms', 'to start ms (median)', 'analysis ms (median/p90)', 'CPU ms (median)', 'target', 'verdict'];
  const body = rows.map((r) => [
    r.case,
    String(r.lockedPackages),
    String(r.directDependencies),
    (r.fileBytes / 1024).toFixed(0),
    String(r.changes),
    fmt(r.total.medianMs),
    fmt(r.total.p90Ms),
    `${fmt(r.total.minMs)}-${fmt(r.total.maxMs)}`,
    fmt(r.toStart.medianMs),
    `${fmt(r.analysis.medianMs)} / ${fmt(r.analysis.p90Ms)}`,
    fmt(r.cpu.medianMs),
    `< ${r.targetMs} ms`,
    `${r.total.medianMs < r.targetMs ? 'ok' : 'MISSED'} (p90 ${r.total.p90Ms < r.targetMs ? 'ok' : 'MISSED'})`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ').trimEnd();
  const warnings = rows.flatMap((r) => [
    ...(r.registryRequests ? [`note: ${r.case}: ${r.registryRequests} registry requests during the ${r.changes} timed changes: ${r.registryPaths.join(', ')}`] : []),
    ...(r.analysisRuns !== r.changes ? [`note: ${r.case}: ${r.analysisRuns} analysis runs for ${r.changes} changes`] : []),
    ...(r.overLocalFirst ? [`note: ${r.case}: ${r.overLocalFirst} changes took over 400 ms, when the server may publish a local-evidence result first`] : []),
  ]);
  return [
    line(header),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...body.map(line),
    '',
    'didChange (incremental, as VS Code sends it) -> the publishDiagnostics that reflects the change, in-process server over streams,',
    `loopback registry, warm cache; ${rows[0]?.changes ?? 0} changes each after ${WARMUP_CHANGES} untimed. Figures include the server's ${SERVER_DEBOUNCE_MS} ms debounce:`,
    `"to start" = change -> the server's analysis run starts (dispatch + the ${SERVER_DEBOUNCE_MS} ms debounce timer); "analysis" = the rest`,
    '(analysis, diagnostics, publish, delivery to the client). CPU ms: this process\'s CPU time (server + client, every thread)',
    'from the change to the publish — what load on the machine does not inflate: on an idle machine total ≈ debounce + CPU.',
    ...warnings,
  ].join('\n');
}

if (require.main === module) {
  const { values } = parseArgs({ options: { changes: { type: 'string' }, profile: { type: 'boolean' } } });
  void (async () => {
    console.log(`(machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
    const rows = await benchLspLatency({ changes: Number(values.changes ?? 20), profile: values.profile ?? false });
    console.log(`\n${formatLspTable(rows)}`);
  })().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
