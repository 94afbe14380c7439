/* Bad input at the boundary, with no network: NULL handles and pointers, _free(NULL),
 * invalid UTF-8, 101 ids, first=0, unknown enum values, insecure URLs, tiny buffers, and
 * misuse of the step API. Every call must answer with the documented td_result, write
 * nothing on failure, and send no request. */
#include "test_util.h"

static const char BAD_UTF8[] = {'a', (char)0xff, 'b', 0};

static td_client *make_client(td_error *err) {
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new("client-id", &config, err), err);
    CHECK_OK(td_client_config_set_client_secret(config, "secret"), NULL);
    /* Nothing listens on port 9 of loopback: a request would fail, but none may be sent. */
    CHECK_OK(td_client_config_set_helix_url(config, "http://127.0.0.1:9/helix"), NULL);
    CHECK_OK(td_client_config_set_auth_url(config, "http://127.0.0.1:9/oauth2"), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    return client;
}

static void frees_accept_null(void) {
    td_error_free(NULL);
    td_client_config_free(NULL);
    td_client_free(NULL);
    td_entitlements_query_free(NULL);
    td_analytics_query_free(NULL);
    td_entitlements_page_free(NULL);
    td_pages_free(NULL);
    td_update_report_free(NULL);
    td_analytics_page_free(NULL);
    td_bytes_free(NULL);
    td_token_info_free(NULL);
    td_device_code_free(NULL);
    td_oauth_token_free(NULL);
    td_op_free(NULL);
}

static void getters_accept_null(void) {
    CHECK(td_client_requests_sent(NULL) == 0);
    CHECK(td_entitlements_page_count(NULL) == 0);
    CHECK(td_entitlements_page_get(NULL, 0) == NULL);
    CHECK(td_entitlements_page_cursor(NULL).len == 0);
    CHECK(td_entitlement_id(NULL).len == 0 && td_entitlement_id(NULL).ptr != NULL);
    CHECK(td_entitlement_status(NULL) == TD_ANY_STATUS);
    CHECK(td_update_report_count(NULL) == 0);
    CHECK(!td_update_report_all_succeeded(NULL));
    CHECK(td_analytics_page_count(NULL) == 0);
    CHECK(td_analytics_report_url(NULL).len == 0);
    CHECK(td_bytes_len(NULL) == 0);
    CHECK(td_token_info_login(NULL).len == 0);
    CHECK(td_device_code_interval(NULL) == 0);
    CHECK(td_oauth_token_refresh_token(NULL).len == 0);
    CHECK(td_error_code(NULL) == TD_NULL_POINTER);
    CHECK(td_error_http_status(NULL) == 0);
    CHECK(td_error_update_report(NULL) == NULL);
    CHECK(td_error_transport_kind(NULL) == TD_TRANSPORT_NONE);
    CHECK(str_eq(td_result_name(TD_HTTP), "TD_HTTP"));
    CHECK(str_eq(td_result_name(TD_OK), "TD_OK"));
    CHECK(str_eq(td_result_name(12345), "TD_UNKNOWN_RESULT"));
}

