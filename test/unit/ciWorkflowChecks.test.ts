import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isScalar, parseDocument, visit, type Scalar } from 'yaml';
import type { Finding } from '../../server/src/analysis/findings';
import { checkWorkflowText } from '../../server/src/policy/environment/ciWorkflowChecks';
import type { CiContext } from '../../server/src/policy/environment/ciInstallPolicy';
import { scalarSourceMap } from '../../server/src/policy/environment/yamlSourceMap';
import type { ProjectScriptSettings } from '../../server/src/policy/environment/npmrcChecks';
import { LineIndex } from '../../server/src/parse/textPosition';

const FIXTURES = join(__dirname, '..', 'fixtures', 'environment');
const NO_SETTINGS: ProjectScriptSettings = { npmrcIgnoreScripts: null, yarnrcIgnoreScripts: null, yarnEnableScripts: null, hasYarnrcYml: false };
const NPM_11: CiContext = { packageManager: { name: 'npm', version: '11.4.0' }, settings: NO_SETTINGS };

function fixture(...parts: string[]): { file: string; text: string } {
  const file = join(FIXTURES, ...parts);
  return { file, text: readFileSync(file, 'utf8') };
}

/** Zero-based lines the fixture marks with `expect-finding`. */
function markedLines(text: string): number[] {
  return text.split('\n').flatMap((line, index) => (line.includes('expect-finding') ? [index] : []));
}

function findingLines(findings: Finding[], text: string): number[] {
  const index = new LineIndex(text);
  return findings.map((f) => index.positionAt(f.location.span!.start).line).sort((a, b) => a - b);
}

function spanText(f: Finding, text: string): string {
  return text.slice(f.location.span!.start, f.location.span!.end);
}

for (const name of ['release.yml', 'secrets-on-publish-only.yml', 'variants.yml', 'carried.yml', 'actions.yml']) {
  test(`github ${name}: findings exactly on the marked lines`, () => {
    const { file, text } = fixture('github', name);
    const findings = checkWorkflowText(file, text, NPM_11);
    assert.ok(findings.every((f) => f.code === 'ci-install-with-secrets' && f.severity === 'warning' && f.location.file === file));
    assert.deepEqual(findingLines(findings, text), markedLines(text));
  });
}

test('the finding names the step, the job and the secrets by name, and points at the command inside run: |', () => {
  const { file, text } = fixture('github', 'release.yml');
  const [finding, ...rest] = checkWorkflowText(file, text, NPM_11);
  assert.equal(rest.length, 0);
  assert.equal(spanText(finding!, text), 'npm ci');
  assert.match(finding!.message, /^Step "Install and build" of job "publish" runs `npm ci`/);
  assert.match(finding!.message, /AWS_ACCESS_KEY_ID \(secrets\.AWS_ACCESS_KEY_ID, job env\)/);
  assert.doesNotMatch(finding!.message, /NODE_AUTH_TOKEN/, 'the publish step’s env is not in the install step’s environment');
  assert.match(finding!.fix!, /--ignore-scripts/);
  assert.match(finding!.fix!, /npm_config_ignore_scripts/);
  // The related location is the env key that brings the secret in.
  const related = finding!.related.map((r) => text.slice(r.span!.start, r.span!.end));
  assert.deepEqual(related, ['AWS_ACCESS_KEY_ID']);
});

test('spans cover the whole command, across a line continuation, in folded and quoted scalars', () => {
  const { file, text } = fixture('github', 'variants.yml');
  const spans = checkWorkflowText(file, text, NPM_11).map((f) => spanText(f, text).replace(/\s+/g, ' '));
  assert.ok(spans.includes('yarn install --frozen-lockfile'), spans.join(' | '));
  assert.ok(spans.includes('npm ci'));
  assert.ok(spans.includes('npm install --no-audit'));
});

