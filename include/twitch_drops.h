/*
 * twitch_drops.h: the C ABI of the Twitch Drops SDK (libtwitchdrops).
 *
 * Find the Drops entitlements viewers earned, grant them in your game, mark them FULFILLED,
 * and download analytics reports, with Twitch's rules (paging, batches of 100, tokens, rate
 * limits, retries, PATCHes whose answer was lost) handled inside the library.
 *
 * CONVENTIONS
 *   - Every symbol starts with td_; functions are td_<type>_<verb>(handle, ...). A const
 *     handle means the call only reads it.
 *   - Handles are opaque, made by a _new / begin / call and freed by their _free; _free(NULL)
 *     does nothing. Never call free() on anything from this library.
 *   - Fallible calls return td_result (TD_OK == 0) and write results through trailing *_out
 *     pointers only on success. TD_END and TD_NOT_AVAILABLE are normal answers.
 *   - Failure detail lives in a td_error the caller owns and passes as the last argument
 *     (or NULL): td_error_message, td_error_http_status, td_error_twitch_message,
 *     td_error_rate_limit_reset, td_error_transport_kind, td_error_update_report,
 *     td_error_fulfill_report, td_error_eventsub_status. There is no global or
 *     thread-local error state.
 *   - Text going in is const char *, NUL-terminated, checked for NULL and UTF-8
 *     (TD_NULL_POINTER, TD_INVALID_UTF8). Text coming out is a td_str view {ptr, len},
 *     borrowed from the handle it came from (valid until that handle is freed, unless the
 *     function says otherwise) and NUL-terminated, so ptr is also a C string. Copies into
 *     your buffers use (buf, len, &len_out); too small is TD_BUFFER_TOO_SMALL with the size
 *     needed in *len_out.
 *   - Enum arguments are passed as uint32_t holding a value of the named enum; unknown
 *     values are TD_INVALID_INPUT.
 *   - Every function catches internal panics (TD_PANIC) and checks every pointer it is given.
 *
 * THREADS
 *   td_client: shared freely; any number of threads may call it at once (one token fetch for
 *   all). Results (pages, reports, tokens, bytes, EventSub messages): read-only, readable
 *   from any thread.
 *   td_client_config, queries, td_pages, td_op, td_fulfill_run, td_error, td_journal,
 *   td_fulfill_options, td_deduplicator: one thread at a time (movable). Callbacks run on
 *   the calling thread.
 *
 * THREE WAYS TO RUN
 *   1. Blocking, built-in HTTPS: td_client_entitlements_page, td_pages_next,
 *      td_client_update_entitlements, ... block the calling thread (use a worker thread).
 *   2. Blocking, your HTTP: td_client_config_set_transport(config, fn, user_data) routes
 *      every request through your callback (an engine's or console's HTTP stack); the
 *      library never opens a socket. td_client_config_set_clock injects time and sleeping.
 *   3. Non-blocking, your HTTP (game threads): td_client_begin_* makes a td_op; each frame
 *      td_op_poll(op, now_ms, &step) says SEND (perform step.request with your async HTTP,
 *      then td_op_feed_response or td_op_feed_transport_error), SLEEP (wait step.sleep_ms,
 *      then td_op_feed_slept) or DONE (td_op_take_*). Token fetches appear as SEND steps.
 *
 * TYPICAL USE
 *   td_client_config_new(client_id, &cfg, err); td_client_config_set_client_secret(cfg, s);
 *   td_client_new(cfg, &client, err);
 *   query: td_entitlements_query_set_game_id / _set_status(TD_CLAIMED) / _set_first(1000);
 *   td_client_entitlement_pages + td_pages_next: grant each entitlement in your game, keep
 *   its id; then td_client_update_entitlements(ids, TD_FULFILLED) and check each outcome.
 *   Read everything first, then update: updating while paging a CLAIMED filter skips items.
 *
 * FULFILLMENT (blocking)
 *   td_client_fulfill(client, options, journal, grant, user_data, &report, err) grants every
 *   CLAIMED entitlement matching the options (td_fulfill_options_set_game_id...) once, through
 *   your grant callback (uint32_t grant(void *user_data, const td_grant_request *request,
 *   td_grant_reason *reason), answering TD_GRANT_GRANTED, _RETRY_LATER or _FAILED), and marks
 *   it FULFILLED. Each step is recorded in a td_journal first (td_journal_new_file, _memory,
 *   or _callbacks for your own storage), so a crash never leads to a grant given twice: the
 *   next run with the same journal marks what was granted and hands grants in doubt back as
 *   `resumed`. td_client_fulfill_entitlements does the same for given entitlements (pushed
 *   by EventSub). A run that stops early fails with its cause (TD_JOURNAL...) and leaves its
 *   report in td_error_fulfill_report.
 *
 * FULFILLMENT (non-blocking, game threads)
 *   td_client_begin_fulfill(client, options, journal, &run, err) is the same run driven by
 *   your loop: each frame, td_fulfill_run_poll(run, now_ms, &step, err) until TD_RUN_IDLE,
 *   starting what each step asks: TD_RUN_SEND (step.request with your async HTTP), TD_RUN_SLEEP
 *   (step.sleep_ms) or TD_RUN_GRANT (give step.grant in the game); several may be out at once.
 *   Answer each by step.ticket, in any order, when it completes: td_fulfill_run_feed_response
 *   / _feed_transport_error / _feed_slept / _feed_grant. At TD_RUN_DONE take the report with
 *   td_fulfill_run_take_report. The journal works inside td_fulfill_run_poll.
 *
 * EVENTSUB
 *   td_eventsub_verify(headers, n, body, len, secret, now_ms, &message, err) checks and reads
 *   a drop.entitlement.grant webhook message (refused: TD_EVENTSUB_*, answer
 *   td_error_eventsub_status); answer td_eventsub_message_response_status / _body; act on a
 *   notification once (td_deduplicator_first_time), fulfilling its entitlements
 *   (td_eventsub_message_entitlement) with td_client_fulfill_entitlements.
 */


#ifndef TWITCH_DROPS_H
#define TWITCH_DROPS_H

/* Generated by cbindgen 0.29.4 from ffi/src (see ffi/cbindgen.toml). Do not edit. */

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

// The outcome of a call. `TD_OK` (0) is success; `TD_END` and `TD_NOT_AVAILABLE` are normal
// answers, not failures; everything else is a failure whose detail a `td_error` holds.
// Values 1-99 are problems with the call itself (nothing was sent to Twitch); values from 100
// come from Twitch or the network.
typedef enum td_result {
  // Success.
  TD_OK = 0,
  // A required pointer argument was NULL.
  TD_NULL_POINTER = 1,
  // A string argument was not valid UTF-8.
  TD_INVALID_UTF8 = 2,
  // An argument was rejected before anything was sent (an empty id, 101 ids, `first` out
  // of range, an insecure URL, an unknown enum value...). The message names the argument.
  TD_INVALID_INPUT = 3,
  // A caller's buffer was too small; nothing was copied and `*len_out` holds the size
  // needed, counting the terminating NUL.
  TD_BUFFER_TOO_SMALL = 4,
  // An index was past the end of a list.
  TD_INDEX_OUT_OF_RANGE = 5,
  // The call does not fit the handle's state (feeding a response to an operation that did
  // not ask for one, taking a result twice or of the wrong type...).
  TD_WRONG_STATE = 6,
  // The value asked for does not exist (no rate-limit reading yet, no user token).
  TD_NOT_AVAILABLE = 7,
  // An iteration is over: there are no more pages. Not a failure.
  TD_END = 8,
  // A bug inside the library was caught at the boundary; the handle involved may be in an
  // unspecified (but memory-safe) state.
  TD_PANIC = 9,
  // Twitch refused the credentials even after a fresh token, or no token could be had
  // (wrong secret, revoked token, missing scope).
  TD_UNAUTHORIZED = 100,
  // Twitch answered with an error status that is not retried (400, 403, 404) or a 5xx that
  // lasted through every retry. `td_error_http_status` and `td_error_twitch_message` tell
  // which.
  TD_HTTP = 101,
  // Still rate limited after the allowed waits; `td_error_rate_limit_reset` says when the
  // bucket refills.
  TD_RATE_LIMITED = 102,
  // No whole response could be had, after the retries; `td_error_transport_kind` says why.
  TD_TRANSPORT = 103,
  // A success response whose body could not be read.
  TD_DECODE = 104,
  // An update stopped part way; `td_error_update_report` holds the outcomes known and the
  // ids left unconfirmed.
  TD_PARTIAL_UPDATE = 105,
  // The fulfillment journal could not be read or written: the run stopped there, so that no
  // grant goes unrecorded (`td_error_fulfill_report` has what it did before).
  TD_JOURNAL = 106,
  // An EventSub message whose signature does not match: not sent by Twitch, or the secret
  // is not the subscription's. Answer `td_error_eventsub_status` (403).
  TD_EVENTSUB_BAD_SIGNATURE = 107,
  // An EventSub message whose timestamp is more than 10 minutes from now (a replay, or a
  // clock that is wrong). Answer `td_error_eventsub_status` (403).
  TD_EVENTSUB_STALE = 108,
  // An EventSub message that is not well formed: a `Twitch-Eventsub-*` header missing, a
  // timestamp that is not RFC 3339, an unknown message type, a body that is not what the
  // type says. Answer `td_error_eventsub_status` (400).
  TD_EVENTSUB_MALFORMED = 109,
} td_result;

// Where an entitlement stands. As a filter, `TD_ANY_STATUS` means no filter.
typedef enum td_fulfillment_status {
  // No filter (queries only).
  TD_ANY_STATUS = 0,
  // Earned by the viewer, not yet delivered by the game.
  TD_CLAIMED = 1,
  // Delivered by the game.
  TD_FULFILLED = 2,
} td_fulfillment_status;

// Why a transport (the built-in one or yours) got no whole response.
typedef enum td_transport_error_kind {
  // Not a transport failure.
  TD_TRANSPORT_NONE = 0,
  // The request never reached the server (name lookup, connection refused, TLS set-up,
  // connect timeout). Safe to resend anything.
  TD_TRANSPORT_CONNECT = 1,
  // The request may have reached the server but no whole response came back (reset,
  // closed, cut short, read timeout).
  TD_TRANSPORT_INTERRUPTED = 2,
  // Refused before sending (an insecure URL, a URL the transport cannot handle, no
  // transport at all). Resending will not help.
  TD_TRANSPORT_REFUSED = 3,
  // The response body was larger than the transport accepts.
  TD_TRANSPORT_TOO_LARGE = 4,
} td_transport_error_kind;

// What kind of message Twitch sent.
typedef enum td_eventsub_type {
  // A kind newer than this library knows; answer with the message's response.
  TD_EVENTSUB_OTHER = 0,
  // Events: for `drop.entitlement.grant`, the entitlements to grant. Deduplicate by id
  // (`td_deduplicator_first_time`), act, then answer (204).
  TD_EVENTSUB_NOTIFICATION = 1,
  // Twitch checks the callback is yours: answer with the response (200, the challenge).
  TD_EVENTSUB_VERIFICATION = 2,
  // The subscription ended (`td_eventsub_message_subscription_status` says why); answer
  // 204.
  TD_EVENTSUB_REVOCATION = 3,
} td_eventsub_type;

// How each entitlement of a run ended.
typedef enum td_settled_state {
  // Granted and marked FULFILLED.
  TD_SETTLED_FULFILLED = 1,
  // Found FULFILLED already while recovering an interrupted run: granted then, not now.
  TD_SETTLED_ALREADY_FULFILLED = 2,
  // The grant callback answered RETRY_LATER: left CLAIMED.
  TD_SETTLED_RETRY_LATER = 3,
  // The grant callback answered FAILED (`detail` is its reason): left CLAIMED.
  TD_SETTLED_GRANT_FAILED = 4,
  // Granted, but Twitch refused the update for good (`detail`: `INVALID_ID`, `NOT_FOUND`
  // or `UNAUTHORIZED`).
  TD_SETTLED_REJECTED = 5,
  // Granted, but Twitch would not confirm FULFILLED: the journal keeps it, and the next
  // run marks it without granting again.
  TD_SETTLED_UNMARKED = 6,
  // Not granted: this viewer's updates kept failing, so the run skipped their others.
  TD_SETTLED_QUARANTINED = 7,
  // Not granted: the run stopped on an error before reaching it. Left CLAIMED.
  TD_SETTLED_NOT_REACHED = 8,
  // Not granted here: another instance sharing the journal holds its claim.
  TD_SETTLED_HELD_ELSEWHERE = 9,
} td_settled_state;

// What a run needs next (`td_fulfill_run_poll`).
typedef enum td_run_step_kind {
  // Perform `request` with your HTTP stack, then answer `ticket` with
  // `td_fulfill_run_feed_response` (any status) or `td_fulfill_run_feed_transport_error`.
  TD_RUN_SEND = 1,
  // Wait `sleep_ms` milliseconds without blocking, then `td_fulfill_run_feed_slept`.
  TD_RUN_SLEEP = 2,
  // Give `grant` in your game (or decide you cannot), then `td_fulfill_run_feed_grant`.
  TD_RUN_GRANT = 3,
  // Every step handed out is still out: poll again after answering one (next frame).
  TD_RUN_IDLE = 4,
  // The run is over: `result` says how; `td_fulfill_run_take_report` gives the report.
  TD_RUN_DONE = 5,
} td_run_step_kind;

