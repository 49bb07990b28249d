import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { bytes, get, getCsrf, post } from './api.js';

const BASE = '/services/deluge/torrents';
const STATES = ['All', 'Active', 'Downloading', 'Seeding', 'Paused', 'Checking', 'Queued', 'Error'];
const COLUMNS = [['name', 'Name'], ['total_wanted', 'Size'], ['progress', 'Progress'], ['state', 'State'],
  ['download_rate', 'Down'], ['upload_rate', 'Up'], ['eta', 'ETA'], ['ratio', 'Ratio'], ['peers', 'Seeds / peers']];

// A .torrent file from the picker or dropped on the page: multipart, the part named `torrent`.
async function addFile(file) {
  const form = new FormData();
  form.append('torrent', file, file.name);
  const r = await fetch(BASE, { method: 'POST', body: form, headers: { 'X-CSRF-Token': getCsrf() }, credentials: 'same-origin' });
  const body = await r.json();
  if (!r.ok) throw new Error(body.message ? `${body.error}: ${body.message}` : body.error);
  return body;
}

function Details({ id, onClose }) {
  const [t, setT] = useState(null);
  useEffect(() => { get(`${BASE}/${id}`).then(setT).catch((e) => setT({ error: e.message })); }, [id]);
  return html`<aside class="drawer" data-testid="torrent-details" aria-label="Torrent details">
    <button class="plain" onClick=${onClose} aria-label="Close the details">✕</button>
    ${!t ? 'Loading…' : t.error ? html`<p class="error">${t.error}</p>` : html`
      <h2>${t.name}</h2>
      <h3>Files</h3><ul>${(t.files || []).map((f) => html`<li>${f.path} (${bytes(f.size)}, ${Math.round(f.progress * 100)} %)</li>`)}</ul>
      <h3>Trackers</h3><ul>${(t.trackers || []).map((x) => html`<li>${x.url} ${x.status}</li>`)}</ul>
      <h3>Peers</h3><ul>${(t.peers || []).map((p) => html`<li>${p.ip}:${p.port} ${p.client} ${Math.round(p.progress * 100)} %</li>`)}</ul>`}
  </aside>`;
}

