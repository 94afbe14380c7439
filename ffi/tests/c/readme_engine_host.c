/* The engine_* functions of ffi/README.md's engine examples, for the tests: the POSIX-socket
 * HTTP client of test_http.h, each request answering one frame after it starts (like an
 * asynchronous stack), a frame being 1 ms. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "test_http.h"
#include "test_util.h"

static unsigned frames = 0;

/* Frames that passed. */
unsigned engine_frames(void) { return frames; }

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

