/**
 * pnpm-lock.yaml 6.0 and 9.0: real lockfiles (vitepress = 6.0, vue-core = 9.0) checked
 * against the truth computed from the registry and against pnpm's own dev/optional flags,
 * small ones made here by the real pnpm, and broken ones that must fail with the right
 * message and line. The oracle for the lockfiles' own fields is the `yaml` library, not
 * the parser under test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { FileParseError, type Lockfile } from '../../server/src/model/inventory';
import { parsePnpmLock } from '../../server/src/parse/pnpmLock';
import { readMachineYaml, readYamlMapping } from '../../server/src/parse/lockfileYaml';
import { parseSyml } from '@yarnpkg/parsers';
import { generateProject } from '../bench/generate';
import { pnpmLockText } from '../bench/writeLockfiles';
import { LockGraph } from '../../server/src/parse/graph';
import { LineIndex } from '../../server/src/parse/textPosition';
import { SHARED_MISSING, sharedFixture } from '../support/sharedFixtures';
import { byId, sourcesColumn, assertSameSet, truth, fixturePaths, loader, assertDeclinedAndReadAlike } from '../support/lockfileTestKit';

const { made, malformed } = fixturePaths('pnpm');
const load = loader(parsePnpmLock);


/** A column of lockfiles/SOURCES.md for one project row, by header name. */
const unquote = (key: string) => (key.startsWith("'") ? key.slice(1, -1).replace(/''/g, "'") : key);

/**
 * The span is a `packages:` key as written (quotes included) naming the package's
 * name@version (6.x: the whole key), and its line is the first line of the file that is
 * exactly `  <key>:` (what `grep -n -x` finds: `packages:` comes before `snapshots:`).
 */
