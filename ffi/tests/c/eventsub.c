/* EventSub webhooks through C: a known signature vector (the one core/tests/eventsub.rs checks
 * against Python's hmac), a bad signature, stale and future timestamps, missing headers, bad
 * input, the verification challenge, the deduplicator; then a notification the test harness
 * signed over CLAIMED entitlements of the fake, fed to td_client_fulfill_entitlements (each
 * granted once, a repeated event included), and a polling run with the same journal that
 * grants the rest and none of the pushed ones again.
 *
 * env: TWITCH_CLIENT_ID TWITCH_CLIENT_SECRET TWITCH_HELIX_URL TWITCH_AUTH_URL TWITCH_GAME_ID
 *      TD_TEST_CHALLENGE_BODY TD_TEST_CHALLENGE_SIGNATURE   a verification, signed like the vector
 *      TD_TEST_PUSH_BODY TD_TEST_PUSH_SIGNATURE TD_TEST_PUSH_ID TD_TEST_PUSH_TIMESTAMP
 *      TD_TEST_PUSH_NOW_MS                                   the harness's notification
 * prints: pushed=N granted=N polled=N duplicates=N */
#include <inttypes.h>

#include "test_util.h"

#include "eventsub_vector.h"

#define MINUTE_MS 60000ULL

static td_header header(const char *name, const char *value) {
    td_header h = {{name, strlen(name)}, {value, strlen(value)}};
    return h;
}

/* The five headers Twitch sends, in the given case. */
typedef struct headers {
    td_header items[5];
    size_t count;
} headers;

static headers make_headers(const char *type, const char *id, const char *timestamp, const char *signature) {
    headers h = {{header("Twitch-Eventsub-Message-Id", id), header("twitch-eventsub-message-timestamp", timestamp),
                  header("TWITCH-EVENTSUB-MESSAGE-SIGNATURE", signature), header("Twitch-Eventsub-Message-Type", type),
                  header("Twitch-Eventsub-Subscription-Type", "drop.entitlement.grant")},
                 5};
    return h;
}

static td_result verify(const headers *h, const char *body, uint64_t now_ms, td_eventsub_message **out, td_error *err) {
    return td_eventsub_verify(h->items, h->count, (const uint8_t *)body, strlen(body), SECRET, now_ms, out, err);
}

static int message_has(const td_error *err, const char *text) {
    char message[1024];
    size_t len;
    CHECK(td_error_message(err, message, sizeof message, &len) == TD_OK);
    return strstr(message, text) != NULL;
}

