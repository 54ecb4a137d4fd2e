// Vercel Edge Functions and Next.js edge routes (the `edge-light` condition) refuse to compile wasm
// at run time; their bundlers hand a `.wasm?module` import over as a compiled module instead.
import wasm from './web/faceid_edge_bg.wasm?module';
import { initSync } from './web/faceid_edge.js';

initSync({ module: wasm });

export * from './web/faceid_edge.js';
