// Browsers and bundlers: fetch and instantiate the .wasm next to the glue before any export is used.
import init from './web/faceid_edge.js';

await init({ module_or_path: new URL('./web/faceid_edge_bg.wasm', import.meta.url) });

export * from './web/faceid_edge.js';
