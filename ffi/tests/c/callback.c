/* The C callback transport with no network at all: the client keeps Twitch's real URLs,
 * and a callback answers every request with canned responses, as an engine's HTTP stack
 * would. Covers a connect failure (retried), a 401 (token renewed), a 429 (waited out on an
 * injected clock), paging, per-id outcomes, validation, analytics and a report download
 * (sent without credentials), user-token refresh, and transport failures. */
#include <ctype.h>
#include <inttypes.h>

#include "test_util.h"

typedef struct canned {
    int tokens_issued;
    int entitlement_calls;
    int saw_renewed_token;
    int download_had_auth;
    int refreshes;
    char last_bad_call[64];
} canned;

static int has_prefix(td_str s, const char *prefix) {
    return s.len >= strlen(prefix) && memcmp(s.ptr, prefix, strlen(prefix)) == 0;
}

static int contains(td_str s, const char *needle) {
    return strstr(s.ptr, needle) != NULL; /* views are NUL-terminated */
}

static int same_name(td_str a, const char *b) {
    if (a.len != strlen(b)) {
        return 0;
    }
    for (size_t i = 0; i < a.len; i++) {
        if (tolower((unsigned char)a.ptr[i]) != tolower((unsigned char)b[i])) {
            return 0;
        }
    }
    return 1;
}

/* A request header's value, the name matched case-insensitively. */
static const char *header(const td_http_request *req, const char *name) {
    for (size_t i = 0; i < req->header_count; i++) {
        if (same_name(req->headers[i].name, name)) {
            return req->headers[i].value.ptr;
        }
    }
    return NULL;
}

