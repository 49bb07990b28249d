// xterm.js and its fit addon: the terminal page's lazy chunk.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

export function openXterm(element) {
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 14,
                              fontFamily: 'ui-monospace, Menlo, Consolas, monospace' });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(element);
  return { term, fit: () => { try { fit.fit(); } catch (e) { /* hidden: no size yet */ } } };
}
