/* The main job through the blocking C API and the built-in transport: list every CLAIMED
 * entitlement of a game page by page, mark them all FULFILLED, check every outcome, and
 * check that nothing CLAIMED is left. Run against the fake Twitch with and without faults.
 *
 * usage: drain [--manual-clock]
 * env:   TWITCH_CLIENT_ID TWITCH_CLIENT_SECRET TWITCH_HELIX_URL TWITCH_AUTH_URL TWITCH_GAME_ID
 * prints one line: listed=N fulfilled=N requests=N slept_ms=N sleeps=N log_lines=N retry_lines=N,
 * then `metrics {JSON}` (td_client_metrics_json). A logger (warn and up) hears the library's
 * notes; none may hold the client secret. */
#include <inttypes.h>
#include <time.h>

#include "test_util.h"

/* What the logger heard. */
typedef struct heard {
    unsigned lines, retries;
    const char *secret;
} heard;

static void on_log(void *user_data, td_log_level level, td_str target, td_str message) {
    heard *h = user_data;
    CHECK(level >= TD_LOG_ERROR && level <= TD_LOG_WARN); /* the level asked for and up */
    CHECK(target.ptr[target.len] == '\0' && message.ptr[message.len] == '\0');
    CHECK(strstr(message.ptr, h->secret) == NULL);
    CHECK(strstr(message.ptr, "Bearer") == NULL);
    h->lines++;
    if (strcmp(target.ptr, "twitch_drops::retry") == 0) h->retries++;
}

/* A client of the built-in transport at `base` (Helix and OAuth) that has never reached a
 * server: its first request fails at once (one request, no retry) as TD_TRANSPORT_CONNECT,
 * with a message holding `said`. */
static void fails_at_once_saying(const char *base, const char *said) {
    char url[128];
    td_error *err = td_error_new();
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new("client-id", &config, err), err);
    CHECK_OK(td_client_config_set_access_token(config, "a-token-of-sorts"), NULL);
    snprintf(url, sizeof url, "%s/helix", base);
    CHECK_OK(td_client_config_set_helix_url(config, url), NULL);
    snprintf(url, sizeof url, "%s/oauth2", base);
    CHECK_OK(td_client_config_set_auth_url(config, url), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    td_entitlements_query *query = td_entitlements_query_new();
    td_entitlements_page *page = NULL;
    CHECK_RESULT(td_client_entitlements_page(client, query, &page, err), TD_TRANSPORT, err);
    CHECK(page == NULL);
    CHECK(td_error_transport_kind(err) == TD_TRANSPORT_CONNECT);
    CHECK(td_client_requests_sent(client) == 1);
    char message[1024];
    size_t len = 0;
    CHECK_OK(td_error_message(err, message, sizeof message, &len), NULL);
    if (strstr(message, said) == NULL) {
        fprintf(stderr, "expected \"%s\" in: %s\n", said, message);
        CHECK(0);
    }
    td_entitlements_query_free(query);
    td_client_free(client);
    td_error_free(err);
}

