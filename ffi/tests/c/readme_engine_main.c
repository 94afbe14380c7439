/* Runs ffi/README.md's engine example: implements its engine_* functions with the test's
 * POSIX-socket HTTP client (each request answers one frame after it starts, like an
 * asynchronous stack) and drains the fake page by page on one thread.
 * env: TWITCH_* as drain. prints: engine: fulfilled=N frames=N */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "test_http.h"
#include "test_util.h"

int drain_one_page(td_client *client, const char *game_id, td_error *err);

static unsigned frames = 0;

uint64_t engine_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void engine_next_frame(void) {
    struct timespec ts = {0, 1000000L};
    nanosleep(&ts, NULL);
    frames++;
}

struct engine_http {
    http_result result;
    int polled;
};

typedef struct engine_http engine_http;

engine_http *engine_http_start(const td_http_request *request) {
    engine_http *http = calloc(1, sizeof *http);
    CHECK(http != NULL);
    http_perform(request->method.ptr, request->url.ptr, request->headers, request->header_count, request->body,
                 request->body_len, &http->result);
    return http;
}

int engine_http_poll(engine_http *http, uint16_t *status, const td_header **headers, size_t *header_count,
                     const uint8_t **body, size_t *body_len) {
    if (!http->polled++) {
        return 0; /* in flight for one frame */
    }
    if (!http->result.ok) {
        return -1;
    }
    *status = (uint16_t)http->result.status;
    *headers = http->result.headers;
    *header_count = http->result.header_count;
    *body = http->result.body;
    *body_len = http->result.body_len;
    return 1;
}

void engine_http_free(engine_http *http) {
    http_result_free(&http->result);
    free(http);
}

int main(void) {
    td_error *err = td_error_new();
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new(env("TWITCH_CLIENT_ID"), &config, err), err);
    CHECK_OK(td_client_config_set_client_secret(config, env("TWITCH_CLIENT_SECRET")), NULL);
    CHECK_OK(td_client_config_set_helix_url(config, env("TWITCH_HELIX_URL")), NULL);
    CHECK_OK(td_client_config_set_auth_url(config, env("TWITCH_AUTH_URL")), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    int total = 0, n;
    while ((n = drain_one_page(client, env("TWITCH_GAME_ID"), err)) > 0) {
        total += n;
    }
    if (n < 0) {
        print_error("drain_one_page", err);
        return 1;
    }
    printf("engine: fulfilled=%d frames=%u\n", total, frames);
    td_client_free(client);
    td_error_free(err);
    return 0;
}
