import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FileParseError, type Lockfile } from '../../server/src/model/inventory';
import { parseNpmLock } from '../../server/src/parse/npmLock';
import { LockGraph } from '../../server/src/parse/graph';
import { classifyResolved, isRegistryTarballUrl, parseRegistryTarballUrl } from '../../server/src/parse/sourceKind';
import { SHARED_MISSING, sharedFixture } from '../support/sharedFixtures';
import { byId, edgeList, sourcesColumn, assertSameSet, fixturePaths, loader } from '../support/lockfileTestKit';

const { made, malformed } = fixturePaths('npm');
const load = loader(parseNpmLock);


/** Edge targets of a package or importer, as "kind:id", sorted. */
/** A column of lockfiles/SOURCES.md for one project row, by header name. */
function checkAgainstTruth(project: string, lock: Lockfile, text: string): void {
  const truth = JSON.parse(readFileSync(sharedFixture('lockfiles', 'truth', `${project}.json`)!, 'utf8')) as {
    packages: { name: string; version: string; lockfileFlag: boolean | null }[];
  };
  const registry = lock.packages.filter((p) => p.source === 'registry');
  assertSameSet(
    new Set(registry.map((p) => `${p.name}@${p.version}`)),
    new Set(truth.packages.map((p) => `${p.name}@${p.version}`)),
    `${project} registry name@version`,
  );
  assert.equal(lock.packages.length, sourcesColumn(project, 'entries'), 'entries column of SOURCES.md');
  assert.equal(new Set(registry.map((p) => `${p.name}@${p.version}`)).size, sourcesColumn(project, 'registry pkgs'));
  assert.deepEqual(lock.problems, []);
  // Every span is the quoted key as written, and ids are unique.
  assert.equal(new Set(lock.packages.map((p) => p.id)).size, lock.packages.length);
  for (const pkg of lock.packages) {
    const key = lock.format === 'package-lock-v1' ? pkg.id.slice(pkg.id.lastIndexOf('node_modules/') + 13) : pkg.id;
    assert.equal(text.slice(pkg.span.start, pkg.span.end), JSON.stringify(key), pkg.id);
  }
  const ids = new Set(lock.packages.map((p) => p.id));
  for (const from of [...lock.packages, ...lock.importers]) {
    for (const edge of from.edges) assert.ok(ids.has(edge.to), `edge to missing ${edge.to}`);
  }
}

/** npm's own dev/optional flags, read straight from the file, by install path. */
function npmFlags(text: string): Map<string, { dev: boolean; optional: boolean }> {
  const json = JSON.parse(text);
  const flags = new Map<string, { dev: boolean; optional: boolean }>();
  if (json.packages) {
    for (const [key, entry] of Object.entries<any>(json.packages)) {
      if (key) flags.set(key, { dev: entry.dev === true, optional: entry.optional === true });
    }
    return flags;
  }
  const walk = (deps: Record<string, any>, parent: string) => {
    for (const [name, entry] of Object.entries(deps)) {
      const path = parent ? `${parent}/node_modules/${name}` : `node_modules/${name}`;
      flags.set(path, { dev: entry.dev === true, optional: entry.optional === true });
      if (entry.dependencies) walk(entry.dependencies, path);
    }
  };
  walk(json.dependencies, '');
  return flags;
}

/** The edges must rebuild exactly the dev/optional flags npm computed (graph.ts's contract). */
function assertGraphMatchesNpmFlags(lock: Lockfile, text: string): void {
  new LockGraph(lock);
  const flags = npmFlags(text);
  const wrong = lock.packages
    .filter((p) => p.source !== 'link')
    .filter((p) => {
      const f = flags.get(p.id)!;
      return f.dev !== p.dev || f.optional !== p.optional;
    })
    .map((p) => `${p.id} ours dev=${p.dev} optional=${p.optional}, npm ${JSON.stringify(flags.get(p.id))}`);
  assert.deepEqual(wrong, []);
}

