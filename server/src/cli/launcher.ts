/**
 * The `install-guard` executable (dist/cli/install-guard.js). It loads the CLI proper
 * (dist/cli/cli.js, one 4 MB bundle) through V8's code cache, because a one-shot CLI pays
 * for compiling its code on every run: without the cache, parsing the bundle and lazily
 * compiling every function the audit touches is a fifth of a warm audit of 5k packages.
 *
 * The cache is taken after the command ran (`createCachedData` then holds the bytecode of
 * every function that ran, not only the top level), once per command kind, bundle and
 * Node version, under `<cache dir>/code-cache/`. V8 checks little more than the source's
 * length before it trusts a cache, so the file name carries a hash of the bundle's text:
 * an upgraded bundle can never run an old one's bytecode. Any failure (a read-only cache
 * dir, a rejected cache) falls back to plain compilation; INSTALL_GUARD_CODE_CACHE=0
 * turns it off. Node ≥ 22's `module.enableCompileCache` keeps only top-level code.
 *
 * On one or two cores a short audit also tells V8 to optimize later (`ShortRunJit`).
 */
import { isAscii } from 'node:buffer';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { defaultCacheDir } from '../registry/cacheDir';
import type { LauncherHooks } from './main';

interface CliBundle {
  runAsProgram(argv: string[], hooks: LauncherHooks): void;
}

/** Commands whose code paths differ enough to deserve their own cache. */
const COMMAND_KINDS: Record<string, string> = { audit: 'audit', check: 'audit', allow: 'edit', deny: 'edit', lsp: 'lsp' };

const STALE_MS = 30 * 24 * 3600_000;

function launch(): void {
  const bundle = join(__dirname, 'cli.js');
  const argv = process.argv.slice(2);
  const kind = COMMAND_KINDS[argv[0] ?? ''] ?? 'other';
  // Before anything is compiled: V8 stamps a code cache with its flags.
  const jit = ShortRunJit.forCommand(kind);
  const cacheKind = jit ? `${kind}-fewcores` : kind;
  const hooks: LauncherHooks = { longRun: () => jit?.release() };
  if (process.env.INSTALL_GUARD_CODE_CACHE === '0') {
    (require(bundle) as CliBundle).runAsProgram(argv, hooks);
    return;
  }
  const bytes = readFileSync(bundle);
  // esbuild writes ASCII (comments aside, and the build drops those): latin1 is a plain copy.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const digest = createHash('sha256').update(bytes).update(process.version).update(process.arch).digest('hex').slice(0, 16);
  const dir = join(defaultCacheDir(process.env), 'code-cache');
  const cacheFile = join(dir, `cli-${cacheKind}-${digest}.bin`);
  const cachedData = readOrUndefined(cacheFile);
  const script = new Script(Module.wrap(source), { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      jit?.restore(); // the flags this run started with, which the next one compares
      writeCache(script, dir, cacheFile, cacheKind);
    });
  }
  const cli = new Module(bundle);
  cli.filename = bundle;
  const requireFromBundle = Module.createRequire(bundle);
  (script.runInThisContext() as (...args: unknown[]) => void).call(
    cli.exports, cli.exports, requireFromBundle, cli, bundle, dirname(bundle),
  );
  cli.loaded = true;
  (cli.exports as CliBundle).runAsProgram(argv, hooks);
}

/**
 * A warm audit is a burst of under a second of one thread's work. V8 compiles the functions
 * that run hot again, optimized, on background threads (TurboFan), and on one or two cores
 * those threads take the CPU from the main thread that does the audit: a warm audit of 5k
 * packages spent about 250 ms of CPU there against 330 ms on the main thread, which waited
 * 40-70 ms for a core. Four times V8's interrupt budget makes a function wait longer before
 * it is considered hot. Measured on Node 20 (V8 11.3), warm audits of the bench's lockfiles,
 * interleaved runs: 5k packages 2-10% faster on two cores and 19% on one. The main thread
 * itself does 3-10% more work, so with more cores, where nothing waits, it would only be
 * slower: left alone there. A run that turns out long (the registry is asked, the lockfile
 * is large: main.ts settleForLongRun) gives the tuning back, as optimized code pays for
 * itself there. Other V8 versions tier up differently (Node 22's Maglev) and, unmeasured,
 * keep V8's defaults; an unknown flag would also make V8 print an error.
 */
class ShortRunJit {
  private released = false;

  static forCommand(kind: string): ShortRunJit | null {
    if (kind !== 'audit' || !process.versions.v8.startsWith('11.3.') || availableParallelism() > 2) return null;
    return new ShortRunJit();
  }

  private constructor() {
    this.restore();
  }

  /** V8's own budget again, for the rest of a long run. */
  release(): void {
    if (this.released) return;
    this.released = true;
    setFlagsFromString(`--interrupt-budget=${V8_11_INTERRUPT_BUDGET}`);
  }

  /** The short-run budget (again). */
  restore(): void {
    setFlagsFromString(`--interrupt-budget=${4 * V8_11_INTERRUPT_BUDGET}`);
  }
}

/** V8 11.3's default `--interrupt-budget` (66 KB of bytecode run). */
const V8_11_INTERRUPT_BUDGET = 67_584;

function readOrUndefined(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Temp file + rename: parallel runs never read half a cache. Caches other bundles wrote
 * over a month ago go (two installed versions may share the dir, so not sooner).
 */
function writeCache(script: Script, dir: string, file: string, kind: string): void {
  try {
    const data = script.createCachedData();
    mkdirSync(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, data);
    renameSync(temp, file);
    const current = file.slice(dir.length + 1);
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(`cli-${kind}-`) || name === current) continue;
      if (Date.now() - statSync(join(dir, name)).mtimeMs > STALE_MS) rmSync(join(dir, name), { force: true });
    }
  } catch {
    // A cache is an optimisation: an unwritable directory costs speed, nothing else.
  }
}

launch();
