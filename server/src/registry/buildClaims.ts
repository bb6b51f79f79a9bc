/**
 * What a provenance bundle says about the build, from its two independent sources:
 *   - the Fulcio signing certificate, whose extensions (OIDs 1.3.6.1.4.1.57264.1.*) the
 *     CA wrote from the CI's OIDC token — trustworthy once the bundle is verified;
 *   - the SLSA predicate (v0.2 or v1), which the build itself wrote.
 * Evidence is taken from the certificate first and from the predicate where the
 * certificate is silent; wherever both speak they must agree, or the bundle is invalid
 * (a workflow that signs a predicate naming another repository is lying about itself).
 */
import type { ProvenanceEvidence } from './versionFacts';

/** Fulcio's certificate extensions: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md */
const FULCIO = '1.3.6.1.4.1.57264.1.';
const OID = {
  workflowSha: 3, // deprecated raw-string forms, kept by older certificates
  workflowRepository: 5,
  workflowRef: 6,
  buildSignerUri: 9,
  runnerEnvironment: 11,
  sourceRepositoryUri: 12,
  sourceRepositoryDigest: 13,
  sourceRepositoryRef: 14,
  buildConfigUri: 18,
  runInvocationUri: 21,
} as const;
/** Extensions from 1.8 on are DER-encoded UTF8Strings; 1.1–1.7 are the raw bytes. */
const FIRST_DER_ARC = 8;

export interface CertificateIdentity {
  subjectAlternativeName?: string;
  oids?: { oid?: { id: number[] }; value: Buffer }[];
}

export type CertificateClaims = Partial<Record<keyof typeof OID, string>> & { san: string | null };

export function certificateClaims(identity: CertificateIdentity | undefined): CertificateClaims {
  const claims: CertificateClaims = { san: identity?.subjectAlternativeName ?? null };
  const byArc = new Map<number, Buffer>();
  for (const { oid, value } of identity?.oids ?? []) {
    const dotted = oid?.id.join('.') ?? '';
    if (dotted.startsWith(FULCIO) && /^\d+$/.test(dotted.slice(FULCIO.length))) byArc.set(Number(dotted.slice(FULCIO.length)), value);
  }
  for (const [name, arc] of Object.entries(OID) as [keyof typeof OID, number][]) {
    const raw = byArc.get(arc);
    const text = raw ? (arc >= FIRST_DER_ARC ? derUtf8(raw) : raw.toString('utf8')) : null;
    if (text) claims[name] = text;
  }
  return claims;
}

/** The string inside a DER UTF8String / IA5String / PrintableString TLV; null for anything else. */
function derUtf8(der: Buffer): string | null {
  if (der.length < 2 || ![0x0c, 0x16, 0x13].includes(der[0]!)) return null;
  let length = der[1]!;
  let offset = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes < 1 || bytes > 3 || der.length < 2 + bytes) return null;
    length = 0;
    for (let i = 0; i < bytes; i++) length = (length << 8) | der[2 + i]!;
    offset = 2 + bytes;
  }
  return offset + length === der.length ? der.subarray(offset).toString('utf8') : null;
}

