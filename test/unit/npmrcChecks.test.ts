import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '../../server/src/analysis/findings';
import {
  checkNpmrcText,
  npmrcScriptsSetting,
  scanNpmrc,
  scriptsSwitchVerdict,
  type PackageManagerInfo,
  type ProjectScriptSettings,
} from '../../server/src/policy/environment/npmrcChecks';
import { checkYarnrcYmlText, yarnrcClassicIgnoreScripts } from '../../server/src/policy/environment/yarnrcChecks';
import { loadRegistryConfig } from '../../server/src/registry/npmConfig';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const ini = require('ini') as { parse(text: string): Record<string, unknown> };

const FIXTURES = join(__dirname, '..', 'fixtures', 'environment');
const NPM_11: PackageManagerInfo = { name: 'npm', version: '11.4.0' };
const NO_SETTINGS: ProjectScriptSettings = { npmrcIgnoreScripts: null, yarnrcIgnoreScripts: null, yarnEnableScripts: null, hasYarnrcYml: false };

/** The fake secrets of literal-tokens.npmrc, as npm reads them, and the characters the span must cover. */
const SECRETS = [
  { key: '//registry.npmjs.org/:_authToken', value: 'npm_FAKEfakeFAKEfake0000Qx7Kabcd', written: 'npm_FAKEfakeFAKEfake0000Qx7Kabcd' },
  { key: '//npm.corp.example/:_authToken', value: 'glpat-FAKEquotedQx7K9999wxyz', written: 'glpat-FAKEquotedQx7K9999wxyz' },
  { key: '//legacy.example/:_password', value: 'RkFLRXBhc3N3b3Jk', written: 'RkFLRXBhc3N3b3Jk' },
  { key: '_auth', value: 'ZmFrZTp1c2VyOnBhc3M=', written: 'ZmFrZTp1c2VyOnBhc3M=' },
  { key: '//escaped.example/:_authToken', value: 'FAKEsemi;colonQx7K0000qrst', written: 'FAKEsemi\\;colonQx7K0000qrst' },
];

function read(...parts: string[]): { file: string; text: string } {
  const file = join(FIXTURES, ...parts);
  return { file, text: readFileSync(file, 'utf8') };
}

/**
 * No secret, nor any 5 characters in a row of one, appears anywhere in the findings. A
 * token type's public prefix (npm_, glpat-) is a format, not a secret, and may be shown.
 */
function assertNoLeak(findings: Finding[], secrets: string[]): void {
  const json = JSON.stringify(findings);
  for (const secret of secrets) {
    assert.ok(!json.includes(secret), 'a whole secret leaked');
    const body = secret.replace(/^(npm_|glpat-)/, '');
    for (let i = 0; i + 5 <= body.length; i++) {
      assert.ok(!json.includes(body.slice(i, i + 5)), `"${body.slice(i, i + 5)}" of a secret leaked: ${json}`);
    }
  }
}

test('the line scanner reads keys and values exactly as ini (npm’s parser) does', () => {
  for (const name of ['literal-tokens.npmrc', 'env-references.npmrc', 'scripts-on.npmrc']) {
    const { text } = read('npmrc', name);
    const parsed = ini.parse(text);
    const ours = new Map(scanNpmrc(text).map((e) => [e.key, e.value]));
    assert.deepEqual([...ours.keys()].sort(), Object.keys(parsed).sort(), name);
    for (const [key, value] of ours) {
      const expected = parsed[key];
      assert.equal(value === true ? true : value, typeof expected === 'boolean' ? String(expected) === value ? value : expected : expected, `${name} ${key}`);
    }
  }
});

test('literal credentials: one error each, the span is exactly the secret as written', () => {
  const { file, text } = read('npmrc', 'literal-tokens.npmrc');
  const findings = checkNpmrcText(file, text, { packageManager: { name: 'bun', version: '1.2.0' }, tracking: 'committed' });
  assert.equal(findings.length, SECRETS.length);
  for (const secret of SECRETS) {
    const finding = findings.find((f) => f.message.includes(`"${secret.key}"`));
    assert.ok(finding, secret.key);
    assert.equal(finding.code, 'npmrc-literal-token');
    assert.equal(finding.severity, 'error');
    assert.equal(text.slice(finding.location.span!.start, finding.location.span!.end), secret.written);
    assert.match(finding.message, /is committed to git/);
    assert.match(finding.fix!, /revoke/);
  }
  assertNoLeak(findings, SECRETS.map((s) => s.value));
  const token = findings.find((f) => f.message.includes('registry.npmjs.org'))!;
  assert.match(token.message, /literal token \(npm_…abcd\)/);
  const password = findings.find((f) => f.message.includes('_password'))!;
  assert.match(password.message, /literal password \(…\)/, 'no character of a password is shown');
});

