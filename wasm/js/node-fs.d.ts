// The Node APIs the Node entry point uses (so the build needs no @types/node).
declare module 'node:fs/promises' {
  interface FileHandle {
    writeFile(data: Uint8Array): Promise<void>;
    datasync(): Promise<void>;
    sync(): Promise<void>;
    truncate(length: number): Promise<void>;
    close(): Promise<void>;
  }
  export function readFile(path: URL | string): Promise<Uint8Array>;
  export function open(path: string, flags: string): Promise<FileHandle>;
  export function rename(from: string, to: string): Promise<void>;
}
