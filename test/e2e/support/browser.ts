/**
 * Drives VS Code for the web in Debian's chromium through playwright-core, as a user would:
 * keyboard shortcuts, Quick Open, the Command Palette, the Problems panel, hovers, Quick Fix,
 * views and webviews, screenshots. Selectors are VS Code 1.100's DOM (code-server 4.100.3);
 * every wait has a deadline and a failure says what was on screen instead.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { projectRoot } from '../../support/sharedFixtures';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Screenshots go here (gitignored); the best are copied to media/ by hand. */
export const DEFAULT_SCREENSHOT_DIR = join(projectRoot, '.test-output', 'e2e');

// As root on a closed network: no sandbox, no GPU, and no background connections (the machine
// refuses them, and chromium would retry them all the time).
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage',
];

export interface BrowserOptions {
  headless?: boolean;
  viewport?: { width: number; height: number };
  screenshotDir?: string;
}

export interface BrowserSession {
  readonly context: BrowserContext;
  readonly screenshotDir: string;
  /** The fresh chromium profile (its path is on chromium's command line, to find its processes). */
  readonly profileDir: string;
  /** Opens `url` (a CodeServer.folderUrl) in a new tab and waits for the workbench. */
  openWorkbench(url: string, timeoutMs?: number): Promise<Workbench>;
  close(): Promise<void>;
}

