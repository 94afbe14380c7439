//! The low-level exports: `RawClient` and `RawPages`. Queries and results cross as JSON
//! text (camelCase, see [`crate::wire`]); failures reject with an `Error` whose `payload`
//! is the JSON description of [`crate::errors::describe`]. The TypeScript layer
//! (`js/client.ts`) is the public surface; these are its engine.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use serde_json::Value;
use twitch_drops_protocol::{
    analytics, device, entitlements, eventsub as subscriptions, token, update, Engine,
    EntitlementPages, Error, FulfillReport, MemoryJournal, StopSignal,
};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::future_to_promise;

use crate::driver::Driver;
use crate::errors::{describe, invalid};
use crate::fetch::FetchTransport;
use crate::hooks::{Hooks, JsJournal, SharedJournal};
use crate::{eventsub, fulfill, options, wire};

/// Turns a core error into the `Error` the TypeScript layer recognizes (`payload`).
fn to_js(error: &Error) -> JsValue {
    thrown(describe(error))
}

/// The `Error` for a description (`payload`: its JSON text).
pub(crate) fn thrown(description: Value) -> JsValue {
    let message = description["message"]
        .as_str()
        .unwrap_or("twitch-drops error");
    let js = js_sys::Error::new(message);
    js.set_name("DropsError");
    let _ = Reflect::set(&js, &"payload".into(), &description.to_string().into());
    js.into()
}

/// The rejection of a fulfillment run that stopped: its cause, carrying the totals so far.
fn stopped(cause: &Error, report: &FulfillReport) -> JsValue {
    let mut description = describe(cause);
    description["fulfillReport"] = fulfill::report(report);
    thrown(description)
}

fn json(value: Value) -> JsValue {
    JsValue::from_str(&value.to_string())
}

/// Runs `work` on the event loop as a Promise.
fn promise<F>(work: F) -> Promise
where
    F: Future<Output = Result<JsValue, Error>> + 'static,
{
    future_to_promise(async move { work.await.map_err(|e| to_js(&e)) })
}

/// True in a page or a worker (not Node, Deno or Bun): no client secret there, and
/// redirects are the browser's to follow.
fn in_browser() -> bool {
    let global = js_sys::global();
    let get = |target: &JsValue, key: &str| {
        Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
    };
    let process = get(&global, "process");
    let node = process.is_object() && get(&get(&process, "versions"), "node").is_string();
    let page_or_worker = !get(&global, "document").is_undefined()
        || !get(&global, "WorkerGlobalScope").is_undefined();
    page_or_worker && !node
}

/// A Drops client over `fetch`. Every async method may run concurrently with the others;
/// one token fetch serves them all.
#[wasm_bindgen]
pub struct RawClient {
    driver: Rc<Driver>,
    /// The journal of runs given none: exactly-once within this client's life.
    journal: SharedJournal,
}

