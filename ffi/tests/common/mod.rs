//! Building and running the C and C++ test programs: locating the library cargo just built,
//! compiling with warnings as errors (plain, sanitized, or against the shared library),
//! starting the fake Twitch in-process, and running a program with its URLs in the
//! environment (directly or under valgrind).

#![allow(dead_code)] // each test file uses a part

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, OnceLock};

use fake_twitch::{FakeConfig, FakeTwitch, Faults};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("ffi/ has a parent")
        .to_path_buf()
}

/// Where cargo put `libtwitchdrops.{a,so}` for this test run: `target/<profile>/deps`, where
/// every build writes them (cargo copies them up to `target/<profile>` only for some
/// invocations, e.g. not always in a `cargo test --workspace`).
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    // target/<profile>/deps/<test>-<hash>
    let deps = exe
        .parent()
        .expect("the test runs from target/<profile>/deps");
    let found = |dir: &Path| {
        dir.join("libtwitchdrops.a").exists() && dir.join("libtwitchdrops.so").exists()
    };
    let dir = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .find(|dir| found(dir))
        .unwrap_or_else(|| {
            panic!(
                "libtwitchdrops.a/.so not found in {} or its parent; `cargo test -p \
                 twitch-drops-ffi` builds them",
                deps.display()
            )
        });
    dir.to_path_buf()
}

/// Fails with the apt package to install when a tool is missing.
pub fn require(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is needed by the C ABI tests and was not found: install it with \
         `apt-get install -y {package}` (CI: see .ci/run)"
    );
}

/// How a program is built and linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Build {
    /// gcc/g++, the static library.
    Plain,
    /// clang/clang++ with AddressSanitizer and UBSan, the static library.
    Sanitized,
    /// gcc/g++, the shared library (for valgrind).
    Shared,
    /// Windows x64: mingw-w64's gcc/g++ against `twitchdrops.dll` through its import library
    /// (the DLL copied beside the program), from `tests/platforms.sh`'s cross build. Run under
    /// Wine ([`Run::Wine`]).
    Windows,
    /// Linux arm64: `aarch64-linux-gnu-gcc`/`g++` against the static library of the cross
    /// build. Run under qemu-user ([`Run::Qemu`]).
    Arm64,
}

impl Build {
    /// The Rust target a cross build is for; None for the host's builds.
    pub fn cross_target(self) -> Option<&'static str> {
        match self {
            Build::Windows => Some("x86_64-pc-windows-gnu"),
            Build::Arm64 => Some("aarch64-unknown-linux-gnu"),
            Build::Plain | Build::Sanitized | Build::Shared => None,
        }
    }
}

/// Where `cargo build --release --target <target> -p twitch-drops-ffi` put the library (as
/// `tests/platforms.sh` runs it): `<target dir>/<target>/release`.
pub fn cross_lib_dir(target: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its path");
    // <target dir>/<profile>/deps/<test>-<hash>
    let target_dir = exe
        .ancestors()
        .nth(3)
        .expect("the test runs from <target dir>/<profile>/deps");
    let dir = target_dir.join(target).join("release");
    let wanted = match target {
        "x86_64-pc-windows-gnu" => "twitchdrops.dll",
        _ => "libtwitchdrops.a",
    };
    assert!(
        dir.join(wanted).exists(),
        "{} not found: `cargo build --release -p twitch-drops-ffi --target {target}` builds it \
         (tests/platforms.sh does)",
        dir.join(wanted).display()
    );
    dir
}

/// Puts beside the Windows programs in `dir`, once per test run: `twitchdrops.dll` from `lib`,
/// and Wine's missing `bcryptprimitives.dll` built from the test-only shim in
/// `ffi/tests/windows/`.
fn windows_runtime(lib: &Path, dir: &Path) {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        std::fs::copy(lib.join("twitchdrops.dll"), dir.join("twitchdrops.dll"))
            .expect("the DLL is copied beside the programs");
        let mut cmd = Command::new("x86_64-w64-mingw32-gcc");
        cmd.args(["-Wall", "-Wextra", "-Werror", "-shared", "-o"])
            .arg(dir.join("bcryptprimitives.dll"))
            .arg(repo().join("ffi/tests/windows/bcryptprimitives_shim.c"))
            .arg("-ladvapi32");
        let output = cmd.output().expect("the compiler runs");
        assert!(
            output.status.success(),
            "building the bcryptprimitives shim failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// A program: its sources under `ffi/tests/` and its language.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    pub name: &'static str,
    pub sources: &'static [&'static str],
    pub cpp: bool,
}

