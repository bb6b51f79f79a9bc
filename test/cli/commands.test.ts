/**
 * The built CLI's other commands and run-to-run behaviour: `allow` into the allowlist a
 * team chose (--allowlist), how long kept registry answers are trusted (--cache-ttl), and
 * the launcher's V8 code cache, which must only ever make a run faster, never different.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { copyProject, projectRegistryOptions } from '../support/projectFixtures';
import { isolatedNpmEnv, runCli, tempDir } from '../support/runCli';

let registry: LoopbackRegistry;
before(async () => {
  registry = await startLoopbackRegistry(projectRegistryOptions());
});
after(async () => registry.close());

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

test('allow --allowlist writes the chosen tool\'s list and says when the installer will not read it', async () => {
  const dir = copyProject('npm-basic');
  const cache = tempDir();
  const toBun = await runCli(['allow', 'esbuild', dir, '--allowlist', 'bun', '--registry', registry.url, '--cache', cache]);
  assert.equal(toBun.code, 0, toBun.stderr);
  assert.deepEqual(manifestOf(dir).trustedDependencies, ['esbuild']);
  assert.equal(manifestOf(dir).allowScripts, undefined, 'npm\'s list is not touched');
  assert.match(toBun.stdout, /note: npm installs this project and does not read bun's allowlist/);

  const auto = await runCli(['allow', 'esbuild', dir, '--registry', registry.url, '--cache', cache]);
  assert.equal(auto.code, 0, auto.stderr);
  assert.deepEqual(manifestOf(dir).allowScripts, { 'esbuild@0.25.12': true });
  assert.doesNotMatch(auto.stdout, /does not read/);

  const wrong = await runCli(['allow', 'esbuild', dir, '--allowlist', 'pip']);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /--allowlist must be one of auto, npm, pnpm, yarn, bun, lavamoat/);
});

test('--cache-ttl: the registry\'s keys answer is kept between runs until it is older than the TTL', async () => {
  const dir = copyProject('npm-basic');
  const cache = tempDir();
  const keysRequests = () => registry.requests.filter((r) => r.url.endsWith('/-/npm/v1/keys')).length;
  const audit = async (...extra: string[]) => {
    const result = await runCli(['audit', dir, '--format', 'json', '--registry', registry.url, '--cache', cache, '--quiet', ...extra]);
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
  };
  const start = keysRequests();
  await audit();
  await audit();
  assert.equal(keysRequests() - start, 1, 'the second run uses the kept answer');
  await audit('--cache-ttl', '0');
  assert.equal(keysRequests() - start, 2, 'a TTL of 0 asks every run');
  const bad = await runCli(['audit', dir, '--cache-ttl', 'soon']);
  assert.equal(bad.code, 2);
});

test('code cache: the first run writes it, later runs use it, and a corrupt one changes nothing but speed', async () => {
  const dir = copyProject('npm-basic');
  const cache = tempDir();
  const env = isolatedNpmEnv();
  const codeCache = join(env.XDG_CACHE_HOME!, 'install-guard', 'code-cache');
  const audit = async (runEnv = env) => {
    const result = await runCli(['audit', dir, '--format', 'json', '--registry', registry.url, '--cache', cache, '--quiet'], { env: runEnv });
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
    const report = JSON.parse(result.stdout);
    return JSON.stringify(report.packages.map((p: any) => [p.name, p.version, p.installScripts, p.policy]));
  };
  const first = await audit();
  const files = readdirSync(codeCache).filter((f) => f.startsWith('cli-audit-'));
  assert.equal(files.length, 1, readdirSync(codeCache).join(', '));
  const file = join(codeCache, files[0]!);
  const written = statSync(file).mtimeMs;
  assert.ok(statSync(file).size > 100_000, 'holds the bytecode of what ran');
  assert.equal(await audit(), first);
  assert.equal(statSync(file).mtimeMs, written, 'an accepted cache is not written again');

  writeFileSync(file, Buffer.alloc(4096, 7));
  assert.equal(await audit(), first, 'V8 rejects the garbage and the run compiles as usual');
  assert.ok(statSync(file).size > 100_000, 'and the cache is written afresh');

  const off = isolatedNpmEnv({ INSTALL_GUARD_CODE_CACHE: '0' });
  assert.equal(await audit(off), first);
  assert.ok(!existsSync(join(off.XDG_CACHE_HOME!, 'install-guard', 'code-cache')), 'INSTALL_GUARD_CODE_CACHE=0 writes none');
});

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((f) => existsSync(f));

test('on one or two cores an audit runs with V8 tuned for them (Node 20), under its own code cache, and reports the same', { skip: TASKSET ? false : 'taskset (util-linux) is not installed' }, async () => {
  const dir = copyProject('npm-basic');
  const cache = tempDir();
  const env = isolatedNpmEnv();
  const codeCache = join(env.XDG_CACHE_HOME!, 'install-guard', 'code-cache');
  const audit = async (wrapper?: string[]) => {
    const result = await runCli(['audit', dir, '--format', 'json', '--registry', registry.url, '--cache', cache, '--quiet'], { env, ...(wrapper ? { wrapper } : {}) });
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
    assert.equal(result.stderr, '', 'V8 took the flag without a word');
    return JSON.stringify(JSON.parse(result.stdout).packages);
  };
  const tunedCaches = () => readdirSync(codeCache).filter((f) => f.startsWith('cli-audit-fewcores-'));
  const oneCore = [TASKSET!, '-c', '0'];
  const node20 = process.versions.v8.startsWith('11.3.');
  // The first run asks the registry, so it gives the tuning back half way (main.ts
  // settleForLongRun) and must stamp its code cache with the flags it started with.
  const cold = await audit(oneCore);
  assert.equal(tunedCaches().length, node20 ? 1 : 0, 'one core is few');
  if (node20) {
    const file = join(codeCache, tunedCaches()[0]!);
    const written = statSync(file).mtimeMs;
    assert.equal(await audit(oneCore), cold);
    assert.equal(statSync(file).mtimeMs, written, 'the warm run accepts the cold run\'s cache');
  }
  assert.equal(await audit(), cold);
  assert.equal(readdirSync(codeCache).some((f) => /^cli-audit-[0-9a-f]+\.bin$/.test(f)), !node20 || availableParallelism() > 2, 'all cores: tuned only when they are few');
  await runCli(['--help'], { env, wrapper: [TASKSET!, '-c', '0'] });
  assert.ok(!readdirSync(codeCache).some((f) => f.startsWith('cli-other-fewcores-')), 'only an audit is tuned');
});
