/* Helpers shared by the C test programs: checks that stop the program with a message, the
 * environment, error printing, a manual clock, id lists, and the fake's CLAIMED count.
 * Include it first. */
#ifndef TD_TEST_UTIL_H
#define TD_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twitch_drops.h"

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

/* Checks that `expr` returns `expected`; prints the td_error's detail when it does not. */
#define CHECK_RESULT(expr, expected, err)                                             \
    do {                                                                              \
        td_result got_ = (expr);                                                      \
        if (got_ != (expected)) {                                                     \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__,         \
                    __LINE__, #expr, td_result_name((uint32_t)got_).ptr,              \
                    td_result_name((uint32_t)(expected)).ptr);                        \
            print_error("  detail", (err));                                           \
            exit(1);                                                                  \
        }                                                                             \
    } while (0)

#define CHECK_OK(expr, err) CHECK_RESULT(expr, TD_OK, err)

/* The variable `name`, or exit with a message. */
static inline const char *env(const char *name) {
    const char *value = getenv(name);
    if (value == NULL || value[0] == '\0') {
        fprintf(stderr, "set %s\n", name);
        exit(2);
    }
    return value;
}

/* Prints an error's code, HTTP status and message (NULL prints nothing). */
static inline void print_error(const char *what, const td_error *err) {
    char message[2048];
    size_t len = 0;
    if (err == NULL) {
        return;
    }
    if (td_error_message(err, message, sizeof message, &len) != TD_OK) {
        strcpy(message, "(message too long)");
    }
    fprintf(stderr, "%s: %s (HTTP %u): %s\n", what, td_result_name((uint32_t)td_error_code(err)).ptr,
            (unsigned)td_error_http_status(err), message);
}

/* True when the view holds exactly `text`. */
static inline int str_eq(td_str view, const char *text) {
    return view.len == strlen(text) && memcmp(view.ptr, text, view.len) == 0;
}

/* A copy of a view, NUL-terminated, owned by the caller. */
static inline char *str_dup(td_str view) {
    char *copy = malloc(view.len + 1);
    CHECK(copy != NULL);
    memcpy(copy, view.ptr, view.len);
    copy[view.len] = '\0';
    return copy;
}

/* A clock whose sleeps return at once and move the time forward, counting what was slept. */
typedef struct manual_clock {
    uint64_t now_ms;
    uint64_t slept_ms;
    unsigned sleeps;
} manual_clock;

static inline uint64_t manual_now(void *user_data) {
    return ((manual_clock *)user_data)->now_ms;
}

static inline void manual_sleep(void *user_data, uint64_t ms) {
    manual_clock *clock = user_data;
    clock->now_ms += ms;
    clock->slept_ms += ms;
    clock->sleeps += 1;
}

/* A growable list of owned C strings. */
typedef struct id_list {
    char **items;
    size_t len;
    size_t cap;
} id_list;

static inline void id_list_push(id_list *list, td_str id) {
    if (list->len == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 64;
        list->items = realloc(list->items, list->cap * sizeof *list->items);
        CHECK(list->items != NULL);
    }
    list->items[list->len++] = str_dup(id);
}

/* The index of `id` in the list, or -1. */
static inline long id_list_find(const id_list *list, td_str id) {
    for (size_t i = 0; i < list->len; i++) {
        if (str_eq(id, list->items[i])) {
            return (long)i;
        }
    }
    return -1;
}

static inline void id_list_free(id_list *list) {
    for (size_t i = 0; i < list->len; i++) {
        free(list->items[i]);
    }
    free(list->items);
    list->items = NULL;
    list->len = list->cap = 0;
}

/* A client for the fake Twitch (TWITCH_CLIENT_ID, _SECRET, _HELIX_URL, _AUTH_URL), with the
 * built-in transport. */
static inline td_client *fake_client(td_error *err) {
    td_client_config *config = NULL;
    CHECK_OK(td_client_config_new(env("TWITCH_CLIENT_ID"), &config, err), err);
    CHECK_OK(td_client_config_set_client_secret(config, env("TWITCH_CLIENT_SECRET")), NULL);
    CHECK_OK(td_client_config_set_helix_url(config, env("TWITCH_HELIX_URL")), NULL);
    CHECK_OK(td_client_config_set_auth_url(config, env("TWITCH_AUTH_URL")), NULL);
    td_client *client = NULL;
    CHECK_OK(td_client_new(config, &client, err), err);
    td_client_config_free(config);
    return client;
}

/* CLAIMED entitlements of TWITCH_GAME_ID on the fake (its first page of up to 1000). */
static inline size_t count_claimed(const td_client *client, td_error *err) {
    td_entitlements_query *query = td_entitlements_query_new();
    CHECK(query != NULL);
    CHECK_OK(td_entitlements_query_set_game_id(query, env("TWITCH_GAME_ID")), NULL);
    CHECK_OK(td_entitlements_query_set_status(query, TD_CLAIMED), NULL);
    CHECK_OK(td_entitlements_query_set_first(query, 1000), NULL);
    td_entitlements_page *page = NULL;
    CHECK_OK(td_client_entitlements_page(client, query, &page, err), err);
    size_t count = td_entitlements_page_count(page);
    td_entitlements_page_free(page);
    td_entitlements_query_free(query);
    return count;
}

#endif