test('uptime-kuma (package-lock v3): registry versions, entry count, hasInstallScript, spans', (t) => {
  const file = sharedFixture('lockfiles', 'uptime-kuma', 'package-lock.json');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  assert.equal(lock.format, 'package-lock-v3');
  checkAgainstTruth('uptime-kuma', lock, text);

  const truth = JSON.parse(readFileSync(sharedFixture('lockfiles', 'truth', 'uptime-kuma.json')!, 'utf8'));
  const flagOf = new Map<string, boolean>();
  for (const pkg of lock.packages) {
    const key = `${pkg.name}@${pkg.version}`;
    // Nested copies of one version must agree with each other.
    if (flagOf.has(key)) assert.equal(pkg.lockfileFlag, flagOf.get(key), key);
    flagOf.set(key, pkg.lockfileFlag as boolean);
  }
  for (const entry of truth.packages) {
    assert.equal(flagOf.get(`${entry.name}@${entry.version}`), entry.lockfileFlag, `${entry.name}@${entry.version}`);
  }
  // An alias: the key says string-width-cjs, the package is string-width.
  const alias = byId(lock, 'node_modules/string-width-cjs');
  assert.equal(alias.name, 'string-width');
  assert.equal(alias.installPath, 'node_modules/string-width-cjs');
  assert.deepEqual(lock.importers.map((i) => i.dir), ['.']);
  const rootJson = JSON.parse(text).packages[''];
  assert.equal(
    lock.importers[0]!.edges.filter((e) => e.kind === 'dev').length,
    Object.keys(rootJson.devDependencies).length,
  );
});

test('uptime-kuma: edges rebuild npm\'s own dev/optional flags exactly', (t) => {
  const file = sharedFixture('lockfiles', 'uptime-kuma', 'package-lock.json');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  assertGraphMatchesNpmFlags(lock, text);
  // A nested copy wins over the hoisted one: cheerio needs undici 6, the root has 5.
  const cheerio = byId(lock, 'node_modules/cheerio');
  assert.ok(cheerio.edges.some((e) => e.to === 'node_modules/cheerio/node_modules/undici' && e.kind === 'prod'));
  assert.equal(byId(lock, 'node_modules/undici').version.split('.')[0], '5');
});

test('uptime-kuma: parsing costs a small multiple of JSON.parse', (t) => {
  const file = sharedFixture('lockfiles', 'uptime-kuma', 'package-lock.json');
  if (!file) return t.skip(SHARED_MISSING);
  const text = readFileSync(file, 'utf8');
  const best = (fn: () => void) => {
    for (let i = 0; i < 3; i++) fn();
    let min = Infinity;
    for (let i = 0; i < 9; i++) {
      const start = process.hrtime.bigint();
      fn();
      min = Math.min(min, Number(process.hrtime.bigint() - start) / 1e6);
    }
    return min;
  };
  const bare = best(() => JSON.parse(text));
  const ours = best(() => parseNpmLock(file, text));
  t.diagnostic(`JSON.parse ${bare.toFixed(2)} ms, parseNpmLock ${ours.toFixed(2)} ms, ratio ${(ours / bare).toFixed(1)}`);
  // ~4x measured on an idle machine; the bound leaves room for a busy CI runner.
  assert.ok(ours / bare < 12, `ratio ${(ours / bare).toFixed(1)}`);
});

test('hackathon-starter (package-lock v1): registry versions, entry count, nested spans, no flag', (t) => {
  const file = sharedFixture('lockfiles', 'hackathon-starter', 'package-lock.json');
  if (!file) return t.skip(SHARED_MISSING);
  const { text, lock } = load(file);
  assert.equal(lock.format, 'package-lock-v1');
  checkAgainstTruth('hackathon-starter', lock, text);
  assert.ok(lock.packages.every((p) => p.lockfileFlag === null));
  // A nested key's span lies inside its parent's entry, after the parent's key.
  const nested = lock.packages.filter((p) => p.id.split('node_modules/').length > 2);
  assert.ok(nested.length > 0);
  for (const pkg of nested) {
    const parentId = pkg.id.slice(0, pkg.id.lastIndexOf('/node_modules/'));
    assert.ok(pkg.span.start > byId(lock, parentId).span.start, pkg.id);
  }
  assertGraphMatchesNpmFlags(lock, text);
});