#[wasm_bindgen]
impl RawClient {
    /// `options`: JSON text of `{ clientId, clientSecret?, accessToken?, refreshToken?,
    /// helixUrl?, authUrl? }`. `fetch`: called as `fetch(request)` for every request
    /// instead of the global `fetch`. `log`: called as `log(level, target, message)` with
    /// every note at `log_level` (1 error … 4 debug) and above.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: &str,
        fetch: Option<Function>,
        log: Option<Function>,
        log_level: u32,
    ) -> Result<RawClient, JsValue> {
        let browser = in_browser();
        let mut config = options::config_from_json(options, browser).map_err(|e| to_js(&e))?;
        if let Some(log) = log {
            config = config.with_logger(js_logger(log, log_level).map_err(|e| to_js(&e))?);
        }
        let transport = FetchTransport::new(fetch, browser);
        Ok(RawClient {
            driver: Rc::new(Driver::new(config, transport)),
            journal: Rc::new(RefCell::new(Some(MemoryJournal::new()))),
        })
    }

    /// The client's counters so far, as JSON text of `Metrics`.
    pub fn metrics(&self) -> String {
        serde_json::to_string(&self.driver.session().metrics()).unwrap_or_default()
    }

    /// One page of entitlements: resolves to JSON text of `EntitlementsPage`.
    #[wasm_bindgen(js_name = entitlementsPage)]
    pub fn entitlements_page(&self, query: String) -> Promise {
        let driver = Rc::clone(&self.driver);
        promise(async move {
            let query = wire::entitlements_query(&query)?;
            let op = entitlements::get_entitlements(driver.config(), &query)?;
            let page = driver.run(op).await?;
            Ok(JsValue::from_str(&wire::entitlements_page(&page)))
        })
    }

    /// Paging over every entitlement matching `query` (JSON text).
    #[wasm_bindgen(js_name = entitlementPages)]
    pub fn entitlement_pages(&self, query: String) -> RawPages {
        let state = wire::entitlements_query(&query).and_then(EntitlementPages::new);
        let (pages, error) = match state {
            Ok(pages) => (Some(pages), None),
            Err(e) => (None, Some(e)),
        };
        RawPages {
            driver: Rc::clone(&self.driver),
            state: Rc::new(RefCell::new(PagesState { pages, error })),
        }
    }

    /// Sets `ids` (JSON text of an array of strings) to `status`; resolves to JSON text of
    /// `UpdateReport`.
    #[wasm_bindgen(js_name = updateEntitlements)]
    pub fn update_entitlements(&self, ids: String, status: String) -> Promise {
        let driver = Rc::clone(&self.driver);
        promise(async move {
            let ids = wire::strings("ids", &ids)?;
            let status = wire::status(&status)?;
            let op = update::update_entitlements(driver.config(), &ids, status)?;
            let report = driver.run(op).await?;
            Ok(json(wire::update_report(&report)))
        })
    }

    /// A page of analytics reports; resolves to JSON text of `AnalyticsPage`.
    #[wasm_bindgen(js_name = gameAnalytics)]
    pub fn game_analytics(&self, query: String) -> Promise {
        let driver = Rc::clone(&self.driver);
        promise(async move {
            let query = wire::analytics_query(&query)?;
            let op = analytics::get_game_analytics(driver.config(), &query)?;
            let page = driver.run(op).await?;
            Ok(json(wire::analytics_page(&page)))
        })
    }

    /// Downloads the CSV at a report's `url`; resolves to a `Uint8Array`.
    #[wasm_bindgen(js_name = downloadReport)]
    pub fn download_report(&self, url: String) -> Promise {
        let driver = Rc::clone(&self.driver);
        promise(async move {
            let op = analytics::download_report(driver.config(), &url)?;
            let bytes = driver.run(op).await?;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// What Twitch says about the current token; resolves to JSON text of `TokenInfo`.
    #[wasm_bindgen(js_name = validateToken)]
    pub fn validate_token(&self) -> Promise {
        let driver = Rc::clone(&self.driver);
        promise(async move {
            let info = driver.run(token::validate(driver.config())).await?;
            Ok(json(wire::token_info(&info)))
        })
    }

    /// Starts a device login for `scopes` (JSON text of an array of strings); resolves to
    /// JSON text of `DeviceCode`.
    #[wasm_bindgen(js_name = startDeviceFlow)]
    pub fn start_device_flow(&self, scopes: String) -> Promise {
        let driver = Rc::clone(&self.driver);
        promise(async move {
            let scopes = wire::strings("scopes", &scopes)?;
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let op = device::start_device_flow(driver.config(), &scopes)?;
            let code = driver.run(op).await?;
            Ok(json(wire::device_code(&code)))
        })
    }

    /// Polls until the user approves `code` (JSON text of `DeviceCode`), then uses the new
    /// user token for every later call; resolves to JSON text of `UserToken`.
    #[wasm_bindgen(js_name = finishDeviceFlow)]
    pub fn finish_device_flow(&self, code: String) -> Promise {
        let driver = Rc::clone(&self.driver);
        promise(async move {
            let code = wire::read_device_code(&code)?;
            let token = driver
                .run(device::poll_device_flow(driver.config(), &code))
                .await?;
            driver.install(token.clone());
            Ok(json(wire::user_token(&token)))
        })
    }

    /// Grants and fulfills every CLAIMED entitlement matching `options` (JSON text of
    /// `{ gameId?, userId?, quarantineAfter? }`) with the core's engine. `grant`: JSON text
    /// of a batch of `{ entitlement, resumed }` → promise of JSON text of answers.
    /// `journal`: the caller's journal as `{ load, append, claim? }` (`load()` → promise of
    /// JSON text of records; `append(text)` → promise; `claim(text)`, for a journal several
    /// instances share, JSON text of `granting` records → promise of JSON text of the ids
    /// another instance holds), or `undefined` for this client's in-memory journal.
    /// `on_settled`: called with JSON text of settlements.
    /// Resolves to JSON text of the report; a stopped run rejects with its cause, whose
    /// payload carries `fulfillReport`.
    pub fn fulfill(
        &self,
        options: String,
        grant: Function,
        journal: Option<Object>,
        on_settled: Option<Function>,
        stop: Option<RawStop>,
    ) -> Promise {
        let driver = Rc::clone(&self.driver);
        let engine = fulfill::fulfill_options(&options).and_then(|mut options| {
            options.stop_signal = stop.map(|s| s.0);
            Engine::new(driver.config(), options)
        });
        let hooks = js_journal(journal)
            .and_then(|journal| Hooks::new(grant, journal, &self.journal, on_settled));
        run_engine(driver, engine, hooks)
    }

    /// `fulfill` for entitlements pushed by EventSub (JSON text of an array of the TS
    /// `Entitlement`): no listing, the same rules and journal. `options`:
    /// `{ quarantineAfter?, requestsInFlight? }`.
    #[wasm_bindgen(js_name = fulfillEntitlements)]
    pub fn fulfill_entitlements(
        &self,
        entitlements: String,
        options: String,
        grant: Function,
        journal: Option<Object>,
        on_settled: Option<Function>,
        stop: Option<RawStop>,
    ) -> Promise {
        let driver = Rc::clone(&self.driver);
        let engine = wire::entitlements("entitlements", &entitlements).and_then(|list| {
            let (quarantine_after, requests, grants) = fulfill::pushed_options(&options)?;
            let engine = Engine::for_entitlements(driver.config(), list, quarantine_after)
                .with_requests_in_flight(requests)?
                .with_grants_in_flight(grants)?;
            Ok(match stop {
                Some(stop) => engine.with_stop_signal(stop.0),
                None => engine,
            })
        });
        let hooks = js_journal(journal)
            .and_then(|journal| Hooks::new(grant, journal, &self.journal, on_settled));
        run_engine(driver, engine, hooks)
    }

    /// Subscribes a webhook to `drop.entitlement.grant` (`options`: JSON text of
    /// `{ organizationId, categoryId?, campaignId?, callback, secret }`); resolves to JSON
    /// text of the subscription.
    #[wasm_bindgen(js_name = subscribeDropGrants)]
    pub fn subscribe_drop_grants(&self, options: String) -> Promise {
        let driver = Rc::clone(&self.driver);
        promise(async move {
            let s = eventsub::subscribe_options(&options)?;
            let op = subscriptions::subscription_request(
                driver.config(),
                &s.condition,
                &s.callback,
                &s.secret,
            )?;
            let subscription = driver.run(op).await?;
            Ok(json(eventsub::subscription(&subscription)))
        })
    }

    /// JSON text of the current `UserToken` (to persist), or `undefined`.
    #[wasm_bindgen(js_name = userToken)]
    pub fn user_token(&self) -> Option<String> {
        self.driver
            .user_token()
            .map(|t| wire::user_token(&t).to_string())
    }

    /// JSON text of the last `RateLimit` reading, or `undefined` (none yet, or headers
    /// hidden by CORS in a browser).
    #[wasm_bindgen(js_name = rateLimit)]
    pub fn rate_limit(&self) -> Option<String> {
        self.driver
            .rate_limit()
            .map(|l| wire::rate_limit(&l).to_string())
    }

    /// HTTP requests sent so far (every attempt counts).
    #[wasm_bindgen(js_name = requestsSent)]
    pub fn requests_sent(&self) -> f64 {
        self.driver.requests_sent() as f64
    }
}

/// Reads the caller's journal object: `load` and `append` functions, `claim` a function or
/// absent.
fn js_journal(journal: Option<Object>) -> Result<Option<JsJournal>, Error> {
    let Some(journal) = journal else {
        return Ok(None);
    };
    // `field`: `journal.<name>`, as errors name it.
    let function = |field: &'static str| {
        let name = field.trim_start_matches("journal.");
        let value = Reflect::get(&journal, &name.into()).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() {
            return Ok(None);
        }
        value
            .dyn_into::<Function>()
            .map(Some)
            .map_err(|_| invalid(field, "must be a function when given"))
    };
    let (Some(load), Some(append)) = (function("journal.load")?, function("journal.append")?)
    else {
        return Err(invalid(
            "journal",
            "`journal` must have `load` and `append` functions",
        ));
    };
    Ok(Some(JsJournal {
        load,
        append,
        claim: function("journal.claim")?,
    }))
}

/// Runs an engine with its hooks; resolves to JSON text of the report.
fn run_engine(
    driver: Rc<Driver>,
    engine: Result<Engine, Error>,
    hooks: Result<Hooks, Error>,
) -> Promise {
    future_to_promise(async move {
        let engine = engine.map_err(|e| to_js(&e))?;
        let mut hooks = hooks.map_err(|e| to_js(&e))?;
        let report = driver.fulfill(engine, &mut hooks).await;
        drop(hooks);
        match &report.error {
            Some(cause) => Err(stopped(cause, &report)),
            None => Ok(JsValue::from_str(&fulfill::report_text(&report))),
        }
    })
}

struct PagesState {
    pages: Option<EntitlementPages>,
    /// An error to report at the next call (a bad query, or a cursor that did not move).
    error: Option<Error>,
}

/// Pages of entitlements, one request per `next()`. Calls must not overlap (an async
/// generator awaits each before the next).
/// A JavaScript function as the client's logger. The engine runs on the one thread that
/// made it (no threads in this package), so the function never crosses threads although
/// `Logger` asks for `Send + Sync`.
struct JsLog(Function);

// SAFETY: wasm32 without threads: the function is only ever called on the thread (the JS
// event loop) that made it; natively (unit tests) it is never called.
unsafe impl Send for JsLog {}
// SAFETY: as above.
unsafe impl Sync for JsLog {}

fn js_logger(log: Function, level: u32) -> Result<twitch_drops_protocol::Logger, Error> {
    let level = twitch_drops_protocol::Level::from_number(level)
        .ok_or_else(|| invalid("logLevel", "must be 'error', 'warn', 'info' or 'debug'"))?;
    let log = JsLog(log);
    Ok(twitch_drops_protocol::Logger::new(level, move |record| {
        // What the logger throws is dropped: a log line never stops a run.
        let _ = log.0.call3(
            &JsValue::UNDEFINED,
            &JsValue::from_str(record.level.as_str()),
            &JsValue::from_str(record.target),
            &JsValue::from_str(record.message),
        );
    }))
}

/// A run's graceful stop, raised when the JavaScript `AbortSignal` given to `fulfill`
/// aborts: the engine starts no new grant and ends once what is out has answered.
#[wasm_bindgen]
pub struct RawStop(StopSignal);

#[wasm_bindgen]
impl RawStop {
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> RawStop {
        RawStop(StopSignal::new())
    }

    /// Another handle on the same flag (the run takes one; the caller keeps one to raise).
    pub fn share(&self) -> RawStop {
        RawStop(self.0.clone())
    }

    /// Asks the run to stop gracefully.
    pub fn raise(&self) {
        self.0.raise();
    }
}

#[wasm_bindgen]
pub struct RawPages {
    driver: Rc<Driver>,
    state: Rc<RefCell<PagesState>>,
}

#[wasm_bindgen]
impl RawPages {
    /// Resolves to JSON text of the next `EntitlementsPage`, or `undefined` after the last.
    /// After an error, paging is over.
    pub fn next(&self) -> Promise {
        let driver = Rc::clone(&self.driver);
        let state = Rc::clone(&self.state);
        promise(async move {
            let op = {
                let mut state = state.borrow_mut();
                if let Some(e) = state.error.take() {
                    state.pages = None;
                    return Err(e);
                }
                let next = match &state.pages {
                    Some(pages) => pages.next_request(driver.config()),
                    None => Ok(None),
                };
                match next {
                    Ok(Some(op)) => op,
                    Ok(None) => return Ok(JsValue::UNDEFINED),
                    Err(e) => {
                        state.pages = None;
                        return Err(e);
                    }
                }
            };
            match driver.run(op).await {
                Ok(page) => {
                    let mut state = state.borrow_mut();
                    let PagesState { pages, error } = &mut *state;
                    if let Some(pages) = pages {
                        // A cursor that did not move ends paging with an error after this page.
                        *error = pages.advance(&page).err();
                    }
                    Ok(JsValue::from_str(&wire::entitlements_page(&page)))
                }
                Err(e) => {
                    state.borrow_mut().pages = None;
                    Err(e)
                }
            }
        })
    }
}
