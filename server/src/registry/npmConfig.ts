/**
 * npm's configuration as npm itself reads it: project `.npmrc`, user, global and builtin
 * files, `npm_config_*` environment and `${VAR}` expansion, all through npm's own loader
 * (@npmcli/config with npm's definitions), so registry, scoped registries, per-host auth,
 * TLS and proxy settings mean exactly what they mean to `npm install`. We also keep where
 * each value came from: the policy layer needs to know whether `ignore-scripts=true` is
 * in the project's own `.npmrc`, and whether a committed token is literal.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { describeConfig } from './configDescribe';

// @npmcli/config ships no types; this is the part of its surface we use.
interface ConfigLayerData {
  data: Record<string, unknown>;
  raw: Record<string, unknown>;
  source: string | null;
  loadError?: NodeJS.ErrnoException;
}
interface NpmcliConfig {
  load(): Promise<void>;
  get(key: string, where?: string): unknown;
  find(key: string): string | null;
  delete(key: string, where?: string): void;
  validate(where?: string): boolean;
  readonly data: Map<string, ConfigLayerData>;
  readonly flat: Record<string, unknown>;
  readonly types: Record<string, unknown>;
  readonly env: NodeJS.ProcessEnv;
  localPrefix: string | null;
  localPackage: boolean | null;
  loadLocalPrefix(): Promise<void>;
  loadProjectConfig(): Promise<void>;
  parseField(value: unknown, key: string, listElement?: boolean): unknown;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const envReplace = require('@npmcli/config/lib/env-replace.js') as (text: string, env: NodeJS.ProcessEnv) => string;
type NpmcliConfigCtor = (new (opts: Record<string, unknown>) => NpmcliConfig) & {
  typeDefs: { path: { type: unknown } };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Config: NpmcliConfigCtor = require('@npmcli/config');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const npmDefinitions = require('@npmcli/config/lib/definitions') as {
  definitions: Record<string, unknown>;
  shorthands: Record<string, unknown>;
  flatten: unknown;
  nerfDarts: string[];
};

/** Config layers, highest precedence first (npm's order). */
export type ConfigLayer = 'cli' | 'env' | 'project' | 'user' | 'global' | 'builtin' | 'default';

export interface ConfigOrigin {
  layer: ConfigLayer;
  /** The file for file layers; null for env, cli and defaults. */
  file: string | null;
}

export interface ConfigProblem {
  file: string | null;
  message: string;
}

/** A credential entry (never its value). */
export interface AuthEntry {
  key: string;
  origin: ConfigOrigin;
  /** The raw value is a `${VAR}` reference rather than a literal secret. */
  fromEnvVar: boolean;
}

export interface RegistryConfig {
  /** The default registry, with a trailing slash. */
  defaultRegistry: string;
  /** The registry npm would fetch this package from (scoped registries, `scope`), trailing slash. */
  registryFor(packageName: string): string;
  /**
   * Flat options for pacote / npm-registry-fetch as npm passes them, the ones that shape a
   * request (FETCH_OPTION_KEYS), including the `//host/path/:_authToken`-style keys verbatim:
   * npm-registry-fetch sends each credential only to URLs under its own host and path.
   * `cache` is left out: callers choose their own.
   */
  fetchOptions: Readonly<Record<string, unknown>>;
  ignoreScripts: { value: boolean; source: string | null; layer: ConfigLayer };
  strictSSL: boolean;
  offline: boolean;
  fetchRetries: number;
  fetchTimeoutMs: number;
  /** The effective value of a config key, as `npm config get` shows it. */
  get(key: string): unknown;
  /** Where a config key's effective value came from; null when it is npm's default. */
  originOf(key: string): ConfigOrigin | null;
  /** The value a single layer sets for a key (after `${VAR}` expansion), or undefined. */
  layerValue(layer: ConfigLayer, key: string): unknown;
  authEntries: AuthEntry[];
  files: { project: string; user: string | null; global: string | null; builtin: string };
  /** Path of the project's `.npmrc` when it exists (even when it is not trusted). */
  projectNpmrc: string | null;
  /** Keys of the project `.npmrc` that were ignored because the project is not trusted. */
  ignoredProjectKeys: string[];
  problems: ConfigProblem[];
  /** A human summary with every secret redacted. */
  describe(): string;
}

