/**
 * The graph pass derives direct/dev/optional the same way for every format. npm writes
 * its own dev/optional flags into package-lock v2/v3, so a real v3 lockfile is the
 * oracle: our derivation must agree with npm's on every entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LockGraph } from '../../server/src/parse/graph';
import { parseNpmLock } from '../../server/src/parse/npmLock';
import type { Lockfile } from '../../server/src/model/inventory';
import { sharedFixture, SHARED_MISSING } from '../support/sharedFixtures';

test('dev and optional agree with the flags npm wrote into a real package-lock v3', (t) => {
  const file = sharedFixture('lockfiles', 'uptime-kuma', 'package-lock.json');
  if (!file) return t.skip(SHARED_MISSING);
  const text = readFileSync(file, 'utf8');
  const lockfile = parseNpmLock(file, text);
  new LockGraph(lockfile);
  const raw = JSON.parse(text).packages as Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
  const disagreements: string[] = [];
  let checked = 0;
  for (const pkg of lockfile.packages) {
    const entry = pkg.installPath !== null ? raw[pkg.installPath] : undefined;
    if (!entry) continue;
    checked++;
    // npm's devOptional means "needed only by dev or only optionally", where neither
    // dev nor optional alone holds, so ours must say neither.
    const npmDev = entry.dev === true;
    const npmOptional = entry.optional === true;
    if (npmDev !== pkg.dev || npmOptional !== pkg.optional) {
      disagreements.push(`${pkg.installPath}: npm dev=${npmDev} optional=${npmOptional}, ours dev=${pkg.dev} optional=${pkg.optional}`);
    }
  }
  assert.ok(checked > 1000, `checked ${checked} entries`);
  assert.deepEqual(disagreements, []);
});

function made(): Lockfile {
  const pkg = (id: string, edges: Lockfile['packages'][number]['edges'] = []) => ({
    id,
    name: id,
    version: '1.0.0',
    source: 'registry' as const,
    resolved: null,
    integrity: null,
    lockfileFlag: null,
    span: { start: 0, end: 0 },
    installPath: null,
    edges,
    dev: false,
    optional: false,
    direct: false,
  });
  return {
    file: '/made/package-lock.json',
    format: 'package-lock-v3',
    importers: [
      { dir: '.', edges: [{ to: 'app-lib', kind: 'prod' }, { to: 'test-tool', kind: 'dev' }] },
      { dir: 'packages/web', edges: [{ to: 'shared', kind: 'prod' }] },
    ],
    packages: [
      pkg('app-lib', [{ to: 'shared', kind: 'prod' }, { to: 'native', kind: 'optional' }]),
      pkg('test-tool', [{ to: 'shared', kind: 'prod' }, { to: 'dev-only', kind: 'prod' }, { to: 'native', kind: 'prod' }]),
      pkg('shared'),
      pkg('dev-only', [{ to: 'dev-only', kind: 'prod' }]),
      pkg('native'),
      pkg('orphan'),
    ],
    problems: [],
  };
}

test('classification: dev only through dev edges, optional only through optional edges', () => {
  const lockfile = made();
  new LockGraph(lockfile);
  const flags = Object.fromEntries(lockfile.packages.map((p) => [p.id, [p.direct, p.dev, p.optional]]));
  assert.deepEqual(flags, {
    'app-lib': [true, false, false],
    'test-tool': [true, true, false],
    shared: [true, false, false],
    'dev-only': [false, true, false],
    // prod-reachable only through an optional edge, but a dev tool needs it for real:
    // neither dev (app-lib reaches it) nor optional (test-tool reaches it without one).
    native: [false, false, false],
    orphan: [false, false, false],
  });
});

test('paths: one shortest path through each dependent, starting at the importer', () => {
  const lockfile = made();
  const graph = new LockGraph(lockfile);
  assert.deepEqual(graph.pathsTo('shared'), [
    ['packages/web', 'shared@1.0.0'],
    ['.', 'app-lib@1.0.0', 'shared@1.0.0'],
    ['.', 'test-tool@1.0.0', 'shared@1.0.0'],
  ]);
  assert.deepEqual(graph.pathsTo('dev-only'), [['.', 'test-tool@1.0.0', 'dev-only@1.0.0']]);
  assert.deepEqual(graph.pathsTo('orphan'), []);
  assert.deepEqual(graph.pathsTo('shared', 1), [['packages/web', 'shared@1.0.0']]);
});
