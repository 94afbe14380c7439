// The C++ wrapper's fulfillment and EventSub: a grant function that throws (std::exception and
// not) must not crash, only count as FAILED; a settlement callback that throws is ignored; a
// custom journal whose append throws stops the run (td::Error with the run's report) and the
// next run with it finishes without granting anything twice; a custom journal with claims (a
// claim that throws, entitlements another instance holds); a file journal; EventSub verify;
// and first, td::FulfillRun driven by a loop that answers its steps in reverse order over a
// small socket HTTP client, for one viewer's entitlements.
// env: TWITCH_CLIENT_ID TWITCH_CLIENT_SECRET TWITCH_HELIX_URL TWITCH_AUTH_URL TWITCH_GAME_ID
//      TD_TEST_JOURNAL_PATH (a file that may be created)
#define _POSIX_C_SOURCE 200809L
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_http.h"
#include "twitch_drops.hpp"

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            std::exit(1);                                                                 \
        }                                                                                 \
    } while (0)

static std::string env(const char *name) {
    const char *v = std::getenv(name);
    if (v == nullptr) {
        std::fprintf(stderr, "set %s\n", name);
        std::exit(2);
    }
    return v;
}

// The game: rewards given, by entitlement id.
struct Game {
    std::map<std::string, int> given;
    int calls = 0, duplicates = 0;

    td::GrantOutcome give(const td::GrantRequest &r) {
        calls++;
        if (given.count(r.id)) {
            if (!r.resumed) duplicates++;
            return td::GrantOutcome::granted();
        }
        given[r.id] = 1;
        return td::GrantOutcome::granted();
    }
};

static size_t claimed_count(const td::Client &client) {
    td::EntitlementsQuery claimed;
    claimed.game(env("TWITCH_GAME_ID")).with_status(TD_CLAIMED).first(1000);
    return client.page(claimed).size();
}

