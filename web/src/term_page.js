import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, getCsrf, post } from './api.js';

// The terminal's id survives a reload (sessionStorage: per tab, not a secret) so the page joins
// the same shell and gets its scrollback again.
const KEY = 'moccha-terminal';

async function terminalToJoin() {
  const kept = sessionStorage.getItem(KEY);
  if (kept) {
    const { terminals } = await get('/terminals');
    if (terminals.some((t) => t.id === kept)) return kept;
  }
  const t = await post('/terminals', { cols: 80, rows: 24 });
  sessionStorage.setItem(KEY, t.id);
  return t.id;
}

export function Terminal() {
  const box = useRef(null);
  const [state, setState] = useState('connecting');
  const [run, setRun] = useState(0);  // a new shell after the last one ended
  useEffect(() => {
    let closed = false, socket = null, term = null, observer = null;
    (async () => {
      try {
        // xterm.js is a chunk of its own, loaded only here; its stylesheet with it.
        const [{ openXterm }] = await Promise.all([import('./xterm.js'), stylesheet('/assets/terminal.css')]);
        if (closed) return;
        const id = await terminalToJoin();
        if (closed) return;
        const x = openXterm(box.current);
        term = x.term;
        socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/terminals/${id}/ws`);
        socket.binaryType = 'arraybuffer';
        const size = () => socket.readyState === 1 &&
          socket.send(JSON.stringify({ type: 'resize', cols: term.cols, rows: term.rows }));
        socket.onopen = () => {
          socket.send(JSON.stringify({ type: 'auth', csrf_token: getCsrf() }));
          x.fit();
          size();
          term.focus();
        };
        socket.onmessage = (e) => {
          if (typeof e.data !== 'string') return term.write(new Uint8Array(e.data));
          const m = JSON.parse(e.data);
          if (m.type === 'attached') setState('connected');
          if (m.type === 'exit') {
            sessionStorage.removeItem(KEY);
            setState(`ended (${m.how})`);
          }
        };
        socket.onclose = () => setState((s) => (s.startsWith('ended') ? s : 'disconnected'));
        const enc = new TextEncoder();
        term.onData((d) => socket.readyState === 1 && socket.send(enc.encode(d)));
        term.onResize(size);
        observer = new ResizeObserver(() => x.fit());
        observer.observe(box.current);
      } catch (e) {
        setState(`error: ${e.message}`);
      }
    })();
    return () => {
      closed = true;
      if (observer) observer.disconnect();
      if (socket) socket.close();
      if (term) term.dispose();
    };
  }, [run]);
  const over = state.startsWith('ended') || state === 'disconnected' || state.startsWith('error');
  return html`<section class="page terminal-page" aria-label="Terminal" data-testid="terminal-page">
    <header class="row">
      <h1>Terminal</h1>
      <span class="muted" data-testid="terminal-state" role="status">${state}</span>
      ${over && html`<button onClick=${() => { setState('connecting'); setRun(run + 1); }}
                             data-testid="terminal-new">New terminal</button>`}
    </header>
    <div class="xterm-box" ref=${box} data-testid="terminal"></div>
  </section>`;
}

function stylesheet(href) {
  if (document.querySelector(`link[href="${href}"]`)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const l = document.createElement('link');
    l.rel = 'stylesheet';
    l.href = href;
    l.onload = resolve;
    l.onerror = () => reject(new Error(`${href} did not load`));
    document.head.appendChild(l);
  });
}
