/* A minimal blocking HTTP/1.1 client over POSIX sockets (Winsock on Windows), for loopback
 * tests only: plain http://host:port URLs, one connection per request (Connection: close),
 * Content-Length bodies. It stands in for an engine's own HTTP stack. Define _POSIX_C_SOURCE
 * before any include in the file that includes it. */
#ifndef TD_TEST_HTTP_H
#define TD_TEST_HTTP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
/* Winsock's names for the calls below; WSAStartup once, before the first socket. */
typedef SOCKET http_socket;
#define HTTP_BAD_SOCKET INVALID_SOCKET
#define http_close closesocket
#define http_send(fd, p, n) send((fd), (p), (int)(n), 0)
#define http_recv(fd, p, n) recv((fd), (p), (int)(n), 0)
#define strcasecmp _stricmp
static inline int http_startup(void) {
    static int started = 0;
    WSADATA data;
    if (!started && WSAStartup(MAKEWORD(2, 2), &data) == 0) started = 1;
    return started;
}
#else
#include <netdb.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
typedef int http_socket;
#define HTTP_BAD_SOCKET (-1)
#define http_close close
#define http_send write
#define http_recv read
static inline int http_startup(void) { return 1; }
#endif

#include "twitch_drops.h"

#define HTTP_MAX_HEADERS 64

typedef struct http_result {
    /* 1 when a whole response was read; 0 with `error` set otherwise. */
    int ok;
    /* When !ok: TD_TRANSPORT_CONNECT if nothing was sent, else TD_TRANSPORT_INTERRUPTED. */
    td_transport_error_kind failure;
    char error[256];
    int status;
    td_header headers[HTTP_MAX_HEADERS];
    size_t header_count;
    const uint8_t *body;
    size_t body_len;
    char *raw; /* owns everything above */
} http_result;

static inline void http_result_free(http_result *r) {
    free(r->raw);
    memset(r, 0, sizeof *r);
}

static inline int http_fail(http_result *r, td_transport_error_kind kind, const char *what) {
    r->ok = 0;
    r->failure = kind;
    snprintf(r->error, sizeof r->error, "%s", what);
    return 0;
}

