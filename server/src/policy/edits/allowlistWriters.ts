/**
 * How an allow or deny is written into each tool's own allowlist, step by step on an
 * EditSession: first the entries that would contradict it (a deny covering the version,
 * an ignored-list item), then the entry itself, unless one already says the same — which
 * is what makes every fix idempotent. Each writer fills in an Outcome for the fix's title.
 */
import semver from 'semver';
import type { NativePolicy } from '../types';
import { NPM_ALLOW_SCRIPTS_SINCE } from '../allowlists/toolVersion';
import { EditRefusedError } from './applyEdits';
import type { EditSession, Place } from './editSession';
import { lavamoatPathFor, npmScheme, planPnpm, registryScheme, samePin, type EditTarget, type KeyScheme } from '../allowlists/allowlistKeys';

export type Action = 'allow' | 'deny';

/** What one write did, for the fix's title. */
export interface Outcome {
  /** "package.json allowScripts". */
  where: string;
  /** The written (or found) entry is limited to the locked version. */
  pinned: boolean;
  notes: string[];
  limitations: string[];
  /** Formats whose wording differs (Bun). */
  title?: string;
}

// ---- npm: allowScripts in the root package.json ----

export function writeNpm(session: EditSession, version: string | null, target: EditTarget, action: Action, pinned: boolean, manifest: string, outcome: Outcome): Outcome {
  const place: Place = { file: manifest, format: 'json', path: ['allowScripts'] };
  outcome.where = 'package.json allowScripts';
  const scheme = npmScheme(target);
  if (typeof scheme === 'string') throw new EditRefusedError(scheme);
  const npm = semver.coerce(version)?.version;
  if (npm && semver.lt(npm, NPM_ALLOW_SCRIPTS_SINCE)) {
    outcome.limitations.push(`npm ${version} does not read allowScripts (npm 11.16 added it); the entry takes effect once the project installs with a newer npm.`);
  }
  if (action === 'allow' && pinned && scheme.pin === null && target.source === 'registry') {
    outcome.limitations.push(
      `npm matches a pinned approval only when package-lock.json records the package's "resolved" URL, and it records none for ${target.name} (omit-lockfile-registry-resolved), so every version of ${target.name} is approved by name.`,
    );
  }
  writeMap(session, place, scheme, action, pinned && scheme.pin !== null, outcome);
  return outcome;
}

// ---- maps of key -> true/false (npm allowScripts, pnpm allowBuilds, LavaMoat) ----

interface Classified {
  key: string;
  value: unknown;
  all: boolean;
  pins: string[];
  covers: boolean;
}

function classifiedEntries(session: EditSession, place: Place, scheme: KeyScheme): Classified[] {
  const result: Classified[] = [];
  for (const entry of session.entries(place) ?? []) {
    const info = scheme.classify(entry.key);
    if (info) result.push({ key: entry.key, value: entry.value, ...info });
  }
  return result;
}

/** Takes the target's pin out of an entry that lists several, or removes the entry. */
function dropPin(session: EditSession, place: Place, scheme: KeyScheme, entry: Classified): void {
  const rest = entry.pins.filter((p) => !samePin(p, scheme.pin ?? ''));
  if (entry.all || rest.length === 0 || !scheme.joinsPins) session.remove(place, entry.key);
  else session.rename(place, entry.key, scheme.pinnedKey(rest));
}

