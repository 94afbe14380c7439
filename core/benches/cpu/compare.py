#!/usr/bin/env python3
"""CPU of a drain: the library (the cpu_drain bench target: Client::fulfill with the memory
journal) and `drops fulfill --grant-log` against the minimal Python client (baseline.py), side
by side in one run. Each drains a fresh fake Twitch (its own process, not counted) of N CLAIMED
entitlements over loopback; the CPU counted is the client process's user+sys time, and its
peak RSS. Prints the medians of ROUNDS runs each, and their ratio.

usage: core/benches/cpu/compare.py [N=20000] [ROUNDS=5]   (from the repository root; builds
the release binaries first)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
GAME = "509658"


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "fake-twitch",
                    "-p", "twitch-drops-cli"],
                   cwd=ROOT, check=True)
    # The library alone: the cpu_drain bench target (its executable's path from cargo).
    out = subprocess.run(["cargo", "bench", "--quiet", "-p", "twitch-drops", "--bench",
                          "cpu_drain", "--no-run", "--message-format=json"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    library = [json.loads(line)["executable"] for line in out.splitlines()
               if '"cpu_drain"' in line and json.loads(line).get("executable")][-1]
    return os.path.join(ROOT, "target", "release"), library


def child_cpu(argv, env=None):
    """Runs argv to its end; its user+sys seconds and peak RSS (KiB)."""
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {child.returncode}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def drain(binaries, n, client):
    """One drain of a fresh fake by `client`: "python", "library" (grants one at a time, the
    default), "library100" (a hundred at a time) or "drops"."""
    binaries, library = binaries
    fake = subprocess.Popen(
        [os.path.join(binaries, "fake-twitch"), "--port", "0", "--entitlements", str(n),
         "--fulfilled", "0", "--foreign-games", "", "--rate-limit", "0",
         "--exit-on-stdin-close"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(fake.stdout.readline())
        env = dict(os.environ, TWITCH_CLIENT_ID=info["client_id"],
                   TWITCH_CLIENT_SECRET=info["client_secret"],
                   TWITCH_HELIX_URL=info["helix_url"], TWITCH_AUTH_URL=info["auth_url"],
                   TWITCH_GAME_ID=GAME)
        if client == "python":
            argv = [sys.executable, os.path.join(HERE, "baseline.py"), info["helix_url"],
                    info["auth_url"], info["client_id"], info["client_secret"], GAME]
        elif client in ("library", "library100"):
            argv = [library]
            if client == "library100":
                env["TD_GRANTS_IN_FLIGHT"] = "100"
        else:
            scratch = tempfile.mkdtemp()
            # Its default journal (SQLite) goes to this run's folder.
            env["XDG_STATE_HOME"] = scratch
            argv = [os.path.join(binaries, "drops"), "fulfill", "--game", GAME,
                    "--grant-log", os.path.join(scratch, "grants.txt")]
        return child_cpu(argv, env)
    finally:
        fake.stdin.close()
        fake.wait()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    binaries = build()
    cpu = {"library": [], "library100": [], "drops": [], "python": []}
    for _ in range(rounds):
        for client in cpu:  # interleaved, so both see the same machine
            seconds, _ = drain(binaries, n, client)
            cpu[client].append(seconds)
    median = {client: statistics.median(runs) for client, runs in cpu.items()}
    python = median["python"]
    print(f"{n} entitlements, user+sys, median of {rounds}: Python http.client {python:.3f} s")
    print(f"  the library (Client::fulfill, memory journal, one grant at a time): "
          f"{median['library']:.3f} s, ratio {median['library'] / python:.2f}")
    print(f"  the library, a hundred grants at a time (grants_in_flight 100): "
          f"{median['library100']:.3f} s, ratio {median['library100'] / python:.2f}")
    print(f"  drops fulfill --grant-log (its default SQLite journal, the log fsync'd before "
          f"marking): {median['drops']:.3f} s, "
          f"ratio {median['drops'] / python:.2f}")
    # Memory as N grows: drops's peak RSS at N and at 10 N.
    rss = [drain(binaries, size, "drops")[1] / 1024 for size in (n, 10 * n)]
    print(f"drops fulfill peak RSS: {rss[0]:.1f} MiB at {n}, {rss[1]:.1f} MiB at {10 * n}, "
          f"ratio {rss[1] / rss[0]:.2f}")


if __name__ == "__main__":
    main()
