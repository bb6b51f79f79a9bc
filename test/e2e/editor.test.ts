/**
 * Install Guard's user scenarios in a real VS Code: VS Code for the web (code-server 4.100.3,
 * VS Code 1.100.3) in Debian's chromium, driven through its UI by playwright-core. The packaged
 * .vsix is installed the way a user installs it; the example workspace (example/) is opened
 * from a temp copy; every registry question goes to a loopback registry serving the example's
 * real manifests (the `installGuard.registry` setting), so nothing reaches the network.
 *
 * The expectations are not written down here: they come from the CLI's own audit of the same
 * copy against the same registry, so the editor must agree with the engine.
 *
 * Steps (one server, one browser, in order; a failed step skips the rest):
 *  1. the Problems panel warns on package.json for every unreviewed install script;
 *  2. hovering a dependency shows its install command and "unreviewed";
 *  3. the preferred quick fix "Allow sharp@<locked>…" + save: the warning goes, allowScripts on disk;
 *  4. Install Guard: Audit Workspace shows the report view with every verdict (sharp allowed);
 *  5. the status bar item shows the unreviewed count.
 * Screenshots of each moment go to .test-output/e2e/editor-*.png.
 *
 * Needs test/e2e/setup/setup-code-server.sh (CI runs it first); otherwise says SKIP with the reason.
 */
import { test, type TestContext } from 'node:test';
import type { Locator } from 'playwright-core';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerMissingReason, startCodeServer, type CodeServer } from './support/codeServer';
import { launchBrowser, waitForFile, DEFAULT_SCREENSHOT_DIR, type BrowserSession, type Problem, type Workbench } from './support/browser';
import { packageVsix } from './support/vsix';
import {
  auditWithCli, copyExample, declarationLine, ensureBuilt, exampleLockedVersion, expectedWarnings as expectWarnings, firstLine, startExampleRegistry, UNREVIEWED,
  type CliAudit, type ExpectedWarning,
} from './support/exampleRegistry';
import { projectRoot } from '../support/sharedFixtures';
import type { LoopbackRegistry } from '../support/loopbackRegistry';

const SOURCE = 'Install Guard';
/** The dependency the scenario hovers and allows (a direct one with an `install` script). */
const SUBJECT = 'sharp';

/**
 * The Problems filter that hides the lockfile's copies of the findings ("!" excludes a glob).
 * With it, every Install Guard problem listed is on package.json.
 */
const MANIFEST_ONLY = '!package-lock.json';

/**
 * An unreviewed-install-script warning about `key` on package.json line `line`. The line tells
 * package.json's copy from the lockfile's (line 1000+), whatever the panel's grouping says.
 */
const isUnreviewedWarning = (p: Problem, key: string, line: number): boolean =>
  p.source === SOURCE && p.code === UNREVIEWED && p.line === line && p.message.startsWith(`${key} runs `);

