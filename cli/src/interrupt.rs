//! Stopping `fulfill` and `serve`. Ctrl-C, SIGTERM and SIGHUP ask the run to stop
//! gracefully (no new grants; the running ones finish, their answers are journaled and what
//! was granted is marked FULFILLED), and so does a grant that outlives `--grant-timeout`. A
//! signal after that exits at once, and so does the stop itself once its grace is over (a
//! grant script that hangs does not hold it for ever). Either way the journal stays
//! consistent, and a rerun with it finishes the job: grants that were running, or granted
//! and not yet marked, are resumed. Without a journal a rerun could only grant those again,
//! so there the stop has no grace: it lasts as long as it takes, or until a second Ctrl-C.

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
    /// `None`: no forced exit (no journal to resume from).
    grace: Option<Duration>,
    /// Stops asked for: the first is graceful, the second quits.
    asked: AtomicU32,
    /// The exit status of the stop under way.
    status: AtomicU8,
}

static STOPPING: OnceLock<Stopping> = OnceLock::new();

/// Installs the handler; the signal it raises goes into the run's options. A graceful
/// stop lasts `grace` at most (`None`: as long as it takes).
pub fn stop_signal(grace: Option<Duration>) -> Result<StopSignal, String> {
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
    let (why, quit) = if why.is_empty() {
        (String::new(), "a second Ctrl-C quits at once")
    } else {
        (format!("{why}: "), "Ctrl-C quits at once")
    };
    let bound = match stopping.grace {
        Some(grace) => format!(" (within {} s)", grace.as_secs_f64()),
        None => String::new(),
    };
    eprintln!(
        "drops: {why}stopping{bound}: no new grants; the running ones finish and what was \
         granted is marked ({quit})"
    );
    stopping.signal.raise();
    if let Some(grace) = stopping.grace {
        std::thread::spawn(move || {
            std::thread::sleep(grace);
            eprintln!(
                "drops: the stop did not finish within {} s: quitting; rerun with the same \
                 journal to finish (grants still running or not yet marked are resumed)",
                grace.as_secs_f64()
            );
            std::process::exit(i32::from(status));
        });
    }
    true
}
