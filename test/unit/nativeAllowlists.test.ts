/**
 * Reading native allowlists from made projects: every rule form of every tool, the exact
 * span of each entry (checked against the file text), which file and field rules for each
 * package-manager version (pnpm's package.json vs pnpm-workspace.yaml, npm's package.json
 * vs .npmrc layers, Yarn's enableScripts default), and malformed files that must become
 * problems instead of exceptions. Also which tool version will install (toolVersion.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProject, readTextFromDisk, type ReadText } from '../../server/src/parse/project';
import { loadRegistryConfig } from '../../server/src/registry/npmConfig';
import { decide } from '../../server/src/policy/allowlists/decide';
import { readNativePolicy } from '../../server/src/policy/allowlists/nativeAllowlists';
import { resolveInstallingTool, versionOnPath, type VersionRunner } from '../../server/src/policy/allowlists/toolVersion';
import type { PackageManagerName } from '../../server/src/model/inventory';
import type { AllowlistRule, NativePolicy, PolicyPackage } from '../../server/src/policy/types';

const ROOT = '/made/project';

function memory(files: Record<string, string>): ReadText {
  return async (path) => files[path.startsWith(ROOT) ? path.slice(ROOT.length + 1) : path] ?? null;
}

async function policyOf(files: Record<string, string>, manager: PackageManagerName, version: string | null, env: NodeJS.ProcessEnv = {}): Promise<NativePolicy> {
  const readText = memory(files);
  const inventory = await loadProject(ROOT, readText);
  return readNativePolicy(inventory, null, readText, { installingTool: { manager, version, source: version ? 'test' : null, problem: null }, env });
}

/** The exact text of a rule's span in the file it came from. */
function spanText(files: Record<string, string>, rule: AllowlistRule): string {
  return files[rule.file.slice(ROOT.length + 1)]!.slice(rule.span.start, rule.span.end);
}

function byKey(rules: AllowlistRule[], key: string): AllowlistRule {
  const rule = rules.find((r) => r.key === key);
  assert.ok(rule, `no rule "${key}" in ${rules.map((r) => r.key).join(', ')}`);
  return rule;
}

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/** Two files: npm refuses to load one file as both the user and the global config. */
function emptyUserAndGlobal(dir: string): [string, string] {
  const files = [join(dir, 'empty-user-npmrc'), join(dir, 'empty-global-npmrc')] as [string, string];
  for (const file of files) writeFileSync(file, '');
  return files;
}

test('npm allowScripts: every key form, with exact spans; ranges, tags and aliases are inactive', async () => {
  const files = {
    'package.json': `{
  "name": "app",
  "allowScripts": {
    "sharp": true,
    "nx@21.6.4 || 21.6.5": true,
    "core-js": false,
    "left-pad@^1.0.0": true,
    "esbuild@latest": true,
    "alias@npm:real@1.0.0": true,
    "github:user/repo#abc1234": true,
    "@scope/pkg@1.2.3": false
  }
}
`,
  };
  const policy = await policyOf(files, 'npm', '11.19.1');
  assert.equal(policy.settings.tool, 'npm');
  assert.deepEqual(policy.rules.map((r) => r.key), ['sharp', 'nx@21.6.4 || 21.6.5', 'core-js', 'github:user/repo#abc1234', '@scope/pkg@1.2.3']);
  assert.equal(spanText(files, byKey(policy.rules, 'sharp')), '"sharp": true');
  assert.equal(spanText(files, byKey(policy.rules, 'core-js')), '"core-js": false');
  const nx = byKey(policy.rules, 'nx@21.6.4 || 21.6.5');
  assert.deepEqual([nx.name, nx.versions, nx.allow, nx.entry], ['nx', ['21.6.4', '21.6.5'], true, 'allowScripts.nx@21.6.4 || 21.6.5']);
  const git = byKey(policy.rules, 'github:user/repo#abc1234');
  assert.equal(git.sourceSpec, 'github:user/repo#abc1234');
  assert.equal(git.versions, null);
  assert.deepEqual(byKey(policy.rules, '@scope/pkg@1.2.3').versions, ['1.2.3']);
  for (const ignored of ['left-pad@^1.0.0', 'esbuild@latest', 'alias@npm:real@1.0.0']) {
    assert.ok(policy.inactiveRules.some((r) => r.key === ignored), `${ignored} is inactive`);
    assert.ok(policy.problems.some((p) => p.message.includes(`"${ignored}"`) && p.span && files['package.json'].slice(p.span.start, p.span.end).startsWith(`"${ignored}"`)), `a problem points at ${ignored}`);
  }
  assert.deepEqual(policy.declaredFields, ['allowScripts']);
});

