// xterm.js and its fit addon: the terminal page's lazy chunk.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';

export function openXterm(element) {
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 14,
                              fontFamily: 'ui-monospace, Menlo, Consolas, monospace' });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(element);
  // Copy on select, as terminals on Linux do (Ctrl+C stays the shell's interrupt); paste is the
  // browser's own (Ctrl+V, Ctrl+Shift+V, the context menu), which xterm.js takes as input.
  term.onSelectionChange(() => {
    const text = term.getSelection();
    if (text && navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
  });
  return { term, fit: () => { try { fit.fit(); } catch (e) { /* hidden: no size yet */ } } };
}