test('what earlier steps leave behind is named in the message', () => {
  const { file, text } = fixture('github', 'carried.yml');
  const messages = checkWorkflowText(file, text, NPM_11).map((f) => f.message);
  assert.ok(messages.some((m) => /AWS credentials \(left by step 3 \(aws-actions\/configure-aws-credentials@v4\)\)/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /NPM_TOKEN \(secrets\.NPM_TOKEN, \$GITHUB_ENV from step 2 \(echo "NPM_TOKEN=\$\{\{…\}\}" >> "\$GITHUB_ENV"\)\)/.test(m)));
  assert.ok(messages.some((m) => /ACTIONS_ID_TOKEN_REQUEST_TOKEN/.test(m)));
  assert.ok(messages.some((m) => /git credentials in \.git\/config \(secrets\.RELEASE_PAT/.test(m)));
  assert.ok(messages.some((m) => /secrets\.NPM_TOKEN \(written to disk by step "Token into \.npmrc/.test(m)));
  assert.ok(messages.some((m) => /pnpm 9\.15\.0 runs dependency install scripts/.test(m)));
});

test('the project’s own switches and the tool version turn CI installs safe', () => {
  const { file, text } = fixture('github', 'release.yml');
  const npmrcOn: ProjectScriptSettings = {
    ...NO_SETTINGS,
    npmrcIgnoreScripts: { value: true, entry: { key: 'ignore-scripts', section: null, value: 'true', keySpan: { start: 0, end: 14 }, valueSpan: null } },
  };
  assert.equal(checkWorkflowText(file, text, { ...NPM_11, settings: npmrcOn }).length, 0);
  assert.equal(checkWorkflowText(file, text, { ...NPM_11, packageManager: { name: 'npm', version: '12.0.0' } }).length, 0);
  assert.equal(checkWorkflowText(file, text, { ...NPM_11, packageManager: { name: 'npm', version: null } }).length, 1, 'unknown npm: the current line (11) runs scripts');
});

const PNPM_WORKFLOW = `jobs:
  build:
    runs-on: ubuntu-latest
    env:
      NODE_AUTH_TOKEN: \${{ secrets.NPM_TOKEN }}
    steps:
      - run: pnpm install --frozen-lockfile
`;

test('pnpm: scripts run before 10, blocked from 10 on, unknown version taken as the current line', () => {
  const at = (version: string | null): number =>
    checkWorkflowText('/p/.github/workflows/ci.yml', PNPM_WORKFLOW, { ...NPM_11, packageManager: { name: 'pnpm', version } }).length;
  assert.equal(at('9.15.0'), 1);
  assert.equal(at('10.12.1'), 0);
  assert.equal(at(null), 0);
});

const YARN_WORKFLOW = (env: string) => `jobs:
  build:
    runs-on: ubuntu-latest
    env:
      NPM_TOKEN: \${{ secrets.NPM_TOKEN }}${env}
    steps:
      - run: yarn install --immutable
`;

test('Yarn Berry: YARN_ENABLE_SCRIPTS and .yarnrc.yml decide; npm_config_ignore_scripts does not reach it', () => {
  const berry: CiContext = { packageManager: { name: 'yarn', version: '4.5.0' }, settings: { ...NO_SETTINGS, hasYarnrcYml: true } };
  const count = (env: string, context = berry): number => checkWorkflowText('/p/.github/workflows/ci.yml', YARN_WORKFLOW(env), context).length;
  assert.equal(count(''), 1);
  assert.equal(count('\n      YARN_ENABLE_SCRIPTS: false'), 0);
  assert.equal(count('\n      npm_config_ignore_scripts: true'), 1);
  assert.equal(count('', { ...berry, settings: { ...berry.settings, yarnEnableScripts: { value: false, span: null } } }), 0);
  const [finding] = checkWorkflowText('/p/.github/workflows/ci.yml', YARN_WORKFLOW(''), berry);
  assert.match(finding!.fix!, /YARN_ENABLE_SCRIPTS/);
  // Yarn classic: YARN_IGNORE_SCRIPTS.
  const classic: CiContext = { packageManager: { name: 'yarn', version: '1.22.22' }, settings: NO_SETTINGS };
  assert.equal(count('', classic), 1);
  assert.equal(count('\n      YARN_IGNORE_SCRIPTS: "true"', classic), 0);
});

test('bun installs are never reported: Bun runs only trusted dependencies’ scripts', () => {
  const text = PNPM_WORKFLOW.replace('pnpm install --frozen-lockfile', 'bun install');
  assert.equal(checkWorkflowText('/p/.github/workflows/ci.yml', text, NPM_11).length, 0);
});

test('malformed YAML is a file-problem finding at the error, not an exception', () => {
  const { file, text } = fixture('github', 'malformed.yml');
  const findings = checkWorkflowText(file, text, NPM_11);
  assert.equal(findings.length, 1);
  assert.equal(findings[0]!.code, 'file-problem');
  const span = findings[0]!.location.span!;
  assert.ok(span.start >= text.indexOf('env: [') && span.start <= text.length, `error at ${span.start}`);
  assert.doesNotThrow(() => checkWorkflowText(file, ':\n  - [\n', NPM_11));
  assert.deepEqual(checkWorkflowText(file, '', NPM_11), []);
  assert.deepEqual(checkWorkflowText(file, 'jobs: 3\n', NPM_11), []);
});

for (const name of ['templates', 'credentials']) {
  test(`gitlab ${name}: findings exactly on the marked lines`, () => {
    const { file, text } = fixture('gitlab', name, '.gitlab-ci.yml');
    const findings = checkWorkflowText(file, text, NPM_11);
    assert.ok(findings.every((f) => f.code === 'ci-install-with-secrets'));
    assert.deepEqual(findingLines(findings, text), markedLines(text));
    // Names only: the value a secret variable is set from never appears.
    const json = JSON.stringify(findings);
    assert.ok(!json.includes('NPM_PUBLISH_TOKEN') && !json.includes('DEPLOY_KEY') && !json.includes('production/db'), json);
  });
}

test('gitlab: one finding per command in a template, listing every job that runs it', () => {
  const { file, text } = fixture('gitlab', 'templates', '.gitlab-ci.yml');
  const findings = checkWorkflowText(file, text, NPM_11);
  const template = findings.find((f) => spanText(f, text) === 'npm ci')!;
  assert.match(template.message, /^Jobs "test", "lint" run `npm ci`/);
  assert.doesNotMatch(template.message, /"safe"|"isolated"/);
  assert.match(template.message, /NPM_TOKEN \(global variables\)/);
  const referenced = findings.find((f) => spanText(f, text).startsWith('yarn install'))!;
  assert.match(referenced.message, /^Job "referenced" runs `yarn install --frozen-lockfile`/);
  assert.match(referenced.fix!, /separate job/);
});

test('gitlab: secrets: and id_tokens: count; a variable that only passes on CI_JOB_TOKEN does not', () => {
  const { file, text } = fixture('gitlab', 'credentials', '.gitlab-ci.yml');
  const messages = checkWorkflowText(file, text, NPM_11).map((f) => f.message);
  assert.ok(messages.some((m) => /^Job "vault".*DATABASE_PASSWORD \(secrets:\)/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /^Job "deploy-key".*SSH_PRIVATE_KEY \(job variables\)/.test(m)));
  assert.ok(!messages.some((m) => /job-token-only|oidc/.test(m)));
});

test('every scalar of every CI fixture maps back to its source characters exactly', () => {
  const files = [
    ...readdirSync(join(FIXTURES, 'github')).filter((n) => n !== 'malformed.yml').map((n) => join(FIXTURES, 'github', n)),
    join(FIXTURES, 'gitlab', 'templates', '.gitlab-ci.yml'),
    join(FIXTURES, 'gitlab', 'credentials', '.gitlab-ci.yml'),
  ];
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const doc = parseDocument(text, { keepSourceTokens: true });
    visit(doc, {
      Scalar(_key, node) {
        if (!isScalar(node) || typeof node.value !== 'string') return;
        const mapped = scalarSourceMap(text, node as Scalar);
        assert.ok(mapped.exact, `${file}: ${JSON.stringify(node.value)} fell back`);
        for (let i = 0; i < mapped.value.length; i++) {
          const c = mapped.value[i]!;
          if (/\s/.test(c)) continue; // joins (folded breaks) map to the next line's start
          const source = text[mapped.offsetAt(i)];
          assert.ok(source === c || source === '\\', `${file}: ${JSON.stringify(node.value)}[${i}] maps to ${JSON.stringify(source)}`);
        }
        checked++;
      },
    });
  }
  assert.ok(checked > 100, `checked ${checked} scalars`);
});

test('scalar maps: block chomping and indicators, single quotes, escapes', () => {
  const text = [
    'a: |-',
    '    one',
    '',
    '      two indented',
    '    three',
    "b: 'it''s npm ci'",
    'c: "tab\\there \\u00e9 npm ci"',
    'd: >+',
    '  x',
    '   more',
    '  npm ci',
    '',
    'e: plain',
    '  continued npm ci',
  ].join('\n');
  const doc = parseDocument(text, { keepSourceTokens: true });
  for (const key of ['a', 'b', 'c', 'd', 'e']) {
    const node = doc.get(key, true) as Scalar;
    const mapped = scalarSourceMap(text, node);
    assert.ok(mapped.exact, `${key}: ${JSON.stringify(node.value)}`);
    const at = mapped.value.lastIndexOf('npm ci');
    if (at >= 0) assert.equal(text.slice(mapped.offsetAt(at), mapped.offsetAt(at) + 6), 'npm ci', key);
  }
  const a = scalarSourceMap(text, doc.get('a', true) as Scalar);
  assert.equal(text.slice(a.offsetAt(a.value.indexOf('three')), a.offsetAt(a.value.indexOf('three')) + 5), 'three');
});

test('GitLab spec: header documents are read past; other multi-document files are a problem', () => {
  const pipeline = 'build:\n  variables:\n    NPM_TOKEN: $TOKEN\n  script:\n    - npm ci\n';
  const withSpec = `spec:\n  inputs:\n    stage:\n      default: test\n---\n${pipeline}`;
  const [finding] = checkWorkflowText('/p/.gitlab-ci.yml', withSpec, NPM_11);
  assert.equal(finding!.code, 'ci-install-with-secrets');
  assert.equal(withSpec.slice(finding!.location.span!.start, finding!.location.span!.end), 'npm ci');
  const twoWorkflows = checkWorkflowText('/p/.github/workflows/x.yml', `jobs: {}\n---\njobs: {}\n`, NPM_11);
  assert.equal(twoWorkflows[0]!.code, 'file-problem');
});

test('env given as one expression still brings its secrets', () => {
  const text = 'jobs:\n  t:\n    steps:\n      - run: npm ci\n        env: ${{ fromJSON(secrets.ALL_ENV) }}\n';
  const [finding] = checkWorkflowText('/p/.github/workflows/x.yml', text, NPM_11);
  assert.match(finding!.message, /env \(secrets\.ALL_ENV, step env\)/);
});

test('an install action gets the secrets of its with: inputs (the runner passes them as INPUT_*)', () => {
  const text = [
    'jobs:',
    '  e2e:',
    '    steps:',
    '      - uses: cypress-io/github-action@v6',
    '        with:',
    '          record: true',
    '          record-key: ${{ secrets.CYPRESS_RECORD_KEY }}',
    '      - uses: cypress-io/github-action@v6',
    '        with:',
    '          install: false',
    '          record-key: ${{ secrets.CYPRESS_RECORD_KEY }}',
    '',
  ].join('\n');
  const findings = checkWorkflowText('/p/.github/workflows/e2e.yml', text, NPM_11);
  assert.equal(findings.length, 1);
  assert.match(findings[0]!.message, /runs `npm ci`.*INPUT_RECORD-KEY \(secrets\.CYPRESS_RECORD_KEY, with:\)/);
  assert.equal(text.slice(findings[0]!.location.span!.start, findings[0]!.location.span!.end), 'cypress-io/github-action@v6');
});

test('a block scalar with an explicit indentation indicator still points inside its own step', () => {
  const text = 'jobs:\n  t:\n    env:\n      NPM_TOKEN: ${{ secrets.T }}\n    steps:\n      - run: |2\n            indented\n          npm ci\n';
  const [finding] = checkWorkflowText('/p/.github/workflows/x.yml', text, NPM_11);
  const start = finding!.location.span!.start;
  assert.ok(start >= text.indexOf('|2') && start <= text.indexOf('npm ci'), `span starts at ${start}`);
});
