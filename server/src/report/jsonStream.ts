/**
 * Writing a large JSON document in pieces. A 20k-package audit report is 25 MB of JSON:
 * as one string (and again as the Buffer stdout needs) it was a fifth of the CLI's peak
 * memory. A StreamedArray stands for an array whose elements are made, serialized and
 * dropped one at a time by writeJson; JSON.stringify still serializes it whole (toJSON)
 * to the same text, for the editor's export.
 */

export class StreamedArray<T> {
  constructor(
    readonly items: readonly T[],
    readonly map: (item: T) => unknown,
  ) {}

  toJSON(): unknown[] {
    return this.items.map(this.map);
  }
}

/**
 * Writes `JSON.stringify(value, null, indent) + '\n'` through `write`, in chunks of about
 * `chunkSize` characters. StreamedArrays are expanded where they appear as values of the
 * top-level object; everything else is stringified whole.
 */
export function writeJson(value: Record<string, unknown>, indent: number | undefined, write: (chunk: string) => void, chunkSize = 1 << 18): void {
  const parts: string[] = [];
  let size = 0;
  const emit = (text: string): void => {
    parts.push(text);
    size += text.length;
    if (size >= chunkSize) flush();
  };
  const flush = (): void => {
    if (parts.length > 0) write(parts.join(''));
    parts.length = 0;
    size = 0;
  };
  const pad = indent ? ' '.repeat(indent) : '';
  const newline = (depth: number) => (indent ? `\n${pad.repeat(depth)}` : '');
  // A value nested `depth` levels down: JSON.stringify indents from column 0, so shift it.
  const nested = (v: unknown, depth: number): string | undefined => {
    const text = JSON.stringify(v, null, indent);
    return text !== undefined && indent ? text.replaceAll('\n', newline(depth)) : text;
  };
  const colon = indent ? ': ' : ':';

  let first = true;
  emit('{');
  for (const [key, v] of Object.entries(value)) {
    const member = v instanceof StreamedArray ? v : nested(v, 1);
    if (member === undefined) continue; // as JSON.stringify leaves out undefined and functions
    emit(`${first ? '' : ','}${newline(1)}${JSON.stringify(key)}${colon}`);
    first = false;
    if (!(member instanceof StreamedArray)) {
      emit(member);
      continue;
    }
    if (member.items.length === 0) {
      emit('[]');
      continue;
    }
    emit('[');
    member.items.forEach((item, i) => emit(`${i > 0 ? ',' : ''}${newline(2)}${nested(member.map(item), 2) ?? 'null'}`));
    emit(`${newline(1)}]`);
  }
  emit(first ? '}\n' : `${newline(0)}}\n`);
  flush();
}
