/* The fulfillment engine through C (td_client_fulfill, blocking) against the fake Twitch. The
 * "game" below records every reward it gives, so a reward given twice is caught here, in C.
 *
 * usage: fulfill drain JOURNAL_PATH  a file journal: every CLAIMED entitlement granted once
 *                                    and FULFILLED; the same journal again finds nothing to do
 *                                    (and is compacted to nothing).
 *        fulfill outcomes            RETRY_LATER, FAILED with a reason and an unknown answer,
 *                                    per entitlement (settlement callback) and in the totals;
 *                                    a second run grants what the first left CLAIMED. Bad
 *                                    input is refused before anything is sent.
 *        fulfill crash N [N...]      a journal of C callbacks (lines kept in an array): run k
 *                                    fails at its N_k-th append (TD_JOURNAL, like a crash);
 *                                    a last run with the same journal finishes, and nothing
 *                                    is granted twice. Also a load that fails and a bad line.
 * env:   TWITCH_CLIENT_ID TWITCH_CLIENT_SECRET TWITCH_HELIX_URL TWITCH_AUTH_URL TWITCH_GAME_ID
 * prints one line of key=value totals. */
#include <inttypes.h>

#include "test_util.h"

/* The game: what it gave, and how the grant callback was called. */
typedef struct game {
    id_list given;
    unsigned calls, resumed, duplicates;
    int pattern; /* answer RETRY_LATER, FAILED and an unknown value for some */
    unsigned retry_later, failed, unknown;
} game;

static uint32_t grant(void *user_data, const td_grant_request *request, td_grant_reason *reason) {
    game *g = user_data;
    CHECK(request != NULL && reason != NULL);
    CHECK(request->id.len == 36 && request->id.ptr[36] == '\0');
    CHECK(request->benefit_id.len > 0 && request->user_id.len > 0);
    CHECK(str_eq(request->game_id, env("TWITCH_GAME_ID")));
    unsigned call = g->calls++;
    if (request->resumed) {
        g->resumed++;
    } else {
        CHECK(request->timestamp.len >= 20);
    }
    if (id_list_find(&g->given, request->id) >= 0) {
        /* In the game already: expected only for a grant a crash left in doubt. */
        if (!request->resumed) g->duplicates++;
        return TD_GRANT_GRANTED;
    }
    if (g->pattern) {
        switch (call % 10) {
        case 3:
            g->retry_later++;
            return TD_GRANT_RETRY_LATER;
        case 7:
            g->failed++;
            CHECK(td_grant_reason_set(reason, "no linked account") == TD_OK);
            CHECK(td_grant_reason_set(reason, NULL) == TD_NULL_POINTER); /* the first stays */
            return TD_GRANT_FAILED;
        case 9:
            g->unknown++;
            return 42; /* not a td_grant_outcome: counted as FAILED */
        default:
            break;
        }
    }
    id_list_push(&g->given, request->id);
    return TD_GRANT_GRANTED;
}

/* Settlements heard, by state. */
typedef struct tally {
    unsigned by_state[TD_SETTLED_NOT_REACHED + 1];
    unsigned with_reason, unknown_answer;
} tally;

static void settled(void *user_data, const td_settlement *s) {
    tally *t = user_data;
    CHECK(s->id.len == 36 && s->user_id.len > 0);
    CHECK(s->state >= TD_SETTLED_FULFILLED && s->state <= TD_SETTLED_NOT_REACHED);
    t->by_state[s->state]++;
    if (s->state == TD_SETTLED_GRANT_FAILED) {
        if (str_eq(s->detail, "no linked account")) {
            t->with_reason++;
        } else {
            CHECK(strstr(s->detail.ptr, "42") != NULL);
            t->unknown_answer++;
        }
    } else if (s->state != TD_SETTLED_REJECTED) {
        CHECK(s->detail.len == 0 && s->detail.ptr[0] == '\0');
    }
}

