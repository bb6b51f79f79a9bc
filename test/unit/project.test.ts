/**
 * Reading a whole project: workspaces from every declaration style, the lockfile the
 * package manager in use reads, and problems that stay with their file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadProject } from '../../server/src/parse/project';
import { sharedFixture, SHARED_MISSING } from '../support/sharedFixtures';
import { tempDir } from '../support/runCli';

function write(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('pnpm workspace: every importer package.json is read, globs and negations honoured', async (t) => {
  const dir = sharedFixture('lockfiles', 'vue-core');
  if (!dir) return t.skip(SHARED_MISSING);
  const project = await loadProject(dir);
  assert.equal(project.packageManager.name, 'pnpm');
  assert.equal(project.lockfile?.format, 'pnpm-9');
  const dirs = project.manifests.map((m) => m.dir);
  // Every importer the lockfile records has its package.json read (and nothing else).
  const importers = project.lockfile!.importers.map((i) => i.dir).sort();
  assert.deepEqual([...dirs].sort(), importers);
  assert.equal(project.problems.length, 0, JSON.stringify(project.problems));
});

test('package-lock v1: direct means declared in the root package.json', async (t) => {
  const dir = sharedFixture('lockfiles', 'hackathon-starter');
  if (!dir) return t.skip(SHARED_MISSING);
  const project = await loadProject(dir);
  const declared = new Set(project.manifests[0]!.dependencies.map((d) => d.name));
  const direct = new Set(project.lockfile!.packages.filter((p) => p.direct).map((p) => p.name));
  assert.deepEqual([...direct].sort(), [...declared].filter((n) => project.lockfile!.packages.some((p) => p.installPath === `node_modules/${n}`)).sort());
  assert.ok(direct.size < 100, `${direct.size} direct`);
});

test('npm/yarn workspaces object form, negated globs, node_modules never scanned', async () => {
  const root = write(tempDir(), {
    'package.json': JSON.stringify({ name: 'root', workspaces: { packages: ['packages/*', '!packages/skip'] } }),
    'packages/a/package.json': JSON.stringify({ name: 'a', dependencies: { x: '1' } }),
    'packages/skip/package.json': JSON.stringify({ name: 'skip' }),
    'packages/a/node_modules/y/package.json': JSON.stringify({ name: 'y' }),
    'packages/not-a-package/readme.md': 'no package.json here',
  });
  const project = await loadProject(root);
  assert.deepEqual(project.manifests.map((m) => m.dir), ['.', 'packages/a']);
  assert.equal(project.lockfile, null);
  assert.equal(project.packageManager.name, 'npm');
});

test('packageManager field picks the lockfile among several, and says so', async () => {
  const root = write(tempDir(), {
    'package.json': JSON.stringify({ name: 'root', packageManager: 'pnpm@10.12.1+sha512.abc' }),
    'package-lock.json': JSON.stringify({ lockfileVersion: 3, packages: { '': { name: 'root' } } }),
    'pnpm-lock.yaml': "lockfileVersion: '9.0'\nimporters:\n  .: {}\n",
  });
  const project = await loadProject(root);
  assert.deepEqual([project.packageManager.name, project.packageManager.version], ['pnpm', '10.12.1']);
  assert.equal(project.lockfile?.format, 'pnpm-9');
  assert.match(project.problems.map((p) => p.message).join('\n'), /Several lockfiles .*reading pnpm-lock\.yaml/);
});

test('a half-typed package.json and a conflicted lockfile: problems per file, the rest still read', async () => {
  const root = write(tempDir(), {
    'package.json': '{\n  "name": "root",\n  "dependencies": {\n    "left-pad": "^1.3.0",\n    "sharp": \n',
    'yarn.lock': '# yarn lockfile v1\n\n<<<<<<< HEAD\nleft-pad@^1.3.0:\n  version "1.3.0"\n=======\n>>>>>>> other\n',
  });
  const project = await loadProject(root);
  assert.equal(project.manifests[0]!.name, 'root');
  assert.deepEqual(project.manifests[0]!.dependencies.map((d) => d.name), ['left-pad', 'sharp']);
  const byFile = new Map(project.problems.map((p) => [p.file.slice(root.length + 1), p.message]));
  assert.match(byFile.get('package.json') ?? '', /JSON syntax error: .* at line \d+/);
  assert.match(byFile.get('yarn.lock') ?? '', /conflict/i);
  assert.equal(project.lockfile, null);
});

test('bun.lockb alone is named as unreadable with the command that fixes it', async () => {
  const root = write(tempDir(), { 'package.json': '{"name":"b"}', 'bun.lockb': '\u0000binary' });
  const project = await loadProject(root);
  assert.match(project.problems[0]!.message, /bun install --save-text-lockfile/);
});