/** Launches chromium with a fresh profile directory, removed on close. */
export async function launchBrowser(options: BrowserOptions = {}): Promise<BrowserSession> {
  const profile = mkdtempSync(join(tmpdir(), 'ig-chromium-'));
  const screenshotDir = options.screenshotDir ?? DEFAULT_SCREENSHOT_DIR;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: options.headless ?? true,
    args: CHROMIUM_ARGS,
    viewport: options.viewport ?? { width: 1400, height: 900 },
    // VS Code reads the clipboard for some commands; a denied permission would throw in the page.
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  return {
    context,
    screenshotDir,
    profileDir: profile,
    async openWorkbench(url, timeoutMs = 90_000) {
      const blank = context.pages().find((p) => p.url() === 'about:blank');
      const page = blank ?? (await context.newPage());
      await page.goto(url);
      const workbench = new Workbench(page, screenshotDir);
      await workbench.waitForReady(timeoutMs);
      return workbench;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** One entry of the Problems panel. */
export interface Problem {
  file: string; // the resource row's path (absolute, as VS Code shows it in aria-label)
  severity: 'error' | 'warning' | 'info' | 'unknown';
  message: string;
  source: string;
  code: string;
  line: number;
  column: number;
}

const QUICK_INPUT = '.quick-input-widget';
const ACTIVE_EDITOR = '.part.editor .editor-group-container.active .editor-instance .monaco-editor';

export class Workbench {
  constructor(readonly page: Page, readonly screenshotDir: string) {}

  /**
   * Waits for the workbench and the Explorer, then (up to 15 s, not an error: the folder may be
   * empty) for the Explorer's first row: from then on the remote file system answers Quick Open.
   */
  async waitForReady(timeoutMs = 90_000): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
    await this.page.locator('.explorer-folders-view').waitFor({ timeout: timeoutMs });
    await this.page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 15_000 }).catch(() => undefined);
  }

  /** Ctrl+P, type a file name, open the first match; waits for its editor tab. */
  async quickOpen(fileName: string, timeoutMs = 20_000): Promise<void> {
    await this.openQuickInput('Control+P');
    await this.page.keyboard.type(fileName);
    // Wait for the row of this very file: the list first shows recently opened files, and an
    // Enter pressed before the search answers opens one of those instead.
    const base = fileName.split('/').pop()!;
    await this.clickQuickInputRow(base, timeoutMs, `Quick Open found no "${fileName}"`);
    await this.page.locator('.tabs-container .tab.active', { hasText: base }).waitFor({ timeout: timeoutMs });
    await this.page.locator(`${ACTIVE_EDITOR} .view-lines`).waitFor({ timeout: timeoutMs });
  }

  /** F1, type the command's title (e.g. "Install Guard: Audit Workspace"), run the exact match. */
  async runCommand(title: string, timeoutMs = 20_000): Promise<void> {
    await this.openQuickInput('F1');
    await this.page.keyboard.type(title);
    await this.clickQuickInputRow(title, timeoutMs, `no command titled "${title}" in the Command Palette`);
    await this.page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: timeoutMs });
  }

  /** Waits for the quick input row labelled exactly `label` and clicks it; fails with what it showed. */
  private async clickQuickInputRow(label: string, timeoutMs: number, failure: string): Promise<void> {
    const row = this.page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`)
      .filter({ has: this.page.locator('.label-name', { hasText: exactText(label) }) })
      .first();
    try {
      await row.waitFor({ timeout: timeoutMs });
    } catch {
      const seen = await this.quickInputRows();
      await this.page.keyboard.press('Escape');
      throw new Error(`${failure}; it showed: ${JSON.stringify(seen)}`);
    }
    await row.click();
  }

  /** The labels of the rows the quick input shows now. */
  async quickInputRows(): Promise<string[]> {
    return this.page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row .label-name`).allTextContents();
  }

  private async openQuickInput(key: string): Promise<void> {
    const widget = this.page.locator(QUICK_INPUT);
    if (await widget.isVisible()) await this.page.keyboard.press('Escape');
    await this.page.keyboard.press(key);
    await this.page.locator(`${QUICK_INPUT} .quick-input-box input`).waitFor({ timeout: 10_000 });
  }

  /** Shows the Problems panel (Ctrl+Shift+M only toggles focus, so it is pressed only when hidden). */
  async showProblems(): Promise<void> {
    const panel = this.page.locator('.markers-panel');
    if (!(await panel.isVisible())) {
      await this.page.keyboard.press('Control+Shift+M');
      await panel.waitFor({ timeout: 10_000 });
    }
  }

  /**
   * The Problems panel's entries, read from its rows. The list is virtual: only rows on screen
   * exist, so pass `filter` (typed into the panel's filter box) when there are many.
   */
  async problems(options: { filter?: string } = {}): Promise<Problem[]> {
    await this.showProblems();
    if (options.filter !== undefined) {
      const box = this.page.locator('.markers-panel-action-filter input, .viewpane-filter input').first();
      await box.fill(options.filter);
      await this.page.waitForTimeout(500); // the panel debounces its filter
    }
    return this.page.locator('.markers-panel .monaco-list').first().evaluate(readMarkerRows);
  }

  /** Polls the Problems panel until `predicate` matches an entry; fails with what it saw. */
  async waitForProblem(predicate: (p: Problem) => boolean, timeoutMs = 30_000): Promise<Problem> {
    let seen: Problem[] = [];
    const found = await poll(async () => {
      seen = await this.problems();
      return seen.find(predicate);
    }, timeoutMs);
    if (!found) throw new Error(`no matching problem within ${timeoutMs} ms; the panel showed: ${JSON.stringify(seen, null, 2)}`);
    return found;
  }

  /** Polls until no entry matches `predicate` (e.g. after a fix). */
  async waitForNoProblem(predicate: (p: Problem) => boolean, timeoutMs = 30_000): Promise<void> {
    let seen: Problem[] = [];
    const gone = await poll(async () => {
      seen = await this.problems();
      return seen.some(predicate) ? undefined : true;
    }, timeoutMs);
    if (!gone) throw new Error(`a matching problem was still shown after ${timeoutMs} ms: ${JSON.stringify(seen, null, 2)}`);
  }

  /**
   * Screen coordinates of the `nth` occurrence of `text` in the active editor's visible lines;
   * when it is not on screen, the Find widget scrolls to it first.
   */
  async textPosition(text: string, nth = 0): Promise<{ x: number; y: number }> {
    const lines = this.page.locator(`${ACTIVE_EDITOR} .view-lines`);
    await lines.waitFor({ timeout: 10_000 });
    let box = await lines.evaluate(locateText, { text, nth });
    if (!box) {
      await this.revealWithFind(text);
      box = await lines.evaluate(locateText, { text, nth: 0 });
    }
    if (!box) throw new Error(`"${text}" is not in the active editor`);
    return box;
  }

  private async revealWithFind(text: string): Promise<void> {
    await this.focusEditor();
    await this.page.keyboard.press('Control+F');
    const input = this.page.locator(`${ACTIVE_EDITOR} .find-widget textarea, ${ACTIVE_EDITOR} .find-widget input`).first();
    await input.fill(text);
    await this.page.keyboard.press('Enter');
    await this.page.keyboard.press('Escape');
  }

  /** Focuses the active editor without moving its cursor. */
  async focusEditor(): Promise<void> {
    await this.page.locator(`${ACTIVE_EDITOR} textarea.inputarea, ${ACTIVE_EDITOR} .native-edit-context`).first().focus();
  }

  /** Clicks into `text` in the active editor, which puts the cursor there. */
  async clickText(text: string, nth = 0): Promise<void> {
    const { x, y } = await this.textPosition(text, nth);
    await this.page.mouse.click(x, y);
  }

  /** Hovers the mouse over `text` in the active editor and returns the hover's text. */
  async hover(text: string, options: { nth?: number; contains?: string; timeoutMs?: number } = {}): Promise<string> {
    const { x, y } = await this.textPosition(text, options.nth ?? 0);
    // Move away first: a hover already showing for the same word is not re-rendered.
    await this.page.mouse.move(1, 1);
    await this.page.mouse.move(x, y, { steps: 4 });
    const hover = this.page.locator('.monaco-hover:not(.hidden) .monaco-hover-content')
      .filter(options.contains ? { hasText: options.contains } : {})
      .first();
    await hover.waitFor({ timeout: options.timeoutMs ?? 15_000 });
    // Other providers (VS Code's JSON server) may still be answering: wait for "Loading...".
    const read = async () => (await hover.innerText()).replace(/\u00a0/g, ' ').trim();
    return (await poll(async () => ((await read()).includes('Loading...') ? undefined : read()), 5_000)) ?? read();
  }

  /** Puts the cursor in `text`, opens Quick Fix (Ctrl+.), picks `actionTitle`. Returns all titles offered. */
  async quickFix(text: string, actionTitle: string, timeoutMs = 15_000): Promise<string[]> {
    await this.clickText(text);
    await this.page.keyboard.press('Control+.');
    const rows = this.page.locator('.action-widget .monaco-list-row.action');
    await rows.first().waitFor({ timeout: timeoutMs });
    const titles: string[] = [];
    for (const row of await rows.all()) titles.push((await row.getAttribute('aria-label')) ?? (await row.innerText()).trim());
    if (!titles.includes(actionTitle)) {
      await this.page.keyboard.press('Escape');
      throw new Error(`no quick fix "${actionTitle}"; offered: ${JSON.stringify(titles)}`);
    }
    // Keyboard, not a click: the widget lays a pointer block over the page until the mouse moves.
    const focused = this.page.locator('.action-widget .monaco-list-row.action.focused');
    for (let i = 0; i <= titles.length && (await focused.getAttribute('aria-label')) !== actionTitle; i++) {
      await this.page.keyboard.press('ArrowDown');
    }
    if ((await focused.getAttribute('aria-label')) !== actionTitle) throw new Error(`could not focus quick fix "${actionTitle}"`);
    await this.page.keyboard.press('Enter');
    await this.page.locator('.action-widget').waitFor({ state: 'hidden', timeout: timeoutMs });
    return titles;
  }

  /** Ctrl+S in the active editor; waits until its tab is no longer dirty. */
  async save(timeoutMs = 15_000): Promise<void> {
    await this.focusEditor();
    await this.page.keyboard.press('Control+S');
    await this.page.locator('.tabs-container .tab.active.dirty').waitFor({ state: 'detached', timeout: timeoutMs });
  }

  /** The visible texts of the status bar items, left to right (icons are not text). */
  async statusBarItems(): Promise<string[]> {
    const items = this.page.locator('.part.statusbar .statusbar-item');
    const labels: string[] = [];
    for (const item of await items.all()) {
      const text = (await item.innerText()).trim();
      if (text) labels.push(text);
    }
    return labels;
  }

  /** The row texts of a view (tree) whose header title is `title`, expanding it if collapsed. */
  async viewRows(title: string, timeoutMs = 15_000): Promise<string[]> {
    const pane = this.page.locator('.pane').filter({ has: this.page.locator('.pane-header .title', { hasText: exactText(title, 'i') }) }).first();
    await pane.waitFor({ timeout: timeoutMs });
    const header = pane.locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    const rows = pane.locator('.pane-body .monaco-list-row');
    await rows.first().waitFor({ timeout: timeoutMs });
    return (await rows.allInnerTexts()).map((t) => t.trim());
  }

  /**
   * The frame of the webview on screen (the newest, if several): VS Code nests the extension's
   * document in iframe#active-frame inside an iframe.webview; hidden webviews keep their iframes.
   */
  webviewFrame(): FrameLocator {
    return this.page.locator('iframe.webview.ready:visible').last().contentFrame().locator('iframe#active-frame').contentFrame();
  }

  /** innerText of `selector` in the webview on screen (an editor panel or a view). */
  async webviewText(selector = 'body', timeoutMs = 20_000): Promise<string> {
    const target = this.webviewFrame().locator(selector).first();
    await target.waitFor({ timeout: timeoutMs });
    return (await target.innerText()).trim();
  }

  /** Messages of the notification toasts on screen. */
  async notifications(): Promise<string[]> {
    return (await this.page.locator('.notifications-toasts .notification-list-item-message').allInnerTexts()).map((t) => t.trim());
  }

  /** Answers VS Code's "Do you trust the authors" dialog (trust mode 'prompt'). */
  async answerTrustDialog(trust: boolean, timeoutMs = 30_000): Promise<void> {
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: timeoutMs });
    await dialog.locator('.monaco-button', { hasText: trust ? /Yes, I trust/ : /No, I don.t trust/ }).first().click();
    await dialog.waitFor({ state: 'detached', timeout: timeoutMs });
  }

  /** Saves a PNG of the whole page (or of `locator`) as `<screenshotDir>/<name>.png`. */
  async screenshot(name: string, locator?: Locator): Promise<string> {
    mkdirSync(this.screenshotDir, { recursive: true });
    const file = join(this.screenshotDir, `${name}.png`);
    // Finished, not half-faded: hovers and dialogs fade in.
    if (locator) await locator.screenshot({ path: file, animations: 'disabled' });
    else await this.page.screenshot({ path: file, animations: 'disabled' });
    return file;
  }
}

