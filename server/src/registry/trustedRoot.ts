/**
 * The Sigstore public-good trusted root (Fulcio CAs, Rekor logs, CT logs, TSAs) that
 * keyless provenance bundles are verified against.
 *
 * Verification must work with no network to Sigstore, so Install Guard ships the root
 * that @sigstore/tuf embeds: its `seeds.json` maps the TUF mirror URL to the base64 of
 * the repository's `root.json` and of its targets, `trusted_root.json` among them. When
 * the caller allows it, the root is refreshed through TUF (signed metadata from the
 * Sigstore TUF repository, verified by tuf-js from the embedded TUF root) with a short
 * timeout; a refreshed root is kept in our cache dir and reused by later runs. Any failure
 * falls back — to the last refreshed copy, else to the shipped one — and the result
 * always says which root was used.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrustedRoot } from '@sigstore/protobuf-specs';

export const SIGSTORE_TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const DEFAULT_TIMEOUT_MS = 3000;
const REFRESHED_FILE = 'sigstore-trusted-root.json';
/** A long-running language server asks TUF again after this long. */
const MEMO_MS = 6 * 3_600_000;

export interface TrustedRootInfo {
  root: TrustedRoot;
  source: 'tuf' | 'embedded';
  /** "tuf (refreshed 2026-11-21)" or "embedded (shipped with Install Guard: ...)". */
  label: string;
  /** Why a TUF refresh was not used, when one was asked for; else null. */
  note: string | null;
}

export interface TrustedRootOptions {
  /** Where the TUF metadata and the last refreshed root are kept; null: no TUF, no saved copy. */
  cacheDir: string | null;
  /** Ask the Sigstore TUF repository for a fresh root (the CLI's default; tests pass false). */
  tufRefresh: boolean;
  /** Budget for the whole refresh. Default 3 s. */
  timeoutMs?: number;
  /** Another TUF mirror (tests); it is seeded with the embedded TUF root.json. */
  mirrorUrl?: string;
}

interface Seeds {
  [mirror: string]: { 'root.json': string; targets: Record<string, string> };
}

type ProtobufSpecs = { TrustedRoot: { fromJSON(json: unknown): TrustedRoot; toJSON(root: TrustedRoot): unknown } };
/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first use: only runs that verify bundles pay for them */
const specs = (): ProtobufSpecs => require('@sigstore/protobuf-specs') as ProtobufSpecs;
const seeds = (): Seeds => require('@sigstore/tuf/seeds.json') as Seeds;
const tufVersion = (): string => (require('@sigstore/tuf/package.json') as { version: string }).version;
/* eslint-enable @typescript-eslint/no-require-imports */

let embedded: TrustedRootInfo | null = null;
/** The newest `validFor.start` in the shipped root: how recent it is, at least. */
let embeddedNewest = '';

/** The root shipped inside @sigstore/tuf's seeds (no I/O beyond the module itself). */
export function embeddedTrustedRoot(): TrustedRootInfo {
  if (embedded) return embedded;
  const seed = seeds()[SIGSTORE_TUF_MIRROR];
  const target = seed?.targets['trusted_root.json'];
  if (!target) throw new Error('@sigstore/tuf ships no trusted_root.json seed');
  const json = JSON.parse(Buffer.from(target, 'base64').toString('utf8')) as unknown;
  // The seed carries no date of its own; its newest validity start bounds how recent it is.
  const newest = newestEntry(json);
  embeddedNewest = newest ?? '';
  embedded = {
    root: specs().TrustedRoot.fromJSON(json),
    source: 'embedded',
    label: `embedded (shipped with Install Guard: @sigstore/tuf ${tufVersion()} seed${newest ? `, newest entry ${newest.slice(0, 10)}` : ''})`,
    note: null,
  };
  return embedded;
}

const memo = new Map<string, { at: number; root: Promise<TrustedRootInfo> }>();

/**
 * The trusted root for this run: asked for once per process (per options). A failed TUF
 * refresh falls back to the embedded root; only a broken embedded root rejects.
 */
export function loadTrustedRoot(opts: TrustedRootOptions): Promise<TrustedRootInfo> {
  const key = `${opts.cacheDir ?? ''}\0${opts.tufRefresh}\0${opts.mirrorUrl ?? ''}`;
  const hit = memo.get(key);
  if (hit && Date.now() - hit.at < MEMO_MS) return hit.root;
  const root = resolveRoot(opts);
  memo.set(key, { at: Date.now(), root });
  return root;
}

