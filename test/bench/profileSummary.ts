/**
 * Where the time goes in a CLI run: reads a V8 .cpuprofile written by
 * `node --cpu-prof --cpu-prof-dir <dir> dist/cli/install-guard.js audit ...` and prints
 * self time per source file and per function, mapped back through the bundle's source
 * map (dist/cli/install-guard.js.map) to server/src/... and node_modules/... files.
 *
 *   node --import tsx test/bench/profileSummary.ts <file.cpuprofile> [--top 30]
 *
 * Also used by run.ts --profile, which profiles one warm run per size and prints this.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  where: string;
  selfMs: number;
}

export interface ProfileSummaryResult {
  totalMs: number;
  byFile: ProfileLine[];
  byFunction: ProfileLine[];
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(url: string): SourceMap | null {
  if (!maps.has(url)) {
    const file = url.startsWith('file://') ? new URL(url).pathname : url;
    const mapFile = `${file}.map`;
    maps.set(url, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8'))) : null);
  }
  return maps.get(url)!;
}

/** Shortens `../../server/src/x.ts` and `.../node_modules/a/b.js` to something readable. */
function shortPath(path: string): string {
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm);
  const src = path.search(/(server|client|test)\/src\/|test\//);
  return src >= 0 ? path.slice(src) : path;
}

function locate(frame: CallFrame): { file: string; fn: string } {
  const name = frame.functionName || '(anonymous)';
  if (!frame.url) return { file: `(${name})`, fn: name };
  const map = sourceMapFor(frame.url);
  if (map) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
    if (entry.originalSource) {
      const file = shortPath(entry.originalSource);
      return { file, fn: `${file}:${name} (line ${(entry.originalLine ?? 0) + 1})` };
    }
  }
  const file = frame.url.startsWith('node:') ? frame.url : shortPath(frame.url);
  return { file, fn: `${file}:${name}` };
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummaryResult {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const files = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { file, fn } = locate(byId.get(id)!.callFrame);
    files.set(file, (files.get(file) ?? 0) + us);
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const list = (m: Map<string, number>) =>
    [...m].map(([where, us]) => ({ where, selfMs: us / 1000 })).sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  return { totalMs: (profile.endTime - profile.startTime) / 1000, byFile: list(files), byFunction: list(fns) };
}

export function formatProfileSummary(summary: ProfileSummaryResult): string {
  const rows = (lines: ProfileLine[]) => lines.map((l) => `  ${l.selfMs.toFixed(1).padStart(8)} ms  ${l.where}`);
  return [
    `profiled ${summary.totalMs.toFixed(0)} ms (self time; module loading and GC appear as (program) / (garbage collector))`,
    'by file:',
    ...rows(summary.byFile),
    'by function:',
    ...rows(summary.byFunction),
  ].join('\n');
}

if (require.main === module) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' } } });
  if (positionals.length !== 1) {
    console.error('usage: node --import tsx test/bench/profileSummary.ts <file.cpuprofile> [--top N]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as CpuProfile;
  console.log(formatProfileSummary(summarizeProfile(profile, Number(values.top ?? 25))));
}
