#!/usr/bin/env bash
# The SDK a studio downloads, for each platform built: everything lands in dist/.
#
#   ffi/bundle.sh [--no-unity] [--no-npm] [TARGET...]
#
# TARGET is a Rust target; the default is the host's (x86_64-unknown-linux-gnu here) plus
# x86_64-pc-windows-gnu and aarch64-unknown-linux-gnu. For each:
#   dist/twitch-drops-<version>-<target>.tar.gz   (.zip for Windows)
#     include/     twitch_drops.h (C), twitch_drops.hpp (C++17)
#     lib/         the static and the shared library, stripped (Windows: twitchdrops.dll,
#                  its import library libtwitchdrops.dll.a, twitchdrops.def for MSVC's lib.exe)
#     lib/cmake/TwitchDrops/   find_package(TwitchDrops): TwitchDrops::twitchdrops (static),
#                              TwitchDrops::twitchdrops_shared
#     lib/pkgconfig/twitchdrops.pc
#     LICENSE-MIT, LICENSE-APACHE, README.md
# and, unless told not to:
#   dist/com.twitchdrops.sdk-<version>.tgz   the Unity package (bindings/csharp) with
#                                            Plugins/ filled for the built targets
#   dist/twitch-drops-<version>.tgz           the npm package (wasm/build.sh, then npm pack)
#
# Other targets, on a machine with their SDK (exact steps: README.md, "Platforms"):
#   ffi/bundle.sh universal-apple-darwin             (macOS with Xcode: lipo of both arches)
#   TWITCHDROPS_TOOLCHAIN_FILE=$NDK/build/cmake/android.toolchain.cmake \
#   TWITCHDROPS_CMAKE_ARGS="-DANDROID_ABI=arm64-v8a -DANDROID_PLATFORM=24" \
#   TWITCHDROPS_STRIP=$NDK/toolchains/llvm/prebuilt/linux-x86_64/bin/llvm-strip \
#     ffi/bundle.sh aarch64-linux-android
# Needs cargo with each target's std (rustup target add), cmake, and the target's C toolchain:
# Debian's mingw-w64 (Windows) and gcc-aarch64-linux-gnu (arm64); node and npm for the npm
# package. Other targets (macOS, iOS, Android) need their SDK: see README.md, "Platforms".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
dist="$root/dist"
cd "$root"

say() { printf 'ffi/bundle.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

unity=1 npm=1 targets=()
for arg in "$@"; do
  case "$arg" in
    --no-unity) unity=0 ;;
    --no-npm) npm=0 ;;
    -*) die "unknown option $arg (usage: ffi/bundle.sh [--no-unity] [--no-npm] [TARGET...])" ;;
    *) targets+=("$arg") ;;
  esac
done
host="$(rustc -vV | sed -n 's/^host: //p')"
if [ "${#targets[@]}" -eq 0 ]; then
  targets=("$host" x86_64-pc-windows-gnu aarch64-unknown-linux-gnu)
fi
version="$(sed -n 's/^version = "\(.*\)"/\1/p' ffi/Cargo.toml | head -1)"