int main(int argc, char **argv) {
    int manual = argc > 1 && strcmp(argv[1], "--manual-clock") == 0;
    /* Errors name the thing: nothing listening (port 9 of loopback), a name that does not
     * resolve (`.invalid` never does). */
    fails_at_once_saying("http://127.0.0.1:9", "127.0.0.1:9: connection refused");
    fails_at_once_saying("https://drops-test.invalid",
                         "drops-test.invalid:443: the host name could not be resolved (DNS");
    manual_clock clock = {(uint64_t)time(NULL) * 1000, 0, 0};
    const char *game = env("TWITCH_GAME_ID");
    td_error *err = td_error_new();
    CHECK(err != NULL);

    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new(env("TWITCH_CLIENT_ID"), &config, err), err);
    CHECK_OK(td_client_config_set_client_secret(config, env("TWITCH_CLIENT_SECRET")), NULL);
    CHECK_OK(td_client_config_set_helix_url(config, env("TWITCH_HELIX_URL")), NULL);
    CHECK_OK(td_client_config_set_auth_url(config, env("TWITCH_AUTH_URL")), NULL);
    CHECK_OK(td_client_config_set_timeouts(config, 5000, 10000), NULL);
    td_retry_policy policy = td_retry_policy_default();
    policy.base_delay_ms = 20;
    policy.max_delay_ms = 200;
    CHECK_OK(td_client_config_set_retry_policy(config, &policy), NULL);
    heard heard = {0, 0, env("TWITCH_CLIENT_SECRET")};
    CHECK(td_client_config_set_logger(config, 9, on_log, &heard) == TD_INVALID_INPUT);
    CHECK(td_client_config_set_logger(NULL, TD_LOG_WARN, on_log, &heard) == TD_NULL_POINTER);
    CHECK_OK(td_client_config_set_logger(config, TD_LOG_WARN, on_log, &heard), NULL);
    if (manual) {
        CHECK_OK(td_client_config_set_clock(config, manual_now, manual_sleep, &clock), NULL);
    }
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);

    /* No response yet: no rate-limit reading. */
    uint32_t limit = 0, remaining = 0;
    uint64_t reset = 0;
    CHECK(td_client_rate_limit(client, &limit, &remaining, &reset) == TD_NOT_AVAILABLE);

    /* Read every CLAIMED entitlement first (pages of 200), then update. */
    td_entitlements_query *query = td_entitlements_query_new();
    CHECK_OK(td_entitlements_query_set_game_id(query, game), NULL);
    CHECK_OK(td_entitlements_query_set_status(query, TD_CLAIMED), NULL);
    CHECK_OK(td_entitlements_query_set_first(query, 200), NULL);
    td_pages *pages = NULL;
    CHECK_OK(td_client_entitlement_pages(client, query, &pages, err), err);
    td_entitlements_query_free(query); /* the iterator copied it */

    id_list ids = {0};
    size_t page_count = 0;
    td_entitlements_page *page = NULL;
    td_result r;
    while ((r = td_pages_next(pages, &page, err)) == TD_OK) {
        page_count++;
        for (size_t i = 0; i < td_entitlements_page_count(page); i++) {
            const td_entitlement *e = td_entitlements_page_get(page, i);
            CHECK(e != NULL);
            CHECK(td_entitlement_status(e) == TD_CLAIMED);
            CHECK(str_eq(td_entitlement_game_id(e), game));
            CHECK(td_entitlement_id(e).len == 36);
            CHECK(td_entitlement_benefit_id(e).len > 0);
            CHECK(td_entitlement_user_id(e).len > 0);
            CHECK(td_entitlement_timestamp(e).len >= 20);
            CHECK(td_entitlement_last_updated(e).len >= 20);
            CHECK(td_entitlement_id(e).ptr[36] == '\0'); /* views are NUL-terminated */
            /* Your game grants benefit_id to user_id here. */
            id_list_push(&ids, td_entitlement_id(e));
        }
        td_str cursor = td_entitlements_page_cursor(page);
        CHECK(cursor.ptr != NULL);
        td_entitlements_page_free(page);
    }
    CHECK_RESULT(r, TD_END, err);
    CHECK(td_pages_next(pages, &page, err) == TD_END); /* stays over */
    td_pages_free(pages);
    CHECK(ids.len > 200);
    CHECK(page_count >= 2);

    td_update_report *report = NULL;
    CHECK_OK(td_client_update_entitlements(client, (const char *const *)ids.items, ids.len, TD_FULFILLED,
                                           &report, err),
             err);
    CHECK(td_update_report_count(report) == ids.len);
    CHECK(td_update_report_unconfirmed_count(report) == 0);
    CHECK(td_update_report_all_succeeded(report));
    for (size_t i = 0; i < ids.len; i++) {
        td_str id;
        td_update_status status;
        CHECK_OK(td_update_report_get(report, i, &id, &status), NULL);
        CHECK(status == TD_UPDATE_SUCCESS);
        CHECK(str_eq(id, ids.items[i]));
    }
    td_update_status status;
    CHECK_OK(td_update_report_status_of(report, ids.items[0], &status), NULL);
    CHECK(status == TD_UPDATE_SUCCESS);
    td_str id;
    CHECK(td_update_report_get(report, ids.len, &id, &status) == TD_INDEX_OUT_OF_RANGE);
    td_update_report_free(report);

    CHECK(count_claimed(client, err) == 0);

    CHECK_OK(td_client_rate_limit(client, &limit, &remaining, &reset), NULL);
    CHECK(limit > 0 && remaining <= limit && reset > 0);

    printf("listed=%zu fulfilled=%zu requests=%" PRIu64 " slept_ms=%" PRIu64
           " sleeps=%u log_lines=%u retry_lines=%u\n",
           ids.len, ids.len, td_client_requests_sent(client), clock.slept_ms, clock.sleeps, heard.lines,
           heard.retries);
    char metrics[8192];
    size_t metrics_len = 0;
    CHECK(td_client_metrics_json(client, metrics, 4, &metrics_len) == TD_BUFFER_TOO_SMALL);
    CHECK(metrics_len > 4 && metrics_len <= sizeof metrics);
    CHECK_OK(td_client_metrics_json(client, metrics, sizeof metrics, &metrics_len), NULL);
    printf("metrics %s\n", metrics);
    id_list_free(&ids);
    td_client_free(client);
    td_error_free(err);
    return 0;
}
