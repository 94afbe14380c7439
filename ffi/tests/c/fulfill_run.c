/* The fulfillment engine driven without blocking (td_fulfill_run) by a C loop standing in for
 * a game: each "frame" it polls until IDLE, taking every step handed out, then completes them
 * in the reverse order (its "asynchronous" HTTP and grants finish out of order). The client's
 * own transport is never used: every request goes through the small POSIX HTTP client.
 *
 * usage: fulfill_run drain JOURNAL_PATH     every CLAIMED entitlement; some grants answered
 *                                           RETRY_LATER or FAILED; misfed answers refused
 *        fulfill_run crash N JOURNAL_PATH   the first run is freed after N grants with steps
 *                                           out (a crash); a second run with the same journal
 *                                           finishes, resuming only the grants in doubt
 *        fulfill_run interrupt N JOURNAL_PATH  the first run's stop signal is raised after N
 *                                           grants: it ends DONE, interrupted, having marked
 *                                           all it granted; a second run finishes, resuming
 *                                           nothing
 *        fulfill_run pushed N               N CLAIMED entitlements read (blocking), then given
 *                                           to td_client_begin_fulfill_entitlements, as an
 *                                           EventSub push would; bad options refused
 * env:   TWITCH_CLIENT_ID TWITCH_CLIENT_SECRET TWITCH_HELIX_URL TWITCH_AUTH_URL TWITCH_GAME_ID
 * prints one line of key=value totals. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <time.h>

#include "test_http.h"
#include "test_util.h"

#define MAX_OUT 256

/* The game: what it gave, and how it answered. */
typedef struct game {
    id_list given;
    unsigned grants, resumed, duplicates, retry_later, failed;
    int pattern; /* answer RETRY_LATER and FAILED for some */
} game;

typedef struct counters {
    unsigned sends, sleeps, frames, settled, most_out;
} counters;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_settled(void *user_data, const td_settlement *settlement) {
    counters *n = user_data;
    CHECK(settlement != NULL && settlement->id.len > 0);
    n->settled++;
}

/* Gives the reward of `request` (once per id, unless a crash left it in doubt). */
static uint32_t give(game *g, const td_grant_request *request, const char **reason) {
    CHECK(request->id.len == 36 && request->id.ptr[36] == '\0');
    CHECK(str_eq(request->game_id, env("TWITCH_GAME_ID")));
    unsigned call = g->grants++;
    g->resumed += request->resumed;
    if (id_list_find(&g->given, request->id) >= 0) {
        if (!request->resumed) g->duplicates++;
        return TD_GRANT_GRANTED;
    }
    if (g->pattern && call % 10 == 3) {
        g->retry_later++;
        return TD_GRANT_RETRY_LATER;
    }
    if (g->pattern && call % 10 == 7) {
        g->failed++;
        *reason = "no linked account";
        return TD_GRANT_FAILED;
    }
    id_list_push(&g->given, request->id);
    return TD_GRANT_GRANTED;
}

/* Completes one step taken this frame. */
/* A stop signal raised once the game has made `raise_after` grants, as a quit button would. */
static td_stop_signal *raise_signal = NULL;
static unsigned raise_after = 0;

static void complete(td_fulfill_run *run, const td_run_step *step, game *g, counters *n, td_error *err) {
    switch (step->kind) {
    case TD_RUN_SEND: {
        const td_http_request *req = step->request;
        http_result res;
        n->sends++;
        if (http_perform(req->method.ptr, req->url.ptr, req->headers, req->header_count, req->body, req->body_len,
                         &res)) {
            CHECK_OK(td_fulfill_run_feed_response(run, step->ticket, (uint16_t)res.status, res.headers,
                                                  res.header_count, res.body, res.body_len, err),
                     err);
        } else {
            CHECK_OK(td_fulfill_run_feed_transport_error(run, step->ticket, (uint32_t)res.failure, res.error, err),
                     err);
        }
        http_result_free(&res);
        break;
    }
    case TD_RUN_SLEEP:
        /* A game counts the wait in frames; here the fake needs no real wait. */
        n->sleeps++;
        CHECK_OK(td_fulfill_run_feed_slept(run, step->ticket, err), err);
        break;
    case TD_RUN_GRANT: {
        const char *reason = NULL;
        uint32_t outcome = give(g, step->grant, &reason);
        CHECK_OK(td_fulfill_run_feed_grant(run, step->ticket, outcome, reason, err), err);
        if (raise_signal != NULL && g->grants >= raise_after) td_stop_signal_raise(raise_signal);
        break;
    }
    default:
        CHECK(0);
    }
}

