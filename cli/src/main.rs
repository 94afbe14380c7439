//! `drops`: the Drops SDK's command line. Lists and updates entitlements, logs a user in
//! (device code flow) and downloads analytics, and runs the main job (`fulfill`: every CLAIMED entitlement granted and marked
//! FULFILLED). `drops demo` does it against a fake Twitch started in-process.

mod demo;
mod fulfill;
mod granting;
mod interrupt;
mod journal;
mod log;
mod login;
mod serve;
mod settings;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use twitch_drops::{
    AnalyticsQuery, EntitlementsQuery, FulfillOptions, FulfillmentStatus, UpdateStatus,
};

use settings::Connection;

/// Twitch Drops from the command line.
#[derive(Parser)]
#[command(
    name = "drops",
    version,
    about,
    after_help = "Exit status: 0 done; 1 `update` or `fulfill` left some entitlements as they \
    were (see stderr); 2 an error (options, credentials, Twitch unreachable, the journal, a \
    grant over --grant-timeout); 130 `fulfill` stopped by Ctrl-C or SIGTERM, or a stop of \
    `fulfill` or `serve` that outlasted --stop-grace. Logs: -v, -vv, -q, --log-format json."
)]
struct Cli {
    #[command(flatten)]
    connection: Connection,
    #[command(flatten)]
    logging: log::Logging,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List entitlements as JSON lines.
    Entitlements {
        #[arg(long)]
        game: Option<String>,
        #[arg(long)]
        user: Option<String>,
        /// An entitlement id (repeatable, at most 100).
        #[arg(long = "id")]
        ids: Vec<String>,
        /// CLAIMED or FULFILLED.
        #[arg(long)]
        status: Option<FulfillmentStatus>,
        /// Page size (1..=1000).
        #[arg(long)]
        first: Option<u32>,
        /// Every page, not just the first.
        #[arg(long)]
        all: bool,
    },
    /// Set entitlements to a status; prints one JSON line per id.
    Update {
        /// FULFILLED or CLAIMED.
        #[arg(long)]
        status: FulfillmentStatus,
        /// Entitlement ids (any number).
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Log in as a Twitch user and save the user token for `analytics` (device code flow).
    ///
    /// Prints a code and a URL, waits until you approve the login there, then saves the
    /// token.
    #[command(
        after_help = "The token and its refresh token are saved, readable by you only, \
        in $DROPS_LOGIN_FILE, else $XDG_CONFIG_HOME/twitch-drops/login.json, else \
        ~/.config/twitch-drops/login.json; `analytics` renews it when it expires. \
        Delete that file to log out."
    )]
    Login {
        /// A scope to ask for (repeatable).
        #[arg(long = "scope", default_value = twitch_drops::ANALYTICS_SCOPE)]
        scopes: Vec<String>,
    },
    /// List analytics reports as JSON lines (needs a user token with analytics:read:games:
    /// TWITCH_ACCESS_TOKEN, else the one `drops login` saved).
    Analytics {
        #[arg(long)]
        game: Option<String>,
        /// Start date (YYYY-MM-DD).
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// End date, inclusive (YYYY-MM-DD).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Save each report's CSV in this folder.
        #[arg(long)]
        download: Option<PathBuf>,
    },
    /// The main job: grant every CLAIMED entitlement of a game and mark it FULFILLED.
    #[command(
        after_help = "Exit status: 0 everything listed is FULFILLED; 1 some were left \
        CLAIMED (grants failed or to retry later; see stderr); 2 the run stopped on an error \
        (options, Twitch, the journal, a grant over --grant-timeout); 130 stopped by Ctrl-C or SIGTERM: the running grants \
        finished and what was granted is marked; rerun with the same journal to finish. A \
        second Ctrl-C quits at once, and so does the first after --stop-grace seconds (the \
        grants that were running are then resumed on the rerun)."
    )]
    Fulfill {
        /// The game whose CLAIMED entitlements are granted and fulfilled (its Twitch id,
        /// e.g. 509658; a game with no entitlements at all is warned about).
        #[arg(long)]
        game: String,
        /// Only this viewer's entitlements.
        #[arg(long)]
        user: Option<String>,
        /// Crash-safe journal: a rerun after a crash marks what was granted without
        /// granting it again. PATH or sqlite:PATH (SQLite; processes on one host may share
        /// it), postgres://… (instances on many hosts share it: each entitlement is claimed
        /// by one), or file:PATH (JSON lines, one process at a time).
        /// Also read from DROPS_JOURNAL (keeps a database password out of the process list).
        /// Without one, an SQLite journal per client id and game in
        /// $XDG_STATE_HOME/twitch-drops/ (else ~/.local/state/twitch-drops/).
        #[arg(long, env = "DROPS_JOURNAL", hide_env_values = true)]
        journal: Option<journal::JournalSpec>,
        /// No journal at all: a crash may then grant some rewards twice on the rerun.
        #[arg(long, conflicts_with = "journal")]
        no_journal: bool,
        #[command(flatten)]
        granting: granting::Granting,
        /// Requests to Twitch out at once (1 to 16): the next page and PATCHes go side by
        /// side while grants run.
        #[arg(long, default_value_t = twitch_drops::fulfill::DEFAULT_REQUESTS_IN_FLIGHT)]
        requests_in_flight: usize,
    },
    /// Fulfillment as a service: an EventSub webhook takes Twitch's drop.entitlement.grant
    /// pushes and grants them at once; a drain of the CLAIMED list every --reconcile-every
    /// catches what the push missed. POST: the webhook (plain HTTP, behind your TLS proxy);
    /// GET /healthz (ready once subscribed), GET /livez, GET /metrics (Prometheus). SIGTERM
    /// or Ctrl-C stops it gracefully (exit 0; 130 when the stop outlasts --stop-grace). A
    /// grant over --grant-timeout stops it too, with exit 2, for its supervisor to restart
    /// it.
    Serve {
        /// The game whose entitlements are granted (its Twitch id).
        #[arg(long)]
        game: String,
        /// Where to listen (host:port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// The webhook secret Twitch signs with (10 to 100 ASCII characters).
        #[arg(long, env = "DROPS_EVENTSUB_SECRET", hide_env_values = true)]
        secret: String,
        /// The public HTTPS URL Twitch posts to: with --organization, the subscription is
        /// created at start (without, one made elsewhere is used).
        #[arg(long, requires = "organization")]
        callback_url: Option<String>,
        /// Your organization's id (the subscription's condition; needed with --callback-url).
        #[arg(long, env = "TWITCH_ORGANIZATION_ID")]
        organization: Option<String>,
        /// Only this Drops campaign's grants are pushed (the subscription's condition).
        #[arg(long, requires = "callback_url")]
        campaign: Option<String>,
        /// Seconds between drains of the CLAIMED list (the first at start).
        #[arg(long, default_value_t = 300.0)]
        reconcile_every: f64,
        /// As `fulfill --journal`; EventSub message ids are kept in its database (a file
        /// journal: in `<journal>.deliveries` beside it).
        #[arg(long, env = "DROPS_JOURNAL", hide_env_values = true)]
        journal: Option<journal::JournalSpec>,
        #[command(flatten)]
        granting: granting::Granting,
    },
    /// Run `fulfill` against a fake Twitch started in-process with seeded data (offline).
    Demo {
        /// How many entitlements to seed.
        #[arg(long, default_value_t = 5000)]
        entitlements: usize,
    },
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // Analytics needs a user token: the saved login's, unless a token is given.
    cli.connection.use_login = matches!(cli.command, Command::Analytics { .. });
    cli.connection.logger = Some(cli.logging.logger());
    let result = run(cli);
    // A saved login renewed during the command (on Twitch's 401) is saved for the next one.
    if let Err(message) = login::save_renewed() {
        eprintln!("drops: {message}");
    }
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("drops: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let explain = |e: &twitch_drops::Error| cli.connection.explain(e);
    match cli.command {
        Command::Entitlements {
            game,
            user,
            ids,
            status,
            first,
            all,
        } => {
            let client = cli.connection.client()?;
            let query = EntitlementsQuery {
                ids,
                user_id: user,
                game_id: game,
                status,
                first,
                after: None,
            };
            let mut out = std::io::stdout().lock();
            if all {
                for entitlement in client.entitlements(query) {
                    print_json(&mut out, &entitlement.map_err(|e| explain(&e))?)?;
                }
            } else {
                for entitlement in client
                    .entitlements_page(&query)
                    .map_err(|e| explain(&e))?
                    .entitlements
                {
                    print_json(&mut out, &entitlement)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Update { status, ids } => {
            let client = cli.connection.client()?;
            let report = client
                .update_entitlements(&ids, status)
                .map_err(|e| explain(&e))?;
            let mut out = std::io::stdout().lock();
            for outcome in &report.outcomes {
                print_json(&mut out, outcome)?;
            }
            // What did not succeed, for people: the JSON lines above are for programs.
            for outcome in report
                .outcomes
                .iter()
                .filter(|o| o.status != UpdateStatus::Success)
            {
                eprintln!("drops: {}: {}", outcome.id, outcome.status.as_str());
            }
            for id in &report.unconfirmed {
                eprintln!(
                    "drops: {id}: not confirmed (Twitch's answers kept failing); read it back \
                     with `drops entitlements --id {id}` before trying again"
                );
            }
            Ok(if report.all_succeeded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Analytics {
            game,
            from,
            to,
            download,
        } => {
            let client = cli.connection.client()?;
            let query = AnalyticsQuery {
                game_id: game,
                started_at: from,
                ended_at: to,
                ..Default::default()
            };
            let page = client.game_analytics(&query).map_err(|e| explain(&e))?;
            let mut out = std::io::stdout().lock();
            for report in &page.reports {
                print_json(&mut out, report)?;
                if let Some(dir) = &download {
                    let name = report.file_name().ok_or(
                        "a report's game_id and type leave no usable file name; not saved",
                    )?;
                    let csv = client.download_report(report).map_err(|e| explain(&e))?;
                    let path = save_inside(dir, &name, &csv)?;
                    eprintln!("saved {}", path.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Fulfill {
            game,
            user,
            journal,
            no_journal,
            granting,
            requests_in_flight,
        } => {
            let granting::Checked {
                mut grant,
                grants_in_flight,
                claim_ttl,
                stop_grace,
            } = granting.check()?;
            let client = cli.connection.client()?;
            let quiet = cli.logging.quiet();
            let journal = if no_journal {
                if !quiet {
                    eprintln!(
                        "drops: warning: no journal (--no-journal): if this run crashes, \
                         the rerun may grant some rewards twice"
                    );
                }
                None
            } else {
                Some(journal::given_or_default(
                    journal,
                    client.config().client_id(),
                    &game,
                    quiet,
                )?)
            };
            let mut query = EntitlementsQuery::new().game(game);
            query.user_id = user;
            let options = FulfillOptions {
                requests_in_flight,
                grants_in_flight,
                // Without a journal, a quit past the grace could only be rerun by granting
                // again what was running: no grace then.
                stop_signal: Some(interrupt::stop_signal((!no_journal).then_some(stop_grace))?),
                ..FulfillOptions::new(query)
            };
            let mut journal = journal::open(journal.as_ref(), claim_ttl)?;
            let summary = fulfill::fulfill(
                &client,
                options,
                journal.as_mut(),
                &mut grant,
                cli.logging.quiet(),
                &explain,
            )?;
            Ok(summary.exit_code())
        }
        Command::Serve {
            game,
            listen,
            secret,
            callback_url,
            organization,
            campaign,
            reconcile_every,
            journal,
            granting,
        } => {
            let reconcile_every =
                granting::seconds(reconcile_every, "--reconcile-every", 86_400.0)?;
            let granting::Checked {
                grant,
                grants_in_flight,
                claim_ttl,
                stop_grace,
            } = granting.check()?;
            let client = std::sync::Arc::new(cli.connection.client()?);
            let spec =
                journal::given_or_default(journal, client.config().client_id(), &game, false)?;
            let engine_journal = journal::open(Some(&spec), claim_ttl)?;
            let deliveries = journal::open_deliveries(&spec)?;
            serve::run(
                client,
                serve::Serve {
                    listen,
                    game,
                    secret: twitch_drops::Secret::new(secret),
                    callback_url,
                    organization,
                    campaign,
                    reconcile_every,
                    grants_in_flight,
                },
                engine_journal,
                deliveries,
                Box::new(grant),
                interrupt::stop_signal(Some(stop_grace))?,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { entitlements } => demo::run(entitlements, &cli.logging),
        Command::Login { scopes } => login::run(
            cli.connection.config(twitch_drops::Credentials::None)?,
            &scopes,
        ),
    }
}

/// Writes `bytes` as `dir/name`, where `name` is one path component (from
/// `AnalyticsReport::file_name`): through a new temporary file renamed over the name, so an
/// existing symbolic link there is replaced, never followed out of `dir`.
fn save_inside(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
    let single = matches!(
        Path::new(name).components().collect::<Vec<_>>().as_slice(),
        [std::path::Component::Normal(_)]
    );
    if !single {
        return Err(format!("`{name}` is not a single file name; not saved"));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    let partial = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&partial, &path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(format!("{}: {e}", path.display()));
    }
    Ok(path)
}

fn print_json(out: &mut impl Write, value: &impl serde::Serialize) -> Result<(), String> {
    let line = serde_json::to_string(value).map_err(|e| e.to_string())?;
    writeln!(out, "{line}").map_err(|e| format!("stdout: {e}"))
}
