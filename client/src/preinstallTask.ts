/**
 * "Run Pre-install Check" as a VS Code task: the bundled CLI's `install-guard check` on a
 * workspace folder, the same gate CI runs before `npm ci`. Its findings reach the
 * Problems panel through the `$install-guard` problem matchers (package.json), which
 * read the CLI's text output:
 *
 *     ␣␣<severity padded to 7> <code>␣␣<file relative to the root>:<1-based line>
 *     ␣␣␣␣␣␣␣␣␣␣<message>
 *
 * `$install-guard` takes findings with a line, `$install-guard-file` those without one.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import * as vscode from 'vscode';

export const TASK_TYPE = 'install-guard';
export const PROBLEM_MATCHERS = ['$install-guard', '$install-guard-file'];

export type FailOn = 'error' | 'warning' | 'info' | 'none';

export interface PreinstallTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  task: 'check';
  /** Lowest severity that fails the task (and a CI job); default "warning". */
  failOn?: FailOn;
}

export function registerPreinstallTask(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.tasks.registerTaskProvider(TASK_TYPE, new PreinstallTaskProvider(context)));
}

class PreinstallTaskProvider implements vscode.TaskProvider {
  constructor(private readonly context: vscode.ExtensionContext) {}

  provideTasks(): vscode.Task[] {
    return (vscode.workspace.workspaceFolders ?? [])
      .filter((folder) => folder.uri.scheme === 'file')
      .map((folder) => createPreinstallTask(this.context, folder, { type: TASK_TYPE, task: 'check' }));
  }

  /** A tasks.json entry `{ "type": "install-guard", "task": "check" }` gets its execution here. */
  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const definition = task.definition as Partial<PreinstallTaskDefinition>;
    if (definition.type !== TASK_TYPE || definition.task !== 'check') return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
    if (!folder) return undefined;
    return createPreinstallTask(this.context, folder, definition as PreinstallTaskDefinition, task.definition);
  }
}

export function createPreinstallTask(
  context: vscode.ExtensionContext,
  folder: vscode.WorkspaceFolder,
  definition: PreinstallTaskDefinition,
  /** resolveTask must hand back the very definition object it was given. */
  original: vscode.TaskDefinition = definition,
): vscode.Task {
  const cli = context.asAbsolutePath(join('dist', 'cli', 'install-guard.js'));
  const settings = vscode.workspace.getConfiguration('installGuard', folder.uri);
  const args = [cli, 'check', '${workspaceFolder}', '--format', 'text', '--fail-on', definition.failOn ?? 'warning'];
  const registry = settings.get<string>('registry', '').trim();
  if (registry) args.push('--registry', registry);
  if (settings.get<boolean>('offline', false)) args.push('--offline');
  // Share the language server's metadata cache, so a check right after editing is warm.
  if (context.globalStorageUri.scheme === 'file') {
    args.push('--cache', vscode.Uri.joinPath(context.globalStorageUri, 'metadata-cache').fsPath);
  }

  const node = nodeRuntime();
  const execution = new vscode.ProcessExecution(node.command, args, {
    cwd: folder.uri.fsPath,
    // The matchers read plain lines; colour codes would only get in their way.
    env: { ...node.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  const task = new vscode.Task(original, folder, 'pre-install check', 'Install Guard', execution, PROBLEM_MATCHERS);
  task.detail = 'install-guard check: what would run at install time, against the allowlist, before anything runs';
  task.group = vscode.TaskGroup.Test;
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
  return task;
}

/**
 * The CLI needs Node. The `node` on PATH is the one the project itself installs with;
 * without one, the editor's own runtime (Electron) can act as Node when told to.
 */
export function nodeRuntime(): { command: string; env: Record<string, string> } {
  const onPath = findOnPath(process.platform === 'win32' ? 'node.exe' : 'node');
  if (onPath) return { command: onPath, env: {} };
  return { command: process.execPath, env: { ELECTRON_RUN_AS_NODE: '1' } };
}

function findOnPath(executable: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, executable);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** Runs the check for the folder of the active file (or the one the user picks). */
export async function runPreinstallCheck(context: vscode.ExtensionContext): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Install Guard: tasks do not run in Restricted Mode. Trust the workspace to run the pre-install check.');
    return;
  }
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  const active = vscode.window.activeTextEditor?.document.uri;
  const activeFolder = active ? vscode.workspace.getWorkspaceFolder(active) : undefined;
  const folder =
    activeFolder && activeFolder.uri.scheme === 'file'
      ? activeFolder
      : folders.length <= 1
        ? folders[0]
        : await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Check which folder?' });
  if (!folder) {
    if (folders.length === 0) void vscode.window.showInformationMessage('Install Guard: open a folder with a package.json to check it.');
    return;
  }
  await vscode.tasks.executeTask(createPreinstallTask(context, folder, { type: TASK_TYPE, task: 'check' }));
}
