// Two instances share one journal store: each entitlement is granted by exactly one of them.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "twitch_drops.hpp"

// Stands in for your database's table: one row per entitlement, its state and its holder.
struct Store {
    struct Row { std::string state, owner, line; };
    std::mutex lock;
    std::map<std::string, Row> rows;

    static std::string field(const std::string &line, const std::string &name) {
        size_t at = line.find("\"" + name + "\":\"") + name.size() + 4;
        return line.substr(at, line.find('"', at) - at);
    }
    // One transaction: take each entitlement unless another instance holds it.
    std::vector<bool> claim(const std::string &owner, const std::vector<std::string> &lines) {
        std::lock_guard<std::mutex> hold(lock);
        std::vector<bool> taken;
        for (const std::string &line : lines) {
            auto row = rows.find(field(line, "id"));
            bool free = row == rows.end() || row->second.state == "not_granted";
            if (free) rows[field(line, "id")] = Row{"granting", owner, line};
            taken.push_back(free);
        }
        return taken;
    }
    void append(const std::vector<std::string> &lines) {
        std::lock_guard<std::mutex> hold(lock);
        for (const std::string &line : lines) rows[field(line, "id")].state = field(line, "op");
    }
};

static std::string env(const char *name) {
    const char *value = std::getenv(name);
    return value ? value : "";
}

int main() {
    td::Config config(env("TWITCH_CLIENT_ID"));
    config.client_secret(env("TWITCH_CLIENT_SECRET")).helix_url(env("TWITCH_HELIX_URL")).auth_url(env("TWITCH_AUTH_URL"));
    Store store;
    std::mutex game_lock;
    std::multiset<std::string> given; // what the game handed out
    auto instance = [&](const std::string &name, unsigned long *fulfilled, unsigned long *held) {
        const td::Client client(config);
        td::Journal journal = td::Journal::custom(
            [] { return std::vector<std::string>(); }, // also: what crashed instances left
            [&](const std::vector<std::string> &lines) { store.append(lines); },
            [&, name](const std::vector<std::string> &lines) { return store.claim(name, lines); });
        td::FulfillReport report = client.fulfill(
            td::FulfillOptions().game(env("TWITCH_GAME_ID")), journal,
            [&](const td::GrantRequest &r) {
                std::lock_guard<std::mutex> hold(game_lock);
                given.insert(r.id);
                return td::GrantOutcome::granted();
            });
        *fulfilled = report.fulfilled;
        *held = report.held_elsewhere;
    };
    unsigned long a = 0, a_held = 0, b = 0, b_held = 0;
    std::thread first(instance, "a", &a, &a_held), second(instance, "b", &b, &b_held);
    first.join();
    second.join();
    size_t twice = 0;
    for (const std::string &id : given) twice += given.count(id) > 1;
    std::printf("fulfilled %lu + %lu, held elsewhere %lu + %lu, granted twice %zu\n", a, b, a_held,
                b_held, twice);
    return twice == 0 ? 0 : 1;
}