test('made v3 workspaces: importers, links to workspaces, nested copies, alias, file tarball', () => {
  const { text, lock } = load(made('workspaces-v3', 'package-lock.json'));
  assert.equal(lock.format, 'package-lock-v3');
  assert.deepEqual(lock.importers.map((i) => i.dir), ['.', 'packages/a', 'packages/b', 'vendor/local-lib']);
  const importer = (dir: string) => lock.importers.find((i) => i.dir === dir)!;
  assert.deepEqual(edgeList(importer('.').edges), [
    'dev:node_modules/is-number',
    'optional:node_modules/is-even',
    'prod:node_modules/debug',
    'prod:node_modules/local-lib',
    'prod:node_modules/ms',
    'prod:node_modules/my-ms',
    'prod:node_modules/tiny',
  ]);
  // ws-a wants ms@2.0.0, installed beside it; the root's ms is 2.1.3.
  assert.deepEqual(edgeList(importer('packages/a').edges), [
    'dev:node_modules/is-odd',
    'prod:node_modules/ws-b',
    'prod:packages/a/node_modules/ms',
  ]);
  assert.equal(byId(lock, 'packages/a/node_modules/ms').version, '2.0.0');
  assert.equal(byId(lock, 'node_modules/ms').version, '2.1.3');
  // ws-b's optional peer on debug installs nothing and so is no edge.
  assert.deepEqual(edgeList(importer('packages/b').edges), ['prod:node_modules/is-odd']);

  const link = byId(lock, 'node_modules/ws-a');
  assert.equal(link.source, 'link');
  assert.equal(link.resolved, 'packages/a');
  assert.equal(link.version, '1.0.0');
  assert.equal(link.integrity, null);
  assert.deepEqual(edgeList(link.edges), ['prod:node_modules/ws-b', 'prod:packages/a/node_modules/ms']);
  const fileLink = byId(lock, 'node_modules/local-lib');
  assert.deepEqual([fileLink.source, fileLink.resolved, fileLink.version], ['link', 'vendor/local-lib', '0.1.0']);

  const alias = byId(lock, 'node_modules/my-ms');
  assert.deepEqual([alias.name, alias.version, alias.source], ['ms', '2.1.2', 'registry']);
  const tiny = byId(lock, 'node_modules/tiny');
  assert.deepEqual([tiny.source, tiny.resolved], ['file', 'file:vendor/tiny-1.0.0.tgz']);
  // npm 11 left out "resolved" for registry packages: still the registry.
  const debug = byId(lock, 'node_modules/debug');
  assert.deepEqual([debug.source, debug.resolved, debug.lockfileFlag], ['registry', null, false]);
  assert.deepEqual(edgeList(debug.edges), ['prod:node_modules/debug/node_modules/ms']);
  for (const pkg of lock.packages) assert.equal(text.slice(pkg.span.start, pkg.span.end), JSON.stringify(pkg.id));
  assertGraphMatchesNpmFlags(lock, text);
});

test('made v2 reads "packages" and ignores the v1 "dependencies" half', () => {
  const { lock: v2, text: v2Text } = load(made('workspaces-v2', 'package-lock.json'));
  const v3 = load(made('workspaces-v3', 'package-lock.json')).lock;
  assert.equal(v2.format, 'package-lock-v2');
  const shape = (lock: Lockfile) => ({
    importers: lock.importers,
    packages: lock.packages.map(({ span: _span, ...rest }) => rest),
  });
  assert.deepEqual(shape(v2), shape(v3));
  // Spans point into "packages", which comes before "dependencies" in a v2 file.
  const dependenciesAt = v2Text.indexOf('\n  "dependencies"');
  assert.ok(v2.packages.every((p) => p.span.end < dependenciesAt));
});

test('npm-shrinkwrap.json parses like a package-lock', () => {
  const { text, lock } = load(made('shrinkwrap', 'npm-shrinkwrap.json'));
  assert.equal(lock.format, 'package-lock-v3');
  const sw = byId(lock, 'node_modules/sw');
  assert.deepEqual([sw.name, sw.version], ['string-width', '4.2.3']);
  assert.deepEqual(edgeList(lock.importers[0]!.edges), ['prod:node_modules/debug', 'prod:node_modules/sw']);
  assert.equal(text.slice(sw.span.start, sw.span.end), '"node_modules/sw"');
});

