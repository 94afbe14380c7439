#!/usr/bin/env bash
# Windows x64 and Linux arm64, built and tested from this Linux x64 machine (tests/run-all.sh
# runs it):
#   1. ffi/bundle.sh --no-npm: the library for the host, x86_64-pc-windows-gnu (mingw-w64) and
#      aarch64-unknown-linux-gnu (cross gcc), and their SDK bundles and the Unity package.
#   2. The C and C++ test programs of ffi/tests (README examples, blocking drains under 401,
#      429 and 5xx, the step API's engine pattern, td_fulfill_run, journals, claims, EventSub,
#      the C++ wrapper) built for Windows against twitchdrops.dll and run under Wine, and built
#      for arm64 and run under qemu-user, against the fake Twitch on 127.0.0.1, with the same
#      checks as on Linux (the fake's own counts: all FULFILLED, 0 duplicate fulfill attempts):
#      the #[ignore]d platform tests of ffi/tests/programs.rs.
#   3. Each bundle unpacked into an empty folder and used with nothing else: a C++ program
#      built with CMake (find_package, static and shared) and the README's C drain with
#      pkg-config (shared and static), cross-built where needed (mingw and aarch64 toolchain
#      files), each run against the fake (native on this host, cargo run -p fake-twitch).
#      On Windows also: a journal path given as UTF-8 names the file by those characters.
#   4. The DLL exports exactly the td_ functions of the Linux library (and its .def lists them).
#   5. The C# bindings' library name is the one in the Windows bundle and the Unity package.
# Ends with "platforms: N passed, M failed" and exits non-zero on any failure. A missing tool
# fails at once with the package that provides it.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

say() { printf 'platforms: %s\n' "$*" >&2; }

# The tools, and where they come from.
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (apt-get install -y $2)"); }
need x86_64-w64-mingw32-gcc mingw-w64
need x86_64-w64-mingw32-g++-posix mingw-w64
need wine wine64
need aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu
need aarch64-linux-gnu-g++ g++-aarch64-linux-gnu
need qemu-aarch64 qemu-user
need cmake cmake
need nm binutils
need pkg-config pkgconf
need curl curl
need jq jq
need zip zip
need unzip unzip
installed="$(rustup target list --installed 2>/dev/null || true)"
for target in x86_64-pc-windows-gnu aarch64-unknown-linux-gnu; do
  grep -qx "$target" <<<"$installed" || missing+=("the Rust target $target (rustup target add $target)")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "missing:"
  printf '  %s\n' "${missing[@]}" >&2
  echo "platforms: 0 passed, 1 failed (tools missing)"
  exit 1
fi

passed=0 failed=0 failures=()
log_dir="$target_dir/platforms"
rm -rf "$log_dir"
mkdir -p "$log_dir"
# check NAME COMMAND...: runs it with its output in a log; counts it.
check() {
  local name="$1" log
  shift
  log="$log_dir/$(tr -c 'A-Za-z0-9_.-' '_' <<<"$name").log"
  # In a background subshell, so that set -e holds inside (an `if` condition would turn it off).
  (
    set -e
    trap stop_fake EXIT
    "$@"
  ) >"$log" 2>&1 &
  if wait $!; then
    passed=$((passed + 1))
    printf 'ok    %s\n' "$name" >&2
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf 'FAIL  %s (log: %s)\n' "$name" "$log" >&2
    tail -n 30 "$log" | sed 's/^/      /' >&2
  fi
}

# 1. The libraries and bundles.
say "ffi/bundle.sh --no-npm"
bash ffi/bundle.sh --no-npm
version="$(sed -n 's/^version = "\(.*\)"/\1/p' ffi/Cargo.toml | head -1)"

# Wine's configuration folder, made once (the first run takes a few seconds).
export WINEPREFIX="${WINEPREFIX:-$target_dir/wine}"
export WINEDEBUG=-all
[ -d "$WINEPREFIX" ] || wineboot -i >/dev/null 2>&1 || true

