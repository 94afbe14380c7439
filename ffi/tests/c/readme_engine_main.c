/* Runs ffi/README.md's engine example (readme_engine.c) with the engine_* functions of
 * readme_engine_host.c, and drains the fake page by page on one thread.
 * env: TWITCH_* as drain. prints: engine: fulfilled=N frames=N */
#include "test_util.h"

int drain_one_page(td_client *client, const char *game_id, td_error *err);
unsigned engine_frames(void);

int main(void) {
    td_error *err = td_error_new();
    td_client *client = fake_client(err);
    int total = 0, n;
    while ((n = drain_one_page(client, env("TWITCH_GAME_ID"), err)) > 0) {
        total += n;
    }
    if (n < 0) {
        print_error("drain_one_page", err);
        return 1;
    }
    printf("engine: fulfilled=%d frames=%u\n", total, engine_frames());
    td_client_free(client);
    td_error_free(err);
    return 0;
}
