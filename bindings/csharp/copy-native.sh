#!/usr/bin/env bash
# Builds the native library in release mode and copies it into this Unity package, where
# Unity's plugin importer finds it: Plugins/Linux/x86_64/libtwitchdrops.so on Linux x64.
# Other platforms: build on (or cross-compile for) them and copy by hand; see README.md.
#   bindings/csharp/copy-native.sh            (from anywhere in the repository)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) lib=libtwitchdrops.so; dest=Plugins/Linux/x86_64 ;;
  *) echo "copy-native.sh: only Linux x86_64 is scripted; see bindings/csharp/README.md" >&2; exit 1 ;;
esac
(cd "$root" && cargo build --release --locked -p twitch-drops-ffi < /dev/null)
mkdir -p "$here/$dest"
cp "$target/release/$lib" "$here/$dest/$lib"
echo "copied $target/release/$lib to bindings/csharp/$dest/"
