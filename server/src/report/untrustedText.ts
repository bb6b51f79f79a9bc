/**
 * Registry-supplied text (script bodies, descriptions, URLs, even package names in a
 * hostile lockfile) is untrusted. Before it reaches a terminal it loses its control
 * characters (an ESC sequence can rewrite what the user sees, hide a line, set the window
 * title); before it reaches Markdown it is escaped so it cannot become a link, an image
 * or a command URI.
 */

// C0 controls except tab, DEL, and C1 controls (0x80-0x9f, which include CSI).
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Shows control characters as visible escapes, e.g. ESC -> "\x1b". Keeps one line. */
export function forTerminal(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Escapes every character Markdown (CommonMark + GFM, as VS Code renders hovers) gives a
 * meaning to, and HTML, so the text renders literally.
 */
export function forMarkdown(text: string): string {
  return forTerminal(text).replace(/[\\`*_{}\[\]()<>#+\-.!|~&"':@$]/g, (c) => `\\${c}`);
}

/** A Markdown code span that cannot be closed early by backticks in the text. */
export function markdownCode(text: string): string {
  const clean = forTerminal(text);
  const longestRun = Math.max(0, ...(clean.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = clean.startsWith('`') || clean.endsWith('`') || clean === '' ? ' ' : '';
  return `${fence}${pad}${clean}${pad}${fence}`;
}