static void known_vector(td_error *err) {
    headers h = make_headers("notification", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE);
    td_eventsub_message *m = NULL;
    CHECK_OK(verify(&h, GRANT_BODY, NOW_MS + 5000, &m, err), err);
    CHECK(td_eventsub_message_type(m) == TD_EVENTSUB_NOTIFICATION);
    CHECK(str_eq(td_eventsub_message_id(m), MESSAGE_ID));
    CHECK(str_eq(td_eventsub_message_subscription_id(m), "f1c2a387-161a-49f9-a165-0f21d7a4e1c4"));
    CHECK(str_eq(td_eventsub_message_subscription_type(m), "drop.entitlement.grant"));
    CHECK(str_eq(td_eventsub_message_subscription_status(m), "enabled"));
    CHECK(str_eq(td_eventsub_message_challenge(m), ""));
    CHECK(td_eventsub_message_entitlement_count(m) == 1);
    const td_entitlement *e = td_eventsub_message_entitlement(m, 0);
    CHECK(e != NULL && td_eventsub_message_entitlement(m, 1) == NULL);
    CHECK(str_eq(td_entitlement_id(e), "fb78259e-fb81-4d1b-8333-34a06ffc24c0"));
    CHECK(str_eq(td_entitlement_benefit_id(e), "74c52265-e214-48a6-91b9-23b6014e8041"));
    CHECK(str_eq(td_entitlement_user_id(e), "1234"));
    CHECK(str_eq(td_entitlement_game_id(e), "509658"));
    CHECK(str_eq(td_entitlement_timestamp(e), "2023-11-14T22:13:19.000Z"));
    CHECK(td_entitlement_status(e) == TD_CLAIMED);
    CHECK(td_eventsub_message_response_status(m) == 204);
    CHECK(td_eventsub_message_response_body(m).len == 0);
    CHECK(td_eventsub_message_response_content_type(m).len == 0);
    td_eventsub_message_free(m);

    /* A tampered body, a wrong signature, a stale or future timestamp: 403. */
    char tampered[sizeof GRANT_BODY];
    memcpy(tampered, GRANT_BODY, sizeof GRANT_BODY);
    *strstr(tampered, "1234") = '9';
    m = NULL;
    CHECK_RESULT(verify(&h, tampered, NOW_MS, &m, err), TD_EVENTSUB_BAD_SIGNATURE, err);
    CHECK(m == NULL && td_error_eventsub_status(err) == 403 && message_has(err, "signature"));
    CHECK(td_error_http_status(err) == 0);
    headers wrong = make_headers("notification", MESSAGE_ID, TIMESTAMP,
                                 "sha256=6e90a79fe02c234517a5b22bbdda1fff6ca15da9db45935288d4573177eebebe");
    CHECK_RESULT(verify(&wrong, GRANT_BODY, NOW_MS, &m, err), TD_EVENTSUB_BAD_SIGNATURE, err);
    CHECK_RESULT(td_eventsub_verify(h.items, h.count, (const uint8_t *)GRANT_BODY, strlen(GRANT_BODY),
                                    "another-secret", NOW_MS, &m, err),
                 TD_EVENTSUB_BAD_SIGNATURE, err);
    CHECK_RESULT(verify(&h, GRANT_BODY, NOW_MS + 11 * MINUTE_MS, &m, err), TD_EVENTSUB_STALE, err);
    CHECK(td_error_eventsub_status(err) == 403 && message_has(err, "old"));
    CHECK_RESULT(verify(&h, GRANT_BODY, NOW_MS - 11 * MINUTE_MS, &m, err), TD_EVENTSUB_STALE, err);
    CHECK(message_has(err, "future"));
    CHECK_OK(verify(&h, GRANT_BODY, NOW_MS + 9 * MINUTE_MS, &m, err), err); /* within 10 minutes */
    td_eventsub_message_free(m);
    m = NULL;

    /* Missing headers and unknown types: 400, naming what is wrong. */
    h.count = 3; /* no type header */
    CHECK_RESULT(verify(&h, GRANT_BODY, NOW_MS, &m, err), TD_EVENTSUB_MALFORMED, err);
    CHECK(td_error_eventsub_status(err) == 400 && message_has(err, "Twitch-Eventsub-Message-Type"));
    CHECK_RESULT(td_eventsub_verify(NULL, 0, NULL, 0, SECRET, NOW_MS, &m, err), TD_EVENTSUB_MALFORMED, err);
    headers odd = make_headers("surprise", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE);
    CHECK_RESULT(verify(&odd, GRANT_BODY, NOW_MS, &m, err), TD_EVENTSUB_MALFORMED, err);
    CHECK(message_has(err, "surprise"));

    /* Bad input: refused at the boundary. */
    h.count = 5;
    CHECK_RESULT(td_eventsub_verify(h.items, h.count, NULL, 3, SECRET, NOW_MS, &m, err), TD_NULL_POINTER, err);
    CHECK(td_error_eventsub_status(err) == 0);
    CHECK_RESULT(td_eventsub_verify(NULL, 2, (const uint8_t *)"{}", 2, SECRET, NOW_MS, &m, err), TD_NULL_POINTER,
                 err);
    CHECK_RESULT(td_eventsub_verify(h.items, h.count, (const uint8_t *)"{}", 2, NULL, NOW_MS, &m, err),
                 TD_NULL_POINTER, err);
    CHECK_RESULT(verify(&h, GRANT_BODY, NOW_MS, NULL, err), TD_NULL_POINTER, err);
    CHECK_RESULT(td_eventsub_verify(h.items, h.count, (const uint8_t *)"{}", 2, "\xff", NOW_MS, &m, err),
                 TD_INVALID_UTF8, err);
    td_header bad = {{"X-Bad", 5}, {"\xc3\x28", 2}};
    CHECK_RESULT(td_eventsub_verify(&bad, 1, (const uint8_t *)"{}", 2, SECRET, NOW_MS, &m, err), TD_INVALID_UTF8,
                 err);
    CHECK(m == NULL);

    CHECK(str_eq(td_result_name(TD_EVENTSUB_BAD_SIGNATURE), "TD_EVENTSUB_BAD_SIGNATURE"));
    CHECK(str_eq(td_result_name(TD_EVENTSUB_STALE), "TD_EVENTSUB_STALE"));
    CHECK(str_eq(td_result_name(TD_EVENTSUB_MALFORMED), "TD_EVENTSUB_MALFORMED"));

    /* NULL messages read as empty. */
    CHECK(td_eventsub_message_type(NULL) == TD_EVENTSUB_OTHER);
    CHECK(td_eventsub_message_id(NULL).len == 0 && td_eventsub_message_entitlement_count(NULL) == 0);
    CHECK(td_eventsub_message_entitlement(NULL, 0) == NULL && td_eventsub_message_response_status(NULL) == 0);
    td_eventsub_message_free(NULL);
}

