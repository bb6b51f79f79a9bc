/**
 * Which allowlist the fixes write (`installGuard.allowlistTarget`, `install-guard allow
 * --allowlist`). By default ("auto") the one the installing tool enforces. A team may
 * want another: LavaMoat's allow-scripts over npm or Yarn, or a second package manager's
 * list in a repository installed with both (CI with pnpm, developers with Bun). The
 * fixes then see that tool's entries as the ones in force, so "already allowed" and the
 * pinning rules are that tool's, and the writer says when the installing tool will not
 * read what it wrote (allowlistEdits.ts).
 */
import type { NativePolicy, PolicyTool } from '../types';

export type AllowlistTarget = 'auto' | PolicyTool;

export const ALLOWLIST_TARGETS: readonly AllowlistTarget[] = ['auto', 'npm', 'pnpm', 'yarn', 'bun', 'lavamoat'];

export function policyForTarget(policy: NativePolicy, target: AllowlistTarget): NativePolicy {
  if (target === 'auto' || target === policy.settings.tool) return policy;
  // LavaMoat governs: its package manager's own policy is kept whole underneath.
  if (policy.underlying?.settings.tool === target) return policy.underlying;
  const base = policy.underlying ?? policy;
  const all = [...policy.rules, ...policy.inactiveRules];
  const rules = all.filter((rule) => rule.tool === target);
  // `base` is a package manager's own policy: no underlying one; its variant is its own.
  const { variant: _variant, ...rest } = base;
  return {
    ...rest,
    settings: {
      ...base.settings,
      tool: target,
      // The installing tool's version and switches say nothing about another tool's list
      // (the installing tool's own list returned above, through `auto` or `underlying`).
      version: null,
      versionSource: null,
      scriptsDisabled: target === 'lavamoat' ? base.settings.scriptsDisabled : null,
      allowAll: null,
      strict: null,
    },
    rules,
    inactiveRules: all.filter((rule) => rule.tool !== target),
    declaredFields: [...new Set(rules.map((rule) => rule.field))],
    ...(target === 'lavamoat' ? { underlying: base } : {}),
  };
}