/* Every entitlement a report counts ends in exactly one state. */
static uint64_t settled_sum(const td_fulfill_report *r) {
    return td_fulfill_report_fulfilled(r) + td_fulfill_report_already_fulfilled(r) +
           td_fulfill_report_retry_later(r) + td_fulfill_report_grant_failed(r) + td_fulfill_report_rejected(r) +
           td_fulfill_report_unmarked(r) + td_fulfill_report_quarantined(r) + td_fulfill_report_not_reached(r);
}

static td_client *make_client(td_error *err) {
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new(env("TWITCH_CLIENT_ID"), &config, err), err);
    CHECK_OK(td_client_config_set_client_secret(config, env("TWITCH_CLIENT_SECRET")), NULL);
    CHECK_OK(td_client_config_set_helix_url(config, env("TWITCH_HELIX_URL")), NULL);
    CHECK_OK(td_client_config_set_auth_url(config, env("TWITCH_AUTH_URL")), NULL);
    td_retry_policy policy = td_retry_policy_default();
    policy.base_delay_ms = 10;
    policy.max_delay_ms = 50;
    CHECK_OK(td_client_config_set_retry_policy(config, &policy), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    return client;
}

static td_fulfill_options *game_options(tally *t) {
    td_fulfill_options *options = td_fulfill_options_new();
    CHECK(options != NULL);
    CHECK_OK(td_fulfill_options_set_game_id(options, env("TWITCH_GAME_ID")), NULL);
    CHECK_OK(td_fulfill_options_set_quarantine_after(options, 3), NULL);
    if (t != NULL) CHECK_OK(td_fulfill_options_set_on_settled(options, settled, t), NULL);
    return options;
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    fclose(f);
    return size;
}

/* The lines of a journal file that are `settled` records; -1 if any other line is left. */
static long settled_lines(const char *path) {
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    char line[4096];
    long settled = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "\"op\":\"settled\"") == NULL) {
            settled = -1;
            break;
        }
        settled++;
    }
    fclose(f);
    return settled;
}

static void drain(td_client *client, const char *path, td_error *err) {
    game g = {0};
    tally t = {0};
    size_t claimed = count_claimed(client, err);
    CHECK(claimed > 100);
    td_fulfill_options *options = game_options(&t);
    /* The built-in transport: 8 requests out at once, the callbacks still on this thread. */
    CHECK_OK(td_fulfill_options_set_requests_in_flight(options, 8), NULL);
    td_journal *journal = NULL;
    CHECK_OK(td_journal_new_file(path, &journal, err), err);

    td_fulfill_report *report = NULL;
    CHECK_OK(td_client_fulfill(client, options, journal, grant, &g, &report, err), err);
    CHECK(td_error_code(err) == TD_OK && td_error_fulfill_report(err) == NULL);
    CHECK(td_fulfill_report_is_complete(report));
    CHECK(g.duplicates == 0 && g.resumed == 0 && g.calls == g.given.len);
    CHECK(g.given.len == claimed);
    CHECK(td_fulfill_report_listed(report) == claimed);
    CHECK(td_fulfill_report_granted(report) == claimed);
    CHECK(td_fulfill_report_fulfilled(report) == claimed);
    CHECK(td_fulfill_report_left(report) == 0 && td_fulfill_report_resumed(report) == 0);
    CHECK(settled_sum(report) == claimed);
    CHECK(t.by_state[TD_SETTLED_FULFILLED] == claimed);
    CHECK(td_fulfill_report_quarantined_user_count(report) == 0);
    td_fulfill_report_free(report);
    td_journal_free(journal);
    CHECK(file_size(path) > 0); /* the records of the run */
    CHECK(count_claimed(client, err) == 0);

    /* A new process with the same journal: nothing open, nothing CLAIMED, nothing to do. */
    CHECK_OK(td_journal_new_file(path, &journal, err), err);
    CHECK_OK(td_client_fulfill(client, options, journal, grant, &g, &report, err), err);
    CHECK(td_fulfill_report_is_complete(report) && td_fulfill_report_listed(report) == 0);
    CHECK(g.calls == claimed);
    /* Compacted: nothing was open; the settled ids stay, so a stale listing grants none. */
    CHECK(settled_lines(path) == (long)claimed);
    td_fulfill_report_free(report);
    td_journal_free(journal);
    td_fulfill_options_free(options);

    printf("granted=%zu fulfilled=%zu listed=%zu duplicates=%u requests=%" PRIu64 "\n", g.given.len,
           (size_t)t.by_state[TD_SETTLED_FULFILLED], claimed, g.duplicates, td_client_requests_sent(client));
    id_list_free(&g.given);
}

