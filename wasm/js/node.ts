// Entry point for Node (>= 18): loads the wasm module from the package folder.

import { readFile } from 'node:fs/promises';
import { initSync } from './raw/twitch_drops_wasm.js';

initSync({ module: await readFile(new URL('./raw/twitch_drops_wasm_bg.wasm', import.meta.url)) });

export * from './index.js';
