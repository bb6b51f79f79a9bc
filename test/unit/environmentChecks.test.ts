import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Finding } from '../../server/src/analysis/findings';
import { checkEnvironment, gitTrackingOf, type CheckEnvironmentInput } from '../../server/src/policy/environment/environmentChecks';
import { LineIndex } from '../../server/src/parse/textPosition';

const PROJECTS = join(__dirname, '..', 'fixtures', 'environment', 'projects');

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

function summary(findings: Finding[], root: string): string[] {
  return findings.map((f) => `${f.code} ${f.location.file.slice(root.length + 1)}`);
}

/** An in-memory project: paths relative to /virtual. */
function virtual(files: Record<string, string>, packageManager: CheckEnvironmentInput['packageManager']): CheckEnvironmentInput {
  const root = '/virtual';
  return {
    root,
    packageManager,
    config: null,
    readText: async (file) => files[file.slice(root.length + 1)] ?? null,
    listFiles: async (dir, pattern) =>
      Object.keys(files)
        .map((name) => join(root, name))
        .filter((file) => dirname(file) === dir && pattern.test(file)),
    gitTracking: async () => 'committed',
  };
}

test('npm project without .npmrc: the scripts finding points at package.json "packageManager"; the CI install is reported', async () => {
  const root = join(PROJECTS, 'npm-basic');
  const findings = await checkEnvironment({ root, packageManager: { name: 'npm', version: '11.4.0' }, config: null, readText, gitTracking: async () => 'unknown' });
  assert.deepEqual(summary(findings, root).sort(), ['ci-install-with-secrets .github/workflows/ci.yml', 'npmrc-scripts-enabled package.json']);
  const scripts = findings.find((f) => f.code === 'npmrc-scripts-enabled')!;
  const packageJson = (await readText(join(root, 'package.json')))!;
  assert.equal(packageJson.slice(scripts.location.span!.start, scripts.location.span!.end), '"packageManager": "npm@11.4.0"');
  assert.match(scripts.message, /The project has no \.npmrc/);
  assert.match(scripts.fix!, /Create \.npmrc at the project root with "ignore-scripts=true"/);
  const ci = findings.find((f) => f.code === 'ci-install-with-secrets')!;
  const workflow = (await readText(ci.location.file))!;
  const line = new LineIndex(workflow).positionAt(ci.location.span!.start).line;
  assert.match(workflow.split('\n')[line]!, /npm ci {2}# expect-finding/);
});

test('ignore-scripts=true in the project .npmrc covers local and CI installs', async () => {
  const root = join(PROJECTS, 'npm-ignore-scripts');
  const findings = await checkEnvironment({ root, packageManager: { name: 'npm', version: '11.4.0' }, config: null, readText, gitTracking: async () => 'committed' });
  assert.deepEqual(findings, []);
});

test('Yarn Berry: .yarnrc.yml without enableScripts: false, with a literal scoped token; .npmrc’s switch does not count', async () => {
  const root = join(PROJECTS, 'yarn-berry');
  const findings = await checkEnvironment({ root, packageManager: { name: 'yarn', version: '4.5.0' }, config: null, readText, gitTracking: async () => 'committed' });
  assert.deepEqual(summary(findings, root), ['npmrc-literal-token .yarnrc.yml', 'npmrc-scripts-enabled .yarnrc.yml']);
  const text = (await readText(join(root, '.yarnrc.yml')))!;
  const token = findings[0]!;
  assert.equal(text.slice(token.location.span!.start, token.location.span!.end), 'FAKEyarnScopedQx7K000000wxyz');
  assert.ok(!JSON.stringify(findings).includes('FAKEyarnScoped'));
  assert.match(findings[1]!.message, /Yarn Berry does not read \.npmrc/);
});

test('pnpm 9 with a .npmrc lacking the switch: finding in .npmrc; pnpm 10: none', async () => {
  const files = {
    'package.json': '{ "packageManager": "pnpm@9.15.0" }',
    '.npmrc': 'auto-install-peers=true\n',
    '.github/workflows/ci.yml': 'jobs:\n  t:\n    env:\n      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n    steps:\n      - run: pnpm install\n',
  };
  const nine = await checkEnvironment(virtual(files, { name: 'pnpm', version: '9.15.0' }));
  assert.deepEqual(summary(nine, '/virtual').sort(), ['ci-install-with-secrets .github/workflows/ci.yml', 'npmrc-scripts-enabled .npmrc']);
  assert.deepEqual(await checkEnvironment(virtual(files, { name: 'pnpm', version: '10.12.1' })), []);
});

test('Bun needs no switch; Yarn classic points at its .yarnrc; .gitlab-ci.yml is read; other files in workflows/ are not', async () => {
  assert.deepEqual(await checkEnvironment(virtual({ 'package.json': '{}' }, { name: 'bun', version: '1.2.0' })), []);
  const classic = await checkEnvironment(virtual({ 'package.json': '{}', '.yarnrc': 'registry "https://r.example"\n' }, { name: 'yarn', version: '1.22.22' }));
  assert.deepEqual(summary(classic, '/virtual'), ['npmrc-scripts-enabled .yarnrc']);
  assert.match(classic[0]!.fix!, /Add "ignore-scripts true" to \.yarnrc/);
  const gitlab = await checkEnvironment(
    virtual(
      {
        'package.json': '{}',
        '.npmrc': 'ignore-scripts=false\n',
        '.gitlab-ci.yml': 'build:\n  variables:\n    NPM_TOKEN: $TOKEN\n  script:\n    - npm ci\n',
        '.github/workflows/notes.txt': 'jobs: { t: { env: { NPM_TOKEN: "${{ secrets.X }}" }, steps: [ { run: npm ci } ] } }',
      },
      { name: 'npm', version: '10.9.2' },
    ),
  );
  assert.deepEqual(summary(gitlab, '/virtual').sort(), ['ci-install-with-secrets .gitlab-ci.yml', 'npmrc-scripts-enabled .npmrc']);
});

test('findings come back sorted: errors first', async () => {
  const findings = await checkEnvironment(
    virtual({ 'package.json': '{}', '.npmrc': 'fund=false\n//r.example/:_authToken=FAKEsortQx7K0000abcd\n' }, { name: 'npm', version: '11.4.0' }),
  );
  assert.deepEqual(findings.map((f) => f.severity), ['error', 'warning']);
});

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=test@example.invalid', '-c', 'user.name=test', '-c', 'commit.gpgsign=false', ...args], { cwd, stdio: 'ignore' });
}

