/* The step API driven by a C loop that performs HTTP itself (a small POSIX-socket client
 * standing in for an engine's HTTP stack): the client's own transport must never be used.
 * Drains the fake page by page and updates everything, then logs a user in with the device
 * flow, validates the token, lists analytics and downloads a report, all as steps.
 *
 * env: TWITCH_* as drain, TD_TEST_BASE_URL (the fake's admin routes)
 * prints: step: sends=N sleeps=N slept_ms=N interrupted=N */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <time.h>

#include "test_http.h"
#include "test_util.h"

typedef struct counters {
    unsigned sends, sleeps, interrupted;
    uint64_t slept_ms;
} counters;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(uint64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs an operation to DONE, performing its requests and sleeps; returns its result. */
static td_result drive(td_op *op, counters *n, td_error *err) {
    for (;;) {
        td_step step;
        CHECK_OK(td_op_poll(op, now_ms(), &step, err), err);
        switch (step.kind) {
        case TD_STEP_SEND: {
            const td_http_request *req = step.request;
            http_result res;
            n->sends++;
            if (http_perform(req->method.ptr, req->url.ptr, req->headers, req->header_count, req->body,
                             req->body_len, &res)) {
                CHECK_OK(td_op_feed_response(op, (uint16_t)res.status, res.headers, res.header_count, res.body,
                                             res.body_len, err),
                         err);
            } else {
                n->interrupted += res.failure == TD_TRANSPORT_INTERRUPTED;
                CHECK_OK(td_op_feed_transport_error(op, (uint32_t)res.failure, res.error, err), err);
            }
            http_result_free(&res);
            break;
        }
        case TD_STEP_SLEEP:
            n->sleeps++;
            n->slept_ms += step.sleep_ms;
            sleep_ms(step.sleep_ms);
            CHECK_OK(td_op_feed_slept(op, err), err);
            break;
        case TD_STEP_DONE:
            return step.result;
        }
    }
}

/* The client's own transport: must never be called in this program. */
static void no_transport(void *user_data, const td_http_request *req, td_http_response *resp) {
    (void)user_data;
    (void)req;
    (void)resp;
    fprintf(stderr, "the step API must not use the client's transport\n");
    exit(1);
}

static td_client *new_client(int with_secret, td_error *err) {
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new(env("TWITCH_CLIENT_ID"), &config, err), err);
    if (with_secret) {
        CHECK_OK(td_client_config_set_client_secret(config, env("TWITCH_CLIENT_SECRET")), NULL);
    }
    CHECK_OK(td_client_config_set_helix_url(config, env("TWITCH_HELIX_URL")), NULL);
    CHECK_OK(td_client_config_set_auth_url(config, env("TWITCH_AUTH_URL")), NULL);
    CHECK_OK(td_client_config_set_transport(config, no_transport, NULL), NULL);
    td_retry_policy policy = td_retry_policy_default();
    policy.base_delay_ms = 10;
    policy.max_delay_ms = 80;
    CHECK_OK(td_client_config_set_retry_policy(config, &policy), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    return client;
}

static void drain(counters *n, td_error *err) {
    td_client *client = new_client(1, err);
    td_entitlements_query *query = td_entitlements_query_new();
    CHECK_OK(td_entitlements_query_set_game_id(query, env("TWITCH_GAME_ID")), NULL);
    CHECK_OK(td_entitlements_query_set_status(query, TD_CLAIMED), NULL);
    CHECK_OK(td_entitlements_query_set_first(query, 300), NULL);
    td_pages *pages = NULL;
    CHECK_OK(td_client_entitlement_pages(client, query, &pages, err), err);
    td_entitlements_query_free(query);

    id_list ids = {0};
    td_op *op = NULL;
    td_result r;
    while ((r = td_pages_begin_next(pages, &op, err)) == TD_OK) {
        td_op *second = NULL;
        CHECK(td_pages_begin_next(pages, &second, err) == TD_WRONG_STATE); /* one at a time */
        CHECK_OK(drive(op, n, err), err);
        td_update_report *wrong = NULL;
        CHECK(td_op_take_update_report(op, &wrong, err) == TD_WRONG_STATE); /* another kind */
        td_entitlements_page *page = NULL;
        CHECK_OK(td_op_take_entitlements_page(op, &page, err), err);
        CHECK(td_op_take_entitlements_page(op, &page, err) == TD_WRONG_STATE); /* taken */
        td_op_free(op);
        for (size_t i = 0; i < td_entitlements_page_count(page); i++) {
            id_list_push(&ids, td_entitlement_id(td_entitlements_page_get(page, i)));
        }
        CHECK_OK(td_pages_advance(pages, page, err), err);
        td_entitlements_page_free(page);
    }
    CHECK_RESULT(r, TD_END, err);
    td_pages_free(pages);
    CHECK(ids.len > 300);

    CHECK_OK(td_client_begin_update_entitlements(client, (const char *const *)ids.items, ids.len, TD_FULFILLED, &op,
                                                 err),
             err);
    CHECK_OK(drive(op, n, err), err);
    td_update_report *report = NULL;
    CHECK_OK(td_op_take_update_report(op, &report, err), err);
    td_op_free(op);
    CHECK(td_update_report_count(report) == ids.len);
    CHECK(td_update_report_all_succeeded(report));
    td_update_report_free(report);

    uint32_t limit, remaining;
    uint64_t reset;
    CHECK_OK(td_client_rate_limit(client, &limit, &remaining, &reset), NULL);
    CHECK(limit > 0);
    CHECK(td_client_requests_sent(client) == n->sends);
    id_list_free(&ids);
    td_client_free(client);
}

static void device_and_analytics(counters *n, td_error *err) {
    td_client *client = new_client(0, err); /* no credentials: device flow only */
    unsigned sends_before = n->sends;
    const char *scopes[] = {"analytics:read:games"};
    td_op *op = NULL;
    CHECK_OK(td_client_begin_start_device_flow(client, scopes, 1, &op, err), err);
    CHECK_OK(drive(op, n, err), err);
    td_device_code *code = NULL;
    CHECK_OK(td_op_take_device_code(op, &code, err), err);
    td_op_free(op);
    CHECK(td_device_code_user_code(code).len > 0);
    CHECK(td_device_code_verification_uri(code).len > 0);
    CHECK(td_device_code_expires_in(code) > 0 && td_device_code_interval(code) > 0);

    /* The user approves on another device (here: the fake's admin route). */
    char url[512];
    snprintf(url, sizeof url, "%s/_fake/device/%s/approve?user_id=100000123", env("TD_TEST_BASE_URL"),
             td_device_code_user_code(code).ptr);
    http_result res;
    CHECK(http_perform("POST", url, NULL, 0, NULL, 0, &res) && res.status == 204);
    http_result_free(&res);

    CHECK_OK(td_client_begin_finish_device_flow(client, code, &op, err), err);
    td_device_code_free(code); /* the operation copied what it needs */
    CHECK_OK(drive(op, n, err), err);
    td_oauth_token *token = NULL;
    CHECK_OK(td_op_take_oauth_token(op, &token, err), err);
    td_op_free(op);
    CHECK(td_oauth_token_access_token(token).len > 0);
    CHECK(td_oauth_token_refresh_token(token).len > 0);
    td_oauth_token *kept = NULL;
    CHECK_OK(td_client_user_token(client, &kept), NULL);
    CHECK(str_eq(td_oauth_token_access_token(kept), td_oauth_token_access_token(token).ptr));
    td_oauth_token_free(kept);
    td_oauth_token_free(token);

    CHECK_OK(td_client_begin_validate_token(client, &op, err), err);
    CHECK_OK(drive(op, n, err), err);
    td_token_info *info = NULL;
    CHECK_OK(td_op_take_token_info(op, &info, err), err);
    td_op_free(op);
    CHECK(str_eq(td_token_info_user_id(info), "100000123"));
    int has_scope = 0;
    for (size_t i = 0; i < td_token_info_scope_count(info); i++) {
        td_str scope;
        CHECK_OK(td_token_info_scope(info, i, &scope), NULL);
        has_scope |= str_eq(scope, "analytics:read:games");
    }
    CHECK(has_scope);
    td_token_info_free(info);

    td_analytics_query *query = td_analytics_query_new();
    CHECK_OK(td_analytics_query_set_game_id(query, env("TWITCH_GAME_ID")), NULL);
    CHECK_OK(td_client_begin_game_analytics(client, query, &op, err), err);
    td_analytics_query_free(query);
    CHECK_OK(drive(op, n, err), err);
    td_analytics_page *page = NULL;
    CHECK_OK(td_op_take_analytics_page(op, &page, err), err);
    td_op_free(op);
    CHECK(td_analytics_page_count(page) == 1);
    const td_analytics_report *report = td_analytics_page_get(page, 0);

    CHECK_OK(td_client_begin_download_report(client, td_analytics_report_url(report).ptr, &op, err), err);
    td_analytics_page_free(page);
    CHECK_OK(drive(op, n, err), err);
    td_bytes *csv = NULL;
    CHECK_OK(td_op_take_bytes(op, &csv, err), err);
    td_op_free(op);
    CHECK(td_bytes_len(csv) > 10);
    td_bytes_free(csv);

    /* An operation abandoned mid-way is simply freed. */
    CHECK_OK(td_client_begin_validate_token(client, &op, err), err);
    td_step step;
    CHECK_OK(td_op_poll(op, now_ms(), &step, err), err);
    CHECK(step.kind == TD_STEP_SEND);
    td_op_free(op);

    CHECK(td_client_requests_sent(client) == n->sends - sends_before + 1);
    td_client_free(client);
}

int main(void) {
    counters n = {0, 0, 0, 0};
    td_error *err = td_error_new();
    drain(&n, err);
    device_and_analytics(&n, err);
    td_error_free(err);
    printf("step: sends=%u sleeps=%u slept_ms=%" PRIu64 " interrupted=%u\n", n.sends, n.sleeps, n.slept_ms,
           n.interrupted);
    return 0;
}
