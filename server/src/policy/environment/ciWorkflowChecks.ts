/**
 * CI workflows that install dependencies with scripts enabled while secrets are in the
 * environment: the install hook of any dependency runs with the runner's credentials.
 *
 * GitHub Actions: what counts as a secret in a step's environment (names only, never values):
 * - a variable of the workflow's, job's or step's `env` whose value uses `${{ secrets.* }}`
 *   (or `toJSON(secrets)`), and, for an action step, `with:` inputs that do (the runner
 *   hands inputs to the action's process, and so to the install it runs, as INPUT_*);
 * - a variable with a credential-like name (NODE_AUTH_TOKEN, NPM_TOKEN, AWS_SECRET_ACCESS_KEY,
 *   GOOGLE_APPLICATION_CREDENTIALS, AZURE_CLIENT_SECRET, ...) set from any expression other
 *   than `vars.*` (step outputs of an OIDC exchange are credentials too); literal values
 *   are not counted (setup-node's docs use a placeholder NODE_AUTH_TOKEN for installs);
 * - the GITHUB_TOKEN (`github.token`, `secrets.GITHUB_TOKEN`) put in env counts unless the
 *   job's (or workflow's) `permissions:` are explicitly read-only: a read token of the same
 *   repository gives an install script nothing the checkout did not;
 * - `permissions: id-token: write`: the runner puts ACTIONS_ID_TOKEN_REQUEST_TOKEN in every
 *   step's environment, so an install script can mint the workflow's OIDC token and trade it
 *   for cloud credentials or, with npm trusted publishing, for a publish token;
 * - `${{ secrets.* }}` anywhere in the step's own `run:` script: the runner writes the script,
 *   expressions substituted, to a file under RUNNER_TEMP that exists while the step runs;
 * - left behind by earlier steps of the same job: variables appended to $GITHUB_ENV, secrets
 *   an earlier script wrote to a file or config (`> ~/.npmrc`, `npm config set`, `docker
 *   login`), credentials exported by aws-actions/configure-aws-credentials,
 *   google-github-actions/auth, azure/login, docker/login-action, and actions/checkout's
 *   persisted token (.git/config) when it is a secret, or the GITHUB_TOKEN with explicit write
 *   permissions. Env of an earlier step does not carry over.
 * Not followed: local and remote composite actions, reusable workflows, `npx` of a package.
 * GitLab CI is read in gitlabCiChecks.ts.
 */
import { isScalar, parseAllDocuments, parseDocument, Scalar, YAMLParseError, type Document, type Node } from 'yaml';
import type { Finding, FindingLocation } from '../../analysis/findings';
import type { Span } from '../../model/inventory';
import { scanScript, installOf, parseShell, type ConfigWrite, type InstallCommand, type InstallTool } from './installCommands';
import { ciInstallFinding, looksLikeSecretName, scriptsState, type CiContext, type SecretSource } from './ciInstallPolicy';
import { checkGitlabDocument } from './gitlabCiChecks';
import { environmentFinding } from './npmrcChecks';
import { deref, locationOf, mapEntries, mapGet, scalarSourceMap, scalarText, seqItems } from './yamlSourceMap';

type TokenAccess = 'write' | 'read' | 'unknown';

interface EnvVar {
  name: string;
  value: string;
  /** 'workflow env', 'job env', 'step env', '$GITHUB_ENV from step "x"'. */
  scope: string;
  location: FindingLocation | null;
}

const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;

function expressions(value: string): string[] {
  return [...value.matchAll(EXPRESSION)].map((m) => m[1]!.trim());
}

/** Secret names an expression text refers to; '*' for the whole `secrets` context. */
function secretRefs(value: string): string[] {
  const names: string[] = [];
  for (const expr of expressions(value)) {
    for (const m of expr.matchAll(/\bsecrets\b(?:\.([A-Za-z_][\w-]*)|\[\s*['"]([^'"]+)['"]\s*\])?/g)) names.push(m[1] ?? m[2] ?? '*');
  }
  return names;
}

