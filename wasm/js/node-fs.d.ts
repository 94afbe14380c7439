// The one Node API the Node entry point uses (so the build needs no @types/node).
declare module 'node:fs/promises' {
  export function readFile(path: URL): Promise<Uint8Array>;
}
