/**
 * yarn.lock classic and Berry: real lockfiles (thelounge = Yarn 1, prettier = Yarn 4) checked
 * against the truth computed from the registry, small ones made here by the real Yarn, and
 * broken ones that must fail with the right message and line, never hang or crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FileParseError, type Lockfile, type ProjectManifest } from '../../server/src/model/inventory';
import { linkYarnImporters, parseYarnLock } from '../../server/src/parse/yarnLock';
import { readAsYarnWrites, readClassicLockfile } from '../../server/src/parse/yarnClassicSyntax';
import { parse as parseClassicWithYarn } from '@yarnpkg/lockfile';
import { generateProject } from '../bench/generate';
import { yarnLockText } from '../bench/writeLockfiles';
import { parsePackageJson } from '../../server/src/parse/packageJson';
import { LockGraph } from '../../server/src/parse/graph';
import { LineIndex } from '../../server/src/parse/textPosition';
import { SHARED_MISSING, sharedFixture } from '../support/sharedFixtures';
import { byId, sourcesColumn, assertSameSet, truth, fixturePaths, loader, assertDeclinedAndReadAlike } from '../support/lockfileTestKit';

const { made, malformed } = fixturePaths('yarn');
const load = loader(parseYarnLock);


function manifest(file: string, dir: string): ProjectManifest {
  return parsePackageJson(file, dir, readFileSync(file, 'utf8')).manifest;
}

/** A column of lockfiles/SOURCES.md for one project row, by header name. */
/**
 * Each span is the whole key line without its colon, and its line is where a plain search
 * of the file's lines (what `grep -n -x` does) finds that key line. Checks every `step`th
 * package and every non-registry one.
 */
