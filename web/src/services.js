import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { bytes, get, post } from './api.js';
import { ServiceConfig } from './service_config.js';

function uptime(since) {
  if (!since) return '–';
  const s = Math.max(0, Math.floor(Date.now() / 1000 - Date.parse(since) / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

// A service that logs in to an account (MEGA) asks for a 2FA code when its start says so.
function CodeForm({ name, onAction, busy }) {
  const [code, setCode] = useState('');
  return html`<form class="mfa" onSubmit=${(e) => { e.preventDefault(); onAction(name, 'start', { mfa: code }); }}>
    <label>2FA code <input inputmode="numeric" autocomplete="one-time-code" value=${code}
      onInput=${(e) => setCode(e.target.value)} data-testid=${`service-${name}-mfa`} /></label>
    <button disabled=${busy || !code}>Log in</button>
  </form>`;
}

function Card({ name, status, onAction, busy, error }) {
  const [open, setOpen] = useState(false);
  const running = !!status.running;
  return html`<section class="card service" data-testid=${`service-${name}`} aria-label=${name}>
    <header>
      <h2>${name}</h2>
      <span class=${`badge ${running ? 'on' : 'off'}`} data-testid=${`service-${name}-state`}>${running ? 'running' : 'stopped'}</span>
    </header>
    <dl>
      <dt>PID</dt><dd>${status.pid || '–'}</dd>
      <dt>Up</dt><dd>${running ? uptime(status.started_at) : '–'}</dd>
      <dt>Restarts</dt><dd>${status.restarts ?? 0}</dd>
      ${status.email && html`<dt>Account</dt><dd>${status.email}</dd>`}
      ${status.storage_total != null && html`<dt>Storage</dt><dd>${bytes(status.storage_used)} of ${bytes(status.storage_total)}</dd>`}
      ${status.last_error && html`<dt>Last error</dt><dd class="error">${status.last_error}</dd>`}
    </dl>
    <div class="actions">
      <button disabled=${busy || running} onClick=${() => onAction(name, 'start')} data-testid=${`service-${name}-start`}>Start</button>
      <button disabled=${busy || !running} onClick=${() => onAction(name, 'stop')} data-testid=${`service-${name}-stop`}>Stop</button>
      <button disabled=${busy} onClick=${() => onAction(name, 'restart')} data-testid=${`service-${name}-restart`}>Restart</button>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${error && /2FA code/.test(error) && html`<${CodeForm} name=${name} onAction=${onAction} busy=${busy} />`}
    <details data-testid=${`service-${name}-config`} onToggle=${(e) => setOpen(e.target.open)}>
      <summary>Configuration</summary>
      ${open && html`<${ServiceConfig} name=${name} />`}
    </details>
  </section>`;
}

export function Services() {
  const [services, setServices] = useState(null);
  const [busy, setBusy] = useState({});
  const [errors, setErrors] = useState({});
  const load = () => get('/services/status').then((r) => setServices(r.services)).catch((e) => setErrors({ '': e.message }));
  useEffect(() => {
    load();
    // Service changes arrive on the one event stream; the list is read again when they do.
    const source = new EventSource('/events');
    source.onmessage = load;
    for (const t of ['service.started', 'service.stopped', 'service.crashed', 'service.restarted']) source.addEventListener(t, load);
    return () => source.close();
  }, []);
  async function onAction(name, action, body) {
    setBusy((b) => ({ ...b, [name]: true }));
    setErrors((e) => ({ ...e, [name]: '' }));
    try {
      await post(`/services/${name}/${action}`, body);
    } catch (e) {
      setErrors((old) => ({ ...old, [name]: e.message }));
    } finally {
      setBusy((b) => ({ ...b, [name]: false }));
      load();
    }
  }
  if (!services) return html`<div class="page">${errors[''] ? html`<p class="error">${errors['']}</p>` : 'Loading…'}</div>`;
  return html`<div class="page services" data-testid="services-page">
    ${Object.entries(services).map(([name, st]) => html`<${Card} key=${name} name=${name} status=${st}
        busy=${busy[name]} error=${errors[name]} onAction=${onAction} />`)}
  </div>`;
}