/* True when the request body (bytes, not NUL-terminated) contains `needle`. */
static int body_has(const td_http_request *req, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; req->body != NULL && i + n <= req->body_len; i++) {
        if (memcmp(req->body + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void reply(td_http_response *resp, uint16_t status, const char *body) {
    CHECK(td_http_response_set_status(resp, status) == TD_OK);
    CHECK(td_http_response_add_header(resp, (td_str){"Content-Type", 12}, (td_str){"application/json", 16}) == TD_OK);
    /* The body arrives in two pieces, as from a streaming stack. */
    size_t half = strlen(body) / 2;
    CHECK(td_http_response_append_body(resp, (const uint8_t *)body, half) == TD_OK);
    CHECK(td_http_response_append_body(resp, (const uint8_t *)body + half, strlen(body) - half) == TD_OK);
}

static void rate_headers(td_http_response *resp, const char *remaining, const char *reset) {
    CHECK(td_http_response_add_header(resp, (td_str){"Ratelimit-Limit", 15}, (td_str){"800", 3}) == TD_OK);
    CHECK(td_http_response_add_header(resp, (td_str){"ratelimit-remaining", 19}, (td_str){remaining, strlen(remaining)}) == TD_OK);
    CHECK(td_http_response_add_header(resp, (td_str){"RATELIMIT-RESET", 15}, (td_str){reset, strlen(reset)}) == TD_OK);
}

static void twitch(void *user_data, const td_http_request *req, td_http_response *resp) {
    canned *c = user_data;
    char body[512];
    /* The builder checks its arguments too. */
    CHECK(td_http_response_set_status(NULL, 200) == TD_NULL_POINTER);
    CHECK(td_http_response_set_status(resp, 42) == TD_INVALID_INPUT);
    CHECK(td_http_response_append_body(resp, NULL, 3) == TD_NULL_POINTER);
    CHECK(req->url.ptr[req->url.len] == '\0');

    if (str_eq(req->method, "POST") && str_eq(req->url, "https://id.twitch.tv/oauth2/token")) {
        CHECK(req->body != NULL);
        if (body_has(req, "grant_type=refresh_token")) {
            CHECK(body_has(req, "refresh_token=refresh-1"));
            c->refreshes++;
            reply(resp, 200, "{\"access_token\":\"user-2\",\"refresh_token\":\"refresh-2\",\"expires_in\":3600,"
                             "\"scope\":[\"analytics:read:games\"],\"token_type\":\"bearer\"}");
            return;
        }
        CHECK(body_has(req, "grant_type=client_credentials"));
        CHECK(body_has(req, "client_secret=the-secret"));
        c->tokens_issued++;
        snprintf(body, sizeof body, "{\"access_token\":\"app-%d\",\"expires_in\":3600,\"token_type\":\"bearer\"}",
                 c->tokens_issued);
        reply(resp, 200, body);
        return;
    }
    if (str_eq(req->method, "GET") && has_prefix(req->url, "https://api.twitch.tv/helix/entitlements/drops?")) {
        const char *auth = header(req, "authorization");
        CHECK(auth != NULL && header(req, "Client-Id") != NULL && strcmp(header(req, "Client-Id"), "the-client") == 0);
        c->entitlement_calls++;
        switch (c->entitlement_calls) {
        case 1: /* never reached the server: retried */
            CHECK(td_http_response_fail(resp, TD_TRANSPORT_CONNECT, "connection refused") == TD_OK);
            return;
        case 2: /* the token was revoked: renewed once */
            CHECK(strcmp(auth, "Bearer app-1") == 0);
            reply(resp, 401, "{\"error\":\"Unauthorized\",\"status\":401,\"message\":\"Invalid OAuth token\"}");
            return;
        case 3:
            c->saw_renewed_token = strcmp(auth, "Bearer app-2") == 0;
            CHECK(contains(req->url, "game_id=509658") && contains(req->url, "first=2"));
            rate_headers(resp, "799", "1700000060");
            reply(resp, 200,
                  "{\"data\":[{\"id\":\"id-1\",\"benefit_id\":\"b\",\"timestamp\":\"2025-01-01T00:00:00Z\","
                  "\"user_id\":\"u1\",\"game_id\":\"509658\",\"fulfillment_status\":\"CLAIMED\","
                  "\"last_updated\":\"2025-01-01T00:00:00Z\"},{\"id\":\"id-2\",\"benefit_id\":\"b\","
                  "\"timestamp\":\"2025-01-01T00:00:00Z\",\"user_id\":\"u2\",\"game_id\":\"509658\","
                  "\"fulfillment_status\":\"CLAIMED\",\"last_updated\":\"2025-01-01T00:00:00Z\"}],"
                  "\"pagination\":{\"cursor\":\"c1\"}}");
            return;
        case 4: /* rate limited: the bucket refilled in the past, so a short wait */
            CHECK(contains(req->url, "after=c1"));
            rate_headers(resp, "0", "1");
            reply(resp, 429, "{\"error\":\"Too Many Requests\",\"status\":429,\"message\":\"slow down\"}");
            return;
        default:
            CHECK(contains(req->url, "after=c1"));
            rate_headers(resp, "797", "1700000061");
            reply(resp, 200,
                  "{\"data\":[{\"id\":\"id-3\",\"benefit_id\":\"b\",\"timestamp\":\"2025-01-01T00:00:00Z\","
                  "\"user_id\":\"u3\",\"game_id\":\"509658\",\"fulfillment_status\":\"CLAIMED\","
                  "\"last_updated\":\"2025-01-01T00:00:00Z\"}],\"pagination\":{}}");
            return;
        }
    }
    if (str_eq(req->method, "PATCH") && str_eq(req->url, "https://api.twitch.tv/helix/entitlements/drops")) {
        CHECK(strcmp(header(req, "content-type"), "application/json") == 0);
        CHECK(body_has(req, "\"fulfillment_status\":\"FULFILLED\""));
        reply(resp, 200,
              "{\"data\":[{\"status\":\"SUCCESS\",\"ids\":[\"id-1\",\"id-3\"]},"
              "{\"status\":\"NOT_FOUND\",\"ids\":[\"id-2\"]}]}");
        return;
    }
    if (str_eq(req->method, "GET") && str_eq(req->url, "https://id.twitch.tv/oauth2/validate")) {
        CHECK(has_prefix((td_str){header(req, "Authorization"), 6}, "OAuth "));
        reply(resp, 200, "{\"client_id\":\"the-client\",\"scopes\":[],\"expires_in\":3599}");
        return;
    }
    if (str_eq(req->method, "GET") && has_prefix(req->url, "https://api.twitch.tv/helix/analytics/games")) {
        const char *auth = header(req, "Authorization");
        if (strcmp(auth, "Bearer user-1") == 0) {
            reply(resp, 401, "{\"error\":\"Unauthorized\",\"status\":401,\"message\":\"Invalid OAuth token\"}");
            return;
        }
        CHECK(strcmp(auth, "Bearer user-2") == 0);
        reply(resp, 200,
              "{\"data\":[{\"game_id\":\"509658\",\"URL\":\"https://reports.example.com/r1.csv?sig=x\","
              "\"type\":\"overview_v2\",\"date_range\":{\"started_at\":\"2025-01-01T00:00:00Z\","
              "\"ended_at\":\"2025-01-31T00:00:00Z\"}}],\"pagination\":{}}");
        return;
    }
    if (str_eq(req->method, "GET") && str_eq(req->url, "https://reports.example.com/r1.csv?sig=x")) {
        c->download_had_auth = header(req, "Authorization") != NULL;
        CHECK(td_http_response_set_status(resp, 200) == TD_OK);
        CHECK(td_http_response_append_body(resp, (const uint8_t *)"day,views\n2025-01-01,7\n", 23) == TD_OK);
        return;
    }
    snprintf(c->last_bad_call, sizeof c->last_bad_call, "%.*s", (int)req->url.len, req->url.ptr);
    reply(resp, 404, "{\"error\":\"Not Found\",\"status\":404,\"message\":\"no such route\"}");
}

static td_client *client_with(td_transport_fn transport, void *user_data, manual_clock *clock, td_error *err) {
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new("the-client", &config, err), err);
    CHECK_OK(td_client_config_set_client_secret(config, "the-secret"), NULL);
    CHECK_OK(td_client_config_set_transport(config, transport, user_data), NULL);
    CHECK_OK(td_client_config_set_clock(config, manual_now, manual_sleep, clock), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    return client;
}

static void app_flow(td_error *err) {
    canned c = {0};
    manual_clock clock = {1700000000000ULL, 0, 0};
    td_client *client = client_with(twitch, &c, &clock, err);

    td_entitlements_query *query = td_entitlements_query_new();
    CHECK_OK(td_entitlements_query_set_game_id(query, "509658"), NULL);
    CHECK_OK(td_entitlements_query_set_first(query, 2), NULL);
    td_pages *pages = NULL;
    CHECK_OK(td_client_entitlement_pages(client, query, &pages, err), err);
    td_entitlements_query_free(query);
    CHECK(td_pages_cursor(pages).len == 0);

    id_list ids = {0};
    td_entitlements_page *page = NULL;
    td_result r;
    while ((r = td_pages_next(pages, &page, err)) == TD_OK) {
        for (size_t i = 0; i < td_entitlements_page_count(page); i++) {
            id_list_push(&ids, td_entitlement_id(td_entitlements_page_get(page, i)));
        }
        td_entitlements_page_free(page);
        if (ids.len == 2) {
            CHECK(str_eq(td_pages_cursor(pages), "c1"));
        }
    }
    CHECK_RESULT(r, TD_END, err);
    td_pages_free(pages);
    CHECK(ids.len == 3);
    CHECK(strcmp(ids.items[0], "id-1") == 0 && strcmp(ids.items[2], "id-3") == 0);
    CHECK(c.tokens_issued == 2 && c.saw_renewed_token);
    CHECK(clock.sleeps == 2);         /* the connect failure's backoff and the 429's wait */
    CHECK(clock.slept_ms >= 250);     /* the 429 waited at least the margin past the reset */

    uint32_t limit, remaining;
    uint64_t reset;
    CHECK_OK(td_client_rate_limit(client, &limit, &remaining, &reset), NULL);
    CHECK(limit == 800 && remaining == 797 && reset == 1700000061ULL);

    td_update_report *report = NULL;
    CHECK_OK(td_client_update_entitlements(client, (const char *const *)ids.items, ids.len, TD_FULFILLED, &report, err),
             err);
    CHECK(td_update_report_count(report) == 3);
    CHECK(!td_update_report_all_succeeded(report));
    td_update_status status;
    CHECK_OK(td_update_report_status_of(report, "id-2", &status), NULL);
    CHECK(status == TD_UPDATE_NOT_FOUND);
    CHECK(td_update_report_status_of(report, "id-9", &status) == TD_NOT_AVAILABLE);
    td_update_report_free(report);

    td_token_info *info = NULL;
    CHECK_OK(td_client_validate_token(client, &info, err), err);
    CHECK(str_eq(td_token_info_client_id(info), "the-client"));
    CHECK(td_token_info_login(info).len == 0 && td_token_info_expires_in(info) == 3599);
    CHECK(td_token_info_scope_count(info) == 0);
    td_str scope;
    CHECK(td_token_info_scope(info, 0, &scope) == TD_INDEX_OUT_OF_RANGE);
    td_token_info_free(info);

    /* An app token is not a user token. */
    td_oauth_token *token = NULL;
    CHECK(td_client_user_token(client, &token) == TD_NOT_AVAILABLE);

    printf("callback app flow: %" PRIu64 " requests, slept %" PRIu64 " ms\n", td_client_requests_sent(client),
           clock.slept_ms);
    CHECK(td_client_requests_sent(client) == 9);
    CHECK(c.last_bad_call[0] == '\0');
    id_list_free(&ids);
    td_client_free(client);
}

static void user_flow(td_error *err) {
    canned c = {0};
    manual_clock clock = {1700000000000ULL, 0, 0};
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new("the-client", &config, err), err);
    CHECK_OK(td_client_config_set_user_token(config, "user-1", "refresh-1", NULL), NULL);
    CHECK_OK(td_client_config_set_transport(config, twitch, &c), NULL);
    CHECK_OK(td_client_config_set_clock(config, manual_now, manual_sleep, &clock), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);

    td_analytics_query *query = td_analytics_query_new();
    CHECK_OK(td_analytics_query_set_game_id(query, "509658"), NULL);
    CHECK_OK(td_analytics_query_set_type(query, "overview_v2"), NULL);
    CHECK_OK(td_analytics_query_set_range(query, "2025-01-01", "2025-01-31"), NULL);
    td_analytics_page *page = NULL;
    CHECK_OK(td_client_game_analytics(client, query, &page, err), err);
    td_analytics_query_free(query);
    CHECK(c.refreshes == 1);
    CHECK(td_analytics_page_count(page) == 1);
    CHECK(td_analytics_page_get(page, 1) == NULL);
    const td_analytics_report *report = td_analytics_page_get(page, 0);
    CHECK(str_eq(td_analytics_report_game_id(report), "509658"));
    CHECK(str_eq(td_analytics_report_type(report), "overview_v2"));
    CHECK(str_eq(td_analytics_report_started_at(report), "2025-01-01T00:00:00Z"));
    CHECK(str_eq(td_analytics_report_ended_at(report), "2025-01-31T00:00:00Z"));
    CHECK(td_analytics_page_cursor(page).len == 0);

    td_bytes *csv = NULL;
    CHECK_OK(td_client_download_report(client, td_analytics_report_url(report).ptr, &csv, err), err);
    CHECK(td_bytes_len(csv) == 23 && memcmp(td_bytes_data(csv), "day,views\n", 10) == 0);
    CHECK(!c.download_had_auth);
    td_bytes_free(csv);
    td_analytics_page_free(page);

    /* The refreshed tokens, to persist. */
    td_oauth_token *token = NULL;
    CHECK_OK(td_client_user_token(client, &token), NULL);
    CHECK(str_eq(td_oauth_token_access_token(token), "user-2"));
    CHECK(str_eq(td_oauth_token_refresh_token(token), "refresh-2"));
    CHECK(td_oauth_token_scope_count(token) == 1);
    td_str scope;
    CHECK_OK(td_oauth_token_scope(token, 0, &scope), NULL);
    CHECK(str_eq(scope, "analytics:read:games"));
    td_oauth_token_free(token);
    td_client_free(client);
}

/* A callback that never describes a response. */
static void silent(void *user_data, const td_http_request *req, td_http_response *resp) {
    (void)req;
    (void)resp;
    (*(int *)user_data)++;
}

/* A callback that refuses everything. */
static void refusing(void *user_data, const td_http_request *req, td_http_response *resp) {
    (void)req;
    (*(int *)user_data)++;
    CHECK(td_http_response_fail(resp, TD_TRANSPORT_REFUSED, NULL) == TD_OK);
}

static void transport_failures(td_error *err) {
    int calls = 0;
    manual_clock clock = {1700000000000ULL, 0, 0};
    td_client *client = client_with(silent, &calls, &clock, err);
    td_token_info *info = NULL;
    CHECK_RESULT(td_client_validate_token(client, &info, err), TD_TRANSPORT, err);
    CHECK(info == NULL);
    CHECK(td_error_transport_kind(err) == TD_TRANSPORT_INTERRUPTED);
    CHECK(calls == 5); /* the token request: 1 try + 4 retries, then given up */
    CHECK(clock.sleeps == 4);
    td_client_free(client);

    calls = 0;
    client = client_with(refusing, &calls, &clock, err);
    CHECK_RESULT(td_client_validate_token(client, &info, err), TD_TRANSPORT, err);
    CHECK(td_error_transport_kind(err) == TD_TRANSPORT_REFUSED);
    CHECK(calls == 1); /* refused: not retried */
    td_client_free(client);
}

int main(void) {
    td_error *err = td_error_new();
    app_flow(err);
    user_flow(err);
    transport_failures(err);
    td_error_free(err);
    printf("callback: ok\n");
    return 0;
}
