/**
 * The shared provenance and signature fixtures (`../shared/fixtures/provenance/` and
 * `registry/npmjs-signatures.json`) shaped for a loopback registry, plus the plumbing the
 * provenance tests share: a registry config pointing at a loopback server, and audit
 * reports made from looked-up facts (what auditInventory would hand to assessProvenance).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProvenanceSubject } from '../../server/src/analysis/provenance';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import { loadRegistryConfig, type RegistryConfig } from '../../server/src/registry/npmConfig';
import type { VersionFacts } from '../../server/src/registry/versionFacts';
import { sharedFixture } from './sharedFixtures';

export type Variant = 'valid' | 'invalidsigprov' | 'invalidsigpub';

export interface ProvenanceFixture {
  stem: string;
  name: string;
  version: string;
  /** The repository the package's package.json names (the one it was really built from). */
  repository: string;
  tarball: Buffer;
  /** `sha512-<base64>` of the tarball: the attestation subject's digest. */
  integrity: string;
  /** The attestations response of each variant. */
  bodies: Record<Variant, unknown>;
}

/** Which package each fixture stem is (fixtures README), and the repository it names. */
export const PROVENANCE_STEMS: { stem: string; name: string; version: string; repository: string }[] = [
  { stem: 'gundam-visor-cli-v1-tag', name: 'gundam-visor', version: '1.0.1', repository: 'git+https://github.com/ramonpetgrave64/gundam-visor.git' },
  { stem: 'provenance-npm-test-cli-v1-prega', name: 'sigstore', version: '2.3.1', repository: 'git+https://github.com/sigstore/sigstore-js.git' },
  { stem: 'provenance-npm-test-cli-v02-prega', name: '@laurentsimon/provenance-npm-test', version: '1.0.3', repository: 'https://github.com/laurentsimon/provenance-npm-test' },
  { stem: 'provenance-npm-test-ossf', name: '@laurentsimon/provenance-npm-test', version: '1.0.5', repository: 'https://github.com/laurentsimon/provenance-npm-test' },
  { stem: 'supreme-googles-cli-v02-tag', name: '@trishankatdatadog/supreme-goggles', version: '1.0.5', repository: 'github:trishankatdatadog/supreme-goggles' },
];

export function sri(bytes: Buffer): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/** Every provenance fixture, or null when the shared fixtures are absent. */
export function loadProvenanceFixtures(): ProvenanceFixture[] | null {
  const dir = sharedFixture('provenance');
  if (!dir || !existsSync(dir)) return null;
  const read = (file: string): unknown => JSON.parse(readFileSync(join(dir, file), 'utf8'));
  return PROVENANCE_STEMS.map(({ stem, name, version, repository }) => {
    const tarball = readFileSync(join(dir, `${stem}.tgz`));
    return {
      stem, name, version, repository, tarball,
      integrity: sri(tarball),
      bodies: {
        valid: read(`${stem}.tgz.json`),
        invalidsigprov: read(`${stem}-invalidsigprov.tgz.json`),
        invalidsigpub: read(`${stem}-invalidsigpub.tgz.json`),
      },
    };
  });
}

export interface SignatureFixture {
  keys: { keys: { keyid: string; key: string; expires: string | null; keytype: string; scheme: string }[] };
  versions: { name: string; version: string; integrity: string; signatures: { keyid: string; sig: string }[]; attestations?: unknown }[];
}

export function loadSignatureFixture(): SignatureFixture | null {
  const file = sharedFixture('registry', 'npmjs-signatures.json');
  return file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SignatureFixture) : null;
}

/** A project dir with empty npm config whose registry is `registryUrl`. */
export async function loopbackConfig(registryUrl: string): Promise<{ dir: string; config: RegistryConfig }> {
  const dir = await mkdtemp(join(tmpdir(), 'ig-prov-'));
  await mkdir(join(dir, 'home'));
  const config = await loadRegistryConfig({
    projectDir: dir,
    env: { HOME: join(dir, 'home'), PREFIX: join(dir, 'prefix') },
    registryOverride: registryUrl,
  });
  return { dir, config };
}

/** The part of the report auditInventory makes for a registry package that provenance reads. */
export function reportFor(facts: VersionFacts | null, name = facts?.name ?? '', version = facts?.version ?? '', integrity = facts?.integrity ?? null): ProvenanceSubject {
  return {
    name, version, source: 'registry', integrity,
    entries: [{ id: `node_modules/${name}`, span: { start: 10, end: 20 } }],
    registryFacts: facts,
    error: facts ? null : 'lookup failed',
  };
}

/** Looks every name@version up and makes reports, as the audit would. */
export async function reportsFrom(client: MetadataClient, items: { name: string; version: string }[]): Promise<ProvenanceSubject[]> {
  const reports: ProvenanceSubject[] = [];
  for (const { name, version } of items) {
    const result = await client.lookup(name, version);
    if (!result.ok) throw new Error(result.message);
    reports.push(reportFor(result.facts));
  }
  return reports;
}