function writeMap(session: EditSession, place: Place, scheme: KeyScheme, action: Action, pinned: boolean, outcome: Outcome): void {
  outcome.pinned = pinned;
  const want = action === 'allow';
  const pinnedKey = pinned ? scheme.pinnedKey([scheme.pin!]) : scheme.nameKey;
  if (want) {
    // A deny covering the version wins over any allow, so it goes first (and says so).
    for (const entry of classifiedEntries(session, place, scheme)) {
      if (entry.value !== false || !entry.covers) continue;
      dropPin(session, place, scheme, entry);
      outcome.notes.push(entry.all || entry.pins.length === 1 ? `replaces the deny entry "${entry.key}": false` : `takes ${scheme.pin} out of the deny entry "${entry.key}"`);
    }
  } else if (!pinned) {
    // A name-only deny covers every version: other entries for the package only confuse.
    for (const entry of classifiedEntries(session, place, scheme)) {
      if (entry.key === scheme.nameKey) continue;
      session.remove(place, entry.key);
      if (entry.value === true) outcome.notes.push(`removes the allow entry "${entry.key}"`);
    }
  } else {
    for (const entry of classifiedEntries(session, place, scheme)) {
      if (entry.value === true && entry.covers && !entry.all) {
        dropPin(session, place, scheme, entry);
        outcome.notes.push(`takes ${scheme.pin} out of the allow entry "${entry.key}"`);
      }
    }
  }
  const entries = classifiedEntries(session, place, scheme);
  const decided = entries.find((e) => e.value === want && e.covers && (want || pinned || e.all));
  if (decided) return;
  const placeholder = entries.find((e) => typeof e.value !== 'boolean' && e.covers);
  if (placeholder) {
    // pnpm's "set this to true or false": the decision goes where pnpm asked for it.
    if (placeholder.key !== pinnedKey && placeholder.all && pinned) session.rename(place, placeholder.key, pinnedKey);
    session.set(place, placeholder.all && pinned ? pinnedKey : placeholder.key, want);
    outcome.notes.push(`replaces the placeholder "${placeholder.key}: ${String(placeholder.value)}"`);
    return;
  }
  if (pinned && scheme.joinsPins) {
    const extendable = entries.find((e) => e.value === want && !e.all && e.pins.length > 0);
    if (extendable) {
      session.rename(place, extendable.key, scheme.pinnedKey([...extendable.pins, scheme.pin!]));
      outcome.notes.push(`adds ${scheme.pin} to "${extendable.key}"`);
      return;
    }
  }
  if (want && !pinned) {
    for (const entry of entries) {
      if (entry.value === true && !entry.all) {
        session.remove(place, entry.key);
        outcome.notes.push(`replaces the pinned entry "${entry.key}"`);
      }
    }
  }
  const replaced = entries.find((e) => e.key === pinnedKey && e.value === !want);
  if (replaced) outcome.notes.push(`replaces "${replaced.key}": ${String(!want)}`);
  session.set(place, pinnedKey, want);
}

// ---- pnpm ----