static void challenge(td_error *err) {
    const char *body = env("TD_TEST_CHALLENGE_BODY");
    headers h = make_headers("webhook_callback_verification", MESSAGE_ID, TIMESTAMP, env("TD_TEST_CHALLENGE_SIGNATURE"));
    td_eventsub_message *m = NULL;
    CHECK_OK(verify(&h, body, NOW_MS, &m, err), err);
    CHECK(td_eventsub_message_type(m) == TD_EVENTSUB_VERIFICATION);
    CHECK(str_eq(td_eventsub_message_challenge(m), "pogchamp-kappa-360noscope-vohiyo"));
    CHECK(td_eventsub_message_response_status(m) == 200);
    CHECK(str_eq(td_eventsub_message_response_body(m), "pogchamp-kappa-360noscope-vohiyo"));
    CHECK(str_eq(td_eventsub_message_response_content_type(m), "text/plain"));
    CHECK(td_eventsub_message_entitlement_count(m) == 0);
    td_eventsub_message_free(m);
}

static void deduplicator(void) {
    td_deduplicator *seen = td_deduplicator_new(2);
    CHECK(seen != NULL);
    bool first = false, forgotten = false;
    CHECK(td_deduplicator_first_time(seen, "a", NOW_MS, &first) == TD_OK && first);
    CHECK(td_deduplicator_first_time(seen, "a", NOW_MS + 1, &first) == TD_OK && !first);
    CHECK(td_deduplicator_forget(seen, "a", &forgotten) == TD_OK && forgotten);
    CHECK(td_deduplicator_forget(seen, "a", NULL) == TD_OK);
    CHECK(td_deduplicator_first_time(seen, "a", NOW_MS + 2, &first) == TD_OK && first);
    CHECK(td_deduplicator_first_time(seen, "b", NOW_MS + 3, &first) == TD_OK && first);
    CHECK(td_deduplicator_first_time(seen, "c", NOW_MS + 4, &first) == TD_OK && first);
    CHECK(td_deduplicator_len(seen) == 2); /* "a" went first */
    CHECK(td_deduplicator_first_time(seen, "c", NOW_MS + 21 * MINUTE_MS, &first) == TD_OK && first); /* expired */
    CHECK(td_deduplicator_first_time(NULL, "a", 0, &first) == TD_NULL_POINTER);
    CHECK(td_deduplicator_first_time(seen, NULL, 0, &first) == TD_NULL_POINTER);
    CHECK(td_deduplicator_first_time(seen, "a", 0, NULL) == TD_NULL_POINTER);
    CHECK(td_deduplicator_first_time(seen, "\xff", 0, &first) == TD_INVALID_UTF8);
    CHECK(td_deduplicator_len(NULL) == 0);
    td_deduplicator_free(seen);
    td_deduplicator_free(NULL);
}