test('npm: .npmrc allow-scripts applies only when package.json has no usable allowScripts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ig-native-npmrc-'));
  const [user, global] = emptyUserAndGlobal(dir);
  const npmrc = '; team policy\nallow-scripts = sharp, @scope/native\n';
  writeFileSync(join(dir, '.npmrc'), npmrc);
  const write = (pkg: unknown) => writeFileSync(join(dir, 'package.json'), json(pkg));
  const read = async () => {
    const config = await loadRegistryConfig({ projectDir: dir, userConfigFile: user, globalConfigFile: global, env: { HOME: dir } });
    assert.deepEqual(config.problems, []);
    return readNativePolicy(await loadProject(dir), config, readTextFromDisk, { installingTool: { manager: 'npm', version: '11.19.1', source: 'test', problem: null } });
  };

  write({ name: 'a' });
  let policy = await read();
  assert.deepEqual(policy.rules.map((r) => [r.key, r.field, r.entry, r.allow]), [
    ['sharp', 'allow-scripts', 'allow-scripts[0]', true],
    ['@scope/native', 'allow-scripts', 'allow-scripts[1]', true],
  ]);
  for (const rule of policy.rules) assert.equal(npmrc.slice(rule.span.start, rule.span.end), rule.key);

  // Only ranges in package.json: npm drops them all and falls through to .npmrc.
  write({ name: 'a', allowScripts: { 'sharp@^0.33.0': true } });
  policy = await read();
  assert.deepEqual(policy.rules.map((r) => r.field), ['allow-scripts', 'allow-scripts']);

  write({ name: 'a', allowScripts: { esbuild: false } });
  policy = await read();
  assert.deepEqual(policy.rules.map((r) => r.key), ['esbuild']);
  assert.ok(policy.inactiveRules.some((r) => r.field === 'allow-scripts' && r.key === 'sharp'));
  assert.ok(policy.problems.some((p) => p.file === join(dir, '.npmrc') && /ignored because package\.json declares/.test(p.message)));
});

test('npm switches come from npm\'s own config: strict-allow-scripts, dangerously-allow-all-scripts, ignore-scripts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ig-native-switch-'));
  const [user, global] = emptyUserAndGlobal(dir);
  const npmrc = 'strict-allow-scripts=true\nignore-scripts = true\n';
  writeFileSync(join(dir, '.npmrc'), npmrc);
  writeFileSync(join(dir, 'package.json'), json({ name: 'a', allowScripts: { sharp: true } }));
  const config = await loadRegistryConfig({ projectDir: dir, userConfigFile: user, globalConfigFile: global, env: { HOME: dir, npm_config_dangerously_allow_all_scripts: 'true' } });
  assert.deepEqual(config.problems, []);
  const policy = await readNativePolicy(await loadProject(dir), config, readTextFromDisk, { installingTool: { manager: 'npm', version: '11.19.1', source: 'test', problem: null } });
  assert.equal(npmrc.slice(policy.settings.strict!.span!.start, policy.settings.strict!.span!.end), 'strict-allow-scripts=true');
  assert.equal(npmrc.slice(policy.settings.scriptsDisabled!.span!.start, policy.settings.scriptsDisabled!.span!.end), 'ignore-scripts = true');
  assert.match(policy.settings.allowAll!.file, /environment \(npm_config_dangerously_allow_all_scripts\)/);
});

