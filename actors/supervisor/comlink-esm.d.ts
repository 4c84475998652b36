// comlink ships ESM builds without .d.mts files; these point the ESM entry
// points at its own types (Node's ESM loader cannot take named exports from
// the UMD main entry).
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  export default function nodeEndpoint(nep: unknown): Endpoint;
}
