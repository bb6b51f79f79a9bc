/**
 * Finding codes are a stable interface: every code the engine can report is documented
 * in the README's table (the LSP links to its anchor), listed in the policy file's JSON
 * schema (so severities can be set for it), and offered by the editor's severity setting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FINDING_CODES } from '../../server/src/analysis/findings';
import { projectRoot } from '../support/sharedFixtures';

const codes = Object.keys(FINDING_CODES).sort();

test('the README documents every finding code with an anchor', () => {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
  const documented = [...readme.matchAll(/<a id="([a-z0-9-]+)"><\/a>`([a-z0-9-]+)`/g)].filter((m) => m[1] === m[2]).map((m) => m[1]!);
  assert.deepEqual([...new Set(documented)].sort(), codes);
});

test('the policy file schema and the severity setting list exactly the finding codes', () => {
  const schema = JSON.parse(readFileSync(join(projectRoot, 'server', 'schema', 'install-guard.schema.json'), 'utf8'));
  assert.deepEqual([...schema.properties.severity.propertyNames.enum].sort(), codes);
  const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'));
  const severity = manifest.contributes.configuration.properties?.['installGuard.severity'] ?? manifest.contributes.configuration.find?.((c: any) => c.properties['installGuard.severity'])?.properties['installGuard.severity'];
  const listed = Object.keys(severity.properties ?? {}).sort();
  assert.deepEqual(listed, codes);
});
