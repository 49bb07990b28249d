// The one way the page talks to the agent: same-origin fetches that carry the session cookie,
// and the CSRF token (kept in memory only, never in storage) on every write.
let csrf = null;
let onLoggedOut = () => {};

export function setCsrf(token) { csrf = token; }
// For the terminal's first WebSocket frame, which cannot carry a header.
export function getCsrf() { return csrf; }
export function whenLoggedOut(f) { onLoggedOut = f; }

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? `${body.error}: ${body.message}` : (body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, { json, body, headers = {}, credential } = {}) {
  const h = { ...headers };
  if (method !== 'GET' && method !== 'HEAD' && csrf) h['X-CSRF-Token'] = csrf;
  if (credential) h['X-API-Key'] = credential;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const r = await fetch(path, { method, headers: h, body, credentials: 'same-origin', cache: 'no-store' });
  const type = r.headers.get('Content-Type') || '';
  const data = type.startsWith('application/json') ? await r.json() : await r.text();
  if (r.status === 401 && !credential) onLoggedOut();
  if (!r.ok) throw new ApiError(r.status, typeof data === 'object' ? data : { error: data });
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, json = {}) => api('POST', path, { json });
export const del = (path) => api('DELETE', path);

// Bytes as people read them.
export function bytes(n) {
  if (n == null) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
}
