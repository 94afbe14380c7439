/* Per-id outcomes and errors from Twitch through the blocking API, against the fake (run with
 * the revoke_token_after fault, so tokens are also revoked and renewed underneath):
 *   - one update with an id of ours, a malformed id, an unknown id and another organization's
 *     id: SUCCESS, INVALID_ID, NOT_FOUND, UNAUTHORIZED;
 *   - listing another organization's game: TD_HTTP 403 with Twitch's message;
 *   - a static token Twitch revokes mid-update: TD_PARTIAL_UPDATE with the report of what
 *     was confirmed and the ids left unconfirmed.
 * env: TWITCH_* as drain, TD_TEST_OWN_ID, TD_TEST_FOREIGN_ID, TD_TEST_APP_TOKEN */
#include "test_util.h"

static td_client *new_client(const char *secret, const char *token, td_error *err) {
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new(env("TWITCH_CLIENT_ID"), &config, err), err);
    if (secret != NULL) {
        CHECK_OK(td_client_config_set_client_secret(config, secret), NULL);
    } else {
        CHECK_OK(td_client_config_set_access_token(config, token), NULL);
    }
    CHECK_OK(td_client_config_set_helix_url(config, env("TWITCH_HELIX_URL")), NULL);
    CHECK_OK(td_client_config_set_auth_url(config, env("TWITCH_AUTH_URL")), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    return client;
}

static void per_id_outcomes(td_error *err) {
    td_client *client = new_client(env("TWITCH_CLIENT_SECRET"), NULL, err);
    const char *own = env("TD_TEST_OWN_ID");
    const char *foreign = env("TD_TEST_FOREIGN_ID");
    const char *unknown = "00000000-0000-4000-8000-000000000000";
    const char *ids[] = {own, "not-an-id", unknown, foreign, own /* repeats are sent once */};
    td_update_report *report = NULL;
    CHECK_OK(td_client_update_entitlements(client, ids, 5, TD_FULFILLED, &report, err), err);
    CHECK(td_update_report_count(report) == 4);
    CHECK(td_update_report_unconfirmed_count(report) == 0);
    CHECK(!td_update_report_all_succeeded(report));
    const td_update_status expected[] = {TD_UPDATE_SUCCESS, TD_UPDATE_INVALID_ID, TD_UPDATE_NOT_FOUND,
                                         TD_UPDATE_UNAUTHORIZED};
    for (size_t i = 0; i < 4; i++) {
        td_str id;
        td_update_status status;
        CHECK_OK(td_update_report_get(report, i, &id, &status), NULL);
        CHECK(str_eq(id, ids[i]));
        if (status != expected[i]) {
            fprintf(stderr, "id %s: status %d, expected %d\n", ids[i], (int)status, (int)expected[i]);
            exit(1);
        }
    }
    td_update_report_free(report);

    /* The id is now FULFILLED: reading it back by id says so. */
    td_entitlements_query *query = td_entitlements_query_new();
    CHECK_OK(td_entitlements_query_add_id(query, own), NULL);
    td_entitlements_page *page = NULL;
    CHECK_OK(td_client_entitlements_page(client, query, &page, err), err);
    CHECK(td_entitlements_page_count(page) == 1);
    CHECK(td_entitlement_status(td_entitlements_page_get(page, 0)) == TD_FULFILLED);
    td_entitlements_page_free(page);
    td_entitlements_query_free(query);

    /* Another organization's game: 403 with Twitch's message. */
    query = td_entitlements_query_new();
    CHECK_OK(td_entitlements_query_set_game_id(query, "999999"), NULL);
    CHECK_RESULT(td_client_entitlements_page(client, query, &page, err), TD_HTTP, err);
    CHECK(td_error_http_status(err) == 403);
    char message[256];
    size_t len;
    CHECK_OK(td_error_twitch_message(err, message, sizeof message, &len), NULL);
    CHECK(strcmp(message, "The organization does not own the game") == 0);
    td_entitlements_query_free(query);
    td_client_free(client);
}

static void partial_update(td_error *err) {
    /* A token given as is cannot be renewed: when Twitch revokes it between two batches, the
     * update stops with what it confirmed. */
    td_client *client = new_client(NULL, env("TD_TEST_APP_TOKEN"), err);
    td_entitlements_query *query = td_entitlements_query_new();
    CHECK_OK(td_entitlements_query_set_game_id(query, env("TWITCH_GAME_ID")), NULL);
    CHECK_OK(td_entitlements_query_set_status(query, TD_CLAIMED), NULL);
    CHECK_OK(td_entitlements_query_set_first(query, 150), NULL);
    td_entitlements_page *page = NULL;
    CHECK_OK(td_client_entitlements_page(client, query, &page, err), err);
    td_entitlements_query_free(query);
    size_t n = td_entitlements_page_count(page);
    CHECK(n == 150);
    const char *ids[150];
    for (size_t i = 0; i < n; i++) {
        ids[i] = td_entitlement_id(td_entitlements_page_get(page, i)).ptr; /* NUL-terminated */
    }
    td_update_report *report = NULL;
    CHECK_RESULT(td_client_update_entitlements(client, ids, n, TD_FULFILLED, &report, err), TD_PARTIAL_UPDATE, err);
    CHECK(report == NULL);
    CHECK(td_error_http_status(err) == 401);
    const td_update_report *partial = td_error_update_report(err);
    CHECK(partial != NULL);
    CHECK(td_update_report_count(partial) == 100);
    CHECK(td_update_report_unconfirmed_count(partial) == 50);
    td_str id;
    CHECK_OK(td_update_report_unconfirmed_get(partial, 0, &id), NULL);
    CHECK(str_eq(id, ids[100]));
    CHECK(td_update_report_unconfirmed_get(partial, 50, &id) == TD_INDEX_OUT_OF_RANGE);
    char message[1024];
    size_t len;
    CHECK_OK(td_error_message(err, message, sizeof message, &len), NULL);
    CHECK(strstr(message, "50 unconfirmed") != NULL);
    td_entitlements_page_free(page);

    /* The next call reuses the error: the lent report is gone with the old failure. */
    td_token_info *info = NULL;
    CHECK_RESULT(td_client_validate_token(client, &info, err), TD_UNAUTHORIZED, err);
    CHECK(td_error_update_report(err) == NULL);
    td_client_free(client);
}

int main(void) {
    td_error *err = td_error_new();
    per_id_outcomes(err);
    partial_update(err);
    td_error_free(err);
    printf("outcomes: ok\n");
    return 0;
}
