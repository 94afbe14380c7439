/* The engine pattern: the game thread never blocks. Each frame it ticks a td_op; requests go
 * through the engine's own asynchronous HTTP stack and waits are counted in frames.
 * engine_* stand for your engine's functions. */
#include <stdint.h>
#include <stdio.h>

#include "twitch_drops.h"

/* Your engine: a clock, the end of a frame, and asynchronous HTTP. */
uint64_t engine_now_ms(void);
void engine_next_frame(void);
typedef struct engine_http engine_http;
engine_http *engine_http_start(const td_http_request *request); /* copies the request */
/* 0 while in flight; 1 with the response; -1 when no whole response came back. */
int engine_http_poll(engine_http *http, uint16_t *status, const td_header **headers, size_t *header_count,
                     const uint8_t **body, size_t *body_len);
void engine_http_free(engine_http *http);

typedef struct drops_task {
    td_op *op;
    engine_http *http; /* the request in flight, if any */
    uint64_t wake_at_ms; /* when waiting, the time to go on */
    int waiting;
} drops_task;

/* Call once per frame: 0 while running, 1 when done (take the result), -1 on misuse. */
int drops_task_tick(drops_task *task, uint64_t now_ms, td_error *err) {
    if (task->http != NULL) {
        uint16_t status;
        const td_header *headers;
        size_t header_count, body_len;
        const uint8_t *body;
        int state = engine_http_poll(task->http, &status, &headers, &header_count, &body, &body_len);
        if (state == 0) return 0;
        if (state > 0) td_op_feed_response(task->op, status, headers, header_count, body, body_len, err);
        else td_op_feed_transport_error(task->op, TD_TRANSPORT_INTERRUPTED, "engine HTTP failed", err);
        engine_http_free(task->http);
        task->http = NULL;
    } else if (task->waiting) {
        if (now_ms < task->wake_at_ms) return 0;
        td_op_feed_slept(task->op, err);
        task->waiting = 0;
    }
    td_step step;
    if (td_op_poll(task->op, now_ms, &step, err) != TD_OK) return -1;
    switch (step.kind) {
    case TD_STEP_SEND: task->http = engine_http_start(step.request); return 0;
    case TD_STEP_SLEEP: task->waiting = 1; task->wake_at_ms = now_ms + step.sleep_ms; return 0;
    case TD_STEP_DONE: return 1;
    }
    return -1;
}

/* Runs a task to the end, one tick per frame (a real game would do other work meanwhile). */
static int run_task(drops_task *task, td_error *err) {
    int state;
    while ((state = drops_task_tick(task, engine_now_ms(), err)) == 0) engine_next_frame();
    return state;
}

/* Grants one page of CLAIMED entitlements of `game_id` and marks them FULFILLED. Returns how
 * many were fulfilled (0: nothing left to do), or -1 on failure. Call until it returns 0. */
int drain_one_page(td_client *client, const char *game_id, td_error *err) {
    drops_task task = {0};
    td_entitlements_query *claimed = td_entitlements_query_new();
    td_entitlements_query_set_game_id(claimed, game_id);
    td_entitlements_query_set_status(claimed, TD_CLAIMED);
    td_entitlements_query_set_first(claimed, 100);
    td_result r = td_client_begin_entitlements_page(client, claimed, &task.op, err);
    td_entitlements_query_free(claimed);
    if (r != TD_OK || run_task(&task, err) < 0) return -1;
    td_entitlements_page *page = NULL;
    r = td_op_take_entitlements_page(task.op, &page, err);
    td_op_free(task.op);
    if (r != TD_OK) return -1;

    const char *ids[100];
    size_t count = td_entitlements_page_count(page);
    for (size_t i = 0; i < count; i++) {
        const td_entitlement *e = td_entitlements_page_get(page, i);
        /* Your game grants td_entitlement_benefit_id(e) to td_entitlement_user_id(e) here. */
        ids[i] = td_entitlement_id(e).ptr; /* NUL-terminated, valid until the page is freed */
    }
    int fulfilled = -1;
    td_update_report *report = NULL;
    task = (drops_task){0};
    if (count == 0) {
        fulfilled = 0;
    } else if (td_client_begin_update_entitlements(client, ids, count, TD_FULFILLED, &task.op, err) == TD_OK &&
               run_task(&task, err) > 0 && td_op_take_update_report(task.op, &report, err) == TD_OK) {
        fulfilled = 0;
        for (size_t i = 0; i < td_update_report_count(report); i++) {
            td_str id;
            td_update_status status;
            td_update_report_get(report, i, &id, &status);
            if (status == TD_UPDATE_SUCCESS) fulfilled++;
            else fprintf(stderr, "not fulfilled: %s (%d)\n", id.ptr, (int)status);
        }
        td_update_report_free(report);
    }
    td_op_free(task.op);
    td_entitlements_page_free(page);
    return fulfilled;
}
