/**
 * Quick fixes over the policy layer's edits: allow (pinned, or any version), deny, add a
 * time-bound exception (the client asks for reason and expiry first), approve every
 * unreviewed script, prune stale entries. Each fix is a WorkspaceEdit of minimal text
 * edits computed against the files' current text (open editors included), so formatting
 * and comments survive and nothing is rewritten behind the editor's back.
 */
import { join } from 'node:path';
import {
  CodeActionKind,
  type CodeAction,
  type CodeActionParams,
  type Diagnostic,
  type TextDocumentEdit,
  type WorkspaceEdit,
  type CreateFile,
} from 'vscode-languageserver';
import type { ProjectAnalysis } from '../engine';
import type { ReadText } from '../parse/project';
import { LineIndex } from '../parse/textPosition';
import { addException } from '../policy/edits/exceptionEdits';
import { allowPackage, approveAll, denyPackage, pruneStale, type EditTarget } from '../policy/edits/allowlistEdits';
import { policyForTarget } from '../policy/edits/allowlistTarget';
import { stepName } from '../policy/allowlists/ruleMatching';
import { planSafeVersion, type SafeVersionDeps } from '../policy/edits/safeVersion';
import { POLICY_FILE_NAME } from '../policy/policyFile';
import type { FixEdit } from '../policy/types';
import type { DiagnosticData } from './diagnostics';
import { COMMANDS, SERVER_COMMANDS, type AddExceptionArgs, type ApproveAllParams, type InstallGuardSettings, type PackageDecisionArgs } from './protocol';

export interface CodeActionContext {
  analysis: ProjectAnalysis;
  root: string;
  readText: ReadText;
  toUri: (path: string) => string;
  settings: InstallGuardSettings;
  now: Date;
  /** The project's registry client; without it no safe version is offered. */
  metadata?: SafeVersionDeps['metadata'] | null;
  /** The client shows disabled code actions (LSP `codeAction.disabledSupport`). */
  disabledSupport?: boolean;
}

/**
 * The registry's versions usually come from memory (the analysis fetched the packument);
 * when they do not and the registry is slow, the other fixes must not wait for it.
 */
const SAFE_VERSION_BUDGET_MS = 2_000;

/** Findings that another published version may cure. */
const SAFE_VERSION_CODES = new Set(['unreviewed-install-script', 'trust-downgrade', 'release-too-young', 'provenance-required']);

export async function codeActions(context: CodeActionContext & { file: string; params: CodeActionParams }): Promise<CodeAction[]> {
  const actions: CodeAction[] = [];
  const texts = await policyTexts(context);
  for (const diagnostic of context.params.context.diagnostics) {
    const data = diagnostic.data as DiagnosticData | undefined;
    if (!data || diagnostic.source !== 'Install Guard') continue;
    const target = targetOf(context.analysis, data);
    if ((data.code === 'unreviewed-install-script' || data.code === 'denied-package') && target) {
      const pinned = allowPackage(allowlistOf(context), target, { pinned: true }, texts);
      actions.push(quickFix(pinned, diagnostic, context, texts, data.code === 'unreviewed-install-script'));
      const anyVersion = allowPackage(allowlistOf(context), target, { pinned: false }, texts);
      if (anyVersion.title !== pinned.title) actions.push(quickFix(anyVersion, diagnostic, context, texts, false));
      if (data.code === 'unreviewed-install-script') actions.push(quickFix(denyPackage(allowlistOf(context), target, { pinned: false }, texts), diagnostic, context, texts, false));
    }
    if (SAFE_VERSION_CODES.has(data.code) && data.package && context.metadata) {
      const action = await safeVersionAction(data.package, data.code, diagnostic, context, texts);
      if (action) actions.push(action);
    }
    if ((data.code === 'stale-allowlist-entry' || data.code === 'pinned-version-not-locked') && data.finding?.rule) {
      const rule = context.analysis.policy.rules.find((r) => r.key === (data.finding!.rule as { key: string }).key && r.file === (data.finding!.rule as { file: string }).file);
      if (rule) actions.push(quickFix(pruneStale(context.analysis.policy, [rule], texts), diagnostic, context, texts, true));
    }
    if (data.package && data.code !== 'exception-expired' && data.code !== 'file-problem') {
      const args: AddExceptionArgs = { root: context.root, package: data.package.name, version: data.package.version, code: data.code };
      actions.push({
        title: `Add a time-bound exception for ${data.package.name}@${data.package.version} (${data.code})…`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        command: { title: 'Add exception', command: COMMANDS.addException, arguments: [args] },
      });
    }
  }
  const unreviewed = context.analysis.report.packages.filter((p) => p.policy.verdict === 'unreviewed');
  if (unreviewed.length > 1 || (unreviewed.length === 1 && actions.length === 0)) {
    actions.push({
      title: `Approve all ${unreviewed.length} unreviewed install scripts (pinned)`,
      kind: CodeActionKind.Source,
      command: { title: 'Approve all', command: SERVER_COMMANDS.approveAll, arguments: [{ uri: context.toUri(context.root) }] },
    });
  }
  return dedupe(actions);
}

