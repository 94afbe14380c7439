/* Drain every CLAIMED entitlement of a game: grant it in the game, then mark it FULFILLED.
 * Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and TWITCH_GAME_ID, and optionally
 * TWITCH_HELIX_URL / TWITCH_AUTH_URL (e.g. the fake Twitch's URLs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twitch_drops.h"

static const char *need(const char *name) {
    const char *value = getenv(name);
    if (value == NULL) {
        fprintf(stderr, "set %s\n", name);
        exit(2);
    }
    return value;
}

static int fail(const char *what, td_error *err) {
    char message[1024];
    size_t len;
    if (td_error_message(err, message, sizeof message, &len) != TD_OK) {
        strcpy(message, "(message too long)");
    }
    fprintf(stderr, "%s failed (HTTP %u): %s\n", what, (unsigned)td_error_http_status(err), message);
    return 1;
}

int main(void) {
    td_error *err = td_error_new();
    td_client_config *config = NULL;
    td_client *client = NULL;
    if (td_client_config_new(need("TWITCH_CLIENT_ID"), &config, err) != TD_OK) return fail("config", err);
    td_client_config_set_client_secret(config, need("TWITCH_CLIENT_SECRET"));
    if (getenv("TWITCH_HELIX_URL")) td_client_config_set_helix_url(config, getenv("TWITCH_HELIX_URL"));
    if (getenv("TWITCH_AUTH_URL")) td_client_config_set_auth_url(config, getenv("TWITCH_AUTH_URL"));
    td_result r = td_client_new(config, &client, err);
    td_client_config_free(config);
    if (r != TD_OK) return fail("client", err);

    /* Read every CLAIMED entitlement first, then update: marking items while paging a
     * CLAIMED filter could skip some. */
    td_entitlements_query *claimed = td_entitlements_query_new();
    td_entitlements_query_set_game_id(claimed, need("TWITCH_GAME_ID"));
    td_entitlements_query_set_status(claimed, TD_CLAIMED);
    td_entitlements_query_set_first(claimed, 1000);
    td_pages *pages = NULL;
    if (td_client_entitlement_pages(client, claimed, &pages, err) != TD_OK) return fail("query", err);
    td_entitlements_query_free(claimed);

    char **ids = NULL;
    size_t count = 0;
    td_entitlements_page *page;
    while ((r = td_pages_next(pages, &page, err)) == TD_OK) {
        size_t n = td_entitlements_page_count(page);
        ids = realloc(ids, (count + n) * sizeof *ids);
        for (size_t i = 0; i < n; i++) {
            const td_entitlement *e = td_entitlements_page_get(page, i);
            /* Your game grants td_entitlement_benefit_id(e) to td_entitlement_user_id(e) here. */
            td_str id = td_entitlement_id(e); /* borrowed from the page: copy it */
            ids[count] = malloc(id.len + 1);
            memcpy(ids[count], id.ptr, id.len + 1);
            count++;
        }
        td_entitlements_page_free(page);
    }
    td_pages_free(pages);
    if (r != TD_END) return fail("listing", err);

    td_update_report *report = NULL;
    if (td_client_update_entitlements(client, (const char *const *)ids, count, TD_FULFILLED, &report, err) != TD_OK)
        return fail("update", err);
    for (size_t i = 0; i < td_update_report_count(report); i++) {
        td_str id;
        td_update_status status;
        td_update_report_get(report, i, &id, &status);
        if (status != TD_UPDATE_SUCCESS) fprintf(stderr, "not fulfilled: %s (%d)\n", id.ptr, (int)status);
    }
    printf("granted %zu entitlements in %llu requests\n", count,
           (unsigned long long)td_client_requests_sent(client));

    td_update_report_free(report);
    for (size_t i = 0; i < count; i++) free(ids[i]);
    free(ids);
    td_client_free(client);
    td_error_free(err);
    return 0;
}