export function Torrents() {
  const [list, setList] = useState(null);
  const [filter, setFilter] = useState({ state: 'All', text: '' });
  const [sort, setSort] = useState({ key: 'name', desc: false });
  const [chosen, setChosen] = useState(new Set());
  const [link, setLink] = useState('');
  const [note, setNote] = useState('');
  const [open, setOpen] = useState(null);
  const [running, setRunning] = useState(null);
  // Asked of the service first: a stopped Deluge is said so, not polled into 503s.
  const load = async () => {
    try {
      const st = await get('/services/deluge/status');
      setRunning(!!st.running);
      if (!st.running) return setList([]);
      const r = await get(`${BASE}?state=${filter.state}`);
      setList(r.torrents);
    } catch (e) {
      setNote(e.message);
    }
  };
  useEffect(() => {
    load();
    const timer = setInterval(() => document.hidden || load(), 2000);
    const drop = (e) => { e.preventDefault(); for (const f of e.dataTransfer.files) add(() => addFile(f)); };
    const over = (e) => e.preventDefault();
    window.addEventListener('drop', drop);
    window.addEventListener('dragover', over);
    return () => { clearInterval(timer); window.removeEventListener('drop', drop); window.removeEventListener('dragover', over); };
  }, [filter.state]);
  async function add(f) {
    try { const r = await f(); setNote(`added ${r.torrent_id}`); load(); } catch (e) { setNote(e.message); }
  }
  async function act(action) {
    const ids = [...chosen];
    let body = {};
    if (action === 'remove') {
      if (!confirm(`Remove ${ids.length} torrent(s)?`)) return;
      body = { remove_data: confirm('Also delete their downloaded data?') };
    }
    for (const id of ids) { try { await post(`${BASE}/${id}/${action}`, body); } catch (e) { setNote(e.message); } }
    if (action === 'remove') setChosen(new Set());
    load();
  }
  const text = filter.text.toLowerCase();
  const rows = (list || []).filter((t) => t.name.toLowerCase().includes(text)).sort((a, b) => {
    const x = a[sort.key], y = b[sort.key];
    const c = typeof x === 'string' ? x.localeCompare(y) : (x ?? -1) - (y ?? -1);
    return sort.desc ? -c : c;
  });
  const toggle = (id) => setChosen((s) => { const n = new Set(s); n.has(id) ? n.delete(id) : n.add(id); return n; });
  return html`<div class="page" data-testid="torrents-page">
    <form class="row" onSubmit=${(e) => { e.preventDefault(); add(() => post(BASE, { torrent_url: link })); setLink(''); }}>
      <label for="magnet" class="sr-only">Magnet or .torrent URL</label>
      <input id="magnet" type="text" placeholder="magnet:?xt=… or a .torrent URL" value=${link}
             onInput=${(e) => setLink(e.target.value)} data-testid="torrents-link" required />
      <button type="submit" data-testid="torrents-add">Add</button>
      <label class="button">.torrent file<input type="file" accept=".torrent" class="sr-only" data-testid="torrents-file"
        onChange=${(e) => { for (const f of e.target.files) add(() => addFile(f)); e.target.value = ''; }} /></label>
    </form>
    <div class="row">
      <label for="tstate">State</label>
      <select id="tstate" value=${filter.state} onChange=${(e) => setFilter({ ...filter, state: e.target.value })} data-testid="torrents-state">
        ${STATES.map((s) => html`<option>${s}</option>`)}</select>
      <label for="tfind" class="sr-only">Find</label>
      <input id="tfind" type="text" placeholder="Find by name" value=${filter.text} onInput=${(e) => setFilter({ ...filter, text: e.target.value })} />
      <button disabled=${!chosen.size} onClick=${() => act('pause')} data-testid="torrents-pause">Pause</button>
      <button disabled=${!chosen.size} onClick=${() => act('resume')} data-testid="torrents-resume">Resume</button>
      <button disabled=${!chosen.size} onClick=${() => act('remove')} data-testid="torrents-remove">Remove</button>
      ${note && html`<span class="muted" role="status" data-testid="torrents-note">${note}</span>`}
    </div>
    ${running === false && html`<p class="muted" data-testid="torrents-stopped">Deluge is stopped: start it on the <a href="#/services">Services</a> page.</p>`}
    <div class="table-wrap"><table data-testid="torrents-table">
      <thead><tr><th><span class="sr-only">Select</span></th>${COLUMNS.map(([k, label]) => html`<th
          aria-sort=${sort.key === k ? (sort.desc ? 'descending' : 'ascending') : undefined}>
        <button class="plain" onClick=${() => setSort({ key: k, desc: sort.key === k && !sort.desc })}>${label}</button></th>`)}</tr></thead>
      <tbody>${rows.map((t) => html`<tr data-testid="torrent-row" data-id=${t.id}>
        <td><input type="checkbox" checked=${chosen.has(t.id)} onChange=${() => toggle(t.id)} aria-label=${`Select ${t.name}`} /></td>
        <td class="name"><button class="plain" onClick=${() => setOpen(t.id)}>${t.name}</button></td>
        <td>${bytes(t.total_wanted)}</td>
        <td><progress max="100" value=${t.progress} aria-label=${`${Math.round(t.progress)} %`}></progress> ${Math.round(t.progress)} %</td>
        <td data-testid="torrent-state">${t.state}</td><td>${bytes(t.download_rate)}/s</td><td>${bytes(t.upload_rate)}/s</td>
        <td>${t.eta > 0 ? `${Math.round(t.eta / 60)} min` : '–'}</td><td>${(t.ratio ?? 0).toFixed(2)}</td><td>${t.seeds} / ${t.peers}</td>
      </tr>`)}</tbody>
    </table></div>
    ${open && html`<${Details} id=${open} onClose=${() => setOpen(null)} />`}
  </div>`;
}
