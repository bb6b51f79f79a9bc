// One build for the three programs Install Guard ships, all bundled under dist/:
//   dist/client/extension.js   the VS Code extension (vscode is provided by the editor)
//   dist/server/main.js        the language server (also `install-guard lsp --stdio`)
//   dist/cli/cli.js            the CLI
//   dist/cli/install-guard.js  its executable: loads cli.js through V8's code cache
// Type checking is separate (`npm run typecheck`): esbuild only strips types.
import * as esbuild from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  // Whitespace and comments only by default, so stack traces keep their names: the CLI
  // reads and compiles its bundle on every run, and a third less text is a third less of
  // that. `--production` (the .vsix) minifies names too.
  minifyWhitespace: true,
  minify: production,
  logLevel: 'warning',
  // jsonc-parser's "main" is a UMD build whose dynamic requires a bundler cannot follow;
  // its ESM build (and every other package's) bundles cleanly.
  mainFields: ['module', 'main'],
  // pacote's script runner (never called: Install Guard runs no package code) resolves
  // node-gyp at run time; the warning is about code we never reach.
  logOverride: { 'require-resolve-not-external': 'silent' },
  // Optional native accelerators some dependencies try to load; they fall back to JS.
  external: ['encoding'],
  // ESM dependencies (fdir, under tinyglobby) call createRequire(import.meta.url), which
  // is empty in a CommonJS bundle: give them the bundle's own URL.
  define: { 'import.meta.url': '__importMetaUrl', INSTALL_GUARD_VERSION: JSON.stringify(version) },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
};

const programs = [
  { entryPoints: ['client/src/extension.ts'], outfile: 'dist/client/extension.js', external: ['vscode'] },
  { entryPoints: ['server/src/node/main.ts'], outfile: 'dist/server/main.js' },
  { entryPoints: ['server/src/cli/main.ts'], outfile: 'dist/cli/cli.js' },
  // The executable: a few lines that load cli.js through V8's code cache (launcher.ts).
  { entryPoints: ['server/src/cli/launcher.ts'], outfile: 'dist/cli/install-guard.js', banner: { js: '#!/usr/bin/env node' } },
].filter((program) => existsSync(program.entryPoints[0]));

const contexts = await Promise.all(
  programs.map((program) =>
    esbuild.context({ ...common, ...program, external: [...common.external, ...(program.external ?? [])] }),
  ),
);
if (watch) {
  await Promise.all(contexts.map((context) => context.watch()));
} else {
  await Promise.all(contexts.map((context) => context.rebuild()));
  await Promise.all(contexts.map((context) => context.dispose()));
}
