#!/usr/bin/env bash
# Builds the npm package `twitch-drops` into wasm/pkg/:
#   pkg/raw/      wasm-bindgen's output (--target web), the .wasm optimized by wasm-opt -Oz
#   pkg/*.js      the TypeScript layer (js/*.ts) compiled, with .d.ts files
#   pkg/package.json, pkg/README.md
# and links wasm/node_modules/twitch-drops -> ../pkg, so the examples and tests import the
# package by its name. Needs cargo (with the wasm32-unknown-unknown target), node >= 18
# and npm; installs wasm-bindgen-cli at the crate's exact version when it is missing, and
# the npm tools (typescript, binaryen's wasm-opt) with `npm ci` when they are.
# `build.sh --tools` installs those tools (and the target) and stops: tests/run-all.sh uses
# it to set up a fresh machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
pkg="$here/pkg"
cd "$here"

say() { printf 'wasm/build.sh: %s\n' "$*" >&2; }

# The Rust target.
if command -v rustup >/dev/null 2>&1 &&
  ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate (pinned with `=`
# in wasm/Cargo.toml).
want="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' Cargo.toml)"
if [ -z "$want" ]; then
  say "cannot read the pinned wasm-bindgen version from wasm/Cargo.toml"
  exit 1
fi
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none}; about 2 minutes)"
  # With its own lock file first; when the registry lags a dependency pinned there, that
  # fails and an unlocked install works. Either's messages are shown only if both fail.
  log="$(mktemp)"
  if ! cargo install --quiet wasm-bindgen-cli --version "$want" --locked >"$log" 2>&1 &&
    ! cargo install --quiet wasm-bindgen-cli --version "$want" >>"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    say "could not install wasm-bindgen-cli $want (messages above)"
    exit 1
  fi
  rm -f "$log"
fi

# The npm tools.
if [ ! -x node_modules/.bin/tsc ] || [ ! -x node_modules/.bin/wasm-opt ]; then
  say "npm ci (typescript, binaryen)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
[ "${1:-}" = --tools ] && exit 0

# Rust -> wasm, tuned for size (the workspace's release profile is left alone).
say "cargo build (wasm32, release)"
CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
  CARGO_PROFILE_RELEASE_LTO=true \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  CARGO_PROFILE_RELEASE_PANIC=abort \
  CARGO_PROFILE_RELEASE_DEBUG=false \
  cargo build --quiet --release -p twitch-drops-wasm --target wasm32-unknown-unknown

rm -rf "$pkg"
mkdir -p "$pkg/raw"
wasm-bindgen --target web --out-dir "$pkg/raw" --out-name twitch_drops_wasm \
  "$target_dir/wasm32-unknown-unknown/release/twitch_drops_wasm.wasm"
rm -f "$pkg/raw/.gitignore"

say "wasm-opt -Oz"
node_modules/.bin/wasm-opt -Oz "$pkg/raw/twitch_drops_wasm_bg.wasm" -o "$pkg/raw/twitch_drops_wasm_bg.wasm"

say "tsc (js/*.ts -> pkg/)"
node_modules/.bin/tsc -p tsconfig.json

cp js/package.json "$pkg/package.json"
cp README.md "$pkg/README.md"
mkdir -p node_modules
ln -sfn ../pkg node_modules/twitch-drops

gz() { gzip -9 -c "$@" | wc -c; }
wasm_file="$pkg/raw/twitch_drops_wasm_bg.wasm"
js_files=("$pkg"/raw/twitch_drops_wasm.js "$pkg"/*.js)
printf 'wasm/build.sh: built %s\n' "$pkg" >&2
printf '  .wasm   %7d bytes, %7d gzipped\n' "$(wc -c <"$wasm_file")" "$(gz "$wasm_file")" >&2
printf '  JS glue %7d bytes, %7d gzipped (wasm-bindgen glue + wrapper, %d files)\n' \
  "$(cat "${js_files[@]}" | wc -c)" "$(cat "${js_files[@]}" | gzip -9 | wc -c)" "${#js_files[@]}" >&2
