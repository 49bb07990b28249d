import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from './api.js';

const KEPT = 512 << 10;  // characters of a log the page holds

// The agent's log and each service's: pick one, filter its lines, follow it as it grows.
export function Logs() {
  const [logs, setLogs] = useState([]);
  const [name, setName] = useState('agent');
  const [text, setText] = useState('');
  const [filter, setFilter] = useState('');
  const [follow, setFollow] = useState(true);
  const [note, setNote] = useState('');
  const next = useRef(null);
  const view = useRef(null);
  useEffect(() => { get('/logs').then((r) => setLogs(r.logs)).catch((e) => setNote(e.message)); }, []);
  useEffect(() => {
    let stop = false;
    next.current = null;
    setText('');
    const read = async () => {
      try {
        const r = await get(`/logs/${encodeURIComponent(name)}${next.current == null ? '' : `?offset=${next.current}`}`);
        if (stop) return;
        next.current = r.next;
        setText((t) => ((r.rotated ? '' : t) + r.text).slice(-KEPT));
        setNote('');
      } catch (e) {
        if (!stop) setNote(e.message);
      }
    };
    read();
    const timer = setInterval(() => follow && !document.hidden && read(), 2000);
    return () => { stop = true; clearInterval(timer); };
  }, [name, follow]);
  useEffect(() => { if (follow && view.current) view.current.scrollTop = view.current.scrollHeight; }, [text, filter]);
  const lines = filter ? text.split('\n').filter((l) => l.toLowerCase().includes(filter.toLowerCase())).join('\n') : text;
  return html`<div class="page logs" data-testid="logs-page">
    <div class="row">
      <label for="logname">Log</label>
      <select id="logname" value=${name} onChange=${(e) => setName(e.target.value)} data-testid="logs-name">
        ${(logs.length ? logs : [{ name: 'agent' }]).map((l) => html`<option value=${l.name}>${l.name}</option>`)}
      </select>
      <label for="logfilter" class="sr-only">Filter</label>
      <input id="logfilter" type="text" placeholder="Filter lines" value=${filter}
             onInput=${(e) => setFilter(e.target.value)} data-testid="logs-filter" />
      <label><input type="checkbox" checked=${follow} onChange=${(e) => setFollow(e.target.checked)} data-testid="logs-follow" /> Follow</label>
      ${note && html`<span class="error" role="alert">${note}</span>`}
    </div>
    <pre class="log" ref=${view} data-testid="logs-text" tabindex="0">${lines}</pre>
  </div>`;
}
