/**
 * "Pin a safe version" on made projects (test/fixtures/safe-version) against a loopback
 * registry serving made packuments: versions with and without install scripts,
 * attestations, trusted publishers, deprecations and publish times chosen so that each
 * rule in force rejects a different candidate. The real engine analyses each project;
 * fixes are applied, re-parsed with jsonc-parser / yaml, checked byte-for-byte outside
 * their spans, and planned again to show that a second run changes nothing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { parse as parseYaml } from 'yaml';
import { CodeActionKind, type Diagnostic } from 'vscode-languageserver';
import { analyzeProject, type ProjectAnalysis } from '../../server/src/engine';
import { codeActions } from '../../server/src/lsp/codeActions';
import { DEFAULT_SETTINGS } from '../../server/src/lsp/protocol';
import { planSafeVersion, type SafeVersionPlan } from '../../server/src/policy/edits/safeVersion';
import type { ProjectTexts } from '../../server/src/policy/edits/editSession';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import type { RegistryConfig } from '../../server/src/registry/npmConfig';
import { startLoopbackRegistry, type LoopbackRegistry, type LoopbackRegistryOptions } from '../support/loopbackRegistry';
import { afterFix, assertEol, assertOnlySpansChanged } from '../support/editAssertions';
import { loopbackConfig } from '../support/provenanceFixtures';

const FIXTURES = join(__dirname, '..', 'fixtures', 'safe-version');
const NOW = new Date('2025-03-01T12:00:00.000Z');
/**
 * The made registry (fixtures README): pixel-lib's newest two in ^1.2.0 run postinstall,
 * 1.2.1 is a maintenance release published from a laptop three hours before NOW, after
 * 1.4.0 came from a trusted publisher; nothing in fast-codec's ^3.0.0 qualifies (scripts,
 * a deprecation) but 2.9.0 below it does; native-helper, pulled in by tree-walker, is
 * locked at 1.4.0, which runs postinstall.
 */
function registryOptions(): Pick<LoopbackRegistryOptions, 'manifests' | 'time'> {
  return JSON.parse(readFileSync(join(FIXTURES, 'registry.json'), 'utf8')) as Pick<LoopbackRegistryOptions, 'manifests' | 'time'>;
}

let registry: LoopbackRegistry;
let config: RegistryConfig;
before(async () => {
  registry = await startLoopbackRegistry(registryOptions());
  ({ config } = await loopbackConfig(registry.url));
});
after(() => registry.close());

/** A fixture project's files, with some replaced or added (relative path -> text). */
function project(name: string, overlay: Record<string, string> = {}): ProjectTexts {
  const root = join(FIXTURES, name);
  const files = new Map<string, string>();
  for (const file of readdirSync(root)) files.set(join(root, file), readFileSync(join(root, file), 'utf8'));
  for (const [file, text] of Object.entries(overlay)) files.set(join(root, file), text);
  return { root, files };
}

async function analyze(texts: ProjectTexts): Promise<{ analysis: ProjectAnalysis; metadata: MetadataClient }> {
  const metadata = new MetadataClient({ config, cacheDir: null, keepPublishHistory: true });
  const analysis = await analyzeProject(texts.root, {
    readText: async (path) => texts.files.get(path) ?? (path.startsWith(texts.root) ? null : existsSync(path) ? readFileSync(path, 'utf8') : null),
    config,
    metadata,
    useInstalled: false,
    provenance: null,
    now: NOW,
  });
  return { analysis, metadata };
}

async function plan(texts: ProjectTexts, name: string, version: string): Promise<SafeVersionPlan> {
  const { analysis, metadata } = await analyze(texts);
  return planSafeVersion(analysis, { name, version }, { metadata, now: NOW, texts: texts.files });
}

/** Applies the plan's fix, checks the untouched bytes, and plans again on the result: nothing to do. */
async function applyOnce(texts: ProjectTexts, result: SafeVersionPlan): Promise<ProjectTexts> {
  assert.ok(result.fix, `a fix: ${result.explanation}`);
  assert.ok(result.fix.edits.length > 0, `edits: ${result.fix.title}`);
  const updated = afterFix(texts, result.fix);
  assertOnlySpansChanged(texts, updated, result.fix);
  const again = await plan(updated, result.package, result.current);
  assert.equal(again.chosen, result.chosen);
  assert.deepEqual(again.fix?.edits, [], `a second run changes nothing: ${again.fix?.title}`);
  assert.match(again.fix!.title, /already/);
  return updated;
}

