// Runs every test tier that exists, in order, with node's own test runner:
//   unit      test/unit      parsers, analysis, registry layer, on real and made fixtures
//   protocol  test/protocol  the real language server over streams with a real LSP client
//   cli       test/cli       the built CLI against loopback registries
//   e2e       test/e2e       the packaged extension in a real VS Code (see its README)
// `node test/run.mjs unit cli` runs only those tiers. The build must exist (npm test builds).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const TIERS = ['unit', 'protocol', 'cli', 'e2e'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const tiers = wanted.length > 0 ? wanted : TIERS;

const files = [];
for (const tier of tiers) {
  if (!TIERS.includes(tier)) {
    console.error(`unknown test tier "${tier}" (known: ${TIERS.join(', ')})`);
    process.exit(2);
  }
  const dir = join('test', tier);
  if (!existsSync(dir)) continue;
  files.push(...readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f)));
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, INSTALL_GUARD_TEST: '1' },
});
process.exit(result.status ?? 1);
