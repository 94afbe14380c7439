// Entry point for browsers and other runtimes: fetches the wasm module next to this file.

import init from './raw/twitch_drops_wasm.js';

await init({ module_or_path: new URL('./raw/twitch_drops_wasm_bg.wasm', import.meta.url) });

export * from './index.js';