/* The game's records, as in fulfill.c. */
typedef struct game {
    id_list given;
    unsigned calls, duplicates;
} game;

static uint32_t grant(void *user_data, const td_grant_request *request, td_grant_reason *reason) {
    game *g = user_data;
    (void)reason;
    g->calls++;
    if (id_list_find(&g->given, request->id) >= 0) {
        if (!request->resumed) g->duplicates++;
        return TD_GRANT_GRANTED;
    }
    id_list_push(&g->given, request->id);
    return TD_GRANT_GRANTED;
}

static void pushed(td_error *err) {
    td_client *client = fake_client(err);

    /* The webhook handler: verify, act once per message id, answer. */
    const char *body = env("TD_TEST_PUSH_BODY");
    uint64_t now_ms = strtoull(env("TD_TEST_PUSH_NOW_MS"), NULL, 10);
    headers h = make_headers("notification", env("TD_TEST_PUSH_ID"), env("TD_TEST_PUSH_TIMESTAMP"),
                             env("TD_TEST_PUSH_SIGNATURE"));
    td_deduplicator *seen = td_deduplicator_new(0);
    td_journal *journal = td_journal_new_memory();
    game g = {0};
    size_t events = 0, distinct = 0, acted = 0;
    for (int delivery = 0; delivery < 2; delivery++) { /* Twitch may deliver a message twice */
        td_eventsub_message *m = NULL;
        CHECK_OK(verify(&h, body, now_ms, &m, err), err);
        bool first = false;
        CHECK_OK(td_deduplicator_first_time(seen, td_eventsub_message_id(m).ptr, now_ms, &first), NULL);
        CHECK(first == (delivery == 0));
        events = td_eventsub_message_entitlement_count(m);
        if (first && events > 0) {
            const td_entitlement **list = malloc(events * sizeof *list);
            CHECK(list != NULL);
            for (size_t i = 0; i < events; i++) list[i] = td_eventsub_message_entitlement(m, i);
            td_fulfill_report *report = NULL;
            CHECK_OK(td_client_fulfill_entitlements(client, list, events, NULL, journal, grant, &g, &report, err), err);
            CHECK(td_fulfill_report_is_complete(report));
            distinct = td_fulfill_report_listed(report);
            CHECK(td_fulfill_report_fulfilled(report) == distinct && td_fulfill_report_granted(report) == distinct);
            td_fulfill_report_free(report);
            free(list);
            acted++;
        }
        CHECK(td_eventsub_message_response_status(m) == 204);
        td_eventsub_message_free(m);
    }
    CHECK(acted == 1 && distinct > 100 && distinct < events); /* the repeated event counted once */
    CHECK(g.given.len == distinct && g.calls == distinct && g.duplicates == 0);

    /* Polling with the same journal grants the rest, none of the pushed ones again. */
    td_fulfill_options *options = td_fulfill_options_new();
    CHECK_OK(td_fulfill_options_set_game_id(options, env("TWITCH_GAME_ID")), NULL);
    td_fulfill_report *report = NULL;
    CHECK_OK(td_client_fulfill(client, options, journal, grant, &g, &report, err), err);
    CHECK(td_fulfill_report_is_complete(report) && g.duplicates == 0);
    size_t polled = td_fulfill_report_listed(report);
    CHECK(g.given.len == distinct + polled);
    td_fulfill_report_free(report);
    td_fulfill_options_free(options);

    printf("pushed=%zu events=%zu granted=%zu polled=%zu duplicates=%u\n", distinct, events, g.given.len, polled,
           g.duplicates);
    id_list_free(&g.given);
    td_journal_free(journal);
    td_deduplicator_free(seen);
    td_client_free(client);
}