/* Input the calls refuse before sending anything. */
static void refused(td_client *client, td_error *err) {
    game g = {0};
    td_fulfill_options *options = game_options(NULL);
    td_journal *journal = td_journal_new_memory();
    td_fulfill_report *report = NULL;
    uint64_t sent = td_client_requests_sent(client);

    CHECK_RESULT(td_client_fulfill(NULL, options, journal, grant, &g, &report, err), TD_NULL_POINTER, err);
    CHECK_RESULT(td_client_fulfill(client, NULL, journal, grant, &g, &report, err), TD_NULL_POINTER, err);
    CHECK_RESULT(td_client_fulfill(client, options, NULL, grant, &g, &report, err), TD_NULL_POINTER, err);
    CHECK_RESULT(td_client_fulfill(client, options, journal, NULL, &g, &report, err), TD_NULL_POINTER, err);
    CHECK_RESULT(td_client_fulfill(client, options, journal, grant, &g, NULL, err), TD_NULL_POINTER, err);
    CHECK_RESULT(td_client_fulfill_entitlements(client, NULL, 2, NULL, journal, grant, &g, &report, err),
                 TD_NULL_POINTER, err);
    const td_entitlement *none[1] = {NULL};
    CHECK_RESULT(td_client_fulfill_entitlements(client, none, 1, NULL, journal, grant, &g, &report, err),
                 TD_NULL_POINTER, err);
    CHECK_OK(td_fulfill_options_set_game_id(options, ""), NULL);
    CHECK_RESULT(td_client_fulfill(client, options, journal, grant, &g, &report, err), TD_INVALID_INPUT, err);
    CHECK(td_error_fulfill_report(err) == NULL); /* nothing ran */
    CHECK(report == NULL && g.calls == 0 && td_client_requests_sent(client) == sent);

    /* Requests in flight: 1 to 16; another number is refused, naming it, before anything
     * is sent. */
    CHECK_OK(td_fulfill_options_set_game_id(options, env("TWITCH_GAME_ID")), NULL);
    CHECK(td_fulfill_options_set_requests_in_flight(NULL, 4) == TD_NULL_POINTER);
    uint32_t bad_counts[2] = {0, 17};
    for (size_t i = 0; i < 2; i++) {
        CHECK_OK(td_fulfill_options_set_requests_in_flight(options, bad_counts[i]), NULL);
        CHECK_RESULT(td_client_fulfill(client, options, journal, grant, &g, &report, err), TD_INVALID_INPUT, err);
        char field[64];
        size_t field_len = 0;
        CHECK_OK(td_error_field(err, field, sizeof field, &field_len), NULL);
        CHECK(strcmp(field, "requests_in_flight") == 0);
        CHECK(report == NULL && g.calls == 0 && td_client_requests_sent(client) == sent);
    }
    CHECK_OK(td_fulfill_options_set_requests_in_flight(options, 4), NULL);

    /* The page size: 1 to 1000 (0: the default); another is refused as `first`, before
     * anything is sent. */
    CHECK(td_fulfill_options_set_page_size(NULL, 100) == TD_NULL_POINTER);
    CHECK_OK(td_fulfill_options_set_page_size(options, 1001), NULL);
    CHECK_RESULT(td_client_fulfill(client, options, journal, grant, &g, &report, err), TD_INVALID_INPUT, err);
    {
        char field[64];
        size_t field_len = 0;
        CHECK_OK(td_error_field(err, field, sizeof field, &field_len), NULL);
        CHECK(strcmp(field, "first") == 0);
    }
    CHECK(report == NULL && g.calls == 0 && td_client_requests_sent(client) == sent);
    CHECK_OK(td_fulfill_options_set_page_size(options, 0), NULL);

    CHECK(td_fulfill_options_set_game_id(NULL, "1") == TD_NULL_POINTER);
    CHECK(td_fulfill_options_set_game_id(options, "\xff\xfe") == TD_INVALID_UTF8);
    CHECK(td_fulfill_options_set_user_id(options, "\xc3") == TD_INVALID_UTF8);
    CHECK(td_fulfill_options_set_on_settled(options, NULL, NULL) == TD_OK);
    CHECK(td_journal_new_file(NULL, &journal, err) == TD_NULL_POINTER);
    CHECK(td_journal_new_file("", &journal, err) == TD_INVALID_INPUT);
    CHECK(td_journal_new_file("j", NULL, err) == TD_NULL_POINTER);
    CHECK(td_journal_new_callbacks(NULL, &journal, err) == TD_NULL_POINTER);
    td_journal_callbacks half = {NULL, NULL, NULL, NULL};
    td_journal *other = NULL;
    CHECK_RESULT(td_journal_new_callbacks(&half, &other, err), TD_NULL_POINTER, err);
    CHECK(other == NULL);
    CHECK(td_journal_sink_push(NULL, "{}") == TD_NULL_POINTER);
    CHECK(td_grant_reason_set(NULL, "x") == TD_NULL_POINTER);

    /* NULL reports read as empty; no entitlements is a complete, empty run. */
    CHECK(td_fulfill_report_listed(NULL) == 0 && !td_fulfill_report_is_complete(NULL));
    CHECK(td_fulfill_report_quarantined_user_count(NULL) == 0);
    CHECK_OK(td_client_fulfill_entitlements(client, NULL, 0, NULL, journal, grant, &g, &report, err), err);
    CHECK(td_fulfill_report_is_complete(report) && td_fulfill_report_listed(report) == 0);
    td_str user;
    CHECK(td_fulfill_report_quarantined_user(report, 0, &user) == TD_INDEX_OUT_OF_RANGE);
    CHECK(td_fulfill_report_quarantined_user(report, 0, NULL) == TD_NULL_POINTER);
    td_fulfill_report_free(report);
    td_fulfill_report_free(NULL);
    td_journal_free(NULL);
    td_fulfill_options_free(NULL);
    td_journal_free(journal);
    td_fulfill_options_free(options);
}