/* Frames until DONE, or until `stop_after` grants (0: never) when it returns 0 with steps out. */
static int drive(td_fulfill_run *run, game *g, counters *n, unsigned stop_after, td_error *err) {
    static td_run_step taken[MAX_OUT];
    for (;;) {
        size_t count = 0;
        n->frames++;
        for (;;) {
            td_run_step step;
            CHECK_OK(td_fulfill_run_poll(run, now_ms(), &step, err), err);
            if (step.kind == TD_RUN_DONE) {
                CHECK(count == 0 && td_fulfill_run_steps_out(run) == 0);
                return 1;
            }
            if (step.kind == TD_RUN_IDLE) break;
            CHECK(count < MAX_OUT);
            taken[count++] = step;
        }
        CHECK(count > 0); /* IDLE with nothing out would be a stall */
        if (td_fulfill_run_steps_out(run) > n->most_out) n->most_out = (unsigned)td_fulfill_run_steps_out(run);
        while (count > 0) {
            complete(run, &taken[--count], g, n, err);
            if (stop_after > 0 && g->grants >= stop_after) return 0;
        }
    }
}

/* The stop signal `begin` gives its runs, if set. */
static td_stop_signal *stop_signal = NULL;

static td_fulfill_run *begin(td_client *client, td_journal *journal, counters *n, td_error *err) {
    td_fulfill_options *options = td_fulfill_options_new();
    CHECK(options != NULL);
    CHECK_OK(td_fulfill_options_set_game_id(options, env("TWITCH_GAME_ID")), NULL);
    CHECK_OK(td_fulfill_options_set_on_settled(options, on_settled, n), NULL);
    /* A host that grants side by side: a batch of 100 out at once. */
    CHECK_OK(td_fulfill_options_set_grants_in_flight(options, 100), NULL);
    CHECK_OK(td_fulfill_options_set_stop_signal(options, stop_signal), NULL);
    td_fulfill_run *run = NULL;
    CHECK_OK(td_client_begin_fulfill(client, options, journal, &run, err), err);
    td_fulfill_options_free(options); /* copied: the run does not need it */
    return run;
}

/* Takes the report of a finished run (TD_OK expected) and frees it; returns what was fulfilled. */
static uint64_t finish(td_fulfill_run *run, td_error *err) {
    td_fulfill_report *report = NULL;
    CHECK_OK(td_fulfill_run_take_report(run, &report, err), err);
    CHECK_RESULT(td_fulfill_run_take_report(run, &report, err), TD_WRONG_STATE, err);
    uint64_t fulfilled = td_fulfill_report_fulfilled(report);
    td_fulfill_report_free(report);
    td_run_step again;
    CHECK_OK(td_fulfill_run_poll(run, now_ms(), &again, err), err);
    CHECK(again.kind == TD_RUN_DONE && again.result == TD_OK);
    return fulfilled;
}

