/**
 * A tokenizer for the POSIX shell subset CI scripts use: quotes, escapes, line
 * continuations, comments, `&&`/`||`/`|`/`;`/`&`, redirections, here-documents, `$(...)`,
 * and GitHub's `${{ ... }}` expressions (the runner substitutes them before the shell sees
 * the script, so they are opaque text that may hold spaces). Not a shell: it finds the words
 * of each simple command and where they start, so a finding can point at a command's line.
 */

export interface ShellWord {
  /** The word with quotes and escapes removed. */
  text: string;
  /** Offsets into the script, first character (a quote included) to one past the last. */
  start: number;
  end: number;
}

export interface ShellCommand {
  words: ShellWord[];
  redirects: { op: string; target: string }[];
  /** Commands joined by `&&`, `||` or `|` share a statement; newline, `;` and `&` end one. */
  statement: number;
}

interface HeredocBody {
  start: number;
  end: number;
  statement: number;
}

export interface ParsedShell {
  commands: ShellCommand[];
  heredocs: HeredocBody[];
}

/** Index just past the `)` matching the `(` at `open`, honouring quotes inside. */
function skipParens(script: string, open: number): number {
  let depth = 0;
  for (let i = open; i < script.length; i++) {
    const c = script[i];
    if (c === '\\') i++;
    else if (c === "'") i = script.indexOf("'", i + 1) < 0 ? script.length : script.indexOf("'", i + 1);
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return script.length;
}

/** The end of an opaque `${{ }}`, `${ }`, `$( )` or backtick span starting at i, or -1. */
function opaqueEnd(script: string, i: number): number {
  if (script.startsWith('${{', i)) {
    const close = script.indexOf('}}', i + 3);
    return close < 0 ? script.length : close + 2;
  }
  if (script.startsWith('${', i)) {
    const close = script.indexOf('}', i + 2);
    return close < 0 ? script.length : close + 1;
  }
  if (script.startsWith('$(', i)) return skipParens(script, i + 1);
  if (script[i] === '`') {
    const close = script.indexOf('`', i + 1);
    return close < 0 ? script.length : close + 1;
  }
  return -1;
}

export function parseShell(script: string): ParsedShell {
  const commands: ShellCommand[] = [];
  const heredocs: HeredocBody[] = [];
  const n = script.length;
  let words: ShellWord[] = [];
  let redirects: ShellCommand['redirects'] = [];
  let statement = 0;
  let word = '';
  let wordStart = -1;
  let pendingRedirect: string | null = null;
  let pendingHeredoc: { strip: boolean } | null = null;
  const openHeredocs: { delimiter: string; strip: boolean }[] = [];

  const startWord = (i: number): void => {
    if (wordStart < 0) wordStart = i;
  };
  const endWord = (end: number): void => {
    if (wordStart < 0) return;
    if (pendingHeredoc) openHeredocs.push({ delimiter: word, strip: pendingHeredoc.strip });
    else if (pendingRedirect) redirects.push({ op: pendingRedirect, target: word });
    else words.push({ text: word, start: wordStart, end });
    pendingHeredoc = null;
    pendingRedirect = null;
    word = '';
    wordStart = -1;
  };
  const endCommand = (): void => {
    if (words.length || redirects.length) commands.push({ words, redirects, statement });
    words = [];
    redirects = [];
  };
  const endStatement = (): void => {
    endCommand();
    statement++;
  };
  // Here-document bodies are data (often a script written to a file), not commands.
  const skipHeredocBodies = (from: number): number => {
    let at = from;
    for (const doc of openHeredocs.splice(0)) {
      const bodyStart = at;
      while (at < n) {
        const lineEnd = script.indexOf('\n', at) < 0 ? n : script.indexOf('\n', at);
        const line = script.slice(at, lineEnd).replace(/\r$/, '');
        at = Math.min(n, lineEnd + 1);
        if ((doc.strip ? line.replace(/^\t+/, '') : line) === doc.delimiter) break;
      }
      heredocs.push({ start: bodyStart, end: at, statement: statement - 1 });
    }
    return at;
  };

  let i = 0;
  while (i < n) {
    const c = script[i]!;
    if (c === '\\') {
      const next = script[i + 1];
      if (next === '\n' || (next === '\r' && script[i + 2] === '\n')) {
        i += next === '\n' ? 2 : 3; // a line continuation joins the lines, no word break
        continue;
      }
      startWord(i);
      word += next ?? '';
      i += 2;
      continue;
    }
    if (c === "'") {
      startWord(i);
      const close = script.indexOf("'", i + 1);
      const end = close < 0 ? n : close;
      word += script.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '"') {
      startWord(i);
      i++;
      while (i < n && script[i] !== '"') {
        const opaque = opaqueEnd(script, i);
        if (opaque > 0) {
          word += script.slice(i, opaque);
          i = opaque;
        } else if (script[i] === '\\' && '"\\$`\n'.includes(script[i + 1] ?? '')) {
          if (script[i + 1] !== '\n') word += script[i + 1];
          i += 2;
        } else {
          word += script[i];
          i++;
        }
      }
      i++;
      continue;
    }
    const opaque = opaqueEnd(script, i);
    if (opaque > 0) {
      startWord(i);
      word += script.slice(i, opaque);
      i = opaque;
      continue;
    }
    if (c === '#' && wordStart < 0) {
      const lineEnd = script.indexOf('\n', i);
      i = lineEnd < 0 ? n : lineEnd;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      endWord(i);
      i++;
      continue;
    }
    if (c === '\n') {
      endWord(i);
      endStatement();
      i = skipHeredocBodies(i + 1);
      continue;
    }
    if (c === ';') {
      endWord(i);
      endStatement();
      i += script[i + 1] === ';' ? 2 : 1;
      continue;
    }
    if (c === '&' && script[i + 1] !== '>') {
      endWord(i);
      if (script[i + 1] === '&') endCommand();
      else endStatement(); // `cmd &` runs in the background: a statement of its own
      i += script[i + 1] === '&' ? 2 : 1;
      continue;
    }
    if (c === '|' || c === '(' || c === ')') {
      endWord(i);
      endCommand();
      i += c === '|' && script[i + 1] === '|' ? 2 : 1;
      continue;
    }
    if (c === '>' || c === '<' || c === '&') {
      // A file-descriptor number right before the operator belongs to it (`2>`).
      if (wordStart >= 0 && /^\d+$/.test(word)) {
        word = '';
        wordStart = -1;
      } else {
        endWord(i);
      }
      let j = i + 1;
      let op = c;
      if (c === '&') {
        op = '&>';
        j++;
        if (script[j] === '>') (op = '&>>'), j++;
      } else if (c === '<' && script[j] === '<') {
        j++;
        if (script[j] === '<') {
          j++;
          op = '<<<';
        } else {
          const strip = script[j] === '-';
          if (strip) j++;
          pendingHeredoc = { strip };
          i = j;
          continue;
        }
      } else if (script[j] === c) {
        op += c;
        j++;
      }
      if (script[j] === '&') {
        // `>&2`, `2>&1`: duplicates a descriptor, no file named.
        j++;
        while (j < n && /[\d-]/.test(script[j]!)) j++;
        i = j;
        continue;
      }
      if (script[j] === '|') j++;
      pendingRedirect = op;
      i = j;
      continue;
    }
    startWord(i);
    word += c;
    i++;
  }
  endWord(n);
  endCommand();
  return { commands, heredocs };
}