function assertSpans(lock: Lockfile, text: string, step: number): number {
  const lines = text.split('\n');
  const index = new LineIndex(text);
  let checked = 0;
  lock.packages.forEach((pkg, i) => {
    if (i % step !== 0 && pkg.source === 'registry') return;
    const key = text.slice(pkg.span.start, pkg.span.end);
    assert.ok(key.length > 0 && key.includes(pkg.id.split('@npm:')[0]!.replace(/^"/, '')), `${pkg.id}: span ${JSON.stringify(key)}`);
    const grepLine = lines.indexOf(`${key}:`);
    assert.notEqual(grepLine, -1, `${pkg.id}: "${key}:" is not a line of the file`);
    assert.equal(index.positionAt(pkg.span.start).line, grepLine, `${pkg.id}: line`);
    assert.equal(index.positionAt(pkg.span.start).character, 0);
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

test('yarn classic (thelounge): registry versions equal the truth, git entry, spans, edges', (t) => {
  const file = sharedFixture('lockfiles', 'thelounge', 'yarn.lock');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  assert.equal(lock.format, 'yarn-classic');
  assert.deepEqual(lock.problems, []);
  const expected = truth('thelounge');
  const registry = lock.packages.filter((p) => p.source === 'registry');
  assertSameSet(registry.map((p) => `${p.name}@${p.version}`), expected.packages.map((p) => `${p.name}@${p.version}`), 'registry name@version');
  assert.equal(registry.length, sourcesColumn('thelounge', 'entries'), 'registry entries (SOURCES.md)');
  const git = lock.packages.filter((p) => p.source === 'git');
  assertSameSet(git.map((p) => p.id), expected.nonRegistry.git!.items, 'git entries');
  assert.equal(lock.packages.length, registry.length + expected.nonRegistry.git!.count, 'nothing else');
  // The git entry resolves to a codeload tarball: only its descriptor says git.
  assert.match(git[0]!.resolved ?? '', /^https:\/\/codeload\.github\.com\//);
  assert.ok(lock.packages.every((p) => p.lockfileFlag === null));
  assert.ok(registry.every((p) => /^sha(1|512)-/.test(p.integrity ?? '')), 'registry entries carry integrity');
  assert.equal(new Set(lock.packages.map((p) => p.id)).size, lock.packages.length, 'unique ids');
  assert.ok(assertSpans(lock, text, 37) > 30);
  // A multi-descriptor key: the span covers the whole key, quotes and all.
  const codeFrame = lock.packages.find((p) => p.name === '@babel/code-frame' && p.version === '7.18.6')!;
  assert.equal(text.slice(codeFrame.span.start, codeFrame.span.end), '"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.16.7", "@babel/code-frame@^7.18.6"');
  // Aliases: `string-width-cjs@npm:string-width@^4.2.0` is string-width.
  const alias = byId(lock, 'string-width-cjs@npm:string-width@^4.2.0');
  assert.equal(alias.name, 'string-width');
  assertEdgesResolve(lock);
  assert.deepEqual(lock.importers, [{ dir: '.', edges: [] }], 'yarn.lock records no importers');
});

test('yarn classic (thelounge): linkYarnImporters resolves package.json, graph finds optional sqlite3', (t) => {
  const file = sharedFixture('lockfiles', 'thelounge', 'yarn.lock');
  if (!file) return t.skip(SHARED_MISSING);
  const { lock } = load(file);
  const root = manifest(sharedFixture('lockfiles', 'thelounge', 'package.json')!, '.');
  linkYarnImporters(lock, [root]);
  assert.deepEqual(lock.problems, [], 'every manifest dependency is locked');
  const edges = lock.importers.find((i) => i.dir === '.')!.edges;
  const wanted = root.dependencies.filter((d) => d.kind !== 'peerDependencies');
  assert.equal(edges.length, new Set(wanted.map((d) => d.name)).size);
  for (const dep of wanted) {
    const edge = edges.find((e) => byId(lock, e.to).id === `${dep.name}@${dep.spec}`);
    assert.ok(edge, `${dep.name}@${dep.spec} has an edge`);
    assert.equal(edge.kind, dep.kind === 'devDependencies' ? 'dev' : dep.kind === 'optionalDependencies' ? 'optional' : 'prod');
  }
  new LockGraph(lock);
  const sqlite = lock.packages.find((p) => p.name === 'sqlite3')!;
  assert.equal(sqlite.version, '6.0.1');
  assert.equal(sqlite.optional, true, 'sqlite3 is an optionalDependency');
  assert.equal(sqlite.direct, true);
  const devOnly = lock.packages.filter((p) => p.dev).length;
  assert.ok(devOnly > 100 && devOnly < lock.packages.length, `dev-only packages: ${devOnly}`);
});

test('yarn Berry (prettier): registry versions equal the truth, patch and workspace entries', (t) => {
  const file = sharedFixture('lockfiles', 'prettier', 'yarn.lock');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  assert.equal(lock.format, 'yarn-berry');
  assert.deepEqual(lock.problems, []);
  const expected = truth('prettier');
  const registry = lock.packages.filter((p) => p.source === 'registry');
  assertSameSet(registry.map((p) => `${p.name}@${p.version}`), expected.packages.map((p) => `${p.name}@${p.version}`), 'registry name@version');
  assert.equal(registry.length, sourcesColumn('prettier', 'entries'), 'registry entries (SOURCES.md)');
  const patches = lock.packages.filter((p) => p.source === 'patch');
  assertSameSet(patches.map((p) => `${p.name}@${p.resolved}`), expected.nonRegistry.patch!.items, 'patch entries');
  // The workspace is an importer, not a package.
  assert.deepEqual(expected.nonRegistry.workspace!.items, ['prettier@workspace:.']);
  assert.ok(!lock.packages.some((p) => p.name === 'prettier' && p.version === '0.0.0-use.local'));
  assert.deepEqual(lock.importers.map((i) => i.dir), ['.']);
  assert.equal(lock.packages.length, registry.length + patches.length);
  // Yarn's checksum is not an npm integrity; there is no install-script flag.
  assert.ok(lock.packages.every((p) => p.integrity === null && p.lockfileFlag === null));
  assert.ok(assertSpans(lock, text, 29) > 30);
  assertEdgesResolve(lock);
  // Each builtin compat patch is made from the plain registry entry it wraps.
  for (const patch of patches) {
    const plain = patch.edges.map((e) => byId(lock, e.to)).find((p) => p.name === patch.name);
    assert.ok(plain && plain.source === 'registry' && plain.version === patch.version, `${patch.id} -> its registry entry`);
  }
});

test('yarn Berry (prettier): manifests set dev/prod on the workspace edges; optional from dependenciesMeta', (t) => {
  const file = sharedFixture('lockfiles', 'prettier', 'yarn.lock');
  if (!file) return t.skip(SHARED_MISSING);
  const { lock } = load(file);
  const edges = lock.importers[0]!.edges;
  assert.ok(edges.length > 100);
  assert.ok(edges.every((e) => e.kind === 'prod' || e.kind === 'optional'), 'the lockfile alone cannot tell dev');
  const root = manifest(sharedFixture('lockfiles', 'prettier', 'package.json')!, '.');
  linkYarnImporters(lock, [root]);
  assert.deepEqual(lock.problems, []);
  const devNames = new Set(root.dependencies.filter((d) => d.kind === 'devDependencies').map((d) => d.name));
  const prodNames = new Set(root.dependencies.filter((d) => d.kind === 'dependencies').map((d) => d.name));
  for (const edge of edges) {
    const target = byId(lock, edge.to);
    const name = edge.to.slice(0, edge.to.indexOf('@', edge.to.startsWith('@') ? 1 : 0));
    if (prodNames.has(name)) assert.notEqual(edge.kind, 'dev', `${target.id}`);
    else if (devNames.has(name)) assert.equal(edge.kind, 'dev', `${target.id}`);
  }
  new LockGraph(lock);
  const typescriptPatch = lock.packages.find((p) => p.source === 'patch' && p.name === 'typescript')!;
  assert.equal(typescriptPatch.dev, devNames.has('typescript') && !prodNames.has('typescript'), 'the patch follows its package');
  assert.ok(lock.packages.some((p) => p.dev) && lock.packages.some((p) => !p.dev));
});

test('made yarn classic workspace: alias, git, dev/optional kinds, workspace link skipped', () => {
  const { text, lock } = load(made('classic-workspace', 'yarn.lock'));
  assert.deepEqual(lock.problems, []);
  assert.equal(assertSpans(lock, text, 1), lock.packages.length);
  const alias = byId(lock, 'camel@npm:lodash.camelcase@^4.3.0');
  assert.deepEqual([alias.name, alias.version, alias.source], ['lodash.camelcase', '4.3.0', 'registry']);
  const git = byId(lock, 'local-git-dep@git+file:///tmp/made/gitdep#main');
  assert.equal(git.source, 'git');
  assert.match(git.resolved!, /^git\+file:\/\/\/tmp\/made\/gitdep#[0-9a-f]{40}$/);
  assert.equal(git.integrity, null);
  assert.deepEqual(git.edges, [{ to: 'is-number@^7.0.0', kind: 'prod' }]);
  const manifests = ['.', 'packages/a', 'packages/b'].map((dir) => manifest(made('classic-workspace', dir, 'package.json'), dir));
  linkYarnImporters(lock, manifests);
  assert.deepEqual(lock.problems, [], 'b@1.0.0 is a workspace, not a missing entry');
  const edgesOf = (dir: string) => lock.importers.find((i) => i.dir === dir)!.edges.map((e) => `${e.kind}:${e.to}`).sort();
  assert.deepEqual(edgesOf('.'), [
    'dev:is-number@^7.0.0',
    'optional:fsevents@2.3.3',
    'prod:camel@npm:lodash.camelcase@^4.3.0',
    'prod:is-odd@^3.0.1',
    'prod:local-git-dep@git+file:///tmp/made/gitdep#main',
  ]);
  assert.deepEqual(edgesOf('packages/a'), ['prod:react@17.0.2', 'prod:use-sync-external-store@1.2.0']);
  new LockGraph(lock);
  assert.equal(byId(lock, 'fsevents@2.3.3').optional, true);
  // Dev at the root, but also needed by the (prod) git dependency: not dev.
  assert.equal(byId(lock, 'is-number@^7.0.0').dev, false);
  assert.equal(byId(lock, 'object-assign@^4.1.1').direct, false);

  // A dependency the lockfile does not lock is reported, not silently dropped.
  const stale = { dir: '.', name: 'x', dependencies: [{ name: 'left-pad', spec: '^1.3.0', kind: 'dependencies' as const }] };
  linkYarnImporters(lock, [stale]);
  // (deepEqual above narrowed lock.problems to never[]; read it afresh)
  const problems = (lock as Lockfile).problems.map((p) => p.message);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /"left-pad@\^1\.3\.0".*out of date/);
});

test('made yarn Berry workspace: workspace importers, patch, git, optional meta, manifests set dev', () => {
  const { text, lock } = load(made('berry-workspace', 'yarn.lock'));
  assert.deepEqual(lock.problems, []);
  assert.equal(assertSpans(lock, text, 1), lock.packages.length);
  assertEdgesResolve(lock);
  const edgesOf = (dir: string) => lock.importers.find((i) => i.dir === dir)!.edges.map((e) => `${e.kind}:${e.to}`).sort();
  assert.deepEqual(lock.importers.map((i) => i.dir).sort(), ['.', 'packages/a', 'packages/b']);
  const patch = byId(lock, 'fsevents@patch:fsevents@npm%3A2.3.3#optional!builtin<compat/fsevents>');
  assert.equal(patch.source, 'patch');
  assert.deepEqual(edgesOf('.'), [
    'optional:fsevents@npm:2.3.3',
    `optional:${patch.id}`,
    'prod:camel@npm:lodash.camelcase@^4.3.0',
    'prod:is-number@npm:^7.0.0',
    'prod:is-odd@npm:^3.0.1',
    'prod:local-git-dep@git+http://127.0.0.1:8765/gitdep.git#main',
  ]);
  // `b: workspace:*` points at another importer: no package edge.
  assert.deepEqual(edgesOf('packages/a'), ['prod:react@npm:17.0.2', 'prod:use-sync-external-store@npm:1.2.0']);
  const git = byId(lock, 'local-git-dep@git+http://127.0.0.1:8765/gitdep.git#main');
  assert.equal(git.source, 'git');
  assert.equal(git.resolved, 'git+http://127.0.0.1:8765/gitdep.git#commit=e759e1585b5aa9c11f51253d21787948e5c820b6');
  assert.equal(byId(lock, 'camel@npm:lodash.camelcase@^4.3.0').name, 'lodash.camelcase');

  const manifests = ['.', 'packages/a', 'packages/b'].map((dir) => manifest(made('berry-workspace', dir, 'package.json'), dir));
  linkYarnImporters(lock, manifests);
  assert.deepEqual(lock.problems, []);
  assert.ok(edgesOf('.').includes('dev:is-number@npm:^7.0.0'), 'devDependencies in package.json');
  assert.ok(edgesOf('.').includes('optional:fsevents@npm:2.3.3'));
  assert.equal(edgesOf('.').length, 6, 'no edge added twice');
  new LockGraph(lock);
  assert.equal(patch.optional, true);
  assert.equal(byId(lock, 'is-number@npm:^7.0.0').dev, false, 'the git dependency needs it in prod');
  assert.equal(byId(lock, 'node-gyp@npm:latest').optional, true, 'only fsevents needs node-gyp');
});

test('malformed yarn.lock files fail with the right line or become problems', () => {
  const lineOf = (text: string, offset: number) => new LineIndex(text).positionAt(offset).line;
  const expectError = (name: string, message: RegExp, expectedLine: (lines: string[]) => number) => {
    const file = malformed(name);
    const text = readFileSync(file, 'utf8');
    assert.throws(
      () => parseYarnLock(file, text),
      (error: unknown) => {
        assert.ok(error instanceof FileParseError, `${name}: ${String(error)}`);
        assert.match(error.message, message, name);
        assert.ok(error.span, `${name}: has a span`);
        const line = expectedLine(text.split('\n'));
        assert.equal(lineOf(text, error.span.start), line, `${name}: span line`);
        assert.match(error.message, new RegExp(`line ${line + 1}\\b`), `${name}: says the line`);
        return true;
      },
    );
  };
  const firstLine = (test: (l: string) => boolean) => (lines: string[]) => lines.findIndex(test);
  expectError('classic-conflict.lock', /merge conflict/, firstLine((l) => l.startsWith('<<<<<<<')));
  expectError('berry-conflict.lock', /merge conflict/, firstLine((l) => l.startsWith('<<<<<<<')));
  expectError('classic-truncated.lock', /not closed.*truncated/, (lines) => lines.length - 1);
  expectError('berry-truncated.lock', /not valid YAML.*truncated/, (lines) => lines.length - 1);
  expectError('classic-tabs.lock', /not a valid yarn lockfile v1/, firstLine((l) => l.startsWith('\t')));
  expectError('berry-tabs.lock', /not valid YAML/, firstLine((l) => l.startsWith('\t')));
  expectError('classic-odd-indent.lock', /odd number of spaces/, firstLine((l) => /^( {2})* \S/.test(l)));

  // One bad entry: a problem at its key, the rest is read.
  for (const [name, key, what] of [
    ['classic-entry-without-version.lock', 'object-assign@^4.1.1', /has no version/],
    ['berry-entry-without-resolution.lock', '"object-assign@npm:^4.1.1"', /has no resolution/],
  ] as const) {
    const { text, lock } = load(malformed(name));
    const problem = lock.problems.find((p) => what.test(p.message));
    assert.ok(problem?.span, `${name}: ${JSON.stringify(lock.problems)}`);
    assert.equal(text.slice(problem.span.start, problem.span.end), key);
    assert.ok(lock.packages.length > 10);
    assert.ok(!lock.packages.some((p) => p.name === 'object-assign'));
  }
});

test('yarn classic: a text that is not a lockfile fails instead of hanging', () => {
  for (const text of ['{"name": "x"}\n', 'foo "bar', '# yarn lockfile v1\n# comment without newline', '@scope/a@^1:\n  version "1"\n']) {
    const started = Date.now();
    try {
      const lock = parseYarnLock('/p/yarn.lock', text);
      assert.equal(lock.packages.length, 0, JSON.stringify(text));
    } catch (error) {
      assert.ok(error instanceof FileParseError, String(error));
    }
    assert.ok(Date.now() - started < 1000);
  }
});

test('CRLF line endings: same entries, spans still on the keys', () => {
  for (const name of ['classic-workspace', 'berry-workspace']) {
    const lf = readFileSync(made(name, 'yarn.lock'), 'utf8');
    const crlf = lf.replace(/\n/g, '\r\n');
    const a = parseYarnLock('/p/yarn.lock', lf);
    const b = parseYarnLock('/p/yarn.lock', crlf);
    assert.deepEqual(b.problems, []);
    assert.deepEqual(b.packages.map((p) => [p.id, p.version, p.edges]), a.packages.map((p) => [p.id, p.version, p.edges]));
    for (const pkg of b.packages) {
      assert.equal(crlf.slice(pkg.span.start, pkg.span.end), lf.slice(a.packages.find((p) => p.id === pkg.id)!.span.start, a.packages.find((p) => p.id === pkg.id)!.span.end));
      assert.match(crlf.slice(pkg.span.end, pkg.span.end + 3), /^:\r\n/);
    }
  }
});

/**
 * The fast reader (yarnClassicSyntax.ts) must read every file it accepts exactly as Yarn 1's
 * parser does, accept the files Yarn writes, and leave everything unusual to Yarn's parser.
 */
test('yarn classic: the fast reader agrees with @yarnpkg/lockfile, and steps aside for the unusual', (t) => {
  const yarn = (text: string): unknown => parseClassicWithYarn(text.endsWith('\n') ? text : `${text}\n`, 'yarn.lock').object;
  const written: [string, string][] = [
    ['made classic-workspace', readFileSync(made('classic-workspace', 'yarn.lock'), 'utf8')],
    ['projects/yarn-classic', readFileSync('test/fixtures/projects/yarn-classic/yarn.lock', 'utf8')],
    ['generated 1k (npm run bench)', yarnLockText(generateProject(1000))],
    ['malformed classic-entry-without-version', readFileSync(malformed('classic-entry-without-version.lock'), 'utf8')],
  ];
  const thelounge = sharedFixture('lockfiles', 'thelounge', 'yarn.lock');
  if (thelounge) written.push(['thelounge', readFileSync(thelounge, 'utf8')]);
  else t.diagnostic(SHARED_MISSING);
  for (const [name, text] of written) {
    const fast = readAsYarnWrites(text);
    assert.ok(fast?.spans, `${name}: Yarn wrote it, so the fast reader reads it`);
    assert.deepStrictEqual(fast.object, yarn(text), name);
    // Every top-level key line is an entry's span, as the line scan finds them.
    for (const [object, span] of fast.spans ?? []) {
      const keyLine = text.slice(span.start, text.indexOf('\n', span.start));
      assert.equal(keyLine, `${text.slice(span.start, span.end)}:`, name);
      assert.ok(Object.values(fast.object as Record<string, unknown>).includes(object), name);
    }
  }

  // Forms Yarn writes that a small file may not show: scalars of every kind, several keys.
  const scalars = '# yarn lockfile v1\n\n\n"@s/a@^1", a-b@~2:\n  version "1.0.0"\n  flag true\n  other false\n  count 12\n  url /x/y\n  dependencies:\n    "@s/c" "^1 || ^2"\n    d ">= 1.0.0 < 2"\n\nd@>=1:\n  version "1.5.0"\n';
  const read = readAsYarnWrites(scalars);
  assert.ok(read);
  assert.deepStrictEqual(read.object, yarn(scalars));
  assert.equal(Object.keys(read.object).length, 3);

  // Unusual texts: the fast reader declines, and the file still reads as Yarn reads it.
  const unusual: [string, string][] = [
    ['escaped quote', 'a@^1:\n  version "1\\"0"\n'],
    ['CRLF', 'a@^1:\r\n  version "1.0.0"\r\n'],
    ['tab', 'a@^1:\n\tversion "1.0.0"\n'],
    ['blank line inside an entry', 'a@^1:\n  version "1.0.0"\n\n  resolved "x"\n'],
    ['indented comment', 'a@^1:\n  # note\n  version "1.0.0"\n'],
    ['too deep', 'a@^1:\n    version "1.0.0"\n'],
    ['word after a number', 'a@^1:\n  version 1.0.0\n'],
    ['word after true', 'a@^1:\n  flag trueish\n'],
    ['colon and value', 'a@^1:\n  version: "1.0.0"\n'],
    ['two spaces before the value', 'a@^1:\n  version  "1.0.0"\n'],
    ['later lockfile version', '# yarn lockfile v2\na@^1:\n  version "1.0.0"\n'],
    ['byte order mark', '\ufeffa@^1:\n  version "1.0.0"\n'],
  ];
  assertDeclinedAndReadAlike(unusual, {
    fast: readAsYarnWrites,
    ours: (text) => readClassicLockfile('/p/yarn.lock', text, 'yarn.lock').object,
    theirs: yarn,
    oursMayRefuse: true,
  });
});
