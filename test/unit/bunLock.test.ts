import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseJsonc } from 'jsonc-parser';
import { FileParseError } from '../../server/src/model/inventory';
import { parseBunLock } from '../../server/src/parse/bunLock';
import { LockGraph } from '../../server/src/parse/graph';
import { SHARED_MISSING, sharedFixture } from '../support/sharedFixtures';
import { byId, edgeList, sourcesColumn, fixturePaths, loader } from '../support/lockfileTestKit';

const { made, malformed } = fixturePaths('bun');
const load = loader(parseBunLock);


test('hono (bun.lock): registry versions equal the truth, entry count, spans, no flag', (t) => {
  const file = sharedFixture('lockfiles', 'hono', 'bun.lock');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  assert.equal(lock.format, 'bun');
  assert.deepEqual(lock.problems, []);
  const truth = JSON.parse(readFileSync(sharedFixture('lockfiles', 'truth', 'hono.json')!, 'utf8')) as {
    packages: { name: string; version: string }[];
  };
  const ours = new Set(lock.packages.filter((p) => p.source === 'registry').map((p) => `${p.name}@${p.version}`));
  const expected = new Set(truth.packages.map((p) => `${p.name}@${p.version}`));
  assert.deepEqual(
    { missing: [...expected].filter((k) => !ours.has(k)), extra: [...ours].filter((k) => !expected.has(k)) },
    { missing: [], extra: [] },
  );
  assert.equal(lock.packages.length, sourcesColumn('hono', 'entries'));
  assert.equal(ours.size, sourcesColumn('hono', 'registry pkgs'));
  for (const pkg of lock.packages) {
    assert.equal(text.slice(pkg.span.start, pkg.span.end), JSON.stringify(pkg.id));
    assert.equal(pkg.lockfileFlag, null);
    assert.ok(pkg.integrity?.startsWith('sha512-'), pkg.id);
  }
  assert.deepEqual(lock.importers.map((i) => i.dir), ['.']);
});

test('hono: every edge resolves, nested copies are used from their subtree, all is reachable', (t) => {
  const file = sharedFixture('lockfiles', 'hono', 'bun.lock');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  const ids = new Set(lock.packages.map((p) => p.id));
  for (const from of [...lock.packages, ...lock.importers]) {
    for (const edge of from.edges) assert.ok(ids.has(edge.to), `edge to missing ${edge.to}`);
  }
  // Each declared dependency resolves Bun's way: the longest "<prefix>/<dep>" key wins.
  const raw = parseJsonc(text, [], { allowTrailingComma: true }).packages as Record<string, unknown[]>;
  let checked = 0;
  for (const pkg of lock.packages) {
    const info = raw[pkg.id]![2] as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(info.dependencies ?? {})) {
      const segments = pkg.id.match(/(@[^/]+\/)?[^/]+/g)!;
      const candidates = segments.map((_, i) => `${segments.slice(0, segments.length - i).join('/')}/${dep}`);
      const expected = [...candidates, dep].find((k) => ids.has(k));
      if (!expected) continue;
      assert.ok(pkg.edges.some((e) => e.to === expected && e.kind === 'prod'), `${pkg.id} -> ${dep} should be ${expected}`);
      checked++;
    }
  }
  assert.ok(checked > 1000, `checked ${checked} edges`);
  const nested = lock.packages.filter((p) => p.id.includes('/') && !/^@[^/]+\/[^/]+$/.test(p.id));
  assert.ok(nested.length > 100);
  // hono only has devDependencies: through the edges every locked package is dev.
  new LockGraph(lock);
  assert.deepEqual(lock.packages.filter((p) => !p.dev).map((p) => p.id), []);
});

