/**
 * The bench refuses to time wrong answers: before a format is timed, the project loader
 * must read every generated entry (no silently dropped package or edge: counts, and the
 * direct / dev / optional of every version, which a lost edge changes), and every CLI run
 * must report every version, decided from the registry, with the right install scripts.
 */
import type { ProjectInventory } from '../../server/src/model/inventory';
import type { BenchProject } from './generate';
import type { BenchFormat } from './writeLockfiles';

export class BenchCheckError extends Error {
  override name = 'BenchCheckError';
}

const LOCKFILE_FORMAT: Record<BenchFormat, string> = { npm: 'package-lock-v3', yarn: 'yarn-classic', pnpm: 'pnpm-9' };

interface Flags {
  direct: boolean;
  dev: boolean;
  optional: boolean;
}

function fail(what: string, problems: string[]): never {
  const shown = problems.slice(0, 8).map((p) => `  - ${p}`).join('\n');
  throw new BenchCheckError(`${what}: ${problems.length} problem(s)\n${shown}${problems.length > 8 ? '\n  ...' : ''}`);
}

/** Compares per-version flags with what the generator built. */
function compareFlags(project: BenchProject, label: string, actual: Map<string, Flags>): string[] {
  const problems: string[] = [];
  const { expected } = project;
  for (const p of project.packages) {
    const key = `${p.name}@${p.version}`;
    const got = actual.get(key);
    if (!got) {
      problems.push(`${label}: ${key} is missing`);
      continue;
    }
    for (const flag of ['direct', 'dev', 'optional'] as const) {
      if (got[flag] !== expected[flag][p.index]) problems.push(`${label}: ${key} ${flag}=${got[flag]}, expected ${expected[flag][p.index]}`);
    }
  }
  if (actual.size !== project.expected.versions) {
    problems.push(`${label}: ${actual.size} distinct name@version, expected ${project.expected.versions}`);
  }
  return problems;
}

/** loadProject's result for a generated project: every entry, every edge, no problem. */
export function verifyInventory(project: BenchProject, format: BenchFormat, inventory: ProjectInventory): void {
  const label = `${format} ${project.size}`;
  const problems: string[] = inventory.problems.map((p) => `loader problem in ${p.file}: ${p.message}`);
  const lockfile = inventory.lockfile;
  if (!lockfile) fail(`${label}: no lockfile was read`, problems);
  if (lockfile.format !== LOCKFILE_FORMAT[format]) problems.push(`format ${lockfile.format}, expected ${LOCKFILE_FORMAT[format]}`);
  if (lockfile.packages.length !== project.expected.entries[format]) {
    problems.push(`${lockfile.packages.length} lockfile entries, expected ${project.expected.entries[format]} — the parser dropped or invented entries`);
  }
  const flags = new Map<string, Flags>();
  for (const pkg of lockfile.packages) {
    if (pkg.source !== 'registry') problems.push(`${pkg.id}: source ${pkg.source}, expected registry`);
    const key = `${pkg.name}@${pkg.version}`;
    const seen = flags.get(key);
    // Copies merge the way the audit merges them (analysis/audit.ts).
    if (seen) flags.set(key, { direct: seen.direct || pkg.direct, dev: seen.dev && pkg.dev, optional: seen.optional && pkg.optional });
    else flags.set(key, { direct: pkg.direct, dev: pkg.dev, optional: pkg.optional });
  }
  problems.push(...compareFlags(project, 'lockfile', flags));
  if (problems.length) fail(`${label}: the parsed lockfile does not match the generated project`, problems);
}

export interface ReportSummary {
  packages: number;
  withInstallScripts: number;
  gyp: number;
}

/** The CLI's JSON report of a generated project. */
export function verifyReport(project: BenchProject, format: BenchFormat, reportText: string): ReportSummary {
  const label = `${format} ${project.size} CLI report`;
  let report: { packages?: Record<string, unknown>[] };
  try {
    report = JSON.parse(reportText) as typeof report;
  } catch (error) {
    fail(label, [`stdout is not JSON (${(error as Error).message}): ${reportText.slice(0, 200)}`]);
  }
  const packages = report.packages ?? [];
  const problems: string[] = [];
  const flags = new Map<string, Flags>();
  let withInstallScripts = 0;
  let gyp = 0;
  for (const p of packages) {
    const key = `${String(p.name)}@${String(p.version)}`;
    if (p.evidence !== 'registry' || p.known !== true) {
      problems.push(`${key}: evidence ${String(p.evidence)}, known ${String(p.known)}${p.error ? ` (${String(p.error)})` : ''}`);
    }
    if (p.installScripts) withInstallScripts++;
    if (p.gyp === true) gyp++;
    flags.set(key, { direct: p.direct === true, dev: p.dev === true, optional: p.optional === true });
  }
  if (packages.length !== project.expected.versions) problems.push(`${packages.length} packages reported, expected ${project.expected.versions}`);
  if (withInstallScripts !== project.expected.runsInstallCode) {
    problems.push(`${withInstallScripts} packages with install scripts, expected ${project.expected.runsInstallCode}`);
  }
  if (gyp < project.expected.gypOnly) problems.push(`${gyp} gyp packages, expected at least ${project.expected.gypOnly}`);
  problems.push(...compareFlags(project, 'report', flags));
  if (problems.length) fail(label, problems);
  return { packages: packages.length, withInstallScripts, gyp };
}
