/* Fulfillment on the game thread, never blocking: the same engine and journal as
 * td_client_fulfill (each reward given once, even across crashes), ticked once per frame. Its
 * requests go through the engine's own asynchronous HTTP stack, its waits are measured against
 * the frame clock, and each reward is given by the game. engine_* and game_grant stand for
 * your functions. */
#include <stdint.h>
#include <stdio.h>

#include "twitch_drops.h"

/* Your engine: asynchronous HTTP. */
typedef struct engine_http engine_http;
engine_http *engine_http_start(const td_http_request *request); /* copies the request */
/* 0 while in flight; 1 with the response; -1 when no whole response came back. */
int engine_http_poll(engine_http *http, uint16_t *status, const td_header **headers, size_t *header_count,
                     const uint8_t **body, size_t *body_len);
void engine_http_free(engine_http *http);
/* Your game: give grant->benefit_id to grant->user_id; answer a td_grant_outcome. If
 * grant->resumed, a crash interrupted an earlier attempt: check your records for grant->id. */
uint32_t game_grant(const td_grant_request *grant);

#define DROPS_MAX_OUT 64

typedef struct drops_fulfiller {
    td_fulfill_run *run;
    struct {
        uint64_t ticket;
        engine_http *http;   /* a SEND in flight, or NULL for a SLEEP */
        uint64_t wake_at_ms; /* a SLEEP's end */
    } out[DROPS_MAX_OUT];
    size_t count;
} drops_fulfiller;

/* Starts fulfilling every CLAIMED entitlement of `game_id`. `journal` (keep the same file from
 * run to run) must outlive the run. */
td_result drops_fulfiller_start(drops_fulfiller *f, const td_client *client, const char *game_id,
                                td_journal *journal, td_error *err) {
    td_fulfill_options *options = td_fulfill_options_new();
    td_result r = td_fulfill_options_set_game_id(options, game_id);
    f->run = NULL;
    f->count = 0;
    if (r == TD_OK) r = td_client_begin_fulfill(client, options, journal, &f->run, err);
    td_fulfill_options_free(options);
    return r;
}

/* Call once per frame: 0 while running, 1 when done, -1 on misuse. */
int drops_fulfiller_tick(drops_fulfiller *f, uint64_t now_ms, td_error *err) {
    /* Answer what finished since the last frame. */
    for (size_t i = 0; i < f->count;) {
        td_result r;
        if (f->out[i].http != NULL) {
            uint16_t status;
            const td_header *headers;
            size_t header_count, body_len;
            const uint8_t *body;
            int state = engine_http_poll(f->out[i].http, &status, &headers, &header_count, &body, &body_len);
            if (state == 0) { i++; continue; }
            if (state > 0)
                r = td_fulfill_run_feed_response(f->run, f->out[i].ticket, status, headers, header_count, body,
                                                 body_len, err);
            else
                r = td_fulfill_run_feed_transport_error(f->run, f->out[i].ticket, TD_TRANSPORT_INTERRUPTED,
                                                        "engine HTTP failed", err);
            engine_http_free(f->out[i].http);
        } else if (now_ms >= f->out[i].wake_at_ms) {
            r = td_fulfill_run_feed_slept(f->run, f->out[i].ticket, err);
        } else {
            i++;
            continue;
        }
        f->out[i] = f->out[--f->count];
        if (r != TD_OK) return -1;
    }
    /* Start what the run needs now. */
    for (;;) {
        td_run_step step;
        if (td_fulfill_run_poll(f->run, now_ms, &step, err) != TD_OK) return -1;
        switch (step.kind) {
        case TD_RUN_SEND:
        case TD_RUN_SLEEP:
            if (f->count == DROPS_MAX_OUT) return -1;
            f->out[f->count].ticket = step.ticket;
            f->out[f->count].http = step.kind == TD_RUN_SEND ? engine_http_start(step.request) : NULL;
            f->out[f->count].wake_at_ms = now_ms + step.sleep_ms;
            f->count++;
            break;
        case TD_RUN_GRANT:
            if (td_fulfill_run_feed_grant(f->run, step.ticket, game_grant(step.grant), NULL, err) != TD_OK) return -1;
            break;
        case TD_RUN_IDLE: return 0;
        case TD_RUN_DONE: return 1;
        }
    }
}

/* After the last tick: the report, or why the run stopped (TD_JOURNAL, TD_UNAUTHORIZED...;
 * anything not fulfilled stays CLAIMED for the next run). Called before DONE, it abandons the
 * run (TD_WRONG_STATE, no report): the journal keeps what was granted for the next run. */
td_result drops_fulfiller_finish(drops_fulfiller *f, td_fulfill_report **report, td_error *err) {
    td_result r = td_fulfill_run_take_report(f->run, report, err);
    while (f->count > 0) {
        if (f->out[--f->count].http != NULL) engine_http_free(f->out[f->count].http);
    }
    td_fulfill_run_free(f->run);
    f->run = NULL;
    return r;
}
