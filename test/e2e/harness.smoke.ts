/**
 * Proves the editor e2e harness without the real extension: builds a throwaway extension
 * (support/smokeExtension.ts), installs its .vsix into code-server, opens a sample folder in
 * chromium and drives every helper the Install Guard scenarios need: Problems panel, hover,
 * status bar, tree view, Quick Fix + save + file on disk, Command Palette + webview, and the
 * Restricted Mode (untrusted workspace) scenario. Screenshots go to .test-output/e2e/.
 *
 * Run: node --import tsx test/e2e/harness.smoke.ts   (after test/e2e/setup/setup-code-server.sh)
 * Exits non-zero on the first failed step. Prints timings and memory use.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerMissingReason, startCodeServer, writeWorkspaceSettings, type CodeServer, type TrustMode } from './support/codeServer';
import { launchBrowser, waitForFile, DEFAULT_SCREENSHOT_DIR, type BrowserSession, type Workbench, type Problem } from './support/browser';
import {
  buildSmokeExtension, writeSmokeWorkspace, SMOKE_COMMAND_TITLE, SMOKE_NOTES_NEEDLE, SMOKE_NOTIFICATION, SMOKE_QUICK_FIX_TITLE, SMOKE_TREE_TITLE,
} from './support/smokeExtension';

const timings: Record<string, number> = {};
const memory: Record<string, ReturnType<typeof treeMemory>> = {};
let passed = 0;

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const value = await run();
  timings[name] = Date.now() - started;
  passed++;
  console.log(`ok ${passed} - ${name} (${timings[name]} ms)`);
  return value;
}

/**
 * Memory of a process and all its descendants, from /proc: RSS counts pages shared between
 * processes once per process (chromium's many processes share a lot), PSS splits them fairly.
 */
function treeMemory(rootPid: number): { processes: number; rssMiB: number; pssMiB: number } {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      // Field 4 of /proc/PID/stat is the parent; the name before it may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended while we read it.
    }
  }
  const tree = new Set([rootPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parent) if (tree.has(ppid) && !tree.has(pid)) { tree.add(pid); grew = true; }
  }
  let rss = 0;
  let pss = 0;
  for (const pid of tree) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // Gone, or a kernel thread.
    }
  }
  return { processes: tree.size, rssMiB: Math.round(rss / 1024), pssMiB: Math.round(pss / 1024) };
}

/** The chromium that playwright started for `session`: our child with its profile on the command line. */
function chromiumPid(session: BrowserSession): number {
  for (const entry of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(session.profileDir)) return Number(entry);
    } catch {
      // The process ended while we read it.
    }
  }
  throw new Error('chromium process not found');
}

function sampleMemory(label: string, server: CodeServer, browser: BrowserSession): void {
  memory[`code-server, ${label}`] = treeMemory(server.pid);
  memory[`chromium, ${label}`] = treeMemory(chromiumPid(browser));
}

const isSmokeScript = (p: Problem): boolean => p.source === 'e2e-smoke' && p.message.includes('install script "postinstall"');

let server: CodeServer | undefined;
let browser: BrowserSession | undefined;
let workbench: Workbench | undefined;

/** A fresh server and browser in the given trust mode; returns the smoke diagnostic it shows. */
async function trustScenario(trust: TrustMode, answer?: (wb: Workbench) => Promise<void>): Promise<Problem> {
  await browser?.close();
  await server?.stop();
  const ws = writeSmokeWorkspace(join(work, trust));
  server = await startCodeServer({ vsix: [smokeVsix], trust });
  browser = await launchBrowser();
  workbench = await browser.openWorkbench(server.folderUrl(ws));
  if (answer) await answer(workbench);
  await workbench.quickOpen('package.json');
  return workbench.waitForProblem(isSmokeScript, 60_000);
}

let smokeVsix = '';
let work = '';

