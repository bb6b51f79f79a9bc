/**
 * Verdicts and effects under the rules of each tool and version, on made projects read by
 * readNativePolicy: every rule form, deny-wins vs allow-wins (pnpm 10 folds allowBuilds into
 * lists where being listed to build wins; npm and pnpm 11 let deny win), pnpm's placeholder,
 * npm's identity rules (resolved URL, omitted resolved, git keys, bundled), Yarn's
 * enableScripts/built interplay, Bun's default list, LavaMoat's canonical paths, the exact
 * `decidedBy` strings, and stale entries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProject, type ReadText } from '../../server/src/parse/project';
import { decide, unusedRules } from '../../server/src/policy/allowlists/decide';
import { readNativePolicy } from '../../server/src/policy/allowlists/nativeAllowlists';
import type { PackageManagerName } from '../../server/src/model/inventory';
import type { NativePolicy, PolicyPackage } from '../../server/src/policy/types';

const ROOT = '/made/project';
const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

async function policyOf(files: Record<string, string>, manager: PackageManagerName, version: string | null, env: NodeJS.ProcessEnv = {}): Promise<NativePolicy> {
  const readText: ReadText = async (path) => files[path.slice(ROOT.length + 1)] ?? null;
  const inventory = await loadProject(ROOT, readText);
  return readNativePolicy(inventory, null, readText, { installingTool: { manager, version, source: 'test', problem: null }, env });
}

/** A registry package as npm locks it: identity from the canonical tarball URL. */
function reg(name: string, version: string, extra: Partial<PolicyPackage> = {}): PolicyPackage {
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
  return { name, version, source: 'registry', resolved: `https://registry.npmjs.org/${name}/-/${base}-${version}.tgz`, paths: [[`${name}@${version}`]], runsScripts: true, ...extra };
}

function verdictOf(policy: NativePolicy, pkg: PolicyPackage): [string, string | null, string | null] {
  const d = decide(policy, pkg);
  return [d.verdict, d.effect, d.decidedBy];
}

const NPM_PROJECT = {
  'package.json': json({
    name: 'app',
    allowScripts: {
      sharp: true,
      'sharp@0.33.1': false,
      'nx@21.6.4 || 21.6.5': true,
      'core-js': false,
      'github:user/native#abc1234': true,
      'file:vendor/local-addon': true,
      'pinned-deny@2.0.0': false,
      canvas: true,
    },
  }),
};

test('npm 11.19: allowed runs, denied is skipped, unreviewed runs with a warning; deny wins', async () => {
  const policy = await policyOf(NPM_PROJECT, 'npm', '11.19.1');
  assert.deepEqual(verdictOf(policy, reg('sharp', '0.34.5')), ['allowed', 'runs', 'package.json#allowScripts.sharp']);
  assert.deepEqual(verdictOf(policy, reg('sharp', '0.33.1')), ['denied', 'skipped', 'package.json#allowScripts.sharp@0.33.1']);
  assert.deepEqual(verdictOf(policy, reg('nx', '21.6.5')), ['allowed', 'runs', 'package.json#allowScripts.nx@21.6.4 || 21.6.5']);
  assert.deepEqual(verdictOf(policy, reg('nx', '21.7.0')), ['unreviewed', 'runs', null]);
  assert.deepEqual(verdictOf(policy, reg('core-js', '3.40.0')), ['denied', 'skipped', 'package.json#allowScripts.core-js']);
  const unlisted = decide(policy, reg('esbuild', '0.25.0'));
  assert.equal(unlisted.verdict, 'unreviewed');
  assert.match(unlisted.explanation, /npm 11\.19\.1 runs an unreviewed install script and only warns/);
  assert.deepEqual(verdictOf(policy, { ...reg('lodash', '4.17.21'), runsScripts: false }), ['none', null, null]);
});