static void outcomes(td_client *client, td_error *err) {
    refused(client, err);
    game g = {0};
    tally t = {0};
    g.pattern = 1;
    size_t claimed = count_claimed(client, err);
    td_fulfill_options *options = game_options(&t);
    td_journal *journal = td_journal_new_memory();
    CHECK(journal != NULL);

    td_fulfill_report *report = NULL;
    CHECK_OK(td_client_fulfill(client, options, journal, grant, &g, &report, err), err);
    unsigned not_given = g.retry_later + g.failed + g.unknown;
    CHECK(g.calls == claimed && g.duplicates == 0);
    CHECK(g.retry_later > 0 && g.failed > 0 && g.unknown > 0);
    CHECK(!td_fulfill_report_is_complete(report));
    CHECK(td_fulfill_report_listed(report) == claimed);
    CHECK(td_fulfill_report_granted(report) == g.given.len);
    CHECK(td_fulfill_report_fulfilled(report) == g.given.len);
    CHECK(td_fulfill_report_retry_later(report) == g.retry_later);
    CHECK(td_fulfill_report_grant_failed(report) == g.failed + g.unknown);
    CHECK(td_fulfill_report_left(report) == not_given);
    CHECK(settled_sum(report) == claimed);
    CHECK(t.by_state[TD_SETTLED_FULFILLED] == g.given.len);
    CHECK(t.by_state[TD_SETTLED_RETRY_LATER] == g.retry_later);
    CHECK(t.with_reason == g.failed && t.unknown_answer == g.unknown);
    td_fulfill_report_free(report);
    CHECK(count_claimed(client, err) == not_given);

    /* The next run (same journal) grants what was left CLAIMED, and only that. */
    size_t given_before = g.given.len;
    g.pattern = 0;
    memset(&t, 0, sizeof t);
    CHECK_OK(td_client_fulfill(client, options, journal, grant, &g, &report, err), err);
    CHECK(td_fulfill_report_is_complete(report));
    CHECK(td_fulfill_report_listed(report) == not_given);
    CHECK(g.given.len == claimed && g.duplicates == 0 && g.calls == claimed + not_given);
    CHECK(t.by_state[TD_SETTLED_FULFILLED] == not_given);
    td_fulfill_report_free(report);
    CHECK(count_claimed(client, err) == 0);

    printf("granted=%zu first_run=%zu retry_later=%u failed=%u unknown=%u duplicates=%u\n", g.given.len,
           given_before, g.retry_later, g.failed, g.unknown, g.duplicates);
    td_journal_free(journal);
    td_fulfill_options_free(options);
    id_list_free(&g.given);
}