// How much a log line matters.
typedef enum td_log_level {
  // Something failed for good.
  TD_LOG_ERROR = 1,
  // A human should notice: retries, waits for the rate limit, a viewer quarantined.
  TD_LOG_WARN = 2,
  // The run's milestones: tokens, journal recovery, passes over the list.
  TD_LOG_INFO = 3,
  // Every request and its answer.
  TD_LOG_DEBUG = 4,
} td_log_level;

// What an operation needs next.
typedef enum td_step_kind {
  // Perform `request`, then call `td_op_feed_response` (any status) or
  // `td_op_feed_transport_error` (no whole response).
  TD_STEP_SEND = 1,
  // Wait `sleep_ms` milliseconds (backoff, rate limit, device-flow poll interval) without
  // blocking the game thread, then call `td_op_feed_slept`.
  TD_STEP_SLEEP = 2,
  // The operation is over: `result` says how; take its value with the `td_op_take_*`
  // function of its kind.
  TD_STEP_DONE = 3,
} td_step_kind;

// What Twitch did with one id of an update.
typedef enum td_update_status {
  // Now in the requested status.
  TD_UPDATE_SUCCESS = 1,
  // Not a well-formed entitlement id.
  TD_UPDATE_INVALID_ID = 2,
  // No such entitlement.
  TD_UPDATE_NOT_FOUND = 3,
  // The entitlement belongs to a game (or user) this client may not update.
  TD_UPDATE_UNAUTHORIZED = 4,
  // Twitch could not update it, even after the retries.
  TD_UPDATE_FAILED = 5,
} td_update_status;

// What a grant callback answers (returned as `uint32_t`).
typedef enum td_grant_outcome {
  // The reward is in the game: the entitlement is marked FULFILLED.
  TD_GRANT_GRANTED = 1,
  // Not now (the game's service is down...): it stays CLAIMED for a later run.
  TD_GRANT_RETRY_LATER = 2,
  // Not in this run (the viewer never linked an account...): it stays CLAIMED, and the
  // reason given with `td_grant_reason_set` is reported.
  TD_GRANT_FAILED = 3,
} td_grant_outcome;

// A page of analytics reports and the next cursor. Owned by the caller
// (`td_analytics_page_free`); read-only.
typedef struct td_analytics_page td_analytics_page;

// Filters for `GET /analytics/games`: game, report type (`overview_v2`), date range (both
// or neither; `YYYY-MM-DD` or RFC 3339 midnight UTC), page size (1-100) and cursor. Checked
// when used (`TD_INVALID_INPUT`, nothing sent). Setters copy their arguments.
//
// Thread safety: not synchronized; one thread at a time.
typedef struct td_analytics_query td_analytics_query;

// One downloadable report. Borrowed from its page (valid until the page is freed);
// read-only.
typedef struct td_analytics_report td_analytics_report;

// Downloaded bytes (a report's CSV). Owned by the caller (`td_bytes_free`); read-only.
typedef struct td_bytes td_bytes;

// A Drops client: one application's credentials and settings, its token (fetched once and
// shared by every call) and its rate-limit reading.
//
// Made by `td_client_new`, freed by `td_client_free`. Pages iterators and step operations
// made from it keep what they need alive, so they may outlive it.
//
// Thread safety: every function taking `const td_client *` may be called from any number
// of threads at once (a token is fetched once for all of them). Blocking calls run the
// transport callback and clock callbacks on the calling thread.
typedef struct td_client td_client;

// What a client is made from: the client id, credentials, base URLs, retry policy, and the
// transport and clock. Made by `td_client_config_new`, changed by the setters (each
// replaces the previous value), read (not consumed) by `td_client_new`, freed by
// `td_client_config_free`. One config may make several clients.
//
// Thread safety: not synchronized; use from one thread at a time (it may be moved).
typedef struct td_client_config td_client_config;

// Message ids seen recently, so a message Twitch delivers twice is acted on once. An id is
// remembered for 20 minutes (longer than `td_eventsub_verify` accepts a message); past its
// capacity the oldest ids are forgotten first.
//
// Made by `td_deduplicator_new`, freed by `td_deduplicator_free`. Thread safety: one thread
// at a time; guard it with your own lock when webhook handlers run on several threads.
typedef struct td_deduplicator td_deduplicator;

// A pending device-code login: show the user code and the verification URI to the user,
// then finish it with `td_client_finish_device_flow` (or `td_client_begin_finish_device_flow`).
// Holds the device code itself (a secret, never exposed). Owned by the caller
// (`td_device_code_free`); read-only.
typedef struct td_device_code td_device_code;

// A reward a viewer earned: grant `benefit_id` to `user_id`, then mark it FULFILLED.
// Borrowed from its page (or EventSub message): valid until that is freed. Read-only: any
// thread may read it.
typedef struct td_entitlement td_entitlement;

// One page of entitlements and the cursor of the next. Owned by the caller (free with
// `td_entitlements_page_free`); read-only, so any number of threads may read it.
typedef struct td_entitlements_page td_entitlements_page;

// Filters for listing entitlements: ids (repeatable, at most 100), user, game, status, page
// size (`first`, 1-1000) and cursor (`after`). Limits are checked when the query is used
// (`TD_INVALID_INPUT`, nothing sent). Setters copy their arguments.
//
// Thread safety: not synchronized; one thread at a time. Calls that use it only read it.
typedef struct td_entitlements_query td_entitlements_query;

// The detail of the last failure of a call it was passed to: the code, a message for
// people, and for errors from Twitch the HTTP status, Twitch's own message, the rate-limit
// reset, the transport failure kind, a partial update's report, the report of a fulfillment
// run that stopped early, or the status to answer a refused EventSub message with.
//
// Make one with `td_error_new`, pass it as the last argument of calls (or pass NULL when
// the code is enough), free it with `td_error_free`. Each call that takes it resets it
// first, so afterwards it describes that call: `td_error_code` is `TD_OK` after a success.
// Messages never contain tokens or secrets.
//
// Thread safety: one thread at a time; give each thread its own.
typedef struct td_error td_error;

// A verified webhook message: its kind and id, the subscription it is about, the
// entitlements a `drop.entitlement.grant` notification carries, and the answer to send.
//
// Made by `td_eventsub_verify`; freed by `td_eventsub_message_free`. Views and entitlements
// from it are valid until it is freed. Read-only: any thread may read it.
typedef struct td_eventsub_message td_eventsub_message;

// Which entitlements a run fulfills and how: the game (and optionally the viewer) whose
// CLAIMED entitlements are listed, how patient to be with failing viewers, and an optional
// settlement callback. Setters copy their arguments.
//
// Made by `td_fulfill_options_new`, freed by `td_fulfill_options_free`. Thread safety: one
// thread at a time; the calls that use it only read it.
typedef struct td_fulfill_options td_fulfill_options;

// The totals of a run: every entitlement taken up ends in exactly one of FULFILLED,
// ALREADY_FULFILLED, RETRY_LATER, GRANT_FAILED, REJECTED, UNMARKED, QUARANTINED and
// NOT_REACHED (their counts sum to `listed`).
//
// Owned by the caller (`td_fulfill_report_free`) when a call returned it; borrowed from a
// `td_error` for a run that stopped early (`td_error_fulfill_report`). Read-only: any thread
// may read it.
typedef struct td_fulfill_report td_fulfill_report;

// A fulfillment run your loop drives without ever blocking: the same engine and guarantees
// as `td_client_fulfill` (journal first, each entitlement granted once, marked FULFILLED in
// batches of 100, recovery after a crash), with you performing the requests, the waits and
// the grants, each when you can. Poll it (each frame): it hands out SEND, SLEEP and GRANT
// steps, each with a ticket; several may be out at once (up to the options' requests in
// flight, and a batch's grants); answer each by its ticket in any order. IDLE means all that
// was handed out is still out. The journal's work and the settlement callback run inside
// `td_fulfill_run_poll`; a token the run needs is fetched with SEND steps.
//
// A batch's grants (up to 100) are recorded in the journal together, once all are answered:
// answer each grant promptly (one left unanswered holds up the run, and a crash meanwhile
// hands the whole batch back as `resumed`). The settlement callback must not call this run's
// functions. A run whose poll failed on an internal error (`TD_PANIC`) is over: polls answer
// DONE with `TD_PANIC`.
//
// Made by `td_client_begin_fulfill` or `td_client_begin_fulfill_entitlements`; free with
// `td_fulfill_run_free` at any time (an unfinished run is abandoned: what was granted and
// journaled is marked by the next run with the same journal, grants in doubt come back
// `resumed`). Keeps what it needs of its client alive; borrows its journal.
//
// Thread safety: one thread at a time (it may be moved between threads).
typedef struct td_fulfill_run td_fulfill_run;

// Where a grant callback leaves the reason of a `TD_GRANT_FAILED` answer. Owned by the
// library, valid only during the callback that received it.
typedef struct td_grant_reason td_grant_reason;

// The response a transport callback builds: set the status, add headers, append the body;
// or report that no whole response could be had with `td_http_response_fail`. Owned by the
// library and valid only during the callback that received it.
typedef struct td_http_response td_http_response;

// A journal: durable storage for the fulfillment engine's records. Before calling the grant
// callback the engine records the intent, after it the answer, and once Twitch has the
// entitlement FULFILLED that it is settled; a run reads what an interrupted run left first,
// marks what was granted without granting again, and hands grants in doubt to the grant
// callback again as `resumed`.
//
// Made by `td_journal_new_file`, `td_journal_new_memory` or `td_journal_new_callbacks`;
// freed by `td_journal_free`. Keep the same journal (the same file, the same store) from run
// to run: a new one forgets what a crash left in doubt. Several instances (processes,
// machines) may share one store, each with its own `td_journal`, through callbacks with a
// `claim` (see `td_journal_callbacks`): each entitlement is then granted by one of them.
//
// Thread safety: one run at a time (it may be moved between threads).
typedef struct td_journal td_journal;

// What a journal's load callback hands its records to. Owned by the library, valid only
// during the callback that received it.
typedef struct td_journal_sink td_journal_sink;

// A user access token and refresh token, to persist between runs and give back with
// `td_client_config_set_user_token`. Its views are credentials: store them safely, never
// log them. Owned by the caller (`td_oauth_token_free`); read-only.
typedef struct td_oauth_token td_oauth_token;

// One operation (a page, an update, an analytics page, a download, a validation, a device
// flow) driven by the host without blocking: poll it, perform what it asks with your own
// HTTP stack and timers, feed the answer, and poll again until `TD_STEP_DONE`. Token
// requests are answered inside it from its client's token store (shared with the client's
// other calls; a needed token fetch shows up as ordinary SEND steps).
//
// Made by the `td_client_begin_*` functions and `td_pages_begin_next`; free with
// `td_op_free` at any time (an unfinished operation is abandoned). Keeps what it needs of
// its client alive.
//
// Thread safety: one thread at a time (it may be moved between threads, e.g. polled on the
// game thread and fed from an HTTP completion thread, with your own synchronization).
typedef struct td_op td_op;

// Every page of a query, one request per page, until the last page or the first error.
// Made by `td_client_entitlement_pages`; free with `td_pages_free`. Keeps its client alive.
//
// Drive it either blocking (`td_pages_next`) or with the step API (`td_pages_begin_next`,
// then `td_pages_advance` with the page the operation produced).
//
// Thread safety: one thread at a time (it may be moved between threads).
typedef struct td_pages td_pages;

// A graceful stop for fulfillment runs, raised from any thread or a signal handler: the
// runs given it (`td_fulfill_options_set_stop_signal`) start no new grant, let the running
// ones finish, journal their answers, mark what was granted and end with the report's
// `td_fulfill_report_interrupted` true. Made by `td_stop_signal_new`, freed by
// `td_stop_signal_free` (options and runs keep their own reference).
typedef struct td_stop_signal td_stop_signal;

// What Twitch says about a token (`td_client_validate_token`). Owned by the caller
// (`td_token_info_free`); read-only.
typedef struct td_token_info td_token_info;

// The outcome of every id of an update, in the order the ids were given (repeats once), and
// the ids whose state could not be confirmed (re-read them before trying again).
//
// Owned by the caller (`td_update_report_free`) when a call returned it; borrowed from a
// `td_error` for `TD_PARTIAL_UPDATE`. Read-only: any thread may read it.
typedef struct td_update_report td_update_report;

// A borrowed UTF-8 string: `len` bytes at `ptr`, followed by a NUL byte that `len` does not
// count (so `ptr` may also be used as a C string). Never NULL: an empty or absent value is
// `{"", 0}`. It lives as long as the handle it came from (each function says which); copy it
// to keep it longer. The text never contains credentials unless the function says so.
typedef struct td_str {
  // The first byte; `ptr[len]` is `'\0'`.
  const char *ptr;
  // Length in bytes, not counting the terminating NUL.
  size_t len;
} td_str;

