//! Stopping `fulfill` and `serve`. Ctrl-C, SIGTERM and SIGHUP ask the run to stop
//! gracefully (no new grants; the running ones finish, their answers are journaled and what
//! was granted is marked FULFILLED), and so does a grant that outlives `--grant-timeout`. A
//! second signal exits at once, and so does the first once the grace period is over (a grant
//! script that hangs does not hold the stop for ever). Either way the journal stays
//! consistent, and a rerun with it finishes the job.

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use twitch_drops::StopSignal;

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED: u8 = 130;

/// Exit status of a run stopped on an error (a grant that did not finish in time).
const FAILED: u8 = 2;

/// The process's one way of stopping.
struct Stopping {
    signal: StopSignal,
    grace: Duration,
    /// Stops asked for: the first is graceful, the second quits.
    asked: AtomicU32,
    /// The exit status of the stop under way.
    status: AtomicU8,
}

static STOPPING: OnceLock<Stopping> = OnceLock::new();

/// Installs the handler; the signal it raises goes into the run's options. A graceful
/// stop lasts `grace` at most.
pub fn stop_signal(grace: Duration) -> Result<StopSignal, String> {
    let stopping = STOPPING.get_or_init(|| Stopping {
        signal: StopSignal::new(),
        grace,
        asked: AtomicU32::new(0),
        status: AtomicU8::new(INTERRUPTED),
    });
    ctrlc::set_handler(|| {
        if !stop(INTERRUPTED, "") {
            eprintln!(
                "drops: quitting at once: rerun with the same journal to finish (grants that \
                 were running are resumed)"
            );
            std::process::exit(i32::from(INTERRUPTED));
        }
    })
    .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    Ok(stopping.signal.clone())
}

/// Stops the run gracefully because of `why` (a grant that outlived its time), as a first
/// Ctrl-C does, but as an error: the process exits 2.
pub fn stop_on_error(why: &str) {
    stop(FAILED, why);
}

/// True when the stop under way is for an error, not a signal.
pub fn stopped_on_error() -> bool {
    status() == Some(FAILED)
}

/// The exit status of the stop under way, if any: 130 for a signal, 2 for an error.
pub fn status() -> Option<u8> {
    let stopping = STOPPING.get()?;
    (stopping.asked.load(Ordering::SeqCst) > 0).then(|| stopping.status.load(Ordering::SeqCst))
}

/// Begins a graceful stop exiting `status`; false when one was already under way.
fn stop(status: u8, why: &str) -> bool {
    let Some(stopping) = STOPPING.get() else {
        return false;
    };
    if stopping.asked.fetch_add(1, Ordering::SeqCst) > 0 {
        return false;
    }
    stopping.status.store(status, Ordering::SeqCst);
    let seconds = stopping.grace.as_secs_f64();
    let why = if why.is_empty() {
        String::new()
    } else {
        format!("{why}: ")
    };
    eprintln!(
        "drops: {why}stopping: no new grants; the running ones finish (for {seconds} s at \
         most) and what was granted is marked (a second Ctrl-C quits at once)"
    );
    stopping.signal.raise();
    let grace = stopping.grace;
    std::thread::spawn(move || {
        std::thread::sleep(grace);
        eprintln!(
            "drops: the running grants did not finish within {seconds} s: quitting; rerun \
             with the same journal to finish (they are resumed)"
        );
        std::process::exit(i32::from(status));
    });
    true
}
