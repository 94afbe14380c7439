// Starts the fake Twitch binary for a test and talks to its admin routes.
//
// The binary comes from FAKE_TWITCH_BIN (wasm/test.sh sets it after
// `cargo build -p fake-twitch`).

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A running fake Twitch: its URLs and credentials, admin helpers, and `close()`. */
export async function startFake(args = []) {
  const bin = process.env.FAKE_TWITCH_BIN;
  if (!bin) throw new Error('set FAKE_TWITCH_BIN to the fake-twitch binary (wasm/test.sh does)');
  const child = spawn(bin, ['--port', '0', '--exit-on-stdin-close', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (text) => {
      lines.close();
      resolve(text);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`fake-twitch exited with ${code}`)));
  });
  const info = JSON.parse(line);
  const admin = async (method, path, body) => {
    const response = await fetch(`${info.base_url}/_fake/${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} /_fake/${path}: ${response.status}`);
    return response.status === 204 ? null : response.json();
  };
  return {
    ...info,
    clientOptions: {
      clientId: info.client_id,
      clientSecret: info.client_secret,
      helixUrl: info.helix_url,
      authUrl: info.auth_url,
    },
    stats: () => admin('GET', 'stats'),
    entitlements: () => admin('GET', 'entitlements'),
    setFaults: (faults) => admin('POST', 'faults', faults),
    userToken: (userId, scopes = '') =>
      admin('POST', `users/${userId}/token?scopes=${encodeURIComponent(scopes)}`),
    approveDevice: (userCode, userId) =>
      admin('POST', `device/${encodeURIComponent(userCode)}/approve?user_id=${userId}`),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/** How many entitlements of `gameId` the fake holds in `status`. */
export async function count(fake, gameId, status) {
  const all = await fake.entitlements();
  return all.filter((e) => e.game_id === gameId && e.fulfillment_status === status).length;
}