// Retry bounds (the core's `RetryPolicy`). Start from `td_retry_policy_default()` and change
// what you need.
typedef struct td_retry_policy {
  // Retries of one request after a 5xx, a transport failure or an unreadable body.
  uint32_t max_retries;
  // First backoff in milliseconds; each retry doubles it (with jitter) up to `max_delay_ms`.
  uint64_t base_delay_ms;
  // Longest single backoff, in milliseconds.
  uint64_t max_delay_ms;
  // Waits for the rate-limit bucket (429) one request may take before failing with
  // `TD_RATE_LIMITED`.
  uint32_t max_rate_limit_waits;
  // Extra rounds for ids Twitch answered `UPDATE_FAILED`.
  uint32_t update_failed_retries;
} td_retry_policy;

// One HTTP header: a name and a value. Going out (in a `td_http_request`) both are
// NUL-terminated views; coming in (`td_op_feed_response`) they need not be, and are checked
// for UTF-8.
typedef struct td_header {
  // The name (`Content-Type`); matched case-insensitively.
  struct td_str name;
  // The value.
  struct td_str value;
} td_header;

// A fully formed request to perform: absolute URL, every header, optional body. Headers
// include `Authorization` (a credential: do not log it). Send it as is; do not follow
// redirects (the library follows the ones it wants).
//
// Borrowed: in a transport callback, valid until the callback returns; from `td_op_poll`,
// valid until the next call on that operation or its `_free`.
typedef struct td_http_request {
  // `"GET"`, `"POST"` or `"PATCH"`.
  struct td_str method;
  // The absolute URL, query included.
  struct td_str url;
  // The headers, `header_count` of them.
  const struct td_header *headers;
  // How many headers.
  size_t header_count;
  // The body, `body_len` bytes; NULL when there is none.
  const uint8_t *body;
  // The body's length (0 when there is none).
  size_t body_len;
} td_http_request;

// A transport: performs `request` and describes the answer through `response`, before
// returning. Every status is a response (4xx and 5xx too); use `td_http_response_fail` only
// when no whole response came back.
//
// Called on the thread that called the blocking `td_client_*` function, concurrently when
// several threads share the client: `user_data` must allow that. It must not call back into
// the same client, must not keep `request` or `response` after returning, and must not let
// C++ exceptions or longjmp cross it.
typedef void (*td_transport_fn)(void *user_data,
                                const struct td_http_request *request,
                                struct td_http_response *response);

// A clock: milliseconds since the Unix epoch. Waits are measured between two of its
// readings, never against a server's time, so it need not agree with Twitch's clock. Called
// from the threads that call blocking functions.
typedef uint64_t (*td_now_fn)(void *user_data);

// Blocks the calling thread for `ms` milliseconds (backoff, rate limits, device-flow polls).
typedef void (*td_sleep_fn)(void *user_data, uint64_t ms);

// Where `td_eventsub_handle` records delivered message ids, when not in a
// `td_deduplicator`: your database, so that a redelivery after a restart is recognized.
// Write `*first_out` (true the first time `message_id` is recorded) and return 0, or
// return non-zero when it could not be recorded. `message_id` is borrowed for the call.
typedef int32_t (*td_delivery_fn)(void *user_data,
                                  struct td_str message_id,
                                  uint64_t now_ms,
                                  bool *first_out);

// One entitlement's final state in a run. Borrowed: valid only during the settlement
// callback.
typedef struct td_settlement {
  // The entitlement's id.
  struct td_str id;
  // Its viewer.
  struct td_str user_id;
  // How it ended.
  enum td_settled_state state;
  // `TD_SETTLED_GRANT_FAILED`: the grant callback's reason; `TD_SETTLED_REJECTED`: Twitch's
  // status for it; `""` otherwise.
  struct td_str detail;
} td_settlement;

// A settlement callback: hears each entitlement's final state as the run settles it (to log
// it, or to tell the viewer). Called on the thread running the fulfillment, between other
// callbacks; must not keep `settlement` or let C++ exceptions or longjmp cross it.
typedef void (*td_settled_fn)(void *user_data, const struct td_settlement *settlement);

// One entitlement to grant: give `benefit_id` to `user_id` in your game.
//
// Borrowed: valid only during the grant callback (copy what you keep). Every view is
// NUL-terminated.
typedef struct td_grant_request {
  // The entitlement's id: the key to record the grant under in your own records.
  struct td_str id;
  // The reward to give.
  struct td_str benefit_id;
  // The viewer to give it to.
  struct td_str user_id;
  // The game it belongs to.
  struct td_str game_id;
  // When the viewer earned it (RFC 3339); `""` for a grant resumed from the journal.
  struct td_str timestamp;
  // True when an earlier run called the grant callback for this entitlement and was
  // interrupted (a crash) before it could record the answer: the grant may or may not have
  // happened. Check your own records by `id` before giving it again, and answer
  // `TD_GRANT_GRANTED` if it had.
  bool resumed;
} td_grant_request;

// A grant callback: gives the reward of `request` in the game and answers a
// `td_grant_outcome` (any other value counts as `TD_GRANT_FAILED`). For `TD_GRANT_FAILED`,
// `td_grant_reason_set(reason, "...")` says why.
//
// Called for one entitlement at a time, on the thread that called `td_client_fulfill` or
// `td_client_fulfill_entitlements`; never twice for one entitlement in a run, and across runs
// with the same journal only with `resumed` set (after a crash) or after answering
// RETRY_LATER or FAILED. It may
// call other functions of this library (the client is not locked while it runs), must not
// keep `request` or `reason` after returning, and must not let C++ exceptions or longjmp
// cross it.
typedef uint32_t (*td_grant_fn)(void *user_data,
                                const struct td_grant_request *request,
                                struct td_grant_reason *reason);

// The answer of `td_fulfill_run_poll`. Only the fields of `kind` are meaningful.
typedef struct td_run_step {
  // What is needed.
  enum td_run_step_kind kind;
  // SEND, SLEEP, GRANT: names the step when you answer it (never reused within a run).
  uint64_t ticket;
  // SEND: the request; borrowed until the step is answered or the run freed.
  const struct td_http_request *request;
  // SLEEP: how long.
  uint64_t sleep_ms;
  // GRANT: the entitlement; borrowed until the step is answered or the run freed.
  const struct td_grant_request *grant;
  // DONE: `TD_OK`, or why the run stopped early (detail from `td_fulfill_run_take_report`).
  enum td_result result;
} td_run_step;

// Reads the journal: call `td_journal_sink_push(sink, line)` for every record line stored
// (in the order they were appended) and return 0; any other value fails the run with
// `TD_JOURNAL` before anything is granted. `sink` is valid only during the call. A journal
// with a `claim` callback pushes only the lines of what this instance holds, taking over
// expired claims first (see `td_journal_claim_fn`).
typedef int (*td_journal_load_fn)(void *user_data, struct td_journal_sink *sink);

// Appends `count` record lines (`lines[i]`: one JSON object, NUL-terminated, without a
// newline; valid only during the call) and returns 0 once they are durable (written and
// flushed to storage that survives a crash). Any other value means they were not stored:
// the run stops there with `TD_JOURNAL`, and nothing after them is granted.
typedef int (*td_journal_append_fn)(void *user_data, const struct td_str *lines, size_t count);

// Claims a batch for this instance, in a journal several instances (processes, machines)
// share so that each entitlement is granted by one of them. `lines[i]` are `granting` record
// lines, as `append` receives them (valid only during the call); `taken[i]` is false on
// entry. Store each line whose entitlement this instance may take and set `taken[i]` to true;
// leave it false when another instance holds that entitlement (or has granted or settled
// it): the run does not grant it and reports it `TD_SETTLED_HELD_ELSEWHERE`. Return 0 once
// what was taken is durable; any other value means nothing of the batch was stored: the run
// stops there with `TD_JOURNAL`, and nothing of the batch is granted.
//
// Take an id atomically with respect to the other instances: only if no live instance holds
// it, or this one already does (a grant resumed after a crash); e.g. an insert on a unique
// key, or a compare-and-set, in one transaction. Give each claim its owner (this instance)
// and an expiry renewed while the instance lives, so a crashed instance's claims are not
// held forever: `load` then takes over the open records whose claims expired and returns
// what this instance now holds (its own and those taken over), never the records of an
// entitlement another live instance holds. A `not_granted` record appended for an id frees
// it to be claimed again; a `settled` one closes it for good (never take it again).
typedef int (*td_journal_claim_fn)(void *user_data,
                                   const struct td_str *lines,
                                   size_t count,
                                   bool *taken);

// A journal of your own (a database, a save system): two callbacks, an optional third, and
// `user_data` passed to each. Records are the core's JSON lines
// (`{"op":"granting","id":...}`); store them as given, return them as given. Storing only
// the lines of entitlements still open is allowed (a record for an id whose last record is
// `settled` or `not_granted` may be dropped with it), but never drop or reorder the lines of
// an open one.
//
// A journal used by one instance at a time leaves `claim` NULL: the `granting` records then
// go to `append` too. A journal several instances share (a database) sets `claim`, which
// receives the `granting` records instead of `append` and answers which entitlements this
// instance took; each is then granted by one instance only.
//
// The callbacks run on the thread that called `td_client_fulfill` or
// `td_client_fulfill_entitlements`, one at a time; they must not let C++ exceptions or
// longjmp cross them.
typedef struct td_journal_callbacks {
  // Passed first to every callback; kept by the journal (it must outlive it).
  void *user_data;
  // Reads the stored records. Required.
  td_journal_load_fn load;
  // Stores records durably. Required.
  td_journal_append_fn append;
  // Takes a batch's entitlements for this instance. Optional: NULL means no other
  // instance shares the journal (the batch is appended, and every entitlement taken).
  // Last, so initializers written before it existed leave it NULL.
  td_journal_claim_fn claim;
} td_journal_callbacks;

// A logger: hears each note of the library at or above its level. `target` says what it
// is about (`twitch_drops::http`, `::retry`, `::rate_limit`, `::token`, `::fulfill`);
// `message` is one line for people, never holding a secret. Both are borrowed for the call.
// Called on the thread where the library decided (a worker thread of `td_client_fulfill`
// too), possibly concurrently: `user_data` must allow that. Must not call back into the
// client, nor let C++ exceptions or longjmp cross it.
typedef void (*td_log_fn)(void *user_data,
                          enum td_log_level level,
                          struct td_str target,
                          struct td_str message);

// The answer of `td_op_poll`. Only the fields of `kind` are meaningful.
typedef struct td_step {
  // What is needed.
  enum td_step_kind kind;
  // SEND: the request, borrowed until the next call on the operation (or its free).
  const struct td_http_request *request;
  // SLEEP: how long.
  uint64_t sleep_ms;
  // DONE: `TD_OK` or the failure (detail from the `td_op_take_*` call's `td_error`).
  enum td_result result;
} td_step;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

// A query for every game the token may see. Free with `td_analytics_query_free`.
struct td_analytics_query *td_analytics_query_new(void);

// Frees a query; NULL is a no-op.
//
// # Safety
// `query` is NULL or from `td_analytics_query_new`, not used afterwards.
void td_analytics_query_free(struct td_analytics_query *query);

// One game's reports (NULL clears it).
//
// # Safety
// `query` is live; `game_id` NULL or a C string.
enum td_result td_analytics_query_set_game_id(struct td_analytics_query *query,
                                              const char *game_id);

// The report type (`"overview_v2"`; NULL clears it).
//
// # Safety
// `query` is live; `report_type` NULL or a C string.
enum td_result td_analytics_query_set_type(struct td_analytics_query *query,
                                           const char *report_type);

// The date range, both ends inclusive (both NULL clears it; one NULL is refused when the
// query is used).
//
// # Safety
// `query` is live; the dates NULL or C strings.
enum td_result td_analytics_query_set_range(struct td_analytics_query *query,
                                            const char *started_at,
                                            const char *ended_at);

// Page size, 1-100 (checked when used).
//
// # Safety
// `query` is live.
enum td_result td_analytics_query_set_first(struct td_analytics_query *query, uint32_t first);

// Starts after this cursor (NULL clears it; Twitch ignores it when a game is set).
//
// # Safety
// `query` is live; `cursor` NULL or a C string.
enum td_result td_analytics_query_set_after(struct td_analytics_query *query, const char *cursor);

// Frees a page and its reports; NULL is a no-op.
//
// # Safety
// `page` is NULL or a page from this library, not used afterwards.
void td_analytics_page_free(struct td_analytics_page *page);

// How many reports the page holds (0 for NULL).
//
// # Safety
// `page` is NULL or live.
size_t td_analytics_page_count(const struct td_analytics_page *page);