test('npm < 11.16 has no allowScripts: the entries are inactive and say so; workspace allowScripts is ignored', async () => {
  const files = {
    'package.json': json({ name: 'a', packageManager: 'npm@10.9.2', workspaces: [], allowScripts: { sharp: true } }),
  };
  const old = await policyOf(files, 'npm', '10.9.2');
  assert.deepEqual(old.rules, []);
  assert.deepEqual(old.inactiveRules.map((r) => r.key), ['sharp']);
  assert.ok(old.problems.some((p) => /npm 10\.9\.2 has no allowScripts/.test(p.message)));

  const dir = mkdtempSync(join(tmpdir(), 'ig-native-ws-'));
  mkdirSync(join(dir, 'packages', 'w'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), json({ name: 'root', workspaces: ['packages/*'] }));
  writeFileSync(join(dir, 'packages', 'w', 'package.json'), json({ name: 'w', allowScripts: { esbuild: true } }));
  const ws = await readNativePolicy(await loadProject(dir), null, readTextFromDisk, { installingTool: { manager: 'npm', version: '11.19.1', source: 'test', problem: null } });
  assert.deepEqual(ws.rules, []);
  assert.deepEqual(ws.inactiveRules.map((r) => [r.key, r.file]), [['esbuild', join(dir, 'packages', 'w', 'package.json')]]);
  assert.ok(ws.problems.some((p) => /ignores allowScripts in workspace packages\/w/.test(p.message)));
});

const PNPM_FILES = {
  'package.json': json({ name: 'a', pnpm: { onlyBuiltDependencies: ['from-manifest'], neverBuiltDependencies: ['never-me'] } }),
  'pnpm-workspace.yaml': `packages:
  - "."
# reviewed 2026-11
allowBuilds:
  sharp: true
  core-js: false
  esbuild: set this to true or false
  '@scope/native@1.2.3 || 1.2.4': true
onlyBuiltDependencies:
  - bcrypt
  - "@swc/core"
  - nx@21.6.4
ignoredBuiltDependencies: [fsevents]
strictDepBuilds: true
`,
};

test('pnpm 10.26+: allowBuilds and the lists, with YAML spans; the workspace file replaces the package.json list', async () => {
  const policy = await policyOf(PNPM_FILES, 'pnpm', '10.34.9');
  const text = (r: AllowlistRule) => spanText(PNPM_FILES, r);
  assert.equal(text(byKey(policy.rules, 'sharp')), 'sharp: true');
  assert.equal(text(byKey(policy.rules, 'esbuild')), 'esbuild: set this to true or false');
  assert.equal(byKey(policy.rules, 'esbuild').allow, null);
  assert.equal(text(byKey(policy.rules, '@scope/native@1.2.3 || 1.2.4')), "'@scope/native@1.2.3 || 1.2.4': true");
  assert.deepEqual(byKey(policy.rules, '@scope/native@1.2.3 || 1.2.4').versions, ['1.2.3', '1.2.4']);
  assert.equal(text(byKey(policy.rules, '@swc/core')), '"@swc/core"');
  assert.equal(byKey(policy.rules, '@swc/core').entry, 'onlyBuiltDependencies[1]');
  assert.equal(text(byKey(policy.rules, 'fsevents')), 'fsevents');
  assert.equal(byKey(policy.rules, 'fsevents').allow, false);
  // The yaml's allowBuilds/onlyBuiltDependencies replace package.json's onlyBuiltDependencies.
  assert.ok(policy.inactiveRules.some((r) => r.key === 'from-manifest'));
  assert.ok(policy.problems.some((p) => /overridden: pnpm-workspace\.yaml/.test(p.message)));
  // An allow list is in force, so pnpm never consults neverBuiltDependencies.
  assert.ok(policy.inactiveRules.some((r) => r.key === 'never-me'));
  assert.ok(policy.problems.some((p) => /CONFIG_CONFLICT_BUILT_DEPENDENCIES/.test(p.message)));
  assert.equal(PNPM_FILES['pnpm-workspace.yaml'].slice(policy.settings.strict!.span!.start, policy.settings.strict!.span!.end), 'strictDepBuilds: true');
  assert.deepEqual(new Set(policy.declaredFields), new Set(['onlyBuiltDependencies', 'ignoredBuiltDependencies', 'allowBuilds']));
});

