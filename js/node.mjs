// Node's `import`: the CommonJS build, loaded through `require`, so that `import` and `require`
// share one instance (one module, one wasm memory, one FaceIdClient class).
//
// Why `createRequire` and named exports rather than `export * from './node/faceid_edge.js'`: ESM
// importing CommonJS makes Node run cjs-module-lexer over the whole glue to find its export names
// and load it through the ESM translator's own `require`. In a fresh Node 20 process that put import
// by name + instantiate + first call at ~22 ms instead of ~14 ms (plain `require`: ~12 ms). A
// default import (`import cjs from …`) still runs the lexer. scripts/build.sh checks that this list
// equals the glue's exports and that both entries hand out the same objects.
import { createRequire } from 'node:module';

const { FaceIdClient, fetchNonceTicket, nonceString, sign } = createRequire(import.meta.url)('./node/faceid_edge.js');

export { FaceIdClient, fetchNonceTicket, nonceString, sign };
