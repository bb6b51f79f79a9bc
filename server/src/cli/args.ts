/**
 * Command-line parsing for `install-guard`. Usage errors are thrown as UsageError so the
 * entry point can print them with the help hint and exit 2.
 */
import { parseArgs } from 'node:util';
import { isSeverity, type Severity } from '../analysis/findings';
import { ALLOWLIST_TARGETS, type AllowlistTarget } from '../policy/edits/allowlistTarget';

export class UsageError extends Error {}

export type OutputFormat = 'text' | 'json' | 'sarif';

export interface AuditArgs {
  /** audit: the full report; check: the pre-install gate (findings only, nothing installed needed). */
  command: 'audit' | 'check';
  dir: string;
  format: OutputFormat;
  registry: string | null;
  cache: string | null;
  offline: boolean;
  failOn: Severity | 'none';
  useInstalled: boolean;
  concurrency: number | null;
  timeoutMs: number | null;
  /** Minutes a kept publish history or registry key list is used without asking again. */
  cacheTtlMinutes: number | null;
  output: string | null;
  quiet: boolean;
  /** Verify registry signatures and provenance attestations (on unless --no-provenance). */
  provenance: boolean;
  /** Refresh the Sigstore trusted root through TUF (off with --no-tuf: the shipped root). */
  tufRefresh: boolean;
}

export interface EditArgs {
  command: 'allow' | 'deny';
  /** "name" or "name@version" */
  spec: string;
  dir: string;
  anyVersion: boolean;
  /** The allowlist to write; 'auto': the installing tool's. */
  allowlist: AllowlistTarget;
  registry: string | null;
  cache: string | null;
  offline: boolean;
}

export type CliArgs =
  | AuditArgs
  | EditArgs
  | { command: 'lsp' }
  | { command: 'help'; topic: string | null }
  | { command: 'version' };

export const HELP = `install-guard — see and gate what runs when you install a JavaScript project

Usage:
  install-guard audit [dir] [options]   every locked package: does it run install scripts,
                                        what, on which evidence, the allowlist's verdict,
                                        and who pulls it in
  install-guard check [dir] [options]   the pre-install gate: from package.json and the
                                        lockfile alone, every finding with its fix; exits 1
                                        at or above --fail-on (default: warning)
  install-guard allow <pkg>[@version] [dir] [--any-version] [--allowlist <tool>]
  install-guard deny <pkg>[@version] [dir] [--any-version] [--allowlist <tool>]
                                        write the package into the allowlist of the package
                                        manager in use (pinned to the locked version unless
                                        --any-version), as the editor's quick fixes do;
                                        --allowlist npm|pnpm|yarn|bun|lavamoat writes
                                        that tool's list instead
  install-guard lsp --stdio             the language server, for any LSP editor
  install-guard help, -h, --help        this text
  install-guard --version, -v

Options:
  --format text|json|sarif   output format (default: text)
  --registry <url>           registry to ask instead of the one in .npmrc
  --cache <dir>              metadata cache directory (default: $XDG_CACHE_HOME/install-guard
                             or ~/.cache/install-guard)
  --cache-ttl <minutes>      how long cached publish histories and registry keys are used
                             before the registry is asked again (default: 10080, a week);
                             the facts of a published version are kept regardless
  --offline                  use the cache only; say what could not be decided
  --fail-on <severity>       exit 1 when a finding is at or above: error, warning, info,
                             or none (default: error for audit, warning for check)
  --no-installed             ignore node_modules; decide from the registry only
  --no-provenance            skip registry signatures, provenance, trust downgrade and
                             release age
  --no-tuf                   verify provenance against the Sigstore root shipped with
                             Install Guard, without refreshing it through TUF
  --concurrency <n>          parallel registry requests (default: 16)
  --timeout <ms>             per-request timeout (default: npm's fetch-timeout, else 30000)
  -o, --output <file>        write the report to a file instead of stdout
  -q, --quiet                no progress on stderr

Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it, 2 usage or fatal error.
`;

export function parseCliArgs(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string' },
        registry: { type: 'string' },
        cache: { type: 'string' },
        'cache-ttl': { type: 'string' },
        offline: { type: 'boolean' },
        'fail-on': { type: 'string' },
        'no-installed': { type: 'boolean' },
        concurrency: { type: 'string' },
        timeout: { type: 'string' },
        output: { type: 'string', short: 'o' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        'any-version': { type: 'boolean' },
        allowlist: { type: 'string' },
        'no-provenance': { type: 'boolean' },
        'no-tuf': { type: 'boolean' },
        stdio: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.version) return { command: 'version' };
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { command: 'help', topic: rest[0] ?? null };
  if (command === 'lsp') return { command: 'lsp' };
  if (command === 'allow' || command === 'deny') {
    const [spec, dir, ...extra] = rest;
    if (!spec) throw new UsageError(`${command} needs a package: install-guard ${command} <pkg>[@version] [dir]`);
    if (extra.length) throw new UsageError(`${command} takes a package and one directory, got: ${rest.join(' ')}`);
    return {
      command,
      spec,
      dir: dir ?? '.',
      anyVersion: values['any-version'] ?? false,
      allowlist: checkedAllowlist(values.allowlist),
      registry: checkedRegistry(values.registry),
      cache: values.cache ?? null,
      offline: values.offline ?? false,
    };
  }
  if (command !== 'audit' && command !== 'check') throw new UsageError(`unknown command "${command}"`);
  if (rest.length > 1) throw new UsageError(`${command} takes one directory, got: ${rest.join(' ')}`);

  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'sarif') throw new UsageError(`--format must be text, json or sarif, not "${format}"`);
  const failOn = values['fail-on'] ?? (command === 'check' ? 'warning' : 'error');
  if (failOn !== 'none' && !isSeverity(failOn)) throw new UsageError(`--fail-on must be error, warning, info or none, not "${failOn}"`);
  return {
    command,
    dir: rest[0] ?? '.',
    format,
    registry: checkedRegistry(values.registry),
    cache: values.cache ?? null,
    offline: values.offline ?? false,
    failOn,
    // The gate runs before any install: node_modules is not evidence there.
    useInstalled: command === 'audit' && !values['no-installed'],
    concurrency: positiveInt(values.concurrency, '--concurrency'),
    timeoutMs: positiveInt(values.timeout, '--timeout'),
    cacheTtlMinutes: values['cache-ttl'] === '0' ? 0 : positiveInt(values['cache-ttl'], '--cache-ttl'),
    output: values.output ?? null,
    quiet: values.quiet ?? false,
    provenance: !values['no-provenance'],
    tufRefresh: !values['no-tuf'],
  };
}

function positiveInt(value: string | undefined, flag: string): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, not "${value}"`);
  return n;
}

function checkedAllowlist(value: string | undefined): AllowlistTarget {
  if (value === undefined) return 'auto';
  const target = ALLOWLIST_TARGETS.find((t) => t === value);
  if (!target) throw new UsageError(`--allowlist must be one of ${ALLOWLIST_TARGETS.join(', ')}, not "${value}"`);
  return target;
}

function checkedRegistry(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!/^https?:\/\/[^\s/]+/.test(value)) throw new UsageError(`--registry must be an http(s) URL, not "${value}"`);
  return value;
}