// The report at `index`, borrowed until the page is freed; NULL out of range or for NULL.
//
// # Safety
// `page` is NULL or live.
const struct td_analytics_report *td_analytics_page_get(const struct td_analytics_page *page,
                                                        size_t index);

// The next page's cursor, `""` on the last page. Valid until the page is freed.
//
// # Safety
// `page` is NULL or live.
struct td_str td_analytics_page_cursor(const struct td_analytics_page *page);

// The game the report covers.
//
// Valid until the report's page is freed; `""` for NULL.
//
// # Safety
// `report` is NULL or from a live page.
struct td_str td_analytics_report_game_id(const struct td_analytics_report *report);

// The CSV's URL (presigned, valid about five minutes): pass it to
// `td_client_download_report`.
//
// Valid until the report's page is freed; `""` for NULL.
//
// # Safety
// `report` is NULL or from a live page.
struct td_str td_analytics_report_url(const struct td_analytics_report *report);

// The report type (`overview_v2`).
//
// Valid until the report's page is freed; `""` for NULL.
//
// # Safety
// `report` is NULL or from a live page.
struct td_str td_analytics_report_type(const struct td_analytics_report *report);

// The first day covered (RFC 3339).
//
// Valid until the report's page is freed; `""` for NULL.
//
// # Safety
// `report` is NULL or from a live page.
struct td_str td_analytics_report_started_at(const struct td_analytics_report *report);

// The last day covered (RFC 3339).
//
// Valid until the report's page is freed; `""` for NULL.
//
// # Safety
// `report` is NULL or from a live page.
struct td_str td_analytics_report_ended_at(const struct td_analytics_report *report);

// Frees bytes; NULL is a no-op.
//
// # Safety
// `bytes` is NULL or from this library, not used afterwards.
void td_bytes_free(struct td_bytes *bytes);

// The bytes, borrowed until `td_bytes_free` (not NUL-terminated; never NULL).
//
// # Safety
// `bytes` is NULL or live.
const uint8_t *td_bytes_data(const struct td_bytes *bytes);

// How many bytes (0 for NULL).
//
// # Safety
// `bytes` is NULL or live.
size_t td_bytes_len(const struct td_bytes *bytes);

// How many handles of any type this library has handed out and not yet seen freed, in the
// whole process (borrowed pointers, such as entitlements of a page, are not counted). For
// leak checks in tests and diagnostics: a wrapper that frees what it owns comes back to the
// count it started from.
size_t td_live_handle_count(void);

// Makes a client from `config` (read, not kept: free it when you like). The configuration
// is checked here: an empty client id or credential, or a base URL that is neither HTTPS nor
// loopback HTTP, is `TD_INVALID_INPUT`. No request is sent until a call needs one.
//
// Writes `*client_out` on success.
//
// # Safety
// `config` is a live config; `client_out` is writable; `error` is NULL or a live `td_error`.
enum td_result td_client_new(const struct td_client_config *config,
                             struct td_client **client_out,
                             struct td_error *error);

// Frees a client; NULL is a no-op. Must not race with calls on the same client.
//
// # Safety
// `client` is NULL or from `td_client_new`, and is not used afterwards.
void td_client_free(struct td_client *client);

// HTTP requests sent so far by this client, blocking and stepped, every attempt counted
// (0 for NULL).
//
// # Safety
// `client` is NULL or a live client.
uint64_t td_client_requests_sent(const struct td_client *client);

// The rate-limit bucket as the last response that described it said: points when full,
// points left, and when it is full again (Unix seconds). `TD_NOT_AVAILABLE` until a response
// carried the `Ratelimit-*` headers. Writes all three outs on success.
//
// # Safety
// `client` is a live client; the three pointers are writable.
enum td_result td_client_rate_limit(const struct td_client *client,
                                    uint32_t *limit_out,
                                    uint32_t *remaining_out,
                                    uint64_t *reset_at_secs_out);

// One page of entitlements matching `query` (blocking). The query's `after` cursor picks
// the page; `td_entitlements_page_cursor` gives the next one.
//
// Writes `*page_out` on success; free it with `td_entitlements_page_free`.
//
// # Safety
// `client` and `query` are live handles; `page_out` is writable; `error` NULL or live.
enum td_result td_client_entitlements_page(const struct td_client *client,
                                           const struct td_entitlements_query *query,
                                           struct td_entitlements_page **page_out,
                                           struct td_error *error);

// An iterator over every page matching `query` (copied), starting at its `after` cursor.
// Nothing is sent until `td_pages_next` (blocking) or `td_pages_begin_next` (step API).
// Invalid filters (101 ids, `first` 0) are `TD_INVALID_INPUT` here.
//
// Writes `*pages_out` on success; free it with `td_pages_free`.
//
// # Safety
// `client` and `query` are live handles; `pages_out` is writable; `error` NULL or live.
enum td_result td_client_entitlement_pages(const struct td_client *client,
                                           const struct td_entitlements_query *query,
                                           struct td_pages **pages_out,
                                           struct td_error *error);

// Sets `count` entitlements (`ids`, any number: sent in batches of 100, repeats sent once) to
// `status` (`TD_CLAIMED` or `TD_FULFILLED`), with an outcome for each id (blocking).
//
// Writes `*report_out` on success (every id has an outcome or is listed unconfirmed). When
// the update stops part way the result is `TD_PARTIAL_UPDATE` and the report is in the error
// (`td_error_update_report`).
//
// # Safety
// `client` is live; `ids` points to `count` C strings; `report_out` writable; `error` NULL
// or live.
enum td_result td_client_update_entitlements(const struct td_client *client,
                                             const char *const *ids,
                                             size_t count,
                                             uint32_t status,
                                             struct td_update_report **report_out,
                                             struct td_error *error);

// A page of analytics reports (blocking). Needs a user token with `analytics:read:games`.
//
// Writes `*page_out` on success; free it with `td_analytics_page_free`.
//
// # Safety
// `client` and `query` are live; `page_out` writable; `error` NULL or live.
enum td_result td_client_game_analytics(const struct td_client *client,
                                        const struct td_analytics_query *query,
                                        struct td_analytics_page **page_out,
                                        struct td_error *error);

// Downloads a report's CSV from `url` (a report's `td_analytics_report_url`; valid about five
// minutes), blocking. No credentials are sent; redirects to HTTPS are followed.
//
// Writes `*bytes_out` on success; free it with `td_bytes_free`.
//
// # Safety
// `client` is live; `url` a C string; `bytes_out` writable; `error` NULL or live.
enum td_result td_client_download_report(const struct td_client *client,
                                         const char *url,
                                         struct td_bytes **bytes_out,
                                         struct td_error *error);

// Asks Twitch about the client's current token (`GET /oauth2/validate`; renewed once on a
// 401), blocking. Apps keeping a user session should do this at start and hourly.
//
// Writes `*info_out` on success; free it with `td_token_info_free`.
//
// # Safety
// `client` is live; `info_out` writable; `error` NULL or live.
enum td_result td_client_validate_token(const struct td_client *client,
                                        struct td_token_info **info_out,
                                        struct td_error *error);

// Starts a device-code login for `count` `scopes` (e.g. `"analytics:read:games"`), blocking.
// Show the code's user code and verification URI to the user, then call
// `td_client_finish_device_flow`.
//
// Writes `*code_out` on success; free it with `td_device_code_free`.
//
// # Safety
// `client` is live; `scopes` points to `count` C strings; `code_out` writable; `error` NULL
// or live.
enum td_result td_client_start_device_flow(const struct td_client *client,
                                           const char *const *scopes,
                                           size_t count,
                                           struct td_device_code **code_out,
                                           struct td_error *error);

// Polls (sleeping between polls) until the user approves the login started with
// `td_client_start_device_flow`, refuses it, or the code expires. On success every later
// call of this client uses the new user token, which is also written to `*token_out` (free
// with `td_oauth_token_free`) so it can be stored. `token_out` may be NULL.
//
// # Safety
// `client` and `code` are live; `token_out` NULL or writable; `error` NULL or live.
enum td_result td_client_finish_device_flow(const struct td_client *client,
                                            const struct td_device_code *code,
                                            struct td_oauth_token **token_out,
                                            struct td_error *error);

// The client's current user access token and refresh token, to persist between runs (Twitch
// may hand out a new refresh token at each refresh). `TD_NOT_AVAILABLE` for app tokens and
// tokens given with `td_client_config_set_access_token`.
//
// Writes `*token_out` on success; free it with `td_oauth_token_free`.
//
// # Safety
// `client` is live; `token_out` writable.
enum td_result td_client_user_token(const struct td_client *client,
                                    struct td_oauth_token **token_out);

// The library's default retry policy (4 retries, 250 ms doubling to 8 s, 8 rate-limit
// waits, 3 `UPDATE_FAILED` rounds). Thread-safe.
struct td_retry_policy td_retry_policy_default(void);

// A new configuration for the application `client_id` (from the Twitch developer console),
// with no credentials yet (only the device flow works until some are set), Twitch's URLs,
// the default retry policy, the built-in transport and the system clock.
//
// Writes `*config_out` on success. The id is checked when the client is made.
//
// # Safety
// `client_id` is a NUL-terminated string; `config_out` is writable; `error` is NULL or a
// live `td_error`.
enum td_result td_client_config_new(const char *client_id,
                                    struct td_client_config **config_out,
                                    struct td_error *error);

// Frees a configuration; NULL is a no-op. Clients made from it are not affected.
//
// # Safety
// `config` is NULL or from `td_client_config_new`, and is not used afterwards.
void td_client_config_free(struct td_client_config *config);

// Credentials: an app access token by client credentials (the usual server-side setup),
// fetched on first use and fetched anew when it expires or Twitch answers 401.
//
// # Safety
// `config` is a live config; `client_secret` a NUL-terminated string.
enum td_result td_client_config_set_client_secret(struct td_client_config *config,
                                                  const char *client_secret);

// Credentials: a token obtained elsewhere, used as is; a 401 is final (`TD_UNAUTHORIZED`).
//
// # Safety
// `config` is a live config; `access_token` a NUL-terminated string.
enum td_result td_client_config_set_access_token(struct td_client_config *config,
                                                 const char *access_token);

// Credentials: a user access token (needed for analytics). With `refresh_token` (may be NULL)
// it is refreshed when it expires or Twitch answers 401; `client_secret` (may be NULL) is
// needed for confidential applications. Read the refreshed tokens back with
// `td_client_user_token` to persist them.
//
// # Safety
// `config` is a live config; `access_token` a C string; the others NULL or C strings.
enum td_result td_client_config_set_user_token(struct td_client_config *config,
                                               const char *access_token,
                                               const char *refresh_token,
                                               const char *client_secret);

// Uses another Helix base URL (a proxy, the fake Twitch); default
// `https://api.twitch.tv/helix`. HTTPS is required except to loopback (checked by
// `td_client_new`).
//
// # Safety
// `config` is a live config; `url` a NUL-terminated string.
enum td_result td_client_config_set_helix_url(struct td_client_config *config, const char *url);

// Uses another OAuth base URL; default `https://id.twitch.tv/oauth2`.
//
// # Safety
// `config` is a live config; `url` a NUL-terminated string.
enum td_result td_client_config_set_auth_url(struct td_client_config *config, const char *url);

// Uses another retry policy (copied).
//
// # Safety
// `config` is a live config; `policy` points to a `td_retry_policy`.
enum td_result td_client_config_set_retry_policy(struct td_client_config *config,
                                                 const struct td_retry_policy *policy);

// Timeouts of the built-in transport, in milliseconds: connecting (TCP and TLS; default
// 10000) and waiting for the response headers, and again for the body (default 30000). Both
// must be positive. Not used by a callback transport.
//
// # Safety
// `config` is a live config.
enum td_result td_client_config_set_timeouts(struct td_client_config *config,
                                             uint64_t connect_ms,
                                             uint64_t read_ms);

// The largest response body the built-in transport reads (default 16 MiB); larger ones fail
// with `TD_TRANSPORT` / `TD_TRANSPORT_TOO_LARGE`. Must be positive.
//
// # Safety
// `config` is a live config.
enum td_result td_client_config_set_max_body_bytes(struct td_client_config *config,
                                                   uint64_t max_body_bytes);

// The `User-Agent` the built-in transport sends (default `twitch-drops/<version>`).
//
// # Safety
// `config` is a live config; `user_agent` a NUL-terminated string.
enum td_result td_client_config_set_user_agent(struct td_client_config *config,
                                               const char *user_agent);

// Routes every request of the blocking calls through `transport` (an engine's or console's
// HTTP stack): the library then never opens a socket. `user_data` is passed back to every
// call; it must outlive every client made from this config (the library never frees it).
// A NULL `transport` goes back to the built-in one. See `td_transport_fn` for the rules.
//
// # Safety
// `config` is a live config; `transport` NULL or a valid function; `user_data` as above.
enum td_result td_client_config_set_transport(struct td_client_config *config,
                                              td_transport_fn transport,
                                              void *user_data);

