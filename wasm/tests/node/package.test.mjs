// The built package as npm users get it: its manifest, entry points and types.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const wasmDir = fileURLToPath(new URL('../..', import.meta.url));
const pkgDir = join(wasmDir, 'pkg');

test('package.json: ESM, exports with types, Node >= 18', () => {
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  assert.equal(manifest.name, 'twitch-drops');
  assert.equal(manifest.type, 'module');
  assert.equal(manifest.types, './index.d.ts');
  assert.deepEqual(Object.keys(manifest.exports['.']), ['types', 'node', 'default']);
  assert.equal(manifest.engines.node, '>=18');
  for (const file of ['index.d.ts', 'node.js', 'browser.js', 'raw/twitch_drops_wasm_bg.wasm']) {
    assert.ok(readFileSync(join(pkgDir, file)).length > 0, file);
  }
});

test('Node resolves the package by name to its Node entry point', async () => {
  assert.ok(import.meta.resolve('twitch-drops').endsWith('/pkg/node.js'));
  const api = await import('twitch-drops');
  assert.deepEqual(Object.keys(api).sort(), [
    'DecodeError',
    'Deduplicator',
    'DropsClient',
    'DropsError',
    'EventSubError',
    'FileDeliveryLog',
    'FileJournal',
    'HttpError',
    'InvalidInputError',
    'JournalError',
    'PartialUpdateError',
    'RateLimitedError',
    'TransportError',
    'UnauthorizedError',
    'eventSubResponse',
    'handleEventSub',
    'verifyEventSub',
  ]);
});

test('the public .d.ts files never say `any`', () => {
  const files = readdirSync(pkgDir).filter((f) => f.endsWith('.d.ts'));
  assert.ok(files.includes('index.d.ts') && files.includes('client.d.ts'));
  for (const file of files) {
    const code = readFileSync(join(pkgDir, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /\bany\b/, file);
  }
});

test('tsc --noEmit: a TypeScript user compiles against the types, and misuse is refused', () => {
  const tsc = join(wasmDir, 'node_modules/.bin/tsc');
  const run = spawnSync(tsc, ['--noEmit', '-p', join(wasmDir, 'tests/types')], { encoding: 'utf8' });
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
});
