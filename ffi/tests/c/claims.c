/* Two instances sharing one journal through claim callbacks (td_journal_callbacks.claim),
 * against the fake Twitch. The shared store below stands in for a studio's database: a row
 * per entitlement (its granting line, state and owner); a claim takes an id only when it is
 * new, released (not_granted), or already this instance's, and an instance's claims expire
 * only once it is marked dead. Each instance has its own client and td_journal over that
 * store; the "game" records every reward given by either, so a reward given twice is caught
 * here, in C.
 *
 * usage: claims interleaved  instance A's run lists everything, claims its first batch, and
 *                            while A grants it, instance B's whole run happens: B leaves A's
 *                            batch to A (held elsewhere) and grants the rest; A's stale
 *                            listing then finds B's settled rows held too. Each entitlement
 *                            is granted once, by one of them.
 *        claims takeover     a claim callback that fails stops the run with TD_JOURNAL and
 *                            nothing of its batch granted (on the first batch, then on the
 *                            second); A stops after granting a batch (a failed append, like a
 *                            crash) and B, while A's claims live, leaves them to A; A dies,
 *                            and B's next load takes its claims over and grants them as
 *                            resumed. Nothing is granted twice.
 * env:   TWITCH_CLIENT_ID TWITCH_CLIENT_SECRET TWITCH_HELIX_URL TWITCH_AUTH_URL TWITCH_GAME_ID
 * prints one line of key=value totals. */
#include <inttypes.h>
#include <stdbool.h>

#include "test_util.h"

/* ---- The shared store ---------------------------------------------------------------- */

enum row_state { ROW_GRANTING, ROW_GRANTED, ROW_NOT_GRANTED, ROW_SETTLED };

typedef struct row {
    char *id;
    char *granting; /* the granting line of the current claim */
    enum row_state state;
    int owner; /* the holding instance (1 or 2) while GRANTING or GRANTED, else 0 */
} row;

typedef struct store {
    row *rows;
    size_t len, cap;
    int dead[3]; /* dead[k]: instance k died, its claims expired */
} store;

static row *store_find(store *s, const char *id) {
    for (size_t i = 0; i < s->len; i++) {
        if (strcmp(s->rows[i].id, id) == 0) return &s->rows[i];
    }
    return NULL;
}

static row *store_add(store *s, const char *id) {
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->rows = realloc(s->rows, s->cap * sizeof *s->rows);
        CHECK(s->rows != NULL);
    }
    row *r = &s->rows[s->len++];
    memset(r, 0, sizeof *r);
    r->id = malloc(strlen(id) + 1);
    CHECK(r->id != NULL);
    strcpy(r->id, id);
    return r;
}

static void store_free(store *s) {
    for (size_t i = 0; i < s->len; i++) {
        free(s->rows[i].id);
        free(s->rows[i].granting);
    }
    free(s->rows);
    memset(s, 0, sizeof *s);
}

static size_t store_count(const store *s, enum row_state state, int owner) {
    size_t n = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->rows[i].state == state && (owner < 0 || s->rows[i].owner == owner)) n++;
    }
    return n;
}

/* The string value of `"key":"..."` in a record line, copied into `out`. */
static void field(const char *line, const char *key, char *out, size_t size) {
    char pattern[32];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *start = strstr(line, pattern);
    CHECK(start != NULL);
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    CHECK(end != NULL && (size_t)(end - start) < size);
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
}

/* ---- One instance's journal callbacks ------------------------------------------------ */

typedef struct instance {
    store *shared;
    int me; /* 1 or 2 */
    unsigned claims, fail_claim_at; /* the claim call (1-based) that fails; 0: none */
    unsigned appends, fail_append_at;
    size_t taken, refused; /* lines claimed, and left to the other instance */
} instance;