/* Misfed answers are refused and leave the step out; the right answer is then taken. */
static void misfeeds(td_fulfill_run *run, counters *n, td_error *err) {
    td_run_step step;
    CHECK_RESULT(td_fulfill_run_take_report(run, NULL, err), TD_NULL_POINTER, err);
    td_fulfill_report *report = NULL;
    CHECK_RESULT(td_fulfill_run_take_report(run, &report, err), TD_WRONG_STATE, err);
    CHECK_OK(td_fulfill_run_poll(run, now_ms(), &step, err), err);
    CHECK(step.kind == TD_RUN_SEND); /* the token request */
    CHECK_RESULT(td_fulfill_run_feed_slept(run, step.ticket, err), TD_WRONG_STATE, err);
    CHECK_RESULT(td_fulfill_run_feed_grant(run, step.ticket, TD_GRANT_GRANTED, NULL, err), TD_WRONG_STATE, err);
    CHECK_RESULT(td_fulfill_run_feed_slept(run, step.ticket + 1000, err), TD_WRONG_STATE, err);
    CHECK_RESULT(td_fulfill_run_feed_response(run, step.ticket, 42, NULL, 0, NULL, 0, err), TD_INVALID_INPUT, err);
    CHECK_RESULT(td_fulfill_run_feed_transport_error(run, step.ticket, 0, NULL, err), TD_INVALID_INPUT, err);
    CHECK_RESULT(td_fulfill_run_feed_grant(NULL, step.ticket, TD_GRANT_GRANTED, NULL, err), TD_NULL_POINTER, err);
    CHECK(td_fulfill_run_steps_out(run) == 1);
    /* The step is still out: answered for real, the run goes on. */
    const td_http_request *req = step.request;
    http_result res;
    n->sends++;
    CHECK(http_perform(req->method.ptr, req->url.ptr, req->headers, req->header_count, req->body, req->body_len,
                       &res));
    CHECK_OK(td_fulfill_run_feed_response(run, step.ticket, (uint16_t)res.status, res.headers, res.header_count,
                                          res.body, res.body_len, err),
             err);
    http_result_free(&res);
    CHECK_RESULT(td_fulfill_run_feed_response(run, step.ticket, 200, NULL, 0, NULL, 0, err), TD_WRONG_STATE, err);
}