test('npm identity: the resolved URL names the package, a missing URL refuses pinned approvals but keeps pinned denials', async () => {
  const policy = await policyOf(NPM_PROJECT, 'npm', '11.19.1');
  // An alias locked under "sharp" whose tarball is another package: the URL decides.
  assert.deepEqual(verdictOf(policy, { ...reg('sharp', '1.0.0'), resolved: 'https://registry.npmjs.org/evil/-/evil-1.0.0.tgz' }), ['unreviewed', 'runs', null]);
  // A registry mounted below the root still parses.
  assert.deepEqual(verdictOf(policy, { ...reg('sharp', '0.34.5'), resolved: 'https://nexus.example/repository/npm/sharp/-/sharp-0.34.5.tgz' })[0], 'allowed');
  // omit-lockfile-registry-resolved: name-only still matches, a pin cannot be verified.
  const noUrl = (name: string, version: string) => ({ ...reg(name, version), resolved: null });
  assert.deepEqual(verdictOf(policy, noUrl('canvas', '2.11.2')), ['allowed', 'runs', 'package.json#allowScripts.canvas']);
  assert.deepEqual(verdictOf(policy, noUrl('sharp', '0.33.1')), ['denied', 'skipped', 'package.json#allowScripts.sharp@0.33.1'], 'a pinned deny fails closed');
  // ...for every version it cannot check, and deny wins over the name-only approval.
  assert.deepEqual(verdictOf(policy, noUrl('sharp', '0.34.5')), ['denied', 'skipped', 'package.json#allowScripts.sharp@0.33.1']);
  assert.deepEqual(verdictOf(policy, noUrl('pinned-deny', '9.9.9')), ['denied', 'skipped', 'package.json#allowScripts.pinned-deny@2.0.0'], 'even for another version');
  const refused = decide(policy, noUrl('nx', '21.6.4'));
  assert.deepEqual([refused.verdict, refused.effect], ['unreviewed', 'runs']);
  assert.match(refused.explanation, /cannot verify the version and refuses a pinned approval/);
  // A registry-style key never matches a git or file package of the same name.
  assert.equal(decide(policy, { ...reg('sharp', '0.34.5'), source: 'git', resolved: 'git+ssh://git@github.com/lovell/sharp.git#0123456789abcdef0123456789abcdef01234567' }).verdict, 'unreviewed');
});

test('npm git, file and bundled packages; strict, npm 12, npm 10 and the global switches', async () => {
  const policy = await policyOf(NPM_PROJECT, 'npm', '11.19.1');
  const git = (sha: string): PolicyPackage => ({ name: 'native', version: '1.0.0', source: 'git', resolved: `git+ssh://git@github.com/user/native.git#${sha}`, paths: [], runsScripts: true });
  assert.deepEqual(verdictOf(policy, git('abc1234def5678abc1234def5678abc1234def56')), ['allowed', 'runs', 'package.json#allowScripts.github:user/native#abc1234']);
  assert.equal(decide(policy, git('fff1234def5678abc1234def5678abc1234def56')).verdict, 'unreviewed', 'another commit is not approved');
  const local: PolicyPackage = { name: 'local-addon', version: '1.0.0', source: 'file', resolved: 'file:vendor/local-addon', paths: [], runsScripts: true };
  assert.equal(decide(policy, local).verdict, 'allowed');
  const bundled = decide(policy, { ...reg('core-js', '3.40.0'), bundled: true });
  assert.deepEqual([bundled.verdict, bundled.effect, bundled.decidedBy], ['unreviewed', 'runs', null]);
  assert.match(bundled.explanation, /bundled .* runs its install script anyway/);

  const strict = await policyOf({ ...NPM_PROJECT, '.npmrc': 'strict-allow-scripts=true\n' }, 'npm', '11.19.1');
  assert.deepEqual(verdictOf(strict, reg('esbuild', '0.25.0')), ['unreviewed', 'fails-install', null]);
  assert.match(decide(strict, reg('esbuild', '0.25.0')).explanation, /ESTRICTALLOWSCRIPTS/);
  assert.deepEqual(verdictOf(strict, reg('core-js', '3.40.0')), ['denied', 'skipped', 'package.json#allowScripts.core-js'], 'denied entries are skipped, not fatal');

  const npm12 = await policyOf(NPM_PROJECT, 'npm', '12.0.0');
  assert.deepEqual(verdictOf(npm12, reg('esbuild', '0.25.0')), ['unreviewed', 'skipped', null]);
  assert.match(decide(npm12, reg('esbuild', '0.25.0')).explanation, /npm 12 \(announced\) skips/);

  const npm10 = await policyOf(NPM_PROJECT, 'npm', '10.9.2');
  assert.deepEqual(verdictOf(npm10, reg('core-js', '3.40.0')), ['unreviewed', 'runs', null]);
  assert.match(decide(npm10, reg('core-js', '3.40.0')).explanation, /no allowScripts \(added in npm 11\.16\)/);

  const off = await policyOf({ ...NPM_PROJECT, '.npmrc': 'ignore-scripts=true\n' }, 'npm', '11.19.1');
  assert.deepEqual(verdictOf(off, reg('sharp', '0.34.5')), ['allowed', 'skipped', 'package.json#allowScripts.sharp']);
  const all = await policyOf({ ...NPM_PROJECT, '.npmrc': 'dangerously-allow-all-scripts=true\n' }, 'npm', '11.19.1');
  assert.deepEqual(verdictOf(all, reg('core-js', '3.40.0')), ['denied', 'runs', 'package.json#allowScripts.core-js']);
});