// Uses your clock for the blocking calls: `now` for the time, `sleep` for every wait
// (backoff, rate limits, device-flow polls): e.g. to account waits in tests or keep time in
// an engine's terms. Both NULL goes back to the system clock; one NULL is
// `TD_NULL_POINTER`. `user_data` must outlive the clients, like a transport's.
//
// # Safety
// `config` is a live config; the functions NULL or valid; `user_data` as above.
enum td_result td_client_config_set_clock(struct td_client_config *config,
                                          td_now_fn now,
                                          td_sleep_fn sleep,
                                          void *user_data);

// A query with no filter. Free it with `td_entitlements_query_free`. NULL only on an
// internal failure.
struct td_entitlements_query *td_entitlements_query_new(void);

// Frees a query; NULL is a no-op.
//
// # Safety
// `query` is NULL or from `td_entitlements_query_new`, not used afterwards.
void td_entitlements_query_free(struct td_entitlements_query *query);

// Adds an entitlement id to filter by (repeatable).
//
// # Safety
// `query` is live; `id` a C string.
enum td_result td_entitlements_query_add_id(struct td_entitlements_query *query, const char *id);

// Only this viewer's entitlements (NULL clears the filter). With a user token, only the
// token's own user is allowed.
//
// # Safety
// `query` is live; `user_id` NULL or a C string.
enum td_result td_entitlements_query_set_user_id(struct td_entitlements_query *query,
                                                 const char *user_id);

// Only this game's entitlements (NULL clears the filter).
//
// # Safety
// `query` is live; `game_id` NULL or a C string.
enum td_result td_entitlements_query_set_game_id(struct td_entitlements_query *query,
                                                 const char *game_id);

// Only entitlements in `status` (a `td_fulfillment_status`; `TD_ANY_STATUS` clears it).
//
// # Safety
// `query` is live.
enum td_result td_entitlements_query_set_status(struct td_entitlements_query *query,
                                                uint32_t status);

// Page size, 1-1000 (Twitch's default is 20). Checked when the query is used: 0 or more than
// 1000 is `TD_INVALID_INPUT` then.
//
// # Safety
// `query` is live.
enum td_result td_entitlements_query_set_first(struct td_entitlements_query *query, uint32_t first);

// Starts after this cursor (a page's `td_entitlements_page_cursor`; NULL clears it).
//
// # Safety
// `query` is live; `cursor` NULL or a C string.
enum td_result td_entitlements_query_set_after(struct td_entitlements_query *query,
                                               const char *cursor);

// Frees a page and its entitlements; NULL is a no-op.
//
// # Safety
// `page` is NULL or a page from this library, not used afterwards.
void td_entitlements_page_free(struct td_entitlements_page *page);

// How many entitlements the page holds (0 for NULL).
//
// # Safety
// `page` is NULL or a live page.
size_t td_entitlements_page_count(const struct td_entitlements_page *page);

// The entitlement at `index` (0-based), borrowed until the page is freed; NULL when `index`
// is out of range or `page` is NULL.
//
// # Safety
// `page` is NULL or a live page.
const struct td_entitlement *td_entitlements_page_get(const struct td_entitlements_page *page,
                                                      size_t index);

// The cursor of the next page, or `""` on the last page. Valid until the page is freed.
//
// # Safety
// `page` is NULL or a live page.
struct td_str td_entitlements_page_cursor(const struct td_entitlements_page *page);

// The entitlement's id (what `td_client_update_entitlements` takes).
//
// Valid until the entitlement's page is freed; `""` for NULL.
//
// # Safety
// `entitlement` is NULL or from a live page.
struct td_str td_entitlement_id(const struct td_entitlement *entitlement);

// The reward (the Drop's benefit) to grant.
//
// Valid until the entitlement's page is freed; `""` for NULL.
//
// # Safety
// `entitlement` is NULL or from a live page.
struct td_str td_entitlement_benefit_id(const struct td_entitlement *entitlement);

// When the viewer earned it (RFC 3339).
//
// Valid until the entitlement's page is freed; `""` for NULL.
//
// # Safety
// `entitlement` is NULL or from a live page.
struct td_str td_entitlement_timestamp(const struct td_entitlement *entitlement);

// The viewer to grant it to.
//
// Valid until the entitlement's page is freed; `""` for NULL.
//
// # Safety
// `entitlement` is NULL or from a live page.
struct td_str td_entitlement_user_id(const struct td_entitlement *entitlement);

// The game it belongs to.
//
// Valid until the entitlement's page is freed; `""` for NULL.
//
// # Safety
// `entitlement` is NULL or from a live page.
struct td_str td_entitlement_game_id(const struct td_entitlement *entitlement);

// When its status last changed (RFC 3339).
//
// Valid until the entitlement's page is freed; `""` for NULL.
//
// # Safety
// `entitlement` is NULL or from a live page.
struct td_str td_entitlement_last_updated(const struct td_entitlement *entitlement);

// The entitlement's status: `TD_CLAIMED` or `TD_FULFILLED` (`TD_ANY_STATUS` for NULL).
//
// # Safety
// `entitlement` is NULL or from a live page.
enum td_fulfillment_status td_entitlement_status(const struct td_entitlement *entitlement);

// Frees a pages iterator; NULL is a no-op. Pages it returned stay valid.
//
// # Safety
// `pages` is NULL or from `td_client_entitlement_pages`, not used afterwards.
void td_pages_free(struct td_pages *pages);

// The next page (blocking): `TD_OK` with `*page_out` set (free it with
// `td_entitlements_page_free`), `TD_END` after the last page, or a failure, after which the
// iteration is over (`TD_END`).
//
// ```c
// while ((r = td_pages_next(pages, &page, err)) == TD_OK) { ...; td_entitlements_page_free(page); }
// if (r != TD_END) { /* failed: see err */ }
// ```
//
// # Safety
// `pages` is live; `page_out` writable; `error` NULL or live.
enum td_result td_pages_next(struct td_pages *pages,
                             struct td_entitlements_page **page_out,
                             struct td_error *error);

// Step API: an operation that fetches the next page (`TD_END` after the last page). Drive it
// with `td_op_poll`; take the page with `td_op_take_entitlements_page`, then pass it to
// `td_pages_advance` before asking for the next one.
//
// Writes `*op_out` on success; free it with `td_op_free`.
//
// # Safety
// `pages` is live; `op_out` writable; `error` NULL or live.
enum td_result td_pages_begin_next(struct td_pages *pages,
                                   struct td_op **op_out,
                                   struct td_error *error);

// Step API: records the page an operation from `td_pages_begin_next` produced, so that the
// next `td_pages_begin_next` asks for the page after it. A cursor that did not move is
// `TD_DECODE` (the iteration ends). To give up after a failed operation, free the iterator.
//
// # Safety
// `pages` and `page` are live; `error` NULL or live.
enum td_result td_pages_advance(struct td_pages *pages,
                                const struct td_entitlements_page *page,
                                struct td_error *error);

// The cursor the next page starts after (`""` before the first page of a query without
// `after`), to resume paging later. Valid until the next call on `pages`.
//
// # Safety
// `pages` is NULL or live.
struct td_str td_pages_cursor(const struct td_pages *pages);

// A new, empty error object (`td_error_code` is `TD_OK`). Free it with `td_error_free`.
// Returns NULL only if the library failed internally.
struct td_error *td_error_new(void);

// Frees an error object; NULL is a no-op. Views taken from it become invalid.
//
// # Safety
// `error` is NULL or from `td_error_new`, and is not used afterwards.
void td_error_free(struct td_error *error);

// The code of the failure held (`TD_OK` when the last call succeeded or none was made;
// `TD_NULL_POINTER` when `error` is NULL).
//
// # Safety
// `error` is NULL or a live `td_error`.
enum td_result td_error_code(const struct td_error *error);

// Copies the message for people (empty after a success) into `buf`, NUL-terminated. On
// `TD_OK`, `*len_out` is its length without the NUL; on `TD_BUFFER_TOO_SMALL` nothing is
// copied and `*len_out` is the buffer size needed, NUL included.
//
// # Safety
// `error` is NULL or a live `td_error`; `buf` points to `len` writable bytes (may be NULL
// when `len` is 0); `len_out` is writable.
enum td_result td_error_message(const struct td_error *error,
                                char *buf,
                                size_t len,
                                size_t *len_out);

// For `TD_INVALID_INPUT` refused by the library's rules: the name of the argument or field
// that was wrong (`first`, `ids`, `game_id`, `helix_url`...), copied into `buf` like
// `td_error_message`. Empty for other failures, and for refusals that name no field.
//
// # Safety
// As `td_error_message`.
enum td_result td_error_field(const struct td_error *error, char *buf, size_t len, size_t *len_out);

// The HTTP status Twitch answered with (401, 403, 429, 500...), or 0 when the failure did not
// come from a response (or `error` is NULL).
//
// # Safety
// `error` is NULL or a live `td_error`.
uint16_t td_error_http_status(const struct td_error *error);

// Copies Twitch's own `message` field (empty when the failure did not come from a Twitch
// error body, or Twitch gave none) into `buf`, like `td_error_message`.
//
// # Safety
// As `td_error_message`.
enum td_result td_error_twitch_message(const struct td_error *error,
                                       char *buf,
                                       size_t len,
                                       size_t *len_out);

// For `TD_RATE_LIMITED`: when Twitch said the bucket refills, in milliseconds since the Unix
// epoch. `TD_NOT_AVAILABLE` when the failure is not a rate limit or Twitch did not say.
//
// # Safety
// `error` is NULL or a live `td_error`; `reset_at_ms_out` is writable.
enum td_result td_error_rate_limit_reset(const struct td_error *error, uint64_t *reset_at_ms_out);

// For `TD_TRANSPORT`: why no response could be had. `TD_TRANSPORT_NONE` for other failures.
//
// # Safety
// `error` is NULL or a live `td_error`.
enum td_transport_error_kind td_error_transport_kind(const struct td_error *error);

// For `TD_PARTIAL_UPDATE`: the outcomes known and the ids left unconfirmed (re-read those
// before retrying). NULL for other failures. Borrowed: valid until `error` is passed to
// another call or freed.
//
// # Safety
// `error` is NULL or a live `td_error`.
const struct td_update_report *td_error_update_report(const struct td_error *error);

// For a fulfillment run that stopped early (`td_client_fulfill` and
// `td_client_fulfill_entitlements` failing with the run's error, e.g. `TD_JOURNAL`): what the
// run did before it stopped. NULL for other failures. Borrowed: valid until `error` is
// passed to another call or freed.
//
// # Safety
// `error` is NULL or a live `td_error`.
const struct td_fulfill_report *td_error_fulfill_report(const struct td_error *error);

// For a refused EventSub message (`TD_EVENTSUB_*`): the HTTP status to answer Twitch with
// (403 for a bad signature or a stale timestamp, 400 for a malformed message), with
// `td_error_message` as a `text/plain; charset=utf-8` body. 0 for other failures.
//
// # Safety
// `error` is NULL or a live `td_error`.
uint16_t td_error_eventsub_status(const struct td_error *error);

// Checks a webhook message and reads it: `header_count` request headers (names in any case;
// names and values need not be NUL-terminated), the raw body exactly as received (`body_len`
// bytes: the signature covers them), the secret given when subscribing, and the current time
// (`now_ms`, milliseconds since the Unix epoch). Checks, in order: the `Twitch-Eventsub-*`
// headers are there, the HMAC-SHA256 signature matches (compared in constant time), the
// timestamp is within 10 minutes of `now_ms`, the body is what the message type says. Does
// not deduplicate: see `td_deduplicator`.
//
// Writes `*message_out` on success (free with `td_eventsub_message_free`). A refused message
// is `TD_EVENTSUB_BAD_SIGNATURE`, `TD_EVENTSUB_STALE` or `TD_EVENTSUB_MALFORMED`: answer
// `td_error_eventsub_status(error)` with `td_error_message` as a plain-text body. Thread-safe.
//
// # Safety
// `headers` points to `header_count` headers (NULL when 0); `body` to `body_len` bytes (NULL
// when 0); `secret` is a C string; `message_out` writable; `error` NULL or live.
enum td_result td_eventsub_verify(const struct td_header *headers,
                                  size_t header_count,
                                  const uint8_t *body,
                                  size_t body_len,
                                  const char *secret,
                                  uint64_t now_ms,
                                  struct td_eventsub_message **message_out,
                                  struct td_error *error);

// The whole webhook in one call: `td_eventsub_verify`, then, for a notification, its
// message id recorded in `deliveries` (called with `user_data`) or else in `dedup`.
// Writes `*message_out` (free with `td_eventsub_message_free`: the answer to send, the
// entitlements) and `*act_out`: true when this is a notification's first delivery, whose
// entitlements are to be granted; false for a repeat (answer it, do not act) and for any
// other kind. A refused message fails as `td_eventsub_verify` does; a delivery that could
// not be recorded is `TD_JOURNAL`: answer 503, and Twitch sends it again.
//
// # Safety
// As `td_eventsub_verify`; `dedup` NULL or live (not shared with another thread during the
// call); `deliveries` NULL or valid; `act_out` writable. One of `dedup` and `deliveries`
// is given.
enum td_result td_eventsub_handle(const struct td_header *headers,
                                  size_t header_count,
                                  const uint8_t *body,
                                  size_t body_len,
                                  const char *secret,
                                  uint64_t now_ms,
                                  struct td_deduplicator *dedup,
                                  td_delivery_fn deliveries,
                                  void *user_data,
                                  struct td_eventsub_message **message_out,
                                  bool *act_out,
                                  struct td_error *error);

