// The lth dashboard's client: a list of runs and sweeps (refreshed every few seconds), and a view
// per route (#/run/<id>, #/sweep/<id>, #/compare/<id>,<id>...). Charts are the vega-lite specs
// @lth/report builds, embedded by lthEmbed (the report's own embedding code, /vendor/embed.js).
'use strict';

const LIST_REFRESH_MS = 2000;
const selected = new Set();
let current = { stop() {} };

/** An element: h('td', { class: 'n' }, 'text', child, ...). Text is always set as text. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function getJson(url) {
  const res = await fetch(url);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || `${res.status} ${url}`);
  return body;
}

const pct = (f) => (f === null || f === undefined ? '–' : `${(100 * f).toPrecision(3)}%`);
const status = (s) => h('span', { class: `status ${s}` }, s);
const runLink = (e) => h('a', { href: `#/${e.kind}/${encodeURIComponent(e.id)}` }, e.label || e.name);
const fileUrl = (id) => `/files/${id.split('/').map(encodeURIComponent).join('/')}`;
const warningBox = (messages) => (messages.length ? h('div', { class: 'warning', role: 'alert' }, h('strong', {}, 'Warning: '), messages.length > 1 ? h('ul', {}, messages.map((m) => h('li', {}, m))) : messages[0]) : null);

function runRow(run, child) {
  const box = h('input', {
    type: 'checkbox',
    'aria-label': `compare ${run.name}`,
    checked: selected.has(run.id),
    onchange: (ev) => {
      if (ev.target.checked) selected.add(run.id);
      else selected.delete(run.id);
      updateCompareButton();
    },
  });
  return h(
    'tr',
    { class: child ? 'child' : null, 'data-id': run.id },
    h('td', {}, box),
    h('td', {}, runLink(run), h('div', { class: 'meta' }, run.hash)),
    h('td', {}, status(run.status)),
    h('td', { class: 'n', title: 'levels complete / started' }, `${run.levelsComplete}/${run.levelsStarted}`),
    h('td', { class: 'n', title: 'fewest weights remaining' }, pct(run.sparsest)),
  );
}

function renderList(catalog) {
  document.getElementById('root').textContent = catalog.root;
  const box = document.getElementById('runs');
  if (!catalog.entries.length) {
    box.replaceChildren(
      h('div', { class: 'empty', id: 'empty' }, h('p', {}, 'No runs here yet.'), h('p', { class: 'meta' }, 'Start one with ', h('code', {}, `lth run <config.json> --out ${catalog.root}`), ': it appears here, and its curves grow while it trains.')),
    );
  } else {
    const rows = [];
    for (const e of catalog.entries) {
      if (e.kind === 'run') rows.push(runRow(e, false));
      else {
        rows.push(h('tr', { class: 'sweep', 'data-id': e.id }, h('td', {}), h('td', {}, h('strong', {}, 'sweep '), runLink(e)), h('td', {}, status(e.status)), h('td', { class: 'n' }, `${e.runs.length} runs`), h('td', {})));
        for (const r of e.runs) rows.push(runRow(r, true));
      }
    }
    box.replaceChildren(h('table', { id: 'run-list' }, h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'name'), h('th', {}, 'status'), h('th', {}, 'levels'), h('th', {}, 'remaining'))), h('tbody', {}, rows)));
  }
  document.getElementById('list-warnings').replaceChildren(warningBox(catalog.warnings) || '');
  updateCompareButton();
}

function updateCompareButton() {
  const button = document.getElementById('compare');
  button.disabled = selected.size < 2;
  button.textContent = `Compare selected (${selected.size})`;
}

async function refreshList() {
  try {
    renderList(await getJson('/api/runs'));
  } catch (error) {
    document.getElementById('list-warnings').replaceChildren(warningBox([String(error.message || error)]));
  }
}

/** The report's charts for some runs or sweeps, each with its caption, embedded live. */
async function chartsSection(ids, skip) {
  const section = h('section', { id: 'charts' }, h('p', { class: 'meta' }, 'Loading charts…'));
  const query = ids.map((id) => `id=${encodeURIComponent(id)}`).join('&');
  getJson(`/api/charts?${query}`)
    .then(async (body) => {
      const charts = body.charts.filter((c) => !skip.includes(c.id));
      section.replaceChildren(...charts.map((c) => h('div', { class: 'chart', id: `chart-${c.id}` }, h('div', { class: 'vega' }), h('p', { class: 'chart-caption' }, c.caption))));
      for (const c of charts) {
        const el = section.querySelector(`#chart-${CSS.escape(c.id)} .vega`);
        // A chart vega cannot make live (the rotatable 3D surfaces) brings its own drawing function.
        if (c.live) new Function(`return (${c.live.script})`)()(el, c.live.data);
        else await window.lthEmbed(el, c.spec);
      }
      section.setAttribute('data-ready', 'true');
    })
    .catch((error) => section.replaceChildren(warningBox([`charts: ${error.message}`])));
  return section;
}

