//! What a studio links against: the shared library exports nothing but `td_` symbols, the
//! README's C code is the tested code, and the CMake package (find_package and
//! add_subdirectory) and the pkg-config file build and link programs that drain the fake.
//!
//! Needs nm (binutils), cmake and pkg-config (`apt-get install -y cmake pkgconf`).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn command(cmd: &mut Command) -> String {
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} could not start: {e}"));
    assert!(
        output.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn shared_library_exports_only_td_symbols() {
    require("nm", "binutils");
    let so = lib_dir().join("libtwitchdrops.so");
    let listing = command(Command::new("nm").args(["-D", "--defined-only"]).arg(&so));
    let symbols: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .collect();
    let foreign: Vec<&&str> = symbols.iter().filter(|s| !s.starts_with("td_")).collect();
    assert!(
        foreign.is_empty(),
        "exported symbols without td_: {foreign:?}"
    );
    assert!(symbols.len() > 100, "{} td_ symbols", symbols.len());

    // Every exported function is declared in the header, and the other way round.
    let header = std::fs::read_to_string(repo().join("include/twitch_drops.h")).expect("header");
    for symbol in &symbols {
        assert!(
            header.contains(&format!(" {symbol}(")) || header.contains(&format!("*{symbol}(")),
            "{symbol} is exported but not in include/twitch_drops.h"
        );
    }
}

#[test]
fn readme_code_is_the_tested_code() {
    let marked = |readme: &str| -> usize {
        let text = std::fs::read_to_string(repo().join(readme)).expect("the README");
        let mut checked = 0;
        for (i, _) in text.match_indices("<!-- example: ") {
            let rest = &text[i + "<!-- example: ".len()..];
            let path = &rest[..rest.find(" -->").expect("marker closes")];
            let block_start = match (rest.find("```c\n"), rest.find("```cpp\n")) {
                (Some(c), Some(cpp)) if cpp < c => cpp + 7,
                (Some(c), _) => c + 5,
                (None, Some(cpp)) => cpp + 7,
                (None, None) => panic!("a ```c or ```cpp block follows the marker"),
            };
            let block = &rest[block_start..];
            let block = &block[..block.find("```\n").expect("the block closes")];
            let file = std::fs::read_to_string(repo().join(path)).expect("the example's file");
            assert_eq!(
                block, file,
                "{readme}'s block for {path} differs from the file"
            );
            checked += 1;
        }
        checked
    };
    assert_eq!(
        marked("ffi/README.md"),
        4,
        "the four examples are marked in ffi/README.md"
    );
    assert_eq!(
        marked("README.md"),
        2,
        "the root README quotes the C drain and the C++ shared journal"
    );
}

fn cmake_configure(source: &Path, build: &Path, defines: &[String]) {
    let mut cmd = Command::new("cmake");
    cmd.arg("-S").arg(source).arg("-B").arg(build);
    for define in defines {
        cmd.arg(format!("-D{define}"));
    }
    command(&mut cmd);
}

fn run_wrapper(exe: &Path) {
    let fake = fake(no_faults());
    let out = run(exe, &[], &fake_env(&fake), Run::Direct);
    assert!(out.contains("wrapper: ok"), "{out}");
    assert_eq!(claimed_left(&fake), 0);
}

#[test]
fn cmake_package_and_pkg_config_link_programs() {
    require("cmake", "cmake");
    require("pkg-config", "pkgconf");
    let lib = lib_dir();
    let work = lib.join("ffi-tests/packaging");
    let _ = std::fs::remove_dir_all(&work);
    let ffi = repo().join("ffi");
    let consumer = repo().join("ffi/tests/cmake");
    let prebuilt = format!("TWITCHDROPS_PREBUILT_DIR={}", lib.display());

    // Install the package into a prefix (the library cargo built for this test run).
    let prefix = work.join("prefix");
    cmake_configure(&ffi, &work.join("package"), std::slice::from_ref(&prebuilt));
    command(
        Command::new("cmake")
            .arg("--build")
            .arg(work.join("package")),
    );
    command(
        Command::new("cmake")
            .arg("--install")
            .arg(work.join("package"))
            .arg("--prefix")
            .arg(&prefix),
    );
    for file in [
        "include/twitch_drops.h",
        "include/twitch_drops.hpp",
        "lib/libtwitchdrops.a",
        "lib/libtwitchdrops.so",
        "lib/cmake/TwitchDrops/TwitchDropsConfig.cmake",
        "lib/cmake/TwitchDrops/TwitchDropsConfigVersion.cmake",
        "lib/pkgconfig/twitchdrops.pc",
    ] {
        assert!(prefix.join(file).exists(), "{file} is installed");
    }

    // find_package from the prefix: static and shared.
    let found = work.join("found");
    cmake_configure(
        &consumer,
        &found,
        &[format!("CMAKE_PREFIX_PATH={}", prefix.display())],
    );
    command(Command::new("cmake").arg("--build").arg(&found));
    run_wrapper(&found.join("wrapper"));
    run_wrapper(&found.join("wrapper_shared"));

    // add_subdirectory of ffi/.
    let sub = work.join("subdirectory");
    cmake_configure(
        &consumer,
        &sub,
        &[
            format!("TWITCHDROPS_SUBDIRECTORY={}", ffi.display()),
            prebuilt.clone(),
        ],
    );
    command(
        Command::new("cmake")
            .arg("--build")
            .arg(&sub)
            .args(["--target", "wrapper"]),
    );
    run_wrapper(&sub.join("wrapper"));

    // pkg-config: the README's drain program, linked dynamically.
    let pc_path = prefix.join("lib/pkgconfig");
    let flags = command(
        Command::new("pkg-config")
            .env("PKG_CONFIG_PATH", &pc_path)
            .args(["--cflags", "--libs", "twitchdrops"]),
    );
    let exe = work.join("readme_drain_pc");
    let mut cc = Command::new("gcc");
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror"])
        .arg(repo().join("ffi/tests/c/readme_drain.c"))
        .args(flags.split_whitespace())
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()))
        .arg("-o")
        .arg(&exe);
    command(&mut cc);
    let fake = fake(no_faults());
    let out = run(&exe, &[], &fake_env(&fake), Run::Direct);
    assert!(out.starts_with("granted 720"), "{out}");
}