export interface LoadRegistryConfigOptions {
  projectDir: string;
  env?: NodeJS.ProcessEnv;
  /** Like `npm --registry`: beats every file and the environment (not scoped registries). */
  registryOverride?: string;
  /**
   * false: ignore what could redirect or leak traffic in the project's own `.npmrc`
   * (registries, credentials, TLS, proxies, user agent, other config file locations), as for
   * VS Code untrusted workspaces. Other keys, `ignore-scripts` among them, are still read.
   */
  trustProjectConfig?: boolean;
  userConfigFile?: string;
  globalConfigFile?: string;
}

const LAYERS: ConfigLayer[] = ['cli', 'env', 'project', 'user', 'global', 'builtin', 'default'];
const FILE_LAYERS = new Set<ConfigLayer>(['project', 'user', 'global', 'builtin']);
const CREDENTIAL_SUFFIXES = ['_authToken', '_auth', '_password', 'username', 'certfile', 'keyfile'];
const LEGACY_AUTH_KEYS = ['_authToken', '_authtoken', '-authtoken', '_auth', '_password', 'username'];

/** `@scope:registry`: the registry of one scope. */
export function isScopedRegistryKey(key: string): boolean {
  return /^@.*:registry$/i.test(key);
}

/** `//host/path/:certfile` or `:keyfile`: a client certificate for one registry host. */
export function isClientCertKey(key: string): boolean {
  return /^\/\/.*:(certfile|keyfile)$/.test(key);
}

/**
 * The flat options that reach the network code (pacote, npm-registry-fetch, make-fetch-happen,
 * @npmcli/agent), besides the `//host/:cred` and `@scope:registry` keys. npm hands those
 * libraries all ~130 flat options, and each request spreads them into new objects several
 * times (`{ ...defaultOpts, ...opts }`): past ~100 keys V8 builds such an object one slow
 * property at a time, 0.3 ms and a quarter megabyte of garbage per spread, which made a cold
 * 20k audit spend half its time copying options and peak at 750 MB (npm run bench). The rest
 * of npm's config (editor, save, audit, diff...) never changes a registry request, and the
 * `allow-*` and TUF options only matter to fetchers and checks this tool never uses. Unset
 * (null) options are left out too: the libraries read them as `opts.x || default`.
 */
const FETCH_OPTION_KEYS = [
  'registry', 'scope', 'projectScope', 'replaceRegistryHost', '_auth', 'authType', 'otp',
  'ca', 'cert', 'key', 'strictSSL', 'proxy', 'httpsProxy', 'noProxy', 'localAddress',
  'maxSockets', 'userAgent', 'timeout', 'retry', 'offline', 'preferOffline', 'preferOnline',
  'before', 'defaultTag',
];

function fetchOptionsOf(flat: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const key of FETCH_OPTION_KEYS) if (flat[key] !== undefined && flat[key] !== null) options[key] = flat[key];
  for (const key of Object.keys(flat)) {
    if (key.startsWith('//') || isScopedRegistryKey(key)) options[key] = flat[key];
  }
  return options;
}

/** Keys an untrusted project `.npmrc` may not set: each can redirect traffic or exfiltrate `${VAR}`s. */
function isNetworkKey(key: string): boolean {
  return (
    key.startsWith('//') ||
    isScopedRegistryKey(key) ||
    [
      'registry', 'replace-registry-host', 'strict-ssl', 'ca', 'cafile', 'cert', 'key',
      'proxy', 'https-proxy', 'http-proxy', 'noproxy', 'local-address', 'user-agent',
      'userconfig', 'globalconfig', 'cache', 'email', 'always-auth', ...LEGACY_AUTH_KEYS,
    ].includes(key)
  );
}

