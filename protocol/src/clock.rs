//! Time, injected: the core never reads a clock or sleeps on its own.
//!
//! Operations take `now_ms` (milliseconds since the Unix epoch) from their driver and ask it
//! to sleep with [`crate::Step::Sleep`]. The sync client gets both from a [`Clock`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The wall clock and the way to wait, as the sync client uses them.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Blocks the calling thread for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clock: `SystemTime` and `std::thread::sleep`.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock for tests: `sleep` returns at once and moves the time forward, and every wait
/// is recorded so a test can assert how long the client would have slept.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ms: AtomicU64,
    sleeps: Mutex<Vec<Duration>>,
}

impl ManualClock {
    /// A clock standing at `now_ms`.
    pub fn new(now_ms: u64) -> Self {
        ManualClock {
            now_ms: AtomicU64::new(now_ms),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    /// Moves the time forward without recording a sleep.
    pub fn advance(&self, duration: Duration) {
        self.now_ms
            .fetch_add(duration.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every sleep asked for so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The sum of all sleeps so far.
    pub fn slept(&self) -> Duration {
        self.sleeps().iter().sum()
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn sleep(&self, duration: Duration) {
        if let Ok(mut sleeps) = self.sleeps.lock() {
            sleeps.push(duration);
        }
        self.advance(duration);
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }

    fn sleep(&self, duration: Duration) {
        (**self).sleep(duration)
    }
}