test('Install Guard in VS Code for the web: diagnostics, hover, allow quick fix, audit report, status bar', { timeout: 300_000 }, async (t) => {
  const missing = codeServerMissingReason();
  if (missing) {
    t.skip(`SKIP: ${missing}`);
    return;
  }
  const timings: Record<string, number> = {};
  const work = mkdtempSync(join(tmpdir(), 'ig-e2e-editor-'));
  // A picture from an earlier run must not pass for this run's.
  if (existsSync(DEFAULT_SCREENSHOT_DIR)) {
    for (const f of readdirSync(DEFAULT_SCREENSHOT_DIR)) if (f.startsWith('editor-')) rmSync(join(DEFAULT_SCREENSHOT_DIR, f));
  }
  let registry: LoopbackRegistry | undefined;
  let server: CodeServer | undefined;
  let browser: BrowserSession | undefined;
  let wb: Workbench | undefined;
  let failed = false;

  /** A subtest per user moment; after a failure the rest say why they did not run. */
  const step = async (name: string, run: (st: TestContext) => Promise<void>): Promise<void> => {
    await t.test(name, async (st) => {
      if (failed) return st.skip('an earlier step failed');
      const started = Date.now();
      try {
        await run(st);
      } catch (e) {
        failed = true;
        if (wb) await wb.screenshot(`editor-failure-${name.slice(0, 2).trim()}`).catch(() => undefined);
        if (server) st.diagnostic(`code-server output (tail):\n${server.output().slice(-3000)}`);
        throw e;
      } finally {
        timings[name] = Date.now() - started;
      }
    });
  };

  try {
    let vsix = '';
    let example = '';
    let audit: CliAudit | undefined;
    let subjectVersion = '';
    let manifestFile = '';
    let expectedWarnings: ExpectedWarning[] = [];
    let requestsByCli = 0;

    await step('0 package the .vsix, serve the example\'s packages, start code-server with it', async () => {
      await ensureBuilt();
      vsix = await packageVsix(projectRoot, join(work, 'install-guard.vsix'));
      registry = await startExampleRegistry();
      example = copyExample(work);
      manifestFile = join(example, 'package.json');
      subjectVersion = exampleLockedVersion(SUBJECT, example);
      audit = await auditWithCli(example, registry.url, join(work, 'cli-cache'));
      requestsByCli = registry.requests.length;
      // The extension's registry is the setting alone: npm's own config (the harness's
      // isolated .npmrc) still names a port that refuses, so a request that ignored the
      // setting would fail and show up below as missing diagnostics.
      server = await startCodeServer({ vsix: [vsix], settings: { 'installGuard.registry': registry.url } });
      browser = await launchBrowser({ viewport: { width: 1280, height: 960 } });
      wb = await browser.openWorkbench(server.folderUrl(example));
      timings['code-server install .vsix'] = server.timings.installMs;
      timings['code-server start'] = server.timings.startMs;
    });

    await step('1 the Problems panel warns on package.json for each unreviewed install script', async () => {
      const cliUnreviewed = audit!.packages.filter((p) => p.policy.verdict === 'unreviewed');
      assert.ok(cliUnreviewed.some((p) => p.name === SUBJECT), `the CLI finds ${SUBJECT} unreviewed: ${JSON.stringify(cliUnreviewed)}`);
      await wb!.quickOpen('package.json');
      await wb!.showProblems();
      await placePanel(wb!, 0.42);
      const manifestText = readFileSync(manifestFile, 'utf8');
      expectedWarnings = expectWarnings(audit!, manifestText);
      // Only package.json's problems: the lockfile has the same findings on its own entries.
      await wb!.problems({ filter: MANIFEST_ONLY });
      const started = Date.now();
      // Every expected warning, not just the first: the registry answers arrive one by one.
      for (const { key, line } of expectedWarnings) {
        await wb!.waitForProblem((p) => isUnreviewedWarning(p, key, line), 90_000 - (Date.now() - started));
      }
      timings['diagnostics shown after opening package.json'] = Date.now() - started;
      // The same words as the CLI's finding: the editor and the engine agree, and the registry
      // answered (a registry failure says "commands unknown … cannot reach registry" instead).
      const shown = (await wb!.problems()).filter((p) => p.source === SOURCE && p.code === UNREVIEWED);
      assert.deepEqual(
        shown.map((p) => ({ key: /^(\S+@\S+) runs /.exec(p.message)?.[1], line: p.line, message: firstLine(p.message) })).sort((a, b) => a.line - b.line),
        expectedWarnings.map(({ key, line, message }) => ({ key, line, message })),
        'one warning per unreviewed package, on the package.json line that declares it, saying what the CLI says',
      );
      for (const p of shown) assert.equal(p.severity, 'warning', JSON.stringify(p));
      assert.ok(registry!.requests.length > requestsByCli, 'the extension asked the loopback registry (the installGuard.registry setting)');
      await waitForStatus(wb!, `${expectedWarnings.length} unreviewed`);
      await wb!.screenshot('editor-01-problems');
    });

    await step(`2 hovering "${SUBJECT}" shows its install command and "unreviewed"`, async () => {
      const manifest = audit!.packages.find((p) => p.name === SUBJECT && p.version === subjectVersion)!;
      // Without the panel the hover has the editor's height to grow into.
      await wb!.runCommand('View: Hide Panel');
      const text = await wb!.hover(SUBJECT, { contains: `${SUBJECT}@${subjectVersion}` });
      for (const [hook, command] of Object.entries(manifest.installScripts ?? {})) {
        assert.ok(text.includes(`${hook}: ${command}`), `the hover shows "${hook}: ${command}":\n${text}`);
      }
      assert.match(text, /unreviewed/);
      // The version range is part of the dependency too; it carries no diagnostic, so its hover
      // is Install Guard's alone and has the room to show all of it (the picture for the README).
      const spec = readFileSync(manifestFile, 'utf8').match(new RegExp(`"${SUBJECT}":\\s*"([^"]+)"`))![1]!;
      const specText = await wb!.hover(spec, { contains: `${SUBJECT}@${subjectVersion}` });
      assert.ok(specText.includes(`${SUBJECT}@${subjectVersion} runs code at install time`), specText);
      assert.match(specText, /Allowlist: unreviewed/);
      await screenshotAround(wb!, 'editor-02-hover', '.monaco-hover:not(.hidden)');
      await wb!.page.mouse.move(1, 1);
    });

    await step(`3 the preferred quick fix allows ${SUBJECT}: the warning goes and package.json has allowScripts`, async () => {
      const key = `${SUBJECT}@${subjectVersion}`;
      const titles = await openQuickFixes(wb!, SUBJECT);
      const allow = titles.find((title) => /^Allow\b/.test(title) && title.includes(key));
      assert.ok(allow, `a quick fix allowing ${key}; offered: ${JSON.stringify(titles)}`);
      await screenshotAround(wb!, 'editor-03-quick-fix', '.action-widget');
      await wb!.page.keyboard.press('Escape');
      await wb!.quickFix(SUBJECT, allow);
      await wb!.save();
      const saved = JSON.parse(await waitForFile(manifestFile, (c) => c.includes('"allowScripts"'))) as { allowScripts?: Record<string, unknown> };
      const entries = Object.entries(saved.allowScripts ?? {}).filter(([k]) => k === SUBJECT || k.startsWith(`${SUBJECT}@`));
      assert.ok(entries.length === 1 && entries[0][1] === true, `package.json allowScripts allows ${SUBJECT}: ${JSON.stringify(saved.allowScripts)}`);
      const subject = expectedWarnings.find((w) => w.key === key)!;
      await wb!.waitForNoProblem((p) => p.source === SOURCE && p.message.startsWith(`${key} runs `), 30_000);
      // The others stay unreviewed, on their (possibly moved) lines.
      const after = readFileSync(manifestFile, 'utf8');
      for (const w of expectedWarnings.filter((x) => x !== subject)) {
        await wb!.waitForProblem((p) => isUnreviewedWarning(p, w.key, declarationLine(after, w.name)), 10_000);
      }
      await waitForStatus(wb!, `${expectedWarnings.length - 1} unreviewed`);
      // The whole file (with its new allowScripts) above the shorter list of warnings.
      await placePanel(wb!, 0.5);
      await wb!.focusEditor();
      await wb!.screenshot('editor-03-after-fix');
    });

    await step('4 Audit Workspace shows the report view with each package\'s verdict', async () => {
      // The report is a wide table with tall rows: give it the window, and the height to show
      // all four packages in the picture.
      await wb!.runCommand('View: Hide Panel');
      await wb!.runCommand('View: Toggle Primary Side Bar Visibility');
      await wb!.page.setViewportSize({ width: 1280, height: 1140 });
      await wb!.runCommand('Install Guard: Audit Workspace');
      const frame = wb!.webviewFrame();
      await frame.locator(`tr[data-package="${SUBJECT}@${subjectVersion}"][data-verdict="allowed"]`).waitFor({ timeout: 30_000 });
      const rows = await frame.locator('tr[data-package][data-verdict]').evaluateAll(readRows);
      const expected = audit!.packages
        .filter((p) => p.policy.verdict !== 'none')
        .map((p) => ({ package: `${p.name}@${p.version}`, verdict: p.name === SUBJECT ? 'allowed' : p.policy.verdict }))
        .sort((a, b) => a.package.localeCompare(b.package));
      assert.deepEqual(rows.sort((a, b) => a.package.localeCompare(b.package)), expected);
      await wb!.screenshot('editor-04-audit-report');
    });

    await step('5 the status bar item shows the unreviewed count and opens the report', async () => {
      const unreviewed = audit!.packages.filter((p) => p.policy.verdict === 'unreviewed' && p.name !== SUBJECT).length;
      const item = await waitForStatus(wb!, `${unreviewed} unreviewed`);
      // It is one click from the report: close the report, click the item, the report is back.
      const reportTab = wb!.page.locator('.tabs-container .tab', { hasText: 'Install Guard: Audit' });
      await reportTab.locator('.tab-actions .action-label').first().click();
      await reportTab.waitFor({ state: 'detached', timeout: 10_000 });
      await item.click();
      await reportTab.waitFor({ timeout: 10_000 });
      await wb!.webviewFrame().locator(`tr[data-package="${SUBJECT}@${subjectVersion}"][data-verdict="allowed"]`).waitFor({ timeout: 30_000 });
    });
  } finally {
    const started = Date.now();
    await browser?.close();
    await server?.stop();
    await registry?.close();
    rmSync(work, { recursive: true, force: true });
    timings['teardown'] = Date.now() - started;
    t.diagnostic(`timings (ms): ${JSON.stringify(timings)}`);
  }
});

