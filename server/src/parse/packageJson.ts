/**
 * package.json -> ProjectManifest, with the span of every dependency, override and the
 * packageManager field. jsonc-parser is error-tolerant: a half-typed file still yields
 * what parses, and the syntax errors come back as problems instead of an exception,
 * which is what an editor needs while the user types.
 */
import { parseTree, findNodeAtLocation, getNodeValue, printParseErrorCode } from 'jsonc-parser';
import type { Node as JsonNode, ParseError } from 'jsonc-parser';
import type {
  DependencyKind,
  FileProblem,
  ManifestDependency,
  OverrideEntry,
  ProjectManifest,
  Span,
} from '../model/inventory';
import { LineIndex } from './textPosition';

export const DEPENDENCY_KINDS: readonly DependencyKind[] = [
  'dependencies',
  'devDependencies',
  'optionalDependencies',
  'peerDependencies',
];

export interface ParsedManifest {
  manifest: ProjectManifest;
  problems: FileProblem[];
}

export function parsePackageJson(file: string, dir: string, text: string): ParsedManifest {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const problems = describeSyntaxErrors(file, text, errors);
  const json = root?.type === 'object' ? (getNodeValue(root) as Record<string, unknown>) : {};
  if (root && root.type !== 'object') {
    problems.push({ file, message: 'package.json must contain a JSON object', span: spanOf(root) });
  }
  const manifest: ProjectManifest = {
    file,
    dir,
    text,
    name: typeof json.name === 'string' ? json.name : null,
    version: typeof json.version === 'string' ? json.version : null,
    dependencies: root ? readDependencies(root) : [],
    overrides: root ? readOverrides(root) : [],
    packageManager: root ? readPackageManager(root) : null,
    workspaces: readWorkspaceGlobs(json.workspaces),
    json,
  };
  return { manifest, problems };
}

/** The text a JSON node covers (a key, a value, or a whole property). */
export function spanOf(node: JsonNode): Span {
  return { start: node.offset, end: node.offset + node.length };
}

function readDependencies(root: JsonNode): ManifestDependency[] {
  const result: ManifestDependency[] = [];
  for (const kind of DEPENDENCY_KINDS) {
    const block = findNodeAtLocation(root, [kind]);
    if (block?.type !== 'object') continue;
    for (const property of block.children ?? []) {
      const [key, value] = property.children ?? [];
      if (!key || typeof key.value !== 'string') continue;
      // A half-typed entry ("lodash": ) has no value yet; keep the name so hovers work.
      result.push({
        name: key.value,
        spec: typeof value?.value === 'string' ? value.value : '',
        kind,
        nameSpan: spanOf(key),
        specSpan: value ? spanOf(value) : spanOf(key),
      });
    }
  }
  return result;
}

function readOverrides(root: JsonNode): OverrideEntry[] {
  const result: OverrideEntry[] = [];
  const visit = (node: JsonNode, field: OverrideEntry['field'], keyPath: string[]): void => {
    for (const property of node.children ?? []) {
      const [key, value] = property.children ?? [];
      if (!key || typeof key.value !== 'string' || !value) continue;
      const path = [...keyPath, key.value];
      if (value.type === 'object') visit(value, field, path);
      else if (typeof value.value === 'string') {
        result.push({ field, keyPath: path, spec: value.value, span: spanOf(property) });
      }
    }
  };
  const fields: [OverrideEntry['field'], string[]][] = [
    ['overrides', ['overrides']],
    ['resolutions', ['resolutions']],
    ['pnpm.overrides', ['pnpm', 'overrides']],
  ];
  for (const [field, location] of fields) {
    const node = findNodeAtLocation(root, location);
    if (node?.type === 'object') visit(node, field, []);
  }
  return result;
}

function readPackageManager(root: JsonNode): ProjectManifest['packageManager'] {
  const node = findNodeAtLocation(root, ['packageManager']);
  if (node?.type !== 'string' || typeof node.value !== 'string') return null;
  // "pnpm@10.12.1+sha512.abc" — the hash after "+" pins the corepack download, not the version.
  const match = /^(@?[^@]+)@([^+]+)/.exec(node.value);
  if (!match) return null;
  return { name: match[1]!, version: match[2]!, span: spanOf(node) };
}

function readWorkspaceGlobs(value: unknown): string[] {
  const list = Array.isArray(value)
    ? value
    : value && typeof value === 'object' && Array.isArray((value as { packages?: unknown }).packages)
      ? (value as { packages: unknown[] }).packages
      : [];
  return list.filter((entry): entry is string => typeof entry === 'string');
}

export function describeSyntaxErrors(file: string, text: string, errors: ParseError[]): FileProblem[] {
  if (errors.length === 0) return [];
  const lines = new LineIndex(text);
  return errors.slice(0, 5).map((error) => {
    const at = lines.positionAt(error.offset);
    return {
      file,
      message: `JSON syntax error: ${describeErrorCode(printParseErrorCode(error.error))} at line ${at.line + 1}, column ${at.character + 1}`,
      span: { start: error.offset, end: error.offset + Math.max(1, error.length) },
    };
  });
}

function describeErrorCode(code: string): string {
  // "PropertyNameExpected" -> "property name expected"
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}
