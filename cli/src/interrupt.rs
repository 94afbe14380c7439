//! Ctrl-C, SIGTERM and SIGHUP during `fulfill` and `serve`: the first asks the run to stop
//! gracefully (no new grants; the running ones finish, their answers are journaled and what
//! was granted is marked FULFILLED), a second exits at once, and so does the first once the
//! grace period is over (a grant script that hangs does not hold the stop for ever). Either
//! way the journal stays consistent, and a rerun with it finishes the job.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use twitch_drops::StopSignal;

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED: u8 = 130;

/// Installs the handler; the signal it raises goes into the run's options. A graceful
/// stop lasts `grace` at most.
pub fn stop_signal(grace: Duration) -> Result<StopSignal, String> {
    let stop = StopSignal::new();
    let raised = stop.clone();
    let signals = AtomicU32::new(0);
    let seconds = grace.as_secs_f64();
    ctrlc::set_handler(move || {
        if signals.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!(
                "drops: stopping: no new grants; the running ones finish (for {seconds} s at \
                 most) and what was granted is marked (a second Ctrl-C quits at once)"
            );
            raised.raise();
            std::thread::spawn(move || {
                std::thread::sleep(grace);
                eprintln!(
                    "drops: the running grants did not finish within {seconds} s: quitting; \
                     rerun with the same journal to finish (they are resumed)"
                );
                std::process::exit(i32::from(INTERRUPTED));
            });
        } else {
            eprintln!(
                "drops: quitting at once: rerun with the same journal to finish (grants that \
                 were running are resumed)"
            );
            std::process::exit(i32::from(INTERRUPTED));
        }
    })
    .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    Ok(stop)
}