static inline int http_write_all(http_socket fd, const void *data, size_t len) {
    const char *p = (const char *)data;
    while (len > 0) {
        long n = (long)http_send(fd, p, len);
        if (n <= 0) {
            return 0;
        }
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

/* Performs one request; returns r->ok. `url` is "http://host:port/path?query". */
static inline int http_perform(const char *method, const char *url, const td_header *headers,
                               size_t header_count, const uint8_t *body, size_t body_len,
                               http_result *r) {
    char host[256], port[16] = "80";
    const char *path;
    memset(r, 0, sizeof *r);
    if (strncmp(url, "http://", 7) != 0) {
        return http_fail(r, TD_TRANSPORT_REFUSED, "only http:// URLs are supported");
    }
    const char *authority = url + 7;
    path = strchr(authority, '/');
    if (path == NULL) {
        path = "/";
    }
    size_t authority_len = (size_t)(strchr(authority, '/') ? (size_t)(path - authority) : strlen(authority));
    const char *colon = (const char *)memchr(authority, ':', authority_len);
    size_t host_len = colon ? (size_t)(colon - authority) : authority_len;
    if (host_len == 0 || host_len >= sizeof host) {
        return http_fail(r, TD_TRANSPORT_REFUSED, "bad host");
    }
    memcpy(host, authority, host_len);
    host[host_len] = '\0';
    if (colon) {
        size_t port_len = authority_len - host_len - 1;
        if (port_len == 0 || port_len >= sizeof port) {
            return http_fail(r, TD_TRANSPORT_REFUSED, "bad port");
        }
        memcpy(port, colon + 1, port_len);
        port[port_len] = '\0';
    }

    if (!http_startup()) {
        return http_fail(r, TD_TRANSPORT_CONNECT, "no sockets (WSAStartup failed)");
    }
    struct addrinfo hints, *addrs = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &addrs) != 0 || addrs == NULL) {
        return http_fail(r, TD_TRANSPORT_CONNECT, "name lookup failed");
    }
    http_socket fd = socket(addrs->ai_family, addrs->ai_socktype, addrs->ai_protocol);
    if (fd == HTTP_BAD_SOCKET || connect(fd, addrs->ai_addr, (int)addrs->ai_addrlen) != 0) {
        if (fd != HTTP_BAD_SOCKET) {
            http_close(fd);
        }
        freeaddrinfo(addrs);
        return http_fail(r, TD_TRANSPORT_CONNECT, "connection refused");
    }
    freeaddrinfo(addrs);

    /* Request head: request line, Host, our headers, Content-Length, Connection: close. */
    size_t cap = 1024 + strlen(url);
    for (size_t i = 0; i < header_count; i++) {
        cap += headers[i].name.len + headers[i].value.len + 4;
    }
    char *head = (char *)malloc(cap);
    if (head == NULL) {
        http_close(fd);
        return http_fail(r, TD_TRANSPORT_CONNECT, "out of memory");
    }
    int n = snprintf(head, cap, "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n", method, path, host, port);
    size_t used = (size_t)n;
    for (size_t i = 0; i < header_count; i++) {
        used += (size_t)snprintf(head + used, cap - used, "%.*s: %.*s\r\n", (int)headers[i].name.len,
                                 headers[i].name.ptr, (int)headers[i].value.len, headers[i].value.ptr);
    }
    used += (size_t)snprintf(head + used, cap - used, "Content-Length: %zu\r\n\r\n", body_len);
    int sent = http_write_all(fd, head, used) && (body_len == 0 || http_write_all(fd, body, body_len));
    free(head);
    if (!sent) {
        http_close(fd);
        return http_fail(r, TD_TRANSPORT_INTERRUPTED, "write failed");
    }

    /* Read until the server closes. */
    size_t raw_cap = 65536, raw_len = 0;
    char *raw = (char *)malloc(raw_cap + 1);
    for (;;) {
        if (raw == NULL) {
            http_close(fd);
            return http_fail(r, TD_TRANSPORT_INTERRUPTED, "out of memory");
        }
        if (raw_len == raw_cap) {
            raw_cap *= 2;
            char *bigger = (char *)realloc(raw, raw_cap + 1);
            if (bigger == NULL) {
                free(raw);
            }
            raw = bigger;
            continue;
        }
        long got = (long)http_recv(fd, raw + raw_len, raw_cap - raw_len);
        if (got < 0) {
            free(raw);
            http_close(fd);
            return http_fail(r, TD_TRANSPORT_INTERRUPTED, "read failed");
        }
        if (got == 0) {
            break;
        }
        raw_len += (size_t)got;
    }
    http_close(fd);
    raw[raw_len] = '\0';
    r->raw = raw;

    /* Status line and headers (NUL-terminated in place), then the body. */
    char *end_of_head = strstr(raw, "\r\n\r\n");
    if (end_of_head == NULL || sscanf(raw, "HTTP/1.%*d %d", &r->status) != 1) {
        free(raw);
        r->raw = NULL;
        return http_fail(r, TD_TRANSPORT_INTERRUPTED, "no whole response head (connection closed?)");
    }
    *end_of_head = '\0';
    char *line = strstr(raw, "\r\n");
    long content_length = -1;
    while (line != NULL && line < end_of_head) {
        *line = '\0';
        line += 2;
        char *next = strstr(line, "\r\n");
        char *sep = strchr(line, ':');
        if (sep != NULL && r->header_count < HTTP_MAX_HEADERS) {
            *sep = '\0';
            char *value = sep + 1;
            while (*value == ' ') {
                value++;
            }
            if (next != NULL) {
                *next = '\0';
            }
            td_header *h = &r->headers[r->header_count++];
            h->name.ptr = line;
            h->name.len = strlen(line);
            h->value.ptr = value;
            h->value.len = strlen(value);
            if (strcasecmp(line, "content-length") == 0) {
                content_length = strtol(value, NULL, 10);
            }
            if (strcasecmp(line, "transfer-encoding") == 0) {
                free(raw);
                r->raw = NULL;
                return http_fail(r, TD_TRANSPORT_INTERRUPTED, "chunked bodies are not supported here");
            }
        }
        line = next;
    }
    r->body = (const uint8_t *)(end_of_head + 4);
    r->body_len = raw_len - (size_t)(end_of_head + 4 - raw);
    if (content_length >= 0 && (size_t)content_length != r->body_len) {
        free(raw);
        r->raw = NULL;
        return http_fail(r, TD_TRANSPORT_INTERRUPTED, "body cut short");
    }
    r->ok = 1;
    return 1;
}

#endif
