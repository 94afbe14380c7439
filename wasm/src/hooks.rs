//! What a fulfillment run asks of JavaScript: the grant function (a batch at a time), the
//! journal (the caller's, with or without claims, or the client's in-memory one) and the
//! `onSettled` callback.
//! Each JS function is one of the TypeScript layer's wrappers (`js/fulfill.ts`), which
//! speak JSON text; a rejection becomes what the engine expects (a failed grant, a journal
//! error), never a crash of the run.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use twitch_drops_protocol::fulfill::{Journal, JournalError, JournalRecord};
use twitch_drops_protocol::{GrantOutcome, GrantRequest, MemoryJournal, Settlement};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::errors::invalid;
use crate::fulfill;

/// Calls `function(arg)` and awaits what it returns (a value or a promise).
async fn call(function: &Function, arg: &JsValue) -> Result<JsValue, JsValue> {
    let returned = function.call1(&JsValue::UNDEFINED, arg)?;
    JsFuture::from(Promise::resolve(&returned)).await
}

/// The message of whatever JavaScript threw.
fn message(thrown: &JsValue) -> String {
    Reflect::get(thrown, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| thrown.as_string())
        .unwrap_or_else(|| "a JavaScript error".to_string())
}

/// The client's in-memory journal, lent to one run at a time.
pub(crate) type SharedJournal = Rc<RefCell<Option<MemoryJournal>>>;

/// Where a run's journal lives.
enum Store {
    /// The client's own: taken for the run, given back when the run ends.
    Memory {
        journal: Option<MemoryJournal>,
        home: SharedJournal,
    },
    /// The caller's.
    Js(JsJournal),
}

/// A journal kept by JavaScript: `load()` resolves to JSON text of records, `append(text)`
/// to nothing, and `claim(text)`, when the journal has one (several instances share it), to
/// JSON text of the ids another instance holds.
pub(crate) struct JsJournal {
    pub(crate) load: Function,
    pub(crate) append: Function,
    pub(crate) claim: Option<Function>,
}

/// The JavaScript side of one run.
pub(crate) struct Hooks {
    grant: Function,
    store: Store,
    on_settled: Option<Function>,
}

impl Hooks {
    /// `grant`: JSON text of a batch of requests → promise of JSON text of answers.
    /// `journal`: the caller's, or `None` for the client's in-memory one (an error if
    /// another run holds it). `on_settled`: called with JSON text of settlements.
    pub(crate) fn new(
        grant: Function,
        journal: Option<JsJournal>,
        home: &SharedJournal,
        on_settled: Option<Function>,
    ) -> Result<Hooks, twitch_drops_protocol::Error> {
        let store = match journal {
            Some(journal) => Store::Js(journal),
            None => match home.borrow_mut().take() {
                Some(journal) => Store::Memory {
                    journal: Some(journal),
                    home: Rc::clone(home),
                },
                None => {
                    return Err(invalid(
                        "journal",
                        "another run is using this client's in-memory journal; await it, or \
                         give each run its own `journal`",
                    ))
                }
            },
        };
        Ok(Hooks {
            grant,
            store,
            on_settled,
        })
    }

    /// Grants a batch; one answer per request, in order.
    pub(crate) async fn grant(&self, requests: &[GrantRequest]) -> Vec<GrantOutcome> {
        let batch = JsValue::from_str(&fulfill::grant_requests(requests));
        match call(&self.grant, &batch).await {
            Ok(answers) => match answers.as_string() {
                Some(text) => fulfill::grant_outcomes(&text, requests.len()),
                None => fulfill::failed_batch(requests.len(), "no grant answers".into()),
            },
            Err(thrown) => fulfill::failed_batch(requests.len(), message(&thrown)),
        }
    }

    pub(crate) async fn load(&mut self) -> Result<Vec<JournalRecord>, JournalError> {
        match &mut self.store {
            Store::Memory { journal, .. } => memory(journal)?.load(),
            Store::Js(JsJournal { load, .. }) => {
                let text = call(load, &JsValue::UNDEFINED)
                    .await
                    .map_err(|e| JournalError(format!("`load()` failed: {}", message(&e))))?;
                fulfill::read_records(&text.as_string().unwrap_or_default())
            }
        }
    }

    /// Records a batch's `Granting` records; answers the ids another instance holds. A
    /// journal without `claim` appends them and holds none.
    pub(crate) async fn claim(
        &mut self,
        records: &[JournalRecord],
    ) -> Result<Vec<String>, JournalError> {
        match &mut self.store {
            Store::Memory { journal, .. } => memory(journal)?.claim(records),
            Store::Js(JsJournal {
                claim: Some(claim), ..
            }) => {
                let text = JsValue::from_str(&fulfill::records(records));
                let held = call(claim, &text)
                    .await
                    .map_err(|e| JournalError(format!("`claim()` failed: {}", message(&e))))?;
                fulfill::read_held(&held.as_string().unwrap_or_default(), records)
            }
            Store::Js(JsJournal { claim: None, .. }) => {
                self.append(records).await.map(|()| Vec::new())
            }
        }
    }

    pub(crate) async fn append(&mut self, records: &[JournalRecord]) -> Result<(), JournalError> {
        match &mut self.store {
            Store::Memory { journal, .. } => memory(journal)?.append(records),
            Store::Js(JsJournal { append, .. }) => {
                let text = JsValue::from_str(&fulfill::records(records));
                call(append, &text)
                    .await
                    .map(|_| ())
                    .map_err(|e| JournalError(format!("`append()` failed: {}", message(&e))))
            }
        }
    }

    /// Appends the answers of the grants before, then claims the next ones (two calls of a
    /// JavaScript journal, which has no call for both).
    pub(crate) async fn append_and_claim(
        &mut self,
        append: &[JournalRecord],
        claim: &[JournalRecord],
    ) -> Result<Vec<String>, JournalError> {
        if !append.is_empty() {
            self.append(append).await?;
        }
        if claim.is_empty() {
            return Ok(Vec::new());
        }
        self.claim(claim).await
    }

    /// Hands settlements to `onSettled` (its wrapper never throws).
    pub(crate) fn settled(&self, settlements: &[Settlement]) {
        if let (Some(callback), false) = (&self.on_settled, settlements.is_empty()) {
            let text = JsValue::from_str(&fulfill::settlements(settlements));
            let _ = callback.call1(&JsValue::UNDEFINED, &text);
        }
    }
}

fn memory(journal: &mut Option<MemoryJournal>) -> Result<&mut MemoryJournal, JournalError> {
    journal
        .as_mut()
        .ok_or_else(|| JournalError("the in-memory journal is gone".into()))
}

impl Drop for Hooks {
    /// Gives the in-memory journal back to its client, whatever became of the run.
    fn drop(&mut self) {
        if let Store::Memory { journal, home } = &mut self.store {
            if let Some(journal) = journal.take() {
                *home.borrow_mut() = Some(journal);
            }
        }
    }
}
