//! `PATCH /entitlements/drops`: any number of ids, sent in batches of 100, with a per-id
//! outcome for each.
//!
//! The rules that keep it exact:
//! - ids Twitch answers `UPDATE_FAILED` are pooled ([`UpdateFailedPool`]) and sent again in
//!   later rounds of up to 100 (each id at most `RetryPolicy::update_failed_retries` more
//!   times, after a backoff) and reported `UpdateFailed` if they never succeed; the
//!   fulfillment engine pools them the same way across its batches;
//! - a PATCH whose answer was lost or unreadable (or a 5xx, which may follow a partial
//!   apply) is *ambiguous*: its ids are re-read (`GET ?id=…`) and only those not yet in the
//!   target status are sent again, so nothing is updated twice by blind replay;
//! - a batch that is ambiguous twice in a row is split in halves, so one id that always
//!   fails (a viewer whose calls always answer 500) is isolated and reported unconfirmed
//!   while the rest of its batch goes through;
//! - a 429 was not applied and is simply resent after the wait (in the exchange).

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::entitlements::{
    helix_auth, parse_entitlements_page, Entitlement, EntitlementsQuery, FulfillmentStatus,
    MAX_IDS_PER_REQUEST,
};
use crate::error::Error;
use crate::exchange::{Answer, Call, Exchange, Replay};
use crate::fast_json::{self, Reader};
use crate::hash::{id_map, id_set, IdMap};
use crate::http::Method;
use crate::retry::{Backoff, RetryPolicy};
use crate::shared_str::SharedStr;
use crate::step::{Input, Operation, Step};
use crate::url::join;

/// What Twitch did with one id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UpdateStatus {
    /// Now in the requested status.
    Success,
    /// Not a well-formed entitlement id.
    InvalidId,
    /// No such entitlement.
    NotFound,
    /// The entitlement belongs to a game (or user) this client may not update.
    Unauthorized,
    /// Twitch could not update it, even after the retries.
    UpdateFailed,
}

impl UpdateStatus {
    /// The wire name (`"SUCCESS"`…).
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateStatus::Success => "SUCCESS",
            UpdateStatus::InvalidId => "INVALID_ID",
            UpdateStatus::NotFound => "NOT_FOUND",
            UpdateStatus::Unauthorized => "UNAUTHORIZED",
            UpdateStatus::UpdateFailed => "UPDATE_FAILED",
        }
    }

    fn from_wire(s: &str) -> Option<Self> {
        Some(match s {
            "SUCCESS" => UpdateStatus::Success,
            "INVALID_ID" => UpdateStatus::InvalidId,
            "NOT_FOUND" => UpdateStatus::NotFound,
            "UNAUTHORIZED" => UpdateStatus::Unauthorized,
            "UPDATE_FAILED" => UpdateStatus::UpdateFailed,
            _ => return None,
        })
    }
}

impl fmt::Display for UpdateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One id's final outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdOutcome {
    pub id: SharedStr,
    pub status: UpdateStatus,
}

/// Every id's outcome, in the order the ids were given (duplicates given once).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateReport {
    pub outcomes: Vec<IdOutcome>,
    /// Ids whose state could not be confirmed: every try failed ambiguously (5xx, lost
    /// answers), or the update stopped before them ([`Error::PartialUpdate`]). They may still
    /// be in the old status; re-read them before trying again.
    pub unconfirmed: Vec<SharedStr>,
}

impl UpdateReport {
    /// The outcome of `id`, if it has one.
    pub fn status_of(&self, id: &str) -> Option<UpdateStatus> {
        self.outcomes.iter().find(|o| o.id == id).map(|o| o.status)
    }

    /// The ids with outcome `status`.
    pub fn ids_with(&self, status: UpdateStatus) -> impl Iterator<Item = &str> {
        self.outcomes
            .iter()
            .filter(move |o| o.status == status)
            .map(|o| o.id.as_str())
    }

    /// True when every id succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.unconfirmed.is_empty()
            && self
                .outcomes
                .iter()
                .all(|o| o.status == UpdateStatus::Success)
    }
}

