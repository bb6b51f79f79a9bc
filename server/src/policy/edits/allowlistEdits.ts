/**
 * The fixes that write to the allowlist the installing tool itself enforces (or the one
 * allowlistTarget.ts picks instead): allow a package (pinned to its locked version unless
 * asked otherwise), deny it, approve every unreviewed one, prune stale entries. Each returns TextEdits against the texts it was
 * given, preserving formatting and comments; applying a fix twice changes nothing the
 * second time, because every step first looks for the entry it would write.
 *
 * Denials are name-only by default, as npm's own writer does them (the RFC's
 * "asymmetric pin rule", npm lib/utils/allow-scripts-writer.js): a reviewed-and-rejected
 * script should stay rejected when the version changes.
 */
import { basename, dirname, join } from 'node:path';
import type { AllowlistRule, FixEdit, NativePolicy } from '../types';
import { EditRefusedError } from './applyEdits';
import { EditSession, type Place, type ProjectTexts } from './editSession';
import type { EditTarget } from '../allowlists/allowlistKeys';
import { writeBun, writeLavamoat, writeNpm, writePnpm, writeYarn, type Action, type Outcome } from './allowlistWriters';

export type { EditTarget } from '../allowlists/allowlistKeys';
export type { ProjectTexts } from './editSession';

/** The current texts: absolute path -> text (a missing file is absent), with or without the root. */
export type FixTexts = ReadonlyMap<string, string> | ProjectTexts;

export interface EditOptions {
  /** Allow: default true (only the locked version). Deny: default false (every version). */
  pinned?: boolean;
}

/** A FixEdit that also says whether there was anything to do, or why it cannot be done. */
export interface PolicyFix extends FixEdit {
  status: 'edit' | 'unchanged' | 'refused';
  /** Why the fix was refused (a half-typed package.json, a format that cannot name the package). */
  reason: string | null;
  /** Files the edits create (the editor adds a CreateFile to its WorkspaceEdit). */
  createsFiles: string[];
}

export function allowPackage(policy: NativePolicy, target: EditTarget, options: EditOptions, texts: FixTexts): PolicyFix {
  return runFix(policy, texts, `Allow the install scripts of ${target.name}@${target.version}`, (session) => {
    const outcome = write(session, policy, target, 'allow', options.pinned ?? true);
    return { ...titles(target, 'allow', outcome), limitations: outcome.limitations, preferred: true };
  });
}

export function denyPackage(policy: NativePolicy, target: EditTarget, options: EditOptions, texts: FixTexts): PolicyFix {
  return runFix(policy, texts, `Deny the install scripts of ${target.name}`, (session) => {
    const outcome = write(session, policy, target, 'deny', options.pinned ?? false);
    return { ...titles(target, 'deny', outcome), limitations: outcome.limitations, preferred: false };
  });
}

/** Allows every given (unreviewed) package, pinned, like `npm install-scripts approve --all`. */
export function approveAll(policy: NativePolicy, packages: readonly EditTarget[], texts: FixTexts): PolicyFix {
  return runFix(policy, texts, `Approve the install scripts of ${packages.length} packages`, (session) => {
    const limitations: string[] = [];
    const skipped: string[] = [];
    const places = new Set<string>();
    let written = 0;
    for (const target of packages) {
      const checkpoint = session.checkpoint();
      const before = JSON.stringify(session.edits());
      try {
        const outcome = write(session, policy, target, 'allow', true);
        places.add(outcome.where);
        for (const limitation of outcome.limitations) if (!limitations.includes(limitation)) limitations.push(limitation);
        if (JSON.stringify(session.edits()) !== before) written++;
      } catch (error) {
        if (!(error instanceof EditRefusedError)) throw error;
        // A package that cannot be written leaves no half-made edit behind.
        session.restore(checkpoint);
        skipped.push(`${target.name}@${target.version} (${error.message})`);
      }
    }
    if (skipped.length > 0) limitations.push(`Not approved: ${skipped.join('; ')}.`);
    if (skipped.length === packages.length && packages.length > 0) throw new EditRefusedError(limitations.join(' '));
    const where = [...places].join(', ') || 'the allowlist';
    return {
      title: `Approve the install scripts of ${written} package${written === 1 ? '' : 's'}, pinned to their locked versions, in ${where}`,
      unchangedTitle: `Every package is already approved in ${where}`,
      limitations,
      preferred: false,
    };
  });
}

/** Removes the entries of the given rules (stale: they match nothing locked). */
export function pruneStale(policy: NativePolicy, staleRules: readonly AllowlistRule[], texts: FixTexts): PolicyFix {
  return runFix(policy, texts, 'Remove stale allowlist entries', (session) => {
    const limitations: string[] = [];
    const files = new Set<string>();
    for (const rule of staleRules) {
      if (session.current(rule.file) === null) {
        limitations.push(`${session.label(rule.file)} no longer exists, so "${rule.key}" is already gone.`);
        continue;
      }
      files.add(session.label(rule.file));
      removeRule(session, rule);
    }
    const keys = staleRules.map((r) => `"${r.key}"`).join(', ');
    return {
      title: `Remove ${staleRules.length} stale allowlist entr${staleRules.length === 1 ? 'y' : 'ies'} (${keys}) from ${[...files].join(', ')}`,
      unchangedTitle: `The stale entries (${keys}) are already gone`,
      limitations,
      preferred: false,
    };
  });
}

// ---- running a fix ----

interface Built {
  title: string;
  unchangedTitle: string;
  limitations: string[];
  preferred: boolean;
}

/**
 * The project root: the policy's own when its reader recorded it, else the directory of
 * the shallowest package.json it read (the root manifest is always among its files).
 */