# Per target: the CMake toolchain file (none: the host's compilers; other targets take
# TWITCHDROPS_TOOLCHAIN_FILE and extra TWITCHDROPS_CMAKE_ARGS, e.g. the Android NDK's), the
# strip tool (TWITCHDROPS_STRIP for other targets), and the Unity plugin folder (none: not a
# Unity player platform). universal-apple-darwin is x86_64 and aarch64 macOS joined by lipo.
toolchain_of() {
  case "$1" in
    "$host" | universal-apple-darwin | *-apple-*) echo "${TWITCHDROPS_TOOLCHAIN_FILE:-}" ;;
    x86_64-pc-windows-gnu) echo "$here/cmake/toolchains/x86_64-w64-mingw32.cmake" ;;
    aarch64-unknown-linux-gnu) echo "$here/cmake/toolchains/aarch64-linux-gnu.cmake" ;;
    *) echo "${TWITCHDROPS_TOOLCHAIN_FILE:?set TWITCHDROPS_TOOLCHAIN_FILE to a CMake toolchain file for $1}" ;;
  esac
}
strip_of() {
  case "$1" in
    *-apple-*) echo strip ;;
    "$host") echo strip ;;
    x86_64-pc-windows-gnu) echo x86_64-w64-mingw32-strip ;;
    aarch64-unknown-linux-gnu) echo aarch64-linux-gnu-strip ;;
    *) echo "${TWITCHDROPS_STRIP:-strip}" ;;
  esac
}
# Apple's strip has its own flags: -x (local symbols) and -S (debug).
strip_flags_of() {
  case "$1:$2" in
    *-apple-*:shared) echo -x ;;
    *-apple-*:static) echo -S ;;
    *:shared) echo --strip-unneeded ;;
    *:static) echo --strip-debug ;;
  esac
}
plugin_dir_of() {
  case "$1" in
    x86_64-unknown-linux-gnu) echo Linux/x86_64 ;;
    x86_64-pc-windows-gnu | x86_64-pc-windows-msvc) echo Windows/x86_64 ;;
    universal-apple-darwin) echo macOS ;;
    aarch64-linux-android) echo Android/arm64-v8a ;;
    aarch64-apple-ios) echo iOS ;;
  esac
}

for tool in cargo cmake; do
  command -v "$tool" >/dev/null || die "$tool is needed (apt-get install -y cmake)"
done
cargo_targets=()
for target in "${targets[@]}"; do
  case "$target" in
    universal-apple-darwin) cargo_targets+=(x86_64-apple-darwin aarch64-apple-darwin) ;;
    *) cargo_targets+=("$target") ;;
  esac
done
installed="$(rustup target list --installed 2>/dev/null || true)"
for target in "${cargo_targets[@]}"; do
  [ "$target" = "$host" ] || grep -qx "$target" <<<"$installed" ||
    die "the Rust target $target is not installed: rustup target add $target"
done

say "cargo build --release -p twitch-drops-ffi for ${cargo_targets[*]}"
target_flags=()
for target in "${cargo_targets[@]}"; do target_flags+=(--target "$target"); done
cargo build --release --locked -p twitch-drops-ffi "${target_flags[@]}" </dev/null
for target in "${targets[@]}"; do
  if [ "$target" = universal-apple-darwin ]; then
    mkdir -p "$target_dir/$target/release"
    for file in libtwitchdrops.a libtwitchdrops.dylib; do
      lipo -create -output "$target_dir/$target/release/$file" \
        "$target_dir"/{x86_64,aarch64}-apple-darwin/release/"$file"
    done
  fi
done

