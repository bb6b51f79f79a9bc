/**
 * The benchmark's result rows and their plain-text table, with the targets (printed, not
 * asserted): warm audit of 5k packages < 0.5 s and of 20k < 2 s, whole process; peak RSS
 * < 250 MB at 20k.
 */
import type { BenchFormat } from './writeLockfiles';
import type { Timing } from './measure';

export interface BenchRow {
  format: BenchFormat;
  size: number;
  /** Lockfile entries (install paths / snapshots / resolutions), size = unique versions. */
  entries: number;
  lockfileBytes: number;
  /** Size of the package-lock.json whose JSON.parse is the baseline. */
  jsonBaselineBytes: number;
  parseMs: { median: number; min: number; runs: number };
  jsonParseMs: { median: number; min: number; runs: number };
  warm: Timing & { peakMb: number; registryRequests: number };
  /** Whole process: node start + read + JSON.parse of the package-lock of the same set. */
  floor: Timing;
  /** Null where the cold run was measured once, on another format of the same set. */
  cold: { wallMs: number; peakMb: number | null; registryRequests: number } | null;
}

export const TARGETS = {
  warmSeconds: new Map<number, number>([
    [5000, 0.5],
    [20_000, 2],
  ]),
  peakMb: new Map<number, number>([[20_000, 250]]),
};

const FORMAT_LABEL: Record<BenchFormat, string> = { npm: 'package-lock v3', yarn: 'yarn.lock v1', pnpm: 'pnpm-lock 9.0' };

/** "warm<0.5s ok", "peak<250MB MISSED" ... for one row; '-' when no target applies. */
export function targetVerdicts(row: BenchRow): string[] {
  const verdicts: string[] = [];
  const warmTarget = TARGETS.warmSeconds.get(row.size);
  if (warmTarget !== undefined) {
    verdicts.push(`warm<${warmTarget}s ${row.warm.medianMs / 1000 < warmTarget ? 'ok' : 'MISSED'}`);
  }
  const peakTarget = TARGETS.peakMb.get(row.size);
  if (peakTarget !== undefined) {
    const peak = Math.max(row.warm.peakMb, row.cold?.peakMb ?? 0);
    verdicts.push(`peak<${peakTarget}MB ${peak < peakTarget ? 'ok' : 'MISSED'}`);
  }
  return verdicts;
}

export function formatTable(rows: BenchRow[]): string {
  const header = [
    'format', 'size', 'entries', 'lock MB', 'parse ms', 'JSON.parse ms', 'ratio',
    'warm s (min)', 'floor s', 'x floor', 'cold s', 'peak MB warm/cold', 'targets',
  ];
  const body = rows.map((r) => [
    FORMAT_LABEL[r.format],
    String(r.size),
    String(r.entries),
    (r.lockfileBytes / 1e6).toFixed(2),
    r.parseMs.median.toFixed(1),
    r.jsonParseMs.median.toFixed(1),
    `${(r.parseMs.median / r.jsonParseMs.median).toFixed(1)}x`,
    `${(r.warm.medianMs / 1000).toFixed(2)} (${(r.warm.minMs / 1000).toFixed(2)})`,
    (r.floor.medianMs / 1000).toFixed(2),
    `${(r.warm.medianMs / r.floor.medianMs).toFixed(1)}x`,
    r.cold ? (r.cold.wallMs / 1000).toFixed(1) : '(npm)',
    `${r.warm.peakMb.toFixed(0)} / ${r.cold?.peakMb?.toFixed(0) ?? '-'}`,
    targetVerdicts(r).join(', ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i <= 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ').trimEnd();
  const notes = [
    'parse ms: the format\'s parser on the text, in process, median; JSON.parse ms: JSON.parse of the package-lock.json',
    '  of the same package set (for yarn/pnpm too: a JSON lockfile of equal content), timed interleaved; ratio = parse / JSON.parse.',
    'warm s: built CLI, whole process, cache primed, median (fastest); x floor = warm median / floor; floor s: whole process `node -e JSON.parse(readFileSync(package-lock.json))`.',
    'cold s: empty cache, every packument fetched from the loopback registry; above 1k measured once, on package-lock',
    '  (the cache it fills is format-independent and primes the other formats\' warm runs).',
    'peak MB: RSS high-water mark of the CLI process (getrusage maxRSS).',
  ];
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line), '', ...notes].join('\n');
}
