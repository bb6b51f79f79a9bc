/**
 * The audit of seven real projects — one per lockfile format — must agree exactly with
 * the truth recorded from the registry manifests: the same locked registry versions, and
 * for each the same install scripts with the same command text. The built CLI runs
 * against a loopback registry serving the real manifests, as a user would run it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { loadSharedManifests } from '../support/sharedManifests';
import { sharedFixture, SHARED_MISSING } from '../support/sharedFixtures';
import { runCli, tempDir } from '../support/runCli';

interface TruthPackage {
  name: string;
  version: string;
  runsInstallScripts: boolean;
  scripts: Record<string, string>;
}

const truthDir = sharedFixture('lockfiles', 'truth');
const projects = truthDir ? readdirSync(truthDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];

let registry: LoopbackRegistry | null = null;

before(async () => {
  const manifests = loadSharedManifests();
  if (manifests) registry = await startLoopbackRegistry({ manifests });
});
after(async () => registry?.close());

test('the shared fixtures are there', (t) => {
  if (!truthDir) return t.skip(SHARED_MISSING);
  assert.equal(projects.length, 7);
});

for (const project of projects.length ? projects : ['(none)']) {
  test(`audit of ${project} agrees with the registry truth`, async (t) => {
    if (!truthDir || !registry) return t.skip(SHARED_MISSING);
    const truth = JSON.parse(readFileSync(join(truthDir, `${project}.json`), 'utf8')) as { packages: TruthPackage[]; lockfile: string };
    const result = await runCli(['audit', sharedFixture('lockfiles', project)!, '--format', 'json', '--registry', registry.url, '--cache', tempDir(), '--quiet']);
    assert.ok(result.code === 0 || result.code === 1, `exit ${result.code}: ${result.stderr}`);
    const report = JSON.parse(result.stdout);
    assert.equal(report.lockfile.path, truth.lockfile);

    const ours = new Map<string, { installScripts: Record<string, string> | null; evidence: string }>();
    for (const p of report.packages) if (p.source === 'registry') ours.set(`${p.name}@${p.version}`, p);
    const expected = new Map(truth.packages.map((p) => [`${p.name}@${p.version}`, p]));

    const missing = [...expected.keys()].filter((k) => !ours.has(k));
    const extra = [...ours.keys()].filter((k) => !expected.has(k));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'the same locked registry versions');

    const wrong: string[] = [];
    for (const [key, want] of expected) {
      const got = ours.get(key)!;
      const gotHooks = got.installScripts ? withoutPrepare(got.installScripts) : null;
      const wantHooks = want.runsInstallScripts ? want.scripts : null;
      if (canonical(gotHooks) !== canonical(wantHooks)) wrong.push(`${key}: ours ${JSON.stringify(gotHooks)} truth ${JSON.stringify(wantHooks)}`);
      if (got.evidence !== 'registry') wrong.push(`${key}: decided by ${got.evidence}, not the registry`);
    }
    assert.deepEqual(wrong, []);
    // Exactly the versions that run scripts get a verdict from the project's allowlist.
    const judged = report.packages.filter((p: { source: string; policy: { verdict: string } }) => p.source === 'registry' && p.policy.verdict !== 'none');
    assert.deepEqual(judged.map((p: { name: string; version: string }) => `${p.name}@${p.version}`).sort(), truth.packages.filter((p) => p.runsInstallScripts).map((p) => `${p.name}@${p.version}`).sort());
  });
}

function withoutPrepare(scripts: Record<string, string>): Record<string, string> | null {
  const { prepare: _prepare, ...hooks } = scripts;
  return Object.keys(hooks).length ? hooks : null;
}

function canonical(scripts: Record<string, string> | null): string {
  return scripts ? JSON.stringify(Object.entries(scripts).sort()) : 'null';
}