/** Polls a file on disk until `predicate` holds for its content (an editor save is async). */
export async function waitForFile(path: string, predicate: (content: string) => boolean, timeoutMs = 15_000): Promise<string> {
  let content = '';
  const ok = await poll(async () => {
    content = readFileSync(path, 'utf8');
    return predicate(content) ? true : undefined;
  }, timeoutMs);
  if (!ok) throw new Error(`${path} did not reach the expected content within ${timeoutMs} ms; it is:\n${content}`);
  return content;
}

async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 250): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function exactText(text: string, flags = ''): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, flags);
}

// --- functions that run inside the page ---------------------------------------------------------
// Written as source text, not TypeScript functions: tsx/esbuild would wrap nested functions in
// `__name(...)` calls that do not exist in the page ("ReferenceError: __name is not defined"),
// and the project compiles without the DOM library anyway.

function pageFunction<A, R>(params: string[], body: string): (element: unknown, arg: A) => R {
  return new Function(...params, body) as (element: unknown, arg: A) => R;
}

/** Reads the Problems tree: resource rows name the file, the marker rows under them follow. */
const readMarkerRows = pageFunction<void, Problem[]>(['list'], `
  const rows = Array.from(list.querySelectorAll('.monaco-list-row'))
    .sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index));
  const out = [];
  let file = '';
  for (const row of rows) {
    const message = row.querySelector('.marker-message');
    if (!message) {
      const label = row.querySelector('.monaco-icon-label');
      file = (label && label.getAttribute('aria-label')) || row.textContent || '';
      continue;
    }
    const text = (sel) => ((row.querySelector(sel) || {}).textContent || '').trim();
    const icon = row.querySelector('.marker-icon');
    const severity = ['error', 'warning', 'info'].find((s) => icon && icon.classList.contains(s)) || 'unknown';
    const where = /Ln (\\d+), Col (\\d+)/.exec(text('.marker-line'));
    out.push({
      file, severity,
      message: text('.marker-message'), source: text('.marker-source'), code: text('.marker-code'),
      line: where ? Number(where[1]) : 0, column: where ? Number(where[2]) : 0,
    });
  }
  return out;
`);