test('hand-made v1: aliases, git, file, tarball, Artifactory, bundled, dev+optional', () => {
  const { text, lock } = load(made('v1-hand', 'package-lock.json'));
  const pick = (id: string) => {
    const p = byId(lock, id);
    return [p.name, p.version, p.source, p.resolved];
  };
  assert.deepEqual(pick('node_modules/string-width-cjs'), [
    'string-width',
    '4.2.3',
    'registry',
    'https://registry.npmjs.org/string-width/-/string-width-4.2.3.tgz',
  ]);
  assert.deepEqual(pick('node_modules/artifactory-ms').slice(0, 3), ['ms', '2.1.2', 'registry']);
  const gh = 'github:octo/my-git-dep#89abcdef0123456789abcdef0123456789abcdef';
  assert.deepEqual(pick('node_modules/my-git-dep'), ['my-git-dep', gh, 'git', gh]);
  assert.equal(byId(lock, 'node_modules/git-https').source, 'git');
  assert.deepEqual(pick('node_modules/local-lib'), ['local-lib', 'file:vendor/local-lib', 'file', 'file:vendor/local-lib']);
  assert.equal(byId(lock, 'node_modules/remote-tgz').source, 'tarball');
  // A bundled dependency has no resolved of its own; it ships in its parent's tarball.
  assert.deepEqual(pick('node_modules/bundler/node_modules/inner'), ['inner', '1.0.0', 'registry', null]);
  assert.deepEqual(edgeList(byId(lock, 'node_modules/bundler').edges), ['prod:node_modules/bundler/node_modules/inner']);
  // requires resolve to the nearest copy: debug gets its own ms 2.0.0, git dep the root 2.1.3.
  assert.deepEqual(edgeList(byId(lock, 'node_modules/debug').edges), ['prod:node_modules/debug/node_modules/ms']);
  assert.deepEqual(edgeList(byId(lock, 'node_modules/my-git-dep').edges), ['prod:node_modules/ms']);
  // Optional-only targets get optional edges.
  assert.deepEqual(edgeList(byId(lock, 'node_modules/is-even/node_modules/is-odd').edges), [
    'optional:node_modules/is-even/node_modules/is-odd/node_modules/is-number',
  ]);
  // fsevents (dev and optional) is reached through chokidar, not from the root.
  const root = edgeList(lock.importers[0]!.edges);
  assert.ok(!root.some((e) => e.endsWith('node_modules/fsevents')));
  assert.ok(root.includes('dev:node_modules/chokidar') && root.includes('optional:node_modules/is-even'));
  assertGraphMatchesNpmFlags(lock, text);
  const deep = byId(lock, 'node_modules/is-even/node_modules/is-odd/node_modules/is-number');
  assert.equal(text.slice(deep.span.start, deep.span.end), '"is-number"');
  assert.ok(deep.span.start > byId(lock, 'node_modules/is-even/node_modules/is-odd').span.start);
});

test('npm lookup walks up from the requiring package to the nearest node_modules copy', () => {
  const entry = (version: string, dependencies?: Record<string, string>) => ({ version, ...(dependencies && { dependencies }) });
  const json = {
    lockfileVersion: 3,
    packages: {
      '': { dependencies: { a: '1', c: '1', b: '3' } },
      'node_modules/a': entry('1.0.0', { b: '1' }),
      'node_modules/a/node_modules/b': entry('1.0.0'),
      'node_modules/a/node_modules/x': entry('1.0.0', { b: '*', y: '*' }),
      'node_modules/a/node_modules/x/node_modules/y': entry('1.0.0'),
      'node_modules/b': entry('3.0.0'),
      'node_modules/c': entry('1.0.0', { b: '3', x: '*' }),
      'node_modules/@s/d': entry('1.0.0', { b: '2' }),
      'node_modules/@s/d/node_modules/b': entry('2.0.0'),
    },
  };
  const lock = parseNpmLock('/p/package-lock.json', JSON.stringify(json, null, 2));
  const edges = (id: string) => edgeList(byId(lock, id).edges);
  assert.deepEqual(edges('node_modules/a'), ['prod:node_modules/a/node_modules/b']);
  assert.deepEqual(edges('node_modules/a/node_modules/x'), [
    'prod:node_modules/a/node_modules/b',
    'prod:node_modules/a/node_modules/x/node_modules/y',
  ]);
  // c cannot see a's private x: unresolvable, so no edge.
  assert.deepEqual(edges('node_modules/c'), ['prod:node_modules/b']);
  assert.deepEqual(edges('node_modules/@s/d'), ['prod:node_modules/@s/d/node_modules/b']);
  assert.equal(byId(lock, 'node_modules/@s/d').name, '@s/d');
});

