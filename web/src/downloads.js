import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { bytes, get, post } from './api.js';

function eta(s) {
  if (s == null) return '–';
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

// Every engine's downloads (/downloads) in one table: add a link, pause, resume, cancel.
export function Downloads() {
  const [items, setItems] = useState(null);
  const [url, setUrl] = useState('');
  const [note, setNote] = useState('');
  const load = () => get('/downloads').then((r) => setItems(r.downloads)).catch((e) => setNote(e.message));
  useEffect(() => {
    load();
    const timer = setInterval(() => document.hidden || load(), 2000);
    const source = new EventSource('/events');
    for (const t of ['download.added', 'download.finished', 'download.failed', 'download.removed']) source.addEventListener(t, load);
    return () => { clearInterval(timer); source.close(); };
  }, []);
  async function add(e) {
    e.preventDefault();
    try {
      const r = await post('/downloads', { url });
      setNote(`sent to ${r.service} (${r.id})`);
      setUrl('');
      load();
    } catch (err) {
      setNote(err.message);
    }
  }
  async function act(id, action) {
    try { await post(`/downloads/${encodeURIComponent(id)}/${action}`); } catch (e) { setNote(e.message); }
    load();
  }
  return html`<div class="page" data-testid="downloads-page">
    <form class="row" onSubmit=${add}>
      <label for="link" class="sr-only">Link</label>
      <input id="link" type="text" placeholder="magnet:, http(s):, a hoster link…" value=${url}
             onInput=${(e) => setUrl(e.target.value)} data-testid="downloads-url" required />
      <button type="submit" data-testid="downloads-add">Add</button>
      ${note && html`<span class="muted" role="status" data-testid="downloads-note">${note}</span>`}
    </form>
    ${items === null ? html`<p>Loading…</p>` : items.length === 0 ? html`<p class="muted" data-testid="downloads-empty">Nothing yet: add a link.</p>` : html`
    <div class="table-wrap"><table data-testid="downloads-table">
      <thead><tr><th>Name</th><th>Engine</th><th>Size</th><th>Progress</th><th>State</th><th>Speed</th><th>ETA</th><th></th></tr></thead>
      <tbody>${items.map((d) => html`<tr data-testid="download-row" data-id=${d.id}>
        <td class="name">${d.name || d.id}</td><td>${d.service}</td><td>${bytes(d.total_bytes)}</td>
        <td><progress max="1" value=${d.progress} aria-label=${`${Math.round(d.progress * 100)} %`}></progress> ${Math.round(d.progress * 100)} %</td>
        <td data-testid="download-state">${d.state}</td><td>${bytes(d.download_rate)}/s</td><td>${eta(d.eta)}</td>
        <td class="actions">
          <button class="plain" onClick=${() => act(d.id, 'pause')}>Pause</button>
          <button class="plain" onClick=${() => act(d.id, 'resume')}>Resume</button>
          <button class="plain" onClick=${() => confirm(`Cancel ${d.name || d.id}?`) && act(d.id, 'cancel')}>Cancel</button>
        </td></tr>`)}</tbody>
    </table></div>`}
  </div>`;
}
