#!/usr/bin/env bash
# Every test of the project, from a fresh clone: the README's test command.
#   1. Rust: the core (unit, loopback-server, CLI, crash and README tests), the fake Twitch,
#      and the C ABI (C and C++ programs built plain, with ASan+UBSan, and under valgrind;
#      the C# bindings compiled with Mono's mcs and run on mono)
#   2. WASM: wasm-bindgen tests in Node and headless Chromium, then the built npm package
#      in Node and in a Chromium page (wasm/test.sh installs its npm tools and
#      wasm-bindgen-cli when missing)
# Needs: Rust with the wasm32-unknown-unknown target, Node >= 18, and the Debian packages
# clang libclang-rt-14-dev valgrind cmake pkgconf mono-mcs mono-runtime chromium
# chromium-driver postgresql (.ci/run installs them all); a missing one fails with its name.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

# cargo's target probe runs `rustc -` with stdin from /dev/null; if /dev/null is a regular file
# (seen on some machines), rustc compiles whatever was written there and every build fails.
if [ ! -c /dev/null ]; then
  echo "run-all: /dev/null is not the null device (a regular file?); cargo cannot build." >&2
  echo "run-all: as root: mknod -m 666 /dev/null.new c 1 3 && mv -f /dev/null.new /dev/null" >&2
  exit 1
fi

step "Rust and C: cargo test --workspace"
cargo test --workspace --all-features --locked

step "WASM: wasm/test.sh"
bash wasm/test.sh
