// The audit report view's page script (client/src/auditReportView.ts hosts it).
// Every value in the report is untrusted lockfile or registry text: it only ever reaches
// the page through textContent, attribute values set with setAttribute, or option
// values; never innerHTML, never a link. Buttons post messages that the extension checks
// against the report before it runs anything.
// @ts-check
(function () {
  'use strict';
  // @ts-ignore: provided by the VS Code webview host.
  const vscode = acquireVsCodeApi();

  /** @type {{ filter: string, verdict: string, scope: string, sort: string, descending: boolean }} */
  const state = Object.assign(
    { filter: '', verdict: '', scope: '', sort: 'verdict', descending: false },
    vscode.getState() || {},
  );
  /** @type {any} */
  let report = null;

  const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
  const filterInput = /** @type {HTMLInputElement} */ ($('filter'));
  const verdictSelect = /** @type {HTMLSelectElement} */ ($('verdict'));
  const scopeSelect = /** @type {HTMLSelectElement} */ ($('scope'));
  const statusLine = $('status');
  const table = /** @type {HTMLTableElement} */ ($('packages'));
  const headRow = /** @type {HTMLTableRowElement} */ (table.tHead && table.tHead.rows[0]);
  const body = /** @type {HTMLTableSectionElement} */ (table.tBodies[0]);

  filterInput.value = state.filter;
  verdictSelect.value = state.verdict;
  scopeSelect.value = state.scope;

  /** Verdict order for sorting: what needs attention first. */
  const VERDICT_RANK = { unreviewed: 0, undecided: 1, denied: 2, allowed: 3, none: 4 };

  /** Columns: key, header, cell builder, sort key. Provenance only when the report has it. */
  const COLUMNS = [
    { key: 'package', title: 'Package', cell: packageCell, sortKey: (/** @type {any} */ p) => `${p.name}@${p.version}` },
    { key: 'runs', title: 'Runs at install', cell: runsCell, sortKey: (/** @type {any} */ p) => runsText(p) },
    { key: 'evidence', title: 'Evidence', cell: evidenceCell, sortKey: (/** @type {any} */ p) => str(p.evidence) },
    { key: 'verdict', title: 'Verdict', cell: verdictCell, sortKey: (/** @type {any} */ p) => `${VERDICT_RANK[verdictOf(p)] ?? 9}${p.name}` },
    { key: 'effect', title: 'Effect', cell: effectCell, sortKey: (/** @type {any} */ p) => str(effectOf(p)) },
    { key: 'provenance', title: 'Provenance', cell: provenanceCell, sortKey: (/** @type {any} */ p) => provenanceSummary(p) },
    { key: 'paths', title: 'Pulled in by', cell: pathsCell, sortKey: (/** @type {any} */ p) => str(p.paths && p.paths[0] && p.paths[0].join(' ')) },
    { key: 'actions', title: 'Fix', cell: actionsCell, sortKey: null },
  ];

  // ---- data helpers ------------------------------------------------------------------

  function str(/** @type {unknown} */ value) {
    return typeof value === 'string' ? value : value == null ? '' : String(value);
  }
  function policyField(/** @type {any} */ p, /** @type {string} */ field) {
    if (p[field] !== undefined) return p[field];
    return p.policy && typeof p.policy === 'object' ? p.policy[field] : undefined;
  }
  /** "undecided" when the engine could not tell whether it runs; else the policy verdict. */
  function verdictOf(/** @type {any} */ p) {
    const verdict = policyField(p, 'verdict');
    if (p.known === false && (verdict === undefined || verdict === 'none')) return 'undecided';
    return typeof verdict === 'string' ? verdict : 'unreviewed';
  }
  function effectOf(/** @type {any} */ p) {
    return policyField(p, 'effect');
  }
  function runsCode(/** @type {any} */ p) {
    const verdict = policyField(p, 'verdict');
    if (typeof verdict === 'string' && verdict !== 'none') return true;
    const scripts = p.installScripts;
    return (scripts && typeof scripts === 'object' && Object.keys(scripts).length > 0) || p.evidence === 'lockfile';
  }
  /** Listed too: whether it runs anything could not be decided (registry error, offline miss). */
  function listed(/** @type {any} */ p) {
    return runsCode(p) || p.known === false;
  }
  function runsText(/** @type {any} */ p) {
    const scripts = p.installScripts && typeof p.installScripts === 'object' ? p.installScripts : {};
    return Object.keys(scripts).map((hook) => `${hook}: ${str(scripts[hook])}`).join('; ');
  }
  function provenanceSummary(/** @type {any} */ p) {
    return flatten(p.provenance).map(([k, v]) => `${k}: ${v}`).join(' ');
  }
  /** [key, value] lines of a provenance object, one level of nesting spelled "a.b". */
  function flatten(/** @type {unknown} */ value, prefix = '', depth = 0) {
    /** @type {[string, string][]} */
    const out = [];
    if (!value || typeof value !== 'object') return out;
    for (const [key, inner] of Object.entries(value)) {
      const name = prefix ? `${prefix}.${key}` : key;
      if (inner === null || inner === undefined || inner === '') continue;
      if (typeof inner === 'object' && !Array.isArray(inner) && depth < 1) out.push(...flatten(inner, name, depth + 1));
      else out.push([name, Array.isArray(inner) ? inner.map(str).join(', ') : typeof inner === 'object' ? JSON.stringify(inner) : str(inner)]);
    }
    return out;
  }

  // ---- DOM helpers -------------------------------------------------------------------

  /** An element with text content; attributes are set as text, never parsed. */
  function el(/** @type {string} */ tag, /** @type {string | null} */ className, /** @type {string=} */ text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function button(/** @type {string} */ label, /** @type {string} */ title, /** @type {() => void} */ onClick, secondary = true) {
    const b = /** @type {HTMLButtonElement} */ (el('button', secondary ? 'secondary' : null, label));
    b.type = 'button';
    b.title = title;
    b.addEventListener('click', onClick);
    return b;
  }

  // ---- cells -------------------------------------------------------------------------

  function packageCell(/** @type {any} */ p) {
    const td = el('td', 'package');
    td.appendChild(el('span', 'name', `${str(p.name)}@${str(p.version)}`));
    const flags = [p.direct ? 'direct' : '', p.dev ? 'dev' : '', p.optional ? 'optional' : '', p.source && p.source !== 'registry' ? str(p.source) : '']
      .filter(Boolean);
    for (const flag of flags) td.appendChild(el('span', 'tag', flag));
    return td;
  }
  function runsCell(/** @type {any} */ p) {
    const td = el('td', 'runs');
    const scripts = p.installScripts && typeof p.installScripts === 'object' ? p.installScripts : {};
    const hooks = Object.keys(scripts);
    if (hooks.length === 0) td.appendChild(el('span', 'muted', p.evidence === 'lockfile' ? 'commands unknown (lockfile flag only)' : '—'));
    for (const hook of hooks) {
      const line = el('div', 'script');
      line.appendChild(el('span', 'hook', hook));
      line.appendChild(el('code', null, str(scripts[hook])));
      td.appendChild(line);
    }
    if (p.gyp) td.appendChild(el('span', 'tag', 'node-gyp'));
    return td;
  }
  function evidenceCell(/** @type {any} */ p) {
    const td = el('td', 'evidence', str(p.evidence));
    if (p.note) {
      // Registry errors can be long: three lines here, all of it on hover.
      const note = el('div', 'muted small note', str(p.note));
      note.title = str(p.note);
      td.appendChild(note);
    }
    // The note usually quotes the error already; say it once.
    if (p.error && !str(p.note).includes(str(p.error))) td.appendChild(el('div', 'bad small', str(p.error)));
    return td;
  }
  function verdictCell(/** @type {any} */ p) {
    const td = el('td', 'verdict');
    const verdict = verdictOf(p);
    td.appendChild(el('span', `badge verdict-${verdict.replace(/[^a-z-]/g, '')}`, verdict));
    const decidedBy = policyField(p, 'decidedBy');
    if (decidedBy) td.appendChild(el('div', 'small', `by ${str(decidedBy)}`));
    const explanation = policyField(p, 'explanation');
    if (explanation) td.title = str(explanation);
    return td;
  }
  function effectCell(/** @type {any} */ p) {
    const effect = effectOf(p);
    return el('td', `effect effect-${str(effect).replace(/[^a-z-]/g, '')}`, effect ? str(effect) : '—');
  }
  function provenanceCell(/** @type {any} */ p) {
    const td = el('td', 'provenance');
    const value = p.provenance;
    if (!value || typeof value !== 'object') {
      td.appendChild(el('span', 'muted', '—'));
      return td;
    }
    // The states and the facts that identify the build; the long reason goes in the tooltip
    // (a DOM attribute set as text, never parsed as markup).
    td.appendChild(provenanceLine('signature', str(value.signature), null));
    td.appendChild(provenanceLine('provenance', str(value.attestation), null));
    if (value.repository) td.appendChild(provenanceLine('source', `${str(value.repository)}${value.commit ? ` @ ${str(value.commit).slice(0, 7)}` : ''}`, null));
    if (value.downgrade && typeof value.downgrade === 'object') td.appendChild(provenanceLine('downgrade', `from ${str(value.downgrade.from)}`, null));
    if (value.reason) td.title = str(value.reason);
    return td;
  }
  function provenanceLine(/** @type {string} */ key, /** @type {string} */ text, /** @type {string | null} */ className) {
    const line = el('div', className);
    line.appendChild(el('span', 'key', `${key}: `));
    const verdict = /invalid|tamper|downgrade|mismatch|missing/i.test(text) ? 'bad' : /^verified$/i.test(text) ? 'good' : 'value';
    line.appendChild(el('span', verdict, text));
    return line;
  }
  function pathsCell(/** @type {any} */ p) {
    const td = el('td', 'paths');
    const paths = Array.isArray(p.paths) ? p.paths.filter(Array.isArray) : [];
    for (const path of paths.slice(0, 3)) {
      const steps = path.map(str);
      if (steps[0] === '.') steps[0] = 'package.json';
      td.appendChild(el('div', null, steps.join(' › ')));
    }
    if (paths.length > 3) td.appendChild(el('div', 'muted', `+${paths.length - 3} more`));
    if (paths.length === 0) td.appendChild(el('span', 'muted', '—'));
    return td;
  }
  function actionsCell(/** @type {any} */ p) {
    const td = el('td', 'actions');
    const verdict = verdictOf(p);
    const fix = (/** @type {string} */ action) => () => vscode.postMessage({ type: 'fix', action, name: str(p.name), version: str(p.version) });
    // Nothing to decide until it is known whether it runs anything (go online, refresh).
    if (verdict === 'undecided') {
      td.appendChild(button('Show', 'Open the lockfile entry', fix('reveal')));
      return td;
    }
    if (verdict !== 'allowed') {
      td.appendChild(button(`Allow ${str(p.version)}`, 'Allow this exact version in the allowlist your package manager enforces', fix('allow'), false));
      td.appendChild(button('Allow any', 'Allow every version of this package (weaker: a later version is not reviewed)', fix('allow-any')));
    }
    if (verdict !== 'denied') td.appendChild(button('Deny', 'Deny its install script in the allowlist', fix('deny')));
    if (verdict === 'unreviewed') {
      td.appendChild(button('Exception…', 'Add a time-bound exception with a reason to install-guard.jsonc', fix('exception')));
    }
    td.appendChild(button('Show', 'Open the lockfile entry', fix('reveal')));
    return td;
  }

  // ---- rendering ---------------------------------------------------------------------

  function matches(/** @type {any} */ p) {
    const verdict = verdictOf(p);
    if (state.verdict && verdict !== state.verdict) return false;
    if (state.scope === 'prod' && p.dev) return false;
    if (state.scope === 'dev' && !p.dev) return false;
    const needle = state.filter.trim().toLowerCase();
    if (!needle) return true;
    const haystack = [
      `${str(p.name)}@${str(p.version)}`, runsText(p), verdict, str(policyField(p, 'decidedBy')), str(p.evidence),
      provenanceSummary(p), ...(Array.isArray(p.paths) ? p.paths.map((/** @type {unknown[]} */ path) => path.map(str).join(' ')) : []),
    ].join('\n').toLowerCase();
    return haystack.includes(needle);
  }

  function render() {
    vscode.setState(state);
    if (!report) return;
    const packages = (Array.isArray(report.packages) ? report.packages : []).filter(listed);
    const hasProvenance = packages.some((/** @type {any} */ p) => p.provenance && typeof p.provenance === 'object');
    const hasEffect = packages.some((/** @type {any} */ p) => effectOf(p) != null);
    const columns = COLUMNS.filter((c) => (c.key !== 'provenance' || hasProvenance) && (c.key !== 'effect' || hasEffect));

    $('root').textContent = str(report.root);
    renderSummary(packages);

    headRow.replaceChildren(...columns.map((column) => {
      const th = el('th', null, column.title);
      th.setAttribute('scope', 'col');
      if (column.sortKey) {
        th.classList.add('sortable');
        th.tabIndex = 0;
        if (state.sort === column.key) th.setAttribute('aria-sort', state.descending ? 'descending' : 'ascending');
        const sortBy = () => {
          state.descending = state.sort === column.key ? !state.descending : false;
          state.sort = column.key;
          render();
        };
        th.addEventListener('click', sortBy);
        th.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); sortBy(); } });
      }
      return th;
    }));

    const sortColumn = columns.find((c) => c.key === state.sort && c.sortKey) || columns[3];
    const sortKey = /** @type {(p: any) => string} */ (sortColumn.sortKey);
    const visible = packages.filter(matches).sort((a, b) => {
      const order = sortKey(a).localeCompare(sortKey(b));
      return state.descending ? -order : order;
    });
    body.replaceChildren(...visible.map((p) => {
      const tr = el('tr');
      tr.dataset.package = `${str(p.name)}@${str(p.version)}`;
      tr.dataset.verdict = verdictOf(p);
      for (const column of columns) tr.appendChild(column.cell(p));
      return tr;
    }));

    table.hidden = packages.length === 0;
    statusLine.textContent = packages.length === 0
      ? 'No locked package runs code at install time.'
      : `Showing ${visible.length} of ${packages.length} packages that run code at install time or could not be decided.`;
  }

  function renderSummary(/** @type {any[]} */ packages) {
    const summary = $('summary');
    const counts = { unreviewed: 0, allowed: 0, denied: 0, undecided: 0 };
    for (const p of packages) {
      const v = verdictOf(p);
      if (v in counts) counts[/** @type {keyof typeof counts} */ (v)]++;
    }
    const pm = report.packageManager && typeof report.packageManager === 'object' ? report.packageManager : null;
    const lock = report.lockfile && typeof report.lockfile === 'object' ? report.lockfile : null;
    const total = report.summary && typeof report.summary.packages === 'number' ? report.summary.packages : report.packages.length;
    const parts = [
      `${total} locked packages`,
      `${packages.filter(runsCode).length} run code at install time`,
      `${counts.unreviewed} unreviewed`,
      `${counts.allowed} allowed`,
      `${counts.denied} denied`,
    ];
    if (counts.undecided) parts.push(`${counts.undecided} undecided`);
    const context = [
      pm ? `${str(pm.name)}${pm.version ? ` ${str(pm.version)}` : ''}` : '',
      lock ? `${str(lock.path)} (${str(lock.format)})` : 'no lockfile',
      report.registry ? `registry ${str(report.registry)}${report.offline ? ' (offline)' : ''}` : '',
    ].filter(Boolean);
    summary.replaceChildren(el('span', null, parts.join(' · ')), el('br'), el('span', 'muted', context.join(' · ')));
  }

  // ---- events ------------------------------------------------------------------------

  filterInput.addEventListener('input', () => { state.filter = filterInput.value; render(); });
  verdictSelect.addEventListener('change', () => { state.verdict = verdictSelect.value; render(); });
  scopeSelect.addEventListener('change', () => { state.scope = scopeSelect.value; render(); });
  $('refresh').addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
  for (const b of document.querySelectorAll('button[data-export]')) {
    b.addEventListener('click', () => vscode.postMessage({ type: 'export', format: /** @type {HTMLElement} */ (b).dataset.export }));
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (!message || typeof message !== 'object') return;
    if (message.type === 'loading') {
      document.body.classList.add('loading');
      if (!report) statusLine.textContent = 'Loading the audit…';
    } else if (message.type === 'report') {
      document.body.classList.remove('loading');
      report = message.report;
      render();
    } else if (message.type === 'error') {
      document.body.classList.remove('loading');
      statusLine.textContent = str(message.message);
    }
  });

  vscode.postMessage({ type: 'ready' });
})();
