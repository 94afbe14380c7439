#!/usr/bin/env bash
# Every test of the project, from a fresh clone: the README's test command.
#
#   tests/run-all.sh              check the prerequisites, install what is missing when run
#                                 as root (else list it, with the command that installs it),
#                                 then run every suite
#   tests/run-all.sh --install    the same, installing as any user (apt-get through sudo)
#   tests/run-all.sh --check      only check: list what is missing, exit 1 if anything is
#                                 (with --install: install what is missing, run nothing)
#
# Prerequisites (on Debian, with rustup and Node; each is installed only when missing):
#   Debian packages  clang libclang-rt-14-dev valgrind cmake pkgconf mono-mcs mono-runtime
#                    chromium chromium-driver postgresql curl (nodejs npm when Node is absent)
#   rustup target    wasm32-unknown-unknown
#   tools            wasm-bindgen-cli at wasm/Cargo.toml's exact version (cargo install),
#                    wasm/'s npm tools (npm ci, from wasm/package-lock.json)
#   and, once tests/platforms.sh exists (Windows and arm64 cross tests):
#   Debian packages  mingw-w64 wine64 gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user
#                    binutils jq zip unzip
#   rustup targets   x86_64-pc-windows-gnu aarch64-unknown-linux-gnu
#
# Suites (a failing one does not stop the others; the summary lists each):
#   1. Rust and C: cargo test --no-fail-fast: the core (unit, loopback-server, CLI, crash,
#      README tests), the fake Twitch, multi-instance tests on a real PostgreSQL server, and
#      the C ABI (C and C++ programs plain, with ASan+UBSan and under valgrind; the C#
#      bindings compiled with Mono's mcs and run on mono)
#   2. WASM: wasm/test.sh (wasm-bindgen tests in Node and headless Chromium, the built npm
#      package in Node and in a Chromium page)
#   3. Windows and arm64: tests/platforms.sh, when it exists
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'run-all: %s\n' "$*" >&2; }
step() { printf '\n== %s\n' "$*" >&2; }

install=auto # yes when asked, or when root
check_only=no
for arg in "$@"; do
  case "$arg" in
    --install) install=yes ;;
    --check) check_only=yes ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      say "unknown option $arg (try --help)"
      exit 2
      ;;
  esac
done
if [ "$install" = auto ]; then
  if [ "$check_only" = no ] && [ "$(id -u)" -eq 0 ]; then install=yes; else install=no; fi
fi

# cargo's target probe runs `rustc -` with stdin from /dev/null; if /dev/null is a regular file
# (seen on some machines), rustc compiles whatever was written there and every build fails.
if [ ! -c /dev/null ]; then
  say "/dev/null is not the null device (a regular file?); cargo cannot build."
  say "as root: mknod -m 666 /dev/null.new c 1 3 && mv -f /dev/null.new /dev/null"
  exit 1
fi

# ---- What the suites need ---------------------------------------------------------------

# C ABI tests: clang and its sanitizer runtimes, valgrind, cmake, pkg-config. C# bindings:
# Mono's compiler and runtime. WASM browser tests: Debian's chromium and its driver.
# Multi-instance tests: a PostgreSQL server (the tests start their own on a loopback port).
# The README's `drops serve` example: curl.
packages=(clang libclang-rt-14-dev valgrind cmake pkgconf mono-mcs mono-runtime chromium
  chromium-driver postgresql curl)
targets=(wasm32-unknown-unknown)
if [ -f tests/platforms.sh ]; then
  packages+=(mingw-w64 wine64 gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user binutils
    jq zip unzip)
  targets+=(x86_64-pc-windows-gnu aarch64-unknown-linux-gnu)
fi
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
wasm_bindgen="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' wasm/Cargo.toml)"