/// Twitch's answer: ids grouped by status (borrowed from the body where no escape needs
/// decoding).
#[derive(Debug, Deserialize)]
struct UpdateBody<'a> {
    #[serde(borrow)]
    data: Vec<StatusGroup<'a>>,
}

#[derive(Debug, Deserialize)]
struct StatusGroup<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow, default)]
    ids: Vec<Cow<'a, str>>,
}

impl<'a> UpdateBody<'a> {
    /// Twitch's usual answer is read directly ([`fast_json`](crate::fast_json)); anything
    /// else by serde_json, as before.
    fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(body).ok();
        if let Some(answer) = text.and_then(Self::fast) {
            return Ok(answer);
        }
        match text {
            Some(text) => serde_json::from_str(text),
            None => serde_json::from_slice(body),
        }
        .map_err(|e| Error::decode("update response", e))
    }

    /// `{"data":[{"ids":[…],"status":"…"},…]}`, each key once; `None` for anything else.
    fn fast(text: &'a str) -> Option<Self> {
        let mut reader = Reader::new(text);
        let mut data = None;
        reader.object(|reader| {
            if data.is_some() || reader.string()? != "data" {
                return None;
            }
            reader.expect(b':')?;
            let mut groups = Vec::new();
            reader.array(|reader| {
                groups.push(StatusGroup::fast(reader)?);
                Some(())
            })?;
            data = Some(groups);
            Some(())
        })?;
        reader.at_end().then_some(())?;
        Some(UpdateBody { data: data? })
    }

    /// Each (id, status) pair, in the answer's order.
    fn pairs(&self) -> impl Iterator<Item = (&str, Option<UpdateStatus>)> {
        self.data.iter().flat_map(|group| {
            let status = UpdateStatus::from_wire(&group.status);
            group.ids.iter().map(move |id| (&**id, status))
        })
    }
}

impl<'a> StatusGroup<'a> {
    fn fast(reader: &mut Reader<'a>) -> Option<Self> {
        let (mut status, mut ids) = (None, None);
        reader.object(|reader| {
            match reader.string()? {
                "ids" if ids.is_none() => {
                    reader.expect(b':')?;
                    // Room for a PATCH's worth (Twitch answers at most as many as were sent).
                    let mut list = Vec::with_capacity(MAX_IDS_PER_REQUEST);
                    reader.array(|reader| {
                        list.push(Cow::Borrowed(reader.string()?));
                        Some(())
                    })?;
                    ids = Some(list);
                }
                "status" if status.is_none() => {
                    reader.expect(b':')?;
                    status = Some(Cow::Borrowed(reader.string()?));
                }
                _ => return None,
            }
            Some(())
        })?;
        Some(StatusGroup {
            status: status?,
            ids: ids.unwrap_or_default(),
        })
    }
}

/// Reads a PATCH answer into (id, status) pairs; statuses this library does not know are
/// returned as `None` (their ids are then re-read rather than guessed).
pub fn parse_update_response(body: &[u8]) -> Result<Vec<(String, Option<UpdateStatus>)>, Error> {
    let body = UpdateBody::parse(body)?;
    Ok(body
        .pairs()
        .map(|(id, status)| (id.to_owned(), status))
        .collect())
}

/// The body of a PATCH: `{"entitlement_ids":[…],"fulfillment_status":"…"}`, as serde_json
/// writes it, without a pass through its escaper for ids that need no escape.
fn update_body<'a>(
    ids: impl ExactSizeIterator<Item = &'a str>,
    status: FulfillmentStatus,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(64 + ids.len() * 40);
    body.extend_from_slice(b"{\"entitlement_ids\":[");
    for (n, id) in ids.enumerate() {
        if n > 0 {
            body.push(b',');
        }
        if fast_json::is_plain(id) {
            body.push(b'"');
            body.extend_from_slice(id.as_bytes());
            body.push(b'"');
        } else {
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut body, id);
        }
    }
    body.extend_from_slice(b"],\"fulfillment_status\":\"");
    body.extend_from_slice(status.as_str().as_bytes());
    body.extend_from_slice(b"\"}");
    body
}