export function writePnpm(session: EditSession, policy: NativePolicy, target: EditTarget, action: Action, pinned: boolean, outcome: Outcome): Outcome {
  if (target.source !== 'registry') {
    throw new EditRefusedError(`pnpm approves a ${target.source} dependency's build by its resolved artifact, not by name; add ${target.name} to pnpm-workspace.yaml by hand`);
  }
  const plan = planPnpm(policy, session.texts);
  outcome.where = `${session.label(plan.place.file)} ${plan.place.path.join('.')}`;
  const sentence = (text: string) => `${text}.`;
  if (plan.fieldCaveat) outcome.limitations.push(sentence(plan.fieldCaveat));
  if (plan.pinCaveat && pinned && action === 'allow') outcome.limitations.push(sentence(plan.pinCaveat));
  const scheme = registryScheme(target.name, plan.canPin ? target.version : null);
  if (plan.mode === 'allowBuilds') {
    writeMap(session, plan.place, scheme, action, pinned && plan.canPin, outcome);
    return outcome;
  }
  const items = (place: Place) =>
    (session.items(place) ?? [])
      .map((item, index) => ({ index, value: item.value, info: typeof item.value === 'string' ? scheme.classify(item.value) : undefined }))
      .filter((i) => i.info !== undefined)
      .map((i) => ({ index: i.index, value: i.value as string, ...i.info! }));
  if (plan.mode === 'never') {
    // neverBuiltDependencies: everything else is built; it lists names only.
    const listed = items(plan.place);
    if (action === 'allow') {
      for (const item of [...listed].reverse()) session.removeItem(plan.place, item.index);
      if (listed.length > 0) outcome.notes.push('neverBuiltDependencies lists names, so every version');
    } else if (!listed.some((i) => i.all)) {
      session.append(plan.place, target.name);
    }
    return outcome;
  }
  const denyPlace = plan.denyPlace!;
  const major = semver.coerce(policy.settings.version)?.major;
  if (action === 'allow' && major !== undefined && major < 10 && session.items(plan.place) === undefined) {
    outcome.limitations.push(`pnpm ${policy.settings.version} builds every dependency until onlyBuiltDependencies exists; adding it builds only the packages it lists.`);
  }
  if (action === 'allow') {
    for (const item of items(denyPlace).filter((i) => i.covers).reverse()) {
      session.removeItem(denyPlace, item.index);
      outcome.notes.push(`removes "${item.value}" from ${denyPlace.path.join('.')}`);
    }
    const allowed = items(plan.place);
    outcome.pinned = pinned && plan.canPin;
    if (allowed.some((i) => i.covers)) return outcome;
    if (outcome.pinned) {
      const extendable = allowed.find((i) => !i.all && i.pins.length > 0);
      if (extendable) {
        session.replaceItem(plan.place, extendable.index, scheme.pinnedKey([...extendable.pins, target.version]));
        outcome.notes.push(`adds ${target.version} to "${extendable.value}"`);
      } else {
        session.append(plan.place, scheme.pinnedKey([target.version]));
      }
    } else {
      for (const item of allowed.reverse()) session.removeItem(plan.place, item.index);
      session.append(plan.place, target.name);
    }
    return outcome;
  }
  if (pinned) outcome.limitations.push(`${denyPlace.path.join('.')} lists names, so every version of ${target.name} is denied.`);
  for (const item of items(plan.place).reverse()) {
    session.removeItem(plan.place, item.index);
    outcome.notes.push(`removes "${item.value}" from ${plan.place.path.join('.')}`);
  }
  if (!items(denyPlace).some((i) => i.all)) session.append(denyPlace, target.name);
  return outcome;
}

// ---- Yarn Berry: dependenciesMeta["name" | "name@version"].built ----

export function writeYarn(session: EditSession, version: string | null, target: EditTarget, action: Action, pinned: boolean, manifest: string, outcome: Outcome): Outcome {
  const major = semver.coerce(version)?.major;
  if (major !== undefined && major < 2) {
    throw new EditRefusedError(`Yarn ${version} (classic) has no per-package build allowlist; dependenciesMeta.built is read by Yarn 2 and later`);
  }
  const meta: Place = { file: manifest, format: 'json', path: ['dependenciesMeta'] };
  outcome.where = 'package.json dependenciesMeta';
  outcome.pinned = pinned;
  const want = action === 'allow';
  const versionKey = `${target.name}@${target.version}`;
  const builtOf = (key: string): unknown => {
    const entry = (session.entries(meta) ?? []).find((e) => e.key === key);
    if (entry && (typeof entry.value !== 'object' || entry.value === null)) throw new EditRefusedError(`package.json dependenciesMeta["${key}"] is not an object`);
    return (entry?.value as Record<string, unknown> | undefined)?.built;
  };
  const dropBuilt = (key: string) => {
    const value = (session.entries(meta) ?? []).find((e) => e.key === key)!.value as Record<string, unknown>;
    if (Object.keys(value).length === 1) session.remove(meta, key);
    else session.remove({ ...meta, path: ['dependenciesMeta', key] }, 'built');
  };
  const versionKeys = (session.entries(meta) ?? []).map((e) => e.key).filter((k) => k.startsWith(`${target.name}@`));
  const replaceOrSet = (key: string) => {
    if (builtOf(key) === !want) outcome.notes.push(`replaces "${key}": { "built": ${!want} }`);
    session.set({ ...meta, path: ['dependenciesMeta', key] }, 'built', want);
  };
  // Yarn merges the name entry, then the exact-version entry over it (Project.getDependencyMeta).
  if (want) {
    if (builtOf(target.name) === false) {
      dropBuilt(target.name);
      outcome.notes.push(`replaces the deny "${target.name}": { "built": false }`);
    }
    if (!pinned && builtOf(versionKey) === false) {
      dropBuilt(versionKey);
      outcome.notes.push(`replaces the deny "${versionKey}": { "built": false }`);
    }
    if ((builtOf(versionKey) ?? builtOf(target.name)) === true) return outcome;
    replaceOrSet(pinned ? versionKey : target.name);
    return outcome;
  }
  if (pinned) {
    if ((builtOf(versionKey) ?? builtOf(target.name)) === false) return outcome;
    replaceOrSet(versionKey);
    return outcome;
  }
  for (const key of versionKeys) {
    if (builtOf(key) === true) {
      dropBuilt(key);
      outcome.notes.push(`removes the allow "${key}"`);
    }
  }
  if (builtOf(target.name) !== false) replaceOrSet(target.name);
  return outcome;
}