installed_package() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing_packages=()
missing_targets=()
missing_tools=()
problems=()
check() {
  missing_packages=()
  missing_targets=()
  missing_tools=()
  problems=()
  command -v cargo >/dev/null 2>&1 || problems+=("cargo (install Rust with rustup: https://rustup.rs)")
  if command -v dpkg-query >/dev/null 2>&1; then
    for package in "${packages[@]}"; do
      installed_package "$package" || missing_packages+=("$package")
    done
  else
    problems+=("not a Debian machine: install the equivalents of: ${packages[*]}")
  fi
  if command -v rustup >/dev/null 2>&1; then
    local have
    have="$(rustup target list --installed 2>/dev/null || true)"
    for target in "${targets[@]}"; do
      grep -qx "$target" <<<"$have" || missing_targets+=("$target")
    done
  else
    problems+=("rustup (to add the Rust targets ${targets[*]})")
  fi
  if command -v node >/dev/null 2>&1; then
    local major
    major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    [ "$major" -ge 18 ] || problems+=("Node >= 18 (found $(node --version))")
  fi
  [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" = "$wasm_bindgen" ] ||
    missing_tools+=("wasm-bindgen-cli $wasm_bindgen")
  [ -x wasm/node_modules/.bin/tsc ] && [ -x wasm/node_modules/.bin/wasm-opt ] ||
    missing_tools+=("wasm/'s npm tools")
}

# One message with everything missing and the command that installs it.
report_missing() {
  say "missing prerequisites:"
  [ "${#missing_packages[@]}" -eq 0 ] || say "  Debian packages: ${missing_packages[*]}"
  [ "${#missing_targets[@]}" -eq 0 ] || say "  rustup targets:  ${missing_targets[*]}"
  [ "${#missing_tools[@]}" -eq 0 ] || say "  tools:           ${missing_tools[*]}"
  local problem
  for problem in "${problems[@]}"; do say "  $problem"; done
}

nothing_missing() {
  [ "$((${#missing_packages[@]} + ${#missing_targets[@]} + ${#missing_tools[@]} + ${#problems[@]}))" -eq 0 ]
}

# Runs a quiet install step; its output is shown only if it fails.
quietly() {
  local what="$1" log
  shift
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    say "$what failed (its messages above)"
    exit 1
  fi
  rm -f "$log"
}

install_missing() {
  if [ "${#missing_packages[@]}" -gt 0 ]; then
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    say "apt-get install ${missing_packages[*]} (a minute or two)"
    quietly "apt-get update" "${sudo[@]}" apt-get update -qq
    quietly "apt-get install" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq "${missing_packages[@]}"
  fi
  if [ "${#missing_targets[@]}" -gt 0 ]; then
    say "rustup target add ${missing_targets[*]}"
    quietly "rustup target add" rustup target add "${missing_targets[@]}"
  fi
  if [ "${#missing_tools[@]}" -gt 0 ]; then
    say "installing ${missing_tools[*]}"
    bash wasm/build.sh --tools
  fi
}

check
if ! nothing_missing; then
  report_missing
  if [ "${#problems[@]}" -gt 0 ]; then
    say "install those by hand, then run tests/run-all.sh again"
    exit 1
  fi
  if [ "$install" = no ]; then
    say "install them all with: tests/run-all.sh --install   (apt-get through sudo)"
    exit 1
  fi
  install_missing
  check
  if ! nothing_missing; then
    report_missing
    say "still missing after installing; see the messages above"
    exit 1
  fi
  say "prerequisites installed"
elif [ "$check_only" = yes ]; then
  say "every prerequisite is present"
fi
[ "$check_only" = yes ] && exit 0

# ---- The suites -------------------------------------------------------------------------

# A failing test's own message says what broke; a backtrace of the harness adds nothing
# there (run that one test with RUST_BACKTRACE=1 to see it).
export RUST_BACKTRACE=0

results=()
failed=0
suite() {
  local name="$1" start status=0
  shift
  step "$name"
  start="$(date +%s)"
  "$@" || status=$?
  local took=$(($(date +%s) - start))
  if [ "$status" -eq 0 ]; then
    results+=("passed  $(printf '%4d' "$took") s  $name")
  else
    results+=("FAILED  $(printf '%4d' "$took") s  $name (exit $status)")
    failed=1
  fi
}

suite "Rust and C: cargo test --workspace" \
  cargo test --workspace --all-features --locked --no-fail-fast
suite "WASM: wasm/test.sh" bash wasm/test.sh
if [ -f tests/platforms.sh ]; then
  suite "Windows and arm64: tests/platforms.sh" bash tests/platforms.sh
fi

step "Summary"
printf '%s\n' "${results[@]}" >&2
exit "$failed"