/* Pushes what this instance holds, taking over the claims of a dead instance first. */
static int shared_load(void *user_data, td_journal_sink *sink) {
    instance *in = user_data;
    store *s = in->shared;
    for (size_t i = 0; i < s->len; i++) {
        row *r = &s->rows[i];
        if (r->state != ROW_GRANTING && r->state != ROW_GRANTED) continue;
        if (r->owner != in->me && !s->dead[r->owner]) continue; /* a live instance's */
        r->owner = in->me;
        CHECK(td_journal_sink_push(sink, r->granting) == TD_OK);
        if (r->state == ROW_GRANTED) {
            char line[128];
            snprintf(line, sizeof line, "{\"op\":\"granted\",\"id\":\"%s\"}", r->id);
            CHECK(td_journal_sink_push(sink, line) == TD_OK);
        }
    }
    return 0;
}

/* Takes each id that is new, released, or already ours; all or nothing (a failed claim
 * stores nothing). */
static int shared_claim(void *user_data, const td_str *lines, size_t count, bool *taken) {
    instance *in = user_data;
    store *s = in->shared;
    CHECK(lines != NULL && taken != NULL && count > 0 && count <= 100);
    if (++in->claims == in->fail_claim_at) return 7; /* the database is away: nothing stored */
    for (size_t i = 0; i < count; i++) {
        char op[32], id[64];
        CHECK(!taken[i]);
        CHECK(lines[i].ptr[lines[i].len] == '\0');
        field(lines[i].ptr, "op", op, sizeof op);
        CHECK(strcmp(op, "granting") == 0);
        field(lines[i].ptr, "id", id, sizeof id);
        row *r = store_find(s, id);
        if (r == NULL) {
            r = store_add(s, id);
        } else if (!(r->state == ROW_NOT_GRANTED || (r->state == ROW_GRANTING && r->owner == in->me))) {
            in->refused++;
            continue; /* held, granted or settled elsewhere */
        }
        r->state = ROW_GRANTING;
        r->owner = in->me;
        free(r->granting);
        r->granting = str_dup(lines[i]);
        taken[i] = true;
        in->taken++;
    }
    return 0;
}

/* Writes the answers and settlements about ids this instance holds; anything else (a
 * granting line, an id it does not hold) is refused, as a database journal does. */
static int shared_append(void *user_data, const td_str *lines, size_t count) {
    instance *in = user_data;
    CHECK(lines != NULL && count > 0);
    if (++in->appends == in->fail_append_at) return 5; /* the process dies here */
    for (size_t i = 0; i < count; i++) {
        char op[32], id[64];
        field(lines[i].ptr, "op", op, sizeof op);
        field(lines[i].ptr, "id", id, sizeof id);
        CHECK(strcmp(op, "granting") != 0); /* with a claim callback, granting goes there */
        row *r = store_find(in->shared, id);
        CHECK(r != NULL && r->owner == in->me);
        if (strcmp(op, "granted") == 0) {
            CHECK(r->state == ROW_GRANTING);
            r->state = ROW_GRANTED;
        } else {
            CHECK(strcmp(op, "not_granted") == 0 || strcmp(op, "settled") == 0);
            r->state = op[0] == 'n' ? ROW_NOT_GRANTED : ROW_SETTLED;
            r->owner = 0;
        }
    }
    return 0;
}

static td_journal *shared_journal(instance *in, td_error *err) {
    td_journal_callbacks callbacks = {.user_data = in, .load = shared_load, .append = shared_append, .claim = shared_claim};
    td_journal *journal = NULL;
    CHECK_OK(td_journal_new_callbacks(&callbacks, &journal, err), err);
    return journal;
}

/* ---- The game, and each instance's run ----------------------------------------------- */

/* Every reward given, by either instance. */
typedef struct game {
    id_list given;
    unsigned duplicates;
} game;

struct run;
typedef void (*on_first_grant)(struct run *);

/* One instance's run: its client, journal, grants and settlements. */
typedef struct run {
    game *g;
    td_client *client;
    td_journal *journal;
    td_error *err;
    unsigned calls, granted, resumed;
    unsigned by_state[TD_SETTLED_HELD_ELSEWHERE + 1];
    on_first_grant first; /* called at this run's first grant (once) */
    struct run *other;
} run;