// Frees a message and its entitlements; NULL is a no-op.
//
// # Safety
// `message` is NULL or from `td_eventsub_verify`, not used afterwards.
void td_eventsub_message_free(struct td_eventsub_message *message);

// The message's kind (`TD_EVENTSUB_OTHER` for NULL).
//
// # Safety
// `message` is NULL or live.
enum td_eventsub_type td_eventsub_message_type(const struct td_eventsub_message *message);

// The message's id: the same on every delivery of one message, the key for
// `td_deduplicator_first_time`. Valid until the message is freed; `""` for NULL.
//
// # Safety
// `message` is NULL or live.
struct td_str td_eventsub_message_id(const struct td_eventsub_message *message);

// A verification's challenge (`""` for other kinds). Valid until the message is freed.
//
// # Safety
// `message` is NULL or live.
struct td_str td_eventsub_message_challenge(const struct td_eventsub_message *message);

// The id of the subscription the message is about. Valid until the message is freed.
//
// # Safety
// `message` is NULL or live.
struct td_str td_eventsub_message_subscription_id(const struct td_eventsub_message *message);

// The subscription's type (`drop.entitlement.grant`). Valid until the message is freed.
//
// # Safety
// `message` is NULL or live.
struct td_str td_eventsub_message_subscription_type(const struct td_eventsub_message *message);

// The subscription's status: `enabled`, or in a revocation why it ended
// (`authorization_revoked`, `notification_failures_exceeded`, ...). Valid until the message
// is freed.
//
// # Safety
// `message` is NULL or live.
struct td_str td_eventsub_message_subscription_status(const struct td_eventsub_message *message);

// How many entitlements a `drop.entitlement.grant` notification carries, one per grant in
// order, repeats included (0 for other messages and NULL).
//
// # Safety
// `message` is NULL or live.
size_t td_eventsub_message_entitlement_count(const struct td_eventsub_message *message);

// The entitlement at `index`, CLAIMED as Helix lists it, borrowed until the message is freed
// (read it with the `td_entitlement_*` functions; fulfill with
// `td_client_fulfill_entitlements`). NULL when `index` is out of range or `message` is NULL.
//
// # Safety
// `message` is NULL or live.
const struct td_entitlement *td_eventsub_message_entitlement(const struct td_eventsub_message *message,
                                                             size_t index);

// The HTTP status to answer the message with: 200 for a verification, 204 otherwise (a
// repeated message too: Twitch only needs to hear it arrived). 0 for NULL.
//
// # Safety
// `message` is NULL or live.
uint16_t td_eventsub_message_response_status(const struct td_eventsub_message *message);

// The body to answer with: the raw challenge for a verification, `""` otherwise. Valid until
// the message is freed.
//
// # Safety
// `message` is NULL or live.
struct td_str td_eventsub_message_response_body(const struct td_eventsub_message *message);

// The `Content-Type` to answer with (`text/plain` for a verification), `""` when the answer
// has no body. Valid until the message is freed.
//
// # Safety
// `message` is NULL or live.
struct td_str td_eventsub_message_response_content_type(const struct td_eventsub_message *message);

// A deduplicator remembering up to `capacity` ids (0: the default, 100 000). Free it with
// `td_deduplicator_free`; NULL only on an internal failure.
struct td_deduplicator *td_deduplicator_new(size_t capacity);

// Frees a deduplicator; NULL is a no-op.
//
// # Safety
// `dedup` is NULL or from `td_deduplicator_new`, not used afterwards.
void td_deduplicator_free(struct td_deduplicator *dedup);

// Writes `*first_out`: true the first time `message_id` is seen at `now_ms` (milliseconds
// since the Unix epoch), and remembers it; false for a repeat (answer it, do not act).
//
// # Safety
// `dedup` is live; `message_id` a C string; `first_out` writable.
enum td_result td_deduplicator_first_time(struct td_deduplicator *dedup,
                                          const char *message_id,
                                          uint64_t now_ms,
                                          bool *first_out);

// Forgets `message_id`, so its next delivery counts as a first: call it when handling the
// message failed and Twitch should send it again (answer it with a 5xx). Writes whether it
// was remembered to `*forgotten_out` unless that is NULL.
//
// # Safety
// `dedup` is live; `message_id` a C string; `forgotten_out` NULL or writable.
enum td_result td_deduplicator_forget(struct td_deduplicator *dedup,
                                      const char *message_id,
                                      bool *forgotten_out);

// Ids remembered now (0 for NULL).
//
// # Safety
// `dedup` is NULL or live.
size_t td_deduplicator_len(const struct td_deduplicator *dedup);

// Options with no filter, `quarantine_after` 1 and no settlement callback. Free with
// `td_fulfill_options_free`; NULL only on an internal failure.
struct td_fulfill_options *td_fulfill_options_new(void);

// Frees options; NULL is a no-op.
//
// # Safety
// `options` is NULL or from `td_fulfill_options_new`, not used afterwards.
void td_fulfill_options_free(struct td_fulfill_options *options);

// Fulfills only this game's entitlements (NULL clears the filter). `td_client_fulfill`
// lists CLAIMED entitlements matching the filters; `td_client_fulfill_entitlements` does not
// read them.
//
// # Safety
// `options` is live; `game_id` NULL or a C string.
enum td_result td_fulfill_options_set_game_id(struct td_fulfill_options *options,
                                              const char *game_id);

// Fulfills only this viewer's entitlements (NULL clears the filter), like
// `td_fulfill_options_set_game_id`.
//
// # Safety
// `options` is live; `user_id` NULL or a C string.
enum td_result td_fulfill_options_set_user_id(struct td_fulfill_options *options,
                                              const char *user_id);

// Entitlements a run lists per page, 1 to 1000 (default 1000; 0 goes back to it): smaller
// pages keep each step of a `td_fulfill_run` short (reading a page of 1000 is one step, a
// game loop may want a page per frame), at the cost of more requests. Another number fails
// the run with `TD_INVALID_INPUT` before anything is sent.
//
// # Safety
// `options` is live.
enum td_result td_fulfill_options_set_page_size(struct td_fulfill_options *options,
                                                uint32_t page_size);

// Unconfirmed updates of one viewer after which the run skips that viewer's other
// entitlements (`TD_SETTLED_QUARANTINED`); 0 counts as 1, the default.
//
// # Safety
// `options` is live.
enum td_result td_fulfill_options_set_quarantine_after(struct td_fulfill_options *options,
                                                       uint32_t updates);

// Requests to Twitch a run keeps out at once, 1 to 16 (default 4): the next page while
// this one is granted, PATCHes side by side. Used when the client has the built-in
// transport and clock (requests that take over 2 ms then run on the library's own threads;
// faster ones go out from the calling thread between grants, which costs less than a
// thread switch); a client with a host transport or clock callback runs one step at a time
// on the calling thread. 1 takes one step at a time. Another number fails the run with `TD_INVALID_INPUT` before anything
// is sent.
//
// # Safety
// `options` is live.
enum td_result td_fulfill_options_set_requests_in_flight(struct td_fulfill_options *options,
                                                         uint32_t requests);

// Grants a run hands out at once, 1 to 100 (default 1): claimed in the journal together,
// given to the grant callback one after another (`td_client_fulfill`) or to the host side
// by side (`td_fulfill_run`), and their answers journaled together with the next claim.
// After a crash only these can be in doubt (granted again with `resumed` set); more means
// fewer journal writes. Another number fails the run with `TD_INVALID_INPUT` before
// anything is sent.
//
// # Safety
// `options` is live.
enum td_result td_fulfill_options_set_grants_in_flight(struct td_fulfill_options *options,
                                                       uint32_t grants);

// A stop signal not raised yet (NULL only if out of memory).
struct td_stop_signal *td_stop_signal_new(void);

// Raises the signal: every run holding it stops gracefully. Only an atomic store: safe from
// any thread and from a signal handler. NULL is a no-op.
//
// # Safety
// `signal` is NULL or live.
void td_stop_signal_raise(const struct td_stop_signal *signal);

// Frees the caller's reference; NULL is a no-op. Runs and options holding it keep theirs.
//
// # Safety
// `signal` is NULL or from `td_stop_signal_new`, not used afterwards.
void td_stop_signal_free(struct td_stop_signal *signal);

// Gives runs made with these options the stop signal `signal` (NULL removes it); the
// options keep their own reference.
//
// # Safety
// `options` is live; `signal` is NULL or live.
enum td_result td_fulfill_options_set_stop_signal(struct td_fulfill_options *options,
                                                  const struct td_stop_signal *signal);

// Sets the settlement callback (NULL `callback` removes it) and the `user_data` passed to it.
//
// # Safety
// `options` is live; `user_data` must stay valid, and usable from the threads that run the
// fulfillment, while the options are used.
enum td_result td_fulfill_options_set_on_settled(struct td_fulfill_options *options,
                                                 td_settled_fn callback,
                                                 void *user_data);

// Frees a report a call returned; NULL is a no-op. Never free the one a `td_error` lends.
//
// # Safety
// `report` is NULL or a report a call returned, not used afterwards.
void td_fulfill_report_free(struct td_fulfill_report *report);

// Distinct CLAIMED entitlements taken up (listed, pushed, or recovered from the journal).
// 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_listed(const struct td_fulfill_report *report);

// Grant callbacks that answered `TD_GRANT_GRANTED` (resumed ones included). 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_granted(const struct td_fulfill_report *report);

// Entitlements granted and marked FULFILLED. 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_fulfilled(const struct td_fulfill_report *report);

// Entitlements an interrupted run had granted, found FULFILLED already. 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_already_fulfilled(const struct td_fulfill_report *report);

// Grants answered `TD_GRANT_RETRY_LATER`. 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_retry_later(const struct td_fulfill_report *report);

// Grants answered `TD_GRANT_FAILED`. 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_grant_failed(const struct td_fulfill_report *report);

// Granted entitlements Twitch refused to mark for good. 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_rejected(const struct td_fulfill_report *report);

// Granted entitlements whose FULFILLED status could not be confirmed (the next run marks
// them without granting again). 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_unmarked(const struct td_fulfill_report *report);

// Entitlements skipped because their viewer was quarantined. 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_quarantined(const struct td_fulfill_report *report);

// Entitlements not granted because the run stopped early. 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_not_reached(const struct td_fulfill_report *report);

// Entitlements left to another instance sharing the journal (it holds their claims): not
// granted here, and not counted as left. 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_held_elsewhere(const struct td_fulfill_report *report);

// Grant callbacks made with `resumed` set (after a crash left them in doubt). 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_resumed(const struct td_fulfill_report *report);

// Entitlements taken up but not FULFILLED by this run (`listed` minus `fulfilled` minus
// `already_fulfilled`). 0 for NULL.
//
// # Safety
// `report` is NULL or live.
uint64_t td_fulfill_report_left(const struct td_fulfill_report *report);

// True when the run reached its end and everything taken up is FULFILLED (false for NULL).
//
// # Safety
// `report` is NULL or live.
bool td_fulfill_report_is_complete(const struct td_fulfill_report *report);

// True when the run was stopped gracefully (`td_stop_signal_raise`,
// `td_fulfill_run_interrupt`): what was granted is marked, the rest stays CLAIMED for the
// next run with the same journal (false for NULL).
//
// # Safety
// `report` is NULL or live.
bool td_fulfill_report_interrupted(const struct td_fulfill_report *report);

// How many viewers the run quarantined (0 for NULL).
//
// # Safety
// `report` is NULL or live.
size_t td_fulfill_report_quarantined_user_count(const struct td_fulfill_report *report);

// The quarantined viewer at `index`, valid until the report is freed. Writes `*user_id_out`
// on success; `TD_INDEX_OUT_OF_RANGE` past the end.
//
// # Safety
// `report` is live; `user_id_out` writable.
enum td_result td_fulfill_report_quarantined_user(const struct td_fulfill_report *report,
                                                  size_t index,
                                                  struct td_str *user_id_out);