/// A batch to send (places in the operation's list of ids), how many ambiguous answers in a
/// row its ids have had, and its backoff.
#[derive(Debug)]
struct Batch {
    ids: Vec<u32>,
    ambiguous: u32,
    backoff: Backoff,
}

impl Batch {
    fn new(ids: Vec<u32>, ambiguous: u32) -> Self {
        Batch {
            ids,
            ambiguous,
            backoff: Backoff::default(),
        }
    }
}

/// Ambiguous answers in a row after which a batch is split in halves.
const SPLIT_AFTER: u32 = 2;

/// Something with an entitlement id: what an [`UpdateFailedPool`] holds.
pub(crate) trait HasId {
    fn id(&self) -> &str;
}

impl HasId for String {
    fn id(&self) -> &str {
        self
    }
}

/// An id waiting in an update's own pool: its place in the update's list, and the id.
#[derive(Debug)]
struct Pooled(u32, SharedStr);

impl HasId for Pooled {
    fn id(&self) -> &str {
        &self.1
    }
}

impl HasId for Entitlement {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Ids Twitch answered `UPDATE_FAILED` (transient: try again later), pooled to be sent again
/// in batches of up to 100, each id at most `RetryPolicy::update_failed_retries` more times,
/// the last rounds after a backoff. The one home of that rule: an update of any number of
/// ids pools its own, and the fulfillment engine pools those of all its PATCHes.
#[derive(Debug)]
pub(crate) struct UpdateFailedPool<T> {
    waiting: Vec<T>,
    /// `UPDATE_FAILED` answers so far, by id, while it is in the pool.
    rounds: IdMap<String, u32>,
    retries: u32,
    backoff: Backoff,
}

impl<T: HasId> UpdateFailedPool<T> {
    pub(crate) fn new(policy: &RetryPolicy) -> Self {
        UpdateFailedPool {
            waiting: Vec::new(),
            rounds: id_map(0),
            retries: policy.update_failed_retries,
            backoff: Backoff::default(),
        }
    }

    /// An `UPDATE_FAILED` answer: the item waits for another round, or is given back when it
    /// has had all its rounds (it stays `UpdateFailed`).
    pub(crate) fn failed(&mut self, item: T) -> Result<(), T> {
        let rounds = self.rounds.entry(item.id().to_owned()).or_default();
        *rounds += 1;
        if *rounds > self.retries {
            self.rounds.remove(item.id());
            return Err(item);
        }
        self.waiting.push(item);
        Ok(())
    }

    /// `id` got a final answer: its rounds are forgotten.
    pub(crate) fn settled(&mut self, id: &str) {
        if !self.rounds.is_empty() {
            self.rounds.remove(id);
        }
    }

    /// Items waiting for another round.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Up to one PATCH's worth, from the front.
    pub(crate) fn take_batch(&mut self) -> Vec<T> {
        let take = self.waiting.len().min(MAX_IDS_PER_REQUEST);
        self.waiting.drain(..take).collect()
    }

    /// How long to wait before a round of the last, partial batches (full batches may go at
    /// once: time passes while others are sent).
    pub(crate) fn pause(&mut self, policy: &RetryPolicy, now_ms: u64) -> std::time::Duration {
        self.backoff.next_delay(policy, now_ms)
    }

    /// Everything still waiting: given up on (the run or the update is over).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        self.rounds.clear();
        std::mem::take(&mut self.waiting)
    }
}

#[derive(Debug)]
enum Stage {
    Idle,
    Patch(Batch, Exchange),
    PauseBeforeReread(Batch, Error),
    Reread(Batch, Exchange),
    PauseBeforeRound,
    Done,
}

