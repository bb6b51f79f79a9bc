/**
 * `install-guard allow|deny <pkg>[@version] [dir]`: the editor's quick fixes from a
 * terminal. Writes the governing allowlist, or the one --allowlist names (npm allowScripts, pnpm allowBuilds /
 * onlyBuiltDependencies, Yarn dependenciesMeta, Bun trustedDependencies, LavaMoat) with
 * the same minimal, formatting-preserving edits, pinned to the locked version unless
 * --any-version.
 */
import { resolve } from 'node:path';
import { analyzeProject } from '../engine';
import { readTextFromDisk } from '../parse/project';
import { allowPackage, denyPackage } from '../policy/edits/allowlistEdits';
import { policyForTarget } from '../policy/edits/allowlistTarget';
import { applyFixToFiles } from '../policy/edits/applyEdits';
import { defaultCacheDir } from '../registry/cacheDir';
import { MetadataClient } from '../registry/metadataClient';
import { loadRegistryConfig } from '../registry/npmConfig';
import type { EditArgs } from './args';

export async function editAllowlist(args: EditArgs): Promise<number> {
  const root = resolve(args.dir);
  const { name, version } = splitSpec(args.spec);
  const config = await loadRegistryConfig({ projectDir: root, env: process.env, ...(args.registry ? { registryOverride: args.registry } : {}) });
  const metadata = new MetadataClient({ config, cacheDir: args.cache ?? defaultCacheDir(process.env), offline: args.offline });
  const texts = new Map<string, string>();
  const readText = async (path: string) => {
    const text = await readTextFromDisk(path);
    if (text !== null) texts.set(path, text);
    return text;
  };
  const analysis = await analyzeProject(root, { readText, config, metadata, useInstalled: false });
  await metadata.flush();
  const locked = analysis.report.packages.filter((p) => p.name === name && (version === null || p.version === version));
  if (locked.length === 0) {
    process.stderr.write(`install-guard: ${args.spec} is not locked in ${root}\n`);
    return 2;
  }
  const edit = args.command === 'allow' ? allowPackage : denyPackage;
  const results = [];
  for (const report of args.anyVersion ? locked.slice(0, 1) : locked) {
    // Each edit is computed against the texts as the previous one left them.
    for (const file of analysis.policy.files) if (!texts.has(file)) await readText(file);
    const fix = edit(
      policyForTarget(analysis.policy, args.allowlist),
      { name: report.name, version: report.version, resolved: report.resolved, source: report.source, paths: report.paths.map((p) => p.slice(1)) },
      { pinned: !args.anyVersion },
      texts,
    );
    const changed = await applyFixToFiles(fix, texts);
    for (const file of changed) texts.set(file, (await readTextFromDisk(file)) ?? '');
    results.push({ fix, changed });
  }
  for (const { fix, changed } of results) {
    const where = changed.length ? `wrote ${changed.map((f) => f.slice(root.length + 1)).join(', ')}` : 'already there, nothing changed';
    process.stdout.write(`${fix.title}: ${where}\n`);
    if (fix.limitation) process.stdout.write(`  note: ${fix.limitation}\n`);
  }
  return 0;
}

/** "name", "name@1.2.3", "@scope/name@1.2.3" */
function splitSpec(spec: string): { name: string; version: string | null } {
  const at = spec.lastIndexOf('@');
  return at > 0 ? { name: spec.slice(0, at), version: spec.slice(at + 1) || null } : { name: spec, version: null };
}
