/**
 * Command-line parsing for `install-guard`. Usage errors are thrown as UsageError so the
 * entry point can print them with the help hint and exit 2.
 */
import { parseArgs } from 'node:util';
import { isSeverity, type Severity } from '../analysis/findings';

export class UsageError extends Error {}

export type OutputFormat = 'text' | 'json' | 'sarif';

export interface AuditArgs {
  command: 'audit';
  dir: string;
  format: OutputFormat;
  registry: string | null;
  cache: string | null;
  offline: boolean;
  failOn: Severity | 'none';
  useInstalled: boolean;
  concurrency: number | null;
  timeoutMs: number | null;
  output: string | null;
  quiet: boolean;
}

export type CliArgs = AuditArgs | { command: 'help'; topic: string | null } | { command: 'version' };

export const HELP = `install-guard — see and gate what runs when you install a JavaScript project

Usage:
  install-guard audit [dir] [options]   every locked package: does it run install scripts,
                                        what, on which evidence, and who pulls it in
  install-guard help                    this text
  install-guard --version

Options:
  --format text|json|sarif   output format (default: text)
  --registry <url>           registry to ask instead of the one in .npmrc
  --cache <dir>              metadata cache directory (default: ~/.cache/install-guard)
  --offline                  use the cache only; say what could not be decided
  --fail-on <severity>       exit 1 when a finding is at or above: error, warning, info,
                             or none (default: error)
  --no-installed             ignore node_modules; decide from the registry only
  --concurrency <n>          parallel registry requests (default: 16)
  --timeout <ms>             per-request timeout (default: 30000)
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
        offline: { type: 'boolean' },
        'fail-on': { type: 'string' },
        'no-installed': { type: 'boolean' },
        concurrency: { type: 'string' },
        timeout: { type: 'string' },
        output: { type: 'string', short: 'o' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.version) return { command: 'version' };
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { command: 'help', topic: rest[0] ?? null };
  if (command !== 'audit') throw new UsageError(`unknown command "${command}"`);
  if (rest.length > 1) throw new UsageError(`audit takes one directory, got: ${rest.join(' ')}`);

  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json' && format !== 'sarif') throw new UsageError(`--format must be text, json or sarif, not "${format}"`);
  const failOn = values['fail-on'] ?? 'error';
  if (failOn !== 'none' && !isSeverity(failOn)) throw new UsageError(`--fail-on must be error, warning, info or none, not "${failOn}"`);
  if (values.registry !== undefined && !/^https?:\/\/[^\s/]+/.test(values.registry)) {
    throw new UsageError(`--registry must be an http(s) URL, not "${values.registry}"`);
  }
  return {
    command: 'audit',
    dir: rest[0] ?? '.',
    format,
    registry: values.registry ?? null,
    cache: values.cache ?? null,
    offline: values.offline ?? false,
    failOn,
    useInstalled: !values['no-installed'],
    concurrency: positiveInt(values.concurrency, '--concurrency'),
    timeoutMs: positiveInt(values.timeout, '--timeout'),
    output: values.output ?? null,
    quiet: values.quiet ?? false,
  };
}

function positiveInt(value: string | undefined, flag: string): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, not "${value}"`);
  return n;
}
