/**
 * The allowlist fixes on made project files (test/fixtures/edits): for npm, pnpm (each
 * version band), Yarn Berry, Bun and LavaMoat, allow / deny / approve-all / prune. Each
 * edit is re-parsed with the format's own parser (jsonc-parser, yaml) to check the entry
 * and its value, every byte outside the edited spans must be unchanged, CRLF and tabs
 * must survive, and running the same fix on the result must change nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parse as parseJsonc } from 'jsonc-parser';
import { parse as parseYaml } from 'yaml';
import { allowPackage, approveAll, denyPackage, pruneStale, type EditTarget, type PolicyFix } from '../../server/src/policy/edits/allowlistEdits';
import { policyForTarget } from '../../server/src/policy/edits/allowlistTarget';
import { applyTextEdits, EditComposer } from '../../server/src/policy/edits/applyEdits';
import type { ProjectTexts } from '../../server/src/policy/edits/editSession';
import { removeJsonItem, removeJsonProperty, setJsonProperty } from '../../server/src/policy/edits/jsonEdit';
import { appendYamlSeqItem, setYamlMapEntry } from '../../server/src/policy/edits/yamlEdit';
import type { AllowlistRule, NativePolicy, PolicyPackage, PolicyTool } from '../../server/src/policy/types';
import type { PackageManagerName } from '../../server/src/model/inventory';
import { loadProject } from '../../server/src/parse/project';
import { readNativePolicy } from '../../server/src/policy/allowlists/nativeAllowlists';
import { decide, unusedRules } from '../../server/src/policy/allowlists/decide';
import { afterFix, assertEol, assertOnlySpansChanged, handMadePolicy, loadEditFixture } from '../support/editAssertions';

const registry = (name: string, version: string): EditTarget => ({
  name,
  version,
  source: 'registry',
  resolved: `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${version}.tgz`,
});

const file = (texts: ProjectTexts, name: string) => join(texts.root, name);
const json = (texts: ProjectTexts, name = 'package.json') => parseJsonc(texts.files.get(file(texts, name))!) as Record<string, any>;
const yaml = (texts: ProjectTexts, name = 'pnpm-workspace.yaml') => parseYaml(texts.files.get(file(texts, name))!) as Record<string, any>;

type Edit = (policy: NativePolicy, texts: ProjectTexts) => PolicyFix;

/** Applies a fix, checks the untouched bytes, and checks that a second run changes nothing. */
function applyOnce(policy: NativePolicy, texts: ProjectTexts, edit: Edit): { fix: PolicyFix; after: ProjectTexts } {
  const fix = edit(policy, texts);
  assert.equal(fix.status, 'edit', `expected an edit, got ${fix.status}: ${fix.reason ?? fix.title}`);
  const after = afterFix(texts, fix);
  assertOnlySpansChanged(texts, after, fix);
  const again = edit(policy, after);
  assert.equal(again.status, 'unchanged', `a second run must change nothing, got: ${again.title}`);
  assert.deepEqual(again.edits, []);
  return { fix, after };
}

const allow = (target: EditTarget, pinned?: boolean): Edit => (policy, texts) => allowPackage(policy, target, pinned === undefined ? {} : { pinned }, texts);
const deny = (target: EditTarget, pinned?: boolean): Edit => (policy, texts) => denyPackage(policy, target, pinned === undefined ? {} : { pinned }, texts);
const setup = (fixture: string, tool: PolicyTool, version: string | null, extra?: Partial<NativePolicy>) => {
  const texts = loadEditFixture(fixture);
  return { texts, policy: handMadePolicy(tool, version, texts.root, extra) };
};

// ---- npm allowScripts ----