test('pnpm versions: 10.4 reads only package.json, 10.20 ignores allowBuilds, 11 reads only allowBuilds and is strict', async () => {
  const v104 = await policyOf(PNPM_FILES, 'pnpm', '10.4.1');
  assert.deepEqual(v104.rules.map((r) => r.key), ['from-manifest']);
  assert.ok(v104.problems.some((p) => /only from the "pnpm" field of package\.json/.test(p.message)));
  assert.equal(v104.settings.strict, null, 'strictDepBuilds in the yaml is not read by 10.4');

  const v1020 = await policyOf(PNPM_FILES, 'pnpm', '10.20.0');
  assert.ok(v1020.inactiveRules.some((r) => r.key === 'sharp' && r.field === 'allowBuilds'));
  assert.ok(v1020.problems.some((p) => /allowBuilds is read from pnpm 10\.26/.test(p.message)));
  assert.deepEqual(v1020.rules.filter((r) => r.field === 'onlyBuiltDependencies').map((r) => r.key), ['bcrypt', '@swc/core', 'nx@21.6.4']);

  const v11 = await policyOf(PNPM_FILES, 'pnpm', '11.28.11');
  assert.deepEqual(v11.rules.map((r) => r.field), ['allowBuilds', 'allowBuilds', 'allowBuilds', 'allowBuilds']);
  assert.ok(v11.inactiveRules.some((r) => r.key === 'bcrypt'));
  assert.ok(v11.problems.some((p) => /removed in pnpm 11/.test(p.message)));
  assert.ok(v11.problems.some((p) => /no longer reads settings from the "pnpm" field/.test(p.message)));
  assert.match(v11.settings.strict!.what, /strictDepBuilds: true/);

  const lenient = await policyOf({ ...PNPM_FILES, 'pnpm-workspace.yaml': 'allowBuilds:\n  sharp: true\n' }, 'pnpm', '11.0.0');
  assert.match(lenient.settings.strict!.what, /true by default since pnpm 11/);
  const off = await policyOf({ 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': 'strictDepBuilds: false\ndangerouslyAllowAllBuilds: true\n' }, 'pnpm', '11.0.0');
  assert.equal(off.settings.strict, null);
  assert.equal(off.settings.allowAll!.what, 'dangerouslyAllowAllBuilds: true');
});

test('pnpm: onlyBuiltDependenciesFile is read as JSON with spans; .npmrc switches only before pnpm 11', async () => {
  const files = {
    'package.json': json({ name: 'a', pnpm: { onlyBuiltDependenciesFile: 'policy/allowed-builds.json' } }),
    'policy/allowed-builds.json': '[\n  "esbuild",\n  "@reflink/reflink"\n]\n',
    '.npmrc': 'strict-dep-builds=true\nignore-scripts=true\n',
  };
  const policy = await policyOf(files, 'pnpm', '10.12.1');
  assert.deepEqual(policy.rules.map((r) => [r.key, r.entry, spanText(files, r)]), [
    ['esbuild', '[0]', '"esbuild"'],
    ['@reflink/reflink', '[1]', '"@reflink/reflink"'],
  ]);
  assert.equal(policy.rules[0]!.file, join(ROOT, 'policy', 'allowed-builds.json'));
  assert.ok(policy.settings.strict);
  assert.ok(policy.settings.scriptsDisabled);
  assert.ok(policy.files.includes(join(ROOT, 'policy', 'allowed-builds.json')));

  const missing = await policyOf({ 'package.json': json({ name: 'a', pnpm: { onlyBuiltDependenciesFile: 'nope.json' } }) }, 'pnpm', '10.12.1');
  assert.ok(missing.problems.some((p) => /"nope\.json" does not exist/.test(p.message)));
  assert.deepEqual(missing.declaredFields, ['onlyBuiltDependenciesFile']);
});

/** sharp as the registry locks it, the package the pnpm key tests below name. */
const sharpAt = (version: string): PolicyPackage => ({ name: 'sharp', version, source: 'registry', resolved: `https://registry.npmjs.org/sharp/-/sharp-${version}.tgz`, paths: [[`sharp@${version}`]], runsScripts: true });
const pnpmWorkspace = (yaml: string) => ({ 'package.json': json({ name: 'a' }), 'pnpm-workspace.yaml': yaml });

test('pnpm: a key pnpm would not match (a range, a name pattern) is inactive, says why at its entry and approves nothing', async () => {
  const rangeInManifest = { 'package.json': json({ name: 'a', pnpm: { onlyBuiltDependencies: ['sharp@^0.34'] } }) };
  // [files, pnpm version, key, the file that holds it, why pnpm matches nothing with it]
  const cases: [Record<string, string>, string, string, string, RegExp][] = [
    [rangeInManifest, '10.34.9', 'sharp@^0.34', 'package.json', /pnpm rejects "sharp@\^0\.34" \(ERR_PNPM_INVALID_VERSION_UNION\)/],
    [rangeInManifest, '10.12.1', 'sharp@^0.34', 'package.json', /pnpm 10\.12\.1 matches build entries by name only/],
    [pnpmWorkspace('onlyBuiltDependencies:\n  - sharp@^0.34\n'), '10.34.9', 'sharp@^0.34', 'pnpm-workspace.yaml', /ERR_PNPM_INVALID_VERSION_UNION/],
    [pnpmWorkspace('allowBuilds:\n  "sharp@^0.34": true\n'), '10.34.9', 'sharp@^0.34', 'pnpm-workspace.yaml', /ERR_PNPM_INVALID_VERSION_UNION/],
    [pnpmWorkspace('allowBuilds:\n  "sharp@^0.34": true\n'), '11.0.0', 'sharp@^0.34', 'pnpm-workspace.yaml', /ERR_PNPM_INVALID_VERSION_UNION/],
    [pnpmWorkspace('allowBuilds:\n  "shar*": true\n'), '11.0.0', 'shar*', 'pnpm-workspace.yaml', /"shar\*" is not a pattern to it/],
  ];
  for (const [files, version, key, file, why] of cases) {
    const what = `${key} in ${file} under pnpm ${version}`;
    const policy = await policyOf(files, 'pnpm', version);
    assert.ok(!policy.rules.some((r) => r.key === key), `${what} is not an active rule`);
    const rule = byKey(policy.inactiveRules, key);
    const said = policy.problems.find((p) => p.file === join(ROOT, file) && why.test(p.message));
    assert.ok(said, `${what}: a note says why (${policy.problems.map((p) => p.message).join(' | ')})`);
    assert.equal(files[file]!.slice(said.span!.start, said.span!.end), spanText(files, rule), `${what}: the note points at the entry`);
    const sharp = decide(policy, sharpAt('0.34.1'));
    assert.deepEqual([sharp.verdict, sharp.decidedBy], ['unreviewed', null], `${what} approves no sharp`);
  }
});

test('pnpm 10.19+: a pinned key approves exactly its versions; before 10.19 it is inactive', async () => {
  const pinnedInManifest = { 'package.json': json({ name: 'a', pnpm: { onlyBuiltDependencies: ['sharp@0.34.1'] } }) };
  const pinnedInWorkspace = pnpmWorkspace('allowBuilds:\n  sharp@0.34.1: true\n');
  for (const [files, version] of [[pinnedInManifest, '10.19.0'], [pinnedInWorkspace, '10.34.9'], [pinnedInWorkspace, '11.0.0']] as const) {
    const policy = await policyOf(files, 'pnpm', version);
    assert.deepEqual(byKey(policy.rules, 'sharp@0.34.1').versions, ['0.34.1']);
    assert.equal(decide(policy, sharpAt('0.34.1')).verdict, 'allowed', `pnpm ${version} builds sharp 0.34.1`);
    assert.equal(decide(policy, sharpAt('0.34.2')).verdict, 'unreviewed', `pnpm ${version} does not build sharp 0.34.2`);
  }
  const before = await policyOf(pinnedInManifest, 'pnpm', '10.18.3');
  assert.ok(before.inactiveRules.some((r) => r.key === 'sharp@0.34.1'));
  assert.equal(decide(before, sharpAt('0.34.1')).verdict, 'unreviewed');
});

test('Yarn Berry: dependenciesMeta built entries with spans, enableScripts by file, environment and version', async () => {
  const pkg = `{
  "name": "a",
  "dependenciesMeta": {
    "sharp": { "built": true },
    "sharp@0.34.5": { "built": false, "unplugged": true },
    "fsevents": { "optional": true },
    "bad@^1.0.0": { "built": true }
  }
}
`;
  const files = { 'package.json': pkg, '.yarnrc.yml': 'nodeLinker: node-modules\nenableScripts: false\n' };
  const policy = await policyOf(files, 'yarn', '4.18.1');
  assert.equal(policy.variant, 'yarn-berry');
  assert.deepEqual(policy.rules.map((r) => [r.key, r.allow, r.entry, spanText(files, r)]), [
    ['sharp', true, 'dependenciesMeta.sharp.built', '"built": true'],
    ['sharp@0.34.5', false, 'dependenciesMeta.sharp@0.34.5.built', '"built": false'],
  ]);
  assert.ok(policy.inactiveRules.some((r) => r.key === 'bad@^1.0.0'));
  assert.equal(spanText(files, { ...policy.rules[0]!, file: join(ROOT, '.yarnrc.yml'), span: policy.settings.scriptsDisabled!.span! }), 'enableScripts: false');

  const base = { 'package.json': json({ name: 'a' }), '.yarnrc.yml': 'nodeLinker: node-modules\n' };
  assert.equal((await policyOf(base, 'yarn', '4.13.0')).settings.scriptsDisabled, null, 'Yarn 4.13 runs scripts by default');
  assert.match((await policyOf(base, 'yarn', '4.14.0')).settings.scriptsDisabled!.what, /defaults to false/);
  const oldLock = { ...base, 'yarn.lock': '__metadata:\n  version: 8\n  cacheKey: 10c0\n\n"a@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "a@workspace:."\n  languageName: unknown\n  linkType: soft\n' };
  assert.equal((await policyOf(oldLock, 'yarn', '4.18.1')).settings.scriptsDisabled, null, 'Yarn migrates a v8 lockfile project to enableScripts: true');
  const reordered = { ...base, 'yarn.lock': oldLock['yarn.lock'].replace('  version: 8\n  cacheKey: 10c0\n', '  cacheKey: 10c0\n  version: 8\n') };
  assert.equal((await policyOf(reordered, 'yarn', '4.18.1')).settings.scriptsDisabled, null, 'the version is read wherever __metadata has it');
  const currentLock = { ...base, 'yarn.lock': oldLock['yarn.lock'].replace('version: 8', 'version: 9') };
  assert.match((await policyOf(currentLock, 'yarn', '4.18.1')).settings.scriptsDisabled!.what, /defaults to false/);
  assert.equal((await policyOf(base, 'yarn', '4.18.1', { YARN_ENABLE_SCRIPTS: 'true' })).settings.scriptsDisabled, null);
  assert.match((await policyOf({ ...base, '.yarnrc.yml': 'enableScripts: true\n' }, 'yarn', '4.18.1', { YARN_ENABLE_SCRIPTS: '0' })).settings.scriptsDisabled!.what, /YARN_ENABLE_SCRIPTS=0/);
});

test('Yarn Classic has no allowlist: dependenciesMeta is inactive; ignore-scripts in .yarnrc switches scripts off', async () => {
  const files = { 'package.json': json({ name: 'a', packageManager: 'yarn@1.22.22', dependenciesMeta: { sharp: { built: true } } }), '.yarnrc': '--ignore-scripts true\n' };
  const policy = await policyOf(files, 'yarn', '1.22.22');
  assert.equal(policy.variant, 'yarn-classic');
  assert.deepEqual(policy.rules, []);
  assert.deepEqual(policy.inactiveRules.map((r) => r.key), ['sharp']);
  assert.equal(files['.yarnrc'].slice(policy.settings.scriptsDisabled!.span!.start, policy.settings.scriptsDisabled!.span!.end), '--ignore-scripts true');
});

test('Bun trustedDependencies: names with spans; an empty list is still declared (it replaces the default list)', async () => {
  const files = { 'package.json': '{\n  "name": "a",\n  "trustedDependencies": ["sharp", "@prisma/engines"]\n}\n' };
  const policy = await policyOf(files, 'bun', '1.4.5');
  assert.deepEqual(policy.rules.map((r) => [r.key, r.entry, spanText(files, r)]), [
    ['sharp', 'trustedDependencies[0]', '"sharp"'],
    ['@prisma/engines', 'trustedDependencies[1]', '"@prisma/engines"'],
  ]);
  const empty = await policyOf({ 'package.json': json({ name: 'a', trustedDependencies: [] }) }, 'bun', '1.4.5');
  assert.deepEqual(empty.declaredFields, ['trustedDependencies']);
  const none = await policyOf({ 'package.json': json({ name: 'a' }) }, 'bun', '1.4.5');
  assert.deepEqual(none.declaredFields, []);
});

test('LavaMoat governs over npm when configured or depended on; npm rules become inactive', async () => {
  const files = {
    'package.json': json({ name: 'a', devDependencies: { '@lavamoat/allow-scripts': '^3.3.4' }, allowScripts: { keccak: true }, lavamoat: { allowScripts: { keccak: true, 'hardhat>fsevents': false } } }),
    '.npmrc': 'ignore-scripts=true\n',
  };
  const policy = await policyOf(files, 'npm', '11.19.1');
  assert.equal(policy.settings.tool, 'lavamoat');
  assert.equal(policy.settings.manager, 'npm');
  assert.deepEqual(policy.rules.map((r) => [r.key, r.allow, r.lavamoatPath]), [['keccak', true, ['keccak']], ['hardhat>fsevents', false, ['hardhat', 'fsevents']]]);
  assert.equal(spanText(files, policy.rules[1]!), '"hardhat>fsevents": false');
  assert.ok(policy.inactiveRules.some((r) => r.tool === 'npm' && r.key === 'keccak'));
  assert.ok(policy.settings.scriptsDisabled, 'ignore-scripts is what makes allow-scripts the gate');
  assert.equal(policy.underlying?.settings.tool, 'npm');

  const dependsOnly = await policyOf({ 'package.json': json({ name: 'a', devDependencies: { '@lavamoat/allow-scripts': '3.3.4' } }) }, 'npm', '11.19.1');
  assert.equal(dependsOnly.settings.tool, 'lavamoat');
  assert.deepEqual(dependsOnly.rules, []);
  const plain = await policyOf({ 'package.json': json({ name: 'a', lavamoat: { allowScripts: { x: true } } }) }, 'pnpm', '10.34.9');
  assert.equal(plain.settings.tool, 'lavamoat');
  assert.equal(plain.settings.manager, 'pnpm');
});

test('malformed files become problems, never exceptions, and other tools\' rules stay inactive', async () => {
  const files = {
    'package.json': '{\n  "name": "a",\n  "allowScripts": ["sharp"],\n  "trustedDependencies": "sharp",\n  "pnpm": { "onlyBuiltDependencies": [1, "ok"] }\n',
    'pnpm-workspace.yaml': 'allowBuilds:\n  sharp: [true\nonlyBuiltDependencies: {\n',
    '.yarnrc.yml': 'enableScripts: [\n',
  };
  for (const manager of ['npm', 'pnpm', 'yarn', 'bun'] as const) {
    const policy = await policyOf(files, manager, null);
    assert.equal(policy.settings.manager, manager);
    if (manager === 'npm') assert.ok(policy.problems.some((p) => /"allowScripts" must be an object/.test(p.message)));
    if (manager === 'bun') assert.ok(policy.problems.some((p) => /"trustedDependencies" must be a list/.test(p.message)));
    if (manager === 'pnpm') {
      assert.ok(policy.problems.some((p) => p.file.endsWith('pnpm-workspace.yaml') && /YAML syntax error/.test(p.message)));
      assert.ok(policy.problems.some((p) => /onlyBuiltDependencies\[0\]" is not a package name/.test(p.message)));
    }
  }
  const broken = await policyOf({ 'package.json': '{ "allowScripts": { "sharp": tru' }, 'npm', '11.19.1');
  assert.ok(Array.isArray(broken.rules));
  const noManifest = await policyOf({}, 'npm', null);
  assert.deepEqual(noManifest.rules, []);
});

test('toolVersion: packageManager, devEngines, yarnPath, PATH (cached), and why a version is unknown', async () => {
  const resolve = async (files: Record<string, string>, runVersion: VersionRunner = async () => ({ version: '9.9.9', error: null })) => {
    const readText = memory(files);
    return resolveInstallingTool(await loadProject(ROOT, readText), { readText, runVersion });
  };
  assert.deepEqual(await resolve({ 'package.json': json({ name: 'a', packageManager: 'pnpm@10.12.1+sha512.abc' }) }), { manager: 'pnpm', version: '10.12.1', source: 'package.json "packageManager"', problem: null });
  assert.deepEqual(await resolve({ 'package.json': json({ name: 'a', devEngines: { packageManager: { name: 'npm', version: '11.19.1' } } }) }), { manager: 'npm', version: '11.19.1', source: 'package.json "devEngines.packageManager"', problem: null });
  const yarn = await resolve({ 'package.json': json({ name: 'a' }), 'yarn.lock': '__metadata:\n  version: 8\n', '.yarnrc.yml': 'yarnPath: .yarn/releases/yarn-4.5.3.cjs\n' });
  assert.deepEqual([yarn.manager, yarn.version, yarn.source], ['yarn', '4.5.3', '.yarnrc.yml "yarnPath"']);
  const path = await resolve({ 'package.json': json({ name: 'a' }) });
  assert.deepEqual([path.manager, path.version, path.source], ['npm', '9.9.9', 'npm on PATH']);
  const missing = await resolve({ 'package.json': json({ name: 'a' }), 'bun.lock': '{"lockfileVersion":1,"workspaces":{"":{}},"packages":{}}' }, async () => ({ version: null, error: 'bun is not on PATH' }));
  assert.deepEqual([missing.manager, missing.version, missing.problem], ['bun', null, 'bun is not on PATH']);

  // The real npm on PATH, asked once: a second ask is served from the cache.
  const expected = execFileSync('npm', ['--version'], { encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } }).trim();
  const first = versionOnPath('npm');
  assert.equal(versionOnPath('npm'), first, 'the same pending lookup is reused');
  assert.deepEqual(await first, { version: expected, error: null });
  const absent = await versionOnPath('npm', { env: { ...process.env, PATH: '/nonexistent-dir' } });
  assert.equal(absent.version, null);
  assert.match(absent.error ?? '', /not on PATH/);
});