test('an untracked .npmrc is still reported, as a warning that says it is not committed', () => {
  const { file, text } = read('npmrc', 'literal-tokens.npmrc');
  const untracked = checkNpmrcText(file, text, { packageManager: NPM_11, tracking: 'untracked' }).filter((f) => f.code === 'npmrc-literal-token');
  assert.equal(untracked.length, SECRETS.length);
  assert.ok(untracked.every((f) => f.severity === 'warning' && /present in the working tree \(not committed\)/.test(f.message)));
  const unknown = checkNpmrcText(file, text, { packageManager: NPM_11, tracking: 'unknown' }).filter((f) => f.code === 'npmrc-literal-token');
  assert.ok(unknown.every((f) => f.severity === 'error' && /is present in the project/.test(f.message)));
  assertNoLeak([...untracked, ...unknown], SECRETS.map((s) => s.value));
});

test('${VAR} references, usernames and empty values are not credentials; ignore-scripts=true silences the scripts check', () => {
  const { file, text } = read('npmrc', 'env-references.npmrc');
  assert.deepEqual(checkNpmrcText(file, text, { packageManager: NPM_11, tracking: 'committed' }), []);
});

test('scripts left on: the finding points at the entry that turns them on', () => {
  const { file, text } = read('npmrc', 'scripts-on.npmrc');
  const findings = checkNpmrcText(file, text, { packageManager: NPM_11, tracking: 'committed' });
  assert.equal(findings.length, 1);
  const [finding] = findings;
  assert.equal(finding!.code, 'npmrc-scripts-enabled');
  assert.equal(finding!.severity, 'warning');
  assert.equal(text.slice(finding!.location.span!.start, finding!.location.span!.end), 'false');
  assert.ok(finding!.location.span!.start > text.indexOf('wins'), 'the later entry, which npm applies');
  assert.match(finding!.message, /npm 11\.4\.0 runs dependency install scripts by default/);
  assert.match(finding!.fix!, /Add "ignore-scripts=true" to \.npmrc/);
  // A .npmrc with no ignore-scripts at all: a finding with no particular span.
  const [plain] = checkNpmrcText(file, 'fund=false\n', { packageManager: NPM_11, tracking: 'committed' });
  assert.equal(plain!.location.span, null);
});

test('which package managers need the switch, and where', () => {
  const verdict = (pm: PackageManagerInfo, settings: Partial<ProjectScriptSettings> = {}) =>
    scriptsSwitchVerdict(pm, { ...NO_SETTINGS, ...settings }, null);
  assert.equal(verdict({ name: 'npm', version: '10.9.2' })?.file, '.npmrc');
  assert.equal(verdict({ name: 'npm', version: null })?.file, '.npmrc');
  assert.equal(verdict({ name: 'npm', version: '12.0.0' }), null);
  assert.equal(verdict({ name: 'pnpm', version: '9.15.0' })?.file, '.npmrc');
  assert.equal(verdict({ name: 'pnpm', version: '10.0.0' }), null);
  assert.equal(verdict({ name: 'pnpm', version: null }), null);
  assert.equal(verdict({ name: 'bun', version: '1.2.0' }), null);
  assert.equal(verdict({ name: 'yarn', version: '4.5.0' })?.line, 'enableScripts: false');
  // Yarn 4.14 stopped running dependency scripts by default; an unknown Berry is the current one.
  assert.equal(verdict({ name: 'yarn', version: '4.13.0' }, { hasYarnrcYml: true })?.file, '.yarnrc.yml');
  assert.equal(verdict({ name: 'yarn', version: '4.14.0' }, { hasYarnrcYml: true }), null);
  assert.equal(verdict({ name: 'yarn', version: null }, { hasYarnrcYml: true }), null);
  assert.equal(verdict({ name: 'yarn', version: '1.22.22' })?.line, 'ignore-scripts true');
  assert.equal(verdict({ name: 'yarn', version: '1.22.22' }, { yarnrcIgnoreScripts: true }), null);
  assert.equal(verdict({ name: 'yarn', version: '4.5.0' }, { yarnEnableScripts: { value: false, span: null } }), null);
  const berryWithNpmrc = verdict({ name: 'yarn', version: '4.5.0' }, { npmrcIgnoreScripts: npmrcScriptsSetting('ignore-scripts=true') });
  assert.match(berryWithNpmrc!.message, /Yarn Berry does not read \.npmrc/);
});