const PNPM_YAML = `allowBuilds:
  sharp: true
  core-js: false
  esbuild: set this to true or false
  nx@21.6.4: true
onlyBuiltDependencies:
  - bcrypt
  - "@swc/core"
  - core-js
`;

test('pnpm 10.34: listed builds run, ignored ones are skipped silently, the rest are "Ignored build scripts"; listing wins', async () => {
  const policy = await policyOf({ 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': PNPM_YAML }, 'pnpm', '10.34.9');
  assert.deepEqual(verdictOf(policy, reg('sharp', '0.34.5')), ['allowed', 'runs', 'pnpm-workspace.yaml#allowBuilds.sharp']);
  assert.deepEqual(verdictOf(policy, reg('@swc/core', '1.0.0')), ['allowed', 'runs', 'pnpm-workspace.yaml#onlyBuiltDependencies[1]']);
  // core-js is both allowBuilds: false and in onlyBuiltDependencies: pnpm 10 builds it.
  assert.deepEqual(verdictOf(policy, reg('core-js', '3.40.0')), ['allowed', 'runs', 'pnpm-workspace.yaml#onlyBuiltDependencies[2]']);
  const placeholder = decide(policy, reg('esbuild', '0.25.0'));
  assert.deepEqual([placeholder.verdict, placeholder.effect, placeholder.decidedBy], ['unreviewed', 'skipped', 'pnpm-workspace.yaml#allowBuilds.esbuild']);
  assert.match(placeholder.explanation, /still "set this to true or false"/);
  assert.deepEqual(verdictOf(policy, reg('nx', '21.6.4')), ['allowed', 'runs', 'pnpm-workspace.yaml#allowBuilds.nx@21.6.4']);
  assert.deepEqual(verdictOf(policy, reg('nx', '21.6.5')), ['unreviewed', 'skipped', null]);
  assert.match(decide(policy, reg('unlisted', '1.0.0')).explanation, /Ignored build scripts/);
  // A bare name never approves a git artifact of that name; its dependency path does.
  const gitPkg: PolicyPackage = { name: 'sharp', version: '1.0.0', source: 'git', resolved: 'https://codeload.github.com/lovell/sharp/tar.gz/abc', paths: [], runsScripts: true, id: 'sharp@https://codeload.github.com/lovell/sharp/tar.gz/abc' };
  assert.equal(decide(policy, gitPkg).verdict, 'unreviewed');
  const byPath = await policyOf({ 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': 'allowBuilds:\n  "sharp@https://codeload.github.com/lovell/sharp/tar.gz/abc": true\n' }, 'pnpm', '10.34.9');
  assert.equal(decide(byPath, gitPkg).verdict, 'allowed');
});

test('pnpm 11 lets deny win and is strict by default; 12.11 permissions win; dangerouslyAllowAllBuilds by version', async () => {
  const files = { 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': PNPM_YAML.replace('  core-js: false\n', '  core-js: false\n  "core-js@3.40.0": true\n') };
  const v11 = await policyOf(files, 'pnpm', '11.28.11');
  assert.deepEqual(verdictOf(v11, reg('core-js', '3.40.0')), ['denied', 'skipped', 'pnpm-workspace.yaml#allowBuilds.core-js']);
  assert.deepEqual(verdictOf(v11, reg('bcrypt', '5.1.1')), ['unreviewed', 'fails-install', null], 'onlyBuiltDependencies is gone in 11');
  assert.match(decide(v11, reg('bcrypt', '5.1.1')).explanation, /ERR_PNPM_IGNORED_BUILDS/);

  const v12 = await policyOf({ 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': 'allowBuilds:\n  sharp: false\npermissions:\n  sharp:\n    build: true\nstrictDepBuilds: false\n' }, 'pnpm', '12.11.0');
  assert.deepEqual(verdictOf(v12, reg('sharp', '0.34.5')), ['allowed', 'runs', 'pnpm-workspace.yaml#permissions.sharp.build']);
  assert.deepEqual(verdictOf(v12, reg('esbuild', '0.25.0')), ['unreviewed', 'skipped', null]);

  const allowAll = 'allowBuilds:\n  core-js: false\ndangerouslyAllowAllBuilds: true\n';
  const v11all = await policyOf({ 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': allowAll }, 'pnpm', '11.0.0');
  assert.deepEqual(verdictOf(v11all, reg('core-js', '3.40.0')), ['denied', 'runs', 'pnpm-workspace.yaml#allowBuilds.core-js']);
  const v1212 = await policyOf({ 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': allowAll }, 'pnpm', '12.12.0');
  assert.deepEqual(verdictOf(v1212, reg('core-js', '3.40.0')), ['denied', 'skipped', 'pnpm-workspace.yaml#allowBuilds.core-js']);
  assert.deepEqual(verdictOf(v1212, reg('esbuild', '0.25.0')), ['unreviewed', 'runs', null]);
});

test('pnpm before 10 builds everything it is not told to skip; pnpm 10 with only neverBuiltDependencies builds the rest', async () => {
  const never = { 'package.json': json({ name: 'a', pnpm: { neverBuiltDependencies: ['core-js'] } }) };
  const v9 = await policyOf(never, 'pnpm', '9.15.9');
  assert.deepEqual(verdictOf(v9, reg('esbuild', '0.25.0')), ['unreviewed', 'runs', null]);
  assert.deepEqual(verdictOf(v9, reg('core-js', '3.40.0')), ['denied', 'skipped', 'package.json#pnpm.neverBuiltDependencies[0]']);
  const v10 = await policyOf(never, 'pnpm', '10.12.1');
  assert.deepEqual(verdictOf(v10, reg('esbuild', '0.25.0')), ['unreviewed', 'runs', null]);
  assert.match(decide(v10, reg('esbuild', '0.25.0')).explanation, /builds every dependency not in neverBuiltDependencies/);
  const everything = await policyOf({ 'package.json': json({ name: 'a', pnpm: { neverBuiltDependencies: [] } }) }, 'pnpm', '10.12.1');
  assert.deepEqual(verdictOf(everything, reg('esbuild', '0.25.0')), ['unreviewed', 'runs', null]);
  const only9 = await policyOf({ 'package.json': json({ name: 'a', pnpm: { onlyBuiltDependencies: [] } }) }, 'pnpm', '9.15.9');
  assert.deepEqual(verdictOf(only9, reg('esbuild', '0.25.0')), ['unreviewed', 'skipped', null], 'pnpm 9 with an empty onlyBuiltDependencies builds nothing');
  const plain10 = await policyOf({ 'package.json': json({ name: 'a' }) }, 'pnpm', '10.0.0');
  assert.deepEqual(verdictOf(plain10, reg('esbuild', '0.25.0')), ['unreviewed', 'skipped', null]);
  const strict10 = await policyOf({ 'package.json': json({ name: 'a' }), '.npmrc': 'strict-dep-builds=true\n' }, 'pnpm', '10.12.1');
  assert.deepEqual(verdictOf(strict10, reg('esbuild', '0.25.0')), ['unreviewed', 'fails-install', null]);
});

test('Yarn Berry: built: false is YN0005, enableScripts: false is YN0004, built: true re-enables, the version entry wins', async () => {
  const pkg = json({ name: 'a', dependenciesMeta: { sharp: { built: true }, 'sharp@0.34.5': { built: false }, 'core-js': { built: false } } });
  const off = await policyOf({ 'package.json': pkg, '.yarnrc.yml': 'enableScripts: false\n' }, 'yarn', '4.18.1');
  assert.deepEqual(verdictOf(off, reg('sharp', '0.33.0')), ['allowed', 'runs', 'package.json#dependenciesMeta.sharp.built']);
  assert.match(decide(off, reg('sharp', '0.33.0')).explanation, /re-enables/);
  assert.deepEqual(verdictOf(off, reg('sharp', '0.34.5')), ['denied', 'skipped', 'package.json#dependenciesMeta.sharp@0.34.5.built']);
  assert.match(decide(off, reg('sharp', '0.34.5')).explanation, /YN0005/);
  assert.deepEqual(verdictOf(off, reg('esbuild', '0.25.0')), ['unreviewed', 'skipped', null]);
  assert.match(decide(off, reg('esbuild', '0.25.0')).explanation, /YN0004/);
  const on = await policyOf({ 'package.json': pkg, '.yarnrc.yml': 'enableScripts: true\n' }, 'yarn', '4.18.1');
  assert.deepEqual(verdictOf(on, reg('esbuild', '0.25.0')), ['unreviewed', 'runs', null]);
  assert.deepEqual(verdictOf(on, reg('core-js', '3.40.0')), ['denied', 'skipped', 'package.json#dependenciesMeta.core-js.built']);
  const link: PolicyPackage = { name: 'tool', version: '0.0.0', source: 'link', resolved: 'link:./tool', paths: [], runsScripts: true };
  assert.equal(decide(on, link).effect, 'skipped');
  const classic = await policyOf({ 'package.json': pkg }, 'yarn', '1.22.22');
  assert.deepEqual(verdictOf(classic, reg('core-js', '3.40.0')), ['unreviewed', 'runs', null]);
});

test('Bun: its default list applies to registry packages only while trustedDependencies is absent', async () => {
  const none = await policyOf({ 'package.json': json({ name: 'a' }) }, 'bun', '1.4.5');
  assert.deepEqual(verdictOf(none, reg('esbuild', '0.25.0')), ['allowed', 'runs', null]);
  assert.match(decide(none, reg('esbuild', '0.25.0')).explanation, /built-in default trusted list/);
  assert.deepEqual(verdictOf(none, { ...reg('esbuild', '0.25.0'), resolved: null }), ['allowed', 'runs', null], 'the default registry is written as "" in bun.lock');
  assert.deepEqual(verdictOf(none, { ...reg('esbuild', '0.25.0'), source: 'file', resolved: 'file:./esbuild' }), ['unreviewed', 'skipped', null]);
  assert.deepEqual(verdictOf(none, { ...reg('esbuild', '0.25.0'), resolved: 'https://evil.example/esbuild/-/other-1.0.0.tgz' }), ['unreviewed', 'skipped', null]);
  assert.deepEqual(verdictOf(none, reg('left-pad', '1.3.0')), ['unreviewed', 'skipped', null]);
  const listed = await policyOf({ 'package.json': json({ name: 'a', trustedDependencies: ['left-pad'] }) }, 'bun', '1.4.5');
  assert.deepEqual(verdictOf(listed, reg('left-pad', '1.3.0')), ['allowed', 'runs', 'package.json#trustedDependencies[0]']);
  const replaced = decide(listed, reg('esbuild', '0.25.0'));
  assert.deepEqual([replaced.verdict, replaced.effect], ['unreviewed', 'skipped']);
  assert.match(replaced.explanation, /trustedDependencies replaces that list/);
});

test('LavaMoat: canonical dependency paths decide; allow-scripts fails on an unconfigured package', async () => {
  const files = {
    'package.json': json({ name: 'a', lavamoat: { allowScripts: { keccak: true, 'hardhat>fsevents': false } } }),
    '.npmrc': 'ignore-scripts=true\n',
  };
  const policy = await policyOf(files, 'npm', '11.19.1');
  const keccak = reg('keccak', '3.0.4', { paths: [['ethereumjs-util@7.1.5', 'keccak@3.0.4'], ['keccak@3.0.4']] });
  assert.deepEqual(verdictOf(policy, keccak), ['allowed', 'runs', 'package.json#lavamoat.allowScripts.keccak']);
  const fsevents = reg('fsevents', '2.3.3', { paths: [['hardhat@2.22.0', 'chokidar@3.6.0', 'fsevents@2.3.3'], ['hardhat@2.22.0', 'fsevents@2.3.3']] });
  assert.deepEqual(verdictOf(policy, fsevents), ['denied', 'skipped', 'package.json#lavamoat.allowScripts.hardhat>fsevents']);
  const missing = decide(policy, reg('secp256k1', '5.0.0', { paths: [['ethers@5.7.2', 'secp256k1@5.0.0']] }));
  assert.deepEqual([missing.verdict, missing.effect], ['unreviewed', 'fails-install']);
  assert.match(missing.explanation, /"ethers>secp256k1" has no configuration/);

  // allow-scripts v5 pins keys to a version: `path#version` matches only that version.
  const pinned = await policyOf({ ...files, 'package.json': json({ name: 'a', lavamoat: { allowScripts: { 'keccak#3.0.4': true, 'hardhat>fsevents#2.3.2': true } } }) }, 'npm', '11.19.1');
  assert.deepEqual(verdictOf(pinned, keccak), ['allowed', 'runs', 'package.json#lavamoat.allowScripts.keccak#3.0.4']);
  assert.equal(decide(pinned, fsevents).verdict, 'unreviewed', 'a pin for 2.3.2 does not approve 2.3.3');

  // Without ignore-scripts npm still runs everything itself; its own allowScripts then decides.
  const leaky = await policyOf({ 'package.json': json({ name: 'a', allowScripts: { fsevents: false }, lavamoat: { allowScripts: { keccak: true } } }) }, 'npm', '11.19.1');
  const d = decide(leaky, fsevents);
  assert.deepEqual([d.verdict, d.effect], ['unreviewed', 'skipped']);
  assert.match(d.explanation, /not enforced at install: npm runs scripts itself/);
  assert.equal(decide(leaky, reg('esbuild', '0.25.0')).effect, 'runs');
});

test('unusedRules: entries for packages not locked, and pinned approvals whose versions are gone', async () => {
  const policy = await policyOf(NPM_PROJECT, 'npm', '11.19.1');
  const locked = [reg('sharp', '0.34.5'), reg('nx', '21.7.0'), reg('pinned-deny', '1.0.0'), { ...reg('canvas', '2.11.2'), runsScripts: false }];
  const unused = unusedRules(policy, locked).map(({ rule, reason }) => [rule.key, reason]);
  assert.deepEqual(unused, [
    ['sharp@0.33.1', 'matches-nothing'],
    ['nx@21.6.4 || 21.6.5', 'pinned-version-not-locked'],
    ['core-js', 'matches-nothing'],
    ['github:user/native#abc1234', 'matches-nothing'],
    ['file:vendor/local-addon', 'matches-nothing'],
    ['pinned-deny@2.0.0', 'matches-nothing'],
  ]);
  const pnpm = await policyOf({ 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': PNPM_YAML }, 'pnpm', '10.34.9');
  assert.deepEqual(unusedRules(pnpm, [reg('sharp', '0.34.5'), reg('esbuild', '0.25.0'), reg('nx', '21.6.4')]).map((u) => u.rule.entry), [
    'allowBuilds.core-js', 'onlyBuiltDependencies[0]', 'onlyBuiltDependencies[1]', 'onlyBuiltDependencies[2]',
  ]);
  const lava = await policyOf({ 'package.json': json({ name: 'a', lavamoat: { allowScripts: { keccak: true, 'a>gone': false } } }) }, 'npm', '11.19.1');
  assert.deepEqual(unusedRules(lava, [reg('keccak', '3.0.4', { paths: [['keccak@3.0.4']] })]).map((u) => u.rule.key), ['a>gone']);
});