// Grants and fulfills every CLAIMED entitlement matching `options` (blocking): first what
// an interrupted run left in `journal` (granted ones are marked without granting again;
// grants in doubt go to `grant` with `resumed` set), then the list, page by page, each
// entitlement granted once through `grant` (called with `user_data`) and marked FULFILLED in
// batches of 100. Every HTTP request goes through the client's transport; tokens, retries,
// rate limits and lost answers are handled inside.
//
// On success writes `*report_out` (free with `td_fulfill_report_free`); entitlements that
// are not FULFILLED are counted in it (RETRY_LATER, GRANT_FAILED...) and stay CLAIMED for a
// later run. A run that stops early fails with its cause (`TD_JOURNAL` when the journal
// could not be read or written, `TD_UNAUTHORIZED`, `TD_HTTP`, `TD_TRANSPORT`...), with what
// it did before in `td_error_fulfill_report(error)`; what it did not reach stays CLAIMED.
// Invalid options (an empty game id) are `TD_INVALID_INPUT` before anything is sent.
//
// Thread safety: `client` may serve other threads meanwhile; `journal` is used by this run
// alone; the callbacks run on this thread, one at a time (with the built-in transport,
// requests slower than 2 ms go out from the library's own threads, see
// `td_fulfill_options_set_requests_in_flight`).
//
// # Safety
// `client`, `options` and `journal` are live; `grant` is a valid callback and `user_data`
// what it expects; `report_out` writable; `error` NULL or live.
enum td_result td_client_fulfill(const struct td_client *client,
                                 const struct td_fulfill_options *options,
                                 struct td_journal *journal,
                                 td_grant_fn grant,
                                 void *user_data,
                                 struct td_fulfill_report **report_out,
                                 struct td_error *error);

// Grants and fulfills `count` given entitlements (blocking), e.g. those an EventSub
// notification pushed (`td_eventsub_message_entitlement`) or a page listed: the same rules
// as `td_client_fulfill` without listing. Only CLAIMED ones are taken up, each id once
// however often it is given; what `journal` left open is recovered first (an entitlement
// that is both is recovered, never granted afresh). An entitlement pushed and later listed
// by a polling run is granted once, since both go through the journal.
//
// `options` may be NULL (quarantine after 1, 4 requests in flight, no settlement callback);
// its game and user filters are not read. Results and failures as `td_client_fulfill`.
//
// # Safety
// `client` and `journal` are live; `entitlements` points to `count` pointers to live
// entitlements (NULL when `count` is 0); `options` NULL or live; `grant` and `user_data` as
// `td_client_fulfill`; `report_out` writable; `error` NULL or live.
enum td_result td_client_fulfill_entitlements(const struct td_client *client,
                                              const struct td_entitlement *const *entitlements,
                                              size_t count,
                                              const struct td_fulfill_options *options,
                                              struct td_journal *journal,
                                              td_grant_fn grant,
                                              void *user_data,
                                              struct td_fulfill_report **report_out,
                                              struct td_error *error);

// Starts a run from `client` (see `td_fulfill_run`): what `td_client_fulfill` does, driven by
// your loop. `options` is copied (its settlement callback is called from
// `td_fulfill_run_poll`); `journal` is borrowed by the run. Invalid options are
// `TD_INVALID_INPUT` before anything is sent. Writes `*run_out` on success.
//
// # Safety
// `client` and `options` are live; `journal` is live, and stays live and used by this run
// alone until the run is freed; `run_out` writable; `error` NULL or live.
enum td_result td_client_begin_fulfill(const struct td_client *client,
                                       const struct td_fulfill_options *options,
                                       struct td_journal *journal,
                                       struct td_fulfill_run **run_out,
                                       struct td_error *error);

// Starts a run over `count` given entitlements (pushed by EventSub, or listed): what
// `td_client_fulfill_entitlements` does, driven by your loop. The entitlements are copied;
// `options` may be NULL. Writes `*run_out` on success.
//
// # Safety
// `client` is live; `entitlements` points to `count` pointers to live entitlements (NULL
// when `count` is 0); `options` NULL or live; `journal` as `td_client_begin_fulfill`;
// `run_out` writable; `error` NULL or live.
enum td_result td_client_begin_fulfill_entitlements(const struct td_client *client,
                                                    const struct td_entitlement *const *entitlements,
                                                    size_t count,
                                                    const struct td_fulfill_options *options,
                                                    struct td_journal *journal,
                                                    struct td_fulfill_run **run_out,
                                                    struct td_error *error);

// Frees a run, finished or not; NULL is a no-op. Requests and grants it handed out must no
// longer be read; answers arriving later are dropped by the host.
//
// # Safety
// `run` is NULL or from this library, not used afterwards.
void td_fulfill_run_free(struct td_fulfill_run *run);

// Advances the run and says what it needs next (see `td_run_step_kind`). `now_ms` is the
// time in milliseconds since the Unix epoch (waits are measured between its readings).
// Poll until IDLE each frame, perform what it handed out, answer, and poll again next frame;
// after DONE, polling again returns DONE again. A journal that fails stops the run (DONE
// with `TD_JOURNAL`). Writes `*step_out` on success.
//
// # Safety
// `run` is live (and its journal, see `td_client_begin_fulfill`); `step_out` writable;
// `error` NULL or live.
enum td_result td_fulfill_run_poll(struct td_fulfill_run *run,
                                   uint64_t now_ms,
                                   struct td_run_step *step_out,
                                   struct td_error *error);

// Answers the SEND `ticket` with the response: any status (4xx and 5xx too), `header_count`
// headers (need not be NUL-terminated), the whole body; all copied. `TD_WRONG_STATE` when no
// SEND with that ticket is out (the step stays as it was).
//
// # Safety
// `run` is live; `headers` points to `header_count` headers (NULL when 0); `body` to
// `body_len` bytes (NULL when 0); `error` NULL or live.
enum td_result td_fulfill_run_feed_response(struct td_fulfill_run *run,
                                            uint64_t ticket,
                                            uint16_t status,
                                            const struct td_header *headers,
                                            size_t header_count,
                                            const uint8_t *body,
                                            size_t body_len,
                                            struct td_error *error);

// Answers the SEND `ticket` that got no whole response: `kind` (a `td_transport_error_kind`
// other than NONE) tells whether Twitch may have seen it, `message` (may be NULL) says why.
//
// # Safety
// `run` is live; `message` NULL or a C string; `error` NULL or live.
enum td_result td_fulfill_run_feed_transport_error(struct td_fulfill_run *run,
                                                   uint64_t ticket,
                                                   uint32_t kind,
                                                   const char *message,
                                                   struct td_error *error);

// Answers the SLEEP `ticket`: the time has passed.
//
// # Safety
// `run` is live; `error` NULL or live.
enum td_result td_fulfill_run_feed_slept(struct td_fulfill_run *run,
                                         uint64_t ticket,
                                         struct td_error *error);

// Answers the GRANT `ticket` with a `td_grant_outcome`: GRANTED (the reward is in the game),
// RETRY_LATER or FAILED (it stays CLAIMED; `reason`, may be NULL, is reported for FAILED).
// Any other value is `TD_INVALID_INPUT` and the step stays out.
//
// # Safety
// `run` is live; `reason` NULL or a C string; `error` NULL or live.
enum td_result td_fulfill_run_feed_grant(struct td_fulfill_run *run,
                                         uint64_t ticket,
                                         uint32_t outcome,
                                         const char *reason,
                                         struct td_error *error);

// Asks the run to stop gracefully: no new grant, page or re-read is handed out; keep
// polling and answering what is out until DONE. What was granted is journaled and marked,
// the rest stays CLAIMED for the next run with the same journal, and the report says
// `td_fulfill_report_interrupted`. NULL is a no-op.
//
// # Safety
// `run` is NULL or live, used by one thread at a time.
void td_fulfill_run_interrupt(struct td_fulfill_run *run);

// Steps handed out and not yet answered (0 for NULL).
//
// # Safety
// `run` is NULL or live.
size_t td_fulfill_run_steps_out(const struct td_fulfill_run *run);

// The report of a run that said DONE, as `td_client_fulfill` gives it: `TD_OK` with
// `*report_out` (free with `td_fulfill_report_free`), or the cause of a run that stopped
// early with its report in `td_error_fulfill_report(error)`. `TD_WRONG_STATE` before DONE
// and once taken.
//
// # Safety
// `run` is live; `report_out` writable; `error` NULL or live.
enum td_result td_fulfill_run_take_report(struct td_fulfill_run *run,
                                          struct td_fulfill_report **report_out,
                                          struct td_error *error);

// Sets (copies) the reason reported for a `TD_GRANT_FAILED` answer (ignored for the others);
// a later call replaces it.
//
// # Safety
// `reason` is the pointer the grant callback received, during the callback; `text` is a C
// string.
enum td_result td_grant_reason_set(struct td_grant_reason *reason, const char *text);

// A journal in a file of JSON lines (created on first use), fsync'd on every append. A torn
// last line (a crash mid-write) is ignored; loading compacts the file to the records still
// open and the ids settled in the last 30 days (written beside it, `path` with its extension
// replaced by `compacting`, then renamed over it). A settled id is not granted again when
// Twitch lists it as CLAIMED again (settled `TD_SETTLED_HELD_ELSEWHERE`).
// The path is only stored here: a file that cannot be opened fails the run with
// `TD_JOURNAL`.
//
// Writes `*journal_out` on success; free it with `td_journal_free`.
//
// # Safety
// `path` is a C string; `journal_out` is writable; `error` is NULL or a live `td_error`.
enum td_result td_journal_new_file(const char *path,
                                   struct td_journal **journal_out,
                                   struct td_error *error);

// A journal in memory: no grant is given twice within this process (keep the journal from
// run to run), nothing survives a crash. It keeps the records of entitlements still open and
// sixteen bytes per id settled in the last 30 days (not granted again when Twitch lists it
// as CLAIMED again), so it stays small. Free it with `td_journal_free`; NULL only on an
// internal failure.
struct td_journal *td_journal_new_memory(void);

// Frees a journal; NULL is a no-op. A file journal's file stays (it is the record).
//
// # Safety
// `journal` is NULL or from a `td_journal_new_*` function, not used afterwards.
void td_journal_free(struct td_journal *journal);

// Makes a journal of `callbacks` (copied; `user_data` is kept). A NULL `load` or `append`
// is `TD_NULL_POINTER`; a NULL `claim` appends claims (one instance per journal).
//
// Writes `*journal_out` on success; free it with `td_journal_free`.
//
// # Safety
// `callbacks` points to a `td_journal_callbacks`; `journal_out` is writable; `error` is NULL
// or a live `td_error`. `user_data` must stay valid, and usable from the threads that run
// the journal, until the journal is freed.
enum td_result td_journal_new_callbacks(const struct td_journal_callbacks *callbacks,
                                        struct td_journal **journal_out,
                                        struct td_error *error);

// Hands one stored record line to the engine (surrounding whitespace and a trailing newline
// are ignored; a blank line is skipped). A line that is not a journal record, or whose ids
// this library would never write (over 256 bytes, control characters), is
// `TD_INVALID_INPUT` and fails the whole load (`TD_JOURNAL`, naming the line): a lost record
// could mean a grant given twice, so the run does not start on a journal it cannot read.
//
// # Safety
// `sink` is the pointer the load callback received, during the callback; `json_line` is a
// C string.
enum td_result td_journal_sink_push(struct td_journal_sink *sink, const char *json_line);

// Hands the notes of clients made from `config` at `level` and above to `log` (NULL
// removes it). Per client: two clients may log to different places. `user_data` is passed
// back to every call and must outlive those clients. A `level` out of 1..=4 is
// `TD_INVALID_INPUT`.
//
// # Safety
// `config` is a live config; `log` NULL or a valid function; `user_data` as above.
enum td_result td_client_config_set_logger(struct td_client_config *config,
                                           uint32_t level,
                                           td_log_fn log,
                                           void *user_data);

// Copies the client's counters so far as JSON into `buf`, like `td_error_message`:
// `{"requests":{"GET /helix/entitlements/drops":{"200":12}},"retries":{"503":1},
// "rate_limited":0,"rate_limit_waits":0,"rate_limit_wait_ms":0,"token_fetches":1,
// "update_rereads":0,"granted":…,"retry_later":…,"grant_failed":…,"resumed_grants":…,
// "journal_recoveries":…,"quarantined_users":…}`.
//
// # Safety
// `client` is live; `buf` NULL or `len` writable bytes; `len_out` writable.
enum td_result td_client_metrics_json(const struct td_client *client,
                                      char *buf,
                                      size_t len,
                                      size_t *len_out);

// Frees an operation, finished or not; NULL is a no-op. A request it handed out must no
// longer be read; an answer arriving later is simply dropped by the host.
//
// # Safety
// `op` is NULL or from this library, not used afterwards.
void td_op_free(struct td_op *op);

// Advances the operation and says what it needs next (see `td_step_kind`). `now_ms` is the
// wall-clock time in milliseconds since the Unix epoch (rate-limit resets are Unix times).
// After SEND or SLEEP, answer with a `td_op_feed_*` call before polling again
// (`TD_WRONG_STATE` otherwise); after DONE, polling again returns DONE again.
//
// Writes `*step_out` on success.
//
// # Safety
// `op` is live; `step_out` writable; `error` NULL or live.
enum td_result td_op_poll(struct td_op *op,
                          uint64_t now_ms,
                          struct td_step *step_out,
                          struct td_error *error);

