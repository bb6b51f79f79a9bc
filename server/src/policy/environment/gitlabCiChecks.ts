/**
 * `.gitlab-ci.yml`: jobs whose `before_script` / `script` / `after_script` install with
 * dependency scripts enabled while secrets are in the job's environment.
 *
 * What counts as a secret here (names only):
 * - a job or global `variables:` entry with a credential-like name (see ciInstallPolicy) and
 *   a non-empty value, except one that only passes on $CI_JOB_TOKEN: every job has that
 *   token anyway, so naming it again adds no exposure;
 * - every entry of the job's `secrets:` (Vault, GCP Secret Manager, Azure Key Vault) and
 *   `id_tokens:` (OIDC tokens that are exchanged for cloud credentials).
 * CI/CD variables defined in the project settings are in every job implicitly; the file
 * cannot show them, so they are not counted.
 *
 * The job is read as GitLab builds it: `extends:` (deep-merged mappings, own keys win, up to
 * 11 levels), `<<: *anchor` merges, `!reference [job, key]` in script lists, `default:` /
 * top-level `before_script` and `after_script`, and `inherit: default|variables`.
 * before_script and script run in one shell (exports carry over); after_script runs in a
 * new shell in the same container (files written earlier, like `npm config set`, remain).
 * `include:` files are not followed.
 */
import { isScalar, isSeq, type Document, type Node, type Scalar } from 'yaml';
import type { Finding, FindingLocation } from '../../analysis/findings';
import type { Span } from '../../model/inventory';
import { scanScript, type ConfigWrite, type InstallCommand } from './installCommands';
import { ciInstallFinding, looksLikeSecretName, scriptsState, type CiContext, type ScriptsState, type SecretSource } from './ciInstallPolicy';
import { deref, locationOf, mapEntries, mapGet, scalarSourceMap, scalarText, seqItems } from './yamlSourceMap';

const GLOBAL_KEYWORDS = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'image', 'services', 'cache', 'before_script', 'after_script', 'spec', 'types']);
const SCRIPT_KEYS = ['before_script', 'script', 'after_script'] as const;
type ScriptKey = (typeof SCRIPT_KEYS)[number];
const MAX_EXTENDS_DEPTH = 11;

interface VariableDef {
  value: string;
  location: FindingLocation | null;
}

interface JobView {
  variables: Map<string, VariableDef>;
  /** `secrets:` and `id_tokens:` entries. */
  credentials: Map<string, SecretSource>;
  scripts: Partial<Record<ScriptKey, Node | null>>;
  inherit: Node | null;
}


function readVariables(doc: Document, file: string, node: unknown): Map<string, VariableDef> {
  const variables = new Map<string, VariableDef>();
  for (const { key, keyNode, value } of mapEntries(doc, node)) {
    // `NAME: value` or the expanded `NAME: { value: ..., description: ... }`.
    const text = scalarText(value) ?? scalarText(mapGet(doc, value, 'value')) ?? '';
    variables.set(key, { value: text, location: locationOf(file, keyNode) });
  }
  return variables;
}

function emptyView(): JobView {
  return { variables: new Map(), credentials: new Map(), scripts: {}, inherit: null };
}

function resolveJob(doc: Document, file: string, name: string, depth: number, seen: Set<string>): JobView {
  const node = mapGet(doc, doc.contents, name);
  const view = emptyView();
  if (!node || seen.has(name) || depth > MAX_EXTENDS_DEPTH) return view;
  const chain = new Set([...seen, name]);
  const extendsNode = mapGet(doc, node, 'extends');
  const parents = isSeq(extendsNode) ? seqItems(doc, extendsNode).map(scalarText) : [scalarText(extendsNode)];
  for (const parent of parents) {
    if (parent) mergeInto(view, resolveJob(doc, file, parent, depth + 1, chain));
  }
  const own = emptyView();
  own.variables = readVariables(doc, file, mapGet(doc, node, 'variables'));
  for (const [keyword, detail] of [['secrets', 'secrets:'], ['id_tokens', 'id_tokens: (OIDC)']] as const) {
    for (const { key, keyNode } of mapEntries(doc, mapGet(doc, node, keyword))) {
      own.credentials.set(key, { name: key, detail, location: locationOf(file, keyNode) });
    }
  }
  for (const { key, value } of mapEntries(doc, node)) {
    if ((SCRIPT_KEYS as readonly string[]).includes(key)) own.scripts[key as ScriptKey] = value;
    if (key === 'inherit') own.inherit = value;
  }
  mergeInto(view, own);
  return view;
}

function mergeInto(into: JobView, from: JobView): void {
  for (const [k, v] of from.variables) into.variables.set(k, v);
  for (const [k, v] of from.credentials) into.credentials.set(k, v);
  Object.assign(into.scripts, from.scripts);
  if (from.inherit) into.inherit = from.inherit;
}