/** The edits behind the server commands (report view buttons, approve all, exceptions). */
export async function executeServerCommand(command: string, raw: unknown, context: CodeActionContext): Promise<WorkspaceEdit | null> {
  const texts = await policyTexts(context);
  let fix: FixEdit;
  if (command === SERVER_COMMANDS.addException) {
    const args = raw as AddExceptionArgs;
    if (!args.reason || !args.expires) throw new Error('an exception needs a reason and an expiry date');
    const file = join(context.root, POLICY_FILE_NAME);
    fix = addException(texts.get(file) ?? null, file, { package: args.package, ...(args.version ? { version: args.version } : {}), code: args.code, reason: args.reason, expires: args.expires }, context.now);
  } else if (command === SERVER_COMMANDS.approveAll) {
    // The client sends the packages the user ticked; without a list, every unreviewed one.
    const chosen = (raw as ApproveAllParams).packages;
    const targets = context.analysis.report.packages
      .filter((p) => p.policy.verdict === 'unreviewed')
      .filter((p) => !chosen || chosen.some((c) => c.name === p.name && c.version === p.version))
      .map(toTarget);
    fix = approveAll(allowlistOf(context), targets, texts);
  } else if (command === SERVER_COMMANDS.allow || command === SERVER_COMMANDS.deny) {
    const args = raw as PackageDecisionArgs;
    const report = context.analysis.report.packages.find((p) => p.name === args.package && (args.version === null || p.version === args.version));
    if (!report) throw new Error(`${args.package}@${args.version ?? '*'} is not locked in ${context.root}`);
    const edit = command === SERVER_COMMANDS.allow ? allowPackage : denyPackage;
    fix = edit(allowlistOf(context), toTarget(report), { pinned: args.pinned }, texts);
  } else {
    throw new Error(`unknown command ${command}`);
  }
  return toWorkspaceEdit(fix, texts, context.toUri);
}

/**
 * "Pin <name> to <version> (exact)" / "Add override <name>@<version>", or — when no
 * published version satisfies the rules — a disabled action whose reason says why for
 * each candidate. For an unreviewed script, "allow" stays the preferred fix.
 */
async function safeVersionAction(target: { name: string; version: string }, code: string, diagnostic: Diagnostic, context: CodeActionContext, texts: ReadonlyMap<string, string>): Promise<CodeAction | null> {
  const plan = await withinBudget(planSafeVersion(context.analysis, target, { metadata: context.metadata!, now: context.now, texts }), SAFE_VERSION_BUDGET_MS);
  if (!plan) return null;
  if (plan.fix) return plan.fix.edits.length ? quickFix(plan.fix, diagnostic, context, texts, code !== 'unreviewed-install-script') : null;
  if (!context.disabledSupport) return null;
  return { title: `Pin a safe version of ${target.name}`, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], disabled: { reason: plan.explanation } };
}

/** The result, or null when it fails or takes longer than `ms`. */
async function withinBudget<T>(work: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([work.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

function quickFix(fix: FixEdit, diagnostic: Diagnostic, context: CodeActionContext, texts: ReadonlyMap<string, string>, preferred: boolean): CodeAction {
  return {
    title: fix.limitation ? `${fix.title} — ${fix.limitation}` : fix.title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [diagnostic],
    isPreferred: preferred && fix.preferred !== false,
    edit: toWorkspaceEdit(fix, texts, context.toUri),
  };
}

/** The policy the allow / deny / approve fixes write: the one `installGuard.allowlistTarget` names. */
function allowlistOf(context: CodeActionContext) {
  return policyForTarget(context.analysis.policy, context.settings.allowlistTarget);
}

/** Minimal text edits -> a WorkspaceEdit; files that do not exist yet are created first. */
export function toWorkspaceEdit(fix: FixEdit, texts: ReadonlyMap<string, string>, toUri: (path: string) => string): WorkspaceEdit {
  const documentChanges: (TextDocumentEdit | CreateFile)[] = [];
  const byFile = new Map<string, FixEdit['edits']>();
  for (const edit of fix.edits) byFile.set(edit.file, [...(byFile.get(edit.file) ?? []), edit]);
  for (const [file, edits] of byFile) {
    const text = texts.get(file);
    const uri = toUri(file);
    if (text === undefined) documentChanges.push({ kind: 'create', uri, options: { ignoreIfExists: true } });
    const lines = new LineIndex(text ?? '');
    documentChanges.push({
      textDocument: { uri, version: null },
      edits: edits.map((e) => ({ range: { start: lines.positionAt(e.span.start), end: lines.positionAt(e.span.end) }, newText: e.newText })),
    });
  }
  return { documentChanges };
}

/** The current text of every file a policy edit may touch. */
async function policyTexts(context: CodeActionContext): Promise<Map<string, string>> {
  const files = new Set([
    ...context.analysis.policy.files,
    // Every package.json: a safe-version pin edits the one that declares the package.
    ...context.analysis.report.inventory.manifests.map((m) => m.file),
    join(context.root, 'package.json'),
    join(context.root, 'pnpm-workspace.yaml'),
    join(context.root, POLICY_FILE_NAME),
  ]);
  const texts = new Map<string, string>();
  for (const file of files) {
    const text = await context.readText(file);
    if (text !== null) texts.set(file, text);
  }
  return texts;
}

function targetOf(analysis: ProjectAnalysis, data: DiagnosticData): EditTarget | null {
  if (!data.package) return null;
  const report = analysis.report.packages.find((p) => p.name === data.package!.name && p.version === data.package!.version);
  return report ? toTarget(report) : null;
}

function toTarget(report: ProjectAnalysis['report']['packages'][number]): EditTarget {
  return {
    name: report.name,
    version: report.version,
    resolved: report.resolved,
    source: report.source,
    paths: report.paths.map((path) => path.slice(1).map(stepName)),
  };
}

function dedupe(actions: CodeAction[]): CodeAction[] {
  const seen = new Set<string>();
  return actions.filter((a) => (seen.has(a.title) ? false : (seen.add(a.title), true)));
}
