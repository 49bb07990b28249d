import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { bytes, get } from './api.js';

const WINDOW_S = 600;  // the graphs show the last ten minutes

// One live series set, fed by GET /status/stream (one EventSource, closed while the tab is
// hidden so an unwatched page costs the agent nothing).
function useSamples() {
  const [samples, setSamples] = useState([]);
  useEffect(() => {
    let source = null;
    const open = () => {
      if (source || document.hidden) return;
      source = new EventSource('/status/stream');
      source.addEventListener('sample', (e) => {
        const s = JSON.parse(e.data);
        setSamples((old) => {
          const next = old.concat([s]);
          while (next.length && next[0].t < s.t - WINDOW_S) next.shift();
          return next;
        });
      });
    };
    const close = () => { if (source) { source.close(); source = null; } };
    const visibility = () => (document.hidden ? close() : open());
    document.addEventListener('visibilitychange', visibility);
    open();
    return () => { document.removeEventListener('visibilitychange', visibility); close(); };
  }, []);
  return samples;
}

function Chart({ title, series, data, testid, max }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const width = Math.max(240, box.current.clientWidth);
    plot.current = new uPlot({
      width, height: 160,
      legend: { show: true },
      scales: { x: { time: true }, y: max ? { range: [0, max] } : { auto: true } },
      axes: [{ stroke: 'currentColor' },
             { stroke: 'currentColor', size: 70, values: (u, ticks) => ticks.map((v) => series[0].format(v)) }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, value: (u, v) => (v == null ? '–' : s.format(v)) }))],
    }, [[], ...series.map(() => [])], box.current);
    const resize = () => plot.current.setSize({ width: Math.max(240, box.current.clientWidth), height: 160 });
    window.addEventListener('resize', resize);
    return () => { window.removeEventListener('resize', resize); plot.current.destroy(); };
  }, []);
  useEffect(() => { if (plot.current) plot.current.setData(data); }, [data]);
  return html`<section class="card chart" aria-label=${title}>
    <h2>${title}</h2>
    <div ref=${box} data-testid=${testid} data-points=${data[0].length}></div>
  </section>`;
}

export function Overview() {
  const samples = useSamples();
  const [status, setStatus] = useState(null);
  useEffect(() => {
    let live = true;
    const load = () => get('/status').then((s) => live && setStatus(s)).catch(() => {});
    load();
    const timer = setInterval(load, 10000);
    return () => { live = false; clearInterval(timer); };
  }, []);
  const t = samples.map((s) => s.t);
  const last = samples[samples.length - 1];
  const pct = (v) => `${v.toFixed(1)} %`;
  const rate = (v) => `${bytes(v)}/s`;
  const gpuCount = last ? last.gpus.length : 0;
  return html`<div class="page" data-testid="overview-page">
    <div class="figures">
      <div class="figure card"><span>CPU</span><strong data-testid="fig-cpu">${last ? pct(last.cpu_pct) : '–'}</strong><small>${last ? `${last.cpu_count} cores` : ''}</small></div>
      <div class="figure card"><span>Memory</span><strong data-testid="fig-ram">${last ? bytes(last.ram_used_bytes) : '–'}</strong><small>${last ? `of ${bytes(last.ram_total_bytes)}` : ''}</small></div>
      <div class="figure card"><span>Disk free</span><strong data-testid="fig-disk">${last ? bytes(last.disk_free_bytes) : '–'}</strong><small>${last ? `of ${bytes(last.disk_total_bytes)}` : ''}</small></div>
      <div class="figure card"><span>Uptime</span><strong data-testid="fig-uptime">${status ? status.uptime.split('.')[0] : '–'}</strong><small>${status ? `${status.executions} executions` : ''}</small></div>
      <div class="figure card"><span>Agent RSS</span><strong data-testid="fig-rss">${last ? bytes(last.agent_rss_bytes) : '–'}</strong><small>moccha itself</small></div>
    </div>
    <div class="charts">
      <${Chart} title="CPU" testid="chart-cpu" max=${100}
        series=${[{ label: 'CPU', color: '#2f7de1', format: pct }]} data=${[t, samples.map((s) => s.cpu_pct)]} />
      <${Chart} title="Memory" testid="chart-ram"
        series=${[{ label: 'used', color: '#c2410c', format: bytes }]} data=${[t, samples.map((s) => s.ram_used_bytes)]} />
      <${Chart} title="Network" testid="chart-net"
        series=${[{ label: 'in', color: '#15803d', format: rate }, { label: 'out', color: '#7e22ce', format: rate }]}
        data=${[t, samples.map((s) => s.net_rx_bps), samples.map((s) => s.net_tx_bps)]} />
      ${gpuCount === 0
        ? html`<section class="card chart" data-testid="gpu-none"><h2>GPU</h2><p>No GPU on this machine.</p></section>`
        : last.gpus.map((g, i) => html`<${Chart} key=${g.index} title=${`GPU ${g.index}: ${g.name}`} testid=${`chart-gpu-${g.index}`} max=${100}
            series=${[{ label: 'use', color: '#0e7490', format: pct }, { label: 'memory', color: '#be185d', format: pct }]}
            data=${[t, samples.map((s) => (s.gpus[i] ? s.gpus[i].util_pct : null)),
                    samples.map((s) => (s.gpus[i] && s.gpus[i].mem_total_mb ? (100 * s.gpus[i].mem_used_mb) / s.gpus[i].mem_total_mb : null))]} />`)}
    </div>
  </div>`;
}