/// The operation that updates any number of entitlements ([`update_entitlements`]).
#[derive(Debug)]
pub struct UpdateEntitlements {
    config: Config,
    target: FulfillmentStatus,
    /// The ids, each once, in the order given; batches name them by place.
    order: Vec<SharedStr>,
    /// What is known of each id of `order`, by place.
    known: Vec<Known>,
    queue: VecDeque<Batch>,
    /// `None`: `UPDATE_FAILED` ids are reported as such at once, for a caller that pools
    /// them across updates ([`UpdateEntitlements::without_rounds`]).
    pool: Option<UpdateFailedPool<Pooled>>,
    stage: Stage,
}

/// What an update knows of one of its ids.
#[derive(Clone, Copy, Debug, Default)]
struct Known {
    /// Its final outcome, once it has one.
    result: Option<UpdateStatus>,
    /// Its state could not be confirmed.
    unconfirmed: bool,
}

/// The operation that sets `ids` to `status`. Empty ids are refused before anything is
/// sent; repeated ids are sent once.
pub fn update_entitlements<S: AsRef<str>>(
    config: &Config,
    ids: &[S],
    status: FulfillmentStatus,
) -> Result<UpdateEntitlements, Error> {
    update_shared(config, ids, |id| SharedStr::from(id.as_ref()), status)
}

/// [`update_entitlements`] of ids the caller holds as `SharedStr` already (`share` hands
/// out each one's), which the update then shares instead of copying.
pub(crate) fn update_shared<T: AsRef<str>>(
    config: &Config,
    ids: &[T],
    share: impl Fn(&T) -> SharedStr,
    status: FulfillmentStatus,
) -> Result<UpdateEntitlements, Error> {
    let mut seen = id_set(ids.len());
    let mut order = Vec::with_capacity(ids.len());
    for (index, item) in ids.iter().enumerate() {
        let id = item.as_ref();
        if id.trim().is_empty() {
            return Err(Error::invalid(
                "ids",
                format!("entitlement id #{index} is empty"),
            ));
        }
        if seen.insert(id) {
            order.push(share(item));
        }
    }
    drop(seen);
    let Ok(count) = u32::try_from(order.len()) else {
        return Err(Error::invalid(
            "ids",
            format!(
                "{} ids given; one update takes at most {}",
                order.len(),
                u32::MAX
            ),
        ));
    };
    let places: Vec<u32> = (0..count).collect();
    let queue = places
        .chunks(MAX_IDS_PER_REQUEST)
        .map(|chunk| Batch::new(chunk.to_vec(), 0))
        .collect();
    Ok(UpdateEntitlements {
        config: config.clone(),
        target: status,
        known: vec![Known::default(); order.len()],
        order,
        queue,
        pool: Some(UpdateFailedPool::new(config.retry_policy())),
        stage: Stage::Idle,
    })
}

impl UpdateEntitlements {
    /// Reports `UPDATE_FAILED` ids as such at once instead of sending them again: for a
    /// caller that pools them across many updates in an [`UpdateFailedPool`] of its own (the
    /// fulfillment engine).
    pub(crate) fn without_rounds(mut self) -> Self {
        self.pool = None;
        self
    }
}

impl Operation for UpdateEntitlements {
    type Output = UpdateReport;

    fn resume(&mut self, input: Input, now_ms: u64) -> Step<UpdateReport> {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Idle | Stage::Done => self.next_batch(now_ms),
            Stage::Patch(batch, mut exchange) => {
                let call = exchange.resume(input, now_ms);
                self.on_patch(batch, exchange, call, now_ms)
            }
            Stage::PauseBeforeReread(batch, _cause) => {
                let query = EntitlementsQuery {
                    ids: self.ids_of(&batch).map(str::to_owned).collect(),
                    first: Some(MAX_IDS_PER_REQUEST as u32),
                    ..Default::default()
                };
                let mut exchange = Exchange::new(
                    Method::Get,
                    join(
                        self.config.helix_url(),
                        "entitlements/drops",
                        &query.to_query_string(),
                    ),
                    helix_auth(&self.config),
                    Replay::Safe,
                    self.config.retry_policy(),
                );
                let call = exchange.resume(Input::Start, now_ms);
                self.on_reread(batch, exchange, call, now_ms)
            }
            Stage::Reread(batch, mut exchange) => {
                let call = exchange.resume(input, now_ms);
                self.on_reread(batch, exchange, call, now_ms)
            }
            Stage::PauseBeforeRound => {
                if let Some(pool) = &mut self.pool {
                    while !pool.is_empty() {
                        let places = pool.take_batch().into_iter().map(|p| p.0).collect();
                        self.queue.push_back(Batch::new(places, 0));
                    }
                }
                self.next_batch(now_ms)
            }
        }
    }
}