# 2. The test programs under Wine and qemu: one line per test from the Rust harness.
say "cargo test --test programs -- --ignored (Windows x64 under Wine, Linux arm64 under qemu)"
test_log="$log_dir/programs.log"
set +e
cargo test --workspace --all-features --locked --test programs -- --ignored \
  --test-threads 2 >"$test_log" 2>&1
test_status=$?
set -e
while read -r _ name _ result; do
  case "$result" in
    ok) passed=$((passed + 1)); printf 'ok    %s\n' "$name" >&2 ;;
    FAILED) failed=$((failed + 1)); failures+=("$name"); printf 'FAIL  %s\n' "$name" >&2 ;;
  esac
done < <(grep -E '^test (windows_x64_wine|linux_arm64_qemu)::' "$test_log")
if [ "$test_status" -ne 0 ]; then
  sed -n '/^failures:/,/^test result/p' "$test_log" | head -n 80 >&2
  grep -q '^test result' "$test_log" || {
    failed=$((failed + 1)); failures+=("the programs test did not run (see $test_log)")
    tail -n 30 "$test_log" >&2
  }
fi

# 3. Each bundle on its own.
cargo build --quiet --locked -p fake-twitch
fake_bin="$target_dir/debug/fake-twitch"
fake_pid=""
# Starts a fresh fake Twitch and exports its URLs and credentials as the programs read them.
start_fake() {
  stop_fake
  local out
  out="$(mktemp "$log_dir/fake-XXXXXX.json")"
  "$fake_bin" --port 0 >"$out" 2>"$out.err" &
  fake_pid=$!
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
  [ -s "$out" ] || { echo "the fake Twitch did not start: $(cat "$out.err")"; return 1; }
  local line
  line="$(head -n 1 "$out")"
  export TWITCH_CLIENT_ID="$(jq -r .client_id <<<"$line")"
  export TWITCH_CLIENT_SECRET="$(jq -r .client_secret <<<"$line")"
  export TWITCH_HELIX_URL="$(jq -r .helix_url <<<"$line")"
  export TWITCH_AUTH_URL="$(jq -r .auth_url <<<"$line")"
  export TD_TEST_BASE_URL="$(jq -r .base_url <<<"$line")"
  export TWITCH_GAME_ID=509658
}
stop_fake() {
  if [ -n "$fake_pid" ]; then
    kill "$fake_pid" 2>/dev/null || true
    wait "$fake_pid" 2>/dev/null || true
    fake_pid=""
  fi
}
trap stop_fake EXIT

# The fake's own counts after a drain: none of our game's entitlements left CLAIMED, 720
# FULFILLED by this run, no entitlement fulfilled twice.
fake_drained() {
  local stats left
  stats="$(curl -fsS "$TD_TEST_BASE_URL/_fake/stats")"
  left="$(curl -fsS "$TD_TEST_BASE_URL/_fake/entitlements" |
    jq '[.[] | select(.game_id == "509658" and .fulfillment_status == "CLAIMED")] | length')"
  echo "fake: $stats; our game's CLAIMED left: $left"
  [ "$left" = 0 ] && [ "$(jq .duplicate_fulfill_attempts <<<"$stats")" = 0 ]
}

# run_on TARGET EXE [ARGS]: runs a program of that platform on this machine.
run_on() {
  local target="$1"
  shift
  case "$target" in
    *windows*) wine "$@" ;;
    aarch64-unknown-linux-gnu) qemu-aarch64 -L /usr/aarch64-linux-gnu "$@" ;;
    *) "$@" ;;
  esac
}

