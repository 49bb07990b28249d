import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, bytes, del, get, getCsrf, post } from './api.js';

const parent = (p) => p.replace(/\/[^/]+$/, '') || '/';
const join = (dir, name) => `${dir.replace(/\/$/, '')}/${name}`;
// GET /download?path= takes the absolute path a listing gives; a folder comes as a tar.
const downloadUrl = (p, dir) => `/download?path=${encodeURIComponent(p)}${dir ? '&format=tar' : ''}`;

// One upload with its progress, by XMLHttpRequest (fetch reports no upload progress).
function upload(dir, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(JSON.parse(xhr.responseText || '{}').message || `HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new Error('the upload failed'));
    xhr.onabort = () => reject(new Error('cancelled'));
  });
  const form = new FormData();
  form.append('path', dir);
  form.append('file', file, file.name);
  xhr.open('POST', '/upload');
  xhr.setRequestHeader('X-CSRF-Token', getCsrf());
  xhr.send(form);
  return { done, cancel: () => xhr.abort() };
}

export function Files() {
  const [dir, setDir] = useState(null);
  const [list, setList] = useState(null);
  const [free, setFree] = useState(null);
  const [note, setNote] = useState('');
  const [uploads, setUploads] = useState([]);
  const load = (path) => get(`/files?path=${encodeURIComponent(path ?? '')}`)
    .then((r) => { setDir(r.path); setList(r.items); }).catch((e) => setNote(e.message));
  useEffect(() => {
    load('');
    get('/status').then((s) => setFree(s.disk_free_gb)).catch(() => {});
  }, []);
  const act = async (f) => { setNote(''); try { await f(); } catch (e) { setNote(e.message); } load(dir); };
  const mkdir = () => { const n = prompt('New folder name'); if (n) act(() => post('/files/mkdir', { path: join(dir, n) })); };
  const rename = (it) => { const n = prompt('Rename or move to', it.name); if (n && n !== it.name) act(() => post('/files/move', { from: join(dir, it.name), to: n.startsWith('/') ? n : join(dir, n) })); };
  const remove = (it) => confirm(`Delete ${it.name}${it.type === 'dir' ? ' and everything in it' : ''}?`) &&
    act(() => api('DELETE', `/files?path=${encodeURIComponent(join(dir, it.name))}${it.type === 'dir' ? '&recursive=true' : ''}`));
  function send(files) {
    for (const file of files) {
      const key = `${file.name}-${Date.now()}-${Math.random()}`;
      const u = upload(dir, file, (p) => setUploads((us) => us.map((x) => (x.key === key ? { ...x, progress: p } : x))));
      setUploads((us) => [...us, { key, name: file.name, progress: 0, state: 'uploading', cancel: u.cancel }]);
      u.done.then(() => { setUploads((us) => us.map((x) => (x.key === key ? { ...x, progress: 1, state: 'done' } : x))); load(dir); },
        (e) => setUploads((us) => us.map((x) => (x.key === key ? { ...x, state: e.message } : x))));
    }
  }
  const crumbs = (dir || '').split('/').filter(Boolean);
  return html`<div class="page files" data-testid="files-page"
      onDragOver=${(e) => e.preventDefault()} onDrop=${(e) => { e.preventDefault(); send(e.dataTransfer.files); }}>
    <nav class="crumbs" aria-label="Folder" data-testid="files-crumbs">
      <button class="plain" onClick=${() => load('/')}>/</button>
      ${crumbs.map((c, i) => html`<button class="plain" onClick=${() => load(`/${crumbs.slice(0, i + 1).join('/')}`)}>${c}</button><span>/</span>`)}
    </nav>
    <div class="row">
      <button onClick=${mkdir} data-testid="files-mkdir">New folder</button>
      <label class="button">Upload<input type="file" multiple class="sr-only" data-testid="files-upload"
        onChange=${(e) => { send(e.target.files); e.target.value = ''; }} /></label>
      ${free != null && html`<span class="muted" data-testid="files-free">${free} GB free</span>`}
      ${note && html`<span class="error" role="alert">${note}</span>`}
    </div>
    ${uploads.length > 0 && html`<ul class="uploads" data-testid="uploads">${uploads.map((u) => html`<li data-testid="upload" data-state=${u.state}>
      ${u.name} <progress max="1" value=${u.progress}></progress> ${u.state}
      ${u.state === 'uploading' && html`<button class="plain" onClick=${u.cancel}>Cancel</button>`}</li>`)}</ul>`}
    ${list === null ? html`<p>Loading…</p>` : html`<div class="table-wrap"><table data-testid="files-table">
      <thead><tr><th>Name</th><th>Size</th><th>Modified</th><th></th></tr></thead>
      <tbody>
        ${dir !== '/' && html`<tr><td><button class="plain" onClick=${() => load(parent(dir))}>..</button></td><td></td><td></td><td></td></tr>`}
        ${list.map((it) => html`<tr data-testid="file-row" data-name=${it.name}>
          <td class="name">${it.type === 'dir' ? html`<button class="plain" onClick=${() => load(join(dir, it.name))}>${it.name}/</button>` : it.name}</td>
          <td>${it.type === 'dir' ? '–' : bytes(it.size)}</td><td>${it.modified}</td>
          <td class="actions">
            <a href=${downloadUrl(join(dir, it.name), it.type === 'dir')} download data-testid="file-download">Download</a>
            <button class="plain" onClick=${() => rename(it)}>Rename</button>
            <button class="plain" onClick=${() => remove(it)} data-testid="file-delete">Delete</button>
          </td></tr>`)}
      </tbody></table></div>`}
  </div>`;
}
