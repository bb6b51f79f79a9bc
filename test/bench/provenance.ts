/**
 * What provenance costs. Standalone: `node --import tsx test/bench/provenance.ts [--size 1000] [--rounds 20]`;
 * also a section of `npm run bench` (run.ts calls benchProvenance).
 *
 * 1. Verification throughput of the real fixture bundles (../shared/fixtures/provenance:
 *    five packages, ten bundles — five keyless SLSA, five registry-keyed publish):
 *      first verification in a fresh process (loading @sigstore/*, building trust material);
 *      cold cache: bundles/s with no cached verdict (all the cryptography every time);
 *      warm cache: packages/s when the verdicts come from the facts cache (nothing verified).
 * 2. The extra time provenance adds to a 1k-package audit against a loopback registry that
 *    serves, for EVERY package, registry signatures (made with a bench P-256 key it publishes
 *    at /-/npm/v1/keys) and an attestations response. Real bundles are needed for real
 *    cryptography, and only five packages have them, so every package is served one of the
 *    five real responses in turn: each bundle is fully verified (certificate chain, SCT,
 *    Rekor inclusion proof, DSSE signature, publish key) and then fails only the subject
 *    check, because it names another package. The bench asserts exactly that, so its numbers
 *    are those of a full verification. No bench mode switches any check off.
 *    The audit baseline is the registry part of the audit (every locked version looked up,
 *    as auditInventory does); provenance is timed on top, cold (empty cache) and warm.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { assessProvenance, type ProvenanceOptions } from '../../server/src/analysis/provenance';
import { provenanceSummary } from '../../server/src/analysis/provenanceFindings';
import { verifyAttestations } from '../../server/src/registry/attestations';
import { MetadataClient } from '../../server/src/registry/metadataClient';
import { parseRegistryKeys } from '../../server/src/registry/registryKeys';
import { embeddedTrustedRoot } from '../../server/src/registry/trustedRoot';
import { startLoopbackRegistry } from '../support/loopbackRegistry';
import { loadProvenanceFixtures, loadSignatureFixture, loopbackConfig, reportFor } from '../support/provenanceFixtures';
import { generateProject, registryManifests } from './generate';

export interface ProvenanceBenchOptions {
  /** Packages in the audit of part 2 (default 1000). */
  size?: number;
  /** Verification rounds over the ten fixture bundles in part 1 (default 20). */
  rounds?: number;
  /** Where each result line goes as it is measured (default console.log). */
  log?: (line: string) => void;
}

/** True when ../shared/fixtures holds the real bundles and npm's keys this bench needs. */
export function provenanceFixturesPresent(): boolean {
  return loadProvenanceFixtures() !== null && loadSignatureFixture()?.keys !== undefined;
}

