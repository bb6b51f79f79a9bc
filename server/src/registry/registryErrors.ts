/**
 * What went wrong with one registry lookup, as data. A batch of thousands of lookups must
 * never fail as a whole because one package 404s or one proxy hangs; each failure becomes
 * a result whose message names the package@version and the registry, so a person can tell
 * a typo from a missing token from a broken mirror.
 */
import { redactUrl } from './configDescribe';

export type LookupFailureKind =
  | 'not-found'
  | 'auth'
  | 'server'
  | 'garbage'
  | 'timeout'
  | 'network'
  | 'offline-miss'
  /** Not a registry version (git, file, URL, alias...): never fetched. */
  | 'unsupported';

export interface LookupFailure {
  ok: false;
  kind: LookupFailureKind;
  /** The HTTP status when the registry answered one. */
  status?: number;
  message: string;
  name: string;
  version: string;
  /** The registry asked (credentials redacted). */
  registry: string;
}

export interface LookupContext {
  name: string;
  version: string;
  registry: string;
  timeoutMs: number;
}

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT', 'ECONNECTIONTIMEOUT', 'EIDLETIMEOUT', 'ERESPONSETIMEOUT', 'ETRANSFERTIMEOUT',
]);
const TIMEOUT_TYPES = new Set(['request-timeout', 'body-timeout']);

export function failure(
  ctx: Pick<LookupContext, 'name' | 'version' | 'registry'>,
  kind: LookupFailureKind,
  detail: string,
  status?: number,
): LookupFailure {
  const registry = redactUrl(ctx.registry);
  return {
    ok: false,
    kind,
    ...(status !== undefined ? { status } : {}),
    message: `${ctx.name}@${ctx.version}: ${detail.replace('{registry}', `registry ${registry}`)}`,
    name: ctx.name,
    version: ctx.version,
    registry,
  };
}

/** The packument exists but does not list the version (unpublished, or a typo in the lockfile). */
export function versionMissing(ctx: LookupContext): LookupFailure {
  return failure(ctx, 'not-found', `{registry} has ${ctx.name} but no version ${ctx.version} (unpublished?)`, 404);
}

export function offlineMiss(ctx: Pick<LookupContext, 'name' | 'version' | 'registry'>): LookupFailure {
  return failure(ctx, 'offline-miss', 'not in the cache; run once online ({registry})');
}

export function unsupportedSpec(name: string, version: string, why: string): LookupFailure {
  return failure({ name, version, registry: '' }, 'unsupported', why);
}

/** Maps what pacote / npm-registry-fetch / make-fetch-happen throw to a failure kind. */
export function classifyRegistryError(err: unknown, ctx: LookupContext): LookupFailure {
  const e = (err ?? {}) as { code?: string; type?: string; statusCode?: number; status?: number; message?: string; name?: string };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = e.code ?? '';

  if (code === 'ENOTCACHED') return offlineMiss(ctx);
  if (status === 404 || code === 'E404') {
    return failure(ctx, 'not-found', `{registry} has no package ${ctx.name} (404)`, 404);
  }
  if (status === 401 || status === 403 || code === 'EOTP' || code === 'EAUTHIP') {
    const s = status ?? 401;
    const hint = s === 401 ? 'authentication required: check the token configured for this registry' : 'access denied';
    return failure(ctx, 'auth', `{registry} answered ${s} (${hint})`, s);
  }
  if (status !== undefined) return failure(ctx, 'server', `{registry} answered ${status}`, status);
  if (e.type === 'invalid-json' || e.name === 'SyntaxError') {
    return failure(ctx, 'garbage', '{registry} answered with invalid JSON');
  }
  if (code === 'ERR_INVALID_URL') return failure(ctx, 'network', 'the registry URL {registry} is not a valid URL');
  // pacote annotates the parsed body; a body of `null` or similar surfaces as a TypeError.
  if (e.name === 'TypeError') return failure(ctx, 'garbage', '{registry} answered with something that is not a packument');
  if (TIMEOUT_TYPES.has(e.type ?? '') || TIMEOUT_CODES.has(code)) {
    return failure(ctx, 'timeout', `{registry} did not answer within ${ctx.timeoutMs} ms`);
  }
  const what = [code && code !== 'FETCH_ERROR' ? code : '', oneLine(e.message ?? String(err))].filter(Boolean).join(' ');
  return failure(ctx, 'network', `cannot reach {registry}: ${what}`);
}

function oneLine(text: string): string {
  // Messages may quote URLs with credentials; keep them out of reports.
  return text.split('\n')[0].replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
}