# consume_cmake TARGET DIR: find_package(TwitchDrops) from the unpacked bundle only; the
# C++ wrapper test linked statically and dynamically, each draining a fresh fake.
consume_cmake() {
  local target="$1" bundle="$2" build="$2-cmake" args=()
  case "$target" in
    *windows*) args=(-DCMAKE_TOOLCHAIN_FILE="$root/ffi/cmake/toolchains/x86_64-w64-mingw32.cmake") ;;
    aarch64-unknown-linux-gnu) args=(-DCMAKE_TOOLCHAIN_FILE="$root/ffi/cmake/toolchains/aarch64-linux-gnu.cmake") ;;
  esac
  cmake -S "$root/ffi/tests/cmake" -B "$build" -DCMAKE_PREFIX_PATH="$bundle" "${args[@]}"
  cmake --build "$build"
  local exe=wrapper shared=wrapper_shared
  case "$target" in
    *windows*)
      exe=wrapper.exe shared=wrapper_shared.exe
      # The DLL beside the program, as a game ships it (and Wine's missing DLL, for tests).
      cp "$bundle/lib/twitchdrops.dll" "$build/"
      x86_64-w64-mingw32-gcc -shared -o "$build/bcryptprimitives.dll" \
        "$root/ffi/tests/windows/bcryptprimitives_shim.c" -ladvapi32
      ;;
  esac
  for program in "$exe" "$shared"; do
    start_fake
    (cd "$build" && run_on "$target" "./$program") | tee "$build/$program.out"
    grep -q "wrapper: ok" "$build/$program.out"
    fake_drained
  done
}

# consume_pkg_config TARGET DIR: the README's C drain compiled with the flags of the bundle's
# twitchdrops.pc, linked dynamically and statically (--static), each draining a fresh fake.
consume_pkg_config() {
  local target="$1" bundle="$2" out="$2-pc" cc=gcc
  mkdir -p "$out"
  case "$target" in
    *windows*) cc=x86_64-w64-mingw32-gcc ;;
    aarch64-unknown-linux-gnu) cc=aarch64-linux-gnu-gcc ;;
  esac
  export PKG_CONFIG_PATH="$bundle/lib/pkgconfig" PKG_CONFIG_LIBDIR="$bundle/lib/pkgconfig"
  local shared_flags static_flags
  shared_flags="$(pkg-config --cflags --libs twitchdrops)"
  static_flags="$(pkg-config --cflags --libs --static twitchdrops)"
  local cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror)
  local src="$root/ffi/tests/c/readme_drain.c"
  case "$target" in
    *windows*)
      # mingw's ld takes the import library for -ltwitchdrops; -l: names the archive.
      # shellcheck disable=SC2086
      "$cc" "${cflags[@]}" "$src" $shared_flags -o "$out/drain_shared.exe"
      # shellcheck disable=SC2086
      "$cc" "${cflags[@]}" "$src" -static ${static_flags/-ltwitchdrops/-l:libtwitchdrops.a} \
        -o "$out/drain_static.exe"
      cp "$bundle/lib/twitchdrops.dll" "$out/"
      x86_64-w64-mingw32-gcc -shared -o "$out/bcryptprimitives.dll" \
        "$root/ffi/tests/windows/bcryptprimitives_shim.c" -ladvapi32
      ;;
    *)
      # shellcheck disable=SC2086
      "$cc" "${cflags[@]}" "$src" $shared_flags -Wl,-rpath,"$bundle/lib" -o "$out/drain_shared"
      # -l: names the archive, so the system libraries after it stay shared.
      # shellcheck disable=SC2086
      "$cc" "${cflags[@]}" "$src" ${static_flags/-ltwitchdrops/-l:libtwitchdrops.a} -o "$out/drain_static"
      ;;
  esac
  for program in "$out"/drain_shared* "$out"/drain_static*; do
    case "$program" in *.dll) continue ;; esac
    start_fake
    (cd "$out" && run_on "$target" "$program") | tee "$program.out"
    grep -q "^granted 720 entitlements" "$program.out"
    fake_drained
  done
}