static uint32_t grant(void *user_data, const td_grant_request *request, td_grant_reason *reason) {
    run *r = user_data;
    (void)reason;
    if (r->calls++ == 0 && r->first != NULL) r->first(r);
    if (request->resumed) r->resumed++;
    if (id_list_find(&r->g->given, request->id) >= 0) {
        if (!request->resumed) r->g->duplicates++; /* given already, and not in doubt */
        return TD_GRANT_GRANTED;
    }
    id_list_push(&r->g->given, request->id);
    r->granted++;
    return TD_GRANT_GRANTED;
}

static void settled(void *user_data, const td_settlement *s) {
    run *r = user_data;
    CHECK(s->id.len == 36 && s->user_id.len > 0);
    CHECK(s->state >= TD_SETTLED_FULFILLED && s->state <= TD_SETTLED_HELD_ELSEWHERE);
    r->by_state[s->state]++;
}

static int contains(const td_error *err, const char *text) {
    char message[1024];
    size_t len;
    CHECK(td_error_message(err, message, sizeof message, &len) == TD_OK);
    return strstr(message, text) != NULL;
}

/* Runs `r` over the game's CLAIMED entitlements; returns its result, the report in *out (the
 * caller's on success, borrowed from r->err on a stop). */
static td_result fulfill(run *r, td_fulfill_report **owned, const td_fulfill_report **out) {
    td_fulfill_options *options = td_fulfill_options_new();
    CHECK(options != NULL);
    CHECK_OK(td_fulfill_options_set_game_id(options, env("TWITCH_GAME_ID")), NULL);
    CHECK_OK(td_fulfill_options_set_on_settled(options, settled, r), NULL);
    /* Batches of 100 grants: this test counts claims a batch at a time. */
    CHECK_OK(td_fulfill_options_set_grants_in_flight(options, 100), NULL);
    *owned = NULL;
    td_result result = td_client_fulfill(r->client, options, r->journal, grant, r, owned, r->err);
    *out = result == TD_OK ? *owned : td_error_fulfill_report(r->err);
    CHECK(*out != NULL);
    td_fulfill_options_free(options);
    return result;
}

/* The totals agree with the settlements heard, and every entitlement is accounted for. */
static void check_report(const run *r, const td_fulfill_report *report) {
    CHECK(td_fulfill_report_held_elsewhere(report) == r->by_state[TD_SETTLED_HELD_ELSEWHERE]);
    CHECK(td_fulfill_report_fulfilled(report) == r->by_state[TD_SETTLED_FULFILLED]);
    CHECK(td_fulfill_report_granted(report) == r->calls);
    CHECK(td_fulfill_report_resumed(report) == r->resumed);
    uint64_t ended = td_fulfill_report_fulfilled(report) + td_fulfill_report_already_fulfilled(report) +
                     td_fulfill_report_retry_later(report) + td_fulfill_report_grant_failed(report) +
                     td_fulfill_report_rejected(report) + td_fulfill_report_unmarked(report) +
                     td_fulfill_report_quarantined(report) + td_fulfill_report_not_reached(report) +
                     td_fulfill_report_held_elsewhere(report);
    CHECK(ended == td_fulfill_report_listed(report));
}

static void print_report(const char *name, const td_fulfill_report *report) {
    printf("%s: listed %" PRIu64 ", granted %" PRIu64 ", fulfilled %" PRIu64 ", held elsewhere %" PRIu64
           ", resumed %" PRIu64 ", not reached %" PRIu64 ", left %" PRIu64 "\n",
           name, td_fulfill_report_listed(report), td_fulfill_report_granted(report),
           td_fulfill_report_fulfilled(report), td_fulfill_report_held_elsewhere(report),
           td_fulfill_report_resumed(report), td_fulfill_report_not_reached(report), td_fulfill_report_left(report));
}

static void run_init(run *r, game *g, instance *in, td_error *err) {
    memset(r, 0, sizeof *r);
    r->g = g;
    r->err = td_error_new();
    CHECK(r->err != NULL);
    r->client = fake_client(err);
    r->journal = shared_journal(in, err);
}

static void run_free(run *r) {
    td_journal_free(r->journal);
    td_client_free(r->client);
    td_error_free(r->err);
}

/* ---- interleaved --------------------------------------------------------------------- */

static td_fulfill_report *b_report;

