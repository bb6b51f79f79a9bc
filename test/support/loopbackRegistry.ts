/**
 * A real npm-registry-shaped HTTP server on 127.0.0.1 for every test tier. It serves the
 * documents npm, pacote and Install Guard ask for — full packuments, the abbreviated
 * "corgi" npm itself installs from, tarballs, `/-/npm/v1/keys` and attestations — from
 * version manifests the test hands it, and can misbehave the way real registries and
 * proxies do (404/401/403/500, garbage JSON, hanging, slow answers, stripped signatures).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import semver from 'semver';

export type RegistryFault = '404' | '401' | '403' | '500' | 'garbage' | 'hang' | 'slow';

export interface LoopbackRegistryOptions {
  /** Version manifests (as in manifests.json.gz values), or a map name@version -> manifest. */
  manifests: Iterable<Record<string, any>> | Map<string, Record<string, any>>;
  /**
   * Misbehaviour per package name (every request about the package), per name@version
   * (its tarball and attestations; a '404' also drops that version from the packument), or
   * per path prefix starting with "/" (e.g. "/-/npm/v1/keys"). Mutable while the server runs.
   */
  faults?: Record<string, RegistryFault>;
  /** Answer 401 to any request without `Authorization: Bearer <requireToken>`. */
  requireToken?: string;
  /** Body of /-/npm/v1/keys; absent -> 404 (as many mirrors answer). */
  keys?: unknown;
  /** name@version -> body of /-/npm/v1/attestations/<name>@<version>; also sets dist.attestations. */
  attestations?: Map<string, unknown>;
  /** name@version -> tarball bytes, served at the dist.tarball URL (404 otherwise). */
  tarballs?: Map<string, Buffer>;
  /** Remove dist.signatures and dist.attestations, as stripping proxies do. */
  stripSignatures?: boolean;
  /** name -> packument `time` entries (created, modified, per version); others are synthesized. */
  time?: Record<string, Record<string, string>>;
}

export interface RecordedRequest {
  method: string;
  url: string;
  authorization?: string;
  accept?: string;
}

export interface LoopbackRegistry {
  /** Base URL with a trailing slash, e.g. http://127.0.0.1:40123/ */
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** The live fault table; tests may change it between requests. */
  faults: Record<string, RegistryFault>;
  close(): Promise<void>;
}

const CORGI_TYPE = 'application/vnd.npm.install-v1+json';
const SLOW_MS = 300;
/** Fields of a version that the public registry keeps in the abbreviated document. */
const CORGI_FIELDS = [
  'name', 'version', 'dependencies', 'optionalDependencies', 'devDependencies',
  'bundleDependencies', 'peerDependencies', 'peerDependenciesMeta', 'acceptDependencies',
  'bin', 'directories', 'engines', 'os', 'cpu', 'libc', 'dist', '_hasShrinkwrap',
  'deprecated', 'funding', 'license',
];
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

interface PackageEntry {
  name: string;
  /** version -> manifest as served (tarball and attestation URLs point at this server). */
  versions: Map<string, Record<string, any>>;
  time: Record<string, string>;
  distTags: Record<string, string>;
}

