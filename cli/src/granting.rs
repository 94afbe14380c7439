//! How `fulfill` and `serve` grant, and how long their claims on a shared journal last: the
//! flags both take, checked in one place.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use twitch_drops::fulfill::MAX_GRANTS_IN_FLIGHT;

use crate::fulfill::{CommandGrant, Giver};

/// The grant flags of `fulfill` and `serve`.
#[derive(Args)]
pub struct Granting {
    /// Seconds a shared journal's claims outlive a process that died holding them;
    /// another instance takes them over after that.
    #[arg(long, default_value_t = 60.0)]
    claim_ttl: f64,
    /// Run this shell command per entitlement (DROPS_ENTITLEMENT_ID, DROPS_USER_ID,
    /// DROPS_BENEFIT_ID, DROPS_GAME_ID, DROPS_TIMESTAMP, DROPS_GRANT_RESUMED in its
    /// environment): exit 0 = granted, 75 = retry later, other = failed.
    /// DROPS_GRANT_RESUMED=1: a crash interrupted an earlier call for this entitlement,
    /// which may have granted it; the command must check its own records for
    /// DROPS_ENTITLEMENT_ID and exit 0 without granting again if it did (0: first call).
    #[arg(long)]
    grant_exec: Option<String>,
    /// POST each entitlement as JSON to this URL of your backend (HTTPS, or HTTP to
    /// loopback), its id as the Idempotency-Key header: 2xx = granted, 409 = given
    /// before (granted), 429 or 5xx = retry later, another 4xx = failed. A resumed grant
    /// carries "resumed": true: the backend answers 409 if it gave it.
    #[arg(long, conflicts_with = "grant_exec")]
    grant_url: Option<String>,
    /// Seconds one run of --grant-exec may take. One that takes longer stops the run
    /// gracefully (exit 2): it still has --stop-grace to finish; past that drops quits and
    /// the rerun resumes it (DROPS_GRANT_RESUMED=1). (--grant-url has the transport's
    /// timeouts.)
    #[arg(long, default_value_t = 600.0)]
    grant_timeout: f64,
    /// Append one line per grant (entitlement id, user id, benefit id) to this file,
    /// on disk before the entitlement is marked FULFILLED. It is the record of what was
    /// given: a grant resumed after a crash whose id is in it counts as given and is
    /// not written, nor its --grant-exec run, again.
    #[arg(long)]
    grant_log: Option<PathBuf>,
    /// Grant scripts run at once (1 to 100): claimed in the journal together, run side
    /// by side. After a crash only these can be in doubt (resumed on the rerun); more at
    /// once means fewer journal writes. (With --grant-log alone, 100 at a time.)
    #[arg(long, default_value_t = 4)]
    grant_jobs: usize,
    /// Seconds a graceful stop (Ctrl-C, SIGTERM) waits for the running grants; then it
    /// quits at once, as a second Ctrl-C does (the journal stays consistent, and those
    /// grants are resumed on the rerun).
    #[arg(long, default_value_t = 30.0)]
    stop_grace: f64,
}

/// The flags, checked: the grant, how many grants run at once, the claims' ttl.
pub struct Checked {
    pub grant: CommandGrant,
    pub grants_in_flight: usize,
    pub claim_ttl: Duration,
    pub stop_grace: Duration,
}

impl Granting {
    pub fn check(self) -> Result<Checked, String> {
        let claim_ttl = seconds(self.claim_ttl, "--claim-ttl", 86_400.0)?;
        let stop_grace = seconds(self.stop_grace, "--stop-grace", 86_400.0)?;
        if !(1..=MAX_GRANTS_IN_FLIGHT).contains(&self.grant_jobs) {
            return Err(format!(
                "--grant-jobs {}: give 1 to {MAX_GRANTS_IN_FLIGHT}",
                self.grant_jobs
            ));
        }
        // With scripts (or a URL), the grants running are those calls: --grant-jobs of
        // them. With the grant log alone a grant is its line, and a resumed one whose line
        // is there is not written again: a hundred are claimed and recorded at a time.
        let grant_timeout = seconds(self.grant_timeout, "--grant-timeout", 86_400.0)?;
        let giver = Giver::of(self.grant_exec, self.grant_url, grant_timeout)?;
        let grants_in_flight = if giver.is_some() {
            self.grant_jobs
        } else {
            MAX_GRANTS_IN_FLIGHT
        };
        let grant = CommandGrant::new(giver, self.grant_log.as_deref(), self.grant_jobs)?;
        Ok(Checked {
            grant,
            grants_in_flight,
            claim_ttl,
            stop_grace,
        })
    }
}

/// `value` seconds as a duration of 0.1 to `max` seconds, or an error naming `flag`.
pub fn seconds(value: f64, flag: &str, max: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| d.as_secs_f64() >= 0.1 && d.as_secs_f64() <= max)
        .ok_or_else(|| format!("{flag} {value}: give 0.1 to {max} seconds"))
}