test('git: a committed .npmrc token is an error that says so; an untracked one a warning; no repository: unknown', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ig-env-git-'));
  try {
    const repo = join(root, 'repo');
    const plain = join(root, 'plain');
    await mkdir(repo);
    await mkdir(plain);
    git(repo, 'init', '-q');
    const secret = 'npm_FAKEgitQx7K00000000000000wxyz';
    await writeFile(join(repo, 'package.json'), '{}');
    await writeFile(join(repo, '.npmrc'), `ignore-scripts=true\n//registry.npmjs.org/:_authToken=${secret}\n`);
    await writeFile(join(plain, '.npmrc'), 'x=1\n');
    assert.equal(await gitTrackingOf(join(repo, '.npmrc')), 'untracked');
    assert.equal(await gitTrackingOf(join(plain, '.npmrc')), 'unknown');

    const input: CheckEnvironmentInput = { root: repo, packageManager: { name: 'npm', version: '11.4.0' }, config: null, readText };
    const untracked = await checkEnvironment(input);
    assert.deepEqual(untracked.map((f) => [f.code, f.severity]), [['npmrc-literal-token', 'warning']]);
    assert.match(untracked[0]!.message, /\.npmrc is present in the working tree \(not committed\)/);

    git(repo, 'add', '.npmrc');
    git(repo, 'commit', '-q', '-m', 'add npmrc');
    assert.equal(await gitTrackingOf(join(repo, '.npmrc')), 'committed');
    const committed = await checkEnvironment(input);
    assert.deepEqual(committed.map((f) => [f.code, f.severity]), [['npmrc-literal-token', 'error']]);
    assert.match(committed[0]!.message, /\.npmrc is committed to git/);
    for (const f of [...untracked, ...committed]) assert.ok(!JSON.stringify(f).includes(secret.slice(4, 12)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
