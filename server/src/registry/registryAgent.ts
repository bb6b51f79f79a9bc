/**
 * One HTTP agent per registry origin, handed to npm-registry-fetch as its `agent` option.
 *
 * Without it, make-fetch-happen asks @npmcli/agent for an agent on every request, and
 * @npmcli/agent finds its cached agent by a key string built from the connection options,
 * the CA certificates included. With a `cafile` (as behind most corporate proxies, and on
 * any machine whose npm trusts the system bundle) that key is the whole bundle: about
 * 220 KB built, flattened and hashed per request, a quarter of the garbage and a fifth of the
 * CPU of an https lookup (measured with a 145-certificate bundle). Node's own https agent
 * still joins the CA into its socket-pool name per request; that cost remains. The agent is
 * the same one @npmcli/agent would pick (getAgent with the options make-fetch-happen would
 * pass, and @npmcli/agent's own cache shares it); only the per-request key is gone.
 */
import { lookup } from 'node:dns';
import type { Agent } from 'node:http';
import { isClientCertKey } from './npmConfig';

type GetAgent = (url: string, options: Record<string, unknown>) => Agent;
let getAgentOnce: GetAgent | null = null;
/** Loaded with the first request, like pacote: a run the caches answer never needs it. */
function getAgent(url: string, options: Record<string, unknown>): Agent {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  getAgentOnce ??= (require('@npmcli/agent') as { getAgent: GetAgent }).getAgent;
  return getAgentOnce(url, options);
}

/** What minipass-fetch accepts as `agent`: called with each request's parsed URL. */
export type AgentForUrl = (url: URL) => Agent;

/** make-fetch-happen's DNS cache setting, which it adds to every request's options. */
const DNS = { ttl: 5 * 60 * 1000, lookup };
/** npm-registry-fetch's default when the config has no `maxsockets`. */
const DEFAULT_MAX_SOCKETS = 12;

/**
 * The `agent` option for npm-registry-fetch / pacote, given the flat npm options and the
 * request timeout; undefined where a per-request choice is needed: a client certificate set
 * for one host (`//host/:certfile`) changes the agent by the URL's path, so those requests
 * keep @npmcli/agent's own lookup.
 */
export function registryAgent(fetchOptions: Readonly<Record<string, unknown>>, timeoutMs: number): AgentForUrl | undefined {
  // Per config and timeout, so callers that build options per request (attestations) share one.
  let byTimeout = made.get(fetchOptions);
  if (!byTimeout) made.set(fetchOptions, (byTimeout = new Map()));
  if (!byTimeout.has(timeoutMs)) byTimeout.set(timeoutMs, makeRegistryAgent(fetchOptions, timeoutMs));
  return byTimeout.get(timeoutMs);
}

const made = new WeakMap<object, Map<number, AgentForUrl | undefined>>();

function makeRegistryAgent(fetchOptions: Readonly<Record<string, unknown>>, timeoutMs: number): AgentForUrl | undefined {
  if (Object.keys(fetchOptions).some(isClientCertKey)) return undefined;
  // The options npm-registry-fetch passes to make-fetch-happen, as make-fetch-happen hands
  // them to @npmcli/agent (strictSSL becomes rejectUnauthorized there).
  const strictSSL = fetchOptions.strictSSL;
  const options: Record<string, unknown> = {
    ca: fetchOptions.ca,
    cert: fetchOptions.cert,
    key: fetchOptions.key,
    localAddress: fetchOptions.localAddress,
    maxSockets: fetchOptions.maxSockets ?? DEFAULT_MAX_SOCKETS,
    noProxy: fetchOptions.noProxy,
    proxy: fetchOptions.httpsProxy || fetchOptions.proxy,
    rejectUnauthorized: strictSSL === undefined || strictSSL === null
      ? process.env.NODE_TLS_REJECT_UNAUTHORIZED !== '0'
      : strictSSL !== false,
    timeout: timeoutMs,
    dns: DNS,
  };
  const byOrigin = new Map<string, Agent>();
  return (url: URL) => {
    // The proxy choice (noproxy) is by host, and http and https differ: the origin decides all of it.
    let agent = byOrigin.get(url.origin);
    if (!agent) {
      agent = getAgent(url.href, options);
      byOrigin.set(url.origin, agent);
    }
    return agent;
  };
}