function levelTable(levels) {
  return h(
    'table',
    { id: 'levels' },
    h('thead', {}, h('tr', {}, ['replicate', 'level', 'state', 'evaluations', 'remaining', 'test acc. (early stop)', 'early-stop iteration'].map((t) => h('th', {}, t)))),
    h(
      'tbody',
      {},
      levels.map((l) =>
        h(
          'tr',
          {},
          h('td', { class: 'n' }, l.replicate),
          h('td', { class: 'n' }, l.level),
          h('td', {}, l.complete ? 'complete' : 'not complete'),
          h('td', { class: 'n' }, l.evaluations),
          h('td', { class: 'n' }, pct(l.summary && l.summary.fractionRemaining)),
          h('td', { class: 'n' }, pct(l.summary && l.summary.earlyStopTestAccuracy)),
          h('td', { class: 'n' }, l.summary ? l.summary.earlyStopIteration : '–'),
        ),
      ),
    ),
  );
}

function resultsList(results) {
  if (!results.length) return h('p', { class: 'meta' }, 'No branch results (landscape, instability, controls), report or exports yet.');
  return h(
    'ul',
    { id: 'results' },
    results.map((r) =>
      h(
        'li',
        {},
        h('strong', {}, r.title),
        r.level !== undefined ? ` (replicate ${r.replicate}, level ${r.level})` : '',
        r.kind === 'branch' && !r.result ? ' — not complete' : '',
        r.result ? h('div', { class: 'meta' }, Object.entries(r.result).filter(([, v]) => typeof v !== 'object').slice(0, 8).map(([k, v]) => `${k}: ${typeof v === 'number' ? +v.toPrecision(5) : v}`).join(', ')) : '',
        h('div', {}, r.files.map((f) => [h('a', { href: fileUrl(f), target: '_blank' }, f.split('/').pop()), ' '])),
      ),
    ),
  );
}

/**
 * The live learning curves: the stream of evaluations fills the report's curves spec. The chart is
 * drawn at the first evaluations (an empty one has no extent), and later ones are inserted.
 */
function liveCurves(id, replicate, onWarning, onStatus) {
  const box = h('div', { class: 'chart', id: 'curves', 'data-points': '0' }, h('div', { class: 'vega' }, h('p', { class: 'meta' }, 'No evaluations yet: the curves appear with the first one.')), h('p', { class: 'chart-caption' }, 'Train (solid), validation (dashed) and test (dotted) loss and accuracy at each evaluation, one line per level (darker = sparser); they grow while the run trains. Drag to pan, wheel to zoom, click a level in the legend to pick it.'));
  const pending = [];
  let view = null;
  let embedding = false;
  let stopped = false;
  const source = new EventSource(`/api/stream?id=${encodeURIComponent(id)}&replicate=${replicate}`);
  const apply = () => {
    if (!view || !pending.length) return;
    const change = vega.changeset();
    for (const m of pending.splice(0)) {
      if (m.reset) change.remove((d) => d.level === m.level);
      change.insert(m.records.map((r) => Object.assign({}, r, { level: m.level })));
    }
    view
      .change('metrics', change)
      .runAsync()
      .then(() => box.setAttribute('data-points', String(view.data('metrics').length)));
  };
  const embed = async () => {
    embedding = true;
    const spec = await getJson('/api/curves-spec');
    if (stopped) return;
    // The evaluations so far become the spec's data; later ones are inserted.
    let rows = [];
    for (const m of pending.splice(0)) {
      if (m.reset) rows = rows.filter((d) => d.level !== m.level);
      rows.push(...m.records.map((r) => Object.assign({}, r, { level: m.level })));
    }
    spec.data.values = rows;
    box.setAttribute('data-points', String(rows.length));
    const result = await window.lthEmbed(box.querySelector('.vega'), spec);
    view = result.view;
    apply();
  };
  source.addEventListener('metrics', (ev) => {
    pending.push(JSON.parse(ev.data));
    if (view) apply();
    else if (!embedding) embed().catch((error) => onWarning(`curves: ${error.message}`));
  });
  source.addEventListener('warning', (ev) => onWarning(JSON.parse(ev.data).message));
  source.addEventListener('status', (ev) => onStatus(JSON.parse(ev.data).status));
  return {
    box,
    stop() {
      stopped = true;
      source.close();
    },
  };
}