test('npm: a pinned allow joins the version to the existing pinned entry, keeping CRLF and tabs', () => {
  const { texts, policy } = setup('npm-crlf-tabs', 'npm', '11.19.1');
  const { fix, after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5')));
  assert.equal(json(after).allowScripts['sharp@0.33.5 || 0.34.5'], true);
  assert.equal(json(after).allowScripts['sharp@0.33.5'], undefined);
  assert.match(fix.title, /sharp@0\.34\.5.*package\.json allowScripts/);
  assertEol(after.files.get(file(after, 'package.json'))!, '\r\n');
});

test('npm: allowing a denied package replaces the deny and says so in the title', () => {
  const { texts, policy } = setup('npm-crlf-tabs', 'npm', '11.19.1');
  const { fix, after } = applyOnce(policy, texts, allow(registry('core-js', '3.40.0')));
  const allowScripts = json(after).allowScripts;
  assert.equal(allowScripts['core-js'], undefined);
  assert.equal(allowScripts['core-js@3.40.0'], true);
  assert.match(fix.title, /replaces the deny entry "core-js": false/);
  const text = after.files.get(file(after, 'package.json'))!;
  assert.match(text, /\r\n\t\t"core-js@3\.40\.0": true\r\n/, 'the new entry is indented with two tabs');
  assert.doesNotThrow(() => JSON.parse(text), 'still strict JSON (no trailing comma left behind)');
  assertEol(text, '\r\n');
});

test('npm: a versioned deny gives up only the allowed version', () => {
  const { texts, policy } = setup('npm-crlf-tabs', 'npm', '11.19.1');
  const { fix, after } = applyOnce(policy, texts, allow(registry('esbuild', '0.25.2')));
  assert.equal(json(after).allowScripts['esbuild@0.25.1'], false);
  assert.equal(json(after).allowScripts['esbuild@0.25.2'], true);
  assert.match(fix.title, /takes 0\.25\.2 out of the deny entry/);
});

test('npm: an any-version allow replaces the pinned entry; a deny is name-only and drops allows', () => {
  const { texts, policy } = setup('npm-crlf-tabs', 'npm', '11.19.1');
  const { after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5'), false));
  assert.equal(json(after).allowScripts.sharp, true);
  assert.equal(json(after).allowScripts['sharp@0.33.5'], undefined);
  const denied = applyOnce(policy, texts, deny(registry('sharp', '0.34.5')));
  assert.deepEqual(Object.keys(json(denied.after).allowScripts).filter((k) => k.startsWith('sharp')), ['sharp']);
  assert.equal(json(denied.after).allowScripts.sharp, false);
  assert.match(denied.fix.title, /every version of sharp.*removes the allow entry "sharp@0\.33\.5"/);
});

test('npm: without a resolved URL npm cannot match a pin, so the allow is by name and says why', () => {
  const { texts, policy } = setup('npm-crlf-tabs', 'npm', '11.19.1');
  const { fix, after } = applyOnce(policy, texts, allow({ ...registry('nan', '2.22.0'), resolved: null }));
  assert.equal(json(after).allowScripts.nan, true);
  assert.match(fix.limitation ?? '', /"resolved" URL.*omit-lockfile-registry-resolved/);
});

test('npm: an inline allowScripts object stays inline; no final newline is added', () => {
  const { texts, policy } = setup('npm-inline', 'npm', '11.19.1');
  const { after } = applyOnce(policy, texts, allow(registry('esbuild', '0.25.2')));
  const text = after.files.get(file(after, 'package.json'))!;
  assert.match(text, /\n {3}"allowScripts": \{ "core-js": false, "esbuild@0\.25\.2": true \},\n/);
  assert.ok(text.endsWith('}') && !text.endsWith('\n'));
});

test('npm: a missing allowScripts is created in the file\'s indentation; a git dependency is keyed by its hosted shortcut', () => {
  const { texts, policy } = setup('bun-absent', 'npm', '11.19.1');
  const git: EditTarget = { name: 'sharp', version: '0.34.5', source: 'git', resolved: 'git+ssh://git@github.com/lovell/sharp.git#0123456789abcdef0123456789abcdef01234567' };
  const { after } = applyOnce(policy, texts, allow(git));
  assert.match(after.files.get(file(after, 'package.json'))!, /\n {2}"allowScripts": \{\n {4}"github:lovell\/sharp#0123456789abcdef0123456789abcdef01234567": true\n {2}\}\n\}\n$/);
});

test('npm: an npm too old for allowScripts still gets the entry, with the limitation stated', () => {
  const { texts, policy } = setup('npm-inline', 'npm', '10.9.2');
  assert.match(allowPackage(policy, registry('esbuild', '0.25.2'), {}, texts).limitation ?? '', /npm 10\.9\.2 does not read allowScripts/);
});

test('global switches are stated where they matter, and the root is found without policy.root', () => {
  const { texts } = setup('npm-inline', 'npm', '11.19.1');
  const off = { file: file(texts, '.npmrc'), span: null, what: 'ignore-scripts=true' };
  const npmPolicy = handMadePolicy('npm', '11.19.1', texts.root, { root: undefined });
  npmPolicy.settings.scriptsDisabled = off;
  const npmFix = allowPackage(npmPolicy, registry('esbuild', '0.25.2'), {}, texts.files);
  assert.equal(npmFix.status, 'edit', 'the root comes from the policy\'s package.json');
  assert.match(npmFix.limitation ?? '', /off for every package \(ignore-scripts=true\)/);
  const yarn = setup('yarn', 'yarn', '4.9.2');
  yarn.policy.settings.scriptsDisabled = { ...off, what: 'enableScripts: false' };
  assert.equal(allowPackage(yarn.policy, registry('sharp', '0.34.5'), {}, yarn.texts).limitation, null, 'built: true re-enables a package under enableScripts: false');
});

test('a half-typed package.json is never written: every fix is refused with the reason', () => {
  const { texts, policy } = setup('npm-half-typed', 'npm', '11.19.1');
  for (const fix of [
    allowPackage(policy, registry('sharp', '0.34.5'), {}, texts),
    denyPackage(policy, registry('sharp', '0.34.5'), {}, texts),
    approveAll(policy, [registry('sharp', '0.34.5')], texts),
    allowPackage({ ...policy, settings: { ...policy.settings, tool: 'bun', manager: 'bun' } }, registry('sharp', '0.34.5'), {}, texts),
  ]) {
    assert.equal(fix.status, 'refused');
    assert.deepEqual(fix.edits, []);
    assert.match(fix.reason ?? '', /package\.json does not parse \(line 4/);
  }
});

// ---- pnpm ----

test('pnpm 10.28: allowBuilds takes the decision where pnpm left its placeholder; comments and layout stay', () => {
  const { texts, policy } = setup('pnpm-workspace', 'pnpm', '10.28.0');
  const { fix, after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5')));
  assert.deepEqual(yaml(after).allowBuilds, { esbuild: true, '@swc/core': false, 'sharp@0.34.5': true });
  assert.match(fix.title, /pnpm-workspace\.yaml allowBuilds.*replaces the placeholder/);
  assert.match(after.files.get(file(after, 'pnpm-workspace.yaml'))!, /\n {4}sharp@0\.34\.5: true\n\nstrictDepBuilds/);
});

test('pnpm 11: a scoped package denied in allowBuilds is allowed with a quoted key in the file\'s quote style', () => {
  const { texts, policy } = setup('pnpm-workspace', 'pnpm', '11.1.2');
  const { fix, after } = applyOnce(policy, texts, allow(registry('@swc/core', '1.10.1')));
  assert.equal(yaml(after).allowBuilds['@swc/core'], undefined);
  assert.equal(yaml(after).allowBuilds['@swc/core@1.10.1'], true);
  assert.match(after.files.get(file(after, 'pnpm-workspace.yaml'))!, /\n {4}'@swc\/core@1\.10\.1': true\n/);
  assert.match(fix.title, /replaces the deny entry "@swc\/core": false/);
});

test('pnpm: a deny flips the value in place and keeps the comment on its line', () => {
  const { texts, policy } = setup('pnpm-workspace', 'pnpm', '10.28.0');
  const { fix, after } = applyOnce(policy, texts, deny(registry('esbuild', '0.25.2')));
  assert.equal(yaml(after).allowBuilds.esbuild, false);
  assert.match(after.files.get(file(after, 'pnpm-workspace.yaml'))!, /\n {4}esbuild: false {8}# postinstall downloads the platform binary\n/);
  assert.match(fix.title, /replaces "esbuild": true/);
});

test('pnpm 10.20: onlyBuiltDependencies (flow) gets a pinned item and ignoredBuiltDependencies loses it; CRLF stays', () => {
  const { texts, policy } = setup('pnpm-lists-crlf', 'pnpm', '10.20.0', { declaredFields: ['onlyBuiltDependencies', 'ignoredBuiltDependencies'] });
  const { fix, after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5')));
  assert.deepEqual(yaml(after).onlyBuiltDependencies, ['esbuild', 'nx@21.6.4', 'sharp@0.34.5']);
  assert.deepEqual(yaml(after).ignoredBuiltDependencies, ['core-js']);
  assert.match(fix.title, /removes "sharp" from ignoredBuiltDependencies/);
  const text = after.files.get(file(after, 'pnpm-workspace.yaml'))!;
  assert.match(text, /\[esbuild, {2}'nx@21\.6\.4', sharp@0\.34\.5\] {3}# flow style\r\n/);
  assertEol(text, '\r\n');
  const nx = applyOnce(policy, after, allow(registry('nx', '21.6.5')));
  assert.deepEqual(yaml(nx.after).onlyBuiltDependencies, ['esbuild', 'nx@21.6.4 || 21.6.5', 'sharp@0.34.5']);
});

test('pnpm 10.20: a deny moves the name from onlyBuiltDependencies to the unindented ignored list', () => {
  const { texts, policy } = setup('pnpm-lists-crlf', 'pnpm', '10.20.0', { declaredFields: ['onlyBuiltDependencies'] });
  const { after } = applyOnce(policy, texts, deny(registry('esbuild', '0.25.2')));
  assert.deepEqual(yaml(after).onlyBuiltDependencies, ['nx@21.6.4']);
  assert.deepEqual(yaml(after).ignoredBuiltDependencies, ['core-js', 'sharp', 'esbuild']);
  assert.match(after.files.get(file(after, 'pnpm-workspace.yaml'))!, /\r\n- sharp\r\n- esbuild\r\n$/);
  assert.equal(denyPackage(policy, registry('core-js', '3.40.0'), {}, texts).status, 'unchanged');
});

test('pnpm 10.4: settings kept in package.json "pnpm" get a name (no versions before 10.19), 4-space indented', () => {
  const { texts, policy } = setup('pnpm-manifest', 'pnpm', '10.4.1', { declaredFields: ['pnpm.onlyBuiltDependencies'] });
  const { fix, after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5')));
  assert.deepEqual(json(after).pnpm.onlyBuiltDependencies, ['esbuild', 'sharp']);
  assert.match(after.files.get(file(after, 'package.json'))!, /\n {12}"esbuild",\n {12}"sharp"\n {8}\]/);
  assert.match(fix.limitation ?? '', /pnpm 10\.4\.1 reads only names/);
  assert.match(fix.title, /every version of sharp in package\.json pnpm\.onlyBuiltDependencies/);
});

test('pnpm: with no build settings the fix creates pnpm-workspace.yaml for the version in use', () => {
  const cases: [string | null, Record<string, unknown>, RegExp | null][] = [
    ['10.12.4', { onlyBuiltDependencies: ['sharp'] }, /reads only names/],
    ['10.22.0', { onlyBuiltDependencies: ['sharp@0.34.5'] }, null],
    ['10.26.1', { allowBuilds: { 'sharp@0.34.5': true } }, null],
    [null, { allowBuilds: { 'sharp@0.34.5': true } }, /version is unknown/],
  ];
  for (const [version, expected, limitation] of cases) {
    const { texts, policy } = setup('bun-absent', 'pnpm', version);
    const { fix, after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5')));
    assert.deepEqual(fix.createsFiles, [file(texts, 'pnpm-workspace.yaml')]);
    assert.deepEqual(yaml(after), expected, `pnpm ${version}`);
    if (limitation) assert.match(fix.limitation ?? '', limitation);
    else assert.equal(fix.limitation, null);
  }
});

test('pnpm 9: package.json "pnpm" (no workspace file support), with the default-changing effect stated', () => {
  const { texts, policy } = setup('bun-absent', 'pnpm', '9.15.0');
  const { fix, after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5')));
  assert.deepEqual(json(after).pnpm, { onlyBuiltDependencies: ['sharp'] });
  assert.match(fix.limitation ?? '', /builds every dependency until onlyBuiltDependencies exists/);
});

test('pnpm: a git dependency cannot be approved by name', () => {
  const { texts, policy } = setup('pnpm-workspace', 'pnpm', '10.28.0');
  const fix = allowPackage(policy, { name: 'foo', version: '1.0.0', source: 'git', resolved: 'git+https://github.com/x/foo.git#abc' }, {}, texts);
  assert.equal(fix.status, 'refused');
  assert.match(fix.reason ?? '', /resolved artifact, not by name/);
});

// ---- Yarn Berry ----

test('Yarn: a pinned allow replaces the name deny with a dependenciesMeta["name@version"] entry', () => {
  const { texts, policy } = setup('yarn', 'yarn', '4.9.2');
  const { fix, after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5')));
  assert.deepEqual(json(after).dependenciesMeta, { fsevents: { optional: true, built: false }, 'sharp@0.34.5': { built: true } });
  assert.match(fix.title, /replaces the deny "sharp": \{ "built": false \}/);
  assert.doesNotThrow(() => JSON.parse(after.files.get(file(after, 'package.json'))!));
});

test('Yarn: an any-version allow sets built in place beside other settings; a deny already there changes nothing', () => {
  const { texts, policy } = setup('yarn', 'yarn', '4.9.2');
  const { after } = applyOnce(policy, texts, allow(registry('fsevents', '2.3.3'), false));
  assert.deepEqual(json(after).dependenciesMeta.fsevents, { optional: true, built: true });
  assert.equal(denyPackage(policy, registry('sharp', '0.34.5'), {}, texts).status, 'unchanged');
  const pinnedDeny = applyOnce(policy, after, deny(registry('fsevents', '2.3.3'), true));
  assert.deepEqual(json(pinnedDeny.after).dependenciesMeta['fsevents@2.3.3'], { built: false });
});

test('Yarn classic has no build allowlist: refused', () => {
  const { texts, policy } = setup('yarn', 'yarn', '1.22.22');
  assert.equal(allowPackage(policy, registry('sharp', '0.34.5'), {}, texts).status, 'refused');
});

// ---- Bun ----

test('Bun: trustedDependencies gets the name inline with tabs kept; the title says a pin is impossible', () => {
  const { texts, policy } = setup('bun', 'bun', '1.2.19');
  const { fix, after } = applyOnce(policy, texts, allow(registry('node-sass', '9.0.0')));
  assert.deepEqual(json(after).trustedDependencies, ['esbuild', 'sharp', 'node-sass']);
  assert.match(after.files.get(file(after, 'package.json'))!, /\n\t"trustedDependencies": \["esbuild", "sharp", "node-sass"\],\n/);
  assert.match(fix.title, /\(Bun cannot pin a version\)/);
  assert.equal(fix.limitation, null);
});

test('Bun: a deny removes the name (there is no deny list) and says so', () => {
  const { texts, policy } = setup('bun', 'bun', '1.2.19');
  const { fix, after } = applyOnce(policy, texts, deny(registry('sharp', '0.34.5')));
  assert.deepEqual(json(after).trustedDependencies, ['esbuild']);
  assert.match(fix.title, /\(Bun has no deny list: removes it from trustedDependencies\)/);
});

test('Bun: adding trustedDependencies where there was none warns that it replaces Bun\'s default list', () => {
  const { texts, policy } = setup('bun-absent', 'bun', '1.2.19');
  const { fix, after } = applyOnce(policy, texts, allow(registry('sharp', '0.34.5')));
  assert.deepEqual(json(after).trustedDependencies, ['sharp']);
  assert.match(fix.limitation ?? '', /replaces Bun's default list/);
});

// ---- LavaMoat ----

test('LavaMoat: the path key moves to the locked version; a deny writes the bare path', () => {
  const { texts, policy } = setup('lavamoat', 'lavamoat', null);
  const target = { ...registry('sharp', '0.34.5'), paths: [['canvas@2.11.2', 'sharp@0.34.5'], ['a@1.0.0', 'b@1.0.0', 'sharp@0.34.5']] };
  const { fix, after } = applyOnce(policy, texts, allow(target));
  assert.deepEqual(json(after).lavamoat.allowScripts, { '@lavamoat/preinstall-always-fail': false, 'canvas>sharp#0.34.5': true });
  assert.match(fix.title, /as "canvas>sharp#0\.34\.5"/);
  const denied = applyOnce(policy, after, deny(target));
  assert.deepEqual(json(denied.after).lavamoat.allowScripts, { '@lavamoat/preinstall-always-fail': false, 'canvas>sharp': false });
  assert.equal(allowPackage(policy, registry('left-pad', '1.3.0'), {}, texts).status, 'refused');
});

// ---- approve all ----

test('approve all: one fix pins every unreviewed package; a second run changes nothing', () => {
  const { texts, policy } = setup('npm-crlf-tabs', 'npm', '11.19.1');
  const packages = [registry('sharp', '0.34.5'), registry('core-js', '3.40.0'), registry('esbuild', '0.25.2'), registry('@parcel/watcher', '2.5.1')];
  const { fix, after } = applyOnce(policy, texts, (p, t) => approveAll(p, packages, t));
  assert.deepEqual(json(after).allowScripts, {
    'sharp@0.33.5 || 0.34.5': true,
    'esbuild@0.25.1': false,
    'core-js@3.40.0': true,
    'esbuild@0.25.2': true,
    '@parcel/watcher@2.5.1': true,
  });
  assert.match(fix.title, /4 packages, pinned/);
  assertEol(after.files.get(file(after, 'package.json'))!, '\r\n');
});

test('approve all: a package the format cannot name is skipped and listed, the rest written', () => {
  const { texts, policy } = setup('lavamoat', 'lavamoat', null);
  const fix = approveAll(policy, [registry('left-pad', '1.3.0'), { ...registry('keccak', '3.0.4'), paths: [['ethereumjs-util@7.1.5', 'keccak@3.0.4']] }], texts);
  assert.equal(fix.status, 'edit');
  assert.equal(json(afterFix(texts, fix)).lavamoat.allowScripts['ethereumjs-util>keccak#3.0.4'], true);
  assert.match(fix.limitation ?? '', /Not approved: left-pad@1\.3\.0/);
});

// ---- prune ----

function ruleAt(texts: ProjectTexts, name: string, tool: PolicyTool, field: string, key: string, written: string, nth = 0): AllowlistRule {
  const text = texts.files.get(file(texts, name))!;
  let start = -1;
  for (let i = 0; i <= nth; i++) start = text.indexOf(written, start + 1);
  assert.ok(start >= 0, `${written} is in ${name}`);
  return { tool, file: file(texts, name), field, key, name: null, versions: null, sourceSpec: null, lavamoatPath: null, allow: true, span: { start, end: start + written.length } };
}

test('prune: stale entries leave maps and lists valid, in JSON and YAML', () => {
  const npm = setup('npm-crlf-tabs', 'npm', '11.19.1');
  const pruned = applyOnce(npm.policy, npm.texts, (p, t) => pruneStale(p, [ruleAt(npm.texts, 'package.json', 'npm', 'allowScripts', 'esbuild@0.25.1 || 0.25.2', '"esbuild@0.25.1 || 0.25.2"')], t));
  const text = pruned.after.files.get(file(npm.texts, 'package.json'))!;
  assert.deepEqual(JSON.parse(text).allowScripts, { 'sharp@0.33.5': true, 'core-js': false }, 'the comma of the new last entry is gone');
  assertEol(text, '\r\n');

  const lists = setup('pnpm-lists-crlf', 'pnpm', '10.20.0');
  const rules = [
    ruleAt(lists.texts, 'pnpm-workspace.yaml', 'pnpm', 'ignoredBuiltDependencies', 'core-js', 'core-js'),
    ruleAt(lists.texts, 'pnpm-workspace.yaml', 'pnpm', 'ignoredBuiltDependencies', 'sharp', 'sharp'),
    ruleAt(lists.texts, 'pnpm-workspace.yaml', 'pnpm', 'onlyBuiltDependencies', 'esbuild', 'esbuild'),
  ];
  const yamlPruned = applyOnce(lists.policy, lists.texts, (p, t) => pruneStale(p, rules, t));
  assert.deepEqual(yaml(yamlPruned.after), { packages: ['packages/*'], onlyBuiltDependencies: ['nx@21.6.4'], ignoredBuiltDependencies: [] });
  assert.match(yamlPruned.after.files.get(file(lists.texts, 'pnpm-workspace.yaml'))!, /\r\nignoredBuiltDependencies: \[\]\r\n$/);

  const yarn = setup('yarn', 'yarn', '4.9.2');
  const meta = applyOnce(yarn.policy, yarn.texts, (p, t) => pruneStale(p, [ruleAt(yarn.texts, 'package.json', 'yarn', 'dependenciesMeta', 'fsevents', '"fsevents": {')], t));
  assert.deepEqual(json(meta.after).dependenciesMeta, { fsevents: { optional: true }, sharp: { built: false } });

  const bun = setup('bun', 'bun', '1.2.19');
  const bunPruned = applyOnce(bun.policy, bun.texts, (p, t) => pruneStale(p, [ruleAt(bun.texts, 'package.json', 'bun', 'trustedDependencies', 'sharp', '"sharp"')], t));
  assert.deepEqual(JSON.parse(bunPruned.after.files.get(file(bun.texts, 'package.json'))!).trustedDependencies, ['esbuild']);
});

// ---- the lossless edit primitives underneath ----

test('JSON edits keep the comments that jsonc-parser\'s modify would move or drop', () => {
  const removeLast = removeJsonItem('{\n  "t": [\n    "a", // keep me\n    "b"\n  ]\n}\n', ['t'], 1, 'x.json');
  assert.equal(applyLocal('{\n  "t": [\n    "a", // keep me\n    "b"\n  ]\n}\n', removeLast), '{\n  "t": [\n    "a" // keep me\n  ]\n}\n');
  const text = '{\n  "o": {\n    "a": true // about a\n  }\n}\n';
  assert.equal(applyLocal(text, setJsonProperty(text, ['o'], 'b', true, 'x.json')), '{\n  "o": {\n    "a": true, // about a\n    "b": true\n  }\n}\n');
  const only = '{\n  "o": {\n    "a": true\n  },\n  "l": ["x"]\n}\n';
  assert.equal(applyLocal(only, removeJsonProperty(only, ['o'], 'a', 'x.json')), '{\n  "o": {},\n  "l": ["x"]\n}\n');
  assert.equal(applyLocal(only, removeJsonItem(only, ['l'], 0, 'x.json')), '{\n  "o": {\n    "a": true\n  },\n  "l": []\n}\n');
});

test('YAML edits: an empty-valued key, a comments-only file, a flow map, a last line without newline', () => {
  const empty = 'allowBuilds:   # to review\nother: 1\n';
  assert.equal(applyLocal(empty, setYamlMapEntry(empty, ['allowBuilds'], 'sharp', true, 'w.yaml')), 'allowBuilds:   # to review\n  sharp: true\nother: 1\n');
  const comments = '# nothing yet\n';
  assert.equal(applyLocal(comments, appendYamlSeqItem(comments, ['onlyBuiltDependencies'], '@swc/core', 'w.yaml')), "# nothing yet\nonlyBuiltDependencies:\n  - '@swc/core'\n");
  const flow = 'allowBuilds: { esbuild: true }\n';
  assert.equal(applyLocal(flow, setYamlMapEntry(flow, ['allowBuilds'], 'sharp', false, 'w.yaml')), 'allowBuilds: { esbuild: true, sharp: false }\n');
  const noEol = 'packages:\n  - a\nonlyBuiltDependencies:\n  - esbuild';
  assert.equal(applyLocal(noEol, appendYamlSeqItem(noEol, ['onlyBuiltDependencies'], 'sharp', 'w.yaml')), 'packages:\n  - a\nonlyBuiltDependencies:\n  - esbuild\n  - sharp');
  assert.throws(() => setYamlMapEntry('a: [\n', ['allowBuilds'], 'x', true, 'w.yaml'), /does not parse/);
});

test('applyTextEdits rejects overlapping and out-of-range edits', () => {
  assert.throws(() => applyTextEdits('abcdef', [{ span: { start: 1, end: 4 }, newText: 'x' }, { span: { start: 3, end: 5 }, newText: 'y' }]), /overlap/);
  assert.throws(() => applyTextEdits('abc', [{ span: { start: 2, end: 9 }, newText: 'x' }]), /outside its 3 characters/);
  assert.equal(applyTextEdits('abc', [{ span: { start: 3, end: 3 }, newText: '!' }, { span: { start: 0, end: 1 }, newText: 'A' }]), 'Abc!');
});

test('EditComposer: any sequence of edits composes into edits against the original text', () => {
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  for (let round = 0; round < 300; round++) {
    const original = 'The quick brown fox\njumps over\r\nthe lazy dog.'.slice(0, 10 + random(30));
    const composer = new EditComposer(original);
    let sequential = original;
    for (let step = 0; step < 1 + random(6); step++) {
      const start = random(sequential.length + 1);
      const end = start + random(Math.min(4, sequential.length - start) + 1);
      const newText = ['', 'x', 'YZ', ',\n  ', '"k": 1'][random(5)]!;
      composer.apply([{ start, end, newText }]);
      sequential = sequential.slice(0, start) + newText + sequential.slice(end);
    }
    const edits = composer.result().map((e) => ({ span: { start: e.start, end: e.end }, newText: e.newText }));
    assert.equal(applyTextEdits(original, edits), sequential, `round ${round}`);
    assert.equal(composer.text, sequential);
  }
});

function applyLocal(text: string, edits: { start: number; end: number; newText: string }[]): string {
  return applyTextEdits(text, edits.map((e) => ({ span: { start: e.start, end: e.end }, newText: e.newText })));
}

// ---- round trip through the real reader and decision ----

async function readPolicy(texts: ProjectTexts, manager: PackageManagerName, version: string): Promise<NativePolicy> {
  const readText = async (path: string) => texts.files.get(path) ?? null;
  const inventory = await loadProject(texts.root, readText);
  return readNativePolicy(inventory, null, readText, { installingTool: { manager, version, source: 'test', problem: null } });
}

const locked = (target: EditTarget, paths: string[][] = [[`${target.name}@${target.version}`]]): PolicyPackage => ({
  name: target.name,
  version: target.version,
  source: target.source,
  resolved: target.resolved,
  paths,
  runsScripts: true,
});

test('round trip: after each fix the real reader decides the package the way the fix said', async () => {
  const cases: { fixture: string; manager: PackageManagerName; version: string; target: EditTarget; action: 'allow' | 'deny'; paths?: string[][]; pinned?: boolean; before: string }[] = [
    { fixture: 'npm-crlf-tabs', manager: 'npm', version: '11.19.1', target: registry('sharp', '0.34.5'), action: 'allow', before: 'unreviewed' },
    { fixture: 'npm-crlf-tabs', manager: 'npm', version: '11.19.1', target: registry('core-js', '3.40.0'), action: 'allow', before: 'denied' },
    { fixture: 'npm-crlf-tabs', manager: 'npm', version: '11.19.1', target: registry('esbuild', '0.25.2'), action: 'allow', before: 'denied' },
    { fixture: 'npm-crlf-tabs', manager: 'npm', version: '11.19.1', target: registry('sharp', '0.33.5'), action: 'deny', before: 'allowed' },
    { fixture: 'npm-inline', manager: 'npm', version: '11.19.1', target: registry('esbuild', '0.25.2'), action: 'allow', before: 'unreviewed' },
    { fixture: 'pnpm-workspace', manager: 'pnpm', version: '10.28.0', target: registry('sharp', '0.34.5'), action: 'allow', before: 'unreviewed' },
    { fixture: 'pnpm-workspace', manager: 'pnpm', version: '11.1.2', target: registry('@swc/core', '1.10.1'), action: 'allow', before: 'denied' },
    { fixture: 'pnpm-workspace', manager: 'pnpm', version: '10.28.0', target: registry('esbuild', '0.25.2'), action: 'deny', before: 'allowed' },
    { fixture: 'pnpm-lists-crlf', manager: 'pnpm', version: '10.20.0', target: registry('sharp', '0.34.5'), action: 'allow', before: 'denied' },
    { fixture: 'pnpm-lists-crlf', manager: 'pnpm', version: '10.20.0', target: registry('nx', '21.6.5'), action: 'allow', before: 'unreviewed' },
    { fixture: 'pnpm-lists-crlf', manager: 'pnpm', version: '10.20.0', target: registry('esbuild', '0.25.2'), action: 'deny', before: 'allowed' },
    { fixture: 'pnpm-manifest', manager: 'pnpm', version: '10.4.1', target: registry('sharp', '0.34.5'), action: 'allow', before: 'unreviewed' },
    { fixture: 'bun-absent', manager: 'pnpm', version: '10.26.1', target: registry('sharp', '0.34.5'), action: 'allow', before: 'unreviewed' },
    { fixture: 'bun-absent', manager: 'pnpm', version: '10.12.4', target: registry('sharp', '0.34.5'), action: 'allow', before: 'unreviewed' },
    { fixture: 'yarn', manager: 'yarn', version: '4.9.2', target: registry('sharp', '0.34.5'), action: 'allow', before: 'denied' },
    { fixture: 'yarn', manager: 'yarn', version: '4.9.2', target: registry('esbuild', '0.25.2'), action: 'deny', before: 'unreviewed' },
    { fixture: 'bun', manager: 'bun', version: '1.2.19', target: registry('made-up-native', '1.0.0'), action: 'allow', before: 'unreviewed' },
    { fixture: 'bun-absent', manager: 'bun', version: '1.2.19', target: registry('made-up-native', '1.0.0'), action: 'allow', before: 'unreviewed' },
    // The reader keys LavaMoat by path only (no "#version" yet), so these use path keys.
    { fixture: 'lavamoat', manager: 'npm', version: '11.19.1', target: registry('sharp', '0.34.5'), paths: [['canvas@2.11.2', 'sharp@0.34.5']], pinned: false, action: 'allow', before: 'unreviewed' },
    { fixture: 'lavamoat', manager: 'npm', version: '11.19.1', target: registry('sharp', '0.34.5'), paths: [['canvas@2.11.2', 'sharp@0.34.5']], action: 'deny', before: 'unreviewed' },
  ];
  for (const c of cases) {
    const label = `${c.fixture} ${c.manager}@${c.version} ${c.action} ${c.target.name}@${c.target.version}`;
    const texts = loadEditFixture(c.fixture);
    const target = { ...c.target, ...(c.paths ? { paths: c.paths } : {}) };
    const pkg = locked(target, c.paths);
    const policy = await readPolicy(texts, c.manager, c.version);
    assert.equal(decide(policy, pkg).verdict, c.before, `${label}: before`);
    const fix = (c.action === 'allow' ? allowPackage : denyPackage)(policy, target, c.pinned === undefined ? {} : { pinned: c.pinned }, texts.files);
    assert.equal(fix.status, 'edit', `${label}: ${fix.reason ?? fix.title}`);
    const after = afterFix(texts, fix);
    const reread = await readPolicy(after, c.manager, c.version);
    const decision = decide(reread, pkg);
    assert.equal(decision.verdict, c.action === 'allow' ? 'allowed' : c.manager === 'bun' ? 'unreviewed' : 'denied', `${label}: after (${decision.explanation})`);
    if (decision.rule) assert.ok(fix.edits.some((e) => e.file === decision.rule!.file), `${label}: decided by an entry in the edited file`);
  }
});

test('round trip: approve all leaves nothing unreviewed, and pruning what the reader calls unused leaves nothing unused', async () => {
  const texts = loadEditFixture('npm-crlf-tabs');
  const packages = [registry('sharp', '0.34.5'), registry('core-js', '3.40.0'), registry('@parcel/watcher', '2.5.1')];
  const policy = await readPolicy(texts, 'npm', '11.19.1');
  const approved = afterFix(texts, approveAll(policy, packages, texts.files));
  const reread = await readPolicy(approved, 'npm', '11.19.1');
  assert.deepEqual(packages.map((p) => decide(reread, locked(p)).verdict), ['allowed', 'allowed', 'allowed']);
  const unused = unusedRules(reread, packages.map((p) => locked(p)));
  assert.deepEqual(unused.map((u) => u.rule.key), ['esbuild@0.25.1 || 0.25.2'], 'esbuild is not locked: its deny matches nothing');
  const pruned = afterFix(approved, pruneStale(reread, unused.map((u) => u.rule), approved.files));
  const final = await readPolicy(pruned, 'npm', '11.19.1');
  assert.deepEqual(unusedRules(final, packages.map((p) => locked(p))), []);
  assert.deepEqual(packages.map((p) => decide(final, locked(p)).verdict), ['allowed', 'allowed', 'allowed']);
  assert.doesNotThrow(() => JSON.parse(pruned.files.get(file(pruned, 'package.json'))!));
});

// ---- another allowlist than the installing tool's (installGuard.allowlistTarget, --allowlist) ----

test('allowlist target: fixes write the chosen tool\'s list, say when the installer will not read it, and a re-read agrees', async () => {
  const texts = loadEditFixture('npm-crlf-tabs');
  const policy = await readPolicy(texts, 'npm', '11.19.1');
  assert.equal(policyForTarget(policy, 'auto'), policy);
  assert.equal(policyForTarget(policy, 'npm'), policy);
  const sharp = { ...registry('sharp', '0.34.5'), paths: [['sharp@0.34.5']] };

  const bun = policyForTarget(policy, 'bun');
  const { fix: bunFix, after: bunAfter } = applyOnce(bun, texts, allow(sharp));
  assert.deepEqual(json(bunAfter).trustedDependencies, ['sharp']);
  assert.deepEqual(json(bunAfter).allowScripts, json(texts).allowScripts, 'npm\'s own list is left alone');
  assert.match(bunFix.limitation ?? '', /npm installs this project and does not read bun's allowlist/);

  const lavamoat = policyForTarget(policy, 'lavamoat');
  const { fix: moatFix, after: moatAfter } = applyOnce(lavamoat, texts, allow(sharp));
  assert.equal(json(moatAfter).lavamoat.allowScripts['sharp#0.34.5'], true, JSON.stringify(json(moatAfter).lavamoat));
  assert.doesNotMatch(moatFix.limitation ?? '', /does not read/, 'LavaMoat runs over npm: it does read its own list');
  const reread = await readPolicy(moatAfter, 'npm', '11.19.1');
  assert.equal(reread.settings.tool, 'lavamoat');
  assert.equal(decide(reread, locked(sharp)).verdict, 'allowed');

  // LavaMoat governs: "npm" writes the list of the package manager underneath it.
  const underneath = policyForTarget(reread, 'npm');
  assert.equal(underneath, reread.underlying);
  const { after: npmAfter } = applyOnce(underneath, moatAfter, allow(sharp));
  assert.equal(json(npmAfter).allowScripts['sharp@0.33.5 || 0.34.5'] ?? json(npmAfter).allowScripts['sharp@0.34.5'], true, JSON.stringify(json(npmAfter).allowScripts));
});