/* At A's first grant (A holds its first batch), instance B runs to its end. */
static void run_b_now(run *a) {
    const td_fulfill_report *seen = NULL;
    CHECK_OK(fulfill(a->other, &b_report, &seen), a->other->err);
}

static void interleaved(td_error *err) {
    store s = {0};
    game g = {0};
    instance ia = {.shared = &s, .me = 1}, ib = {.shared = &s, .me = 2};
    run a, b;
    run_init(&a, &g, &ia, err);
    run_init(&b, &g, &ib, err);
    a.first = run_b_now;
    a.other = &b;
    size_t claimed = count_claimed(a.client, err);
    CHECK(claimed > 200);

    td_fulfill_report *a_report = NULL;
    const td_fulfill_report *seen = NULL;
    CHECK_OK(fulfill(&a, &a_report, &seen), a.err);
    CHECK(b_report != NULL);
    print_report("A", a_report);
    print_report("B", b_report);
    check_report(&a, a_report);
    check_report(&b, b_report);

    /* A took its first batch; B took everything else and left A's batch to A. */
    CHECK(a.granted == 100 && a.calls == 100);
    CHECK(b.granted == claimed - 100 && b.calls == claimed - 100);
    CHECK(td_fulfill_report_held_elsewhere(b_report) == 100);
    CHECK(b.by_state[TD_SETTLED_HELD_ELSEWHERE] == 100);
    /* A's listing was taken before B ran: the rest of it was held (settled by B). */
    CHECK(td_fulfill_report_listed(a_report) == claimed);
    CHECK(td_fulfill_report_held_elsewhere(a_report) == claimed - 100);
    CHECK(td_fulfill_report_left(a_report) == 0 && td_fulfill_report_left(b_report) == 0);
    CHECK(ia.taken == 100 && ib.taken == claimed - 100);
    CHECK(g.given.len == claimed && g.duplicates == 0);
    CHECK(store_count(&s, ROW_SETTLED, 0) == claimed && s.len == claimed);
    CHECK(count_claimed(a.client, err) == 0);

    printf("granted=%zu claimed=%zu a_granted=%u b_granted=%u a_held=%" PRIu64 " b_held=%" PRIu64
           " duplicates=%u\n",
           g.given.len, claimed, a.granted, b.granted, td_fulfill_report_held_elsewhere(a_report),
           td_fulfill_report_held_elsewhere(b_report), g.duplicates);
    td_fulfill_report_free(a_report);
    td_fulfill_report_free(b_report);
    run_free(&a);
    run_free(&b);
    store_free(&s);
    id_list_free(&g.given);
}

/* ---- takeover ------------------------------------------------------------------------ */

