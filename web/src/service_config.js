import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { get, post } from './api.js';

const secret = (k) => /secret|password|token|key/.test(k);

// Text in a field back to the value's own type; arrays and objects are written as JSON.
function parse(text, old) {
  if (typeof old === 'number') {
    const n = Number(text);
    return text.trim() === '' || Number.isNaN(n) ? text : n;  // the agent says what is wrong
  }
  if (typeof old === 'object' && old !== null) {
    try { return JSON.parse(text); } catch (e) { return text; }
  }
  return text;
}
const shown = (v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? ''));

// A service's config as a form. Only what changed is sent; the agent validates it, and its
// error lands on the field it names ("key 'port' must be a number").
export function ServiceConfig({ name, onSaved }) {
  const [config, setConfig] = useState(null);
  const [draft, setDraft] = useState({});
  const [errors, setErrors] = useState({});
  const [note, setNote] = useState('');
  useEffect(() => { get(`/services/config/${name}`).then((r) => setConfig(r.config)).catch((e) => setNote(e.message)); }, [name]);
  if (!config) return html`<p class="muted">${note || 'Loading…'}</p>`;
  async function save(e) {
    e.preventDefault();
    const changed = {};
    for (const [k, v] of Object.entries(draft)) {
      const value = typeof config[k] === 'boolean' ? v : parse(v, config[k]);
      if (shown(value) !== shown(config[k])) changed[k] = value;
    }
    setErrors({});
    if (!Object.keys(changed).length) return setNote('nothing changed');
    try {
      const r = await post('/services/config', { service_name: name, config: changed });
      setConfig(r.config || { ...config, ...changed });
      setDraft({});
      setNote('saved');
      if (onSaved) onSaved();
    } catch (err) {
      const m = /key '([^']+)'/.exec(err.message);
      const field = m && m[1].replace(/^.*\./, '');
      if (field && field in config) setErrors({ [field]: err.message });
      else setNote(err.message);
    }
  }
  return html`<form class="config" onSubmit=${save} data-testid=${`config-${name}`}>
    ${Object.entries(config).map(([k, v]) => {
      const id = `cfg-${name}-${k}`;
      const value = k in draft ? draft[k] : typeof v === 'boolean' ? v : shown(v);
      const input = typeof v === 'boolean'
        ? html`<input id=${id} type="checkbox" checked=${value} onChange=${(e) => setDraft({ ...draft, [k]: e.target.checked })} />`
        : html`<input id=${id} type=${secret(k) ? 'password' : 'text'} value=${value} autocomplete="off"
                 aria-invalid=${errors[k] ? 'true' : undefined} data-testid=${`config-${name}-${k}`}
                 onInput=${(e) => setDraft({ ...draft, [k]: e.target.value })} />`;
      return html`<div class="field"><label for=${id}>${k}</label>${input}
        ${errors[k] && html`<span class="error" role="alert" data-testid=${`config-${name}-${k}-error`}>${errors[k]}</span>`}</div>`;
    })}
    <div class="actions"><button type="submit" data-testid=${`config-${name}-save`}>Save</button>
      ${note && html`<span class="muted" role="status" data-testid=${`config-${name}-note`}>${note}</span>`}</div>
  </form>`;
}