export interface PredicateClaims {
  repository: string | null;
  commit: string | null;
  ref: string | null;
  workflow: string | null;
  builder: string | null;
  /** The CI run, as a URL (v1) or `<run id>/<attempt>` (v0.2). */
  invocation: string | null;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Claims of an SLSA v0.2 or v1 predicate (the shapes npm and slsa-github-generator write). */
export function predicateClaims(predicateType: string, predicate: unknown): PredicateClaims {
  const p = obj(predicate);
  if (predicateType === 'https://slsa.dev/provenance/v1') {
    const build = obj(p.buildDefinition);
    const workflow = obj(obj(build.externalParameters).workflow);
    const deps = Array.isArray(build.resolvedDependencies) ? build.resolvedDependencies : [];
    const run = obj(p.runDetails);
    return {
      repository: text(workflow.repository),
      commit: text(obj(obj(deps[0]).digest).gitCommit),
      ref: text(workflow.ref),
      workflow: text(workflow.path),
      builder: text(obj(run.builder).id),
      invocation: text(obj(run.metadata).invocationId),
    };
  }
  // v0.2: the config source is "git+https://host/owner/repo@refs/...".
  const invocation = obj(p.invocation);
  const source = obj(invocation.configSource);
  const env = obj(invocation.environment);
  const uri = text(source.uri);
  const at = uri ? uri.lastIndexOf('@') : -1;
  const runId = text(env.GITHUB_RUN_ID);
  return {
    repository: uri ? (at > 0 ? uri.slice(0, at) : uri).replace(/^git\+/, '') : null,
    commit: text(obj(source.digest).sha1),
    ref: uri && at > 0 ? uri.slice(at + 1) : text(env.GITHUB_REF),
    workflow: text(source.entryPoint),
    builder: text(obj(p.builder).id),
    invocation: runId ? `${runId}/${text(env.GITHUB_RUN_ATTEMPT) ?? '1'}` : null,
  };
}

export interface CrossChecked {
  evidence: ProvenanceEvidence;
  /** Where certificate and predicate disagree; empty when they agree. */
  conflicts: string[];
}

export function crossCheck(predicateType: string, cert: CertificateClaims, pred: PredicateClaims): CrossChecked {
  const certRepository = cert.sourceRepositoryUri ?? (cert.workflowRepository ? `https://github.com/${cert.workflowRepository}` : null);
  const certCommit = cert.sourceRepositoryDigest ?? cert.workflowSha ?? null;
  const certRef = cert.sourceRepositoryRef ?? cert.workflowRef ?? null;
  const certWorkflow = workflowPath(cert.buildConfigUri ?? null, certRepository) ?? workflowPath(cert.san, certRepository);
  const conflicts: string[] = [];
  const compare = (what: string, a: string | null, b: string | null, same: (x: string, y: string) => boolean): void => {
    if (a !== null && b !== null && !same(a, b)) conflicts.push(`${what}: the certificate says ${a}, the predicate says ${b}`);
  };
  compare('repository', certRepository, pred.repository, (x, y) => sameRepository(x, y));
  compare('commit', certCommit, pred.commit, (x, y) => x.toLowerCase() === y.toLowerCase());
  compare('ref', certRef, pred.ref, (x, y) => x === y);
  compare('workflow', certWorkflow, pred.workflow, (x, y) => x === y);
  // SLSA v1 GitHub builders are ".../actions/runner/<runner environment>".
  const runner = pred.builder ? /^https:\/\/github\.com\/actions\/runner\/([\w-]+)$/.exec(pred.builder)?.[1] ?? null : null;
  compare('runner environment', cert.runnerEnvironment ?? null, runner, (x, y) => x === y);
  if (cert.runInvocationUri && pred.invocation) {
    const run = pred.invocation.includes('://') ? pred.invocation : `/actions/runs/${pred.invocation.replace('/', '/attempts/')}`;
    if (!cert.runInvocationUri.endsWith(run)) {
      conflicts.push(`CI run: the certificate says ${cert.runInvocationUri}, the predicate says ${pred.invocation}`);
    }
  }
  return {
    evidence: {
      repository: certRepository ?? pred.repository,
      commit: certCommit ?? pred.commit,
      ref: certRef ?? pred.ref,
      workflow: certWorkflow ?? pred.workflow,
      builder: pred.builder ?? cert.buildSignerUri ?? null,
      predicateType,
      signer: cert.san,
    },
    conflicts,
  };
}

/** ".github/workflows/x.yml" from "https://github.com/o/r/.github/workflows/x.yml@refs/tags/v1". */
function workflowPath(uri: string | null, repository: string | null): string | null {
  if (!uri || !repository) return null;
  const prefix = `${repository.replace(/\/+$/, '')}/`;
  if (!uri.toLowerCase().startsWith(prefix.toLowerCase())) return null;
  const rest = uri.slice(prefix.length);
  const at = rest.indexOf('@');
  return at > 0 ? rest.slice(0, at) : rest || null;
}

/** Same repository, ignoring case (GitHub and GitLab names are case-insensitive), `.git` and `git+`. */
export function sameRepository(a: string, b: string): boolean {
  const norm = (u: string): string => u.trim().replace(/^git\+/, '').replace(/\.git$/, '').replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}
