// mermaid-check.mjs checks the Mermaid in docs/ with Mermaid itself (an extra to
// the parser test in mermaid_test.go, which needs nothing installed). Run:
//   mkdir /tmp/mmd && cd /tmp/mmd && npm install mermaid@11 jsdom@24
//   cp $REPO/check/explain/testdata/mermaid-check.mjs . && node mermaid-check.mjs $REPO/docs/README.md $REPO/docs/questions/*.md $REPO/docs/states.mmd
// It prints every diagram Mermaid rejects and exits 1 if there is one.
import { JSDOM } from 'jsdom';
import fs from 'fs';
import path from 'path';
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window; globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser; globalThis.Element = dom.window.Element;
Object.defineProperty(globalThis, 'navigator', { value: dom.window.navigator, configurable: true });
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
const files = process.argv.slice(2);
let n = 0, bad = 0;
for (const f of files) {
  const text = fs.readFileSync(f, 'utf8');
  const blocks = f.endsWith('.mmd') ? [text] : [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].map(m => m[1]);
  for (const [i, b] of blocks.entries()) {
    n++;
    try { await mermaid.parse(b); } catch (e) { bad++; console.log(`${f} #${i+1}: ${String(e.message || e).slice(0, 300)}`); }
  }
}
console.log(`${n} diagrams, ${bad} rejected`);
// negative control
try { await mermaid.parse('sequenceDiagram\n  A=>B: x\n'); console.log('control: accepted bad input!'); } catch (e) { console.log('control: bad input rejected'); }
if (bad > 0) process.exit(1);