function projectTexts(policy: NativePolicy, texts: FixTexts): ProjectTexts {
  if (!(texts instanceof Map) && 'root' in texts) return texts as ProjectTexts;
  const files = texts as ReadonlyMap<string, string>;
  if (policy.root) return { root: policy.root, files };
  const manifests = [...policy.files, ...files.keys()].filter((f) => basename(f) === 'package.json').sort((a, b) => a.length - b.length);
  if (manifests.length === 0) throw new EditRefusedError('the project root is unknown: no package.json among the policy files');
  return { root: dirname(manifests[0]!), files };
}

function runFix(policy: NativePolicy, texts: FixTexts, refusedTitle: string, build: (session: EditSession) => Built): PolicyFix {
  try {
    const session = new EditSession(projectTexts(policy, texts));
    const built = build(session);
    const edits = session.edits();
    return {
      title: edits.length > 0 ? built.title : built.unchangedTitle,
      edits,
      preferred: built.preferred && edits.length > 0,
      limitation: built.limitations.length > 0 ? built.limitations.join(' ') : null,
      status: edits.length > 0 ? 'edit' : 'unchanged',
      reason: null,
      createsFiles: session.createdFiles(),
    };
  } catch (error) {
    if (!(error instanceof EditRefusedError)) throw error;
    return { title: `${refusedTitle}: cannot be written`, edits: [], preferred: false, limitation: error.message, status: 'refused', reason: error.message, createsFiles: [] };
  }
}

function titles(target: EditTarget, action: Action, outcome: Outcome): Pick<Built, 'title' | 'unchangedTitle'> {
  const subject = outcome.pinned ? `${target.name}@${target.version}` : `every version of ${target.name}`;
  const verb = action === 'allow' ? 'Allow' : 'Deny';
  const notes = outcome.notes.length > 0 ? ` (${outcome.notes.join('; ')})` : '';
  return {
    title: outcome.title ?? `${verb} the install scripts of ${subject} in ${outcome.where}${notes}`,
    unchangedTitle: `${target.name}@${target.version} is already ${action === 'allow' ? 'allowed' : 'denied'} in ${outcome.where}`,
  };
}

function write(session: EditSession, policy: NativePolicy, target: EditTarget, action: Action, pinned: boolean): Outcome {
  const manifest = join(session.texts.root, 'package.json');
  const outcome: Outcome = { where: '', pinned: false, notes: [], limitations: [] };
  const { settings } = policy;
  // Yarn's `built: true` re-enables one package under enableScripts: false, and LavaMoat
  // needs the package manager's scripts off: for them the global switch is no obstacle.
  if (action === 'allow' && settings.scriptsDisabled && settings.tool !== 'yarn' && settings.tool !== 'lavamoat') {
    outcome.limitations.push(`Install scripts are off for every package (${settings.scriptsDisabled.what}), so the entry only takes effect once that switch is removed.`);
  }
  if (settings.tool === 'lavamoat' && !settings.scriptsDisabled) {
    outcome.limitations.push(`${settings.manager} still runs every script itself: LavaMoat's allowlist is enforced only once ${settings.manager === 'yarn' ? 'enableScripts: false' : 'ignore-scripts=true'} is set (allow-scripts setup does it).`);
  }
  if (settings.tool !== 'lavamoat' && settings.tool !== settings.manager) {
    outcome.limitations.push(`${settings.manager} installs this project and does not read ${settings.tool}'s allowlist: the entry counts only for installs with ${settings.tool}.`);
  }
  if (action === 'deny' && settings.allowAll) {
    outcome.limitations.push(`Every install script is allowed regardless of lists (${settings.allowAll.what}), so the deny only takes effect once that switch is removed.`);
  }
  switch (settings.tool) {
    case 'npm':
      return writeNpm(session, settings.version, target, action, pinned, manifest, outcome);
    case 'pnpm':
      return writePnpm(session, policy, target, action, pinned, outcome);
    case 'yarn':
      return writeYarn(session, settings.version, target, action, pinned, manifest, outcome);
    case 'bun':
      return writeBun(session, target, action, pinned, manifest, outcome);
    case 'lavamoat':
      return writeLavamoat(session, policy, target, action, pinned, manifest, outcome);
  }
}

// ---- pruning ----

function removeRule(session: EditSession, rule: AllowlistRule): void {
  const format = /\.ya?ml$/.test(rule.file) ? 'yaml' : 'json';
  const path = rule.field === 'onlyBuiltDependenciesFile' ? [] : rule.field.split('.');
  const place: Place = { file: rule.file, format, path };
  const near = session.mapOffset(rule.file, rule.span.start);
  let entries;
  try {
    entries = session.entries(place);
  } catch {
    entries = undefined;
  }
  if (entries) {
    if (!entries.some((e) => e.key === rule.key)) return;
    if (rule.field.endsWith('dependenciesMeta')) {
      // The rule is the `built` setting; other settings of the entry (optional, unplugged) stay.
      const value = entries.find((e) => e.key === rule.key)!.value;
      if (!value || typeof value !== 'object' || !('built' in value)) return;
      if (Object.keys(value).length > 1) {
        session.remove({ ...place, path: [...path, rule.key] }, 'built');
        return;
      }
    }
    session.remove(place, rule.key, near);
    return;
  }
  const items = (session.items(place) ?? []).map((item, index) => ({ ...item, index })).filter((i) => i.value === rule.key);
  if (items.length === 0) return;
  const nearest = items.reduce((best, i) => (Math.abs(i.offset - near) < Math.abs(best.offset - near) ? i : best));
  session.removeItem(place, nearest.index);
}
