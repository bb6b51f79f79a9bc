/**
 * One fix in the making: the project's files as the caller gave them, the edits made so
 * far (composed into edits against those texts), and format-neutral operations on the
 * maps and lists of an allowlist, whether it lives in package.json or pnpm-workspace.yaml.
 * Each operation re-reads the current text, so a later step sees what an earlier one did.
 */
import { relative, sep } from 'node:path';
import type { TextEdit } from '../types';
import { compareText } from '../../model/inventory';
import { EditComposer, EditRefusedError, type LocalEdit } from './applyEdits';
import {
  appendJsonItem,
  jsonArrayItems,
  jsonObjectEntries,
  removeJsonItem,
  removeJsonProperty,
  renameJsonProperty,
  replaceJsonItem,
  setJsonProperty,
} from './jsonEdit';
import {
  appendYamlSeqItem,
  removeYamlMapEntry,
  removeYamlSeqItem,
  renameYamlMapKey,
  replaceYamlSeqItem,
  setYamlMapEntry,
  yamlMapEntries,
  yamlSeqItems,
} from './yamlEdit';

/** The project's files as the caller currently has them (editor buffers or disk). */
export interface ProjectTexts {
  /** Absolute path of the project root (where package.json and pnpm-workspace.yaml are). */
  root: string;
  /** Absolute path -> current text. A file missing from the map does not exist. */
  files: ReadonlyMap<string, string>;
}

/** A map or list inside one file: `path` is the chain of keys from the file's root. */
export interface Place {
  file: string;
  format: 'json' | 'yaml';
  path: string[];
}

export interface MapEntry {
  key: string;
  value: unknown;
  offset: number;
}

export class EditSession {
  private readonly composers = new Map<string, EditComposer>();

  constructor(readonly texts: ProjectTexts) {}

  /** The file as a user would name it: relative to the root, "/" separated. */
  label(file: string): string {
    return relative(this.texts.root, file).split(sep).join('/') || file;
  }

  current(file: string): string | null {
    return this.composers.get(file)?.text ?? this.texts.files.get(file) ?? null;
  }

  entries(place: Place): MapEntry[] | undefined {
    const text = this.current(place.file);
    if (text === null) return undefined;
    return place.format === 'json' ? jsonObjectEntries(text, place.path, this.label(place.file)) : yamlMapEntries(text, place.path, this.label(place.file));
  }

  items(place: Place): { value: unknown; offset: number }[] | undefined {
    const text = this.current(place.file);
    if (text === null) return undefined;
    return place.format === 'json' ? jsonArrayItems(text, place.path, this.label(place.file)) : yamlSeqItems(text, place.path, this.label(place.file));
  }

  set(place: Place, key: string, value: unknown): void {
    this.edit(place, (text, label) => {
      if (place.format === 'json') return setJsonProperty(text, place.path, key, value, label);
      if (typeof value !== 'string' && typeof value !== 'boolean') throw new EditRefusedError(`${label}: only true/false entries are written to YAML`);
      return setYamlMapEntry(text, place.path, key, value, label);
    });
  }

  remove(place: Place, key: string, near?: number): void {
    this.edit(place, (text, label) => (place.format === 'json' ? removeJsonProperty(text, place.path, key, label, near) : removeYamlMapEntry(text, place.path, key, label, near)));
  }

  rename(place: Place, oldKey: string, newKey: string): void {
    this.edit(place, (text, label) => (place.format === 'json' ? renameJsonProperty(text, place.path, oldKey, newKey, label) : renameYamlMapKey(text, place.path, oldKey, newKey, label)));
  }

  append(place: Place, value: string): void {
    this.edit(place, (text, label) => (place.format === 'json' ? appendJsonItem(text, place.path, value, label) : appendYamlSeqItem(text, place.path, value, label)));
  }

  replaceItem(place: Place, index: number, value: string): void {
    this.edit(place, (text, label) => (place.format === 'json' ? replaceJsonItem(text, place.path, index, value, label) : replaceYamlSeqItem(text, place.path, index, value, label)));
  }

  removeItem(place: Place, index: number): void {
    this.edit(place, (text, label) => (place.format === 'json' ? removeJsonItem(text, place.path, index, label) : removeYamlSeqItem(text, place.path, index, label)));
  }

  /** The state to go back to if a multi-step write fails half-way. */
  checkpoint(): Map<string, EditComposer> {
    return new Map([...this.composers].map(([file, composer]) => [file, composer.clone()]));
  }

  restore(checkpoint: Map<string, EditComposer>): void {
    this.composers.clear();
    for (const [file, composer] of checkpoint) this.composers.set(file, composer.clone());
  }

  /** Where an offset of the given text is in the current one (for spans read before editing). */
  mapOffset(file: string, offset: number): number {
    return this.composers.get(file)?.mapOriginalOffset(offset) ?? offset;
  }

  edits(): TextEdit[] {
    const result: TextEdit[] = [];
    for (const [file, composer] of [...this.composers].sort(([a], [b]) => compareText(a, b))) {
      for (const edit of composer.result()) result.push({ file, span: { start: edit.start, end: edit.end }, newText: edit.newText });
    }
    return result;
  }

  /** Files the edits create (a pnpm-workspace.yaml that did not exist yet). */
  createdFiles(): string[] {
    return [...this.composers.keys()].filter((file) => !this.texts.files.has(file) && this.composers.get(file)!.result().length > 0);
  }

  private edit(place: Place, make: (text: string, label: string) => LocalEdit[]): void {
    const label = this.label(place.file);
    let text = this.current(place.file);
    if (text === null) {
      // A missing YAML settings file is created; a missing package.json is not ours to invent.
      if (place.format === 'json') throw new EditRefusedError(`there is no ${label}`);
      text = '';
    }
    const edits = make(text, label);
    if (edits.length === 0) return;
    let composer = this.composers.get(place.file);
    if (!composer) {
      composer = new EditComposer(this.texts.files.get(place.file) ?? '');
      this.composers.set(place.file, composer);
    }
    composer.apply(edits);
  }
}