host="$(rustc -vV | sed -n 's/^host: //p')"
for target in "$host" x86_64-pc-windows-gnu aarch64-unknown-linux-gnu; do
  name="twitch-drops-$version-$target"
  empty="$(mktemp -d "$log_dir/unpacked-XXXXXX")"
  case "$target" in
    *windows*) unzip -q "dist/$name.zip" -d "$empty" ;;
    *) tar -C "$empty" -xzf "dist/$name.tar.gz" ;;
  esac
  check "$target bundle: CMake find_package, static and shared" consume_cmake "$target" "$empty/$name"
  check "$target bundle: pkg-config, shared and static" consume_pkg_config "$target" "$empty/$name"
done
stop_fake

# Windows: a journal path given as UTF-8 names the file by those characters (the program
# checks it through the wide-character API; here, the name as Linux sees it under Wine).
utf8_journal() {
  local bundle="$target_dir/bundle/twitch-drops-$version-x86_64-pc-windows-gnu" dir
  dir="$(mktemp -d "$log_dir/utf8-XXXXXX")"
  x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$bundle/include" \
    -I"$root/ffi/tests/c" "$root/ffi/tests/windows/utf8_journal.c" "$bundle/lib/libtwitchdrops.dll.a" \
    -o "$dir/utf8_journal.exe"
  cp "$bundle/lib/twitchdrops.dll" "$dir/"
  x86_64-w64-mingw32-gcc -shared -o "$dir/bcryptprimitives.dll" \
    "$root/ffi/tests/windows/bcryptprimitives_shim.c" -ladvapi32
  start_fake
  (cd "$dir" && wine ./utf8_journal.exe) | tee "$dir/out"
  grep -q "^utf8 journal: given=720 again=0" "$dir/out"
  [ -e "$dir/journal-é✓.jsonl" ] # (empty: the second run compacted it)
  fake_drained
}
check "Windows: a UTF-8 journal path (journal-é✓.jsonl)" utf8_journal

# 4. The Windows DLL exports the same td_ functions as the Linux library, nothing else, and
# its .def lists them (the Linux library's own check is ffi/tests/packaging.rs).
dll_exports() {
  local bundle="$target_dir/bundle/twitch-drops-$version-x86_64-pc-windows-gnu/lib"
  local linux="$target_dir/bundle/twitch-drops-$version-$host/lib/libtwitchdrops.so"
  local dll so def
  dll="$(x86_64-w64-mingw32-objdump -p "$bundle/twitchdrops.dll" |
    sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/p' | awk '/^\t\[/ {print $3}' | sort)"
  so="$(nm -D --defined-only "$linux" | awk '{print $3}' | sort)"
  def="$(awk '/^    / {print $1}' "$bundle/twitchdrops.def" | sort)"
  echo "$(wc -l <<<"$dll") exports"
  ! grep -v '^td_' <<<"$dll"
  [ "$dll" = "$so" ] && [ "$dll" = "$def" ]
}
check "twitchdrops.dll exports exactly the td_ functions of libtwitchdrops.so" dll_exports

# 5. The C# bindings load the library by the name the bundles and the Unity package carry.
csharp_names() {
  local name
  name="$(sed -n 's/.*const string __DllName = "\([a-z]*\)";/\1/p' bindings/csharp/Runtime/Native/NativeMethods.g.cs |
    grep -v Internal)"
  echo "DllImport name: $name"
  [ "$name" = twitchdrops ]
  local zip unity
  zip="$(unzip -Z1 "dist/twitch-drops-$version-x86_64-pc-windows-gnu.zip")"
  unity="$(tar -tzf "dist/com.twitchdrops.sdk-$version.tgz")"
  grep -x ".*/lib/$name.dll" <<<"$zip"
  grep -x "package/Plugins/Windows/x86_64/$name.dll" <<<"$unity"
  grep -x "package/Plugins/Linux/x86_64/lib$name.so" <<<"$unity"
}
check "C# DllImport name matches the Windows DLL and the Unity plugins" csharp_names

if [ "$failed" -gt 0 ]; then
  say "failed:"
  printf '  %s\n' "${failures[@]}" >&2
fi
echo "platforms: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
