// Cloudflare workerd refuses to compile wasm from bytes at run time: the module is imported
// precompiled and handed to the glue synchronously.
import wasm from './web/faceid_edge_bg.wasm';
import { initSync } from './web/faceid_edge.js';

initSync({ module: wasm });

export * from './web/faceid_edge.js';