/* A journal of C callbacks: its lines in an array, durable for the test's purposes. */
typedef struct c_journal {
    id_list lines;
    unsigned appends, fail_at, loads;
    int fail_load, bad_line;
} c_journal;

static int journal_load(void *user_data, td_journal_sink *sink) {
    c_journal *j = user_data;
    j->loads++;
    if (j->fail_load) return -1;
    if (j->bad_line) {
        CHECK(td_journal_sink_push(sink, "") == TD_OK); /* blank lines are skipped */
        CHECK(td_journal_sink_push(sink, "{\"op\":\"granting\"") == TD_INVALID_INPUT);
        return 0; /* the load fails all the same */
    }
    for (size_t i = 0; i < j->lines.len; i++) {
        CHECK(td_journal_sink_push(sink, j->lines.items[i]) == TD_OK);
    }
    return 0;
}

static int journal_append(void *user_data, const td_str *lines, size_t count) {
    c_journal *j = user_data;
    CHECK(lines != NULL && count > 0);
    if (++j->appends == j->fail_at) return 5; /* the disk is full: nothing stored */
    for (size_t i = 0; i < count; i++) {
        CHECK(lines[i].ptr[lines[i].len] == '\0' && lines[i].ptr[0] == '{');
        CHECK(strchr(lines[i].ptr, '\n') == NULL);
        id_list_push(&j->lines, lines[i]);
    }
    return 0;
}

static td_journal *callback_journal(c_journal *store, td_error *err) {
    td_journal_callbacks callbacks = {store, journal_load, journal_append, NULL};
    td_journal *journal = NULL;
    CHECK_OK(td_journal_new_callbacks(&callbacks, &journal, err), err);
    return journal;
}

static int contains(const td_error *err, const char *text) {
    char message[1024];
    size_t len;
    CHECK(td_error_message(err, message, sizeof message, &len) == TD_OK);
    return strstr(message, text) != NULL;
}

