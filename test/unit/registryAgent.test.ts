/**
 * The connection settings of npm's config reach every packument request through the agent
 * that registryAgent.ts keeps per origin: the CA of `cafile` over real TLS, `strict-ssl`,
 * `proxy` and `noproxy`. The https registry is the loopback registry behind a TLS front
 * with a self-signed certificate made for these tests (test/fixtures/tls, 127.0.0.1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { MetadataClient, type LookupResult } from '../../server/src/registry/metadataClient';
import { registryAgent } from '../../server/src/registry/registryAgent';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/loopbackRegistry';
import { npmrcSandbox, type NpmrcSandbox } from '../support/npmrcSandbox';

const TLS_DIR = join(__dirname, '..', 'fixtures', 'tls');
const CERT = join(TLS_DIR, 'registry-cert.pem');
const MANIFESTS = [{ name: 'left-pad', version: '1.3.0', dist: { integrity: 'sha512-AA==' } }];

/** The loopback registry over https: each request is passed on to it unchanged. */
async function tlsFront(registry: LoopbackRegistry): Promise<{ url: string; server: Server }> {
  const upstream = new URL(registry.url);
  const server = createServer({ key: readFileSync(join(TLS_DIR, 'registry-key.pem')), cert: readFileSync(CERT) }, (req, res) => {
    const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

async function lookupWith(s: NpmrcSandbox, npmrc: string[]): Promise<LookupResult> {
  await s.write(join(s.home, '.npmrc'), npmrc.join('\n') + '\n');
  const client = new MetadataClient({ config: await s.load(), cacheDir: null, retries: 0, timeoutMs: 5000 });
  return client.lookup('left-pad', '1.3.0');
}

test('https: the cafile is trusted over real TLS, a self-signed registry without it is not, strict-ssl=false skips the check', async () => {
  const registry = await startLoopbackRegistry({ manifests: MANIFESTS });
  const front = await tlsFront(registry);
  const s = await npmrcSandbox();
  try {
    const trusted = await lookupWith(s, [`registry=${front.url}`, `cafile=${CERT}`]);
    assert.equal(trusted.ok, true, JSON.stringify(trusted));

    const untrusted = await lookupWith(s, [`registry=${front.url}`]);
    assert.equal(untrusted.ok, false);
    assert.ok(!untrusted.ok && untrusted.kind === 'network' && /SELF_SIGNED|self[- ]signed/i.test(untrusted.message), JSON.stringify(untrusted));

    const unchecked = await lookupWith(s, [`registry=${front.url}`, 'strict-ssl=false']);
    assert.equal(unchecked.ok, true, JSON.stringify(unchecked));
    assert.equal(registry.requests.filter((r) => r.url === '/left-pad').length, 2, 'the untrusted attempt never reached the registry');
  } finally {
    front.server.closeAllConnections();
    front.server.close();
    await registry.close();
    await rm(s.root, { recursive: true, force: true });
  }
});

test('proxy carries registry requests; noproxy sends a host around it', async () => {
  // The loopback registry answers absolute-URI requests, so it can stand in for the proxy.
  const proxy = await startLoopbackRegistry({ manifests: MANIFESTS });
  const registry = await startLoopbackRegistry({ manifests: MANIFESTS });
  const s = await npmrcSandbox();
  try {
    const viaProxy = await lookupWith(s, ['registry=http://registry.invalid/', `proxy=${proxy.url}`]);
    assert.equal(viaProxy.ok, true, JSON.stringify(viaProxy));
    assert.deepEqual(proxy.requests.map((r) => r.url), ['http://registry.invalid/left-pad']);

    const refusedProxy = 'http://127.0.0.1:9/';
    const blocked = await lookupWith(s, [`registry=${registry.url}`, `proxy=${refusedProxy}`]);
    assert.equal(blocked.ok, false, 'the registry is only reachable around the proxy');
    const around = await lookupWith(s, [`registry=${registry.url}`, `proxy=${refusedProxy}`, 'noproxy=127.0.0.1']);
    assert.equal(around.ok, true, JSON.stringify(around));
    assert.deepEqual(registry.requests.map((r) => r.url), ['/left-pad']);
  } finally {
    await proxy.close();
    await registry.close();
    await rm(s.root, { recursive: true, force: true });
  }
});

test('one agent per origin and config; a per-host client certificate keeps the per-request choice', () => {
  const options = Object.freeze({ registry: 'https://a.example/', strictSSL: true });
  const agentFor = registryAgent(options, 1000)!;
  assert.equal(registryAgent(options, 1000), agentFor, 'options built per request (attestations) share it');
  const a = agentFor(new URL('https://a.example/left-pad'));
  assert.equal(agentFor(new URL('https://a.example/@scope%2fx')), a);
  assert.notEqual(agentFor(new URL('http://a.example/left-pad')), a, 'http and https never share a pool');
  assert.notEqual(registryAgent({ ...options }, 1000), agentFor, 'another config gets its own');
  assert.equal(registryAgent({ ...options, '//a.example/:certfile': '/c.pem', '//a.example/:keyfile': '/k.pem' }, 1000), undefined);
});