async function main(): Promise<void> {
  const missing = codeServerMissingReason();
  if (missing) throw new Error(missing);
  work = mkdtempSync(join(tmpdir(), 'ig-e2e-smoke-'));
  // A stale picture from an earlier run would pass for this run's (the folder is shared with the suite).
  if (existsSync(DEFAULT_SCREENSHOT_DIR)) {
    for (const f of readdirSync(DEFAULT_SCREENSHOT_DIR)) if (f.startsWith('smoke-')) rmSync(join(DEFAULT_SCREENSHOT_DIR, f));
  }
  try {
    const vsix = await step('package the throwaway extension with vsce', () => buildSmokeExtension(work));
    smokeVsix = vsix;
    const ws = writeSmokeWorkspace(work);
    const manifest = join(ws, 'package.json');

    server = await step('install the .vsix and start code-server', () => startCodeServer({ vsix: [vsix] }));
    browser = await launchBrowser();
    workbench = await step('open the folder in chromium and wait for the workbench', () => browser!.openWorkbench(server!.folderUrl(ws)));
    const wb = workbench;

    await step('Quick Open package.json; the diagnostic shows in the Problems panel, its filter works', async () => {
      await wb.quickOpen('package.json');
      const problem = await wb.waitForProblem(isSmokeScript, 60_000);
      assert.equal(problem.severity, 'warning');
      assert.equal(problem.code, 'SMOKE001');
      assert.equal(problem.line, 6);
      assert.match(problem.message, /trusted=true/);
      assert.match(problem.file, /workspace\/package\.json$/);
      assert.equal((await wb.problems({ filter: 'no such problem text' })).length, 0);
      assert.equal((await wb.problems({ filter: 'postinstall' })).filter(isSmokeScript).length, 1);
      assert.equal((await wb.problems({ filter: '' })).filter(isSmokeScript).length, 1);
      await wb.screenshot('smoke-01-problems');
    });
    timings['code-server: install the .vsix'] = server.timings.installMs;
    timings['code-server: start until /healthz answers'] = server.timings.startMs;
    sampleMemory('with the folder open', server, browser);

    await step('hover a dependency name shows the extension\'s hover', async () => {
      const text = await wb.hover('left-pad', { contains: 'e2e-smoke hover' });
      assert.match(text, /dependency left-pad runs no install script/);
      await wb.screenshot('smoke-02-hover');
      await wb.page.mouse.move(1, 1);
    });

    await step('status bar item and Explorer tree view show the extension\'s text', async () => {
      const items = await wb.statusBarItems();
      assert.ok(items.some((t) => t.includes('e2e-smoke: 1 unreviewed')), `status bar: ${JSON.stringify(items)}`);
      const rows = await wb.viewRows(SMOKE_TREE_TITLE);
      assert.deepEqual(rows, ['dep: left-pad', 'dep: esbuild']);
    });

    await step('a workspace setting written while running applies live (line numbers off)', async () => {
      const lineNumbers = wb.page.locator('.part.editor .monaco-editor .line-numbers');
      assert.ok((await lineNumbers.count()) > 0, 'the editor shows no line numbers to begin with');
      writeWorkspaceSettings(ws, { 'editor.lineNumbers': 'off' });
      await lineNumbers.first().waitFor({ state: 'detached', timeout: 15_000 });
      rmSync(join(ws, '.vscode'), { recursive: true });
      await lineNumbers.first().waitFor({ timeout: 15_000 });
    });

    await step('Quick Fix + save changes package.json on disk and clears the diagnostic', async () => {
      const offered = await wb.quickFix('postinstall', SMOKE_QUICK_FIX_TITLE);
      assert.ok(offered.includes(SMOKE_QUICK_FIX_TITLE), `offered: ${JSON.stringify(offered)}`);
      await wb.save();
      const saved = await waitForFile(manifest, (c) => c.includes('"reviewed-postinstall"'));
      assert.equal(JSON.parse(saved).scripts['reviewed-postinstall'], 'node setup.js');
      await wb.waitForNoProblem(isSmokeScript);
      await wb.screenshot('smoke-03-after-fix');
    });

    await step('Command Palette runs a command: its webview\'s text and its notification are read', async () => {
      await wb.runCommand(SMOKE_COMMAND_TITLE);
      assert.equal(await wb.webviewText('#count'), '2 dependencies');
      assert.match(await wb.webviewText('ul'), /left-pad\s+esbuild/);
      await wb.page.locator('.notifications-toasts .notification-list-item').first().waitFor({ timeout: 10_000 });
      assert.ok((await wb.notifications()).includes(SMOKE_NOTIFICATION), `toasts: ${JSON.stringify(await wb.notifications())}`);
      await wb.screenshot('smoke-04-webview');
    });
    await step('text below the visible lines is found (Find widget) and clicked', async () => {
      await wb.quickOpen('notes.txt');
      await wb.clickText(SMOKE_NOTES_NEEDLE);
      const items = await wb.statusBarItems();
      assert.ok(items.some((t) => /^Ln 200, Col \d+$/.test(t)), `status bar: ${JSON.stringify(items)}`);
    });
    sampleMemory('after all steps (three editors, a webview)', server, browser);

    await step('Restricted Mode: an untrusted folder runs the extension with isTrusted=false', async () => {
      const problem = await trustScenario('untrusted');
      assert.match(problem.message, /trusted=false/);
      assert.ok((await workbench!.statusBarItems()).some((t) => t.includes('Restricted Mode')), 'no Restricted Mode in the status bar');
      await workbench!.screenshot('smoke-05-restricted-mode');
    });

    await step('trust prompt answered "Yes": the extension sees isTrusted=true', async () => {
      const problem = await trustScenario('prompt', async (wb) => {
        await wb.page.locator('.monaco-dialog-box').waitFor({ timeout: 30_000 });
        await wb.screenshot('smoke-06-trust-prompt');
        await wb.answerTrustDialog(true);
      });
      assert.match(problem.message, /trusted=true/);
    });
  } catch (e) {
    if (workbench) await workbench.screenshot('smoke-failure').catch(() => undefined);
    if (server) console.error(`--- code-server output ---\n${server.output().slice(-4000)}`);
    throw e;
  } finally {
    await browser?.close();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const started = Date.now();
main().then(
  () => {
    console.log('timings (ms):', JSON.stringify(timings, null, 2));
    console.log('memory (MiB; PSS counts shared pages once):', JSON.stringify(memory, null, 2));
    console.log(`total ${Date.now() - started} ms; screenshots in .test-output/e2e/`);
    console.log(`e2e-smoke: ${passed} passed, 0 failed`);
  },
  (e: unknown) => {
    console.error(`not ok ${passed + 1} -`, e instanceof Error ? e.stack ?? e.message : e);
    console.log(`e2e-smoke: ${passed} passed, 1 failed`);
    process.exitCode = 1;
  },
);