/**
 * Drags the sash between the editor and the panel so the panel starts at `top` (a fraction of
 * the window's height). The Problems list is virtual (only rows on screen exist): at 0.42 it
 * shows every package.json warning with its related lines while the editor still shows the
 * dependencies.
 */
async function placePanel(wb: Workbench, top: number): Promise<void> {
  const panel = await wb.page.locator('.part.panel').boundingBox();
  const viewport = wb.page.viewportSize();
  if (!panel || !viewport) throw new Error('no panel on screen');
  const targetTop = Math.round(viewport.height * top);
  if (Math.abs(panel.y - targetTop) < 4) return;
  await wb.page.mouse.move(panel.x + panel.width / 2, panel.y + 1);
  await wb.page.mouse.down();
  await wb.page.mouse.move(panel.x + panel.width / 2, targetTop, { steps: 8 });
  await wb.page.mouse.up();
}

/** Polls the status bar until an item reads exactly `text`; returns that item. */
async function waitForStatus(wb: Workbench, text: string, timeoutMs = 30_000): Promise<Locator> {
  const item = wb.page.locator('.part.statusbar .statusbar-item').filter({ hasText: new RegExp(`^\\s*${text}\\s*$`) }).first();
  try {
    await item.waitFor({ timeout: timeoutMs });
  } catch {
    throw new Error(`no status bar item "${text}" within ${timeoutMs} ms; it showed ${JSON.stringify(await wb.statusBarItems())}`);
  }
  return item;
}