static void takeover(td_error *err) {
    store s = {0};
    game g = {0};
    instance ia = {.shared = &s, .me = 1}, ib = {.shared = &s, .me = 2};
    run a, b;
    td_fulfill_report *owned = NULL;
    const td_fulfill_report *seen = NULL;

    /* Only claim set: still TD_NULL_POINTER. */
    td_journal_callbacks half = {.user_data = &ia, .claim = shared_claim};
    td_journal *none = NULL;
    CHECK_RESULT(td_journal_new_callbacks(&half, &none, err), TD_NULL_POINTER, err);
    CHECK(none == NULL && contains(err, "callbacks->load"));

    run_init(&a, &g, &ia, err);
    size_t claimed = count_claimed(a.client, err);
    CHECK(claimed > 200);

    /* A claim that fails on the first batch: nothing stored, nothing granted. */
    ia.fail_claim_at = 1;
    CHECK_RESULT(fulfill(&a, &owned, &seen), TD_JOURNAL, a.err);
    CHECK(contains(a.err, "claim callback") && contains(a.err, "returned 7"));
    print_report("A, claim failed at batch 1", seen);
    CHECK(a.calls == 0 && g.given.len == 0 && s.len == 0);
    CHECK(td_fulfill_report_granted(seen) == 0 && td_fulfill_report_held_elsewhere(seen) == 0);
    CHECK(td_fulfill_report_not_reached(seen) == td_fulfill_report_listed(seen));
    CHECK(count_claimed(a.client, err) == claimed);

    /* On the second batch: its claim carries the first batch's answers (appended first, then
     * the claim fails), so the first is granted and recorded but left for the next run to
     * mark; nothing of the second is granted. */
    ia.claims = 0;
    ia.fail_claim_at = 2;
    memset(a.by_state, 0, sizeof a.by_state);
    CHECK_RESULT(fulfill(&a, &owned, &seen), TD_JOURNAL, a.err);
    CHECK(contains(a.err, "claim callback"));
    print_report("A, claim failed at batch 2", seen);
    CHECK(a.calls == 100 && g.given.len == 100 && s.len == 100);
    CHECK(store_count(&s, ROW_GRANTED, 1) == 100);
    CHECK(td_fulfill_report_granted(seen) == 100 && td_fulfill_report_unmarked(seen) == 100);
    CHECK(td_fulfill_report_not_reached(seen) == claimed - 100);
    CHECK(count_claimed(a.client, err) == claimed);
    ia.fail_claim_at = 0;

    /* A marks the first batch (append 1 records it settled), claims and grants its next
     * batch, then dies at the append that records the answers: those 100 are in doubt, held
     * by A. */
    ia.appends = 0;
    ia.fail_append_at = 2;
    unsigned calls_before = a.calls;
    CHECK_RESULT(fulfill(&a, &owned, &seen), TD_JOURNAL, a.err);
    CHECK(contains(a.err, "append callback"));
    print_report("A, died after granting", seen);
    CHECK(a.calls - calls_before == 100 && g.given.len == 200);
    CHECK(store_count(&s, ROW_GRANTING, 1) == 100);
    run_free(&a);

    /* B while A's claims live: A's in-doubt batch is left to A, the rest granted by B. */
    run_init(&b, &g, &ib, err);
    CHECK_OK(fulfill(&b, &owned, &seen), b.err);
    print_report("B, A alive", seen);
    check_report(&b, seen);
    CHECK(td_fulfill_report_listed(seen) == claimed - 100);
    CHECK(td_fulfill_report_held_elsewhere(seen) == 100 && b.by_state[TD_SETTLED_HELD_ELSEWHERE] == 100);
    CHECK(b.granted == claimed - 200 && b.resumed == 0);
    CHECK(ib.refused == 100);
    CHECK(count_claimed(b.client, err) == 100); /* A's, still CLAIMED */
    td_fulfill_report_free(owned);

    /* A is dead: B's next run loads A's expired claims, re-checks them and grants them as
     * resumed (the game has them already: not given twice), then marks them. */
    s.dead[1] = 1;
    memset(b.by_state, 0, sizeof b.by_state);
    unsigned b_calls = b.calls;
    b.calls = b.resumed = 0;
    CHECK_OK(fulfill(&b, &owned, &seen), b.err);
    print_report("B, A dead", seen);
    check_report(&b, seen);
    CHECK(td_fulfill_report_resumed(seen) == 100 && b.resumed == 100);
    CHECK(td_fulfill_report_fulfilled(seen) == 100 && td_fulfill_report_held_elsewhere(seen) == 0);
    CHECK(td_fulfill_report_is_complete(seen));
    CHECK(store_count(&s, ROW_SETTLED, 0) == claimed && s.len == claimed);
    CHECK(g.given.len == claimed && g.duplicates == 0);
    CHECK(count_claimed(b.client, err) == 0);
    td_fulfill_report_free(owned);

    printf("granted=%zu claimed=%zu resumed=%u b_calls=%u duplicates=%u\n", g.given.len, claimed, b.resumed,
           b_calls + b.calls, g.duplicates);
    run_free(&b);
    store_free(&s);
    id_list_free(&g.given);
}

int main(int argc, char **argv) {
    td_error *err = td_error_new();
    CHECK(err != NULL);
    if (argc == 2 && strcmp(argv[1], "interleaved") == 0) {
        interleaved(err);
    } else if (argc == 2 && strcmp(argv[1], "takeover") == 0) {
        takeover(err);
    } else {
        fprintf(stderr, "usage: claims interleaved | takeover\n");
        return 2;
    }
    td_error_free(err);
    return 0;
}
