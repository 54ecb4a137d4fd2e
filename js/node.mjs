// Node's `import` re-exports the CommonJS build, so `import` and `require` share one instance.
export * from './node/faceid_edge.js';