async function resolveRoot(opts: TrustedRootOptions): Promise<TrustedRootInfo> {
  const shipped = embeddedTrustedRoot();
  const saved = opts.cacheDir ? readRefreshedCopy(opts.cacheDir) : null;
  // A saved copy older than what this build ships would be a step back.
  const fallback = saved && saved.refreshedAt > embeddedNewest ? saved.info : shipped;
  if (!opts.tufRefresh) return fallback;
  if (!opts.cacheDir) return { ...fallback, note: 'no cache directory for TUF metadata; the root was not refreshed' };
  try {
    const root = await withTimeout(refreshThroughTuf(opts.cacheDir, opts), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const refreshedAt = new Date().toISOString();
    saveRefreshedCopy(opts.cacheDir, root, refreshedAt);
    return { root, source: 'tuf', label: `tuf (refreshed ${refreshedAt.slice(0, 10)})`, note: null };
  } catch (err) {
    const e = err as Error & { cause?: Error & { cause?: Error } };
    // TUFError wraps the fetch error, which may wrap the socket error: say the innermost.
    const why = [e?.message ?? String(err), e?.cause?.message, e?.cause?.cause?.message].filter(Boolean).join(': ').split('\n')[0];
    return { ...fallback, note: `TUF refresh failed (${why}); using the ${fallback.source === 'tuf' ? 'last refreshed' : 'shipped'} root` };
  }
}

async function refreshThroughTuf(cacheDir: string, opts: TrustedRootOptions): Promise<TrustedRoot> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tuf = require('@sigstore/tuf') as typeof import('@sigstore/tuf');
  const mirrorURL = opts.mirrorUrl ?? SIGSTORE_TUF_MIRROR;
  const cachePath = join(cacheDir, 'sigstore-tuf');
  let rootPath: string | undefined;
  if (mirrorURL !== SIGSTORE_TUF_MIRROR) {
    // @sigstore/tuf only has seeds for the public mirror; start another from the same TUF root.
    mkdirSync(cachePath, { recursive: true });
    rootPath = join(cachePath, 'seed-root.json');
    writeFileSync(rootPath, Buffer.from(seeds()[SIGSTORE_TUF_MIRROR]!['root.json'], 'base64'));
  }
  return tuf.getTrustedRoot({
    cachePath,
    mirrorURL,
    ...(rootPath ? { rootPath } : {}),
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retry: 0,
  });
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  // The losing request may still settle later; nothing is listening then.
  work.catch(() => {});
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

function readRefreshedCopy(cacheDir: string): { refreshedAt: string; info: TrustedRootInfo } | null {
  try {
    const saved = JSON.parse(readFileSync(join(cacheDir, REFRESHED_FILE), 'utf8')) as { refreshedAt?: unknown; trustedRoot?: unknown };
    if (typeof saved.refreshedAt !== 'string' || typeof saved.trustedRoot !== 'object' || saved.trustedRoot === null) return null;
    const root = specs().TrustedRoot.fromJSON(saved.trustedRoot);
    if (root.tlogs.length === 0 || root.certificateAuthorities.length === 0) return null;
    return {
      refreshedAt: saved.refreshedAt,
      info: { root, source: 'tuf', label: `tuf (refreshed ${saved.refreshedAt.slice(0, 10)})`, note: null },
    };
  } catch {
    return null;
  }
}

function saveRefreshedCopy(cacheDir: string, root: TrustedRoot, refreshedAt: string): void {
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, REFRESHED_FILE), JSON.stringify({ refreshedAt, trustedRoot: specs().TrustedRoot.toJSON(root) }));
  } catch {
    // Keeping the copy is an optimisation; this run has its root either way.
  }
}

/** The latest `validFor.start` in a trusted_root.json document (ISO), or null. */
function newestEntry(json: unknown): string | null {
  let newest: string | null = null;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) {
        if (k === 'validFor' && typeof child === 'object' && child !== null) {
          const start = (child as { start?: unknown }).start;
          const iso = typeof start === 'string' ? start : null;
          if (iso && (!newest || iso > newest)) newest = iso;
        } else visit(child);
      }
    }
  };
  visit(json);
  return newest;
}
