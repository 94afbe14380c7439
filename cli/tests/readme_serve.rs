//! The README's `drops serve` example, run exactly as written: the ```sh block after the
//! `<!-- readme: serve -->` marker goes to bash, with `cargo` on its PATH standing for the
//! two programs it names (`cargo drops` is this test's `drops`, `cargo run -p fake-twitch`
//! the fake's binary cargo built beside it), in a scratch folder. Its output must say what
//! the README's comments say.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The ```sh block after `marker`.
fn readme_block(marker: &str) -> String {
    const README: &str = include_str!("../../README.md");
    let rest = &README[README
        .find(marker)
        .unwrap_or_else(|| panic!("README has no `{marker}` marker"))..];
    let open = rest
        .find("```sh\n")
        .expect("a ```sh block after the marker")
        + 6;
    let close = rest[open..].find("```").expect("the block is closed") + open;
    rest[open..close].to_string()
}

fn fake_twitch_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_drops"))
        .parent()
        .expect("a target folder")
        .join("fake-twitch");
    assert!(
        bin.exists(),
        "{} is missing: `cargo build -p fake-twitch` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

#[test]
fn the_readme_serve_example_runs_the_whole_loop() {
    let script = readme_block("<!-- readme: serve -->");
    let dir = std::env::temp_dir().join(format!("drops-readme-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let shim = dir.join("bin/cargo");
    std::fs::write(
        &shim,
        format!(
            "#!/bin/sh\n\
             case \"$1\" in\n\
             drops) shift; exec '{drops}' \"$@\";;\n\
             run) while [ \"$#\" -gt 0 ] && [ \"$1\" != -- ]; do shift; done; shift; exec '{fake}' \"$@\";;\n\
             esac\n\
             echo \"this test's cargo does not know: $*\" >&2; exit 99\n",
            drops = env!("CARGO_BIN_EXE_drops"),
            fake = fake_twitch_bin().display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _ = std::fs::remove_file("/tmp/fake-serve.env");
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash")
        .args(["-e", "-c", &format!("{script}\nwait")])
        .current_dir(&dir)
        .env("PATH", path)
        .env_remove("TWITCH_CLIENT_ID")
        .env_remove("TWITCH_CLIENT_SECRET")
        .env_remove("TWITCH_ACCESS_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    let said = format!("status {status}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(status.success(), "{said}");
    let lines: Vec<&str> = stdout.lines().map(str::trim).collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("ok")),
        "healthz: {said}"
    );
    assert!(lines.contains(&"0"), "none granted twice: {said}");
    assert!(
        lines.contains(&"drops_pushed_entitlements_total 300"),
        "every claim came by push: {said}"
    );
    assert!(
        lines.contains(&"drops_claim_to_grant_seconds_count 300"),
        "{said}"
    );
    let served = std::fs::read_to_string(dir.join("served.txt")).unwrap();
    assert_eq!(served.lines().count(), 300, "{said}");
    assert!(stderr.contains("drops: stopped"), "a graceful stop: {said}");
    std::fs::remove_dir_all(&dir).ok();
}
