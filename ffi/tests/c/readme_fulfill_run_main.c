/* Runs ffi/README.md's non-blocking fulfillment example (readme_fulfill_run.c) with the
 * engine_* functions of readme_engine_host.c and a game that records what it gave: one tick
 * per frame until done, then again with the same journal (nothing left to do).
 * env: TWITCH_* as drain, TD_TEST_JOURNAL (a file path)
 * prints: engine run: fulfilled=N given=N twice=N frames=N, then: again: fulfilled=N given=N */
#include <inttypes.h>

#include "test_util.h"

/* The example exactly as the README shows it. */
#include "readme_fulfill_run.c"

uint64_t engine_now_ms(void);
void engine_next_frame(void);
unsigned engine_frames(void);

static id_list given;
static unsigned twice;

uint32_t game_grant(const td_grant_request *grant) {
    if (id_list_find(&given, grant->id) >= 0) {
        twice += !grant->resumed;
        return TD_GRANT_GRANTED;
    }
    id_list_push(&given, grant->id);
    return TD_GRANT_GRANTED;
}

static uint64_t run_once(td_client *client, td_error *err) {
    td_journal *journal = NULL;
    CHECK_OK(td_journal_new_file(env("TD_TEST_JOURNAL"), &journal, err), err);
    static drops_fulfiller fulfiller;
    drops_fulfiller *f = &fulfiller;
    CHECK_OK(drops_fulfiller_start(f, client, env("TWITCH_GAME_ID"), journal, err), err);
    int state;
    while ((state = drops_fulfiller_tick(f, engine_now_ms(), err)) == 0) engine_next_frame();
    CHECK(state == 1);
    td_fulfill_report *report = NULL;
    CHECK_OK(drops_fulfiller_finish(f, &report, err), err);
    uint64_t fulfilled = td_fulfill_report_fulfilled(report);
    CHECK(td_fulfill_report_is_complete(report));
    td_fulfill_report_free(report);
    td_journal_free(journal);
    return fulfilled;
}

int main(void) {
    td_error *err = td_error_new();
    td_client *client = fake_client(err);
    uint64_t fulfilled = run_once(client, err);
    printf("engine run: fulfilled=%" PRIu64 " given=%zu twice=%u frames=%u\n", fulfilled, given.len, twice,
           engine_frames());
    size_t before = given.len;
    fulfilled = run_once(client, err);
    printf("again: fulfilled=%" PRIu64 " given=%zu\n", fulfilled, given.len - before);
    id_list_free(&given);
    td_client_free(client);
    td_error_free(err);
    return 0;
}