static void config_checks(td_error *err) {
    td_client_config *config = (td_client_config *)0x1; /* must stay untouched on failure */
    CHECK_RESULT(td_client_config_new(NULL, &config, err), TD_NULL_POINTER, err);
    CHECK(config == (td_client_config *)0x1);
    CHECK(td_error_code(err) == TD_NULL_POINTER);
    CHECK_RESULT(td_client_config_new(BAD_UTF8, &config, err), TD_INVALID_UTF8, err);
    CHECK(config == (td_client_config *)0x1);
    CHECK_RESULT(td_client_config_new("id", NULL, err), TD_NULL_POINTER, err);

    config = NULL;
    CHECK_OK(td_client_config_new("", &config, err), err);
    CHECK(td_error_code(err) == TD_OK); /* a success resets the error */
    CHECK(td_client_config_set_client_secret(NULL, "s") == TD_NULL_POINTER);
    CHECK(td_client_config_set_client_secret(config, NULL) == TD_NULL_POINTER);
    CHECK(td_client_config_set_client_secret(config, BAD_UTF8) == TD_INVALID_UTF8);
    CHECK(td_client_config_set_user_token(config, "t", NULL, NULL) == TD_OK);
    CHECK(td_client_config_set_user_token(config, NULL, "r", NULL) == TD_NULL_POINTER);
    CHECK(td_client_config_set_helix_url(config, BAD_UTF8) == TD_INVALID_UTF8);
    CHECK(td_client_config_set_retry_policy(config, NULL) == TD_NULL_POINTER);
    CHECK(td_client_config_set_timeouts(config, 0, 10) == TD_INVALID_INPUT);
    CHECK(td_client_config_set_max_body_bytes(config, 0) == TD_INVALID_INPUT);
    CHECK(td_client_config_set_clock(config, manual_now, NULL, NULL) == TD_NULL_POINTER);
    CHECK(td_client_config_set_clock(config, NULL, NULL, NULL) == TD_OK);

    /* The core checks the whole config when the client is made. */
    td_client *client = (td_client *)0x1;
    CHECK_RESULT(td_client_new(config, &client, err), TD_INVALID_INPUT, err); /* empty id */
    CHECK(client == (td_client *)0x1);
    td_client_config_free(config);

    CHECK_OK(td_client_config_new("id", &config, err), err);
    CHECK_OK(td_client_config_set_client_secret(config, "secret"), NULL);
    CHECK_OK(td_client_config_set_helix_url(config, "http://api.example.com/helix"), NULL);
    CHECK_RESULT(td_client_new(config, &client, err), TD_INVALID_INPUT, err); /* not https */
    char message[512];
    size_t len = 0;
    CHECK_OK(td_error_message(err, message, sizeof message, &len), NULL);
    CHECK(strstr(message, "helix_url") != NULL);
    CHECK(td_client_new(NULL, &client, err) == TD_NULL_POINTER);
    CHECK(td_client_new(config, NULL, err) == TD_NULL_POINTER);
    td_client_config_free(config);
}

static void tiny_buffers(td_error *err) {
    td_client_config *config = NULL;
    CHECK(td_client_config_new(NULL, &config, err) == TD_NULL_POINTER);
    size_t len = 12345;
    char tiny[4] = {'x', 'x', 'x', 'x'};
    CHECK(td_error_message(err, tiny, sizeof tiny, &len) == TD_BUFFER_TOO_SMALL);
    CHECK(len > sizeof tiny);
    CHECK(tiny[0] == 'x'); /* nothing copied */
    size_t needed = len;
    char *exact = malloc(needed);
    CHECK(exact != NULL);
    CHECK(td_error_message(err, exact, needed, &len) == TD_OK);
    CHECK(len == needed - 1 && strlen(exact) == len);
    CHECK(strstr(exact, "client_id") != NULL);
    CHECK(td_error_message(err, exact, needed - 1, &len) == TD_BUFFER_TOO_SMALL && len == needed);
    CHECK(td_error_message(err, NULL, 0, &len) == TD_BUFFER_TOO_SMALL && len == needed);
    CHECK(td_error_message(err, exact, needed, NULL) == TD_NULL_POINTER);
    CHECK(td_error_message(NULL, exact, needed, &len) == TD_NULL_POINTER);
    free(exact);
    /* No Twitch message: the empty string still needs its NUL. */
    CHECK(td_error_twitch_message(err, tiny, 0, &len) == TD_BUFFER_TOO_SMALL && len == 1);
    CHECK(td_error_twitch_message(err, tiny, 1, &len) == TD_OK && len == 0 && tiny[0] == '\0');
    uint64_t reset = 7;
    CHECK(td_error_rate_limit_reset(err, &reset) == TD_NOT_AVAILABLE && reset == 7);
}