function usesGithubToken(value: string): boolean {
  return secretRefs(value).some((n) => n.toUpperCase() === 'GITHUB_TOKEN') || expressions(value).some((e) => /\bgithub\.token\b/.test(e));
}

/** Whether a value hands over a secret, and which (names only). */
function secretDetail(name: string, value: string, access: TokenAccess): string | null {
  const refs = secretRefs(value).filter((n) => n.toUpperCase() !== 'GITHUB_TOKEN');
  if (refs.length) return refs.map((n) => (n === '*' ? 'all secrets' : `secrets.${n}`)).join(', ');
  if (usesGithubToken(value)) {
    if (access === 'read') return null;
    return access === 'write' ? 'GITHUB_TOKEN with write permissions' : 'GITHUB_TOKEN, permissions not restricted';
  }
  const exprs = expressions(value);
  if (looksLikeSecretName(name) && exprs.length && !exprs.every((e) => /^vars\./.test(e))) return `from ${exprs[0]}`;
  return null;
}


function envVars(doc: Document, file: string, node: unknown, scope: string): EnvVar[] {
  // `env: ${{ fromJSON(...) }}`: one expression for the whole block; its secrets still count.
  const whole = scalarText(deref(doc, node));
  if (whole !== null) return [{ name: 'env', value: whole, scope, location: locationOf(file, deref(doc, node)) }];
  return mapEntries(doc, node).map(({ key, keyNode, value }) => ({
    name: key,
    value: scalarText(value) ?? '',
    scope,
    location: locationOf(file, keyNode),
  }));
}