export async function startLoopbackRegistry(opts: LoopbackRegistryOptions): Promise<LoopbackRegistry> {
  const requests: RecordedRequest[] = [];
  const faults: Record<string, RegistryFault> = { ...(opts.faults ?? {}) };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let packages = new Map<string, PackageEntry>();

  const server = createServer((req, res) => {
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}),
      ...(req.headers.accept !== undefined ? { accept: req.headers.accept } : {}),
    });
    // Drain any request body so keep-alive sockets stay usable.
    req.resume();
    try {
      route(req, res);
    } catch (err) {
      send(res, 500, { error: String(err) });
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  packages = indexManifests(opts, url);

  function route(req: IncomingMessage, res: ServerResponse): void {
    const pathname = new URL(req.url ?? '/', url).pathname;
    const path = decodeURIComponent(pathname);
    if (opts.requireToken !== undefined && req.headers.authorization !== `Bearer ${opts.requireToken}`) {
      send(res, 401, { error: 'authentication required' });
      return;
    }
    const pathFault = Object.keys(faults).find((k) => k.startsWith('/') && path.startsWith(k));
    if (pathFault) applyFault(res, faults[pathFault], () => route2(req, res, path));
    else route2(req, res, path);
  }

  function route2(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (path === '/-/ping') return send(res, 200, {});
    if (path === '/-/npm/v1/keys') {
      return opts.keys === undefined ? send(res, 404, { error: 'not found' }) : send(res, 200, opts.keys);
    }
    const attest = /^\/-\/npm\/v1\/attestations\/(.+)$/.exec(path);
    if (attest) {
      const spec = attest[1];
      const at = spec.lastIndexOf('@');
      const name = at > 0 ? spec.slice(0, at) : spec;
      const body = opts.attestations?.get(spec);
      return withFaults(res, name, spec, () =>
        body === undefined ? send(res, 404, { error: 'not found' }) : send(res, 200, body));
    }
    const dash = path.indexOf('/-/');
    if (dash > 0) return serveTarball(res, path.slice(1, dash), path.slice(dash + 3));

    const parts = path.slice(1).split('/');
    const scoped = parts[0].startsWith('@');
    const name = scoped ? `${parts[0]}/${parts[1] ?? ''}` : parts[0];
    const versionPart = parts[scoped ? 2 : 1];
    if (versionPart !== undefined && versionPart !== '') {
      return withFaults(res, name, `${name}@${versionPart}`, () => serveVersion(res, name, versionPart));
    }
    withFaults(res, name, null, () => servePackument(req, res, name));
  }

  function servePackument(req: IncomingMessage, res: ServerResponse, name: string): void {
    const entry = packages.get(name);
    if (!entry) return send(res, 404, { error: 'not found' });
    const dropped = new Set(
      [...entry.versions.keys()].filter((v) => faults[`${name}@${v}`] === '404'),
    );
    const corgi = (req.headers.accept ?? '').includes(CORGI_TYPE);
    const versions: Record<string, unknown> = {};
    for (const [v, manifest] of entry.versions) {
      if (!dropped.has(v)) versions[v] = corgi ? abbreviate(manifest) : manifest;
    }
    const doc = corgi
      ? { name, modified: entry.time.modified, 'dist-tags': entry.distTags, versions }
      : {
          _id: name,
          name,
          'dist-tags': entry.distTags,
          versions,
          time: entry.time,
          modified: entry.time.modified,
        };
    send(res, 200, doc, corgi ? CORGI_TYPE : 'application/json');
  }

  function serveVersion(res: ServerResponse, name: string, version: string): void {
    const entry = packages.get(name);
    const resolved = entry && (entry.versions.has(version) ? version : entry.distTags[version]);
    const manifest = resolved ? entry.versions.get(resolved) : undefined;
    if (!manifest) return send(res, 404, { error: 'not found' });
    send(res, 200, manifest);
  }

  function serveTarball(res: ServerResponse, name: string, file: string): void {
    const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
    const m = file.startsWith(`${base}-`) && file.endsWith('.tgz') ? file.slice(base.length + 1, -4) : null;
    const key = m === null ? null : `${name}@${m}`;
    withFaults(res, name, key, () => {
      const body = key === null ? undefined : opts.tarballs?.get(key);
      if (body === undefined) return send(res, 404, { error: 'not found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.end(body);
    });
  }

  /** Applies the fault for a package (or one of its versions); runs `ok` when there is none. */
  function withFaults(res: ServerResponse, name: string, key: string | null, ok: () => void): void {
    // Packument requests pass key null: a version-level 404 is applied there by dropping the version.
    const fault = (key !== null ? faults[key] : undefined) ?? faults[name];
    if (fault) applyFault(res, fault, ok);
    else ok();
  }

  /** Answers (or deliberately never answers) as the fault says; 'slow' runs `ok` late. */
  function applyFault(res: ServerResponse, fault: RegistryFault, ok: () => void): void {
    switch (fault) {
      case '404':
        return send(res, 404, { error: 'not found' });
      case '401':
      case '403':
      case '500':
        return send(res, Number(fault), { error: `fault ${fault}` });
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"name": "garbage", "versions": {<<< this is not JSON');
        return;
      case 'hang':
        // Never answer; close() destroys the socket.
        return;
      case 'slow': {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) ok();
        }, SLOW_MS);
        timers.add(t);
        return;
      }
    }
  }

  return {
    url,
    port,
    requests,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The abbreviated version document, with `hasInstallScript` as the public registry computes it. */
function abbreviate(manifest: Record<string, any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of CORGI_FIELDS) {
    if (manifest[field] !== undefined) out[field] = manifest[field];
  }
  if (out.bundleDependencies === undefined && manifest.bundledDependencies !== undefined) {
    out.bundleDependencies = manifest.bundledDependencies;
  }
  const scripts = manifest.scripts ?? {};
  if (INSTALL_SCRIPTS.some((s) => typeof scripts[s] === 'string')) out.hasInstallScript = true;
  return out;
}

function indexManifests(opts: LoopbackRegistryOptions, url: string): Map<string, PackageEntry> {
  const source = opts.manifests instanceof Map ? opts.manifests.values() : opts.manifests;
  const byName = new Map<string, Map<string, Record<string, any>>>();
  for (const original of source) {
    const manifest = JSON.parse(JSON.stringify(original)) as Record<string, any>;
    const { name, version } = manifest;
    if (typeof name !== 'string' || typeof version !== 'string') continue;
    manifest._id = `${name}@${version}`;
    const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name;
    const dist = (manifest.dist ??= {});
    dist.tarball = `${url}${name}/-/${base}-${version}.tgz`;
    const attestation = opts.attestations?.get(`${name}@${version}`);
    if (attestation !== undefined) {
      dist.attestations = {
        url: `${url}-/npm/v1/attestations/${name}@${version}`,
        provenance: { predicateType: provenancePredicate(attestation) ?? dist.attestations?.provenance?.predicateType },
      };
    } else if (dist.attestations?.url) {
      dist.attestations.url = `${url}-/npm/v1/attestations/${name}@${version}`;
    }
    if (opts.stripSignatures) {
      delete dist.signatures;
      delete dist.attestations;
    }
    let versions = byName.get(name);
    if (!versions) byName.set(name, (versions = new Map()));
    versions.set(version, manifest);
  }

  const packages = new Map<string, PackageEntry>();
  for (const [name, versions] of byName) {
    const sorted = [...versions.keys()].filter((v) => semver.valid(v)).sort(semver.compare);
    const stable = sorted.filter((v) => !semver.prerelease(v));
    const latest = stable.at(-1) ?? sorted.at(-1) ?? [...versions.keys()][0];
    const time = { ...synthesizeTime(name, sorted), ...(opts.time?.[name] ?? {}) };
    packages.set(name, { name, versions, time, distTags: { latest } });
  }
  return packages;
}

/** Deterministic publish times: one day apart in semver order, offset per package name. */
function synthesizeTime(name: string, sortedVersions: string[]): Record<string, string> {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const start = Date.UTC(2020, 0, 1) + (hash % 86_400) * 1000;
  const time: Record<string, string> = {};
  sortedVersions.forEach((v, i) => (time[v] = new Date(start + i * 86_400_000).toISOString()));
  time.created = new Date(start - 3_600_000).toISOString();
  time.modified = new Date(start + Math.max(sortedVersions.length - 1, 0) * 86_400_000 + 60_000).toISOString();
  return time;
}

function provenancePredicate(body: unknown): string | undefined {
  const list = (body as { attestations?: { predicateType?: unknown }[] } | null)?.attestations;
  if (!Array.isArray(list)) return undefined;
  const slsa = list.find((a) => typeof a.predicateType === 'string' && a.predicateType.startsWith('https://slsa.dev/'));
  return typeof slsa?.predicateType === 'string' ? slsa.predicateType : undefined;
}
