/**
 * The real language server, in-process over streams, driven by a real LSP client
 * against a loopback registry: diagnostics on package.json and every lockfile format,
 * hovers, inlay hints, code actions whose edits are applied and re-evaluated, malformed
 * documents, and a registry that hangs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { URI } from 'vscode-uri';
import {
  CodeActionRequest,
  HoverRequest,
  InlayHintRequest,
  type CodeAction,
  type Diagnostic,
  type MarkupContent,
} from 'vscode-languageserver-protocol/node';
import { AUDIT_REPORT_REQUEST, type AuditReportResult, type InstallGuardSettings } from '../../server/src/lsp/protocol';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { startTestClient, type TestClient } from '../support/lspClient';
import { copyProject, projectRegistryOptions } from '../support/projectFixtures';
import { CLI, isolatedNpmEnv, tempDir } from '../support/runCli';

let registry: LoopbackRegistry;
const clients: TestClient[] = [];
before(async () => {
  registry = await startLoopbackRegistry(projectRegistryOptions());
});
after(async () => {
  for (const client of clients) await client.close();
  await registry.close();
});

async function clientFor(project: string, extra: { env?: NodeJS.ProcessEnv; registryUrl?: string; settings?: Partial<InstallGuardSettings> } = {}) {
  const folder = copyProject(project);
  const settings = { registry: extra.registryUrl ?? registry.url, ...extra.settings };
  const client = await startTestClient({ folder, settings, ...(extra.env ? { env: extra.env } : {}) });
  clients.push(client);
  return { folder, client };
}

const codes = (diagnostics: Diagnostic[]) => diagnostics.map((d) => String(d.code));
/** LSP 3.18 allows Markup messages; ours are plain strings. */
const messageOf = (d: Diagnostic) => (typeof d.message === 'string' ? d.message : d.message.value);
const has = (code: string, text: string) => (diagnostics: Diagnostic[]) => diagnostics.some((d) => d.code === code && messageOf(d).includes(text));

function positionOf(text: string, needle: string, offset = 1) {
  const index = text.indexOf(needle);
  assert.ok(index >= 0, `${needle} in the text`);
  const before = text.slice(0, index + offset);
  const lines = before.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1]!.length };
}