mkdir -p "$dist"
work="$target_dir/bundle"
rm -rf "$work"
mkdir -p "$work"
for target in "${targets[@]}"; do
  name="twitch-drops-$version-$target"
  out="$work/$name"
  lib_dir="$target_dir/$target/release"
  toolchain="$(toolchain_of "$target")"
  say "$name"
  cmake_args=(-S "$here" -B "$work/cmake-$target" -DTWITCHDROPS_PREBUILT_DIR="$lib_dir")
  [ -z "$toolchain" ] || cmake_args+=(-DCMAKE_TOOLCHAIN_FILE="$toolchain")
  # shellcheck disable=SC2206
  cmake_args+=(${TWITCHDROPS_CMAKE_ARGS:-})
  cmake "${cmake_args[@]}" >"$work/cmake-$target.log" 2>&1 ||
    { cat "$work/cmake-$target.log" >&2; die "cmake could not configure for $target"; }
  cmake --install "$work/cmake-$target" --prefix "$out" >>"$work/cmake-$target.log" 2>&1 ||
    { cat "$work/cmake-$target.log" >&2; die "cmake --install failed for $target"; }

  strip="$(strip_of "$target")"
  for shared in "$out"/lib/*.so "$out"/lib/*.dll "$out"/lib/*.dylib; do
    if [ -e "$shared" ]; then "$strip" "$(strip_flags_of "$target" shared)" "$shared"; fi
  done
  for static in "$out"/lib/*.a; do
    # Debug sections only: the archive's symbols are what the linker needs.
    # (Some archives hold members strip refuses; those stay as cargo built them.)
    [ -e "$static" ] && { "$strip" "$(strip_flags_of "$target" static)" -o "$static.stripped" "$static" 2>/dev/null &&
      mv "$static.stripped" "$static" || rm -f "$static.stripped"; }
  done
  if [ -e "$out/lib/twitchdrops.dll" ]; then
    # For MSVC: lib /def:twitchdrops.def /machine:x64 /out:twitchdrops.lib
    {
      echo "LIBRARY twitchdrops.dll"
      echo "EXPORTS"
      x86_64-w64-mingw32-objdump -p "$out/lib/twitchdrops.dll" |
        sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' | awk '/^\t\[/ {print "    " $3}'
    } >"$out/lib/twitchdrops.def"
  fi
  cp LICENSE-MIT LICENSE-APACHE "$out/"
  sed -e "s/@VERSION@/$version/g" -e "s/@TARGET@/$target/g" "$here/bundle/README.md" >"$out/README.md"

  rm -f "$dist/$name.tar.gz" "$dist/$name.zip"
  case "$target" in
    *windows*) (cd "$work" && zip -qr "$dist/$name.zip" "$name") ;;
    *) tar -C "$work" -czf "$dist/$name.tar.gz" "$name" ;;
  esac
  for shared in "$out"/lib/*.so "$out"/lib/*.dll "$out"/lib/*.dylib; do
    if [ -e "$shared" ]; then say "  $(basename "$shared"): $(wc -c <"$shared") bytes stripped"; fi
  done
done

# The Unity package: bindings/csharp with the native library of each built target in the
# plugin folder Unity's importer expects, and a .meta beside every asset (a package from a
# tarball is read-only: Unity ignores assets without one). Native plugins get importer
# settings naming their platform and CPU; GUIDs are derived from the path, so they stay the
# same from build to build.
if [ "$unity" = 1 ]; then
  package="$work/unity/package"
  mkdir -p "$package"
  cp -r bindings/csharp/package.json bindings/csharp/README.md bindings/csharp/Runtime \
    "bindings/csharp/Samples~" "$package/"
  cp LICENSE-MIT LICENSE-APACHE "$package/"
  for target in "${targets[@]}"; do
    folder="$(plugin_dir_of "$target")"
    [ -n "$folder" ] || { say "  (no Unity plugin folder for $target)"; continue; }
    mkdir -p "$package/Plugins/$folder"
    libs="$work/twitch-drops-$version-$target/lib"
    if [ "$target" = aarch64-apple-ios ]; then
      # iOS links the static library into the player (the P/Invokes use __Internal there).
      cp "$libs/libtwitchdrops.a" "$package/Plugins/$folder/"
    else
      for file in "$libs"/{libtwitchdrops.so,twitchdrops.dll,libtwitchdrops.dylib}; do
        if [ -e "$file" ]; then cp "$file" "$package/Plugins/$folder/"; fi
      done
    fi
  done
  bash "$here/bundle/unity-meta.sh" "$package"
  unity_name="com.twitchdrops.sdk-$version.tgz"
  rm -f "$dist/$unity_name"
  tar -C "$work/unity" -czf "$dist/$unity_name" package
  say "$unity_name: Plugins/ $(cd "$package/Plugins" && find . -type f ! -name '*.meta' | sort | tr '\n' ' ')"
fi

# The npm package (WebAssembly + TypeScript), the same for every platform.
if [ "$npm" = 1 ]; then
  command -v npm >/dev/null || die "npm is needed for the npm package (or pass --no-npm)"
  say "wasm/build.sh, then npm pack"
  bash wasm/build.sh
  (cd "$dist" && npm pack --silent "$root/wasm/pkg" >/dev/null)
fi

say "done: $(cd "$dist" && ls | tr '\n' ' ')"
