/**
 * The editor analyses one parsed lockfile again after every edit, and auditInventory
 * reuses each version's report while the registry client's facts are unchanged. Reuse
 * must never outlive what it stood on: another registry client (a changed registry
 * setting or .npmrc) gets reports from its own facts, and a verdict is decided afresh.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { auditInventory } from '../../server/src/analysis/audit';
import { loadProject, readTextFromDisk, type LockfileCache } from '../../server/src/parse/project';
import { readNativePolicy } from '../../server/src/policy/allowlists/nativeAllowlists';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import { startLoopbackRegistry } from '../support/loopbackRegistry';
import { copyProject, projectRegistryOptions } from '../support/projectFixtures';
import { loopbackConfig } from '../support/provenanceFixtures';
import { tempDir } from '../support/runCli';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

test('reports are reused only while the same registry client knows nothing new', async () => {
  const options = projectRegistryOptions();
  const changed = new Map(options.manifests as Map<string, Record<string, any>>);
  const key = [...changed.keys()].find((k) => k === 'esbuild@0.25.12')!;
  changed.set(key, { ...changed.get(key)!, scripts: { postinstall: 'node other.js' } });
  const original = await startLoopbackRegistry(options);
  const other = await startLoopbackRegistry({ ...options, manifests: changed });
  try {
    const dir = copyProject('npm-basic');
    const inventory = await loadProject(dir, readTextFromDisk);
    const clientFor = async (url: string) => {
      const { dir: home, config } = await loopbackConfig(url);
      dirs.push(home);
      return { config, client: new MetadataClient({ config, cacheDir: null }) };
    };
    const esbuildOf = (report: Awaited<ReturnType<typeof auditInventory>>) => report.packages.find((p) => p.name === 'esbuild')!;

    const first = await clientFor(original.url);
    const policy = await readNativePolicy(inventory, first.config, readTextFromDisk);
    const audit = (client: MetadataClient) => auditInventory(inventory, { metadata: client, policy, useInstalled: false });
    const one = await audit(first.client);
    const two = await audit(first.client);
    const three = await audit(first.client);
    assert.deepEqual(esbuildOf(one).facts.scripts, { postinstall: 'node install.js' });
    assert.notEqual(esbuildOf(three), esbuildOf(two), 'each analysis has its own report objects');
    assert.equal(esbuildOf(three).facts, esbuildOf(two).facts, 'but shares what was decided');
    assert.deepEqual(esbuildOf(three).paths, [['.', 'esbuild@0.25.12']]);
    assert.deepEqual(three.packages.map((p) => [p.name, p.version, p.facts, p.policy.verdict]), one.packages.map((p) => [p.name, p.version, p.facts, p.policy.verdict]));
    const requests = original.requests.length;
    await audit(first.client);
    assert.equal(original.requests.length, requests);

    const second = await clientFor(other.url);
    const fromOther = await audit(second.client);
    assert.deepEqual(esbuildOf(fromOther).facts.scripts, { postinstall: 'node other.js' }, 'another client\'s facts, not a reused report');
    assert.equal(esbuildOf(fromOther).policy.verdict, 'unreviewed');
  } finally {
    await Promise.all([original.close(), other.close()]);
  }
});

test('a verdict is decided afresh when only the allowlist changed', async () => {
  const registry = await startLoopbackRegistry(projectRegistryOptions());
  try {
    const dir = copyProject('npm-basic');
    const inventory = await loadProject(dir, readTextFromDisk);
    const { dir: home, config } = await loopbackConfig(registry.url);
    dirs.push(home);
    const client = new MetadataClient({ config, cacheDir: null });
    const before = await auditInventory(inventory, { metadata: client, policy: await readNativePolicy(inventory, config, readTextFromDisk), useInstalled: false });
    assert.equal(before.packages.find((p) => p.name === 'esbuild')!.policy.verdict, 'unreviewed');
    const manifest = join(dir, 'package.json');
    const allowed = async (path: string) => {
      const text = await readTextFromDisk(path);
      return path === manifest && text ? text.replace(/\n}\s*$/, ',\n  "allowScripts": { "esbuild@0.25.12": true }\n}\n') : text;
    };
    const edited = await loadProject(dir, allowed);
    // The editor's case: same lockfile objects, new package.json.
    const reusedInventory = { ...edited, lockfile: inventory.lockfile, graph: inventory.graph };
    const after = await auditInventory(reusedInventory, { metadata: client, policy: await readNativePolicy(reusedInventory, config, allowed), useInstalled: false });
    assert.equal(after.packages.find((p) => p.name === 'esbuild')!.policy.verdict, 'allowed');
  } finally {
    await registry.close();
  }
});

test('a reused report reads `direct` again: package-lock v1 marks it from package.json on the kept entries', async () => {
  const lockText = readFileSync(join(__dirname, '..', 'fixtures', 'made', 'npm', 'v1-hand', 'package-lock.json'), 'utf8');
  const debug = (JSON.parse(lockText) as { dependencies: Record<string, { version: string; integrity: string }> }).dependencies.debug!;
  const registry = await startLoopbackRegistry({ manifests: [{ name: 'debug', version: debug.version, dist: { integrity: debug.integrity } }] });
  try {
    const dir = tempDir('ig-v1-');
    writeFileSync(join(dir, 'package-lock.json'), lockText);
    const manifestFor = (deps: Record<string, string>) => JSON.stringify({ name: 'made-v1', version: '1.0.0', dependencies: deps });
    let manifest = manifestFor({ debug: '^2.6.9' });
    const readText = async (path: string) => (path === join(dir, 'package.json') ? manifest : readTextFromDisk(path));
    const { dir: home, config } = await loopbackConfig(registry.url);
    dirs.push(home);
    const client = new MetadataClient({ config, cacheDir: null });
    const cache: LockfileCache = new Map();
    const debugOf = async () => {
      const inventory = await loadProject(dir, readText, cache);
      const report = await auditInventory(inventory, { metadata: client, policy: null, useInstalled: false });
      return report.packages.find((p) => p.name === 'debug' && p.version === debug.version)!;
    };
    for (let i = 0; i < 3; i++) assert.equal((await debugOf()).direct, true);
    manifest = manifestFor({});
    const after = await debugOf();
    assert.equal(after.facts.evidence, 'registry');
    assert.equal(after.direct, false, 'no longer declared in package.json');
  } finally {
    await registry.close();
  }
});
