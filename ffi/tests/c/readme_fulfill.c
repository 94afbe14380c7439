/* Grant every CLAIMED entitlement of a game once and mark it FULFILLED, with the fulfillment
 * engine and a journal file, so a crash never leads to a reward given twice. Reads
 * TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET, TWITCH_GAME_ID and TWITCH_DROPS_JOURNAL (the journal
 * file: keep it from run to run), and optionally TWITCH_HELIX_URL / TWITCH_AUTH_URL. */
#include <stdio.h>
#include <stdlib.h>

#include "twitch_drops.h"

static const char *need(const char *name) {
    const char *value = getenv(name);
    if (value == NULL) {
        fprintf(stderr, "set %s\n", name);
        exit(2);
    }
    return value;
}

/* Your game: give the reward, and say how it went. Called once per entitlement; `resumed`
 * means a crash came between giving and recording it: check your own records first. */
static uint32_t grant(void *user_data, const td_grant_request *request, td_grant_reason *reason) {
    unsigned *given = user_data;
    if (request->user_id.len == 0) {
        td_grant_reason_set(reason, "no viewer");
        return TD_GRANT_FAILED; /* stays CLAIMED, reported */
    }
    /* give_reward(request->user_id.ptr, request->benefit_id.ptr) here; on a temporary
     * failure return TD_GRANT_RETRY_LATER. */
    (*given)++;
    return TD_GRANT_GRANTED;
}

int main(void) {
    td_error *err = td_error_new();
    td_client_config *config = NULL;
    td_client *client = NULL;
    td_client_config_new(need("TWITCH_CLIENT_ID"), &config, err);
    td_client_config_set_client_secret(config, need("TWITCH_CLIENT_SECRET"));
    if (getenv("TWITCH_HELIX_URL")) td_client_config_set_helix_url(config, getenv("TWITCH_HELIX_URL"));
    if (getenv("TWITCH_AUTH_URL")) td_client_config_set_auth_url(config, getenv("TWITCH_AUTH_URL"));
    td_result r = td_client_new(config, &client, err);
    td_client_config_free(config);

    td_journal *journal = NULL;
    td_fulfill_options *options = td_fulfill_options_new();
    td_fulfill_options_set_game_id(options, need("TWITCH_GAME_ID"));
    td_fulfill_report *report = NULL;
    unsigned given = 0;
    if (r == TD_OK) r = td_journal_new_file(need("TWITCH_DROPS_JOURNAL"), &journal, err);
    if (r == TD_OK) r = td_client_fulfill(client, options, journal, grant, &given, &report, err);
    if (r == TD_OK) {
        printf("gave %u rewards: %llu fulfilled, %llu left for a later run\n", given,
               (unsigned long long)td_fulfill_report_fulfilled(report),
               (unsigned long long)td_fulfill_report_left(report));
    } else {
        char message[1024] = "";
        size_t len;
        td_error_message(err, message, sizeof message, &len);
        /* A run that stopped early says what it did before: nothing it gave is forgotten. */
        fprintf(stderr, "stopped (%s): %s; %llu fulfilled before\n", td_result_name((uint32_t)r).ptr, message,
                (unsigned long long)td_fulfill_report_fulfilled(td_error_fulfill_report(err)));
    }
    td_fulfill_report_free(report);
    td_fulfill_options_free(options);
    td_journal_free(journal);
    td_client_free(client);
    td_error_free(err);
    return r == TD_OK ? 0 : 1;
}
