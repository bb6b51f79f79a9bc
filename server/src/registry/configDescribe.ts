/**
 * A human summary of the registry configuration for logs, `--verbose` and bug reports.
 * Secrets never appear: credential values are replaced, and URLs lose their userinfo
 * (`https://user:pass@host/` is a common way to put basic auth into `registry=`).
 */
import { isScopedRegistryKey, type ConfigOrigin, type RegistryConfig } from './npmConfig';

/** A URL with any `user:password@` replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

function originText(origin: ConfigOrigin | null): string {
  if (!origin) return 'default';
  if (origin.file) return `${origin.layer} ${origin.file}`;
  return origin.layer === 'env' ? 'environment' : 'command line';
}

function show(value: unknown): string {
  if (value === null || value === undefined || value === '') return '(none)';
  if (Array.isArray(value)) return value.length ? value.map(show).join(', ') : '(none)';
  return redactUrl(String(value));
}

export function describeConfig(config: RegistryConfig): string {
  const flat = config.fetchOptions;
  const lines: string[] = [];
  const entry = (label: string, value: unknown, key: string): void => {
    lines.push(`${label}: ${show(value)} (${originText(config.originOf(key))})`);
  };
  entry('registry', config.defaultRegistry, 'registry');
  for (const key of Object.keys(flat).filter(isScopedRegistryKey).sort()) {
    entry(key, flat[key], key);
  }
  for (const auth of config.authEntries) {
    const how = auth.fromEnvVar ? 'from an environment variable' : 'literal';
    lines.push(`${auth.key}: (redacted, ${how}) (${originText(auth.origin)})`);
  }
  entry('strict-ssl', config.strictSSL, 'strict-ssl');
  entry('cafile', config.get('cafile'), 'cafile');
  const ca = flat.ca;
  lines.push(`ca: ${ca ? `${([] as unknown[]).concat(ca).length} certificate(s)` : '(none)'} (${originText(config.originOf('cafile') ?? config.originOf('ca'))})`);
  entry('proxy', flat.proxy, 'proxy');
  entry('https-proxy', flat.httpsProxy, 'https-proxy');
  entry('noproxy', flat.noProxy, 'noproxy');
  entry('offline', config.offline, 'offline');
  entry('fetch-retries', config.fetchRetries, 'fetch-retries');
  entry('fetch-timeout', config.fetchTimeoutMs, 'fetch-timeout');
  lines.push(`ignore-scripts: ${config.ignoreScripts.value} (${config.ignoreScripts.source ?? 'default'})`);
  const files = config.files;
  lines.push(`project config: ${config.projectNpmrc ?? `${files.project} (absent)`}`);
  lines.push(`user config: ${files.user ?? '(none)'}`);
  lines.push(`global config: ${files.global ?? '(none)'}`);
  if (config.ignoredProjectKeys.length) {
    lines.push(`ignored in the untrusted project config: ${config.ignoredProjectKeys.join(', ')}`);
  }
  for (const p of config.problems) lines.push(`problem: ${p.file ? `${p.file}: ` : ''}${p.message}`);
  return lines.join('\n');
}