async function showRun(id, replicate) {
  const run = await getJson(`/api/run?id=${encodeURIComponent(id)}`);
  const warnings = [...run.warnings];
  const warningsBox = h('div', { id: 'run-warnings' }, warningBox(warnings) || '');
  const badge = h('span', { id: 'run-status' }, status(run.entry.status));
  const addWarning = (m) => {
    if (warnings.includes(m)) return;
    warnings.push(m);
    warningsBox.replaceChildren(warningBox(warnings));
  };
  const replicates = [...new Set(run.levels.map((l) => l.replicate))];
  const curves = liveCurves(id, replicate, addWarning, (s) => badge.replaceChildren(status(s)));
  const picker =
    replicates.length > 1
      ? h('label', { class: 'meta' }, ' replicate ', h('select', { onchange: (ev) => (location.hash = `#/run/${encodeURIComponent(id)}?replicate=${ev.target.value}`) }, replicates.map((r) => h('option', { value: r, selected: r === replicate }, r))))
      : '';
  document.getElementById('main').replaceChildren(
    h('h2', {}, run.entry.name, ' ', badge),
    h('p', { class: 'meta' }, `${id} · hash ${run.entry.hash} · ${run.entry.levelsComplete} of ${run.entry.levelsStarted} started levels complete`),
    warningsBox,
    h('h3', {}, 'Learning curves', picker),
    curves.box,
    h('h3', {}, 'Levels'),
    levelTable(run.levels),
    h('h3', {}, 'Results'),
    resultsList(run.results),
    h('h3', {}, 'Charts'),
    await chartsSection([id], ['learning-curves']),
  );
  return curves;
}

async function showSweep(id) {
  const catalog = await getJson('/api/runs');
  const sweep = catalog.entries.find((e) => e.kind === 'sweep' && e.id === id);
  if (!sweep) throw new Error(`no sweep ${id}`);
  document.getElementById('main').replaceChildren(
    h('h2', {}, `Sweep ${sweep.name} `, status(sweep.status)),
    h('p', { class: 'meta' }, `${id} · ${sweep.runs.length} runs`, sweep.missing.length ? ` · not started: ${sweep.missing.join(', ')}` : ''),
    h('ul', {}, sweep.runs.map((r) => h('li', {}, runLink(r), ' ', status(r.status), r.failed ? ` failed: ${r.failed}` : ''))),
    await chartsSection([id], []),
  );
}

async function showCompare(ids) {
  document.getElementById('main').replaceChildren(h('h2', {}, `Comparing ${ids.length} runs`), h('p', { class: 'meta' }, ids.join(' · ')), await chartsSection(ids, []));
}

async function route() {
  current.stop();
  current = { stop() {} };
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  const [kind, ...rest] = path.split('/');
  const arg = decodeURIComponent(rest.join('/'));
  try {
    if (kind === 'run') current = await showRun(arg, Number(new URLSearchParams(query).get('replicate') || 0));
    else if (kind === 'sweep') await showSweep(arg);
    else if (kind === 'compare') await showCompare(arg.split(','));
  } catch (error) {
    document.getElementById('main').replaceChildren(warningBox([String(error.message || error)]));
  }
}

document.getElementById('compare').addEventListener('click', () => {
  location.hash = `#/compare/${encodeURIComponent([...selected].join(','))}`;
});
window.addEventListener('hashchange', route);
refreshList();
setInterval(refreshList, LIST_REFRESH_MS);
route();
