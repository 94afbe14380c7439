// Entry point for Node (>= 18): loads the wasm module from the package folder, and gives
// `FileJournal` Node's file system.

import { open, readFile, rename } from 'node:fs/promises';
import { provideFileSystem } from './file-journal.js';
import { initSync } from './raw/twitch_drops_wasm.js';

initSync({ module: await readFile(new URL('./raw/twitch_drops_wasm_bg.wasm', import.meta.url)) });
provideFileSystem({ open, readFile, rename });

export * from './index.js';
