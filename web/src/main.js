import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, get, setCsrf, whenLoggedOut } from './api.js';
import { Login } from './login.js';
import { Overview } from './overview.js';
import { Services } from './services.js';
import { Terminal } from './term_page.js';
import { Console } from './console.js';
import { Downloads } from './downloads.js';
import { Files } from './files.js';
import { Torrents } from './torrents.js';
import { Logs } from './logs.js';
import 'uplot/dist/uPlot.min.css';
import './style.css';

const PAGES = [
  { id: 'overview', label: 'Overview', key: '1', view: Overview },
  { id: 'services', label: 'Services', key: '2', view: Services },
  { id: 'torrents', label: 'Torrents', key: '3', view: Torrents },
  { id: 'downloads', label: 'Downloads', key: '4', view: Downloads },
  { id: 'files', label: 'Files', key: '5', view: Files },
  { id: 'console', label: 'Console', key: '6', view: Console },
  { id: 'terminal', label: 'Terminal', key: '7', view: Terminal },
  { id: 'logs', label: 'Logs', key: '8', view: Logs },
];

function currentPage() {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.find((p) => p.id === id) || PAGES[0];
}

function Shell({ onOut }) {
  const [page, setPage] = useState(currentPage());
  const [theme, setTheme] = useState(localStorage.getItem('moccha-theme') || 'system');
  useEffect(() => {
    const nav = () => setPage(currentPage());
    const keys = (e) => {
      if (e.target.closest('input, textarea, select, .xterm') || e.ctrlKey || e.metaKey || e.altKey) return;
      const p = PAGES.find((x) => x.key === e.key);
      if (p) location.hash = `#/${p.id}`;
    };
    window.addEventListener('hashchange', nav);
    window.addEventListener('keydown', keys);
    nav();  // a change between the first render and this listener is not lost
    return () => { window.removeEventListener('hashchange', nav); window.removeEventListener('keydown', keys); };
  }, []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('moccha-theme', theme);  // a preference, never a credential
  }, [theme]);
  const nextTheme = { system: 'light', light: 'dark', dark: 'system' }[theme];
  const View = page.view;
  return html`
    <header class="top">
      <a class="brand" href="#/overview">Moccha</a>
      <nav aria-label="Pages">
        ${PAGES.map((p) => html`<a href=${`#/${p.id}`} aria-current=${p.id === page.id ? 'page' : undefined}
            data-testid=${`nav-${p.id}`} title=${`${p.label} (${p.key})`}>${p.label}</a>`)}
      </nav>
      <button class="plain" onClick=${() => setTheme(nextTheme)} data-testid="theme-toggle"
              aria-label=${`Theme: ${theme}; switch to ${nextTheme}`}>${theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'}</button>
      <button class="plain" onClick=${onOut} data-testid="logout">Log out</button>
    </header>
    <main id="main"><${View} /></main>`;
}

function App() {
  const [state, setState] = useState({ phase: 'checking' });
  useEffect(() => {
    whenLoggedOut(() => setState({ phase: 'out', notice: 'Your session ended: log in again.' }));
    (async () => {
      // A one-time login link (#login=CODE, printed by `moccha serve`): the code is never
      // sent in a URL, and is dropped from the address bar at once.
      const m = location.hash.match(/^#login=([0-9a-f]+)$/);
      if (m) {
        history.replaceState(null, '', location.pathname);
        try {
          const r = await api('POST', '/auth/session', { credential: m[1] });
          setCsrf(r.csrf_token);
          return setState({ phase: 'in' });
        } catch (e) {
          return setState({ phase: 'out', notice: 'That login link was used or has expired.' });
        }
      }
      try {
        const r = await get('/auth/session');
        setCsrf(r.csrf_token);
        setState({ phase: r.logged_in ? 'in' : 'out' });
      } catch (e) {
        setState({ phase: 'out', notice: e.message });
      }
    })();
  }, []);
  async function logOut() {
    try { await api('DELETE', '/auth/session'); } catch (e) { /* gone already */ }
    setCsrf(null);
    setState({ phase: 'out', notice: 'Logged out.' });
  }
  if (state.phase === 'checking') return html`<p class="loading">Loading…</p>`;
  if (state.phase === 'out')
    return html`<${Login} notice=${state.notice} onIn=${(token) => { setCsrf(token); setState({ phase: 'in' }); }} />`;
  return html`<${Shell} onOut=${logOut} />`;
}

render(html`<${App} />`, document.getElementById('app'));