/**
 * Finds the nth occurrence of arg.text in the rendered lines (a line is split into token spans,
 * Monaco renders spaces as U+00A0, and line elements are recycled out of order) and returns the
 * centre of its box in page coordinates, or null when it is not on screen.
 */
const locateText = pageFunction<{ text: string; nth: number }, { x: number; y: number } | null>(['viewLines', 'arg'], `
  const doc = viewLines.ownerDocument;
  const lines = Array.from(viewLines.querySelectorAll('.view-line'))
    .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
  let seen = 0;
  for (const line of lines) {
    const walker = doc.createTreeWalker(line, 4 /* NodeFilter.SHOW_TEXT */);
    const nodes = [];
    let joined = '';
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      nodes.push({ node: n, start: joined.length });
      joined += String(n.nodeValue).replace(/\\u00a0/g, ' ');
    }
    for (let from = joined.indexOf(arg.text); from >= 0; from = joined.indexOf(arg.text, from + 1)) {
      if (seen++ !== arg.nth) continue;
      const at = (offset) => {
        const hit = nodes.filter((e) => e.start <= offset).pop();
        return [hit.node, Math.min(offset - hit.start, hit.node.nodeValue.length)];
      };
      const range = doc.createRange();
      range.setStart(...at(from));
      range.setEnd(...at(from + arg.text.length));
      const r = range.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    }
  }
  return null;
`);