/** `inherit: { default: false | [keys], variables: false | [names] }`: does the job take `what`? */
function inherits(doc: Document, inherit: Node | null, group: 'default' | 'variables', what: string): boolean {
  const node = mapGet(doc, inherit, group);
  if (!node) return true;
  if (isSeq(node)) return seqItems(doc, node).some((n) => scalarText(n) === what);
  return scalarText(node) !== 'false';
}

/** The script items in order, flattening nested lists and `!reference [job, key, ...]`. */
function scriptScalars(doc: Document, node: Node | null, depth = 0): Scalar[] {
  const resolved = deref(doc, node);
  if (!resolved || depth > 8) return [];
  if (isScalar(resolved)) return typeof resolved.value === 'string' ? [resolved as Scalar] : [];
  if (!isSeq(resolved)) return [];
  if (resolved.tag === '!reference') {
    let target: Node | null = doc.contents as Node | null;
    for (const key of seqItems(doc, resolved).map(scalarText)) target = key === null ? null : mapGet(doc, target, key);
    return scriptScalars(doc, target, depth + 1);
  }
  return seqItems(doc, resolved).flatMap((item) => scriptScalars(doc, item, depth + 1));
}

function onlyJobToken(value: string): boolean {
  return value.replace(/\$\{?CI_JOB_TOKEN\}?/g, '').trim() === '' && /CI_JOB_TOKEN/.test(value);
}

interface Hit {
  jobs: string[];
  span: Span;
  install: InstallCommand;
  state: ScriptsState;
  secrets: SecretSource[];
}

export function checkGitlabDocument(file: string, text: string, doc: Document, context: CiContext): Finding[] {
  const root = doc.contents;
  const globalVariables = readVariables(doc, file, mapGet(doc, root, 'variables'));
  const defaults = mapGet(doc, root, 'default');
  const hits = new Map<string, Hit>();
  for (const { key: jobName, value } of mapEntries(doc, root)) {
    if (GLOBAL_KEYWORDS.has(jobName) || jobName.startsWith('.') || !value) continue;
    const job = resolveJob(doc, file, jobName, 0, new Set());
    if (!('script' in job.scripts)) continue; // trigger jobs and half-defined entries run nothing here
    const variables = new Map<string, VariableDef>();
    for (const [name, def] of globalVariables) if (inherits(doc, job.inherit, 'variables', name)) variables.set(name, def);
    for (const [name, def] of job.variables) variables.set(name, def);

    const secrets: SecretSource[] = [...job.credentials.values()];
    for (const [name, def] of variables) {
      if (looksLikeSecretName(name) && def.value.trim() && !onlyJobToken(def.value)) {
        secrets.push({ name, detail: job.variables.has(name) ? 'job variables' : 'global variables', location: def.location });
      }
    }
    const env = new Map([...variables].map(([name, def]) => [name, def.value]));
    const scriptNode = (key: ScriptKey): Node | null => {
      if (key in job.scripts) return job.scripts[key] ?? null;
      if (key === 'script' || !inherits(doc, job.inherit, 'default', key)) return null;
      return mapGet(doc, defaults, key) ?? mapGet(doc, root, key);
    };
    const configWrites: ConfigWrite[] = [];
    let exported = new Map<string, string>();
    for (const key of SCRIPT_KEYS) {
      if (key === 'after_script') exported = new Map(); // a new shell
      for (const item of scriptScalars(doc, scriptNode(key))) {
        const mapped = scalarSourceMap(text, item);
        const facts = scanScript(mapped.value);
        for (const install of facts.installs) {
          const before = facts.exports.filter((e) => e.start < install.start).map((e) => [e.name, e.value] as const);
          const installEnv = new Map([...env, ...exported, ...before, ...install.env]);
          const state = scriptsState(install, { env: installEnv, configWrites, pnpmVersion: null }, context);
          if (state.off || secrets.length === 0) continue;
          const start = mapped.offsetAt(install.start);
          const span = { start, end: Math.max(start, mapped.offsetAt(install.end - 1) + 1) };
          const id = `${span.start}:${span.end}`;
          const hit = hits.get(id);
          if (hit) {
            hit.jobs.push(jobName);
            for (const s of secrets) if (!hit.secrets.some((h) => h.name === s.name)) hit.secrets.push(s);
          } else {
            hits.set(id, { jobs: [jobName], span, install, state, secrets: [...secrets] });
          }
        }
        for (const e of facts.exports) exported.set(e.name, e.value);
        configWrites.push(...facts.configWrites);
      }
    }
  }
  return [...hits.values()].map((hit) =>
    ciInstallFinding({
      file,
      span: hit.span,
      where: hit.jobs.length === 1 ? `job "${hit.jobs[0]}"` : `jobs ${hit.jobs.map((j) => `"${j}"`).join(', ')}`,
      command: hit.install.text,
      tool: hit.install.tool,
      state: hit.state,
      secrets: hit.secrets,
      context,
      platform: 'gitlab',
    }),
  );
}
