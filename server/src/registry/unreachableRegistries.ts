/**
 * Stops asking a registry that cannot be reached at all. Without it, an audit whose registry
 * refuses connections, has no DNS name or presents a certificate npm's config does not trust
 * sends every one of thousands of packument requests, each with its retries: a 5k-package
 * audit took four minutes to say the same thing 5k times. After a few such failures and no
 * success, the rest of the run's requests to that registry are answered at once with one
 * message that says why; a while later the registry is asked again, since a language server
 * lives through network changes.
 *
 * Only failures of the host count, never of one package: an HTTP status, a timeout (a hang
 * may be one slow packument), or garbage says the registry is there.
 */
import { failure, type LookupContext, type LookupFailure } from './registryErrors';

/** Error codes that mean no request to this registry can succeed right now. */
const HOST_FAILURE_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL',
  // TLS: the same certificate answers for every package.
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Host failures, with no success in between, after which a registry is not asked for a while. */
export const FAILURES_BEFORE_PAUSE = 3;
/** How long a registry that could not be reached is left alone. */
export const PAUSE_MS = 30_000;

interface RegistryState {
  /** Host failures since the last success; the first one's text is quoted to the user. */
  failures: number;
  firstError: string;
  /** Not asked before this time (epoch ms); 0: asked as usual. */
  pausedUntil: number;
}

export class UnreachableRegistries {
  private readonly states = new Map<string, RegistryState>();

  constructor(private readonly pauseMs = PAUSE_MS) {}

  /** The answer for a request that is not sent, or null: ask the registry. */
  skip(ctx: LookupContext): LookupFailure | null {
    if (!this.paused(ctx.registry)) return null;
    const state = this.states.get(ctx.registry)!;
    return failure(
      ctx,
      'network',
      `not asked: {registry} could not be reached (${state.failures} requests failed: ${state.firstError}); ` +
        `it is asked again after ${Math.round(this.pauseMs / 1000)} s`,
    );
  }

  paused(registry: string): boolean {
    const state = this.states.get(registry);
    return !!state && state.pausedUntil > Date.now();
  }

  succeeded(registry: string): void {
    this.states.delete(registry);
  }

  /** Counts a failed request when it was a failure of the host. */
  failed(registry: string, err: unknown): void {
    const { code, statusCode } = (err ?? {}) as { code?: unknown; statusCode?: unknown };
    // An HTTP answer, even an error, shows the registry can be reached.
    if (typeof statusCode === 'number') this.states.delete(registry);
    if (typeof code !== 'string' || !HOST_FAILURE_CODES.has(code)) return;
    let state = this.states.get(registry);
    // A pause that ended starts a new count.
    if (!state || (state.pausedUntil !== 0 && state.pausedUntil <= Date.now())) {
      state = { failures: 0, firstError: code, pausedUntil: 0 };
      this.states.set(registry, state);
    }
    state.failures++;
    if (state.failures >= FAILURES_BEFORE_PAUSE && state.pausedUntil === 0) state.pausedUntil = Date.now() + this.pauseMs;
  }
}