/** Where npm keeps its builtin `npmrc`: beside the running npm, or beside node. */
function findNpmRoot(env: NodeJS.ProcessEnv): string {
  const candidates = [
    env.npm_execpath && /npm-cli\.js$/.test(env.npm_execpath) ? dirname(dirname(env.npm_execpath)) : null,
    join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm'),
    join(dirname(process.execPath), 'node_modules', 'npm'),
  ];
  // A missing builtin file is simply an empty layer, as in npm.
  return candidates.find((p): p is string => !!p && existsSync(join(p, 'package.json'))) ?? candidates[1]!;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

interface LoaderSetup {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  argv: string[];
  trustProject: boolean;
  skipProject: boolean;
  ignored: string[];
}

/** The loader, with the project directory fixed instead of found by walking up from cwd. */
function createLoader(setup: LoaderSetup): NpmcliConfig {
  const pathType = Config.typeDefs.path.type;
  class ProjectConfig extends Config {
    async loadLocalPrefix(): Promise<void> {
      this.localPrefix = setup.projectDir;
      this.localPackage = existsSync(join(setup.projectDir, 'package.json'));
    }

    async loadProjectConfig(): Promise<void> {
      if (setup.skipProject) {
        await this.loadLocalPrefix();
        this.data.get('project')!.source = '(skipped)';
        return;
      }
      await super.loadProjectConfig();
      if (setup.trustProject) return;
      // Before the user file loads: a project `userconfig=` must not pick the user layer.
      const layer = this.data.get('project')!;
      for (const key of Object.keys(layer.data)) {
        if (isNetworkKey(key)) {
          delete layer.data[key];
          setup.ignored.push(key);
        }
      }
    }

    // npm resolves relative paths against its cwd; run in the project, that is the project dir.
    parseField(value: unknown, key: string, listElement?: boolean): unknown {
      const parsed = super.parseField(value, key, listElement);
      const types = ([] as unknown[]).concat(this.types[key]);
      if (typeof value === 'string' && typeof parsed === 'string' && types.includes(pathType)) {
        const text = value.trim();
        if (!isAbsolute(text) && !text.startsWith('~')) {
          return resolve(setup.projectDir, relative(process.cwd(), parsed));
        }
      }
      return parsed;
    }
  }
  return new ProjectConfig({
    ...npmDefinitions,
    npmPath: findNpmRoot(setup.env),
    env: setup.env,
    argv: ['node', 'install-guard', ...setup.argv],
    cwd: setup.projectDir,
    warn: false,
  });
}

/** Runs `fn` while collecting what the loader logs through proc-log, so nothing reaches the terminal. */
async function captureLogs<T>(problems: ConfigProblem[], fn: () => Promise<T>): Promise<T> {
  const listener = (level: string, ...args: unknown[]): void => {
    if (level !== 'warn' && level !== 'error') return;
    const message = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
    const file = /set in (\/.*|[A-Za-z]:\\.*)$/.exec(message)?.[1] ?? null;
    problems.push({ file, message });
  };
  process.on('log', listener);
  try {
    return await fn();
  } finally {
    process.off('log', listener);
  }
}

/**
 * Loads run one at a time: the loader reports through process-wide proc-log events and
 * touches process.env, so two concurrent loads would see each other's problems.
 */
let loading: Promise<unknown> = Promise.resolve();

export function loadRegistryConfig(opts: LoadRegistryConfigOptions): Promise<RegistryConfig> {
  const result = loading.then(() => loadNow(opts));
  loading = result.catch(() => undefined);
  return result;
}

async function loadNow(opts: LoadRegistryConfigOptions): Promise<RegistryConfig> {
  const projectDir = resolve(opts.projectDir);
  // The loader writes npm_config_* back into the env it is given: never hand it process.env.
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  const argv: string[] = [];
  if (opts.registryOverride) argv.push(`--registry=${opts.registryOverride}`);
  if (opts.userConfigFile) argv.push(`--userconfig=${resolve(opts.userConfigFile)}`);
  if (opts.globalConfigFile) argv.push(`--globalconfig=${resolve(opts.globalConfigFile)}`);
  const problems: ConfigProblem[] = [];
  const setup: LoaderSetup = {
    projectDir,
    env,
    argv,
    trustProject: opts.trustProjectConfig !== false,
    skipProject: false,
    ignored: [],
  };

  let config: NpmcliConfig;
  try {
    config = createLoader(setup);
    await captureLogs(problems, () => config.load());
  } catch (err) {
    // A file the loader cannot take at all: fall back to npm's defaults and say why.
    problems.push({ file: null, message: `npm config could not be loaded: ${(err as Error).message}` });
    const fallback: LoaderSetup = {
      ...setup,
      env: { HOME: env.HOME },
      argv: [...(opts.registryOverride ? [`--registry=${opts.registryOverride}`] : []),
        `--userconfig=${join(projectDir, '.install-guard-no-userconfig')}`,
        `--globalconfig=${join(projectDir, '.install-guard-no-globalconfig')}`],
      skipProject: true,
      ignored: [],
    };
    config = createLoader(fallback);
    await captureLogs(problems, () => config.load());
  }

  await captureLogs(problems, async () => validate(config, problems));
  for (const layer of ['project', 'user', 'global', 'builtin']) {
    const data = config.data.get(layer)!;
    if (data.loadError && data.loadError.code !== 'ENOENT') {
      problems.push({ file: data.source, message: `cannot read ${data.source}: ${data.loadError.message}` });
    }
  }

  const cafile = config.get('cafile');
  if (typeof cafile === 'string' && !existsSync(cafile)) {
    const origin = config.find('cafile');
    problems.push({ file: origin ? config.data.get(origin)!.source : null, message: `cafile ${cafile} does not exist; npm ignores it` });
  }
  const flat = flatten(config, problems);
  // Nerf-darted cert/key files have no type, so npm never resolves them: do it as npm run in the project would.
  for (const key of Object.keys(flat)) {
    if (isClientCertKey(key) && typeof flat[key] === 'string' && !isAbsolute(flat[key] as string)) {
      flat[key] = resolve(projectDir, flat[key] as string);
    }
  }
  delete flat.cache;

  const originOf = (key: string): ConfigOrigin | null => {
    const layer = config.find(key) as ConfigLayer | null;
    if (!layer || layer === 'default') return null;
    return { layer, file: FILE_LAYERS.has(layer) ? config.data.get(layer)!.source : null };
  };
  const sourceText = (origin: ConfigOrigin | null): string | null =>
    !origin ? null : origin.file ?? (origin.layer === 'env' ? 'environment' : 'command line');

  const defaultRegistry = withSlash(String(flat.registry ?? 'https://registry.npmjs.org/'));
  // Same choice as npm-registry-fetch's pickRegistry: own scope, then the `scope` config, then registry.
  const registryFor = (packageName: string): string => {
    const scope = packageName.startsWith('@') ? packageName.slice(0, packageName.indexOf('/')) : null;
    const projectScope = typeof flat.scope === 'string' && flat.scope ? flat.scope : null;
    const scoped = (scope && flat[`${scope}:registry`]) || (projectScope && flat[`${projectScope}:registry`]);
    return typeof scoped === 'string' && scoped ? withSlash(scoped) : defaultRegistry;
  };

  const authEntries: AuthEntry[] = [];
  for (const layer of LAYERS.filter((l) => l !== 'default')) {
    const data = config.data.get(layer)!;
    // Raw values are keyed by the unexpanded key (`//${HOST}/:_authToken`).
    const rawByKey = new Map<string, unknown>();
    for (const [k, v] of Object.entries(data.raw ?? {})) rawByKey.set(envReplace(k, config.env), v);
    for (const key of Object.keys(data.data)) {
      if (data.data[key] === null || data.data[key] === undefined || data.data[key] === '') continue;
      const suffix = key.startsWith('//') ? key.slice(key.lastIndexOf(':') + 1) : key;
      if (!(key.startsWith('//') ? CREDENTIAL_SUFFIXES : LEGACY_AUTH_KEYS).includes(suffix)) continue;
      const raw = rawByKey.get(key);
      authEntries.push({
        key,
        origin: { layer, file: FILE_LAYERS.has(layer) ? data.source : null },
        fromEnvVar: layer === 'env' || (typeof raw === 'string' && raw.includes('${')),
      });
    }
  }

  const ignoreOrigin = originOf('ignore-scripts');
  const projectFile = join(projectDir, '.npmrc');
  const fileOf = (layer: string): string | null => {
    const source = config.data.get(layer)!.source;
    return source && isAbsolute(source) ? source : null;
  };
  const result: RegistryConfig = {
    defaultRegistry,
    registryFor,
    fetchOptions: Object.freeze(fetchOptionsOf(flat)),
    ignoreScripts: {
      value: flat.ignoreScripts === true,
      source: sourceText(ignoreOrigin),
      layer: ignoreOrigin?.layer ?? 'default',
    },
    strictSSL: flat.strictSSL !== false,
    offline: flat.offline === true,
    fetchRetries: Number((flat.retry as { retries?: number } | undefined)?.retries ?? 2),
    fetchTimeoutMs: Number(flat.timeout ?? 300_000),
    get: (key) => config.get(key),
    originOf,
    layerValue: (layer, key) => {
      const data = config.data.get(layer)!.data;
      return Object.prototype.hasOwnProperty.call(data, key) ? data[key] : undefined;
    },
    authEntries,
    files: { project: projectFile, user: fileOf('user'), global: fileOf('global'), builtin: fileOf('builtin') ?? '' },
    projectNpmrc: existsSync(projectFile) ? projectFile : null,
    ignoredProjectKeys: [...setup.ignored],
    problems,
    describe: () => describeConfig(result),
  };
  return result;
}

/** npm's own validation: drops values of the wrong type (with a warning) and unscoped credentials. */
function validate(config: NpmcliConfig, problems: ConfigProblem[]): void {
  try {
    config.validate();
  } catch (err) {
    const e = err as Error & { code?: string; problems?: { action: string; key?: string; from?: string; to?: string; where: string }[] };
    if (e.code !== 'ERR_INVALID_AUTH' || !e.problems) throw err;
    // npm refuses to run with these; we ignore them (never guessing a host for a token) and say so.
    for (const p of e.problems) {
      const key = (p.key ?? p.from)!;
      const file = config.data.get(p.where)?.source ?? null;
      problems.push({
        file,
        message: p.action === 'rename'
          ? `"${key}" is not scoped to a registry; npm rejects it — write it as "${p.to}" (ignored)`
          : `"${key}" is not allowed in ${p.where} config; npm rejects it (ignored)`,
      });
      config.delete(key, p.where);
    }
    config.validate();
  }
}

function flatten(config: NpmcliConfig, problems: ConfigProblem[]): Record<string, unknown> {
  // npm's `user-agent` flattener writes process.env.npm_config_user_agent; keep our env as it was.
  const userAgentEnv = process.env.npm_config_user_agent;
  try {
    return flattenOnce(config, problems);
  } finally {
    if (userAgentEnv === undefined) delete process.env.npm_config_user_agent;
    else process.env.npm_config_user_agent = userAgentEnv;
  }
}

function flattenOnce(config: NpmcliConfig, problems: ConfigProblem[]): Record<string, unknown> {
  for (;;) {
    try {
      return { ...config.flat };
    } catch (err) {
      // Flattening reads `cafile`; an unreadable one should not take the rest down.
      const origin = config.find('cafile');
      if (!origin || origin === 'default') throw err;
      problems.push({ file: config.data.get(origin)!.source, message: `cafile: ${(err as Error).message} (ignored)` });
      config.delete('cafile', origin);
    }
  }
}
