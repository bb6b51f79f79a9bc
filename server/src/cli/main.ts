/**
 * `install-guard` entry point: parse arguments, run the engine, print the report, and
 * exit 0 (nothing at or above --fail-on), 1 (findings at or above it) or 2 (usage or
 * fatal error). Reports go to stdout (or --output); progress and errors to stderr.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { atOrAbove } from '../analysis/findings';
import { runAudit, type AuditRun } from '../engine';
import { LOCKFILE_KINDS } from '../parse/project';
import { toJsonReport } from '../report/jsonReport';
import { writeJson } from '../report/jsonStream';
import { toSarifReport } from '../report/sarifReport';
import { toTextReport } from '../report/textReport';
import { HELP, parseCliArgs, UsageError, type AuditArgs } from './args';
import { editAllowlist } from './editCommand';
import { ProgressLine } from './progress';

declare const INSTALL_GUARD_VERSION: string | undefined;
const VERSION = typeof INSTALL_GUARD_VERSION === 'string' ? INSTALL_GUARD_VERSION : '0.0.0-dev';

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`install-guard: ${error.message}\nRun \`install-guard help\` for usage.\n`);
    return 2;
  }
  switch (args.command) {
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'help':
      process.stdout.write(HELP);
      return 0;
    case 'audit':
    case 'check':
      return audit(args);
    case 'allow':
    case 'deny':
      return editAllowlist(args);
    case 'lsp':
      // Stdio, the one transport the arguments accept; vscode-languageserver reads the flag
      // from process.argv itself, so `install-guard lsp` alone means `--stdio` too.
      if (!process.argv.includes('--stdio')) process.argv.push('--stdio');
      // The language server is its own bundle beside this one (dist/server/main.js, the one
      // the VS Code extension starts), so an audit never loads vscode-languageserver.
      require(join(__dirname, '..', 'server', 'main.js'));
      return new Promise<number>(() => undefined); // runs until the client exits
  }
}

/**
 * Settings for a run that takes seconds: it asks the registry, or its lockfile is large.
 *
 * Heap growth: fetching thousands of packuments is garbage at a high rate around a live set
 * of 60-100 MB (the model, the facts, the requests in flight), and so is parsing a large
 * lockfile. V8 lets the heap grow to up to four times the live set between full
 * collections when it has memory to spare: a cold 20k audit peaked at 610 MB, and at 230 MB
 * with a growth of 25% in the same time (40%: 250 MB; 15%: no less, and slower). A small
 * run the caches answer allocates too little for it to matter, and more full collections
 * cost it time (5k packages: +5%). The flag is read at each collection, so setting it
 * mid-run takes effect.
 *
 * The launcher's JIT tuning for short runs on few cores (launcher.ts) is given back: a cold
 * 20k audit that kept it ran 18.5-20.5 s against 15-17.5 s untuned; given back here, 15-17 s.
 */
function settleForLongRun(): void {
  if (runIsLong) return;
  runIsLong = true;
  setFlagsFromString('--heap-growing-percent=25');
  // V8 stamps its code cache with a hash of the flags and rejects a cache made under other
  // ones: put the default back before the launcher writes the cache at exit (launcher.ts).
  process.prependOnceListener('exit', () => setFlagsFromString('--heap-growing-percent=0'));
  launcher.longRun?.();
}

let runIsLong = false;

/** What the launcher (launcher.ts) lets the CLI tell it. */
export interface LauncherHooks {
  /** The run will take seconds (settleForLongRun). */
  longRun?: () => void;
}

let launcher: LauncherHooks = {};

/** About 8k packages in package-lock.json, 13k in pnpm-lock.yaml. */
const LARGE_LOCKFILE_BYTES = 4 << 20;

async function hasLargeLockfile(dir: string): Promise<boolean> {
  const sizes = await Promise.all(LOCKFILE_KINDS.map((kind) => stat(join(dir, kind.file)).then((s) => s.size, () => 0)));
  return sizes.some((size) => size >= LARGE_LOCKFILE_BYTES);
}

async function audit(args: AuditArgs): Promise<number> {
  const progress = new ProgressLine(process.stderr, !args.quiet && args.output === null ? 1000 : Infinity);
  let run: AuditRun;
  if (await hasLargeLockfile(resolve(args.dir))) settleForLongRun();
  try {
    run = await runAudit(resolve(args.dir), {
      registry: args.registry,
      cacheDir: args.cache,
      offline: args.offline,
      useInstalled: args.useInstalled,
      concurrency: args.concurrency,
      timeoutMs: args.timeoutMs,
      cacheTtlMs: args.cacheTtlMinutes === null ? null : args.cacheTtlMinutes * 60_000,
      provenance: args.provenance,
      tufRefresh: args.tufRefresh,
      onProgress: (done, total) => progress.update(`install-guard: registry metadata ${done}/${total}`),
      onFirstRegistryRequest: settleForLongRun,
    });
  } catch (error) {
    progress.clear();
    process.stderr.write(`install-guard: ${(error as Error).message}\n`);
    return 2;
  } finally {
    progress.clear();
  }
  const { report } = run;
  if (!report.inventory.manifests.length && !report.inventory.lockfile) {
    process.stderr.write(`install-guard: ${report.inventory.problems[0]?.message ?? 'nothing to audit'}\n`);
    return 2;
  }

  const texts = new Map<string, string | null>();
  const fileText = (file: string) => {
    if (!texts.has(file)) texts.set(file, run.fileText(file) ?? readOrNull(file));
    return texts.get(file)!;
  };
  const context = {
    toolVersion: VERSION,
    registry: run.registry,
    offline: args.offline,
    fileText,
    policyTool: run.policy.settings.tool,
    suppressed: run.suppressed,
    provenanceSummary: run.provenanceSummary,
  };
  // Indented for a person at a terminal; compact into a pipe or file, where a 20k-package
  // report would otherwise be a third larger and slower to write (npm run bench).
  const indent = args.output === null && process.stdout.isTTY ? 2 : undefined;
  const out = openOutput(args.output);
  try {
    if (args.format === 'json') writeJson(toJsonReport(report, context), indent, out.write);
    else if (args.format === 'sarif') writeJson(toSarifReport(report, context), indent, out.write);
    else out.write(toTextReport(report, { ...context, width: process.stdout.isTTY ? process.stdout.columns : 0, mode: args.command }));
  } finally {
    out.close();
  }

  const failing = args.failOn === 'none' ? [] : report.findings.filter((f) => atOrAbove(f.severity, args.failOn as 'error'));
  return failing.length > 0 ? 1 : 0;
}

/** Stdout, or the --output file (written as the report is made, not held whole). */
function openOutput(file: string | null): { write: (chunk: string) => void; close: () => void } {
  if (file === null) return { write: (chunk) => void process.stdout.write(chunk), close: () => undefined };
  const fd = openSync(file, 'w');
  return { write: (chunk) => void writeSync(fd, chunk), close: () => closeSync(fd) };
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Runs the CLI as the process: its exit code becomes the process's. */
export function runAsProgram(argv: string[], hooks: LauncherHooks = {}): void {
  launcher = hooks;
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`install-guard: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = 2;
    },
  );
}

// dist/cli/install-guard.js (launcher.ts) calls runAsProgram; `node dist/cli/cli.js` works too.
if (require.main === module) runAsProgram(process.argv.slice(2));