/**
 * A screenshot of the editor area around a widget (a hover, the Quick Fix menu), so the words
 * are legible at README size: the widget's box grown to the editor's left edge and some margin.
 */
async function screenshotAround(wb: Workbench, name: string, selector: string): Promise<void> {
  const widget = await wb.page.locator(selector).first().boundingBox();
  const editor = await wb.page.locator('.part.editor').boundingBox();
  if (!widget || !editor) throw new Error(`no ${selector} on screen`);
  const x = Math.max(editor.x, 0);
  const y = Math.max(Math.min(widget.y, editor.y + 40) - 8, 0);
  const right = Math.min(Math.max(widget.x + widget.width + 24, x + 720), wb.page.viewportSize()!.width);
  const bottom = Math.min(widget.y + widget.height + 24, wb.page.viewportSize()!.height);
  mkdirSync(wb.screenshotDir, { recursive: true });
  await wb.page.screenshot({ path: join(wb.screenshotDir, `${name}.png`), clip: { x, y, width: right - x, height: bottom - y }, animations: 'disabled' });
}

/** Ctrl+. on `text`; returns the titles offered (the widget stays open). */
async function openQuickFixes(wb: Workbench, text: string): Promise<string[]> {
  await wb.clickText(text);
  await wb.page.keyboard.press('Control+.');
  const rows = wb.page.locator('.action-widget .monaco-list-row.action');
  await rows.first().waitFor({ timeout: 15_000 });
  const titles: string[] = [];
  for (const row of await rows.all()) titles.push((await row.getAttribute('aria-label')) ?? (await row.innerText()).trim());
  return titles;
}

// Runs in the webview's page: kept as source text (see the pitfalls in test/e2e/README.md).
const readRows = new Function('rows', `
  return rows.map((tr) => ({ package: tr.getAttribute('data-package'), verdict: tr.getAttribute('data-verdict') }));
`) as (rows: unknown[]) => { package: string; verdict: string }[];