static void queries_and_calls(td_client *client, td_error *err) {
    td_entitlements_query *query = td_entitlements_query_new();
    CHECK(query != NULL);
    CHECK(td_entitlements_query_add_id(NULL, "x") == TD_NULL_POINTER);
    CHECK(td_entitlements_query_add_id(query, NULL) == TD_NULL_POINTER);
    CHECK(td_entitlements_query_add_id(query, BAD_UTF8) == TD_INVALID_UTF8);
    CHECK(td_entitlements_query_set_status(query, 7) == TD_INVALID_INPUT);
    CHECK(td_entitlements_query_set_status(query, TD_ANY_STATUS) == TD_OK);
    CHECK(td_entitlements_query_set_user_id(query, NULL) == TD_OK); /* clears */

    /* 101 ids: refused before any request. */
    char id[48];
    for (int i = 0; i < 101; i++) {
        snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
        CHECK_OK(td_entitlements_query_add_id(query, id), NULL);
    }
    td_entitlements_page *page = (td_entitlements_page *)0x1;
    CHECK_RESULT(td_client_entitlements_page(client, query, &page, err), TD_INVALID_INPUT, err);
    CHECK(page == (td_entitlements_page *)0x1);
    char message[512];
    size_t len;
    CHECK_OK(td_error_message(err, message, sizeof message, &len), NULL);
    CHECK(strstr(message, "101") != NULL);
    td_pages *pages = NULL;
    CHECK_RESULT(td_client_entitlement_pages(client, query, &pages, err), TD_INVALID_INPUT, err);
    CHECK(pages == NULL);
    td_op *op = NULL;
    CHECK_RESULT(td_client_begin_entitlements_page(client, query, &op, err), TD_INVALID_INPUT, err);
    CHECK(op == NULL);
    td_entitlements_query_free(query);

    /* first = 0 */
    query = td_entitlements_query_new();
    CHECK_OK(td_entitlements_query_set_first(query, 0), NULL);
    CHECK_RESULT(td_client_entitlements_page(client, query, &page, err), TD_INVALID_INPUT, err);
    CHECK_OK(td_error_message(err, message, sizeof message, &len), NULL);
    CHECK(strstr(message, "first") != NULL);
    CHECK(td_client_entitlements_page(NULL, query, &page, err) == TD_NULL_POINTER);
    CHECK(td_client_entitlements_page(client, NULL, &page, err) == TD_NULL_POINTER);
    CHECK(td_client_entitlements_page(client, query, NULL, err) == TD_NULL_POINTER);
    td_entitlements_query_free(query);

    /* Updates: NULL arrays, NULL and invalid ids, empty ids, unknown status. */
    td_update_report *report = (td_update_report *)0x1;
    const char *ids[] = {"00000000-0000-4000-8000-000000000001", NULL};
    CHECK(td_client_update_entitlements(client, NULL, 1, TD_FULFILLED, &report, err) == TD_NULL_POINTER);
    CHECK(td_client_update_entitlements(client, ids, 2, TD_FULFILLED, &report, err) == TD_NULL_POINTER);
    CHECK_OK(td_error_message(err, message, sizeof message, &len), NULL);
    CHECK(strstr(message, "ids[1]") != NULL);
    const char *bad[] = {BAD_UTF8};
    CHECK(td_client_update_entitlements(client, bad, 1, TD_FULFILLED, &report, err) == TD_INVALID_UTF8);
    const char *empty[] = {"  "};
    CHECK(td_client_update_entitlements(client, empty, 1, TD_FULFILLED, &report, err) == TD_INVALID_INPUT);
    CHECK(td_client_update_entitlements(client, ids, 1, 0, &report, err) == TD_INVALID_INPUT);
    CHECK(td_client_update_entitlements(client, ids, 1, 3, &report, err) == TD_INVALID_INPUT);
    CHECK(report == (td_update_report *)0x1);

    /* Analytics: one date only, bad dates, first out of range. */
    td_analytics_query *aq = td_analytics_query_new();
    td_analytics_page *apage = NULL;
    CHECK_OK(td_analytics_query_set_range(aq, "2025-01-01", NULL), NULL);
    CHECK_RESULT(td_client_game_analytics(client, aq, &apage, err), TD_INVALID_INPUT, err);
    CHECK_OK(td_analytics_query_set_range(aq, "2025-01-09", "2025-01-01"), NULL);
    CHECK_RESULT(td_client_game_analytics(client, aq, &apage, err), TD_INVALID_INPUT, err);
    CHECK_OK(td_analytics_query_set_range(aq, NULL, NULL), NULL);
    CHECK_OK(td_analytics_query_set_first(aq, 101), NULL);
    CHECK_RESULT(td_client_game_analytics(client, aq, &apage, err), TD_INVALID_INPUT, err);
    CHECK(apage == NULL);
    td_analytics_query_free(aq);

    td_bytes *bytes = NULL;
    CHECK_RESULT(td_client_download_report(client, "http://reports.example.com/r.csv", &bytes, err),
                 TD_INVALID_INPUT, err);
    CHECK(bytes == NULL);
    const char *scopes[] = {"two words"};
    td_device_code *code = NULL;
    CHECK_RESULT(td_client_start_device_flow(client, scopes, 1, &code, err), TD_INVALID_INPUT, err);
    td_oauth_token *token = NULL;
    CHECK(td_client_user_token(client, &token) == TD_NOT_AVAILABLE && token == NULL);
    uint32_t limit = 0, remaining = 0;
    uint64_t reset = 0;
    CHECK(td_client_rate_limit(client, &limit, &remaining, &reset) == TD_NOT_AVAILABLE);
    CHECK(td_client_rate_limit(client, NULL, &remaining, &reset) == TD_NULL_POINTER);

    CHECK(td_client_requests_sent(client) == 0); /* nothing above reached the network */
}