pub const DRAIN: Program = c("drain", &["c/drain.c"]);
pub const BAD_INPUT: Program = c("bad_input", &["c/bad_input.c"]);
pub const CALLBACK: Program = c("callback", &["c/callback.c"]);
pub const OUTCOMES: Program = c("outcomes", &["c/outcomes.c"]);
pub const STEP: Program = c("step", &["c/step.c"]);
pub const README_DRAIN: Program = c("readme_drain", &["c/readme_drain.c"]);
pub const README_FULFILL: Program = c("readme_fulfill", &["c/readme_fulfill.c"]);
pub const README_ENGINE: Program = c(
    "readme_engine",
    &[
        "c/readme_engine.c",
        "c/readme_engine_host.c",
        "c/readme_engine_main.c",
    ],
);
/// `readme_fulfill_run_main.c` includes `readme_fulfill_run.c`, the README's block.
pub const README_FULFILL_RUN: Program = c(
    "readme_fulfill_run",
    &["c/readme_fulfill_run_main.c", "c/readme_engine_host.c"],
);
pub const WRAPPER: Program = Program {
    name: "wrapper",
    sources: &["cpp/wrapper.cpp"],
    cpp: true,
};
pub const FULFILL: Program = c("fulfill", &["c/fulfill.c"]);
pub const FULFILL_RUN: Program = c("fulfill_run", &["c/fulfill_run.c"]);
pub const EVENTSUB: Program = c("eventsub", &["c/eventsub.c"]);
pub const CLAIMS: Program = c("claims", &["c/claims.c"]);
pub const README_SHARED_JOURNAL: Program = Program {
    name: "readme_shared_journal",
    sources: &["cpp/readme_shared_journal.cpp"],
    cpp: true,
};
pub const WRAPPER_FULFILL: Program = Program {
    name: "wrapper_fulfill",
    sources: &["cpp/fulfill.cpp"],
    cpp: true,
};

