import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post } from './api.js';

// What a cell shows at first, and the most it keeps: a flood of output (a print loop) must not
// freeze the page. The whole output stays on the agent (GET /task/ID/output).
const SHOWN = 20000;
const KEPT = 1 << 20;

function Cell({ cell, onMore }) {
  const out = cell.more ? cell.out : cell.out.slice(0, SHOWN);
  return html`<article class="cell" data-testid="cell" data-status=${cell.status}>
    <pre class="code">${cell.code}</pre>
    <pre class="output" data-testid="cell-output">${out}</pre>
    ${cell.out.length > SHOWN && !cell.more &&
      html`<button class="plain" onClick=${onMore} data-testid="cell-more">Show more (${cell.out.length - SHOWN} characters)</button>`}
    ${cell.dropped > 0 && html`<p class="muted">${cell.dropped} more bytes are on the agent:
      <a href=${`/task/${cell.id}/output`} download>the whole output</a></p>`}
    ${cell.error && html`<pre class="error" data-testid="cell-error">${cell.error}</pre>`}
    ${cell.value !== undefined && cell.value !== null &&
      html`<pre class="value" data-testid="cell-value">${JSON.stringify(cell.value)}</pre>`}
    <footer class="muted" data-testid="cell-status">${cell.status}</footer>
  </article>`;
}

export function Console() {
  const [code, setCode] = useState('');
  const [cells, setCells] = useState([]);
  const [vars, setVars] = useState({});
  const [hist, setHist] = useState([]);
  const [note, setNote] = useState('');
  const streams = useRef([]);
  const refresh = () => {
    get('/variables').then(setVars).catch(() => {});
    get('/history?limit=20').then((h) => setHist(Array.isArray(h) ? h : h.history || [])).catch(() => {});
  };
  useEffect(() => {
    refresh();
    return () => streams.current.forEach((s) => s.close());
  }, []);
  const change = (id, f) => setCells((cs) => cs.map((c) => (c.id === id ? f(c) : c)));

  async function run() {
    if (!code.trim()) return;
    setNote('');
    try {
      const { task_id: id } = await post('/async-execute', { code });
      setCells((cs) => [...cs, { id, code, out: '', dropped: 0, status: 'running' }]);
      const es = new EventSource(`/task/${id}/events`);
      streams.current.push(es);
      es.addEventListener('output', (e) => {
        const { data } = JSON.parse(e.data);
        change(id, (c) => {
          const room = KEPT - c.out.length;
          return { ...c, out: c.out + data.slice(0, Math.max(0, room)), dropped: c.dropped + Math.max(0, data.length - room) };
        });
      });
      es.addEventListener('end', (e) => {
        const t = JSON.parse(e.data);
        change(id, (c) => ({ ...c, status: t.status, error: t.error, value: t.value }));
        es.close();
        refresh();
      });
      es.onerror = () => { es.close(); change(id, (c) => (c.status === 'running' ? { ...c, status: 'disconnected' } : c)); };
    } catch (e) {
      setNote(e.message);
    }
  }
  async function kernel(what) {
    if (what === 'restart' && !confirm('Restart the kernel? Its variables are lost.')) return;
    try { await post(`/kernel/${what}`); setNote(`kernel: ${what} sent`); refresh(); } catch (e) { setNote(e.message); }
  }
  return html`<div class="page console" data-testid="console-page">
    <section class="editor">
      <label for="code">Python (Ctrl+Enter runs)</label>
      <textarea id="code" rows="6" spellcheck="false" value=${code} data-testid="console-code"
        onInput=${(e) => setCode(e.target.value)}
        onKeyDown=${(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } }}></textarea>
      <div class="actions">
        <button onClick=${run} data-testid="console-run">Run</button>
        <button onClick=${() => kernel('interrupt')} data-testid="console-interrupt">Interrupt</button>
        <button onClick=${() => kernel('restart')} data-testid="console-restart">Restart kernel</button>
        ${note && html`<span class="muted" role="status">${note}</span>`}
      </div>
    </section>
    <section class="cells" aria-label="Output">
      ${cells.map((c) => html`<${Cell} key=${c.id} cell=${c} onMore=${() => change(c.id, (x) => ({ ...x, more: true }))} />`)}
    </section>
    <aside class="side">
      <h2>Variables</h2>
      <dl data-testid="console-variables">${Object.entries(vars).map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}</dl>
      <h2>History</h2>
      <ol class="history">${hist.map((h) => html`<li><button class="plain" onClick=${() => setCode(h.input)}>${h.input}</button></li>`)}</ol>
    </aside>
  </div>`;
}