impl UpdateEntitlements {
    /// The ids of a batch.
    fn ids_of<'s>(&'s self, batch: &'s Batch) -> impl ExactSizeIterator<Item = &'s str> + 's {
        batch
            .ids
            .iter()
            .map(|&place| self.order[place as usize].as_str())
    }

    fn id(&self, place: u32) -> &str {
        &self.order[place as usize]
    }

    fn set_result(&mut self, place: u32, status: UpdateStatus) {
        self.known[place as usize].result = Some(status);
    }

    fn next_batch(&mut self, now_ms: u64) -> Step<UpdateReport> {
        if let Some(batch) = self.queue.pop_front() {
            let body = update_body(self.ids_of(&batch), self.target);
            let mut exchange = Exchange::new(
                Method::Patch,
                join(self.config.helix_url(), "entitlements/drops", ""),
                helix_auth(&self.config),
                Replay::Unsafe,
                self.config.retry_policy(),
            )
            .json(body);
            let call = exchange.resume(Input::Start, now_ms);
            return self.on_patch(batch, exchange, call, now_ms);
        }
        if let Some(pool) = self.pool.as_mut().filter(|pool| !pool.is_empty()) {
            self.stage = Stage::PauseBeforeRound;
            return Step::Sleep(pool.pause(self.config.retry_policy(), now_ms));
        }
        self.stage = Stage::Done;
        Step::Done(Ok(self.report()))
    }

    fn on_patch(
        &mut self,
        batch: Batch,
        exchange: Exchange,
        call: Call,
        now_ms: u64,
    ) -> Step<UpdateReport> {
        match call {
            Call::Next(pending) => {
                self.stage = Stage::Patch(batch, exchange);
                pending.into_step()
            }
            Call::Answer(Answer::Ok(response)) => match UpdateBody::parse(&response.body) {
                Ok(body) => {
                    // The status of each id of the batch, by its place in the batch (the
                    // last answer for an id answered twice). Twitch answers the ids grouped
                    // by status, in the order they were sent: each is looked for first just
                    // after the one before; a map of the batch is built only for an id that
                    // is not there.
                    let mut statuses = vec![None; batch.ids.len()];
                    let mut by_id: Option<IdMap<&str, usize>> = None;
                    let mut next = 0;
                    for (id, status) in body.pairs() {
                        let place = match batch.ids.get(next) {
                            Some(&place) if self.id(place) == id => Some(next),
                            _ => by_id
                                .get_or_insert_with(|| {
                                    let mut by_id = id_map(batch.ids.len());
                                    for (n, id) in self.ids_of(&batch).enumerate() {
                                        by_id.insert(id, n);
                                    }
                                    by_id
                                })
                                .get(id)
                                .copied(),
                        };
                        if let Some(n) = place {
                            statuses[n] = status;
                            next = n + 1;
                        }
                    }
                    drop(by_id);
                    let mut unknown = Vec::new();
                    for (place, status) in batch.ids.iter().copied().zip(statuses) {
                        match status {
                            Some(UpdateStatus::UpdateFailed) => self.update_failed(place),
                            Some(status) => {
                                if let Some(pool) = &mut self.pool {
                                    pool.settled(&self.order[place as usize]);
                                }
                                self.set_result(place, status);
                            }
                            None => unknown.push(place),
                        }
                    }
                    if unknown.is_empty() {
                        return self.next_batch(now_ms);
                    }
                    let cause = Error::decode("update response", "some ids were not answered");
                    let unknown = Batch {
                        ids: unknown,
                        ..batch
                    };
                    self.ambiguous(unknown, cause, now_ms)
                }
                Err(cause) => self.ambiguous(batch, cause, now_ms),
            },
            Call::Answer(Answer::Ambiguous(cause)) => self.ambiguous(batch, cause, now_ms),
            Call::Answer(Answer::Failed(cause)) => self.stop(batch, cause),
        }
    }

    /// An `UPDATE_FAILED` answer: another round later, or that outcome for good.
    fn update_failed(&mut self, place: u32) {
        let given_back = match &mut self.pool {
            Some(pool) => pool
                .failed(Pooled(place, self.order[place as usize].clone()))
                .err()
                .map(|p| p.0),
            None => Some(place),
        };
        if let Some(place) = given_back {
            self.set_result(place, UpdateStatus::UpdateFailed);
        }
    }

    /// The batch may or may not have been applied: wait, then re-read its ids.
    fn ambiguous(&mut self, mut batch: Batch, cause: Error, now_ms: u64) -> Step<UpdateReport> {
        batch.ambiguous += 1;
        crate::observe::note(&crate::observe::Note::UpdateReread {
            ids: batch.ids.len(),
        });
        let wait = batch.backoff.next_delay(self.config.retry_policy(), now_ms);
        self.stage = Stage::PauseBeforeReread(batch, cause);
        Step::Sleep(wait)
    }

    /// After a re-read: send the ids still in the old status again, splitting a batch that
    /// keeps failing and giving up on a lone id that failed every try.
    fn resend(&mut self, batch: Batch) {
        let policy = self.config.retry_policy();
        if batch.ambiguous < SPLIT_AFTER {
            self.queue.push_front(batch);
        } else if batch.ids.len() > 1 {
            let mut ids = batch.ids;
            let second = ids.split_off(ids.len() / 2);
            self.queue.push_front(Batch::new(second, SPLIT_AFTER - 1));
            self.queue.push_front(Batch::new(ids, SPLIT_AFTER - 1));
        } else if batch.ambiguous <= policy.max_retries {
            self.queue.push_front(batch);
        } else {
            self.set_unconfirmed(&batch.ids);
        }
    }

    fn set_unconfirmed(&mut self, places: &[u32]) {
        for &place in places {
            self.known[place as usize].unconfirmed = true;
        }
    }

    fn on_reread(
        &mut self,
        batch: Batch,
        mut exchange: Exchange,
        call: Call,
        now_ms: u64,
    ) -> Step<UpdateReport> {
        match call {
            Call::Next(pending) => {
                self.stage = Stage::Reread(batch, exchange);
                pending.into_step()
            }
            Call::Answer(Answer::Ok(response)) => match parse_entitlements_page(&response.body) {
                Ok(page) => {
                    let done: HashSet<&str> = page
                        .entitlements
                        .iter()
                        .filter(|e| e.fulfillment_status == self.target)
                        .map(|e| e.id.as_str())
                        .collect();
                    let (applied, resend): (Vec<u32>, Vec<u32>) = batch
                        .ids
                        .iter()
                        .partition(|&&place| done.contains(self.id(place)));
                    drop(done);
                    for place in applied {
                        self.set_result(place, UpdateStatus::Success);
                    }
                    if !resend.is_empty() {
                        self.resend(Batch {
                            ids: resend,
                            ..batch
                        });
                    }
                    self.next_batch(now_ms)
                }
                Err(e) => {
                    let call = exchange.retry_unreadable(e, now_ms);
                    self.on_reread(batch, exchange, call, now_ms)
                }
            },
            Call::Answer(Answer::Failed(cause)) | Call::Answer(Answer::Ambiguous(cause)) => {
                self.stop(batch, cause)
            }
        }
    }

    /// A definite failure: report what is known. With no outcome yet, the cause alone.
    fn stop(&mut self, batch: Batch, cause: Error) -> Step<UpdateReport> {
        self.stage = Stage::Done;
        for pooled in self
            .pool
            .as_mut()
            .map(|pool| pool.drain())
            .unwrap_or_default()
        {
            self.set_result(pooled.0, UpdateStatus::UpdateFailed);
        }
        self.set_unconfirmed(&batch.ids);
        for queued in std::mem::take(&mut self.queue) {
            self.set_unconfirmed(&queued.ids);
        }
        if self.known.iter().all(|known| known.result.is_none()) {
            return Step::Done(Err(cause));
        }
        Step::Done(Err(Error::PartialUpdate {
            report: Box::new(self.report()),
            cause: Box::new(cause),
        }))
    }

    /// The report, in the order the ids were given. The operation is over: its ids move
    /// into the report.
    fn report(&mut self) -> UpdateReport {
        let outcomes = self.known.iter().filter(|k| k.result.is_some()).count();
        let mut report = UpdateReport {
            outcomes: Vec::with_capacity(outcomes),
            unconfirmed: Vec::new(),
        };
        let known = std::mem::take(&mut self.known);
        for (id, known) in std::mem::take(&mut self.order).into_iter().zip(known) {
            match (known.result, known.unconfirmed) {
                (Some(status), true) => {
                    report.unconfirmed.push(id.clone());
                    report.outcomes.push(IdOutcome { id, status });
                }
                (Some(status), false) => report.outcomes.push(IdOutcome { id, status }),
                (None, true) => report.unconfirmed.push(id),
                (None, false) => {}
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_serde(text: &str) -> Option<Vec<(String, Option<UpdateStatus>)>> {
        let body: UpdateBody = serde_json::from_str(text).ok()?;
        Some(body.pairs().map(|(id, s)| (id.to_owned(), s)).collect())
    }

    fn by_fast(text: &str) -> Option<Vec<(String, Option<UpdateStatus>)>> {
        let body = UpdateBody::fast(text)?;
        Some(body.pairs().map(|(id, s)| (id.to_owned(), s)).collect())
    }

    const ANSWER: &str = r#"{"data":[{"ids":["a","b"],"status":"SUCCESS"},{"status":"NOT_FOUND","ids":["c"]},{"ids":[],"status":"WHAT"},{"status":"UPDATE_FAILED"}]}"#;

    #[test]
    fn the_fast_reader_reads_twitchs_answer_as_serde_does() {
        let fast = by_fast(ANSWER).expect("Twitch's shape is read fast");
        assert_eq!(Some(&fast), by_serde(ANSWER).as_ref());
        assert_eq!(fast.len(), 3);
        for text in [
            r#"{"data":[{"ids":["a\u0062"],"status":"SUCCESS"}]}"#,
            r#"{"data":[{"ids":["a"],"ids":["b"],"status":"SUCCESS"}]}"#,
            r#"{"data":[{"ids":["a"],"status":"SUCCESS","x":1}]}"#,
            r#"{"data":[{"ids":["a"]}]}"#,
            r#"{"data":[],"more":true}"#,
            r#"{"data":[]}]"#,
        ] {
            assert_eq!(by_fast(text), None, "{text}");
        }
    }

    /// Every answer one edit away from a good one: read the same way by both, or left to
    /// serde_json.
    #[test]
    fn the_fast_reader_agrees_with_serde_one_edit_away() {
        let edits = [
            "", "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "\u{1}", "x",
        ];
        let mut checked = 0;
        for at in 0..=ANSWER.len() {
            for edit in edits {
                for text in [
                    format!("{}{edit}{}", &ANSWER[..at], &ANSWER[at..]),
                    format!(
                        "{}{edit}{}",
                        &ANSWER[..at],
                        &ANSWER[(at + 1).min(ANSWER.len())..]
                    ),
                ] {
                    if let Some(fast) = by_fast(&text) {
                        assert_eq!(Some(fast), by_serde(&text), "{text}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 200, "{checked}");
    }
}
