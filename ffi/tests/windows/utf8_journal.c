/* Windows: a journal path is UTF-8, whatever the ANSI code page. Drains the fake with a file
 * journal named "journal-é✓.jsonl" (given as UTF-8), checks through the wide-character API
 * that the file has exactly that name, then runs again with it (the journal is read back and
 * rewritten in place): nothing is given twice. tests/platforms.sh runs it under Wine.
 * Reads TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET, TWITCH_GAME_ID, TWITCH_HELIX_URL, TWITCH_AUTH_URL. */
#include <stdio.h>
#include <wchar.h>

#include "test_util.h"

static uint32_t grant(void *user_data, const td_grant_request *request, td_grant_reason *reason) {
    (void)request;
    (void)reason;
    (*(unsigned *)user_data)++;
    return TD_GRANT_GRANTED;
}

/* Gives every CLAIMED entitlement once through a fresh client and the journal at `path`. */
static unsigned drain(const char *path) {
    td_error *err = td_error_new();
    td_client_config *config = NULL;
    td_client *client = NULL;
    td_journal *journal = NULL;
    td_fulfill_report *report = NULL;
    unsigned given = 0;
    CHECK_OK(td_client_config_new(env("TWITCH_CLIENT_ID"), &config, err), err);
    CHECK_OK(td_client_config_set_client_secret(config, env("TWITCH_CLIENT_SECRET")), NULL);
    CHECK_OK(td_client_config_set_helix_url(config, env("TWITCH_HELIX_URL")), NULL);
    CHECK_OK(td_client_config_set_auth_url(config, env("TWITCH_AUTH_URL")), NULL);
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    td_fulfill_options *options = td_fulfill_options_new();
    CHECK_OK(td_fulfill_options_set_game_id(options, env("TWITCH_GAME_ID")), NULL);
    CHECK_OK(td_journal_new_file(path, &journal, err), err);
    CHECK_OK(td_client_fulfill(client, options, journal, grant, &given, &report, err), err);
    CHECK(td_fulfill_report_left(report) == 0);
    td_fulfill_report_free(report);
    td_fulfill_options_free(options);
    td_journal_free(journal);
    td_client_free(client);
    td_error_free(err);
    return given;
}

int main(void) {
    const char *utf8 = "journal-\xc3\xa9\xe2\x9c\x93.jsonl"; /* journal-é✓.jsonl */
    const wchar_t *wide = L"journal-\u00e9\u2713.jsonl";
    _wremove(wide);
    unsigned given = drain(utf8);
    FILE *file = _wfopen(wide, L"rb");
    CHECK(file != NULL); /* the name is the UTF-8 one, not its ANSI reading */
    CHECK(fgetc(file) == '{');
    fclose(file);
    unsigned again = drain(utf8);
    CHECK(given > 0 && again == 0);
    printf("utf8 journal: given=%u again=%u\n", given, again);
    return 0;
}