static uint64_t now_ms() {
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

// td::FulfillRun from a non-blocking loop: each frame it takes every step until IDLE, then
// completes them in reverse order; a misfed answer is a td::Error and the run goes on.
static void non_blocking(const td::Client &client, Game &game) {
    td::EntitlementsQuery claimed;
    claimed.game(env("TWITCH_GAME_ID")).with_status(TD_CLAIMED).first(1);
    td::EntitlementsPage first = client.page(claimed);
    CHECK(first.size() == 1);
    std::string viewer = first[0].user_id;
    int settled = 0;
    size_t most_out = 0;
    td::FulfillOptions options;
    options.game(env("TWITCH_GAME_ID")).user(viewer).settled([&](const td::Settlement &) { settled++; });
    td::Journal journal = td::Journal::memory();
    td::FulfillRun run = client.begin_fulfill(options, journal);
    for (bool done = false; !done;) {
        std::vector<td_run_step> taken;
        for (;;) {
            td_run_step step = run.poll(now_ms());
            if (step.kind == TD_RUN_IDLE) break;
            if (step.kind == TD_RUN_DONE) {
                CHECK(taken.empty() && step.result == TD_OK);
                done = true;
                break;
            }
            taken.push_back(step);
        }
        if (run.steps_out() > most_out) most_out = run.steps_out();
        for (auto it = taken.rbegin(); it != taken.rend(); ++it) {
            const td_run_step &step = *it;
            if (step.kind == TD_RUN_SEND) {
                bool refused = false;
                try {
                    run.feed_slept(step.ticket);
                } catch (const td::Error &x) {
                    refused = x.code() == TD_WRONG_STATE;
                }
                CHECK(refused);
                const td_http_request *req = step.request;
                http_result res;
                if (http_perform(req->method.ptr, req->url.ptr, req->headers, req->header_count, req->body,
                                 req->body_len, &res)) {
                    std::vector<std::pair<std::string, std::string>> headers;
                    for (size_t i = 0; i < res.header_count; i++)
                        headers.emplace_back(td::to_string(res.headers[i].name), td::to_string(res.headers[i].value));
                    run.feed_response(step.ticket, static_cast<uint16_t>(res.status), headers,
                                      std::string(reinterpret_cast<const char *>(res.body), res.body_len));
                } else {
                    run.feed_transport_error(step.ticket, res.failure, res.error);
                }
                http_result_free(&res);
            } else if (step.kind == TD_RUN_SLEEP) {
                run.feed_slept(step.ticket);
            } else {
                run.feed_grant(step.ticket, game.give(td::FulfillRun::grant(step)));
            }
        }
    }
    td::FulfillReport report = run.take_report();
    CHECK(report.listed > 0 && report.fulfilled == report.listed);
    CHECK(settled == static_cast<int>(report.listed));
    CHECK(most_out >= 1);
    td::EntitlementsQuery theirs;
    theirs.game(env("TWITCH_GAME_ID")).user(viewer).with_status(TD_CLAIMED);
    CHECK(client.page(theirs).size() == 0);
}

// A file journal; a grant function that throws now and then; a settlement callback that always
// throws. Nothing crashes: the throws count as FAILED, the settlements are all heard.
static void throwing_callbacks(const td::Client &client, Game &game) {
    int calls = 0, settled = 0, threw = 0, not_linked = 0, later = 0;
    size_t given_before = game.given.size();
    td::FulfillOptions options;
    options.game(env("TWITCH_GAME_ID")).settled([&](const td::Settlement &s) {
        settled++;
        if (s.state == TD_SETTLED_GRANT_FAILED && s.detail.rfind("the grant function threw: ", 0) == 0) threw++;
        throw std::runtime_error("a log that fails");
    });
    td::Journal journal = td::Journal::file(env("TD_TEST_JOURNAL_PATH"));
    td::FulfillReport report = client.fulfill(options, journal, [&](const td::GrantRequest &r) -> td::GrantOutcome {
        calls++;
        if (calls % 50 == 5) throw std::runtime_error("the inventory service is down");
        if (calls % 50 == 9) throw 42;
        if (calls % 50 == 20 && ++not_linked) return td::GrantOutcome::failed("not linked");
        if (calls % 50 == 30 && ++later) return td::GrantOutcome::retry_later();
        return game.give(r);
    });
    CHECK(!report.complete);
    CHECK(report.listed == static_cast<uint64_t>(calls));
    CHECK(report.fulfilled == game.given.size() - given_before && report.granted == report.fulfilled);
    CHECK(report.retry_later == static_cast<uint64_t>(later) && later > 0);
    CHECK(report.grant_failed == static_cast<uint64_t>(threw + not_linked) && threw > 0);
    CHECK(report.left == report.grant_failed + report.retry_later);
    CHECK(settled == calls);
    std::printf("throwing: granted=%zu calls=%d threw=%d\n", game.given.size(), calls, threw);
}

// A custom journal with a claim function, as for a store several instances share: a claim
// that throws, or answers the wrong number of flags, stops the run with TD_JOURNAL before
// anything of its batch is granted; then another instance holds the first 10 lines claimed,
// which the run leaves alone (TD_SETTLED_HELD_ELSEWHERE) and grants the rest.
static void journal_with_claims(const td::Client &client, Game &game) {
    std::vector<std::string> lines;
    size_t other_instance = 0;
    int mode = 0; // 0: throw, 1: the wrong number of flags, 2: work
    td::Journal journal = td::Journal::custom(
        [&] { return lines; },
        [&](const std::vector<std::string> &batch) {
            for (const std::string &line : batch) CHECK(line.find("\"op\":\"granting\"") == std::string::npos);
            lines.insert(lines.end(), batch.begin(), batch.end());
        },
        [&](const std::vector<std::string> &batch) {
            if (mode == 0) throw std::runtime_error("the database is away");
            std::vector<bool> taken;
            if (mode == 1) return taken;
            for (const std::string &line : batch) {
                CHECK(line.find("\"op\":\"granting\"") != std::string::npos);
                bool mine = other_instance >= 10;
                if (mine) lines.push_back(line);
                else other_instance++;
                taken.push_back(mine);
            }
            return taken;
        });
    auto give = [&](const td::GrantRequest &r) { return game.give(r); };
    int calls = game.calls;
    for (mode = 0; mode < 2; mode++) {
        try {
            client.fulfill(td::FulfillOptions().game(env("TWITCH_GAME_ID")), journal, give);
            CHECK(false);
        } catch (const td::Error &e) {
            CHECK(e.code() == TD_JOURNAL && std::string(e.what()).find("claim callback") != std::string::npos);
            CHECK(e.fulfill_report().has_value() && e.fulfill_report()->granted == 0);
        }
        CHECK(game.calls == calls && lines.empty());
    }
    size_t before = claimed_count(client), held = 0;
    td::FulfillOptions options;
    options.game(env("TWITCH_GAME_ID")).settled([&](const td::Settlement &s) {
        if (s.state == TD_SETTLED_HELD_ELSEWHERE) held++;
    });
    td::FulfillReport report = client.fulfill(options, journal, give);
    CHECK(before > 10 && report.listed == before && report.held_elsewhere == 10 && held == 10);
    CHECK(report.granted == before - 10 && report.fulfilled == before - 10 && report.left == 0);
    CHECK(claimed_count(client) == 10 && game.duplicates == 0);
    std::printf("claims: held_elsewhere=%zu granted=%llu\n", held, static_cast<unsigned long long>(report.granted));
}

// A custom journal (lines in a vector) whose second append throws: the run stops with
// TD_JOURNAL after granting a batch it could not record; the next run with the same journal
// resumes that batch (the game says it was given) and finishes.
static void journal_that_throws(const td::Client &client, Game &game) {
    std::vector<std::string> lines;
    int appends = 0, fail_at = 2;
    td::Journal journal = td::Journal::custom([&] { return lines; },
                                              [&](const std::vector<std::string> &batch) {
                                                  if (++appends == fail_at) throw std::runtime_error("disk full");
                                                  lines.insert(lines.end(), batch.begin(), batch.end());
                                              });
    auto give = [&](const td::GrantRequest &r) { return game.give(r); };
    try {
        client.fulfill(td::FulfillOptions().game(env("TWITCH_GAME_ID")), journal, give);
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_JOURNAL);
        CHECK(e.fulfill_report().has_value() && e.fulfill_report()->granted > 0 && !e.fulfill_report()->complete);
    }
    fail_at = 0;
    td::FulfillReport report = client.fulfill(td::FulfillOptions().game(env("TWITCH_GAME_ID")), journal, give);
    CHECK(report.complete && report.resumed > 0 && game.duplicates == 0);
    std::printf("journal: resumed=%llu lines=%zu\n", static_cast<unsigned long long>(report.resumed), lines.size());
}

