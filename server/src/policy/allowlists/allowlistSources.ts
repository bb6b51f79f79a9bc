/**
 * The files native allowlists live in, read with their own parsers and exact spans:
 * package.json (and other JSON) through jsonc-parser's tree, pnpm-workspace.yaml and
 * .yarnrc.yml through the `yaml` Document API (node.range), and .npmrc lines located in the
 * raw text only for spans — npm's own config loader decides their values. A malformed file
 * yields problems and whatever did parse; nothing here throws.
 */
import { findNodeAtLocation, getNodeValue, parseTree, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { join } from 'node:path';
import type { FileProblem, Lockfile, ProjectManifest, Span } from '../../model/inventory';
import type { RegistryConfig } from '../../registry/npmConfig';
import { describeSyntaxErrors, spanOf } from '../../parse/packageJson';
import { npmBoolean, scanNpmrc, type NpmrcEntry } from '../environment/npmrcChecks';
import type { ParsedKey } from './ruleMatching';
import type { AllowlistRule, GlobalSwitch, PolicyTool } from '../types';

/** What every tool's reader gets. */
export interface ReadContext {
  root: string;
  manifests: ProjectManifest[];
  /** The root package.json as a JSON tree (spans), or null without one. */
  pkg: JsonSource | null;
  lockfile: Lockfile | null;
  /** npm's configuration as npm loads it; null: only the project .npmrc text is read. */
  config: RegistryConfig | null;
  /** Reads a file (null when absent) and records it as an input of the policy. */
  read(path: string): Promise<string | null>;
  problems: FileProblem[];
  env: NodeJS.ProcessEnv;
  /** Only the governing tool's version-specific notes are reported. */
  governing: boolean;
}

/** One tool's reading of the project, for the version that will install. */
export interface ToolPart {
  /** The rules this tool applies. */
  rules: AllowlistRule[];
  /** Rules this tool does not apply (overridden, removed in this version, keys it ignores). */
  inactive: AllowlistRule[];
  declaredFields: string[];
  scriptsDisabled: GlobalSwitch | null;
  allowAll: GlobalSwitch | null;
  strict: GlobalSwitch | null;
  /** NativePolicy.variant. */
  variant?: string;
}

export function emptyPart(): ToolPart {
  return { rules: [], inactive: [], declaredFields: [], scriptsDisabled: null, allowAll: null, strict: null };
}

/** A version-specific note, reported only when this tool governs. */
export function note(ctx: ReadContext, file: string, message: string, span?: Span): void {
  if (!ctx.governing) return;
  // One note per file and message: a retired list is reported once, at its first entry.
  if (ctx.problems.some((p) => p.file === file && p.message === message)) return;
  ctx.problems.push(span ? { file, message, span } : { file, message });
}

/**
 * Files a rule whose key its own tool ignores (ParsedKey.ignored: a range, a tag, a name
 * pattern, ...) with the inactive ones, with a note at its entry saying why. The tool matches
 * nothing with such a key, so it must approve or deny nothing here either; left active it
 * would act on the bare name and approve every version. True when the rule was retired.
 */
export function retireIgnoredKey(ctx: ReadContext, inactive: AllowlistRule[], rule: AllowlistRule, ignored: string | null): boolean {
  if (ignored === null) return false;
  note(ctx, rule.file, ignored, rule.span);
  inactive.push(rule);
  return true;
}

/**
 * A boolean npm-config switch that is on (`ignore-scripts`, `strict-allow-scripts`, ...),
 * with where it was set; from npm's loader when there is one, else the project .npmrc.
 */
export async function configSwitch(ctx: ReadContext, key: string, what: string): Promise<GlobalSwitch | null> {
  if (ctx.config) {
    if (ctx.config.get(key) !== true) return null;
    const origin = ctx.config.originOf(key);
    if (!origin?.file) {
      return { file: origin?.layer === 'env' ? `environment (npm_config_${key.replace(/-/g, '_')})` : 'command line', span: null, what };
    }
    const text = await ctx.read(origin.file);
    return { file: origin.file, span: text === null ? null : (npmrcBoolean(text, key)?.span ?? null), what };
  }
  const file = join(ctx.root, '.npmrc');
  const text = await ctx.read(file);
  const found = text === null ? null : npmrcBoolean(text, key);
  return found?.value === true ? { file, span: found.span, what } : null;
}

export interface Entry {
  /** Object key, or the list item's string value. */
  key: string;
  value: unknown;
  span: Span;
  /** Index in a list; null for object entries. */
  index: number | null;
}

export function makeRule(
  tool: PolicyTool,
  file: string,
  field: string,
  entry: string,
  key: string,
  allow: boolean | null,
  span: Span,
  parsed: ParsedKey,
): AllowlistRule {
  return {
    tool,
    file,
    field,
    key,
    name: parsed.name,
    versions: parsed.versions,
    sourceSpec: parsed.sourceSpec,
    lavamoatPath: parsed.lavamoatPath,
    allow,
    span,
    entry,
  };
}

// ---------------------------------------------------------------------------------------
// JSON

export interface JsonSource {
  file: string;
  text: string;
  root: JsonNode | undefined;
  problems: FileProblem[];
}

/** package.json problems are reported by loadProject already; other JSON files report their own. */
export function jsonSource(file: string, text: string, reportSyntax: boolean): JsonSource {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  return { file, text, root, problems: reportSyntax ? describeSyntaxErrors(file, text, errors) : [] };
}


export function jsonNode(src: JsonSource, path: (string | number)[]): JsonNode | undefined {
  return src.root ? findNodeAtLocation(src.root, path) : undefined;
}

export function jsonValueAt(src: JsonSource, path: (string | number)[]): { value: unknown; span: Span } | null {
  const node = jsonNode(src, path);
  if (!node) return null;
  // The span of the whole property ("key": value) when there is one.
  const span = node.parent?.type === 'property' ? spanOf(node.parent) : spanOf(node);
  return { value: getNodeValue(node), span };
}

/** Entries of a JSON object at `path`; null when absent; a problem when it is not an object. */
export function jsonObjectEntries(src: JsonSource, path: string[], problems: FileProblem[]): Entry[] | null {
  const node = jsonNode(src, path);
  if (!node) return null;
  if (node.type !== 'object') {
    problems.push({ file: src.file, message: `"${path.join('.')}" must be an object; it is ignored`, span: spanOf(node) });
    return null;
  }
  const entries: Entry[] = [];
  for (const property of node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    if (!keyNode || typeof keyNode.value !== 'string') continue;
    entries.push({ key: keyNode.value, value: valueNode ? getNodeValue(valueNode) : undefined, span: spanOf(property), index: null });
  }
  return entries;
}

/** Items of a JSON array at `path` (non-strings become problems); null when absent. */
export function jsonStringItems(src: JsonSource, path: (string | number)[], label: string, problems: FileProblem[]): Entry[] | null {
  const node = jsonNode(src, path);
  if (!node) return null;
  if (node.type !== 'array') {
    problems.push({ file: src.file, message: `"${label}" must be a list of package names; it is ignored`, span: spanOf(node) });
    return null;
  }
  const items: Entry[] = [];
  (node.children ?? []).forEach((child, index) => {
    if (child.type !== 'string') {
      problems.push({ file: src.file, message: `"${label}[${index}]" is not a package name; it is ignored`, span: spanOf(child) });
      return;
    }
    items.push({ key: child.value as string, value: child.value, span: spanOf(child), index });
  });
  return items;
}

// ---------------------------------------------------------------------------------------
// YAML

export interface YamlSource {
  file: string;
  text: string;
  doc: Document | null;
  problems: FileProblem[];
}

export function yamlSource(file: string, text: string): YamlSource {
  const problems: FileProblem[] = [];
  let doc: Document | null = null;
  try {
    doc = parseDocument(text, { uniqueKeys: false });
    for (const error of doc.errors.slice(0, 5)) {
      problems.push({ file, message: `YAML syntax error: ${error.message.split('\n')[0]}`, span: { start: error.pos[0], end: Math.max(error.pos[1], error.pos[0] + 1) } });
    }
    if (doc.contents !== null && !isMap(doc.contents)) {
      problems.push({ file, message: 'expected a mapping of settings at the top level; nothing is read from it' });
      doc = null;
    }
  } catch (error) {
    problems.push({ file, message: `cannot read YAML: ${(error as Error).message.split('\n')[0]}` });
    doc = null;
  }
  return { file, text, doc, problems };
}

/** A top-level key's pair: its value node and the span of `key: value`. */
export function yamlTop(src: YamlSource, key: string): { node: YamlNode | null; span: Span } | null {
  const contents = src.doc?.contents;
  if (!isMap(contents)) return null;
  // The last occurrence wins, as when the file is loaded.
  for (const pair of [...contents.items].reverse()) {
    if (!isScalar(pair.key) || pair.key.value !== key) continue;
    const keyRange = pair.key.range ?? [0, 0, 0];
    const value = (pair.value ?? null) as YamlNode | null;
    const end = value?.range ? value.range[1] : keyRange[1];
    return { node: value, span: { start: keyRange[0], end } };
  }
  return null;
}

export function yamlScalarValue(node: YamlNode | null): unknown {
  return isScalar(node) ? node.value : node === null ? null : undefined;
}

/** Entries of a YAML mapping (`allowBuilds:`); non-mappings become a problem. */
export function yamlMapEntries(src: YamlSource, node: YamlNode | null, label: string, problems: FileProblem[]): Entry[] {
  if (node === null) return [];
  if (!isMap(node)) {
    problems.push({ file: src.file, message: `"${label}" must be a mapping; it is ignored`, span: rangeSpan(node) });
    return [];
  }
  const entries: Entry[] = [];
  for (const pair of node.items) {
    const keyNode = pair.key as YamlNode | null;
    if (!isScalar(keyNode) || keyNode.value === null || keyNode.value === undefined) continue;
    const value = (pair.value ?? null) as YamlNode | null;
    const start = keyNode.range?.[0] ?? 0;
    const end = value?.range ? value.range[1] : (keyNode.range?.[1] ?? start);
    entries.push({ key: String(keyNode.value), value: isScalar(value) ? value.value : value === null ? null : value, span: { start, end }, index: null });
  }
  return entries;
}

/** String items of a YAML sequence (`onlyBuiltDependencies:`). */
export function yamlStringItems(src: YamlSource, node: YamlNode | null, label: string, problems: FileProblem[]): Entry[] {
  if (node === null) return [];
  if (!isSeq(node)) {
    problems.push({ file: src.file, message: `"${label}" must be a list of package names; it is ignored`, span: rangeSpan(node) });
    return [];
  }
  const items: Entry[] = [];
  node.items.forEach((item, index) => {
    const child = item as YamlNode | null;
    if (!isScalar(child) || typeof child.value !== 'string') {
      problems.push({ file: src.file, message: `"${label}[${index}]" is not a package name; it is ignored`, ...(child ? { span: rangeSpan(child) } : {}) });
      return;
    }
    items.push({ key: child.value, value: child.value, span: rangeSpan(child), index });
  });
  return items;
}

function rangeSpan(node: YamlNode): Span {
  const range = node.range ?? [0, 0, 0];
  return { start: range[0], end: range[1] };
}

// ---------------------------------------------------------------------------------------
// .npmrc (spans only: the values come from npm's config loader)

/** The top-level entries of an .npmrc that set `key` (or `key[]`), in file order. */
export function npmrcEntries(text: string, key: string): NpmrcEntry[] {
  return scanNpmrc(text).filter((e) => e.section === null && (e.key === key || e.key === `${key}[]`));
}

/** The last top-level boolean `key` of an .npmrc, as npm reads it; 'env' when it is a ${VAR}. */
export function npmrcBoolean(text: string, key: string): { value: boolean | 'env'; span: Span } | null {
  const entry = npmrcEntries(text, key).pop();
  if (!entry) return null;
  return { value: npmBoolean(entry.value), span: { start: entry.keySpan.start, end: entry.valueSpan?.end ?? entry.keySpan.end } };
}

/** The comma-separated items of an `allow-scripts=a, b` entry, each with its own span. */
export function npmrcListItems(entry: NpmrcEntry): { item: string; span: Span }[] {
  if (entry.value === true || !entry.valueSpan) return [];
  const items: { item: string; span: Span }[] = [];
  let offset = entry.valueSpan.start;
  for (const part of entry.value.split(',')) {
    const lead = part.length - part.trimStart().length;
    const item = part.trim();
    if (item) items.push({ item, span: { start: offset + lead, end: offset + lead + item.length } });
    offset += part.length + 1;
  }
  return items;
}
