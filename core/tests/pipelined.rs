//! Where the pipelined driver (`Client::fulfill`) sends requests: side by side on its
//! workers when the server takes its time, from the calling thread when the server answers
//! at once (handing those to a worker costs more than it saves).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

mod common;

use common::{fake_config, fake_of_game, GAME};
use fake_twitch::FakeTwitch;
use twitch_drops::{
    Client, EntitlementsQuery, FulfillOptions, GrantOutcome, GrantRequest, HttpRequest,
    HttpResponse, MemoryJournal, SystemClock, Transport, TransportError, UreqTransport,
};

/// The built-in transport, taking `delay` more per request, noting the most requests out at
/// once and the threads that sent them.
struct Watched {
    inner: UreqTransport,
    delay: Duration,
    out: AtomicUsize,
    most_out: AtomicUsize,
    senders: Mutex<Vec<ThreadId>>,
}

impl Watched {
    fn new(delay: Duration) -> Self {
        Watched {
            inner: UreqTransport::new(),
            delay,
            out: AtomicUsize::new(0),
            most_out: AtomicUsize::new(0),
            senders: Mutex::new(Vec::new()),
        }
    }
}

impl Watched {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let out = self.out.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_out.fetch_max(out, Ordering::SeqCst);
        self.senders
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        std::thread::sleep(self.delay);
        let answer = self.inner.send(request);
        self.out.fetch_sub(1, Ordering::SeqCst);
        answer
    }
}

/// Drains the fake through `transport` with 4 requests in flight; the requests sent.
fn drain(fake: &FakeTwitch, transport: &Watched) -> u64 {
    let config = fake_config(fake);
    let send = |request| transport.send(request);
    let client = Client::with_transport(config, send, SystemClock).expect("client");
    let report = client
        .fulfill(
            FulfillOptions {
                requests_in_flight: 4,
                // Pages of 100, quick to serve and to read even in a debug build.
                ..FulfillOptions::new(EntitlementsQuery::new().game(GAME).first(100))
            },
            &mut MemoryJournal::new(),
            &mut |_: &GrantRequest| GrantOutcome::Granted,
        )
        .expect("valid options");
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fulfilled, 3_000);
    client.requests_sent()
}

#[test]
fn requests_go_side_by_side_when_the_server_takes_its_time() {
    let fake = fake_of_game(3_000, 50, 11);
    let slow = Watched::new(Duration::from_millis(15));
    drain(&fake, &slow);
    assert!(
        slow.most_out.load(Ordering::SeqCst) > 1,
        "a slow server's requests were sent one at a time"
    );
    let here = std::thread::current().id();
    let senders = slow.senders.lock().unwrap();
    assert_eq!(
        senders[0], here,
        "the first request runs on the calling thread"
    );
    assert!(
        senders.iter().skip(1).all(|t| *t != here),
        "a slow server's request was sent from the calling thread, between grants"
    );
}

#[test]
fn requests_go_from_the_calling_thread_while_the_server_answers_at_once() {
    let fake = fake_of_game(3_000, 50, 11);
    let quick = Watched::new(Duration::ZERO);
    let requests = drain(&fake, &quick);
    let here = std::thread::current().id();
    let senders = quick.senders.lock().unwrap();
    assert_eq!(senders.len() as u64, requests);
    // The first request runs here and tells how quick the server is; how many follow it
    // here depends on how loaded the machine is (a request that takes 2 ms sends the next
    // few from a worker, until quick answers bring the running mean down again). Of some
    // 60 requests (pages of 100) answered in well under a millisecond, more than the first
    // run here.
    assert_eq!(senders[0], here, "the first request went to a worker");
    let run_here = senders.iter().filter(|t| **t == here).count();
    assert!(
        run_here >= 2,
        "only {run_here} of {} requests ran on the calling thread",
        senders.len()
    );
}