interface TokenPermissions {
  github: TokenAccess;
  /** `id-token: write`: the runner gives every step ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  idToken: boolean;
  location: FindingLocation | null;
}

/** The job's `permissions:` (or the workflow's: a job's own replace them entirely). */
function tokenPermissions(doc: Document, file: string, node: Node | null): TokenPermissions {
  if (!node) return { github: 'unknown', idToken: false, location: null };
  const where = locationOf(file, node);
  const text = scalarText(node);
  if (text !== null) {
    const github = text === 'write-all' ? 'write' : text === 'read-all' ? 'read' : 'unknown';
    return { github, idToken: text === 'write-all', location: where };
  }
  const entries = mapEntries(doc, node);
  return {
    github: entries.some((e) => e.key !== 'id-token' && scalarText(e.value) === 'write') ? 'write' : 'read',
    idToken: entries.some((e) => e.key === 'id-token' && scalarText(e.value) === 'write'),
    location: where,
  };
}

/** Actions whose credentials stay in the job (env for later steps, or files) after they run. */
const CREDENTIAL_ACTIONS: [RegExp, string][] = [
  [/^aws-actions\/configure-aws-credentials$/i, 'AWS credentials'],
  [/^google-github-actions\/auth$/i, 'Google Cloud credentials'],
  [/^azure\/login$/i, 'Azure CLI session'],
  [/^docker\/login-action$/i, 'container registry login'],
];

interface Carried {
  env: EnvVar[];
  secrets: SecretSource[];
  configWrites: ConfigWrite[];
  pnpmVersion: string | null;
}

interface Install {
  command: Pick<InstallCommand, 'tool' | 'ignoreScriptsFlag' | 'text'> & { env: Map<string, string> };
  span: Span | null;
  /** Exported earlier in the same script. */
  exported: Map<string, string>;
}

function spanOf(node: Node | null): Span | null {
  return node?.range ? { start: node.range[0], end: node.range[1] } : null;
}

/** Installs in a shell text held by a YAML scalar, with spans in the file. */
function installsInScalar(text: string, node: Node | null): { installs: Install[]; facts: ReturnType<typeof scanScript> | null } {
  if (!isScalar(node) || typeof node.value !== 'string') return { installs: [], facts: null };
  const mapped = scalarSourceMap(text, node as Scalar);
  const facts = scanScript(mapped.value);
  const installs = facts.installs.map((install) => {
    const exported = new Map(facts.exports.filter((e) => e.start < install.start).map((e) => [e.name, e.value]));
    const start = mapped.offsetAt(install.start);
    return { command: install, span: { start, end: Math.max(start, mapped.offsetAt(install.end - 1) + 1) }, exported };
  });
  return { installs, facts };
}

function implicitInstall(tool: InstallTool, text: string, node: Node | null): Install {
  return { command: { tool, ignoreScriptsFlag: null, text, env: new Map() }, span: spanOf(node), exported: new Map() };
}

/** Installs an action step runs (bahmutov/npm-install, cypress-io/github-action, pnpm/action-setup, borales/actions-yarn). */
function actionInstalls(text: string, doc: Document, action: string, withNode: Node | null, usesNode: Node | null, context: CiContext): Install[] {
  const input = (name: string): Node | null => mapGet(doc, withNode, name);
  const pm = context.packageManager.name;
  const defaultInstall = (): Install =>
    pm === 'yarn' ? implicitInstall('yarn', 'yarn --frozen-lockfile', usesNode)
      : pm === 'pnpm' ? implicitInstall('pnpm', 'pnpm install --frozen-lockfile', usesNode)
        : implicitInstall('npm', 'npm ci', usesNode);
  if (action === 'bahmutov/npm-install' || action === 'cypress-io/github-action') {
    if (action === 'cypress-io/github-action' && /^false$/i.test(scalarText(input('install')) ?? '')) return [];
    const custom = input('install-command');
    return custom ? installsInScalar(text, custom).installs : [defaultInstall()];
  }
  if (action === 'pnpm/action-setup') {
    const runInstall = input('run_install');
    const raw = scalarText(runInstall);
    if (!runInstall || /^(false|)$/i.test(raw ?? 'x')) return [];
    if (/^true$/i.test(raw ?? '')) return [implicitInstall('pnpm', 'pnpm install', runInstall)];
    // run_install holds YAML (an object or a list of { recursive, args }), usually as a string.
    let parsed: unknown;
    try {
      parsed = raw !== null ? parseDocument(raw).toJS() : deref(doc, runInstall)?.toJSON();
    } catch {
      parsed = null;
    }
    const entries = (Array.isArray(parsed) ? parsed : [parsed]).filter((e): e is Record<string, unknown> => !!e && typeof e === 'object');
    return (entries.length ? entries : [{}]).map((entry) => {
      const args = Array.isArray(entry.args) ? entry.args.map(String) : [];
      const words = ['pnpm', 'install', ...(entry.recursive ? ['-r'] : []), ...args];
      const parsedCommand = installOf(parseShell(words.join(' ')).commands[0]!);
      return { ...implicitInstall('pnpm', words.join(' '), runInstall), command: { ...parsedCommand!, env: new Map() } };
    });
  }
  if (action === 'borales/actions-yarn') {
    const cmd = input('cmd');
    const words = `yarn ${scalarText(cmd) ?? ''}`.trim();
    const parsedCommand = installOf(parseShell(words).commands[0]!);
    return parsedCommand ? [{ ...implicitInstall('yarn', words, cmd), command: { ...parsedCommand, env: new Map() } }] : [];
  }
  return [];
}

function stepLabel(doc: Document, step: Node, index: number): string {
  const name = scalarText(mapGet(doc, step, 'name'));
  if (name) return `step "${name}"`;
  const uses = scalarText(mapGet(doc, step, 'uses'));
  // Expressions are shortened: the label is for finding the step, not for showing its inputs.
  const run = scalarText(mapGet(doc, step, 'run'))?.trim().split('\n')[0]?.replace(EXPRESSION, '${{…}}');
  return `step ${index + 1} (${uses ?? (run && run.length > 40 ? `${run.slice(0, 40)}…` : run) ?? 'unnamed'})`;
}

function checkGithubDocument(file: string, text: string, doc: Document, context: CiContext): Finding[] {
  const findings: Finding[] = [];
  const root = doc.contents;
  const workflowEnv = envVars(doc, file, mapGet(doc, root, 'env'), 'workflow env');
  const workflowPermissions = mapGet(doc, root, 'permissions');
  for (const { key: jobId, value: job } of mapEntries(doc, mapGet(doc, root, 'jobs'))) {
    const jobName = scalarText(mapGet(doc, job, 'name')) ?? jobId;
    const permissions = tokenPermissions(doc, file, mapGet(doc, job, 'permissions') ?? workflowPermissions);
    const access = permissions.github;
    const jobEnv = envVars(doc, file, mapGet(doc, job, 'env'), 'job env');
    const carried: Carried = { env: [], secrets: [], configWrites: [], pnpmVersion: null };
    seqItems(doc, mapGet(doc, job, 'steps')).forEach((step, index) => {
      const label = stepLabel(doc, step, index);
      const usesNode = mapGet(doc, step, 'uses');
      const action = (scalarText(usesNode) ?? '').replace(/@.*$/, '').toLowerCase();
      const withNode = mapGet(doc, step, 'with');
      const runNode = mapGet(doc, step, 'run');
      const shell = scalarText(mapGet(doc, step, 'shell')) ?? '';
      const stepEnv = envVars(doc, file, mapGet(doc, step, 'env'), 'step env');
      // pnpm/action-setup's `version` governs its own run_install and every later `pnpm install`.
      if (action === 'pnpm/action-setup') carried.pnpmVersion = scalarText(mapGet(doc, withNode, 'version')) ?? carried.pnpmVersion;
      // Nearest wins: step env, then what earlier steps appended to $GITHUB_ENV, then job, then workflow.
      const merged = new Map<string, EnvVar>();
      for (const v of [...workflowEnv, ...jobEnv, ...carried.env, ...stepEnv]) merged.set(v.name, v);

      const secrets: SecretSource[] = [...carried.secrets];
      if (permissions.idToken) {
        secrets.push({ name: 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', detail: 'id-token: write, any step can mint an OIDC token of this workflow', location: permissions.location });
      }
      for (const v of merged.values()) {
        const detail = secretDetail(v.name, v.value, access);
        if (detail) secrets.push({ name: v.name, detail: `${detail}, ${v.scope}`, location: v.location });
      }
      const { installs: runInstalls, facts } = /^(python|node|pwsh -c node)/.test(shell) ? { installs: [], facts: null } : installsInScalar(text, runNode);
      const runText = scalarText(runNode) ?? '';
      for (const name of secretRefs(runText)) {
        if (name.toUpperCase() === 'GITHUB_TOKEN' && access === 'read') continue;
        secrets.push({ name: name === '*' ? 'all secrets' : `secrets.${name}`, detail: "in this step's script", location: locationOf(file, runNode) });
      }
      let installs = runInstalls;
      if (usesNode) {
        installs = actionInstalls(text, doc, action, withNode, usesNode, context);
        for (const { key, keyNode, value } of mapEntries(doc, withNode)) {
          const detail = secretDetail(key, scalarText(value) ?? '', access);
          if (detail && installs.length) secrets.push({ name: `INPUT_${key.toUpperCase()}`, detail: `${detail}, with:`, location: locationOf(file, keyNode) });
        }
      }

      const envForScripts = new Map([...merged.values()].map((v) => [v.name, v.value]));
      for (const install of installs) {
        const env = new Map([...envForScripts, ...install.exported, ...install.command.env]);
        const state = scriptsState(install.command, { env, configWrites: carried.configWrites, pnpmVersion: carried.pnpmVersion }, context);
        if (state.off || secrets.length === 0) continue;
        findings.push(
          ciInstallFinding({
            file,
            span: install.span,
            where: `${label} of job "${jobName}"`,
            command: install.command.text,
            tool: install.command.tool,
            state,
            secrets,
            context,
            platform: 'github',
          }),
        );
      }
      carryForward(doc, file, step, label, action, withNode, runText, facts, access, carried, locationOf(file, runNode));
    });
  }
  return findings;
}

/** What a step leaves for the job's later steps: $GITHUB_ENV, config files, credentials on disk. */
function carryForward(
  doc: Document,
  file: string,
  step: Node,
  label: string,
  action: string,
  withNode: Node | null,
  runText: string,
  facts: ReturnType<typeof scanScript> | null,
  access: TokenAccess,
  carried: Carried,
  runLocation: FindingLocation | null,
): void {
  const stepLocation = locationOf(file, step);
  if (facts) {
    for (const write of facts.githubEnvWrites) carried.env.push({ name: write.name, value: write.value, scope: `$GITHUB_ENV from ${label}`, location: runLocation });
    carried.configWrites.push(...facts.configWrites);
    for (const m of runText.matchAll(EXPRESSION)) {
      for (const name of secretRefs(m[0])) {
        if (!facts.persistsAt(m.index!)) continue;
        if (name.toUpperCase() === 'GITHUB_TOKEN' && access !== 'write') continue;
        carried.secrets.push({ name: name === '*' ? 'all secrets' : `secrets.${name}`, detail: `written to disk by ${label}`, location: runLocation });
      }
    }
  }
  const credential = CREDENTIAL_ACTIONS.find(([re]) => re.test(action));
  if (credential) carried.secrets.push({ name: credential[1], detail: `left by ${label}`, location: stepLocation });
  if (action === 'actions/checkout' && !/^false$/i.test(scalarText(mapGet(doc, withNode, 'persist-credentials')) ?? '')) {
    const token = scalarText(mapGet(doc, withNode, 'token'));
    const detail = token ? secretDetail('token', token, access) : access === 'write' ? 'GITHUB_TOKEN with write permissions' : null;
    if (detail) carried.secrets.push({ name: 'git credentials in .git/config', detail: `${detail}, persisted by ${label}`, location: stepLocation });
  }
}

export function isGitlabCiFile(file: string): boolean {
  return /(^|[\\/])\.?gitlab-ci\.ya?ml$/i.test(file);
}

/**
 * Installs with scripts enabled and secrets in their environment, in one CI file's text
 * (a GitHub workflow, or `.gitlab-ci.yml` by its name). A file that is not valid YAML is a
 * `file-problem` finding at the first error, not an exception.
 */
export function checkWorkflowText(file: string, text: string, context: CiContext): Finding[] {
  const gitlab = isGitlabCiFile(file);
  const docs = parseAllDocuments(text, { keepSourceTokens: true, merge: true, prettyErrors: false });
  // An empty stream is an empty array that carries its own `errors`.
  const documents: Document[] = Array.from(docs);
  const errors: YAMLParseError[] = documents.length ? documents.flatMap((d) => d.errors) : [...((docs as { errors?: YAMLParseError[] }).errors ?? [])];
  // GitLab's CI/CD inputs put a `spec:` header document before the pipeline.
  const pipeline = gitlab && documents.length === 2 && mapGet(documents[0]!, documents[0]!.contents, 'spec') ? documents[1]! : null;
  if (!errors.length && documents.length > 1 && !pipeline) {
    const second = documents[1]!.range?.[0] ?? 0;
    errors.push(new YAMLParseError([second, second + 3], 'MULTIPLE_DOCS', 'the file holds more than one YAML document'));
  }
  if (errors.length) {
    const error = errors[0]!;
    return [
      environmentFinding(
        'file-problem',
        { file, span: { start: error.pos[0], end: Math.max(error.pos[1], error.pos[0]) } },
        `CI file is not valid YAML, so its installs were not checked: ${error.message.split('\n')[0]}`,
        'Fix the YAML syntax (the CI service rejects this file too).',
      ),
    ];
  }
  const doc = pipeline ?? documents[0];
  if (!doc) return [];
  return gitlab ? checkGitlabDocument(file, text, doc, context) : checkGithubDocument(file, text, doc, context);
}