test('made by bun 1.4.5: workspaces, workspace-scoped and nested copies, alias, file', () => {
  const { text, lock } = load(made('workspaces', 'bun.lock'));
  assert.deepEqual(lock.problems, []);
  assert.deepEqual(lock.importers.map((i) => i.dir), ['.', 'packages/app', 'packages/lib']);
  const importer = (dir: string) => edgeList(lock.importers.find((i) => i.dir === dir)!.edges);
  assert.deepEqual(importer('.'), [
    'dev:is-number',
    'optional:is-even',
    'prod:debug',
    'prod:local-lib',
    'prod:ms',
    'prod:my-ms',
  ]);
  // app wants ms 2.0.0: Bun keys that copy under the workspace's name.
  assert.deepEqual(importer('packages/app'), ['dev:is-odd', 'prod:app/ms', 'prod:lib']);
  assert.equal(byId(lock, 'app/ms').version, '2.0.0');
  assert.equal(byId(lock, 'ms').version, '2.1.3');
  // lib's optional peer debug installs nothing.
  assert.deepEqual(importer('packages/lib'), ['prod:is-odd']);

  const lib = byId(lock, 'lib');
  assert.deepEqual([lib.source, lib.version, lib.resolved], ['workspace', '2.0.0', 'workspace:packages/lib']);
  assert.deepEqual(edgeList(lib.edges), ['prod:is-odd']);
  assert.deepEqual(edgeList(byId(lock, 'debug').edges), ['prod:debug/ms']);
  assert.deepEqual(edgeList(byId(lock, 'is-even/is-odd').edges), ['prod:is-even/is-odd/is-number']);
  assert.deepEqual(edgeList(byId(lock, 'is-odd').edges), ['prod:is-odd/is-number']);
  const alias = byId(lock, 'my-ms');
  assert.deepEqual([alias.name, alias.version, alias.source, alias.resolved], ['ms', '2.1.2', 'registry', null]);
  const local = byId(lock, 'local-lib');
  assert.deepEqual([local.source, local.resolved], ['file', 'file:vendor/local-lib']);
  assert.deepEqual(edgeList(local.edges), ['prod:ms']);
  for (const pkg of lock.packages) assert.equal(text.slice(pkg.span.start, pkg.span.end), JSON.stringify(pkg.id));

  new LockGraph(lock);
  const flags = (id: string) => [byId(lock, id).dev, byId(lock, id).optional];
  assert.deepEqual(flags('is-number'), [true, false]);
  assert.deepEqual(flags('is-even/is-odd/is-number'), [false, true]);
  assert.deepEqual(flags('is-odd'), [false, false]);
});

test('hand-made sources: git, GitHub, tarballs, link, custom registry, scoped nesting, comments', () => {
  const { text, lock } = load(made('sources-hand', 'bun.lock'));
  assert.deepEqual(lock.problems, []);
  const pick = (id: string) => {
    const p = byId(lock, id);
    return [p.name, p.source, p.resolved, p.integrity?.slice(0, 8) ?? null];
  };
  assert.deepEqual(pick('gitdep'), ['gitdep', 'git', 'git+https://github.com/octo/gitdep.git#0123abc', 'sha512-G']);
  assert.deepEqual(pick('ghdep'), ['ghdep', 'git', 'github:octo/ghdep#4567def', null]);
  assert.deepEqual(pick('remote'), ['remote', 'tarball', 'https://example.com/downloads/remote-1.0.0.tgz', 'sha512-I']);
  assert.deepEqual(pick('local-tgz'), ['local-tgz', 'file', './vendor/local-tgz-1.0.0.tgz', 'sha512-H']);
  assert.deepEqual(pick('linked'), ['linked', 'link', 'link:linked', null]);
  // A custom registry's tarball URL is still a registry version.
  assert.deepEqual(pick('custom'), ['custom', 'registry', 'https://npm.example.com/custom/-/custom-1.0.0.tgz', 'sha512-F']);
  assert.equal(byId(lock, 'custom').version, '1.0.0');
  // Scoped nesting: @scope/pkg uses its own @scope/inner 2.x, which uses its own ms 2.0.0.
  assert.deepEqual(edgeList(byId(lock, '@scope/pkg').edges), ['prod:@scope/pkg/@scope/inner', 'prod:ms']);
  assert.deepEqual(edgeList(byId(lock, '@scope/pkg/@scope/inner').edges), ['prod:@scope/pkg/@scope/inner/ms']);
  assert.equal(byId(lock, '@scope/pkg/@scope/inner/ms').name, 'ms');
  // gitdep's optional dependency for another platform is not locked: no edge, no problem.
  assert.deepEqual(byId(lock, 'gitdep').edges, []);
  assert.deepEqual(edgeList(byId(lock, 'ghdep').edges), ['prod:ms']);
  for (const pkg of lock.packages) assert.equal(text.slice(pkg.span.start, pkg.span.end), JSON.stringify(pkg.id));
});