function assertSpans(lock: Lockfile, text: string, step: number): number {
  const lines = text.split('\n');
  const index = new LineIndex(text);
  let checked = 0;
  lock.packages.forEach((pkg, i) => {
    if (i % step !== 0 && pkg.source === 'registry') return;
    const key = text.slice(pkg.span.start, pkg.span.end);
    if (lock.format === 'pnpm-6') assert.equal(unquote(key), pkg.id);
    else assert.ok(pkg.id.startsWith(unquote(key)), `${pkg.id}: span ${key}`);
    // Registry keys name the package; git/tarball keys of 6.x (`host/path/commit`) do not.
    if (lock.format === 'pnpm-9' || key.startsWith('/')) {
      assert.ok(unquote(key).replace(/^\//, '').startsWith(`${pkg.name}@`), `${pkg.id}: names ${pkg.name}`);
    }
    const grepLine = lines.indexOf(`  ${key}:`);
    assert.notEqual(grepLine, -1, `"  ${key}:" is not a line of the file`);
    assert.deepEqual(index.positionAt(pkg.span.start), { line: grepLine, character: 2 }, `${pkg.id}: position`);
    checked++;
  });
  return checked;
}

function assertEdgesResolve(lock: Lockfile): void {
  const ids = new Set(lock.packages.map((p) => p.id));
  const dangling = [...lock.packages, ...lock.importers].flatMap((from) =>
    from.edges.filter((e) => !ids.has(e.to)).map((e) => `${'id' in from ? from.id : from.dir} -> ${e.to}`),
  );
  assert.deepEqual(dangling, []);
}

/** Our edges through the shared graph pass must reproduce pnpm's own optional (and 6.x dev) flags. */
function assertGraphMatchesPnpmFlags(lock: Lockfile, text: string): void {
  new LockGraph(lock);
  const raw = parseYaml(text, { uniqueKeys: false }) as Record<string, Record<string, { dev?: boolean; optional?: boolean }>>;
  const entries = lock.format === 'pnpm-6' ? raw.packages! : raw.snapshots!;
  const disagreements: string[] = [];
  for (const pkg of lock.packages) {
    const entry = entries[pkg.id] ?? {};
    if ((entry.optional === true) !== pkg.optional) disagreements.push(`${pkg.id}: pnpm optional=${entry.optional}, ours ${pkg.optional}`);
    // 6.x: dev true = only dev, false = only prod, absent = both (so: not dev-only).
    if (lock.format === 'pnpm-6' && (entry.dev === true) !== pkg.dev) disagreements.push(`${pkg.id}: pnpm dev=${entry.dev}, ours ${pkg.dev}`);
  }
  assert.deepEqual(disagreements, []);
}

test('pnpm 9.0 (vue-core): registry versions equal the truth, one package per snapshot, 18 importers', (t) => {
  const file = sharedFixture('lockfiles', 'vue-core', 'pnpm-lock.yaml');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  assert.equal(lock.format, 'pnpm-9');
  assert.deepEqual(lock.problems, []);
  const expected = truth('vue-core');
  const registry = lock.packages.filter((p) => p.source === 'registry');
  assertSameSet(registry.map((p) => `${p.name}@${p.version}`), expected.packages.map((p) => `${p.name}@${p.version}`), 'registry name@version');
  assert.equal(registry.length, lock.packages.length, 'vue-core locks registry packages only');
  const raw = parseYaml(text) as { snapshots: object; packages: object; importers: object };
  assert.equal(lock.packages.length, Object.keys(raw.snapshots).length, 'one LockedPackage per snapshot');
  assert.equal(new Set(lock.packages.map((p) => p.span.start)).size, sourcesColumn('vue-core', 'entries'), 'distinct packages: keys (SOURCES.md)');
  // fdir@6.5.0 is locked twice (two peer sets): two ids, one packages: key.
  const fdir = lock.packages.filter((p) => p.name === 'fdir' && p.version === '6.5.0');
  assert.equal(fdir.length, 2);
  assert.notEqual(fdir[0]!.id, fdir[1]!.id);
  assert.deepEqual(fdir[0]!.span, fdir[1]!.span);
  assert.deepEqual(lock.importers.map((i) => i.dir).sort(), ['.', ...expected.nonRegistry.workspace!.items].sort());
  assert.equal(lock.importers.length, Object.keys(raw.importers).length);
  assert.equal(lock.importers.length, expected.nonRegistry.workspace!.count + 1);
  assert.ok(lock.packages.every((p) => p.lockfileFlag === null), '9.0 has no requiresBuild');
  assert.ok(registry.every((p) => (p.integrity ?? '').startsWith('sha512-')));
  assert.ok(assertSpans(lock, text, 13) > 40);
  assertEdgesResolve(lock);
  assertGraphMatchesPnpmFlags(lock, text);
});

test('pnpm 6.0 (vitepress): registry versions and requiresBuild equal the truth, dev/optional match pnpm', (t) => {
  const file = sharedFixture('lockfiles', 'vitepress', 'pnpm-lock.yaml');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  assert.equal(lock.format, 'pnpm-6');
  assert.deepEqual(lock.problems, []);
  const expected = truth('vitepress');
  const registry = lock.packages.filter((p) => p.source === 'registry');
  assertSameSet(registry.map((p) => `${p.name}@${p.version}`), expected.packages.map((p) => `${p.name}@${p.version}`), 'registry name@version');
  assert.equal(registry.length, sourcesColumn('vitepress', 'entries'), 'entries (SOURCES.md)');
  const flags = new Map(registry.map((p) => [`${p.name}@${p.version}`, p.lockfileFlag]));
  const wrongFlags = expected.packages.filter((p) => flags.get(`${p.name}@${p.version}`) !== p.lockfileFlag).map((p) => `${p.name}@${p.version}`);
  assert.deepEqual(wrongFlags, [], 'requiresBuild per version');
  assert.equal(registry.filter((p) => p.lockfileFlag).length, 48);
  assert.deepEqual(lock.importers.map((i) => i.dir).sort(), ['.', ...expected.nonRegistry.workspace!.items].sort());
  // A patched dependency keeps its registry name@version (the patch applies on install).
  const patched = lock.packages.find((p) => p.id.startsWith('/markdown-it-anchor@8.6.7(patch_hash='))!;
  assert.deepEqual([patched.name, patched.version, patched.source], ['markdown-it-anchor', '8.6.7', 'registry']);
  assert.ok(assertSpans(lock, text, 11) > 50);
  assertEdgesResolve(lock);
  assertGraphMatchesPnpmFlags(lock, text);
});

test('made pnpm 9 workspace: peer variants, alias, git, link, optional and dev', () => {
  const { text, lock } = load(made('workspace-v9', 'pnpm-lock.yaml'));
  assert.deepEqual(lock.problems, []);
  assert.equal(assertSpans(lock, text, 1), lock.packages.length);
  assertEdgesResolve(lock);
  const r17 = byId(lock, 'use-sync-external-store@1.2.0(react@17.0.2)');
  const r18 = byId(lock, 'use-sync-external-store@1.2.0(react@18.2.0)');
  assert.deepEqual([r17.version, r18.version], ['1.2.0', '1.2.0']);
  assert.deepEqual(r17.span, r18.span);
  assert.equal(text.slice(r17.span.start, r17.span.end), 'use-sync-external-store@1.2.0');
  assert.deepEqual(r17.edges, [{ to: 'react@17.0.2', kind: 'prod' }]);
  const git = byId(lock, 'local-git-dep@git+file:///tmp/made/gitdep#e759e1585b5aa9c11f51253d21787948e5c820b6');
  assert.deepEqual([git.name, git.version, git.source, git.integrity], ['local-git-dep', '1.0.0', 'git', null]);
  assert.equal(git.resolved, 'file:///tmp/made/gitdep#e759e1585b5aa9c11f51253d21787948e5c820b6');
  const edgesOf = (dir: string) => lock.importers.find((i) => i.dir === dir)!.edges.map((e) => `${e.kind}:${e.to}`).sort();
  assert.deepEqual(edgesOf('.'), [
    'dev:is-number@7.0.0',
    'optional:fsevents@2.3.3',
    'prod:is-odd@3.0.1',
    `prod:${git.id}`,
    'prod:lodash.camelcase@4.3.0',
  ]);
  // `b: link:../b` is another importer: no edge, no problem.
  assert.deepEqual(edgesOf('packages/a'), ['prod:react@17.0.2', `prod:${r17.id}`]);
  assertGraphMatchesPnpmFlags(lock, text);
  assert.equal(byId(lock, 'fsevents@2.3.3').optional, true);
  assert.equal(byId(lock, 'is-number@7.0.0').dev, false, 'the git dependency needs it in prod');
});

test('made pnpm 6 workspace: requiresBuild, host-path git key, peer variants, dev/optional match pnpm', () => {
  const { text, lock } = load(made('workspace-v6', 'pnpm-lock.yaml'));
  assert.equal(lock.format, 'pnpm-6');
  assert.deepEqual(lock.problems, []);
  assert.equal(assertSpans(lock, text, 1), lock.packages.length);
  assertEdgesResolve(lock);
  assert.deepEqual(lock.packages.filter((p) => p.lockfileFlag).map((p) => p.id), ['/fsevents@2.3.3']);
  assert.ok(lock.packages.every((p) => p.lockfileFlag === false || p.id === '/fsevents@2.3.3'));
  const git = byId(lock, '127.0.0.1+8765/gitdep/e759e1585b5aa9c11f51253d21787948e5c820b6');
  assert.deepEqual([git.name, git.version, git.source], ['local-git-dep', '1.0.0', 'git']);
  assert.equal(git.resolved, 'http://127.0.0.1:8765/gitdep.git#e759e1585b5aa9c11f51253d21787948e5c820b6');
  assert.equal(byId(lock, '/use-sync-external-store@1.2.0(react@18.2.0)').version, '1.2.0');
  assert.ok(lock.importers.find((i) => i.dir === '.')!.edges.some((e) => e.to === '/lodash.camelcase@4.3.0'), 'alias edge');
  assertGraphMatchesPnpmFlags(lock, text);
});

test('made pnpm 9 sources: file folder, file tarball, remote tarball, hosted git, custom registry, alias', () => {
  const { lock } = load(made('sources-v9', 'pnpm-lock.yaml'));
  assert.deepEqual(lock.problems, []);
  assertEdgesResolve(lock);
  const summary = lock.packages.map((p) => `${p.id} ${p.name}@${p.version} ${p.source}`).sort();
  assert.deepEqual(summary, [
    'debug@4.3.4 debug@4.3.4 registry',
    'irc-framework@https://codeload.github.com/kiwiirc/irc-framework/tar.gz/9578e59a1056499e4a03a0f0fd2c260e9aadc541 irc-framework@4.14.0 git',
    'local-lib@file:vendor/local-lib local-lib@file:vendor/local-lib file',
    'ms@2.1.2 ms@2.1.2 registry',
    'ms@2.1.3 ms@2.1.3 registry',
    'tiny@file:vendor/tiny-1.0.0.tgz tiny@1.0.0 file',
    'tiny@http://127.0.0.1:8765/tiny-1.0.0.tgz tiny@1.0.0 tarball',
  ]);
  assert.equal(byId(lock, 'ms@2.1.2').resolved, 'https://artifactory.example.com/api/npm/npm-remote/ms/-/ms-2.1.2.tgz');
  assert.equal(byId(lock, 'local-lib@file:vendor/local-lib').resolved, 'file:vendor/local-lib');
  const rootEdges = lock.importers[0]!.edges.map((e) => e.to);
  assert.ok(rootEdges.includes('debug@4.3.4'), 'scoped alias @acme/debug-alias -> debug');
  assert.equal(rootEdges.length, 5);
});

test('keys the line scan cannot place (flow style) still get exact spans from the yaml Document', () => {
  const text = [
    "lockfileVersion: '9.0'",
    'importers:',
    '  .: {dependencies: {ms: {specifier: ^2.1.3, version: 2.1.3}, "@s/p": {specifier: "1", version: 1.0.0(ms@2.1.3)}},',
    "    devDependencies: {'@s/alias': {specifier: 'npm:@s/p@1', version: '@s/p@1.0.0(ms@2.1.3)'}}}",
    "packages: {ms@2.1.3: {resolution: {integrity: sha512-aa}}, '@s/p@1.0.0': {resolution: {integrity: sha512-bb}}}",
    "snapshots: {ms@2.1.3: {}, '@s/p@1.0.0(ms@2.1.3)': {dependencies: {ms: 2.1.3}}}",
    '',
  ].join('\n');
  const lock = parsePnpmLock('/p/pnpm-lock.yaml', text);
  assert.deepEqual(lock.problems, []);
  const spanText = (id: string) => text.slice(byId(lock, id).span.start, byId(lock, id).span.end);
  assert.equal(spanText('ms@2.1.3'), 'ms@2.1.3');
  assert.equal(spanText('@s/p@1.0.0(ms@2.1.3)'), "'@s/p@1.0.0'");
  assert.equal(new LineIndex(text).positionAt(byId(lock, 'ms@2.1.3').span.start).line, 4);
  // The scoped alias's version is the full key of the package it installs.
  assert.deepEqual(lock.importers[0]!.edges.map((e) => `${e.kind}:${e.to}`).sort(), [
    'dev:@s/p@1.0.0(ms@2.1.3)',
    'prod:@s/p@1.0.0(ms@2.1.3)',
    'prod:ms@2.1.3',
  ]);
});

test('malformed pnpm-lock.yaml files fail with the right line or become problems', () => {
  const expectError = (name: string, message: RegExp, expectedLine: (lines: string[]) => number) => {
    const file = malformed(name);
    const text = readFileSync(file, 'utf8');
    assert.throws(
      () => parsePnpmLock(file, text),
      (error: unknown) => {
        assert.ok(error instanceof FileParseError, `${name}: ${String(error)}`);
        assert.match(error.message, message, name);
        assert.ok(error.span, `${name}: has a span`);
        const line = expectedLine(text.split('\n'));
        assert.equal(new LineIndex(text).positionAt(error.span.start).line, line, `${name}: span line`);
        return true;
      },
    );
  };
  const firstLine = (test: (l: string) => boolean) => (lines: string[]) => lines.findIndex(test);
  const lastLine = (lines: string[]) => lines.length - (lines[lines.length - 1] === '' ? 2 : 1);
  expectError('v9-conflict.yaml', /merge conflict markers at line \d+/, firstLine((l) => l.startsWith('<<<<<<<')));
  expectError('v9-truncated-in-flow-map.yaml', /not valid YAML.*line \d+.*truncated/, lastLine);
  expectError('v9-truncated-before-snapshots.yaml', /no "snapshots".*incomplete/, lastLine);
  expectError('v9-tabs.yaml', /not valid YAML: tab.*line 6\b/, firstLine((l) => l.startsWith('\t')));
  expectError('v5.4-pnpm7.yaml', /lockfileVersion 5\.4 .*reads lockfileVersion 6\.0 and 6\.1 .* and 9\.0/, firstLine((l) => l.startsWith('lockfileVersion')));
  expectError('not-a-lockfile.yaml', /no lockfileVersion/, () => 0);

  const { text, lock } = load(malformed('v6-bad-entries.yaml'));
  const at = (pattern: RegExp) => {
    const problem = lock.problems.find((p) => pattern.test(p.message));
    assert.ok(problem?.span, `${pattern}: ${JSON.stringify(lock.problems)}`);
    return text.slice(problem.span.start, problem.span.end);
  };
  assert.equal(at(/"\/object-assign@4\.1\.1" has no fields/), '/object-assign@4.1.1');
  assert.equal(at(/127\.0\.0\.1\+8765.*has no name@version/), '127.0.0.1+8765/gitdep/e759e1585b5aa9c11f51253d21787948e5c820b6');
  assert.ok(lock.packages.some((p) => p.id === '/react@17.0.2'), 'the other entries are read');
  assert.equal(lock.packages.length, 11);

  // 9.0 halves that disagree, and a key listed twice: problems at the key, parsing goes on.
  const v9 = readFileSync(made('workspace-v9', 'pnpm-lock.yaml'), 'utf8');
  const cut = (from: string, entry: string) => {
    const at = v9.indexOf(entry, v9.indexOf(`\n${from}:\n`));
    return v9.slice(0, at) + v9.slice(v9.indexOf('\n\n', at) + 2);
  };
  const withoutSnapshot = parsePnpmLock('/p/pnpm-lock.yaml', cut('snapshots', '  is-odd@3.0.1:\n'));
  assert.match(withoutSnapshot.problems.map((p) => p.message).join('\n'), /"is-odd@3\.0\.1" has no snapshot/);
  assert.equal(byId(withoutSnapshot, 'is-odd@3.0.1').integrity?.startsWith('sha512-'), true, 'still audited');
  const withoutMeta = parsePnpmLock('/p/pnpm-lock.yaml', cut('packages', '  is-odd@3.0.1:\n'));
  assert.deepEqual(withoutMeta.problems.map((p) => p.message), ['snapshot "is-odd@3.0.1" has no "packages" entry "is-odd@3.0.1" (no resolution, no integrity)']);
  assert.equal(byId(withoutMeta, 'is-odd@3.0.1').version, '3.0.1');
  const twice = v9.replace('\n  js-tokens@4.0.0: {}\n', '\n  js-tokens@4.0.0: {}\n\n  js-tokens@4.0.0: {}\n');
  const duplicate = parsePnpmLock('/p/pnpm-lock.yaml', twice).problems;
  assert.equal(duplicate.length, 1);
  assert.match(duplicate[0]!.message, /"snapshots" lists "js-tokens@4\.0\.0" twice/);
  assert.equal(twice.slice(duplicate[0]!.span!.start, duplicate[0]!.span!.end), 'js-tokens@4.0.0');
  assert.ok(duplicate[0]!.span!.start > twice.indexOf('\n  js-tokens@4.0.0: {}\n'), 'at the second one');

  for (const text of ['', '- a\n- b\n', 'lockfileVersion: "9.0"\npackages: [1, 2]\n', ': : :\n']) {
    assert.throws(() => parsePnpmLock('/p/pnpm-lock.yaml', text), FileParseError, JSON.stringify(text));
  }
});

test('a 10k-package lockfile: every renamed copy parsed, with its key span (speed is measured by npm run bench)', (t) => {
  const file = sharedFixture('lockfiles', 'vitepress', 'pnpm-lock.yaml');
  if (!file) return t.skip(SHARED_MISSING);
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('\npackages:\n') + '\npackages:\n'.length;
  // 16 renamed copies of every `packages:` entry: keys and dependency names get a prefix.
  const big =
    text.slice(0, start) +
    Array.from({ length: 16 }, (_, i) => text.slice(start).replace(/^( {2}'?\/| {6}'?)(@[^/\s]+\/)?([^@\s'/]+)/gm, `$1$2c${i}$3`)).join('');
  const lock = parsePnpmLock('/p/pnpm-lock.yaml', big);
  assert.ok(lock.packages.length > 10000, `${lock.packages.length} packages`);
  for (const pkg of lock.packages.filter((_, i) => i % 997 === 0)) {
    assert.ok(big.slice(pkg.span.start, pkg.span.end).includes(pkg.name), `${pkg.id} span`);
  }
});

test('CRLF line endings: same packages, spans still on the keys', () => {
  for (const name of ['workspace-v9', 'workspace-v6']) {
    const lf = readFileSync(made(name, 'pnpm-lock.yaml'), 'utf8');
    const crlf = lf.replace(/\n/g, '\r\n');
    const a = parsePnpmLock('/p/pnpm-lock.yaml', lf);
    const b = parsePnpmLock('/p/pnpm-lock.yaml', crlf);
    assert.deepEqual(b.problems, []);
    assert.deepEqual(b.packages.map((p) => p.id), a.packages.map((p) => p.id));
    for (const pkg of b.packages) {
      const key = crlf.slice(pkg.span.start, pkg.span.end);
      assert.ok(pkg.id.startsWith(unquote(key)) && key.length > 0, `${name} ${pkg.id}: ${JSON.stringify(key)}`);
      assert.equal(crlf[pkg.span.start - 1], ' ');
    }
  }
});

/**
 * The fast YAML reader (lockfileYaml.ts) must read every file it accepts exactly as
 * parseSyml (js-yaml, FAILSAFE) does, accept the lockfiles pnpm and Yarn Berry write, and
 * leave everything unusual to js-yaml.
 */
test('lockfile YAML: the fast reader agrees with parseSyml, and steps aside for the unusual', (t) => {
  const written: [string, string][] = [
    ...['workspace-v9', 'workspace-v6', 'sources-v9'].map((name): [string, string] => [`made ${name}`, readFileSync(made(name, 'pnpm-lock.yaml'), 'utf8')]),
    ['projects/pnpm-basic', readFileSync('test/fixtures/projects/pnpm-basic/pnpm-lock.yaml', 'utf8')],
    ['safe-version/pnpm', readFileSync('test/fixtures/safe-version/pnpm/pnpm-lock.yaml', 'utf8')],
    ['made yarn berry-workspace', readFileSync('test/fixtures/made/yarn/berry-workspace/yarn.lock', 'utf8')],
    ['projects/yarn-berry', readFileSync('test/fixtures/projects/yarn-berry/yarn.lock', 'utf8')],
    ['generated 1k (npm run bench)', pnpmLockText(generateProject(1000))],
    ['malformed v9-truncated-before-snapshots', readFileSync(malformed('v9-truncated-before-snapshots.yaml'), 'utf8')],
  ];
  for (const [project, file] of [['vue-core', 'pnpm-lock.yaml'], ['vitepress', 'pnpm-lock.yaml'], ['prettier', 'yarn.lock']]) {
    const path = sharedFixture('lockfiles', project!, file!);
    if (path) written.push([project!, readFileSync(path, 'utf8')]);
    else t.diagnostic(SHARED_MISSING);
  }
  let accepted = 0;
  for (const [name, text] of written) {
    const fast = readMachineYaml(text);
    // Berry writes a key past 1024 characters in YAML's `? key` form, which the fast reader leaves to js-yaml.
    if (!fast && /^\? /m.test(text)) continue;
    assert.ok(fast, `${name}: written by pnpm or Yarn, so the fast reader reads it`);
    assert.deepStrictEqual(fast, parseSyml(text), name);
    accepted++;
  }
  assert.ok(accepted >= 7, `the fast reader read ${accepted} files`);

  // What the writers produce that a small file may not show.
  const forms = "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      '@s/a':\n        specifier: ^1.0.0\n        version: 1.0.0(b@2.0.0)\n\npackages:\n\n  '@s/a@1.0.0':\n    resolution: {integrity: sha512-x==, tarball: https://r.example:8080/a.tgz}\n    engines: {node: ^14.17.0 || >=16.0.0, npm: '>=7'}\n    cpu: [x64, arm64]\n    os: []\n    deprecated: 'it''s old: use b'\n    hasBin: true\n\nsnapshots:\n\n  '@s/a@1.0.0(b@2.0.0)':\n    dependencies:\n      b: 2.0.0\n    transitivePeerDependencies:\n      - supports-color\n      - '@s/z'\n  b@2.0.0: {}\n  c@1.0.0:\n";
  const read = readMachineYaml(`# written by a tool\n${forms}`);
  assert.ok(read);
  assert.deepStrictEqual(read, parseSyml(`# written by a tool\n${forms}`));

  // Unusual texts: the fast reader declines, and readYamlMapping still gives js-yaml's reading or its error.
  const unusual: [string, string][] = [
    ['comment after a value', 'a: 1 # note\n'],
    ['yarn 1 header', '# yarn lockfile v1\na: 1\n'],
    ['escape', 'a: "x\\ty"\n'],
    ['CRLF', 'a: 1\r\nb: 2\r\n'],
    ['tab', 'a:\n\tb: 1\n'],
    ['block scalar', 'a: |\n  text\n'],
    ['anchor and alias', 'a: &x 1\nb: *x\n'],
    ['four-space indentation', 'a:\n    b: 1\n'],
    ['continued plain scalar', 'a: one\n  two\n'],
    ['complex key', '? a\n: 1\n'],
    ['flow over two lines', 'a: {b: 1,\n  c: 2}\n'],
    ['nested flow', 'a: {b: {c: 1}}\n'],
    ['document marker', '---\na: 1\n'],
    ['trailing space', 'a: 1 \n'],
    ['mapping inside a sequence', 'a:\n  - b: 1\n'],
    ['__proto__ key', '__proto__: 1\n'],
    ['unclosed quote', "a: 'x\n"],
  ];
  assertDeclinedAndReadAlike(unusual, {
    fast: readMachineYaml,
    ours: (text) => readYamlMapping('/p/pnpm-lock.yaml', text, 'pnpm-lock.yaml'),
    theirs: parseSyml,
  });
});
