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
        (_, false) => ("gcc", "gcc"),
        (_, true) => ("g++", "g++"),
    };
    require(compiler, package);
    let root = repo();
    let lib = lib_dir();
    let out_dir = lib.join("ffi-tests");
    std::fs::create_dir_all(&out_dir).expect("can create target/<profile>/ffi-tests");
    let exe = out_dir.join(format!("{}-{kind:?}", program.name).to_lowercase());

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
    }
    cmd.args(["-lpthread", "-ldl", "-lm", "-o"]).arg(&exe);
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
