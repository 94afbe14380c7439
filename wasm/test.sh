#!/usr/bin/env bash
# Every test of the WASM package, in one command (tests/run-all.sh calls it):
#   1. npm ci, then build.sh (the package into wasm/pkg/)
#   2. wasm-bindgen-test: the Rust driver in Node, then in headless Chromium
#   3. node --test: the built package against the fake Twitch binary (clean drain, 401,
#      429, 5xx, lost answers, per-id outcomes, every error class, custom fetch, device
#      flow and analytics; the fulfillment engine with its grant outcomes, journals and
#      stops; Node's FileJournal, its file shared with the Rust `drops`, and drains
#      SIGKILLed mid-grant; EventSub webhooks fed by the fake), its manifest and TypeScript types
#      (tsc --noEmit), the README's examples, and the package in a real headless Chromium
#      page
# Needs cargo, node >= 18, npm, and Chromium with its driver (Debian:
# `apt-get install -y chromium chromium-driver`); fails, naming them, when one is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
cd "$here"

say() { printf 'wasm/test.sh: %s\n' "$*" >&2; }

for tool in cargo node npm; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is missing"; exit 1; }
done
have_browser=yes
[ -n "${CHROMIUM_BIN:-}" ] || command -v chromium >/dev/null 2>&1 || have_browser=no
[ -n "${CHROMEDRIVER:-}" ] || command -v chromedriver >/dev/null 2>&1 || have_browser=no
if [ "$have_browser" = no ]; then
  say "Chromium and its driver are needed for the browser tests; install them with"
  say "  apt-get update && apt-get install -y chromium chromium-driver"
  say "(or point CHROMIUM_BIN and CHROMEDRIVER at your own)"
  exit 1
fi

say "npm ci"
npm ci --no-audit --no-fund --loglevel=error
bash build.sh

say "cargo build -p fake-twitch -p twitch-drops-cli"
(cd "$root" && cargo build --quiet -p fake-twitch -p twitch-drops-cli)
export FAKE_TWITCH_BIN="$target_dir/debug/fake-twitch"
# The Rust `drops` reads and writes FileJournal files with the package's FileJournal.
export DROPS_BIN="$target_dir/debug/drops"

say "wasm-bindgen-test (Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p twitch-drops-wasm --target wasm32-unknown-unknown
say "wasm-bindgen-test (headless Chromium)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner WASM_BINDGEN_USE_BROWSER=1 \
  cargo test -p twitch-drops-wasm --target wasm32-unknown-unknown --test raw_client

say "node --test (the built package)"
node --test tests/node/
