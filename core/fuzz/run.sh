#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and fails on any crash (a panic, a failed
# assertion, a hang past -timeout, an ASan report).
#
#   core/fuzz/run.sh [seconds per target]        (default 30)
#
# Needs a nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz --version 0.13.1 --locked
# Builds with debug assertions (-a), so integer overflow is a crash too, and with
# AddressSanitizer (cargo-fuzz's default). Inputs may be 4 KiB from the start
# (-len_control=0): the state-machine targets read one choice per step. New inputs the
# fuzzer finds go to target/corpus/<target> (not committed); the committed seeds in
# corpus/<target> are only read. A crashing input is saved under artifacts/<target>/:
# reproduce it with `cargo +nightly fuzz run -a <target> <file>`.
set -euo pipefail

seconds="${1:-30}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
cd "$(dirname "$0")"

# The core targets build alone; `ffi_strings` also needs the C ABI crate (feature `ffi`).
cargo "+$toolchain" fuzz build -a
targets=$(cargo "+$toolchain" fuzz list)

failed=()
summary=()
for target in $targets; do
    scratch="target/corpus/$target"
    log="target/fuzz-$target.log"
    mkdir -p "$scratch" "corpus/$target"
    echo "fuzz: $target for ${seconds}s"
    status=0
    features=()
    if [ "$target" = ffi_strings ]; then
        features=(--features ffi)
    fi
    cargo "+$toolchain" fuzz run -a ${features[@]+"${features[@]}"} "$target" "$scratch" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -max_len=4096 -len_control=0 \
        >"$log" 2>&1 || status=$?
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)
    runs="${runs:-0}"
    rate=$((runs / (seconds > 0 ? seconds : 1)))
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        summary+=("$(printf '%-18s CRASH after %s runs (log: core/fuzz/%s)' "$target" "$runs" "$log")")
        tail -n 60 "$log"
    else
        summary+=("$(printf '%-18s %10s runs %8s exec/s' "$target" "$runs" "$rate")")
    fi
done

# file_journal's scratch directories (one per fuzzing process).
rm -rf /dev/shm/twitch-drops-fuzz-journal-* "${TMPDIR:-/tmp}"/twitch-drops-fuzz-journal-*

total=$(echo "$targets" | wc -w)
echo
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz: crashes in ${failed[*]}" >&2
fi
# One line per the plain "N passed, N failed" convention (a target passes: no crash).
echo "fuzz: $((total - ${#failed[@]})) passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ]