test('a dependency key nested in the previous entry does not steal the package key span', () => {
  // "os" first appears inside "a" (an array value, like the key's), "b" as a dependency
  // of "a": neither may be taken for the package key.
  const text = `{
  "lockfileVersion": 1,
  "workspaces": { "": { "dependencies": { "a": "1", }, }, },
  "packages": {
    "a": ["a@1.0.0", "", { "dependencies": { "b": "1" }, "os": ["darwin"] }, "sha512-a"],
    "os": ["os@0.1.2", "", {}, "sha512-c"],
    "b": ["b@1.0.0", "", {}, "sha512-b"],
  },
}`;
  const lock = parseBunLock('/p/bun.lock', text);
  for (const id of ['a', 'b', 'os']) {
    const span = byId(lock, id).span;
    assert.equal(text.slice(span.start, span.end), JSON.stringify(id));
    assert.ok(text.startsWith(`: ["${id}@`, span.end), `span of ${id} is not the package key`);
  }
  assert.deepEqual(edgeList(byId(lock, 'a').edges), ['prod:b']);
});

function parseError(file: string): FileParseError {
  const text = readFileSync(file, 'utf8');
  try {
    parseBunLock(file, text);
  } catch (error) {
    assert.ok(error instanceof FileParseError, String(error));
    assert.equal(error.file, file);
    return error;
  }
  assert.fail(`${file} parsed`);
}

test('malformed: half-typed bun.lock names the line and the token', () => {
  const file = malformed('half-typed.bun.lock');
  const error = parseError(file);
  assert.equal(error.message, 'half-typed.bun.lock is not valid JSON at line 13, column 70: CommaExpected');
  assert.equal(readFileSync(file, 'utf8').slice(error.span!.start, error.span!.end), '"sha512-x"');
});

test('malformed: a truncated bun.lock is called truncated', () => {
  const error = parseError(malformed('truncated.bun.lock'));
  assert.match(error.message, /truncated\.bun\.lock ends too early at line 28, column 9 .*truncated/);
});

test('malformed: conflict markers in bun.lock', () => {
  const file = malformed('conflict.bun.lock');
  const error = parseError(file);
  assert.equal(error.message, 'merge conflict markers at line 12 — resolve the conflict');
  assert.equal(readFileSync(file, 'utf8').slice(error.span!.start, error.span!.end), '<<<<<<< ours');
});

test('malformed: unknown lockfileVersion in bun.lock', () => {
  const file = malformed('version-99.bun.lock');
  const error = parseError(file);
  assert.match(error.message, /lockfileVersion 99, which Install Guard does not know \(it reads 0 to 3\)/);
  assert.equal(readFileSync(file, 'utf8').slice(error.span!.start, error.span!.end), '99');
});

test('malformed: bad bun.lock entries become problems, the rest resolves', () => {
  const file = malformed('bad-entries.bun.lock');
  const { text, lock } = load(file);
  assert.deepEqual(lock.packages.map((p) => p.id), ['debug', 'ms']);
  assert.deepEqual(
    lock.problems.map((p) => [text.slice(p.span!.start, p.span!.end), p.message]),
    [
      ['"noname"', '"packages" entry "noname" has no "name@resolution" ("1.0.0"); it is left out'],
      ['"debug/ms"', '"packages" entry "debug/ms" is a string, not ["name@resolution", ...]; it is left out'],
    ],
  );
  // With its nested copy unreadable, debug's ms falls back to the top-level one.
  assert.deepEqual(edgeList(byId(lock, 'debug').edges), ['prod:ms']);
});

test('not a bun.lock: missing version, missing workspaces, packages not an object', () => {
  const attempt = (text: string, message: RegExp) =>
    assert.throws(() => parseBunLock('/p/bun.lock', text), (e: unknown) => e instanceof FileParseError && message.test(e.message));
  attempt('{ "workspaces": {} }', /has no lockfileVersion/);
  attempt('{ "lockfileVersion": 1, }', /has no "workspaces" object/);
  attempt('{ "lockfileVersion": 1, "workspaces": { "": {} }, "packages": [] }', /"packages" is not an object/);
  attempt('[1, 2]', /expected an object at the top level/);
  // Empty project: no packages at all is fine.
  const empty = parseBunLock('/p/bun.lock', '{ "lockfileVersion": 1, "workspaces": { "": { "name": "x" } } }');
  assert.deepEqual([empty.packages, empty.importers], [[], [{ dir: '.', edges: [] }]]);
});