static void eventsub(const td::Client &client) {
    const std::string body =
        R"({"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"enabled","type":"drop.entitlement.grant","version":"1","condition":{"organization_id":"9001","category_id":"509658"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2023-11-01T10:00:00.000Z","cost":0},"events":[{"id":"bf7c8577-e3e3-4c8a-8b7b-2a9f1b3f0c1d","data":{"organization_id":"9001","category_id":"509658","category_name":"Fortnite","campaign_id":"943d8e4a-7d7c-4d9d-9f0b-4a8c1b2d3e4f","user_id":"1234","user_name":"Cool_User","user_login":"cool_user","entitlement_id":"fb78259e-fb81-4d1b-8333-34a06ffc24c0","benefit_id":"74c52265-e214-48a6-91b9-23b6014e8041","created_at":"2023-11-14T22:13:19.000Z"}}]})";
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b"},
        {"Twitch-Eventsub-Message-Timestamp", "2023-11-14T22:13:20.634234626Z"},
        {"Twitch-Eventsub-Message-Signature", "sha256=6e90a79fe02c234517a5b22bbdda1fff6ca15da9db45935288d4573177eebeda"},
        {"Twitch-Eventsub-Message-Type", "notification"}};
    const uint64_t now_ms = 1700000000000ULL;
    td::EventSubMessage message = td::eventsub_verify(headers, body, "s3cre7-s3cre7-s3cre7", now_ms);
    CHECK(message.type() == TD_EVENTSUB_NOTIFICATION && message.response_status() == 204);
    std::vector<td::Entitlement> pushed = message.entitlements();
    CHECK(pushed.size() == 1 && pushed[0].id == "fb78259e-fb81-4d1b-8333-34a06ffc24c0" && pushed[0].user_id == "1234");
    td::Deduplicator seen;
    CHECK(seen.first_time(message.id(), now_ms) && !seen.first_time(message.id(), now_ms));

    // Fulfilling what it pushed: granted, but this Helix does not know the id (REJECTED).
    Game game;
    std::vector<td::Settlement> settlements;
    td::Journal journal = td::Journal::memory();
    td::FulfillReport report = client.fulfill(
        message, journal, [&](const td::GrantRequest &r) { return game.give(r); },
        td::FulfillOptions().settled([&](const td::Settlement &s) { settlements.push_back(s); }));
    CHECK(report.listed == 1 && report.granted == 1 && report.rejected == 1 && game.given.size() == 1);
    CHECK(settlements.size() == 1 && settlements[0].state == TD_SETTLED_REJECTED && settlements[0].detail == "NOT_FOUND");
    CHECK(settlements[0].id == "fb78259e-fb81-4d1b-8333-34a06ffc24c0" && settlements[0].user_id == "1234");
    CHECK(seen.forget(message.id()) && seen.size() == 0);
    try {
        td::eventsub_verify(headers, body + " ", "s3cre7-s3cre7-s3cre7", now_ms);
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_EVENTSUB_BAD_SIGNATURE && e.eventsub_status() == 403);
    }
    try {
        td::eventsub_verify(headers, body, "s3cre7-s3cre7-s3cre7", now_ms + 3600000);
        CHECK(false);
    } catch (const td::Error &e) {
        CHECK(e.code() == TD_EVENTSUB_STALE && e.eventsub_status() == 403);
    }
}

int main() {
    td::Config config(env("TWITCH_CLIENT_ID"));
    config.client_secret(env("TWITCH_CLIENT_SECRET")).helix_url(env("TWITCH_HELIX_URL")).auth_url(env("TWITCH_AUTH_URL"));
    const td::Client client(config);
    size_t claimed = claimed_count(client);
    Game game;
    non_blocking(client, game);
    throwing_callbacks(client, game);
    journal_with_claims(client, game);
    journal_that_throws(client, game);
    CHECK(game.given.size() == claimed && game.duplicates == 0);
    CHECK(claimed_count(client) == 0);
    eventsub(client);
    std::printf("fulfill wrapper: ok granted=%zu\n", game.given.size());
    return 0;
}