test('v3 entries: inBundle stays registry, links need a target, peers and optional peers', () => {
  const json = {
    lockfileVersion: 3,
    packages: {
      '': { dependencies: { p: '1' } },
      'node_modules/p': {
        version: '1.0.0',
        resolved: 'https://registry.npmjs.org/p/-/p-1.0.0.tgz',
        hasInstallScript: true,
        dependencies: { q: '1' },
        peerDependencies: { r: '1', s: '1' },
        peerDependenciesMeta: { s: { optional: true } },
        optionalDependencies: { t: '1' },
      },
      'node_modules/p/node_modules/q': { version: '1.0.0', inBundle: true },
      'node_modules/r': { version: '1.0.0', peer: true },
      'node_modules/s': { version: '1.0.0' },
      'node_modules/broken-link': { link: true },
    },
  };
  const text = JSON.stringify(json);
  const lock = parseNpmLock('/p/package-lock.json', text);
  const p = byId(lock, 'node_modules/p');
  assert.equal(p.lockfileFlag, true);
  assert.deepEqual(edgeList(p.edges), ['peer:node_modules/r', 'prod:node_modules/p/node_modules/q']);
  const q = byId(lock, 'node_modules/p/node_modules/q');
  assert.deepEqual([q.source, q.resolved, q.lockfileFlag], ['registry', null, false]);
  assert.equal(lock.problems.length, 1);
  assert.match(lock.problems[0]!.message, /"node_modules\/broken-link" is a link without "resolved"/);
  assert.equal(text.slice(lock.problems[0]!.span!.start, lock.problems[0]!.span!.end), '"node_modules/broken-link"');
});

test('keys written with escapes still get their exact span (token-scan fallback)', () => {
  const text = '{"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "1"}},\n' +
    '  "node_modules/\\u0061": {"version": "1.0.0", "dependencies": {"@s/b": "1"}},\n' +
    '  "node_modules/@s\\/b": {"version": "2.0.0"}}}';
  const lock = parseNpmLock('/p/package-lock.json', text);
  assert.deepEqual(lock.packages.map((p) => p.id), ['node_modules/a', 'node_modules/@s/b']);
  const spanText = (id: string) => text.slice(byId(lock, id).span.start, byId(lock, id).span.end);
  assert.equal(spanText('node_modules/a'), '"node_modules/\\u0061"');
  assert.equal(spanText('node_modules/@s/b'), '"node_modules/@s\\/b"');
  assert.deepEqual(edgeList(byId(lock, 'node_modules/a').edges), ['prod:node_modules/@s/b']);
});

function parseError(file: string): FileParseError {
  const text = readFileSync(file, 'utf8');
  try {
    parseNpmLock(file, text);
  } catch (error) {
    assert.ok(error instanceof FileParseError, String(error));
    assert.equal(error.file, file);
    return error;
  }
  assert.fail(`${file} parsed`);
}

test('malformed: half-typed JSON names the line, column and token', () => {
  const file = malformed('half-typed.package-lock.json');
  const error = parseError(file);
  assert.equal(error.message, 'half-typed.package-lock.json is not valid JSON at line 10, column 5: ValueExpected');
  const text = readFileSync(file, 'utf8');
  assert.equal(text.slice(error.span!.start, error.span!.end), '}');
  assert.equal(text.slice(0, error.span!.start).split('\n').length, 10);
});

test('malformed: a truncated file is called truncated, at its end', () => {
  const file = malformed('truncated.package-lock.json');
  const error = parseError(file);
  assert.match(error.message, /ends too early at line 36, column 17 .*truncated/);
  assert.equal(error.span!.start, readFileSync(file, 'utf8').length);
});

test('malformed: merge conflict markers are reported with their line', () => {
  const file = malformed('conflict.package-lock.json');
  const error = parseError(file);
  assert.equal(error.message, 'merge conflict markers at line 8 — resolve the conflict');
  assert.equal(readFileSync(file, 'utf8').slice(error.span!.start, error.span!.end), '<<<<<<< HEAD');
});