const fn c(name: &'static str, sources: &'static [&'static str]) -> Program {
    Program {
        name,
        sources,
        cpp: false,
    }
}

type Slot = Arc<OnceLock<PathBuf>>;

/// Compiles `program` once per build kind for the whole test binary; returns the executable.
pub fn build(program: Program, kind: Build) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<(&'static str, Build), Slot>>> = OnceLock::new();
    let slot = {
        let mut built = BUILT
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        Arc::clone(built.entry((program.name, kind)).or_default())
    };
    slot.get_or_init(|| compile(program, kind)).clone()
}

fn compile(program: Program, kind: Build) -> PathBuf {
    let (compiler, package) = match (kind, program.cpp) {
        (Build::Sanitized, false) => ("clang", "clang"),
        (Build::Sanitized, true) => ("clang++", "clang"),
        (Build::Windows, false) => ("x86_64-w64-mingw32-gcc", "mingw-w64"),
        // The posix thread model: std::thread and std::mutex (the win32 one has neither).
        (Build::Windows, true) => ("x86_64-w64-mingw32-g++-posix", "mingw-w64"),
        (Build::Arm64, false) => ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
        (Build::Arm64, true) => ("aarch64-linux-gnu-g++", "g++-aarch64-linux-gnu"),
        (_, false) => ("gcc", "gcc"),
        (_, true) => ("g++", "g++"),
    };
    require(compiler, package);
    let root = repo();
    let lib = match kind.cross_target() {
        Some(target) => cross_lib_dir(target),
        None => lib_dir(),
    };
    let out_dir = lib.join("ffi-tests");
    std::fs::create_dir_all(&out_dir).expect("can create <lib dir>/ffi-tests");
    let suffix = if kind == Build::Windows { ".exe" } else { "" };
    let exe = out_dir.join(format!("{}-{kind:?}{suffix}", program.name).to_lowercase());

    let mut cmd = Command::new(compiler);
    cmd.arg(if program.cpp {
        "-std=c++17"
    } else {
        "-std=c11"
    })
    .args(["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g", "-O1"])
    .arg("-I")
    .arg(root.join("include"))
    .arg("-I")
    .arg(root.join("ffi/tests/c"))
    .arg("-I")
    .arg(root.join("bindings/cpp"));
    if kind == Build::Sanitized {
        cmd.args([
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=all",
        ]);
    }
    for source in program.sources {
        cmd.arg(root.join("ffi/tests").join(source));
    }
    match kind {
        Build::Plain | Build::Sanitized => {
            cmd.arg(lib.join("libtwitchdrops.a"));
        }
        Build::Shared => {
            cmd.arg("-L")
                .arg(&lib)
                .arg("-ltwitchdrops")
                .arg(format!("-Wl,-rpath,{}", lib.display()));
        }
        Build::Windows => {
            // The DLL through its import library; the C and C++ runtimes linked in, so the
            // program needs nothing beside it but twitchdrops.dll (and, under Wine, the shim).
            windows_runtime(&lib, &out_dir);
            cmd.arg(lib.join("libtwitchdrops.dll.a"))
                .args(["-static", "-lws2_32"]);
        }
        Build::Arm64 => {
            cmd.arg(lib.join("libtwitchdrops.a"));
        }
    }
    if kind == Build::Windows {
        cmd.args(["-lpthread", "-o"]).arg(&exe);
    } else {
        cmd.args(["-lpthread", "-ldl", "-lm", "-o"]).arg(&exe);
    }
    let output = cmd.output().expect("the compiler runs");
    assert!(
        output.status.success(),
        "compiling {} ({kind:?}) failed:\n{:?}\n{}",
        program.name,
        cmd,
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// A fake Twitch with the standard seed (1000 entitlements, game 509658 ours, 999999 not).
pub fn fake(faults: Faults) -> FakeTwitch {
    let config = FakeConfig {
        faults,
        ..FakeConfig::new()
    };
    FakeTwitch::start(config).expect("the fake Twitch starts")
}

/// The environment the programs read: the fake's URLs and credentials.
pub fn fake_env(fake: &FakeTwitch) -> Vec<(String, String)> {
    vec![
        ("TWITCH_CLIENT_ID".into(), fake.client_id()),
        ("TWITCH_CLIENT_SECRET".into(), fake.client_secret()),
        ("TWITCH_HELIX_URL".into(), fake.helix_url()),
        ("TWITCH_AUTH_URL".into(), fake.auth_url()),
        ("TWITCH_GAME_ID".into(), fake_twitch::DEFAULT_GAME.into()),
        ("TD_TEST_BASE_URL".into(), fake.base_url()),
    ]
}

/// How a program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    Direct,
    Valgrind,
    /// A Windows program ([`Build::Windows`]) under Wine (`WINEPREFIX` from the environment).
    Wine,
    /// An arm64 program ([`Build::Arm64`]) under qemu-user, with Debian's arm64 libc.
    Qemu,
}

/// Runs a program to success and returns its standard output; panics with both outputs
/// otherwise.
pub fn run(exe: &Path, args: &[&str], env: &[(String, String)], how: Run) -> String {
    let mut cmd = match how {
        Run::Direct => Command::new(exe),
        Run::Valgrind => {
            require("valgrind", "valgrind");
            let mut cmd = Command::new("valgrind");
            cmd.args([
                "--quiet",
                "--leak-check=full",
                "--show-leak-kinds=definite,indirect,possible",
                "--errors-for-leak-kinds=definite,indirect,possible",
                "--error-exitcode=1",
            ])
            .arg(format!(
                "--suppressions={}/tests/valgrind.supp",
                env!("CARGO_MANIFEST_DIR")
            ))
            .arg(exe);
            cmd
        }
        Run::Wine => {
            require("wine", "wine64");
            let mut cmd = Command::new("wine");
            cmd.arg(exe).env("WINEDEBUG", "-all");
            cmd
        }
        Run::Qemu => {
            require("qemu-aarch64", "qemu-user");
            let mut cmd = Command::new("qemu-aarch64");
            cmd.args(["-L", "/usr/aarch64-linux-gnu"]).arg(exe);
            cmd
        }
    };
    // Programs find the shared library through their rpath; cargo's LD_LIBRARY_PATH (its
    // target dirs) could hand them an older copy.
    cmd.args(args)
        .env_remove("LD_LIBRARY_PATH")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env(
            "ASAN_OPTIONS",
            "detect_leaks=1:halt_on_error=1:abort_on_error=0",
        )
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    let output: Output = cmd.output().expect("the program starts");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} {args:?} ({how:?}) failed with {}:\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        exe.display(),
        output.status
    );
    if how == Run::Valgrind {
        assert!(stderr.trim().is_empty(), "valgrind reported:\n{stderr}");
    }
    stdout
}

/// `key=value` pairs of a program's summary line.
pub fn summary(stdout: &str) -> HashMap<String, u64> {
    stdout
        .split_whitespace()
        .filter_map(|word| {
            let (key, value) = word.split_once('=')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Entitlements of our game still CLAIMED in the fake.
pub fn claimed_left(fake: &FakeTwitch) -> usize {
    fake.entitlements()
        .iter()
        .filter(|e| e.game_id == fake_twitch::DEFAULT_GAME && e.fulfillment_status == "CLAIMED")
        .count()
}

/// A path for a journal file in the system's temporary directory, unique to this process and
/// `name`, removed first.
pub fn temp_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("td-ffi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Any faults switched off.
pub fn no_faults() -> Faults {
    Faults::default()
}