const policyFile = (settings: Record<string, unknown>) => ({ 'install-guard.jsonc': `// made for this test\n${JSON.stringify(settings, null, 2)}\n` });
const verdictOf = (result: SafeVersionPlan, version: string) => result.candidates.find((c) => c.version === version);
const text = (texts: ProjectTexts, file: string) => texts.files.get(join(texts.root, file))!;

// ---- direct dependencies ----

test('direct: the newest in range runs an unreviewed postinstall, so the newest one without a script is pinned exactly', async () => {
  const texts = project('npm');
  const result = await plan(texts, 'pixel-lib', '1.3.0');
  assert.equal(result.chosen, '1.2.1');
  assert.equal(result.withinRange, true);
  assert.equal(result.fix!.title, 'Pin pixel-lib to 1.2.1 (exact)');
  assert.deepEqual(verdictOf(result, '1.4.0')!.reasons, ['runs postinstall: node install.js (unreviewed)']);
  assert.deepEqual(verdictOf(result, '1.3.0')!.reasons, ['runs postinstall: node install.js (unreviewed)']);
  assert.deepEqual(result.candidates.map((c) => c.version), ['1.4.0', '1.3.0', '1.2.1'], 'newest first, no prerelease, stops at the first that qualifies');
  assert.match(result.explanation, /Passed over: 1\.4\.0 \(runs postinstall/);
  const after = await applyOnce(texts, result);
  assert.equal(parseJsonc(text(after, 'package.json')).dependencies['pixel-lib'], '1.2.1');
  assert.equal(parseJsonc(text(after, 'package.json')).dependencies['fast-codec'], '^3.0.0');
});

test('direct: when nothing in the declared range qualifies, the newest beyond it is chosen and labelled', async () => {
  const texts = project('npm');
  const result = await plan(texts, 'fast-codec', '3.1.0');
  assert.equal(result.chosen, '2.9.0');
  assert.equal(result.withinRange, false);
  assert.equal(result.fix!.title, 'Pin fast-codec to 2.9.0 (exact) — beyond the declared range ^3.0.0');
  assert.deepEqual(verdictOf(result, '3.0.1')!.reasons, ['deprecated: broken build, use 3.1.0']);
  assert.deepEqual(verdictOf(result, '3.0.0')!.reasons, ['runs install: node-gyp rebuild (unreviewed)']);
  assert.equal(verdictOf(result, '4.0.0-beta.1'), undefined, 'a prerelease is no candidate for a stable version');
  const after = await applyOnce(texts, result);
  assert.equal(parseJsonc(text(after, 'package.json')).dependencies['fast-codec'], '2.9.0');
});

test('requireProvenance rejects versions published without an attestation', async () => {
  const texts = project('npm', policyFile({ requireProvenance: ['pixel-lib'] }));
  const result = await plan(texts, 'pixel-lib', '1.3.0');
  assert.equal(result.chosen, '1.2.0');
  assert.deepEqual(verdictOf(result, '1.2.1')!.reasons, ['no provenance (required by install-guard.jsonc#requireProvenance)']);
  assert.ok(verdictOf(result, '1.2.0')!.notes.includes('attestation present (not verified here)'));
  assert.match(result.explanation, /attestation present \(not verified here\)/);
});

test('a trust downgrade rejects the maintenance release published from a laptop after a trusted publish', async () => {
  const texts = project('npm', policyFile({ trustDowngrade: 'any' }));
  const result = await plan(texts, 'pixel-lib', '1.3.0');
  assert.equal(result.chosen, '1.2.0');
  assert.deepEqual(verdictOf(result, '1.2.1')!.reasons, ['trust downgrade from 1.4.0 (trusted publisher → none)']);
  const excluded = await plan(project('npm', policyFile({ trustDowngrade: 'any', trustDowngradeExclude: ['pixel-lib'] })), 'pixel-lib', '1.3.0');
  assert.equal(excluded.chosen, '1.2.1', 'an excluded package is not held to the rule');
});

test('the minimum release age rejects a version published too recently', async () => {
  const texts = project('npm', policyFile({ minimumReleaseAge: 1440 }));
  const result = await plan(texts, 'pixel-lib', '1.3.0');
  assert.equal(result.chosen, '1.2.0');
  assert.deepEqual(verdictOf(result, '1.2.1')!.reasons, ['published 3 hours ago (minimum 1 day)']);
  const excluded = await plan(project('npm', policyFile({ minimumReleaseAge: 1440, minimumReleaseAgeExclude: ['pixel-lib'] })), 'pixel-lib', '1.3.0');
  assert.equal(excluded.chosen, '1.2.1');
});

test('a version whose script the allowlist already approves qualifies despite the script', async () => {
  const manifest = text(project('npm'), 'package.json').replace('"dependencies"', '"allowScripts": {\n    "pixel-lib@1.4.0": true\n  },\n  "dependencies"');
  const texts = project('npm', { 'package.json': manifest });
  const result = await plan(texts, 'pixel-lib', '1.3.0');
  assert.equal(result.chosen, '1.4.0');
  assert.deepEqual(verdictOf(result, '1.4.0')!.notes, ['runs postinstall: node install.js, approved by package.json#allowScripts.pixel-lib@1.4.0']);
  assert.equal(result.fix!.title, 'Pin pixel-lib to 1.4.0 (exact)');
  const denied = await plan(project('npm', { 'package.json': manifest.replace('"pixel-lib@1.4.0": true', '"pixel-lib": false') }), 'pixel-lib', '1.3.0');
  assert.deepEqual(verdictOf(denied, '1.4.0')!.reasons, ['runs postinstall: node install.js (denied by package.json#allowScripts.pixel-lib)']);
  assert.equal(denied.chosen, '1.2.1');
});

test('no version qualifies: no fix, and the explanation gives every candidate its reasons', async () => {
  const texts = project('npm', policyFile({ requireProvenance: true }));
  const result = await plan(texts, 'fast-codec', '3.1.0');
  assert.equal(result.chosen, null);
  assert.equal(result.fix, null);
  assert.deepEqual(result.candidates.map((c) => c.version), ['3.1.0', '3.0.1', '3.0.0', '2.9.0']);
  const lines = result.explanation.split('\n');
  assert.match(lines[0]!, /^No published version of fast-codec satisfies every rule in force \(.*provenance \(install-guard\.jsonc#requireProvenance\)/);
  assert.deepEqual(lines.slice(1), [
    '- 3.1.0: runs postinstall: node fetch-binary.js (unreviewed); no provenance (required by install-guard.jsonc#requireProvenance)',
    '- 3.0.1: deprecated: broken build, use 3.1.0; no provenance (required by install-guard.jsonc#requireProvenance)',
    '- 3.0.0: runs install: node-gyp rebuild (unreviewed); no provenance (required by install-guard.jsonc#requireProvenance)',
    '- 2.9.0: no provenance (required by install-guard.jsonc#requireProvenance)',
  ]);
});

// ---- transitive dependencies: an override in the package manager's own field ----

test('transitive, npm: an "overrides" entry', async () => {
  const texts = project('npm');
  const result = await plan(texts, 'native-helper', '1.4.0');
  assert.equal(result.chosen, '1.3.0');
  assert.equal(result.withinRange, true);
  assert.equal(result.fix!.title, 'Add override native-helper@1.3.0 (package.json overrides)');
  const after = await applyOnce(texts, result);
  const json = parseJsonc(text(after, 'package.json'));
  assert.deepEqual(json.overrides, { 'native-helper': '1.3.0' });
  assert.equal(json.dependencies['tree-walker'], '^2.0.0');
});

test('transitive, pnpm 10.28 with settings in pnpm-workspace.yaml: "overrides" there, comments kept', async () => {
  const texts = project('pnpm');
  const result = await plan(texts, 'native-helper', '1.4.0');
  assert.equal(result.fix!.title, 'Add override native-helper@1.3.0 (pnpm-workspace.yaml overrides)');
  const after = await applyOnce(texts, result);
  const yaml = text(after, 'pnpm-workspace.yaml');
  assert.deepEqual(parseYaml(yaml).overrides, { 'native-helper': '1.3.0' });
  assert.match(yaml, /esbuild: true {3}# reviewed: downloads its platform binary\n/);
  assert.equal(text(after, 'package.json'), text(texts, 'package.json'));
});

test('transitive, pnpm 9: "pnpm.overrides" in package.json (pnpm-workspace.yaml settings came with 10.5)', async () => {
  const texts = project('pnpm', { 'package.json': text(project('pnpm'), 'package.json').replace('pnpm@10.28.0', 'pnpm@9.15.0') });
  const result = await plan(texts, 'native-helper', '1.4.0');
  assert.equal(result.fix!.title, 'Add override native-helper@1.3.0 (package.json pnpm.overrides)');
  const after = await applyOnce(texts, result);
  assert.deepEqual(parseJsonc(text(after, 'package.json')).pnpm, { overrides: { 'native-helper': '1.3.0' } });
  assert.equal(text(after, 'pnpm-workspace.yaml'), text(texts, 'pnpm-workspace.yaml'));
});

test('transitive, Yarn Berry: "resolutions", in the file\'s tabs', async () => {
  const texts = project('yarn');
  const result = await plan(texts, 'native-helper', '1.4.0');
  assert.equal(result.fix!.title, 'Add override native-helper@1.3.0 (package.json resolutions)');
  const after = await applyOnce(texts, result);
  const manifest = text(after, 'package.json');
  assert.deepEqual(parseJsonc(manifest).resolutions, { 'native-helper': '1.3.0' });
  assert.match(manifest, /\n\t"resolutions": \{\n\t\t"native-helper": "1\.3\.0"\n\t\}\n\}\n$/);
});

test('transitive, Bun: npm-style "overrides" (CRLF kept), or the "resolutions" it already uses', async () => {
  const texts = project('bun');
  const result = await plan(texts, 'native-helper', '1.4.0');
  assert.equal(result.fix!.title, 'Add override native-helper@1.3.0 (package.json overrides)');
  const after = await applyOnce(texts, result);
  assert.deepEqual(parseJsonc(text(after, 'package.json')).overrides, { 'native-helper': '1.3.0' });
  assertEol(text(after, 'package.json'), '\r\n');
  const withResolutions = project('bun', { 'package.json': text(texts, 'package.json').replace('"dependencies"', '"resolutions": {\r\n    "left-pad": "1.3.0"\r\n  },\r\n  "dependencies"') });
  const viaResolutions = await plan(withResolutions, 'native-helper', '1.4.0');
  assert.equal(viaResolutions.fix!.title, 'Add override native-helper@1.3.0 (package.json resolutions)');
  const updated = await applyOnce(withResolutions, viaResolutions);
  assert.deepEqual(parseJsonc(text(updated, 'package.json')).resolutions, { 'left-pad': '1.3.0', 'native-helper': '1.3.0' });
});

test('an existing override is replaced in place, and the title says what it replaces', async () => {
  const manifest = text(project('npm'), 'package.json').replace(/\n\}\n$/, ',\n  "overrides": {\n    "native-helper": "1.4.0"\n  }\n}\n');
  const texts = project('npm', { 'package.json': manifest });
  const result = await plan(texts, 'native-helper', '1.4.0');
  assert.equal(result.fix!.title, 'Add override native-helper@1.3.0 (package.json overrides) (replaces "native-helper": "1.4.0")');
  const after = await applyOnce(texts, result);
  assert.deepEqual(parseJsonc(text(after, 'package.json')).overrides, { 'native-helper': '1.3.0' });
});

// ---- the editor's code action ----

test('code action: a pin for a qualifying version, a disabled action with the reasons when none qualifies', async () => {
  const texts = project('npm', policyFile({ requireProvenance: ['fast-codec'] }));
  const { analysis, metadata } = await analyze(texts);
  const diagnosticFor = (name: string, version: string, code: string): Diagnostic => ({
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } },
    message: `${name}@${version}`,
    source: 'Install Guard',
    code,
    data: { code, package: { name, version }, finding: null },
  });
  const context = {
    analysis, root: texts.root, toUri: (p: string) => `file://${p}`, settings: DEFAULT_SETTINGS, now: NOW, metadata, disabledSupport: true,
    readText: async (p: string) => texts.files.get(p) ?? null,
  };
  const ask = (diagnostic: Diagnostic) => codeActions({ ...context, file: join(texts.root, 'package.json'), params: { textDocument: { uri: 'x' }, range: diagnostic.range, context: { diagnostics: [diagnostic] } } });
  const pin = (await ask(diagnosticFor('pixel-lib', '1.3.0', 'unreviewed-install-script'))).find((a) => a.title.startsWith('Pin '));
  assert.equal(pin?.title, 'Pin pixel-lib to 1.2.1 (exact)');
  assert.equal(pin.kind, CodeActionKind.QuickFix);
  assert.equal(pin.isPreferred, false, '"allow" stays the preferred fix of an unreviewed script');
  const blocked = (await ask(diagnosticFor('fast-codec', '3.1.0', 'provenance-required'))).find((a) => a.disabled);
  assert.equal(blocked?.title, 'Pin a safe version of fast-codec');
  assert.match(blocked.disabled!.reason, /- 2\.9\.0: no provenance \(required by install-guard\.jsonc#requireProvenance\)/);
  assert.equal(blocked.edit, undefined);
});