test('malformed: an unknown lockfileVersion points at the number', () => {
  const file = malformed('version-99.package-lock.json');
  const error = parseError(file);
  assert.match(error.message, /lockfileVersion 99, which Install Guard does not know/);
  assert.equal(readFileSync(file, 'utf8').slice(error.span!.start, error.span!.end), '99');
});

test('malformed: bad entries become problems and the rest is parsed', () => {
  const file = malformed('bad-entries.package-lock.json');
  const { text, lock } = load(file);
  assert.deepEqual(lock.packages.map((p) => p.id), ['node_modules/debug', 'node_modules/ms']);
  assert.deepEqual(
    lock.problems.map((p) => [text.slice(p.span!.start, p.span!.end), p.message.replace(/^"packages" entry "[^"]+" /, '')]),
    [
      ['"node_modules/debug/node_modules/ms"', 'is a string, not an object; it is left out'],
      ['"node_modules/left-pad"', 'has no "version"; it is left out'],
      ['"node_modules/ghost"', 'is null, not an object; it is left out'],
    ],
  );
  assert.ok(lock.problems.every((p) => p.file === file));
});

test('not a package-lock at all: top-level array, no lockfileVersion, v3 without packages', () => {
  const attempt = (text: string) => assert.throws(() => parseNpmLock('/p/package-lock.json', text), FileParseError);
  attempt('[]');
  attempt('{"name": "x", "dependencies": {}}');
  attempt('{"lockfileVersion": 3}');
  attempt('');
  assert.throws(() => parseNpmLock('/p/package-lock.json', '{"lockfileVersion": "3"}'), /lockfileVersion "3"/);
  // A byte-order mark is not an error, and offsets still count it.
  const bomText = '\uFEFF{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0"}}}';
  const bom = parseNpmLock('/p/package-lock.json', bomText);
  assert.equal(bomText.slice(bom.packages[0]!.span.start, bom.packages[0]!.span.end), '"node_modules/a"');
  // A v1 file with no dependencies is an empty, valid lockfile.
  assert.deepEqual(parseNpmLock('/p/package-lock.json', '{"lockfileVersion": 1}').packages, []);
});

test('sourceKind: registry tarballs on any host, git, tarball, file, link', () => {
  const cases: [string | null, string][] = [
    [null, 'registry'],
    ['', 'registry'],
    ['1.2.3', 'registry'],
    ['https://registry.npmjs.org/@babel/core/-/core-7.24.0.tgz', 'registry'],
    ['https://art.corp/artifactory/api/npm/npm-remote/foo/-/foo-1.0.0.tgz', 'registry'],
    ['http://nexus.corp/repository/npm-group/@s/x/-/x-2.0.0-beta.1.tgz', 'registry'],
    ['https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz#d5b5a8c8d1cc1ebf', 'registry'],
    ['https://r.corp/@s%2fx/-/x-1.0.0.tgz', 'registry'],
    ['https://npm.pkg.github.com/download/@octo/x/1.0.0/0123abcd', 'registry'],
    ['https://codeload.github.com/u/r/tar.gz/0123abc', 'tarball'],
    ['https://example.com/downloads/x-1.0.0.tgz', 'tarball'],
    ['https://example.com/foo/-/bar-1.0.0.tgz', 'tarball'],
    ['git+ssh://git@github.com/u/r.git#0123abc', 'git'],
    ['git+https://github.com/u/r.git#0123abc', 'git'],
    ['github:u/r#main', 'git'],
    ['https://github.com/u/r.git#v1', 'git'],
    ['file:../lib', 'file'],
    ['../lib', 'file'],
    ['link:../lib', 'link'],
    ['workspace:packages/a', 'workspace'],
  ];
  for (const [value, kind] of cases) assert.equal(classifyResolved(value), kind, String(value));
  assert.deepEqual(parseRegistryTarballUrl('https://r.corp/a/b/@s/x/-/x-1.0.0.tgz'), { name: '@s/x', version: '1.0.0' });
  assert.equal(isRegistryTarballUrl('https://registry.npmjs.org/ms/-/ms-2.1.3.tgz', 'ms'), true);
  assert.equal(isRegistryTarballUrl('https://registry.npmjs.org/ms/-/ms-2.1.3.tgz', 'left-pad'), false);
});