/** Runs both parts; returns the result lines (also logged as they come). */
export async function benchProvenance(bench: ProvenanceBenchOptions = {}): Promise<string[]> {
  const SIZE = bench.size ?? 1000;
  const ROUNDS = bench.rounds ?? 20;
  const log = bench.log ?? ((line: string) => console.log(line));
  const fixtures = loadProvenanceFixtures();
  const npmKeys = loadSignatureFixture()?.keys;
  if (!fixtures || !npmKeys) throw new Error('../shared/fixtures is absent: the bench needs the real bundles');
  const lines: string[] = [];
  const say = (line: string): void => {
    lines.push(line);
    log(line);
  };

  // --- 1. throughput -------------------------------------------------------------------
  const keys = { ok: true as const, registry: 'https://registry.npmjs.org/', keys: parseRegistryKeys(npmKeys)! };
  const verifyAll = (): number => {
    let bundles = 0;
    for (const f of fixtures) {
      const r = verifyAttestations(f.bodies.valid, { name: f.name, version: f.version, integrities: [f.integrity] }, { root: embeddedTrustedRoot(), keys });
      if (r.state !== 'verified') throw new Error(`${f.name}@${f.version}: ${r.reason}`);
      bundles += r.bundles.length;
    }
    return bundles;
  };
  let t = performance.now();
  const perRound = verifyAll();
  const firstMs = performance.now() - t;
  say(`first verification in this process (module load + trust material + ${perRound} bundles): ${firstMs.toFixed(0)} ms`);
  t = performance.now();
  let cpu = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) verifyAll();
  const coldMs = performance.now() - t;
  const coldCpuMs = cpuMs(cpu);
  const bundles = perRound * ROUNDS;
  say(`cold cache (full verification): ${(bundles / (coldMs / 1000)).toFixed(0)} bundles/s wall, ${(bundles / (coldCpuMs / 1000)).toFixed(0)} bundles/s of CPU ` +
    `(${(coldCpuMs / bundles).toFixed(2)} ms CPU per bundle; ${bundles} bundles, half keyless SLSA, half registry-keyed publish)`);

  // --- 2. a 1k-package audit against a registry serving signatures + attestations -------
  const project = generateProject(SIZE);
  const manifests = registryManifests(project);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const benchKeyId = `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`;
  const attestations = new Map<string, unknown>();
  let i = 0;
  for (const [id, manifest] of manifests) {
    const dist = manifest.dist as Record<string, unknown>;
    const sig = sign('sha256', Buffer.from(`${id}:${dist.integrity as string}`), privateKey).toString('base64');
    dist.signatures = [{ keyid: benchKeyId, sig }];
    attestations.set(id, fixtures[i++ % fixtures.length]!.bodies.valid);
  }
  const registry = await startLoopbackRegistry({
    manifests,
    attestations,
    keys: { keys: [...npmKeys.keys, { keyid: benchKeyId, keytype: 'ecdsa-sha2-nistp256', scheme: 'ecdsa-sha2-nistp256', key: spki.toString('base64'), expires: null }] },
  });
  const { dir, config } = await loopbackConfig(registry.url);
  const cacheDir = mkdtempSync(join(tmpdir(), 'ig-bench-prov-'));
  const items = [...manifests.values()].map((m) => ({ name: m.name as string, version: m.version as string, integrity: (m.dist as { integrity: string }).integrity }));
  const options: ProvenanceOptions = { downgradePolicy: 'same-major', minimumReleaseAgeMinutes: 1440, now: new Date(), tufRefresh: false };
  try {
    const run = async (label: string) => {
      const metadata = new MetadataClient({ config, cacheDir, keepPublishHistory: true });
      let t0 = performance.now();
      const results = await metadata.lookupAll(items);
      const auditMs = performance.now() - t0;
      const reports = items.map((it) => {
        const r = results.get(`${it.name}@${it.version}`)!;
        if (!r.ok) throw new Error(r.message);
        return reportFor(r.facts, it.name, it.version, it.integrity);
      });
      const requestsBefore = registry.requests.length;
      t0 = performance.now();
      cpu = process.cpuUsage();
      const facts = await assessProvenance(reports, { config, metadata, cacheDir, options });
      const provenanceMs = performance.now() - t0;
      const provenanceCpuMs = cpuMs(cpu);
      await metadata.flush();
      const requests = registry.requests.length - requestsBefore;
      // Every bundle verified cryptographically and failed the subject check only.
      for (const [id, p] of facts) {
        if (p.signature !== 'verified') throw new Error(`${id}: signature ${p.signature}: ${p.details.signature}`);
        if (p.attestation !== 'invalid' || !/^(SLSA v[\d.]+ provenance|publish attestation): the statement is about pkg:npm\//.test(p.details.attestation) ||
            /signature does not verify/.test(p.details.attestation)) {
          throw new Error(`${id}: expected a subject-only failure, got ${p.attestation}: ${p.details.attestation}`);
        }
      }
      say(`${label}: audit registry lookups ${auditMs.toFixed(0)} ms; provenance +${provenanceMs.toFixed(0)} ms ` +
        `(${((provenanceMs / auditMs) * 100).toFixed(0)}% of the lookups; ${provenanceCpuMs.toFixed(0)} ms CPU in this process, registry included; ` +
        `${requests} extra requests; ${(facts.size / (provenanceMs / 1000)).toFixed(0)} packages/s)`);
      return { facts, provenanceMs };
    };
    say(`(machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} — wall times are shared with whatever else runs)`);
    say(`--- ${SIZE}-package audit, loopback registry serving signatures and attestations for every package (the 5 real responses repeated) ---`);
    const cold = await run('cold cache');
    const warm = await run('warm cache');
    say(`warm cache: ${((2 * warm.facts.size) / (warm.provenanceMs / 1000)).toFixed(0)} bundles/s equivalent (verdicts read from the facts cache)`);
    say(provenanceSummary(cold.facts));
  } finally {
    await registry.close();
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

if (require.main === module) {
  const { values: args } = parseArgs({ options: { size: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '20' } } });
  benchProvenance({ size: Number(args.size), rounds: Number(args.rounds) }).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
