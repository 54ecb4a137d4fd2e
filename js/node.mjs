// Node's `import`: the CommonJS build, loaded through `require`, so that `import` and `require`
// share one instance (one module, one wasm memory, one FaceIdClient class).
//
// Why `createRequire` and named exports rather than `export * from './node/faceid_edge.js'`: ESM
// importing CommonJS makes Node run cjs-module-lexer over the whole 29 KB glue to find its export
// names, and load it through the ESM translator's own `require`. In a fresh process that cost 4-7 ms
// of a ~20-30 ms cold start (import by name + instantiate + first call), against ~2 ms for plain
// `require`. A default import (`import cjs from …`) still runs the lexer. scripts/build.sh checks
// that this list equals the glue's exports and that both entries hand out the same objects.
import { createRequire } from 'node:module';

const { FaceIdClient, fetchNonceTicket, nonceString, sign } = createRequire(import.meta.url)('./node/faceid_edge.js');

export { FaceIdClient, fetchNonceTicket, nonceString, sign };