int main(int argc, char **argv) {
    CHECK(argc >= 3);
    td_error *err = td_error_new();
    CHECK(err != NULL);
    td_client *client = fake_client(err);
    game g = {0};
    counters n = {0};
    uint64_t fulfilled = 0;

    if (strcmp(argv[1], "drain") == 0) {
        td_journal *journal = NULL;
        CHECK_OK(td_journal_new_file(argv[2], &journal, err), err);
        CHECK_RESULT(td_client_begin_fulfill(client, NULL, journal, NULL, err), TD_NULL_POINTER, err);
        td_fulfill_run *run = begin(client, journal, &n, err);
        g.pattern = 1;
        misfeeds(run, &n, err);
        CHECK(drive(run, &g, &n, 0, err));
        fulfilled = finish(run, err);
        td_fulfill_run_free(run);
        td_journal_free(journal);
    } else if (strcmp(argv[1], "crash") == 0 && argc == 4) {
        unsigned stop_after = (unsigned)strtoul(argv[2], NULL, 10);
        td_journal *journal = NULL;
        CHECK_OK(td_journal_new_file(argv[3], &journal, err), err);
        td_fulfill_run *run = begin(client, journal, &n, err);
        CHECK(!drive(run, &g, &n, stop_after, err));
        CHECK(td_fulfill_run_steps_out(run) > 0);
        td_fulfill_run_free(run); /* the crash: steps out are dropped */
        td_journal_free(journal);
        CHECK_OK(td_journal_new_file(argv[3], &journal, err), err);
        run = begin(client, journal, &n, err);
        CHECK(drive(run, &g, &n, 0, err));
        fulfilled = finish(run, err);
        td_fulfill_run_free(run);
        td_journal_free(journal);
    } else if (strcmp(argv[1], "interrupt") == 0 && argc == 4) {
        unsigned stop_after = (unsigned)strtoul(argv[2], NULL, 10);
        td_journal *journal = NULL;
        CHECK_OK(td_journal_new_file(argv[3], &journal, err), err);
        stop_signal = td_stop_signal_new();
        CHECK(stop_signal != NULL);
        td_fulfill_run *run = begin(client, journal, &n, err);
        raise_signal = stop_signal;
        raise_after = stop_after;
        stop_signal = NULL;
        td_stop_signal_raise(NULL);     /* a no-op */
        td_fulfill_run_interrupt(NULL); /* a no-op */
        CHECK(drive(run, &g, &n, 0, err)); /* what is out is answered, then DONE */
        td_fulfill_report *report = NULL;
        CHECK_OK(td_fulfill_run_take_report(run, &report, err), err);
        CHECK(td_fulfill_report_interrupted(report) && !td_fulfill_report_is_complete(report));
        /* Everything granted (answered GRANTED) was recorded and marked. */
        CHECK(td_fulfill_report_fulfilled(report) == g.grants);
        CHECK(td_fulfill_report_not_reached(report) > 0);
        printf("interrupted after %u grants: fulfilled %" PRIu64 ", not reached %" PRIu64 "\n", g.grants,
               td_fulfill_report_fulfilled(report), td_fulfill_report_not_reached(report));
        td_fulfill_report_free(report);
        td_fulfill_run_free(run);
        td_stop_signal_free(raise_signal); /* the run kept its own reference until now */
        raise_signal = NULL;
        td_journal_free(journal);
        CHECK_OK(td_journal_new_file(argv[3], &journal, err), err);
        run = begin(client, journal, &n, err);
        CHECK(drive(run, &g, &n, 0, err));
        fulfilled = finish(run, err);
        CHECK(g.resumed == 0); /* nothing was left in doubt */
        td_fulfill_run_free(run);
        td_journal_free(journal);
    } else if (strcmp(argv[1], "pushed") == 0) {
        td_entitlements_query *query = td_entitlements_query_new();
        CHECK(query != NULL);
        CHECK_OK(td_entitlements_query_set_game_id(query, env("TWITCH_GAME_ID")), NULL);
        CHECK_OK(td_entitlements_query_set_status(query, TD_CLAIMED), NULL);
        CHECK_OK(td_entitlements_query_set_first(query, (uint32_t)strtoul(argv[2], NULL, 10)), NULL);
        td_entitlements_page *page = NULL;
        CHECK_OK(td_client_entitlements_page(client, query, &page, err), err);
        td_entitlements_query_free(query);
        size_t count = td_entitlements_page_count(page);
        const td_entitlement *list[1000];
        CHECK(count > 0 && count <= 1000);
        for (size_t i = 0; i < count; i++) list[i] = td_entitlements_page_get(page, i);
        td_journal *journal = td_journal_new_memory();
        CHECK(journal != NULL);
        td_fulfill_options *options = td_fulfill_options_new();
        CHECK(options != NULL);
        td_fulfill_run *run = NULL;
        /* Requests in flight apply to given entitlements too, and are checked. */
        CHECK_OK(td_fulfill_options_set_requests_in_flight(options, 0), NULL);
        CHECK_RESULT(td_client_begin_fulfill_entitlements(client, list, count, options, journal, &run, err),
                     TD_INVALID_INPUT, err);
        CHECK(run == NULL);
        CHECK_OK(td_fulfill_options_set_requests_in_flight(options, 2), NULL);
        CHECK_OK(td_fulfill_options_set_on_settled(options, on_settled, &n), NULL);
        CHECK_OK(td_client_begin_fulfill_entitlements(client, list, count, options, journal, &run, err), err);
        td_fulfill_options_free(options);
        td_entitlements_page_free(page); /* copied by the run */
        CHECK(drive(run, &g, &n, 0, err));
        fulfilled = finish(run, err);
        td_fulfill_run_free(run);
        td_journal_free(journal);
    } else {
        fprintf(stderr, "usage: fulfill_run drain JOURNAL | crash N JOURNAL | interrupt N JOURNAL | pushed N\n");
        return 2;
    }
    td_fulfill_run_free(NULL);

    printf("granted=%zu fulfilled=%" PRIu64 " grants=%u resumed=%u duplicates=%u retry_later=%u failed=%u "
           "sends=%u sleeps=%u frames=%u most_out=%u settled=%u requests=%" PRIu64 "\n",
           g.given.len, fulfilled, g.grants, g.resumed, g.duplicates, g.retry_later, g.failed, n.sends, n.sleeps,
           n.frames, n.most_out, n.settled, td_client_requests_sent(client));
    id_list_free(&g.given);
    td_client_free(client);
    td_error_free(err);
    return 0;
}
