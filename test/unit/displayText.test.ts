/**
 * What the client shows of untrusted text outside webviews (QuickPick rows, the status bar):
 * one line, no icons, and no character that changes how the rest reads. A right-to-left
 * override in a script body can make `rm -rf ~ #` display as something harmless.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeIcons, literalLabel, oneLine } from '../../client/src/displayText';

const RLO = '\u202e';
const LRI = '\u2066';
const PDI = '\u2069';

test('a QuickPick label shows bidi overrides, isolates and controls as visible escapes', () => {
  assert.equal(literalLabel(`node ${RLO}sj.llatsni`), 'node \\u202esj.llatsni');
  assert.equal(literalLabel(`a${LRI}b${PDI}c`), 'a\\u2066b\\u2069c');
  assert.equal(literalLabel('curl x\x1b[2K\rnode ok.js'), 'curl x\\x1b[2K\\x0dnode ok.js');
  assert.equal(literalLabel('one\ntwo\u2028three'), 'one\\x0atwo\\u2028three');
  assert.equal(literalLabel('esbuild@0.25.12'), 'esbuild@0.25.12', 'plain text is unchanged');
});

test('a QuickPick label keeps $(icon) syntax literal', () => {
  assert.equal(literalLabel('$(check) approved'), '\\$(check) approved');
  assert.equal(literalLabel('$(sync~spin)'), '\\$(sync~spin)');
  assert.equal(literalLabel('costs $(two words) or $HOME'), 'costs $(two words) or $HOME', 'only what would render as an icon');
  assert.equal(escapeIcons('a $(x) b'), 'a \\$(x) b');
});

test('a status bar line: line breaks and tabs become spaces, other controls and bidi characters visible', () => {
  assert.equal(oneLine('registry said:\n  500\tInternal Server Error\r\n'), 'registry said: 500 Internal Server Error');
  assert.equal(oneLine(`evil${RLO}gnp.exe`), 'evil\\u202egnp.exe');
  assert.equal(oneLine('bell\x07 and\u2029next'), 'bell\\x07 and next');
  assert.equal(oneLine('  3 unreviewed  '), '3 unreviewed');
});