test('package.json and lockfile get diagnostics with codes, links and who pulls it in', async () => {
  const { folder, client } = await clientFor('npm-basic');
  const manifest = join(folder, 'package.json');
  const lock = join(folder, 'package-lock.json');
  await client.open(manifest);
  // Wait for the registry's answer (a first result may come from the lockfile flags alone).
  const onManifest = await client.waitForDiagnostics(manifest, has('unreviewed-install-script', 'esbuild@0.25.12 runs postinstall: node install.js'));
  const esbuild = onManifest.find((d) => messageOf(d).includes('esbuild@0.25.12'))!;
  assert.equal(esbuild.source, 'Install Guard');
  assert.match(esbuild.codeDescription!.href, /#unreviewed-install-script$/);
  assert.match(messageOf(esbuild), /postinstall: node install\.js/);
  const manifestText = readFileSync(manifest, 'utf8');
  assert.equal(esbuild.range.start.line, positionOf(manifestText, '"esbuild"').line);
  const onLock = client.diagnostics.get(client.uri(lock)) ?? [];
  assert.ok(codes(onLock).filter((c) => c === 'unreviewed-install-script').length >= 6, JSON.stringify(codes(onLock)));
  assert.ok(esbuild.relatedInformation?.some((r) => r.location.uri === client.uri(manifest) || r.location.uri === client.uri(lock)));
});

test('`install-guard lsp --stdio`: the built CLI serves the same diagnostics over stdio (as Neovim starts it)', async () => {
  const folder = copyProject('npm-basic');
  const client = await startTestClient({ folder, settings: { registry: registry.url }, serverProcess: [CLI, 'lsp', '--stdio'] });
  clients.push(client);
  const manifest = join(folder, 'package.json');
  await client.open(manifest);
  const diagnostics = await client.waitForDiagnostics(manifest, has('unreviewed-install-script', 'esbuild@0.25.12 runs postinstall: node install.js'));
  assert.equal(diagnostics.find((d) => messageOf(d).includes('esbuild@0.25.12'))!.source, 'Install Guard');
});

test('hover on a dependency: the exact command, evidence, verdict, paths — escaped', async () => {
  const { folder, client } = await clientFor('npm-basic');
  const manifest = join(folder, 'package.json');
  await client.open(manifest);
  await client.waitForDiagnostics(manifest, has('unreviewed-install-script', 'esbuild'));
  const text = readFileSync(manifest, 'utf8');
  const hover = await client.connection.sendRequest(HoverRequest.type, { textDocument: { uri: client.uri(manifest) }, position: positionOf(text, '"esbuild"', 3) });
  const value = (hover!.contents as MarkupContent).value;
  assert.match(value, /\*\*esbuild\\@0\\\.25\\\.12\*\*/, 'the name is escaped Markdown');
  assert.match(value, /postinstall: `node install\.js`/);
  assert.match(value, /Allowlist: \*\*unreviewed\*\*/);
  assert.match(value, /registry's manifest/);
  assert.doesNotMatch(value, /command:/);
});

test('inlay hints badge each dependency that runs scripts', async () => {
  const { folder, client } = await clientFor('npm-basic');
  const manifest = join(folder, 'package.json');
  await client.open(manifest);
  await client.waitForDiagnostics(manifest, has('unreviewed-install-script', 'esbuild'));
  const hints = await client.connection.sendRequest(InlayHintRequest.type, {
    textDocument: { uri: client.uri(manifest) },
    range: { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } },
  });
  const labels = hints!.map((h) => String(h.label));
  assert.ok(labels.includes('⚙ postinstall · ⚠ unreviewed'), JSON.stringify(labels));
  assert.ok(labels.includes('⚙ install · ⚠ unreviewed'), 'diskusage: the implicit node-gyp build');
  const text = readFileSync(manifest, 'utf8');
  assert.ok(!hints!.some((h) => h.position.line === positionOf(text, '"ms"').line), 'no badge on a package that runs nothing');
});

test('quick fix "allow" writes allowScripts pinned; the finding goes, in package.json and the open lockfile', async () => {
  const { folder, client } = await clientFor('npm-basic');
  const manifest = join(folder, 'package.json');
  const lock = join(folder, 'package-lock.json');
  await client.open(manifest);
  await client.open(lock);
  const diagnostics = await client.waitForDiagnostics(manifest, has('unreviewed-install-script', 'esbuild@0.25.12 runs postinstall'));
  const target = diagnostics.find((d) => messageOf(d).includes('esbuild@0.25.12'))!;
  const actions = await fixesFor(client, manifest, target);
  const allow = actions.find((a) => a.isPreferred);
  assert.ok(allow, `a preferred fix among ${actions.map((a) => a.title).join(' | ')}`);
  assert.match(allow.title, /esbuild@0\.25\.12/);
  assert.ok(actions.some((a) => /exception/i.test(a.title)));
  assert.ok(actions.some((a) => /deny/i.test(a.title)));
  const before = readFileSync(manifest, 'utf8');
  await applyAction(client, allow);
  const after = readFileSync(manifest, 'utf8');
  assert.equal(JSON.parse(after).allowScripts['esbuild@0.25.12'], true);
  const close = before.lastIndexOf('\n}');
  assert.ok(after.startsWith(before.slice(0, close)) && after.endsWith(before.slice(close)), 'only an insertion before the closing brace');
  await client.waitForDiagnostics(manifest, (d) => !has('unreviewed-install-script', 'esbuild@0.25.12')(d) && has('unreviewed-install-script', 'core-js')(d));
  await client.waitForDiagnostics(lock, (d) => !d.some((x) => messageOf(x).includes('esbuild@0.25.12') && x.code === 'unreviewed-install-script'));
});

test('installGuard.allowlistTarget "lavamoat": the preferred fix writes LavaMoat\'s list instead of npm\'s', async () => {
  const { folder, client } = await clientFor('npm-basic', { settings: { allowlistTarget: 'lavamoat' } });
  const manifest = join(folder, 'package.json');
  await client.open(manifest);
  const diagnostics = await client.waitForDiagnostics(manifest, has('unreviewed-install-script', 'esbuild@0.25.12 runs postinstall'));
  const target = diagnostics.find((d) => messageOf(d).includes('esbuild@0.25.12'))!;
  const actions = await fixesFor(client, manifest, target);
  const allow = actions.find((a) => a.isPreferred)!;
  assert.match(allow.title, /lavamoat\.allowScripts/, allow.title);
  await applyAction(client, allow);
  const written = JSON.parse(readFileSync(manifest, 'utf8'));
  assert.equal(written.lavamoat.allowScripts['esbuild#0.25.12'], true);
  assert.equal(written.allowScripts, undefined);
});

/** The code actions an editor asks for at a diagnostic (the light bulb). */
async function fixesFor(client: TestClient, file: string, diagnostic: Diagnostic): Promise<CodeAction[]> {
  return (await client.connection.sendRequest(CodeActionRequest.type, {
    textDocument: { uri: client.uri(file) },
    range: diagnostic.range,
    context: { diagnostics: [diagnostic] },
  })) as CodeAction[];
}

/** What an editor does with a chosen code action: apply its edit, then send didChange. */
async function applyAction(client: TestClient, action: CodeAction): Promise<void> {
  assert.ok(action.edit, `${action.title} carries an edit`);
  for (const change of action.edit!.documentChanges ?? []) {
    if (!('textDocument' in change)) continue;
    const path = URI.parse(change.textDocument.uri).fsPath;
    const updated = TextDocument.applyEdits(TextDocument.create(change.textDocument.uri, 'json', 0, readFileSync(path, 'utf8')), change.edits as never);
    writeFileSync(path, updated);
    await client.change(path, updated);
  }
}

test('editing allowScripts by hand re-evaluates the open lockfile', async () => {
  const { folder, client } = await clientFor('npm-basic');
  const manifest = join(folder, 'package.json');
  const lock = join(folder, 'package-lock.json');
  await client.open(manifest);
  await client.open(lock);
  await client.waitForDiagnostics(lock, has('unreviewed-install-script', 'core-js@3.51.0'));
  const json = JSON.parse(readFileSync(manifest, 'utf8'));
  json.allowScripts = { 'core-js': false };
  await client.change(manifest, JSON.stringify(json, null, 2));
  const after = await client.waitForDiagnostics(lock, has('denied-package', 'core-js@3.51.0'));
  assert.ok(!has('unreviewed-install-script', 'core-js@3.51.0')(after));
});

test('a half-typed package.json: a syntax diagnostic, the server lives on, fixing it restores', async () => {
  const { folder, client } = await clientFor('npm-basic');
  const manifest = join(folder, 'package.json');
  const good = readFileSync(manifest, 'utf8');
  await client.open(manifest);
  await client.waitForDiagnostics(manifest, has('unreviewed-install-script', 'esbuild'));
  await client.change(manifest, good.replace('"esbuild": "^0.25.9"', '"esbuild": '));
  const broken = await client.waitForDiagnostics(manifest, (d) => d.some((x) => x.code === 'file-problem'));
  assert.match(messageOf(broken.find((x) => x.code === 'file-problem')!), /JSON syntax error/);
  await client.change(manifest, good);
  await client.waitForDiagnostics(manifest, (d) => !d.some((x) => x.code === 'file-problem') && has('unreviewed-install-script', 'esbuild')(d));
});

test('every lockfile format gets its diagnostics', async () => {
  for (const [project, lockfile] of [
    ['pnpm-basic', 'pnpm-lock.yaml'],
    ['yarn-classic', 'yarn.lock'],
    ['yarn-berry', 'yarn.lock'],
    ['bun-basic', 'bun.lock'],
    ['npm-shrinkwrap', 'npm-shrinkwrap.json'],
  ] as const) {
    const { folder, client } = await clientFor(project);
    const lock = join(folder, lockfile);
    await client.open(lock, 'plaintext');
    const diagnostics = await client.waitForDiagnostics(lock, (d) => d.some((x) => /core-js@3\.51\.0/.test(messageOf(x))));
    const line = diagnostics.find((x) => /core-js@3\.51\.0/.test(messageOf(x)))!.range.start.line;
    assert.match(readFileSync(lock, 'utf8').split(/\r?\n/)[line]!, /core-js/, `${project}: the diagnostic sits on the core-js entry`);
  }
});

test('the audit report request answers JSON, SARIF and Markdown', async () => {
  const { folder, client } = await clientFor('npm-basic');
  await client.open(join(folder, 'package.json'));
  const json = (await client.connection.sendRequest(AUDIT_REPORT_REQUEST, { uri: client.uri(folder), format: 'json' })) as AuditReportResult;
  const report = JSON.parse(json.text);
  assert.equal(report.packages.find((p: { name: string }) => p.name === 'esbuild').policy.verdict, 'unreviewed');
  const sarif = (await client.connection.sendRequest(AUDIT_REPORT_REQUEST, { uri: client.uri(folder), format: 'sarif' })) as AuditReportResult;
  assert.equal(JSON.parse(sarif.text).version, '2.1.0');
  const markdown = (await client.connection.sendRequest(AUDIT_REPORT_REQUEST, { uri: client.uri(folder), format: 'markdown' })) as AuditReportResult;
  assert.match(markdown.text, /\| esbuild\\@0\\\.25\\\.12 \| postinstall\\: node install\\\.js \| registry \| unreviewed \|/);
});

test('a registry that hangs: local evidence first, one status line, hovers still answer', async () => {
  const hanging = await startLoopbackRegistry({ ...projectRegistryOptions(), faults: { '/': 'hang' } });
  try {
    const env = isolatedNpmEnv({ npm_config_fetch_timeout: '1500', npm_config_fetch_retries: '0' });
    const { folder, client } = await clientFor('npm-basic', { env, registryUrl: hanging.url });
    const lock = join(folder, 'package-lock.json');
    await client.open(lock);
    // The lockfile's hasInstallScript flags are shown while the registry does not answer.
    await client.waitForDiagnostics(lock, has('unreviewed-install-script', 'core-js@3.51.0'));
    const status = await client.waitForStatus((s) => s.registryProblem !== null, 30_000);
    assert.match(status.registryProblem!, /did not answer|time/i);
    const final = client.diagnostics.get(client.uri(lock))!;
    assert.ok(!final.some((d) => d.code === 'install-script-unknown'), 'no unknown-per-package diagnostics during an outage');
    const text = readFileSync(lock, 'utf8');
    const hover = await client.connection.sendRequest(HoverRequest.type, { textDocument: { uri: client.uri(lock) }, position: positionOf(text, '"node_modules/ms"', 3) });
    assert.ok(hover, 'the server still answers');
  } finally {
    await hanging.close();
  }
});

test('quick fix "pin a safe version": the exact newest version without an unreviewed script; an override for a transitive one', async () => {
  // The made projects and registry of test/fixtures/safe-version (see its README).
  const fixtures = join(__dirname, '..', 'fixtures', 'safe-version');
  const made = await startLoopbackRegistry(JSON.parse(readFileSync(join(fixtures, 'registry.json'), 'utf8')));
  try {
    const folder = join(tempDir('ig-safe-version-'), 'npm');
    cpSync(join(fixtures, 'npm'), folder, { recursive: true });
    const client = await startTestClient({ folder, settings: { registry: made.url } });
    clients.push(client);
    const manifest = join(folder, 'package.json');
    await client.open(manifest);
    const diagnostics = await client.waitForDiagnostics(manifest, (d) => has('unreviewed-install-script', 'pixel-lib@1.3.0')(d) && has('unreviewed-install-script', 'native-helper@1.4.0')(d));
    const ask = async (needle: string) => {
      const target = client.diagnostics.get(client.uri(manifest))!.find((d) => messageOf(d).includes(needle)) ?? diagnostics.find((d) => messageOf(d).includes(needle))!;
      return fixesFor(client, manifest, target);
    };
    const actions = await ask('pixel-lib@1.3.0');
    const pin = actions.find((a) => a.title.startsWith('Pin pixel-lib'));
    assert.equal(pin?.title, 'Pin pixel-lib to 1.2.1 (exact)', actions.map((a) => a.title).join(' | '));
    assert.ok(!pin.isPreferred && actions.some((a) => a.isPreferred && /pixel-lib@1\.3\.0/.test(a.title)), 'allowing the reviewed version stays the preferred fix');
    const override = (await ask('native-helper@1.4.0')).find((a) => a.title.startsWith('Add override'));
    assert.equal(override?.title, 'Add override native-helper@1.3.0 (package.json overrides)');

    const before = readFileSync(manifest, 'utf8');
    const seen = client.statuses.length;
    await applyAction(client, pin);
    // Let the analysis the edit starts finish while the made registry still answers.
    await client.waitForStatus((s) => {
      const at = client.statuses.lastIndexOf(s);
      return at > seen && s.state === 'ready' && client.statuses.slice(seen, at).some((x) => x.state === 'analysing');
    });
    const after = readFileSync(manifest, 'utf8');
    assert.equal(JSON.parse(after).dependencies['pixel-lib'], '1.2.1');
    assert.equal(after, before.replace('"pixel-lib": "^1.2.0"', '"pixel-lib": "1.2.1"'), 'only the spec changed');
    // The lockfile still holds 1.3.0 until the next install; the pin is not offered twice.
    assert.ok(!(await ask('pixel-lib@1.3.0')).some((a) => a.title.startsWith('Pin pixel-lib')));
  } finally {
    await made.close();
  }
});