/* A store of delivered message ids, as a studio's database would keep them. */
typedef struct delivery_store {
    char ids[8][64];
    int count, fail;
} delivery_store;

static int record_delivery(void *user_data, td_str id, uint64_t now_ms, bool *first_out) {
    delivery_store *store = user_data;
    (void)now_ms;
    if (store->fail) return 7;
    CHECK(id.ptr[id.len] == '\0' && id.len < 64);
    for (int i = 0; i < store->count; i++) {
        if (strcmp(store->ids[i], id.ptr) == 0) {
            *first_out = false;
            return 0;
        }
    }
    CHECK(store->count < 8);
    memcpy(store->ids[store->count++], id.ptr, id.len + 1);
    *first_out = true;
    return 0;
}

/* td_eventsub_handle: verify and record in one call, through a callback store or a
 * deduplicator; a repeat is answered and not acted on; a store that fails is TD_JOURNAL. */
static void handle_calls(td_error *err) {
    headers h = make_headers("notification", MESSAGE_ID, TIMESTAMP, GRANT_SIGNATURE);
    const uint8_t *body = (const uint8_t *)GRANT_BODY;
    size_t len = strlen(GRANT_BODY);
    delivery_store store = {{{0}}, 0, 0};
    td_eventsub_message *m = NULL;
    bool act = false;
    CHECK_OK(td_eventsub_handle(h.items, h.count, body, len, SECRET, NOW_MS, NULL, record_delivery, &store, &m, &act,
                                err),
             err);
    CHECK(act && td_eventsub_message_entitlement_count(m) == 1);
    CHECK(td_eventsub_message_response_status(m) == 204);
    td_eventsub_message_free(m);
    CHECK_OK(td_eventsub_handle(h.items, h.count, body, len, SECRET, NOW_MS + 1000, NULL, record_delivery, &store, &m,
                                &act, err),
             err);
    CHECK(!act && td_eventsub_message_response_status(m) == 204); /* a repeat: answered, not acted on */
    td_eventsub_message_free(m);
    CHECK(store.count == 1);

    td_deduplicator *seen = td_deduplicator_new(0);
    CHECK_OK(td_eventsub_handle(h.items, h.count, body, len, SECRET, NOW_MS, seen, NULL, NULL, &m, &act, err), err);
    CHECK(act);
    td_eventsub_message_free(m);
    CHECK_OK(td_eventsub_handle(h.items, h.count, body, len, SECRET, NOW_MS, seen, NULL, NULL, &m, &act, err), err);
    CHECK(!act);
    td_eventsub_message_free(m);
    td_deduplicator_free(seen);

    delivery_store failing = {{{0}}, 0, 1};
    m = NULL;
    CHECK_RESULT(td_eventsub_handle(h.items, h.count, body, len, SECRET, NOW_MS, NULL, record_delivery, &failing, &m,
                                    &act, err),
                 TD_JOURNAL, err);
    CHECK(m == NULL && message_has(err, "503"));
    headers forged = make_headers("notification", MESSAGE_ID, TIMESTAMP, "sha256=00");
    CHECK_RESULT(td_eventsub_handle(forged.items, forged.count, body, len, SECRET, NOW_MS, NULL, record_delivery,
                                    &store, &m, &act, err),
                 TD_EVENTSUB_BAD_SIGNATURE, err);
    CHECK(store.count == 1); /* a refused message is not recorded */
    CHECK_RESULT(td_eventsub_handle(h.items, h.count, body, len, SECRET, NOW_MS, NULL, NULL, NULL, &m, &act, err),
                 TD_NULL_POINTER, err);
}

int main(void) {
    td_error *err = td_error_new();
    known_vector(err);
    challenge(err);
    deduplicator();
    handle_calls(err);
    pushed(err);
    td_error_free(err);
    return 0;
}
