// The C++17 wrapper: RAII handles, ranges over pages and entitlements, std::string and
// std::vector results, td::Error with the HTTP status and Twitch's message, a lambda
// transport, the step API and the EventSub webhook in one call, against the fake Twitch and
// against canned answers.
// env: TWITCH_CLIENT_ID TWITCH_CLIENT_SECRET TWITCH_HELIX_URL TWITCH_AUTH_URL TWITCH_GAME_ID
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "../c/eventsub_vector.h"
#include "twitch_drops.hpp"

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            std::exit(1);                                                            \
        }                                                                            \
    } while (0)

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    if (v == nullptr) {
        std::fprintf(stderr, "set %s\n", name);
        std::exit(2);
    }
    return v;
}

static void against_the_fake() {
    td::Config config(env("TWITCH_CLIENT_ID"));
    config.client_secret(env("TWITCH_CLIENT_SECRET")).helix_url(env("TWITCH_HELIX_URL")).auth_url(env("TWITCH_AUTH_URL"));
    const td::Client client(config);
    CHECK(!client.rate_limit());

    td::EntitlementsQuery claimed;
    claimed.game(env("TWITCH_GAME_ID")).with_status(TD_CLAIMED).first(250);
    size_t pages = 0, seen = 0;
    for (td::EntitlementsPage &page : client.pages(claimed)) {
        pages++;
        seen += page.size();
    }
    CHECK(pages >= 3);

    std::vector<std::string> ids;
    for (const td::Entitlement &e : client.entitlements(claimed)) {
        CHECK(e.status == TD_CLAIMED && !e.benefit_id.empty() && !e.user_id.empty());
        ids.push_back(e.id);
    }
    CHECK(ids.size() == seen && seen > 500);
    td::UpdateReport report = client.update(ids, TD_FULFILLED);
    CHECK(report.all_succeeded() && report.outcomes.size() == ids.size());
    CHECK(client.page(claimed).empty());
    CHECK(client.rate_limit() && client.rate_limit()->limit > 0);

    // Errors are exceptions with what Twitch said.
    try {
        td::EntitlementsQuery bad;
        bad.first(0);
        client.page(bad);
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_INVALID_INPUT && e.http_status() == 0);
        CHECK(std::string(e.what()).find("first") != std::string::npos);
    }
    try {
        td::EntitlementsQuery foreign;
        foreign.game("999999");
        client.page(foreign);
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_HTTP && e.http_status() == 403);
        CHECK(e.twitch_message() == "The organization does not own the game");
    }
    std::printf("wrapper: drained %zu in %zu pages, %llu requests\n", ids.size(), pages,
                static_cast<unsigned long long>(client.requests_sent()));
}

static std::string page_json(size_t from, size_t count) {
    std::string data;
    for (size_t i = from; i < from + count; i++) {
        if (!data.empty()) data += ",";
        data += "{\"id\":\"id-" + std::to_string(i) + "\",\"user_id\":\"u\",\"game_id\":\"g\",\"fulfillment_status\":\"CLAIMED\"}";
    }
    return "{\"data\":[" + data + "],\"pagination\":{}}";
}

