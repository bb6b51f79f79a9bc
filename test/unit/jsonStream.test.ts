/**
 * writeJson must print exactly what JSON.stringify prints, indented or compact, whatever
 * the chunk size: the CLI's JSON and SARIF output is the stable interface, and streaming
 * it is only a way to use less memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamedArray, writeJson } from '../../server/src/report/jsonStream';

const packages = [
  { name: 'a', nested: { list: [1, 2, { deep: 'x\ny' }], empty: [], none: null }, skip: undefined },
  { name: '"quoted" \u2028 line', scripts: { postinstall: 'node install.js' } },
  { name: 'c', paths: [['root', 'b@1.0.0', 'c@2.0.0']] },
];
const doc = () => ({
  schemaVersion: 1,
  tool: { name: 'install-guard', version: '1.0.0' },
  gone: undefined,
  fn: () => 1,
  packages: new StreamedArray(packages, (p) => ({ ...p, seen: true })),
  none: new StreamedArray([], (p) => p),
  findings: [{ code: 'x', related: [] }],
  empty: {},
  last: 'end',
});

test('writeJson prints what JSON.stringify prints, for every indent and chunk size', () => {
  for (const indent of [undefined, 2, 4]) {
    const expected = JSON.stringify(doc(), null, indent) + '\n';
    for (const chunkSize of [1, 7, 1 << 20]) {
      const chunks: string[] = [];
      writeJson(doc(), indent, (c) => chunks.push(c), chunkSize);
      assert.equal(chunks.join(''), expected, `indent ${indent}, chunk ${chunkSize}`);
      if (chunkSize === 1) assert.ok(chunks.length > 10, 'small chunks are written as they come');
    }
  }
  const empty: string[] = [];
  writeJson({}, 2, (c) => empty.push(c));
  assert.equal(empty.join(''), JSON.stringify({}, null, 2) + '\n');
});