static void step_api_misuse(td_client *client, td_error *err) {
    td_entitlements_query *query = td_entitlements_query_new();
    td_op *op = NULL;
    CHECK_OK(td_client_begin_entitlements_page(client, query, &op, err), err);
    td_entitlements_query_free(query);

    td_step step;
    CHECK(td_op_feed_slept(op, err) == TD_WRONG_STATE);                          /* not polled */
    CHECK(td_op_feed_response(op, 200, NULL, 0, NULL, 0, err) == TD_WRONG_STATE); /* not polled */
    td_entitlements_page *page = NULL;
    CHECK(td_op_take_entitlements_page(op, &page, err) == TD_WRONG_STATE);       /* not done */
    CHECK(td_op_poll(NULL, 0, &step, err) == TD_NULL_POINTER);
    CHECK(td_op_poll(op, 0, NULL, err) == TD_NULL_POINTER);

    CHECK_OK(td_op_poll(op, 1700000000000ULL, &step, err), err);
    CHECK(step.kind == TD_STEP_SEND); /* the token request */
    CHECK(str_eq(step.request->method, "POST"));
    CHECK(td_op_poll(op, 1700000000000ULL, &step, err) == TD_WRONG_STATE); /* answer first */
    CHECK(td_op_feed_slept(op, err) == TD_WRONG_STATE);
    CHECK(td_op_feed_response(op, 1000, NULL, 0, NULL, 0, err) == TD_INVALID_INPUT);
    CHECK(td_op_feed_response(op, 200, NULL, 1, NULL, 0, err) == TD_NULL_POINTER);
    CHECK(td_op_feed_response(op, 200, NULL, 0, NULL, 5, err) == TD_NULL_POINTER);
    td_header bad_header = {{BAD_UTF8, 3}, {"v", 1}};
    CHECK(td_op_feed_response(op, 200, &bad_header, 1, NULL, 0, err) == TD_INVALID_UTF8);
    CHECK(td_op_feed_transport_error(op, TD_TRANSPORT_NONE, "x", err) == TD_INVALID_INPUT);
    CHECK(td_op_feed_transport_error(op, 99, "x", err) == TD_INVALID_INPUT);

    /* A refused token request: definite failure, DONE with TD_UNAUTHORIZED. */
    const char *body = "{\"status\":403,\"message\":\"invalid client secret\"}";
    CHECK_OK(td_op_feed_response(op, 403, NULL, 0, (const uint8_t *)body, strlen(body), err), err);
    CHECK_OK(td_op_poll(op, 1700000000000ULL, &step, err), err);
    CHECK(step.kind == TD_STEP_DONE);
    CHECK(step.result == TD_UNAUTHORIZED);
    CHECK_OK(td_op_poll(op, 1700000000000ULL, &step, err), err); /* DONE again */
    CHECK(step.kind == TD_STEP_DONE && step.result == TD_UNAUTHORIZED);
    CHECK(td_op_feed_slept(op, err) == TD_WRONG_STATE);
    td_update_report *report = NULL;
    CHECK(td_op_take_entitlements_page(op, &page, err) == TD_UNAUTHORIZED);
    CHECK(td_error_http_status(err) == 403);
    char message[256];
    size_t len;
    CHECK_OK(td_error_twitch_message(err, message, sizeof message, &len), NULL);
    CHECK(strcmp(message, "invalid client secret") == 0);
    CHECK(td_op_take_update_report(op, &report, err) == TD_UNAUTHORIZED);
    CHECK(page == NULL && report == NULL);
    td_op_free(op);
    CHECK(td_client_requests_sent(client) == 1); /* the one SEND handed out */
}

int main(void) {
    frees_accept_null();
    getters_accept_null();
    td_error *err = td_error_new();
    CHECK(err != NULL && td_error_code(err) == TD_OK);
    config_checks(err);
    tiny_buffers(err);
    td_client *client = make_client(err);
    queries_and_calls(client, err);
    step_api_misuse(client, err);
    td_client_free(client);
    td_error_free(err);
    printf("bad_input: ok\n");
    return 0;
}