static void with_a_lambda_transport() {
    int patches = 0, failures = 0;
    std::vector<std::string> warnings;
    td::Config config("client");
    config.logger(TD_LOG_WARN, [&](td_log_level level, std::string_view target, std::string_view message) {
        CHECK(level <= TD_LOG_WARN);
        warnings.push_back(std::string(target) + " " + std::string(message));
        throw std::runtime_error("a logger that throws loses its line, never the call");
    });
    td_retry_policy quick = td_retry_policy_default();
    quick.max_retries = 1;
    quick.base_delay_ms = 1;
    quick.max_delay_ms = 1;
    config.access_token("static-token").retry_policy(quick).transport([&](const td::HttpRequest &req) {
        td::HttpResponse res;
        if (req.url.find("/oauth2/validate") != std::string::npos) {
            if (failures++ == 0) throw td::TransportFailure(TD_TRANSPORT_CONNECT, "no route");
            res.body = R"({"client_id":"client","scopes":["a","b"],"expires_in":60})";
        } else if (req.method == "PATCH") {
            // The first batch succeeds; then the token is revoked.
            if (patches++ == 0) {
                std::string ids;
                for (size_t i = 0; i < 100; i++) ids += (i ? ",\"id-" : "\"id-") + std::to_string(i) + "\"";
                res.body = "{\"data\":[{\"status\":\"SUCCESS\",\"ids\":[" + ids + "]}]}";
            } else {
                res.status = 401;
                res.body = R"({"error":"Unauthorized","status":401,"message":"Invalid OAuth token"})";
            }
        } else if (req.url.find("/entitlements/drops") != std::string::npos) {
            res.headers = {{"Ratelimit-Limit", "800"}, {"Ratelimit-Remaining", "10"}, {"Ratelimit-Reset", "1700000000"}};
            res.body = page_json(0, 150);
        } else {
            throw std::runtime_error("unexpected request " + req.url);
        }
        return res;
    });
    const td::Client client(config);

    std::vector<std::string> ids;
    for (const td::Entitlement &e : client.entitlements(td::EntitlementsQuery{})) ids.push_back(e.id);
    CHECK(ids.size() == 150);
    CHECK(client.rate_limit()->remaining == 10);

    // One connect failure, retried: the client has reached a server before (a client that
    // never has fails at once, taking it for a wrong URL).
    td::TokenInfo info = client.validate_token();
    CHECK(failures == 2);
    CHECK(warnings.size() == 1 && warnings[0].rfind("twitch_drops::retry GET /oauth2/validate", 0) == 0);
    CHECK(warnings[0].find("static-token") == std::string::npos);
    std::string metrics = client.metrics_json();
    CHECK(metrics.find("\"transport_connect\":1") != std::string::npos);
    CHECK(info.client_id == "client" && info.scopes.size() == 2 && info.expires_in == 60);
    try {
        client.update(ids, TD_FULFILLED);
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_PARTIAL_UPDATE && e.http_status() == 401);
        CHECK(e.partial_report().has_value());
        CHECK(e.partial_report()->outcomes.size() == 100 && e.partial_report()->unconfirmed.size() == 50);
        CHECK(e.partial_report()->unconfirmed.front() == "id-100");
    }
    CHECK(!client.user_token());

    // The step API: the host answers with canned data.
    td::EntitlementsQuery one;
    one.id("id-7");
    td::Op op = client.begin_entitlements_page(one);
    td_step step = op.poll(1700000000000ULL);
    CHECK(step.kind == TD_STEP_SEND);
    CHECK(td::to_string(step.request->url).find("id=id-7") != std::string::npos);
    op.feed_response(200, {{"Content-Type", "application/json"}}, page_json(7, 1));
    step = op.poll(1700000000000ULL);
    CHECK(step.kind == TD_STEP_DONE && step.result == TD_OK);
    td::EntitlementsPage page = op.take_entitlements_page();
    CHECK(page.size() == 1 && page[0].id == "id-7");
    try {
        op.take_entitlements_page();
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_WRONG_STATE);
    }
}