test('ignore-scripts values mean what they mean to npm (checked against npm’s own loader)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ig-npmrc-bool-'));
  try {
    const home = join(root, 'home');
    await mkdir(home);
    const lines = ['ignore-scripts', 'ignore-scripts=', 'ignore-scripts=true', 'ignore-scripts=false', 'ignore-scripts=0', 'ignore-scripts=1',
      'ignore-scripts=no', 'ignore-scripts=null', 'ignore-scripts = "false"', "ignore-scripts='true' ; note", 'ignore-scripts=  # c',
      'ignore-scripts=TRUE', 'ignore-scripts=true\nignore-scripts=false', '[section]\nignore-scripts=true'];
    for (const [index, line] of lines.entries()) {
      const project = join(root, `p${index}`);
      await mkdir(project);
      await writeFile(join(project, 'package.json'), '{}');
      await writeFile(join(project, '.npmrc'), `${line}\n`);
      const config = await loadRegistryConfig({ projectDir: project, env: { HOME: home, PREFIX: home } });
      const ours = npmrcScriptsSetting(`${line}\n`)?.value ?? false;
      assert.equal(ours, config.ignoreScripts.value, JSON.stringify(line));
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a switch that only the user config or environment sets is named as not travelling with the project', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ig-npmrc-user-'));
  try {
    await writeFile(join(root, 'package.json'), '{}');
    await writeFile(join(root, '.npmrc'), 'fund=false\n');
    const config = await loadRegistryConfig({ projectDir: root, env: { HOME: root, PREFIX: root, npm_config_ignore_scripts: 'true' } });
    const [finding] = checkNpmrcText(join(root, '.npmrc'), 'fund=false\n', { packageManager: NPM_11, tracking: 'untracked', config });
    assert.match(finding!.message, /ignore-scripts=true comes from environment, which does not travel with the project/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('.yarnrc.yml: literal npmAuthToken at every level, ${VAR} is fine, enableScripts decides, bad YAML is a problem', () => {
  const file = '/p/.yarnrc.yml';
  const secret = 'FAKEyarnTopLevelQx7K0000abcd';
  const text = [
    `npmAuthToken: ${secret}`,
    'npmScopes:',
    '  corp:',
    '    npmAuthIdent: "builder:FAKEpassQx7K"',
    'npmRegistries:',
    '  "https://r.example":',
    '    npmAuthToken: "${R_TOKEN}"',
    'enableScripts: false',
    '',
  ].join('\n');
  const findings = checkYarnrcYmlText(file, text, { packageManager: { name: 'yarn', version: '4.5.0' }, tracking: 'committed' });
  assert.deepEqual(findings.map((f) => [f.code, text.slice(f.location.span!.start, f.location.span!.end)]), [
    ['npmrc-literal-token', secret],
    ['npmrc-literal-token', 'builder:FAKEpassQx7K'],
  ]);
  assert.match(findings[1]!.message, /"npmScopes\.corp\.npmAuthIdent"/);
  assertNoLeak(findings, [secret, 'builder:FAKEpassQx7K']);
  const scriptsOn = checkYarnrcYmlText(file, 'enableScripts: true\n', { packageManager: { name: 'yarn', version: '4.5.0' }, tracking: 'committed' });
  assert.equal(scriptsOn[0]!.code, 'npmrc-scripts-enabled');
  assert.equal(scriptsOn[0]!.location.span!.start, 'enableScripts: '.length);
  const broken = checkYarnrcYmlText(file, 'npmScopes: [\n', { packageManager: { name: 'yarn', version: '4.5.0' }, tracking: 'committed' });
  assert.equal(broken[0]!.code, 'file-problem');
});

test('.yarnrc (classic) ignore-scripts in both spellings', () => {
  assert.equal(yarnrcClassicIgnoreScripts('ignore-scripts true\n'), true);
  assert.equal(yarnrcClassicIgnoreScripts('--ignore-scripts true\n'), true);
  assert.equal(yarnrcClassicIgnoreScripts('ignore-scripts false\n'), false);
  assert.equal(yarnrcClassicIgnoreScripts('registry "https://r.example"\n'), null);
});