static void crash(td_client *client, int runs, char **fail_at, td_error *err) {
    game g = {0};
    c_journal store = {0};
    size_t claimed = count_claimed(client, err);
    td_fulfill_options *options = game_options(NULL);
    td_fulfill_report *report = NULL;

    /* A journal that cannot be read stops the run before anything is granted. */
    store.fail_load = 1;
    td_journal *journal = callback_journal(&store, err);
    CHECK_RESULT(td_client_fulfill(client, options, journal, grant, &g, &report, err), TD_JOURNAL, err);
    CHECK(contains(err, "load callback") && td_error_fulfill_report(err) != NULL);
    CHECK(td_fulfill_report_listed(td_error_fulfill_report(err)) == 0);
    store.fail_load = 0;
    store.bad_line = 1;
    CHECK_RESULT(td_client_fulfill(client, options, journal, grant, &g, &report, err), TD_JOURNAL, err);
    CHECK(contains(err, "record line 2"));
    CHECK(g.calls == 0 && report == NULL && store.loads == 2);
    store.bad_line = 0;
    td_journal_free(journal);

    /* Runs that stop at a failed append, like a crash, then one that finishes. One step at
     * a time, so the failing append falls where the run says (pipelined, the next batch's
     * claim can come before this one's settlement). */
    CHECK_OK(td_fulfill_options_set_requests_in_flight(options, 1), NULL);
    /* Batches of 100 grants, so a failed append leaves a whole batch in doubt. */
    CHECK_OK(td_fulfill_options_set_grants_in_flight(options, 100), NULL);
    uint64_t resumed = 0, already = 0;
    for (int run = 0; run <= runs; run++) {
        store.appends = 0;
        store.fail_at = run < runs ? (unsigned)atoi(fail_at[run]) : 0;
        journal = callback_journal(&store, err); /* a new process, the same storage */
        td_result r = td_client_fulfill(client, options, journal, grant, &g, &report, err);
        const td_fulfill_report *seen = report;
        if (run < runs) {
            CHECK_RESULT(r, TD_JOURNAL, err);
            CHECK(contains(err, "append callback"));
            seen = td_error_fulfill_report(err);
            CHECK(seen != NULL && !td_fulfill_report_is_complete(seen));
        } else {
            CHECK_OK(r, err);
            CHECK(td_fulfill_report_is_complete(seen));
        }
        printf("run %d: listed %" PRIu64 ", granted %" PRIu64 ", fulfilled %" PRIu64 ", already %" PRIu64
               ", resumed %" PRIu64 ", unmarked %" PRIu64 ", not reached %" PRIu64 ", settled %" PRIu64 "\n",
               run, td_fulfill_report_listed(seen), td_fulfill_report_granted(seen), td_fulfill_report_fulfilled(seen),
               td_fulfill_report_already_fulfilled(seen), td_fulfill_report_resumed(seen),
               td_fulfill_report_unmarked(seen), td_fulfill_report_not_reached(seen), settled_sum(seen));
        resumed += td_fulfill_report_resumed(seen);
        already += td_fulfill_report_already_fulfilled(seen);
        if (run == runs) td_fulfill_report_free(report);
        report = NULL;
        td_journal_free(journal);
    }
    CHECK(g.duplicates == 0);
    CHECK(g.given.len == claimed);
    CHECK(resumed == g.resumed);
    CHECK(count_claimed(client, err) == 0);
    printf("granted=%zu claimed=%zu resumed=%" PRIu64 " already_fulfilled=%" PRIu64 " duplicates=%u lines=%zu\n",
           g.given.len, claimed, resumed, already, g.duplicates, store.lines.len);
    id_list_free(&store.lines);
    id_list_free(&g.given);
    td_fulfill_options_free(options);
}

int main(int argc, char **argv) {
    CHECK(argc >= 2);
    td_error *err = td_error_new();
    td_client *client = make_client(err);
    if (strcmp(argv[1], "drain") == 0 && argc == 3) {
        drain(client, argv[2], err);
    } else if (strcmp(argv[1], "outcomes") == 0) {
        outcomes(client, err);
    } else if (strcmp(argv[1], "crash") == 0 && argc >= 3) {
        crash(client, argc - 2, argv + 2, err);
    } else {
        fprintf(stderr, "usage: fulfill drain PATH | outcomes | crash N [N...]\n");
        return 2;
    }
    td_client_free(client);
    td_error_free(err);
    return 0;
}
