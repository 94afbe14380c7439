//! Ctrl-C, SIGTERM and SIGHUP during `fulfill`: the first asks the run to stop gracefully
//! (no new grants; the running ones finish, their answers are journaled and what was
//! granted is marked FULFILLED), a second exits at once. Either way the journal stays
//! consistent, and a rerun with it finishes the job.

use std::sync::atomic::{AtomicU32, Ordering};

use twitch_drops::StopSignal;

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED: u8 = 130;

/// Installs the handler; the signal it raises goes into the run's options.
pub fn stop_signal() -> Result<StopSignal, String> {
    let stop = StopSignal::new();
    let raised = stop.clone();
    let signals = AtomicU32::new(0);
    ctrlc::set_handler(move || {
        if signals.fetch_add(1, Ordering::SeqCst) == 0 {
            eprintln!(
                "drops: stopping: no new grants; the running ones finish and what was \
                 granted is marked (a second Ctrl-C quits at once)"
            );
            raised.raise();
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
