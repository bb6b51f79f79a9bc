/** A project with HOME and npm prefix of its own, for tests of how npm's configuration is read. */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRegistryConfig, type LoadRegistryConfigOptions } from '../../server/src/registry/npmConfig';

export interface NpmrcSandbox {
  root: string;
  project: string;
  home: string;
  prefix: string;
  env: NodeJS.ProcessEnv;
  write(file: string, text: string): Promise<string>;
  load(extra?: Partial<LoadRegistryConfigOptions>): ReturnType<typeof loadRegistryConfig>;
}

/** A project, a HOME and a global prefix of its own, so no real ~/.npmrc or /usr/etc/npmrc leaks in. */
export async function npmrcSandbox(env: NodeJS.ProcessEnv = {}): Promise<NpmrcSandbox> {
  const root = await mkdtemp(join(tmpdir(), 'ig-npmrc-'));
  const project = join(root, 'project');
  const home = join(root, 'home');
  const prefix = join(root, 'prefix');
  await mkdir(project, { recursive: true });
  await mkdir(home, { recursive: true });
  await mkdir(join(prefix, 'etc'), { recursive: true });
  await writeFile(join(project, 'package.json'), '{"name":"p","version":"1.0.0"}');
  const fullEnv = { HOME: home, PREFIX: prefix, ...env };
  return {
    root, project, home, prefix, env: fullEnv,
    async write(file, text) {
      await writeFile(file, text);
      return file;
    },
    load: (extra = {}) => loadRegistryConfig({ projectDir: project, env: fullEnv, ...extra }),
  };
}