// ---- Bun: trustedDependencies, names only ----

export function writeBun(session: EditSession, target: EditTarget, action: Action, pinned: boolean, manifest: string, outcome: Outcome): Outcome {
  const place: Place = { file: manifest, format: 'json', path: ['trustedDependencies'] };
  outcome.where = 'package.json trustedDependencies';
  const items = session.items(place);
  const listed = (items ?? []).map((item, index) => ({ index, value: item.value })).filter((i) => i.value === target.name);
  if (action === 'allow') {
    outcome.title = `Allow the install scripts of ${target.name} in package.json trustedDependencies${pinned ? ' (Bun cannot pin a version)' : ''}`;
    if (listed.length > 0) return outcome;
    if (items === undefined) {
      outcome.limitations.push(
        'package.json has no trustedDependencies yet: adding it replaces Bun\'s default list of trusted packages, so packages Bun trusts by default no longer run their scripts unless they are listed too.',
      );
    }
    session.append(place, target.name);
    return outcome;
  }
  outcome.title = `Deny the install scripts of ${target.name} (Bun has no deny list: removes it from trustedDependencies)`;
  if (listed.length === 0) {
    outcome.limitations.push(
      `Bun has no deny list and ${target.name} is not in trustedDependencies${items === undefined ? "; without that field Bun's default trusted list applies" : ''}.`,
    );
  }
  for (const item of [...listed].reverse()) session.removeItem(place, item.index);
  return outcome;
}

// ---- LavaMoat: lavamoat.allowScripts["a>b" | "a>b#1.2.3"] ----

export function writeLavamoat(session: EditSession, policy: NativePolicy, target: EditTarget, action: Action, pinned: boolean, manifest: string, outcome: Outcome): Outcome {
  const place: Place = { file: manifest, format: 'json', path: ['lavamoat', 'allowScripts'] };
  outcome.where = 'package.json lavamoat.allowScripts';
  const keys = (session.entries(place) ?? []).map((e) => e.key);
  const path = lavamoatPathFor(target, policy.rules, keys);
  if (!path) throw new EditRefusedError(`LavaMoat names a package by its dependency path (a>b>${target.name}), and no path to ${target.name} is known`);
  const scheme: KeyScheme = {
    classify(key) {
      const [keyPath, version] = key.split('#');
      if (keyPath !== path) return undefined;
      return { all: version === undefined, pins: version === undefined ? [] : [version], covers: version === undefined || samePin(version, target.version) };
    },
    nameKey: path,
    pinnedKey: (pins) => `${path}#${pins[0]}`,
    pin: target.version,
    joinsPins: false,
  };
  // One path is one installed copy: an entry pinned to an older version is moved, not kept.
  if (pinned) {
    for (const entry of classifiedEntries(session, place, scheme)) {
      if (!entry.all && !entry.covers) {
        session.remove(place, entry.key);
        outcome.notes.push(`replaces "${entry.key}" (no longer the locked version)`);
      }
    }
  }
  if (!pinned && action === 'allow') {
    outcome.limitations.push('Recent @lavamoat/allow-scripts versions key entries as path#version and run a script under a key without a version only in their skip-versions mode.');
  }
  outcome.notes.push(`as "${pinned ? scheme.pinnedKey([target.version]) : path}"`);
  writeMap(session, place, scheme, action, pinned, outcome);
  return outcome;
}