// Answers a SEND with the response: any status (4xx and 5xx too: the library decides what
// they mean), `header_count` headers (names and values need not be NUL-terminated), and the
// whole body. Everything is copied.
//
// # Safety
// `op` is live; `headers` points to `header_count` headers (NULL when 0); `body` to
// `body_len` bytes (NULL when 0); `error` NULL or live.
enum td_result td_op_feed_response(struct td_op *op,
                                   uint16_t status,
                                   const struct td_header *headers,
                                   size_t header_count,
                                   const uint8_t *body,
                                   size_t body_len,
                                   struct td_error *error);

// Answers a SEND that got no whole response: `kind` (a `td_transport_error_kind` other than
// NONE) tells whether the server may have seen it, `message` (may be NULL) says why.
//
// # Safety
// `op` is live; `message` NULL or a C string; `error` NULL or live.
enum td_result td_op_feed_transport_error(struct td_op *op,
                                          uint32_t kind,
                                          const char *message,
                                          struct td_error *error);

// Answers a SLEEP: the time has passed.
//
// # Safety
// `op` is live; `error` NULL or live.
enum td_result td_op_feed_slept(struct td_op *op, struct td_error *error);

// Step API: one page of entitlements (like `td_client_entitlements_page`). Take the result
// with `td_op_take_entitlements_page`. Writes `*op_out` on success (free with `td_op_free`).
//
// # Safety
// `client` and `query` are live; `op_out` writable; `error` NULL or live.
enum td_result td_client_begin_entitlements_page(const struct td_client *client,
                                                 const struct td_entitlements_query *query,
                                                 struct td_op **op_out,
                                                 struct td_error *error);

// Step API: an update with per-id outcomes (like `td_client_update_entitlements`). Take the
// result with `td_op_take_update_report`. Writes `*op_out` on success.
//
// # Safety
// `client` is live; `ids` points to `count` C strings; `op_out` writable; `error` NULL or
// live.
enum td_result td_client_begin_update_entitlements(const struct td_client *client,
                                                   const char *const *ids,
                                                   size_t count,
                                                   uint32_t status,
                                                   struct td_op **op_out,
                                                   struct td_error *error);

// Step API: a page of analytics reports (like `td_client_game_analytics`). Take the result
// with `td_op_take_analytics_page`. Writes `*op_out` on success.
//
// # Safety
// `client` and `query` are live; `op_out` writable; `error` NULL or live.
enum td_result td_client_begin_game_analytics(const struct td_client *client,
                                              const struct td_analytics_query *query,
                                              struct td_op **op_out,
                                              struct td_error *error);

// Step API: a report download (like `td_client_download_report`). Take the bytes with
// `td_op_take_bytes`. Writes `*op_out` on success.
//
// # Safety
// `client` is live; `url` a C string; `op_out` writable; `error` NULL or live.
enum td_result td_client_begin_download_report(const struct td_client *client,
                                               const char *url,
                                               struct td_op **op_out,
                                               struct td_error *error);

// Step API: token validation (like `td_client_validate_token`). Take the result with
// `td_op_take_token_info`. Writes `*op_out` on success.
//
// # Safety
// `client` is live; `op_out` writable; `error` NULL or live.
enum td_result td_client_begin_validate_token(const struct td_client *client,
                                              struct td_op **op_out,
                                              struct td_error *error);

// Step API: starts a device-code login (like `td_client_start_device_flow`). Take the code
// with `td_op_take_device_code`. Writes `*op_out` on success.
//
// # Safety
// `client` is live; `scopes` points to `count` C strings; `op_out` writable; `error` NULL
// or live.
enum td_result td_client_begin_start_device_flow(const struct td_client *client,
                                                 const char *const *scopes,
                                                 size_t count,
                                                 struct td_op **op_out,
                                                 struct td_error *error);

// Step API: waits for the user to approve a device-code login (like
// `td_client_finish_device_flow`; the waits between polls are SLEEP steps). On success the
// client uses the new user token; take it with `td_op_take_oauth_token` to store it.
// Writes `*op_out` on success.
//
// # Safety
// `client` and `code` are live; `op_out` writable; `error` NULL or live.
enum td_result td_client_begin_finish_device_flow(const struct td_client *client,
                                                  const struct td_device_code *code,
                                                  struct td_op **op_out,
                                                  struct td_error *error);

// The result of a finished `td_client_begin_entitlements_page` or `td_pages_begin_next`
// operation: `TD_OK` with `*page_out` (moved out: a second take is `TD_WRONG_STATE`), or the
// operation's failure with its detail in `error`. `TD_WRONG_STATE` before DONE or for another
// kind of operation.
//
// # Safety
// `op` is live; `page_out` writable; `error` NULL or live.
enum td_result td_op_take_entitlements_page(struct td_op *op,
                                            struct td_entitlements_page **page_out,
                                            struct td_error *error);

// The result of a finished update operation, like `td_op_take_entitlements_page`. For
// `TD_PARTIAL_UPDATE` the partial report is in `error` (`td_error_update_report`).
//
// # Safety
// `op` is live; `report_out` writable; `error` NULL or live.
enum td_result td_op_take_update_report(struct td_op *op,
                                        struct td_update_report **report_out,
                                        struct td_error *error);

// The result of a finished analytics operation, like `td_op_take_entitlements_page`.
//
// # Safety
// `op` is live; `page_out` writable; `error` NULL or live.
enum td_result td_op_take_analytics_page(struct td_op *op,
                                         struct td_analytics_page **page_out,
                                         struct td_error *error);

// The result of a finished download operation, like `td_op_take_entitlements_page`.
//
// # Safety
// `op` is live; `bytes_out` writable; `error` NULL or live.
enum td_result td_op_take_bytes(struct td_op *op,
                                struct td_bytes **bytes_out,
                                struct td_error *error);

// The result of a finished validation operation, like `td_op_take_entitlements_page`.
//
// # Safety
// `op` is live; `info_out` writable; `error` NULL or live.
enum td_result td_op_take_token_info(struct td_op *op,
                                     struct td_token_info **info_out,
                                     struct td_error *error);

// The result of a finished device-flow start, like `td_op_take_entitlements_page`.
//
// # Safety
// `op` is live; `code_out` writable; `error` NULL or live.
enum td_result td_op_take_device_code(struct td_op *op,
                                      struct td_device_code **code_out,
                                      struct td_error *error);

// The result of a finished device-flow finish (the user token, already in use by the
// client), like `td_op_take_entitlements_page`.
//
// # Safety
// `op` is live; `token_out` writable; `error` NULL or live.
enum td_result td_op_take_oauth_token(struct td_op *op,
                                      struct td_oauth_token **token_out,
                                      struct td_error *error);

// The name of a `td_result` value (`"TD_HTTP"`), or `"TD_UNKNOWN_RESULT"` for a value this
// version does not know. The view is static: valid forever. Thread-safe.
struct td_str td_result_name(uint32_t code);

// Frees token information; NULL is a no-op.
//
// # Safety
// `info` is NULL or from this library, not used afterwards.
void td_token_info_free(struct td_token_info *info);

// The client id the token belongs to. Views from `td_token_info_*` are valid until the
// info is freed; `""` for NULL.
//
// # Safety
// `info` is NULL or live.
struct td_str td_token_info_client_id(const struct td_token_info *info);

// The user's login; `""` for app tokens.
//
// # Safety
// `info` is NULL or live.
struct td_str td_token_info_login(const struct td_token_info *info);

// The user's id; `""` for app tokens.
//
// # Safety
// `info` is NULL or live.
struct td_str td_token_info_user_id(const struct td_token_info *info);

// Seconds until the token expires (0 for NULL).
//
// # Safety
// `info` is NULL or live.
uint64_t td_token_info_expires_in(const struct td_token_info *info);

// How many scopes the token has (0 for NULL).
//
// # Safety
// `info` is NULL or live.
size_t td_token_info_scope_count(const struct td_token_info *info);

// The scope at `index`; writes `*scope_out` on success.
//
// # Safety
// `info` is live; `scope_out` writable.
enum td_result td_token_info_scope(const struct td_token_info *info,
                                   size_t index,
                                   struct td_str *scope_out);

// Frees a device code; NULL is a no-op.
//
// # Safety
// `code` is NULL or from this library, not used afterwards.
void td_device_code_free(struct td_device_code *code);

// The code the user types. Valid until the code is freed; `""` for NULL.
//
// # Safety
// `code` is NULL or live.
struct td_str td_device_code_user_code(const struct td_device_code *code);

// Where the user types it. Valid until the code is freed; `""` for NULL.
//
// # Safety
// `code` is NULL or live.
struct td_str td_device_code_verification_uri(const struct td_device_code *code);

// Seconds the code stays valid (0 for NULL).
//
// # Safety
// `code` is NULL or live.
uint64_t td_device_code_expires_in(const struct td_device_code *code);

// Seconds between polls (0 for NULL).
//
// # Safety
// `code` is NULL or live.
uint64_t td_device_code_interval(const struct td_device_code *code);

// Frees a token (its memory is wiped); NULL is a no-op.
//
// # Safety
// `token` is NULL or from this library, not used afterwards.
void td_oauth_token_free(struct td_oauth_token *token);

// The access token (a credential). Valid until the token is freed; `""` for NULL.
//
// # Safety
// `token` is NULL or live.
struct td_str td_oauth_token_access_token(const struct td_oauth_token *token);

// The refresh token (a credential); `""` when there is none.
//
// # Safety
// `token` is NULL or live.
struct td_str td_oauth_token_refresh_token(const struct td_oauth_token *token);

// Seconds until the access token expires, as Twitch said when it was issued; 0 when unknown.
//
// # Safety
// `token` is NULL or live.
uint64_t td_oauth_token_expires_in(const struct td_oauth_token *token);

// How many scopes the token has (0 for NULL).
//
// # Safety
// `token` is NULL or live.
size_t td_oauth_token_scope_count(const struct td_oauth_token *token);

// The scope at `index`; writes `*scope_out` on success.
//
// # Safety
// `token` is live; `scope_out` writable.
enum td_result td_oauth_token_scope(const struct td_oauth_token *token,
                                    size_t index,
                                    struct td_str *scope_out);

// Sets the response's status (100-999).
//
// # Safety
// `response` is the pointer the callback received, during the callback.
enum td_result td_http_response_set_status(struct td_http_response *response, uint16_t status);

// Adds a response header. Repeated names are kept; names match case-insensitively. Only
// `Ratelimit-*`, `Retry-After`, `Content-Type` and `Location` are read.
//
// # Safety
// `response` is the pointer the callback received; `name` and `value` view readable bytes.
enum td_result td_http_response_add_header(struct td_http_response *response,
                                           struct td_str name,
                                           struct td_str value);

// Appends `len` bytes to the response body (call as often as the data arrives).
//
// # Safety
// `response` is the pointer the callback received; `data` points to `len` readable bytes
// (may be NULL when `len` is 0).
enum td_result td_http_response_append_body(struct td_http_response *response,
                                            const uint8_t *data,
                                            size_t len);

// Reports that no whole response could be had; `kind` (a `td_transport_error_kind` other than
// NONE) decides whether the request may be resent, `message` (optional, for people) says why.
// Overrides anything set before.
//
// # Safety
// `response` is the pointer the callback received; `message` is NULL or a C string.
enum td_result td_http_response_fail(struct td_http_response *response,
                                     uint32_t kind,
                                     const char *message);

// Frees a report returned by a call; NULL is a no-op. Never free the one a `td_error` lends.
//
// # Safety
// `report` is NULL or a report a call returned, not used afterwards.
void td_update_report_free(struct td_update_report *report);

// How many ids have an outcome (0 for NULL).
//
// # Safety
// `report` is NULL or live.
size_t td_update_report_count(const struct td_update_report *report);

// The id and outcome at `index` (0-based). Writes both outs on success; the id is valid
// until the report is freed. `TD_INDEX_OUT_OF_RANGE` past the end.
//
// # Safety
// `report` is live; both outs writable.
enum td_result td_update_report_get(const struct td_update_report *report,
                                    size_t index,
                                    struct td_str *id_out,
                                    enum td_update_status *status_out);

// The outcome of `id`. `TD_NOT_AVAILABLE` when the id has none (unconfirmed or not in the
// update). Writes `*status_out` on success.
//
// # Safety
// `report` is live; `id` a C string; `status_out` writable.
enum td_result td_update_report_status_of(const struct td_update_report *report,
                                          const char *id,
                                          enum td_update_status *status_out);

// How many ids are unconfirmed (0 for NULL).
//
// # Safety
// `report` is NULL or live.
size_t td_update_report_unconfirmed_count(const struct td_update_report *report);

// The unconfirmed id at `index`, valid until the report is freed. Writes `*id_out` on
// success; `TD_INDEX_OUT_OF_RANGE` past the end.
//
// # Safety
// `report` is live; `id_out` writable.
enum td_result td_update_report_unconfirmed_get(const struct td_update_report *report,
                                                size_t index,
                                                struct td_str *id_out);

// True when every id succeeded and none is unconfirmed (false for NULL).
//
// # Safety
// `report` is NULL or live.
bool td_update_report_all_succeeded(const struct td_update_report *report);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* TWITCH_DROPS_H */