/// `text` as a JSON string literal.
static std::string json_string(const std::string &text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
            out += escaped;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

static bool contains(const std::string &haystack, const std::string &needle) {
    return haystack.find(needle) != std::string::npos;
}

// Issue 16: a server that echoes the request (client secret, bearer token) in its error body,
// and a transport whose failure quotes the token, get no secret into a td::Error.
static void echoed_secrets_stay_out_of_exceptions() {
    const std::string secret = "cpp-client-secret-0123456789", token = "cpp-access-token-0123456789";
    const td::Transport echo = [](const td::HttpRequest &req) {
        std::string whole = req.method + " " + req.url + "\n";
        for (const auto &h : req.headers) whole += h.first + ": " + h.second + "\n";
        whole += "\n" + req.body;
        td::HttpResponse res;
        res.status = 400;
        res.body = "{\"error\":\"Bad Request\",\"status\":400,\"message\":" + json_string(whole) + "}";
        return res;
    };
    td::Config app("client");
    app.client_secret(secret).transport(echo);
    td::Config user("client");
    user.access_token(token).transport(echo);
    for (const td::Config *config : {&app, &user}) {
        const td::Client client(*config);
        try {
            client.page(td::EntitlementsQuery{});
            CHECK(false);
        } catch (const td::Error &e) {
            const std::string shown = std::string(e.what()) + "\n" + e.twitch_message();
            CHECK(!contains(shown, secret) && !contains(shown, token));
            CHECK(contains(e.twitch_message(), "<redacted>")); // the echo came back
        }
    }

    td::Config failing("client");
    failing.access_token(token).transport([&](const td::HttpRequest &) -> td::HttpResponse {
        throw td::TransportFailure(TD_TRANSPORT_CONNECT, "proxy refused Bearer " + token);
    });
    const td::Client client(failing);
    try {
        client.page(td::EntitlementsQuery{});
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_TRANSPORT);
        CHECK(!contains(e.what(), token) && contains(e.what(), "<redacted>"));
    }
}


static std::vector<std::pair<std::string, std::string>> grant_headers(const std::string &signature) {
    return {{"Twitch-Eventsub-Message-Id", MESSAGE_ID},
            {"Twitch-Eventsub-Message-Timestamp", TIMESTAMP},
            {"Twitch-Eventsub-Message-Signature", signature},
            {"Twitch-Eventsub-Message-Type", "notification"},
            {"Twitch-Eventsub-Subscription-Type", "drop.entitlement.grant"}};
}

// td::eventsub_handle: verify and record in one call, in a deduplicator or the studio's own
// store; a repeat is answered and not acted on; a store that throws is TD_JOURNAL; a forged
// request is refused with the status to answer.
static void webhook_in_one_call() {
    const auto headers = grant_headers(GRANT_SIGNATURE);
    td::Deduplicator seen;
    td::EventSubHandled first = td::eventsub_handle(headers, GRANT_BODY, SECRET, NOW_MS, seen);
    CHECK(first.act && first.message.response_status() == 204);
    CHECK(first.message.entitlements().size() == 1);
    CHECK(first.message.entitlements()[0].id == "fb78259e-fb81-4d1b-8333-34a06ffc24c0");
    td::EventSubHandled again = td::eventsub_handle(headers, GRANT_BODY, SECRET, NOW_MS + 1000, seen);
    CHECK(!again.act && again.message.response_status() == 204);

    std::vector<std::string> store;
    const td::DeliveryLog log = [&store](const std::string &id, uint64_t) {
        for (const std::string &known : store)
            if (known == id) return false;
        store.push_back(id);
        return true;
    };
    CHECK(td::eventsub_handle(headers, GRANT_BODY, SECRET, NOW_MS, log).act);
    CHECK(!td::eventsub_handle(headers, GRANT_BODY, SECRET, NOW_MS, log).act);
    CHECK(store.size() == 1 && store[0] == MESSAGE_ID);

    const td::DeliveryLog broken = [](const std::string &, uint64_t) -> bool { throw std::runtime_error("db down"); };
    try {
        td::eventsub_handle(headers, GRANT_BODY, SECRET, NOW_MS, broken);
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_JOURNAL);
    }
    try {
        td::eventsub_handle(grant_headers("sha256=00"), GRANT_BODY, SECRET, NOW_MS, log);
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_EVENTSUB_BAD_SIGNATURE && e.eventsub_status() == 403);
    }
    CHECK(store.size() == 1);
}

int main() {
    webhook_in_one_call();
    against_the_fake();
    with_a_lambda_transport();
    echoed_secrets_stay_out_of_exceptions();
    std::printf("wrapper: ok\n");
    return 0;
}
