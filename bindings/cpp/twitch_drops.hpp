// twitch_drops.hpp: a header-only C++17 wrapper over the Twitch Drops C ABI (twitch_drops.h).
//
// Handles are owned by RAII types (freed by destructors, movable, not copyable); strings and
// lists come back as std::string and std::vector; failures throw td::Error, which carries the
// td_result code, the HTTP status, Twitch's own message, the rate-limit reset and, for a
// partial update, the report. Pages and entitlements are ranges (range-for).
//
//   td::Client client(td::Config("client-id").client_secret("secret"));
//   td::EntitlementsQuery claimed;
//   claimed.game("509658").with_status(TD_CLAIMED).first(1000);
//   std::vector<std::string> ids;
//   for (const td::Entitlement &e : client.entitlements(claimed)) ids.push_back(e.id);
//   td::UpdateReport report = client.update(ids, TD_FULFILLED);
//
// Or let the fulfillment engine do it, at most once per entitlement across crashes:
//
//   td::Journal journal = td::Journal::file("drops.journal");
//   td::FulfillReport done = client.fulfill(td::FulfillOptions().game("509658"), journal,
//       [&](const td::GrantRequest &r) { give(r.user_id, r.benefit_id); return td::GrantOutcome::granted(); });
//
// Callbacks (grant, journal, settlement, transport) may throw: the wrapper catches every
// exception at the C boundary (a grant that throws counts as FAILED with the exception's text).
//
// Thread safety follows the C types: a td::Client may be used from many threads at once;
// everything else from one thread at a time.
#ifndef TWITCH_DROPS_HPP
#define TWITCH_DROPS_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "twitch_drops.h"

namespace td {

/// Copies a borrowed view.
inline std::string to_string(td_str s) { return std::string(s.ptr, s.len); }

/// One id's outcome of an update.
struct IdOutcome {
    std::string id;
    td_update_status status;
};

/// Every id's outcome, and the ids whose state could not be confirmed.
struct UpdateReport {
    std::vector<IdOutcome> outcomes;
    std::vector<std::string> unconfirmed;

    bool all_succeeded() const {
        if (!unconfirmed.empty()) return false;
        for (const IdOutcome &o : outcomes)
            if (o.status != TD_UPDATE_SUCCESS) return false;
        return true;
    }

    static UpdateReport from(const td_update_report *r) {
        UpdateReport report;
        for (size_t i = 0; i < td_update_report_count(r); i++) {
            td_str id;
            td_update_status status;
            if (td_update_report_get(r, i, &id, &status) == TD_OK) report.outcomes.push_back({to_string(id), status});
        }
        for (size_t i = 0; i < td_update_report_unconfirmed_count(r); i++) {
            td_str id;
            if (td_update_report_unconfirmed_get(r, i, &id) == TD_OK) report.unconfirmed.push_back(to_string(id));
        }
        return report;
    }
};

/// The totals of a fulfillment run (td_fulfill_report).
struct FulfillReport {
    uint64_t listed = 0, granted = 0, fulfilled = 0, already_fulfilled = 0, retry_later = 0, grant_failed = 0,
             rejected = 0, unmarked = 0, quarantined = 0, not_reached = 0, held_elsewhere = 0,
             resumed = 0, left = 0;
    bool complete = false;
    std::vector<std::string> quarantined_users;

    static FulfillReport from(const td_fulfill_report *r) {
        FulfillReport report;
        report.listed = td_fulfill_report_listed(r);
        report.granted = td_fulfill_report_granted(r);
        report.fulfilled = td_fulfill_report_fulfilled(r);
        report.already_fulfilled = td_fulfill_report_already_fulfilled(r);
        report.retry_later = td_fulfill_report_retry_later(r);
        report.grant_failed = td_fulfill_report_grant_failed(r);
        report.rejected = td_fulfill_report_rejected(r);
        report.unmarked = td_fulfill_report_unmarked(r);
        report.quarantined = td_fulfill_report_quarantined(r);
        report.not_reached = td_fulfill_report_not_reached(r);
        report.held_elsewhere = td_fulfill_report_held_elsewhere(r);
        report.resumed = td_fulfill_report_resumed(r);
        report.left = td_fulfill_report_left(r);
        report.complete = td_fulfill_report_is_complete(r);
        for (size_t i = 0; i < td_fulfill_report_quarantined_user_count(r); i++) {
            td_str user;
            if (td_fulfill_report_quarantined_user(r, i, &user) == TD_OK) report.quarantined_users.push_back(to_string(user));
        }
        return report;
    }
};

/// A failed call: the code, a message, and what Twitch said.
class Error : public std::runtime_error {
public:
    Error(td_result code, const std::string &message, uint16_t http_status = 0, std::string twitch_message = {},
          std::optional<uint64_t> rate_limit_reset_ms = std::nullopt,
          td_transport_error_kind transport_kind = TD_TRANSPORT_NONE,
          std::optional<UpdateReport> partial_report = std::nullopt,
          std::optional<FulfillReport> fulfill_report = std::nullopt, uint16_t eventsub_status = 0)
        : std::runtime_error(message), code_(code), http_status_(http_status),
          twitch_message_(std::move(twitch_message)), reset_(rate_limit_reset_ms), transport_kind_(transport_kind),
          partial_(std::move(partial_report)), fulfill_(std::move(fulfill_report)), eventsub_status_(eventsub_status) {}

    /// The td_result of the call (TD_HTTP, TD_INVALID_INPUT...).
    td_result code() const noexcept { return code_; }
    /// The HTTP status Twitch answered with, 0 when the failure did not come from a response.
    uint16_t http_status() const noexcept { return http_status_; }
    /// Twitch's own message, empty when none.
    const std::string &twitch_message() const noexcept { return twitch_message_; }
    /// For TD_RATE_LIMITED: when the bucket refills (ms since the Unix epoch), if known.
    std::optional<uint64_t> rate_limit_reset_ms() const noexcept { return reset_; }
    /// For TD_TRANSPORT: why no response could be had.
    td_transport_error_kind transport_kind() const noexcept { return transport_kind_; }
    /// For TD_PARTIAL_UPDATE: the outcomes known and the ids left unconfirmed.
    const std::optional<UpdateReport> &partial_report() const noexcept { return partial_; }
    /// For a fulfillment run that stopped early (TD_JOURNAL...): what it did before.
    const std::optional<FulfillReport> &fulfill_report() const noexcept { return fulfill_; }
    /// For a refused EventSub message (TD_EVENTSUB_*): the status to answer (403, 400), with
    /// what() as a plain-text body; 0 otherwise.
    uint16_t eventsub_status() const noexcept { return eventsub_status_; }

private:
    td_result code_;
    uint16_t http_status_;
    std::string twitch_message_;
    std::optional<uint64_t> reset_;
    td_transport_error_kind transport_kind_;
    std::optional<UpdateReport> partial_;
    std::optional<FulfillReport> fulfill_;
    uint16_t eventsub_status_;
};

/// Thrown by a C++ transport to say no whole response came back.
class TransportFailure : public std::runtime_error {
public:
    TransportFailure(td_transport_error_kind kind, const std::string &message)
        : std::runtime_error(message), kind_(kind) {}
    td_transport_error_kind kind() const noexcept { return kind_; }

private:
    td_transport_error_kind kind_;
};

namespace detail {

struct Deleter {
    void operator()(td_error *p) const noexcept { td_error_free(p); }
    void operator()(td_client_config *p) const noexcept { td_client_config_free(p); }
    void operator()(td_client *p) const noexcept { td_client_free(p); }
    void operator()(td_entitlements_query *p) const noexcept { td_entitlements_query_free(p); }
    void operator()(td_analytics_query *p) const noexcept { td_analytics_query_free(p); }
    void operator()(td_entitlements_page *p) const noexcept { td_entitlements_page_free(p); }
    void operator()(td_pages *p) const noexcept { td_pages_free(p); }
    void operator()(td_update_report *p) const noexcept { td_update_report_free(p); }
    void operator()(td_analytics_page *p) const noexcept { td_analytics_page_free(p); }
    void operator()(td_bytes *p) const noexcept { td_bytes_free(p); }
    void operator()(td_token_info *p) const noexcept { td_token_info_free(p); }
    void operator()(td_device_code *p) const noexcept { td_device_code_free(p); }
    void operator()(td_oauth_token *p) const noexcept { td_oauth_token_free(p); }
    void operator()(td_op *p) const noexcept { td_op_free(p); }
    void operator()(td_fulfill_run *p) const noexcept { td_fulfill_run_free(p); }
    void operator()(td_journal *p) const noexcept { td_journal_free(p); }
    void operator()(td_fulfill_options *p) const noexcept { td_fulfill_options_free(p); }
    void operator()(td_fulfill_report *p) const noexcept { td_fulfill_report_free(p); }
    void operator()(td_eventsub_message *p) const noexcept { td_eventsub_message_free(p); }
    void operator()(td_deduplicator *p) const noexcept { td_deduplicator_free(p); }
};

template <class T> using Handle = std::unique_ptr<T, Deleter>;

inline std::string copy_text(td_result (*get)(const td_error *, char *, size_t, size_t *), const td_error *e) {
    char small[256];
    size_t len = 0;
    td_result r = get(e, small, sizeof small, &len);
    if (r == TD_OK) return std::string(small, len);
    if (r != TD_BUFFER_TOO_SMALL) return {};
    std::string big(len, '\0');
    if (get(e, &big[0], big.size(), &len) != TD_OK) return {};
    big.resize(len);
    return big;
}

/// The exception for `code`, with the detail `e` holds (may be NULL).
inline Error make_error(td_result code, const td_error *e) {
    if (e == nullptr) return Error(code, to_string(td_result_name(static_cast<uint32_t>(code))));
    std::optional<uint64_t> reset;
    uint64_t at = 0;
    if (td_error_rate_limit_reset(e, &at) == TD_OK) reset = at;
    std::optional<UpdateReport> partial;
    if (const td_update_report *r = td_error_update_report(e)) partial = UpdateReport::from(r);
    std::optional<FulfillReport> fulfill;
    if (const td_fulfill_report *r = td_error_fulfill_report(e)) fulfill = FulfillReport::from(r);
    return Error(code, copy_text(td_error_message, e), td_error_http_status(e), copy_text(td_error_twitch_message, e),
                 reset, td_error_transport_kind(e), std::move(partial), std::move(fulfill), td_error_eventsub_status(e));
}

/// Throws unless `r` is TD_OK.
inline void check(td_result r, const td_error *e = nullptr) {
    if (r != TD_OK) throw make_error(r, e);
}

/// A td_error for one call.
class ErrorSlot {
public:
    ErrorSlot() : e_(td_error_new()) {
        if (!e_) throw Error(TD_PANIC, "td_error_new failed");
    }
    td_error *get() const noexcept { return e_.get(); }
    void check(td_result r) const { detail::check(r, e_.get()); }

private:
    Handle<td_error> e_;
};

inline std::vector<const char *> c_strings(const std::vector<std::string> &list) {
    std::vector<const char *> out;
    out.reserve(list.size());
    for (const std::string &s : list) out.push_back(s.c_str());
    return out;
}

inline const char *c_str_or_null(const std::optional<std::string> &s) { return s ? s->c_str() : nullptr; }

/// Views of `headers` for a td_header array (valid while `headers` lives).
inline std::vector<td_header> header_views(const std::vector<std::pair<std::string, std::string>> &headers) {
    std::vector<td_header> views;
    views.reserve(headers.size());
    for (const auto &h : headers)
        views.push_back({td_str{h.first.data(), h.first.size()}, td_str{h.second.data(), h.second.size()}});
    return views;
}

} // namespace detail

/// A reward a viewer earned, copied out of its page.
struct Entitlement {
    std::string id, benefit_id, timestamp, user_id, game_id, last_updated;
    td_fulfillment_status status;

    static Entitlement from(const td_entitlement *e) {
        return {to_string(td_entitlement_id(e)),        to_string(td_entitlement_benefit_id(e)),
                to_string(td_entitlement_timestamp(e)), to_string(td_entitlement_user_id(e)),
                to_string(td_entitlement_game_id(e)),   to_string(td_entitlement_last_updated(e)),
                td_entitlement_status(e)};
    }
};

/// Filters for listing entitlements (checked when used; td::Error TD_INVALID_INPUT).
struct EntitlementsQuery {
    std::vector<std::string> ids;
    std::optional<std::string> user_id, game_id, after;
    td_fulfillment_status status = TD_ANY_STATUS;
    std::optional<uint32_t> page_size;

    EntitlementsQuery &id(std::string v) { ids.push_back(std::move(v)); return *this; }
    EntitlementsQuery &user(std::string v) { user_id = std::move(v); return *this; }
    EntitlementsQuery &game(std::string v) { game_id = std::move(v); return *this; }
    EntitlementsQuery &with_status(td_fulfillment_status v) { status = v; return *this; }
    EntitlementsQuery &first(uint32_t v) { page_size = v; return *this; }
    EntitlementsQuery &starting_after(std::string v) { after = std::move(v); return *this; }

    detail::Handle<td_entitlements_query> make() const {
        detail::Handle<td_entitlements_query> q(td_entitlements_query_new());
        if (!q) throw Error(TD_PANIC, "td_entitlements_query_new failed");
        for (const std::string &i : ids) detail::check(td_entitlements_query_add_id(q.get(), i.c_str()));
        detail::check(td_entitlements_query_set_user_id(q.get(), detail::c_str_or_null(user_id)));
        detail::check(td_entitlements_query_set_game_id(q.get(), detail::c_str_or_null(game_id)));
        detail::check(td_entitlements_query_set_after(q.get(), detail::c_str_or_null(after)));
        detail::check(td_entitlements_query_set_status(q.get(), static_cast<uint32_t>(status)));
        if (page_size) detail::check(td_entitlements_query_set_first(q.get(), *page_size));
        return q;
    }
};

/// One page of entitlements; a range of td::Entitlement.
class EntitlementsPage {
public:
    explicit EntitlementsPage(td_entitlements_page *page) : page_(page) {}

    size_t size() const noexcept { return td_entitlements_page_count(page_.get()); }
    bool empty() const noexcept { return size() == 0; }
    Entitlement operator[](size_t i) const { return Entitlement::from(td_entitlements_page_get(page_.get(), i)); }
    /// The next page's cursor; empty on the last page.
    std::string cursor() const { return to_string(td_entitlements_page_cursor(page_.get())); }
    const td_entitlements_page *get() const noexcept { return page_.get(); }

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Entitlement;
        using difference_type = std::ptrdiff_t;
        using pointer = const Entitlement *;
        using reference = Entitlement;
        iterator(const EntitlementsPage *page, size_t i) : page_(page), i_(i) {}
        Entitlement operator*() const { return (*page_)[i_]; }
        iterator &operator++() { ++i_; return *this; }
        bool operator==(const iterator &o) const { return i_ == o.i_; }
        bool operator!=(const iterator &o) const { return i_ != o.i_; }

    private:
        const EntitlementsPage *page_;
        size_t i_;
    };
    iterator begin() const { return iterator(this, 0); }
    iterator end() const { return iterator(this, size()); }

private:
    detail::Handle<td_entitlements_page> page_;
};

/// Every page of a query (blocking); a single-pass range of td::EntitlementsPage. Advancing
/// sends the next request and throws td::Error on failure.
class Pages {
public:
    explicit Pages(td_pages *pages) : pages_(pages) {}

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = EntitlementsPage;
        using difference_type = std::ptrdiff_t;
        using pointer = EntitlementsPage *;
        using reference = EntitlementsPage &;
        explicit iterator(Pages *owner) : owner_(owner) { fetch(); }
        iterator() = default;
        EntitlementsPage &operator*() { return *current_; }
        EntitlementsPage *operator->() { return &*current_; }
        iterator &operator++() { fetch(); return *this; }
        bool operator==(const iterator &o) const { return done() == o.done(); }
        bool operator!=(const iterator &o) const { return !(*this == o); }

    private:
        bool done() const { return !current_.has_value(); }
        void fetch() {
            current_.reset();
            detail::ErrorSlot e;
            td_entitlements_page *page = nullptr;
            td_result r = td_pages_next(owner_->pages_.get(), &page, e.get());
            if (r == TD_END) return;
            e.check(r);
            current_.emplace(page);
        }
        Pages *owner_ = nullptr;
        std::optional<EntitlementsPage> current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(); }
    /// Where the next page starts, to resume later.
    std::string cursor() const { return to_string(td_pages_cursor(pages_.get())); }

private:
    detail::Handle<td_pages> pages_;
};

/// Every entitlement of a query, page after page (blocking); a single-pass range.
class Entitlements {
public:
    explicit Entitlements(Pages pages) : pages_(std::move(pages)) {}

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Entitlement;
        using difference_type = std::ptrdiff_t;
        using pointer = const Entitlement *;
        using reference = const Entitlement &;
        iterator() = default;
        explicit iterator(Pages &pages) : it_(pages.begin()), end_(pages.end()), live_(true) { settle(); }
        const Entitlement &operator*() const { return current_; }
        const Entitlement *operator->() const { return &current_; }
        iterator &operator++() { ++i_; settle(); return *this; }
        bool operator==(const iterator &o) const { return live_ == o.live_; }
        bool operator!=(const iterator &o) const { return !(*this == o); }

    private:
        void settle() {
            while (it_ != end_) {
                if (i_ < it_->size()) {
                    current_ = (*it_)[i_];
                    return;
                }
                ++it_;
                i_ = 0;
            }
            live_ = false;
        }
        Pages::iterator it_, end_;
        size_t i_ = 0;
        bool live_ = false;
        Entitlement current_{};
    };
    iterator begin() { return iterator(pages_); }
    iterator end() { return iterator(); }

private:
    Pages pages_;
};

/// Filters for analytics (checked when used).
struct AnalyticsQuery {
    std::optional<std::string> game_id, report_type, started_at, ended_at, after;
    std::optional<uint32_t> page_size;

    AnalyticsQuery &game(std::string v) { game_id = std::move(v); return *this; }
    AnalyticsQuery &type(std::string v) { report_type = std::move(v); return *this; }
    AnalyticsQuery &range(std::string from, std::string to) {
        started_at = std::move(from);
        ended_at = std::move(to);
        return *this;
    }
    AnalyticsQuery &first(uint32_t v) { page_size = v; return *this; }

    detail::Handle<td_analytics_query> make() const {
        detail::Handle<td_analytics_query> q(td_analytics_query_new());
        if (!q) throw Error(TD_PANIC, "td_analytics_query_new failed");
        detail::check(td_analytics_query_set_game_id(q.get(), detail::c_str_or_null(game_id)));
        detail::check(td_analytics_query_set_type(q.get(), detail::c_str_or_null(report_type)));
        detail::check(td_analytics_query_set_range(q.get(), detail::c_str_or_null(started_at),
                                                   detail::c_str_or_null(ended_at)));
        detail::check(td_analytics_query_set_after(q.get(), detail::c_str_or_null(after)));
        if (page_size) detail::check(td_analytics_query_set_first(q.get(), *page_size));
        return q;
    }
};

struct AnalyticsReport {
    std::string game_id, url, type, started_at, ended_at;
};

struct AnalyticsPage {
    std::vector<AnalyticsReport> reports;
    std::string cursor;

    static AnalyticsPage from(const td_analytics_page *p) {
        AnalyticsPage page;
        for (size_t i = 0; i < td_analytics_page_count(p); i++) {
            const td_analytics_report *r = td_analytics_page_get(p, i);
            page.reports.push_back({to_string(td_analytics_report_game_id(r)), to_string(td_analytics_report_url(r)),
                                    to_string(td_analytics_report_type(r)),
                                    to_string(td_analytics_report_started_at(r)),
                                    to_string(td_analytics_report_ended_at(r))});
        }
        page.cursor = to_string(td_analytics_page_cursor(p));
        return page;
    }
};

struct TokenInfo {
    std::string client_id, login, user_id;
    std::vector<std::string> scopes;
    uint64_t expires_in = 0;
};

/// A user token to persist (credentials: store safely, never log).
struct UserToken {
    std::string access_token, refresh_token;
    uint64_t expires_in = 0;
    std::vector<std::string> scopes;

    static UserToken from(const td_oauth_token *t) {
        UserToken token{to_string(td_oauth_token_access_token(t)), to_string(td_oauth_token_refresh_token(t)),
                        td_oauth_token_expires_in(t), {}};
        for (size_t i = 0; i < td_oauth_token_scope_count(t); i++) {
            td_str s;
            if (td_oauth_token_scope(t, i, &s) == TD_OK) token.scopes.push_back(to_string(s));
        }
        return token;
    }
};

/// A pending device login: show user_code() and verification_uri() to the user.
class DeviceCode {
public:
    explicit DeviceCode(td_device_code *code) : code_(code) {}
    std::string user_code() const { return to_string(td_device_code_user_code(code_.get())); }
    std::string verification_uri() const { return to_string(td_device_code_verification_uri(code_.get())); }
    uint64_t expires_in() const { return td_device_code_expires_in(code_.get()); }
    uint64_t interval() const { return td_device_code_interval(code_.get()); }
    const td_device_code *get() const noexcept { return code_.get(); }

private:
    detail::Handle<td_device_code> code_;
};

struct RateLimit {
    uint32_t limit, remaining;
    uint64_t reset_at_secs;
};

/// A request for a C++ transport.
struct HttpRequest {
    std::string method, url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// A transport's answer: every status is a response.
struct HttpResponse {
    uint16_t status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// A C++ transport: return the response, or throw td::TransportFailure (any other exception
/// counts as TD_TRANSPORT_INTERRUPTED). Called from the threads that call the client.
using Transport = std::function<HttpResponse(const HttpRequest &)>;

/// A logger: hears the library's notes at its level and above (level, what it is about,
/// one line for people, never a secret). Called from the threads that run the client's
/// calls, possibly at once; exceptions it throws are dropped.
using Logger = std::function<void(td_log_level, std::string_view target, std::string_view message)>;

/// Client settings; a builder.
class Config {
public:
    explicit Config(const std::string &client_id) {
        detail::ErrorSlot e;
        td_client_config *c = nullptr;
        e.check(td_client_config_new(client_id.c_str(), &c, e.get()));
        config_.reset(c);
    }
    Config &client_secret(const std::string &s) { detail::check(td_client_config_set_client_secret(get(), s.c_str())); return *this; }
    Config &access_token(const std::string &t) { detail::check(td_client_config_set_access_token(get(), t.c_str())); return *this; }
    Config &user_token(const std::string &access, const std::optional<std::string> &refresh = std::nullopt,
                       const std::optional<std::string> &secret = std::nullopt) {
        detail::check(td_client_config_set_user_token(get(), access.c_str(), detail::c_str_or_null(refresh),
                                                      detail::c_str_or_null(secret)));
        return *this;
    }
    Config &helix_url(const std::string &u) { detail::check(td_client_config_set_helix_url(get(), u.c_str())); return *this; }
    Config &auth_url(const std::string &u) { detail::check(td_client_config_set_auth_url(get(), u.c_str())); return *this; }
    Config &retry_policy(const td_retry_policy &p) { detail::check(td_client_config_set_retry_policy(get(), &p)); return *this; }
    Config &timeouts(uint64_t connect_ms, uint64_t read_ms) {
        detail::check(td_client_config_set_timeouts(get(), connect_ms, read_ms));
        return *this;
    }
    /// Routes every request through `transport` (kept alive by the clients made from this).
    Config &transport(Transport transport) {
        transport_ = std::make_shared<Transport>(std::move(transport));
        detail::check(td_client_config_set_transport(get(), &Config::trampoline, transport_.get()));
        return *this;
    }
    /// Hands the notes at `level` and above to `logger` (kept alive by the clients made from this).
    Config &logger(td_log_level level, Logger logger) {
        logger_ = std::make_shared<Logger>(std::move(logger));
        detail::check(td_client_config_set_logger(get(), static_cast<uint32_t>(level), &Config::log_trampoline,
                                                  logger_.get()));
        return *this;
    }
    td_client_config *get() const noexcept { return config_.get(); }
    const std::shared_ptr<Transport> &transport_fn() const noexcept { return transport_; }
    const std::shared_ptr<Logger> &logger_fn() const noexcept { return logger_; }

private:
    static void trampoline(void *user_data, const td_http_request *req, td_http_response *resp) noexcept {
        try {
            HttpRequest request{to_string(req->method), to_string(req->url), {}, {}};
            for (size_t i = 0; i < req->header_count; i++)
                request.headers.emplace_back(to_string(req->headers[i].name), to_string(req->headers[i].value));
            if (req->body) request.body.assign(reinterpret_cast<const char *>(req->body), req->body_len);
            HttpResponse response = (*static_cast<Transport *>(user_data))(request);
            td_http_response_set_status(resp, response.status);
            for (const auto &h : response.headers)
                td_http_response_add_header(resp, td_str{h.first.data(), h.first.size()},
                                            td_str{h.second.data(), h.second.size()});
            td_http_response_append_body(resp, reinterpret_cast<const uint8_t *>(response.body.data()),
                                         response.body.size());
        } catch (const TransportFailure &f) {
            td_http_response_fail(resp, static_cast<uint32_t>(f.kind()), f.what());
        } catch (const std::exception &x) {
            td_http_response_fail(resp, TD_TRANSPORT_INTERRUPTED, x.what());
        } catch (...) {
            td_http_response_fail(resp, TD_TRANSPORT_INTERRUPTED, "unknown exception in the transport");
        }
    }

    static void log_trampoline(void *user_data, td_log_level level, td_str target, td_str message) noexcept {
        try {
            (*static_cast<Logger *>(user_data))(level, std::string_view(target.ptr, target.len),
                                                std::string_view(message.ptr, message.len));
        } catch (...) {
            // A logger that throws loses its line, never the call.
        }
    }

    detail::Handle<td_client_config> config_;
    std::shared_ptr<Transport> transport_;
    std::shared_ptr<Logger> logger_;
};

/// One entitlement to grant: give benefit_id to user_id in the game (td_grant_request, copied).
struct GrantRequest {
    std::string id, benefit_id, user_id, game_id, timestamp;
    /// A crash left this grant in doubt: check your records by id, answer granted() if given.
    bool resumed = false;
};

/// What a grant function answers.
struct GrantOutcome {
    td_grant_outcome kind = TD_GRANT_GRANTED;
    std::string reason; // for TD_GRANT_FAILED

    static GrantOutcome granted() { return {TD_GRANT_GRANTED, {}}; }
    static GrantOutcome retry_later() { return {TD_GRANT_RETRY_LATER, {}}; }
    static GrantOutcome failed(std::string reason) { return {TD_GRANT_FAILED, std::move(reason)}; }
};

/// A grant function. Throwing counts as failed(<the exception's text>): nothing crosses into C.
using Grant = std::function<GrantOutcome(const GrantRequest &)>;

/// One entitlement's final state in a run (td_settlement, copied).
struct Settlement {
    std::string id, user_id;
    td_settled_state state;
    std::string detail; // GRANT_FAILED: the reason; REJECTED: Twitch's status
};

/// Which entitlements a run fulfills, and how (td_fulfill_options). The game and user
/// filters are read by Client::fulfill(options, ...), not when fulfilling given entitlements.
struct FulfillOptions {
    std::optional<std::string> game_id, user_id;
    uint32_t quarantine_after = 1;
    /// Requests to Twitch out at once, 1 to 16 (td_fulfill_options_set_requests_in_flight;
    /// with the built-in transport and clock). The callbacks still run on the calling thread.
    uint32_t requests_in_flight = 4;
    /// Hears each entitlement's final state; exceptions it throws are ignored.
    std::function<void(const Settlement &)> on_settled;

    FulfillOptions &game(std::string v) { game_id = std::move(v); return *this; }
    FulfillOptions &user(std::string v) { user_id = std::move(v); return *this; }
    FulfillOptions &quarantine(uint32_t updates) { quarantine_after = updates; return *this; }
    FulfillOptions &in_flight(uint32_t requests) { requests_in_flight = requests; return *this; }
    FulfillOptions &settled(std::function<void(const Settlement &)> f) { on_settled = std::move(f); return *this; }
};

/// Where the engine records its grants (td_journal): keep the same one from run to run.
class Journal {
public:
    /// Reads every stored record line, oldest first.
    using Load = std::function<std::vector<std::string>()>;
    /// Stores record lines durably before returning; throw when they could not be stored.
    using Append = std::function<void(const std::vector<std::string> &)>;
    /// For a store several instances share: takes each `granting` line's entitlement for this
    /// instance, atomically (only if no live instance holds it, or this one does), storing
    /// the line durably; returns one flag per line, true where taken (false: another instance
    /// holds it, and this run leaves it alone). Throw (or return the wrong number of flags)
    /// when nothing could be stored. See td_journal_claim_fn for what `load` must then do.
    using Claim = std::function<std::vector<bool>(const std::vector<std::string> &)>;

    /// A file of JSON lines, fsync'd on every append.
    static Journal file(const std::string &path) {
        detail::ErrorSlot e;
        td_journal *j = nullptr;
        e.check(td_journal_new_file(path.c_str(), &j, e.get()));
        return Journal(j, nullptr);
    }
    /// In memory: no grant twice within this process, nothing across crashes.
    static Journal memory() {
        td_journal *j = td_journal_new_memory();
        if (!j) throw Error(TD_PANIC, "td_journal_new_memory failed");
        return Journal(j, nullptr);
    }
    /// Your own storage. A load, append or claim that throws stops the run with TD_JOURNAL.
    /// Without `claim` (one instance per journal) the granting lines go to `append`.
    static Journal custom(Load load, Append append, Claim claim = nullptr) {
        bool claims = static_cast<bool>(claim);
        auto callbacks =
            std::make_unique<Callbacks>(Callbacks{std::move(load), std::move(append), std::move(claim)});
        td_journal_callbacks c{callbacks.get(), &Journal::load_trampoline, &Journal::append_trampoline,
                               claims ? &Journal::claim_trampoline : nullptr};
        detail::ErrorSlot e;
        td_journal *j = nullptr;
        e.check(td_journal_new_callbacks(&c, &j, e.get()));
        return Journal(j, std::move(callbacks));
    }
    td_journal *get() const noexcept { return journal_.get(); }

private:
    struct Callbacks {
        Load load;
        Append append;
        Claim claim;
    };
    Journal(td_journal *j, std::unique_ptr<Callbacks> callbacks) : callbacks_(std::move(callbacks)), journal_(j) {}

    static int load_trampoline(void *user_data, td_journal_sink *sink) noexcept {
        try {
            for (const std::string &line : static_cast<Callbacks *>(user_data)->load())
                if (td_journal_sink_push(sink, line.c_str()) != TD_OK) return 1;
            return 0;
        } catch (...) {
            return 1;
        }
    }
    static std::vector<std::string> copy_lines(const td_str *lines, size_t count) {
        std::vector<std::string> copied;
        copied.reserve(count);
        for (size_t i = 0; i < count; i++) copied.push_back(to_string(lines[i]));
        return copied;
    }
    static int append_trampoline(void *user_data, const td_str *lines, size_t count) noexcept {
        try {
            static_cast<Callbacks *>(user_data)->append(copy_lines(lines, count));
            return 0;
        } catch (...) {
            return 1;
        }
    }
    static int claim_trampoline(void *user_data, const td_str *lines, size_t count, bool *taken) noexcept {
        try {
            std::vector<bool> flags = static_cast<Callbacks *>(user_data)->claim(copy_lines(lines, count));
            if (flags.size() != count) return 2;
            for (size_t i = 0; i < count; i++) taken[i] = flags[i];
            return 0;
        } catch (...) {
            return 1;
        }
    }

    std::unique_ptr<Callbacks> callbacks_; // outlives journal_ (declared first, destroyed last)
    detail::Handle<td_journal> journal_;
};

/// A verified EventSub webhook message (td_eventsub_message).
class EventSubMessage {
public:
    explicit EventSubMessage(td_eventsub_message *m) : m_(m) {}
    td_eventsub_type type() const noexcept { return td_eventsub_message_type(get()); }
    std::string id() const { return to_string(td_eventsub_message_id(get())); }
    std::string challenge() const { return to_string(td_eventsub_message_challenge(get())); }
    std::string subscription_id() const { return to_string(td_eventsub_message_subscription_id(get())); }
    std::string subscription_type() const { return to_string(td_eventsub_message_subscription_type(get())); }
    std::string subscription_status() const { return to_string(td_eventsub_message_subscription_status(get())); }
    /// The entitlements of a drop.entitlement.grant notification (copies; repeats included).
    std::vector<Entitlement> entitlements() const {
        std::vector<Entitlement> out;
        for (size_t i = 0; i < td_eventsub_message_entitlement_count(get()); i++)
            out.push_back(Entitlement::from(td_eventsub_message_entitlement(get(), i)));
        return out;
    }
    /// The answer to send: status, body and Content-Type (empty when there is no body).
    uint16_t response_status() const noexcept { return td_eventsub_message_response_status(get()); }
    std::string response_body() const { return to_string(td_eventsub_message_response_body(get())); }
    std::string response_content_type() const { return to_string(td_eventsub_message_response_content_type(get())); }
    const td_eventsub_message *get() const noexcept { return m_.get(); }

private:
    detail::Handle<td_eventsub_message> m_;
};

/// Checks and reads a webhook message; throws td::Error (TD_EVENTSUB_BAD_SIGNATURE,
/// TD_EVENTSUB_STALE, TD_EVENTSUB_MALFORMED) with eventsub_status() the status to answer.
inline EventSubMessage eventsub_verify(const std::vector<std::pair<std::string, std::string>> &headers,
                                       const std::string &body, const std::string &secret, uint64_t now_ms) {
    std::vector<td_header> views = detail::header_views(headers);
    detail::ErrorSlot e;
    td_eventsub_message *m = nullptr;
    e.check(td_eventsub_verify(views.data(), views.size(), reinterpret_cast<const uint8_t *>(body.data()), body.size(),
                               secret.c_str(), now_ms, &m, e.get()));
    return EventSubMessage(m);
}

/// Message ids seen recently (td_deduplicator): act on a message Twitch delivers twice once.
class Deduplicator {
public:
    explicit Deduplicator(size_t capacity = 0) : d_(td_deduplicator_new(capacity)) {
        if (!d_) throw Error(TD_PANIC, "td_deduplicator_new failed");
    }
    /// True the first time `message_id` is seen (and remembers it).
    bool first_time(const std::string &message_id, uint64_t now_ms) {
        bool first = false;
        detail::check(td_deduplicator_first_time(d_.get(), message_id.c_str(), now_ms, &first));
        return first;
    }
    /// Forgets an id whose handling failed, so Twitch's next delivery is acted on.
    bool forget(const std::string &message_id) {
        bool forgotten = false;
        detail::check(td_deduplicator_forget(d_.get(), message_id.c_str(), &forgotten));
        return forgotten;
    }
    size_t size() const noexcept { return td_deduplicator_len(d_.get()); }
    td_deduplicator *get() noexcept { return d_.get(); }

private:
    detail::Handle<td_deduplicator> d_;
};

/// What td::eventsub_handle made of a webhook request: the message (the answer to send, the
/// entitlements) and whether to act on it (a notification's first delivery: grant them).
struct EventSubHandled {
    EventSubMessage message;
    bool act;
};

/// Where message ids are recorded for td::eventsub_handle: your database. Returns true the
/// first time `message_id` is recorded, false for a repeat; throws when it cannot record
/// (the request is then answered 503 and Twitch sends it again).
using DeliveryLog = std::function<bool(const std::string &message_id, uint64_t now_ms)>;

namespace detail {
/// td_delivery_fn over a DeliveryLog; no exception crosses into C.
inline int32_t record_delivery(void *user_data, td_str message_id, uint64_t now_ms, bool *first_out) noexcept {
    try {
        *first_out = (*static_cast<const DeliveryLog *>(user_data))(to_string(message_id), now_ms);
        return 0;
    } catch (...) {
        return 1;
    }
}

inline EventSubHandled eventsub_handle(const std::vector<std::pair<std::string, std::string>> &headers,
                                       const std::string &body, const std::string &secret, uint64_t now_ms,
                                       td_deduplicator *dedup, const DeliveryLog *log) {
    std::vector<td_header> views = header_views(headers);
    ErrorSlot e;
    td_eventsub_message *m = nullptr;
    bool act = false;
    e.check(td_eventsub_handle(views.data(), views.size(), reinterpret_cast<const uint8_t *>(body.data()), body.size(),
                               secret.c_str(), now_ms, dedup, log ? record_delivery : nullptr,
                               const_cast<DeliveryLog *>(log), &m, &act, e.get()));
    return EventSubHandled{EventSubMessage(m), act};
}
} // namespace detail

/// The whole webhook in one call: verifies the request (throws td::Error as eventsub_verify
/// does), answers a challenge, and for a notification remembers its message id in `seen`:
/// `act` is true on its first delivery only.
inline EventSubHandled eventsub_handle(const std::vector<std::pair<std::string, std::string>> &headers,
                                       const std::string &body, const std::string &secret, uint64_t now_ms,
                                       Deduplicator &seen) {
    return detail::eventsub_handle(headers, body, secret, now_ms, seen.get(), nullptr);
}

/// The same, with the message ids recorded by `log` (your database), so a redelivery after
/// a restart is known too; a `log` that throws makes it td::Error TD_JOURNAL (answer 503).
inline EventSubHandled eventsub_handle(const std::vector<std::pair<std::string, std::string>> &headers,
                                       const std::string &body, const std::string &secret, uint64_t now_ms,
                                       const DeliveryLog &log) {
    return detail::eventsub_handle(headers, body, secret, now_ms, nullptr, &log);
}

namespace detail {

/// A copy of a borrowed td_grant_request.
inline GrantRequest grant_request(const td_grant_request *req) {
    return GrantRequest{to_string(req->id),      to_string(req->benefit_id), to_string(req->user_id),
                        to_string(req->game_id), to_string(req->timestamp),  req->resumed};
}

/// What the C callbacks of one fulfillment run reach through user_data.
struct FulfillContext {
    const Grant *grant;
    const std::function<void(const Settlement &)> *on_settled;

    static uint32_t grant_trampoline(void *user_data, const td_grant_request *req, td_grant_reason *reason) noexcept {
        const FulfillContext *ctx = static_cast<const FulfillContext *>(user_data);
        try {
            GrantOutcome outcome = (*ctx->grant)(grant_request(req));
            if (outcome.kind == TD_GRANT_FAILED) td_grant_reason_set(reason, outcome.reason.c_str());
            return static_cast<uint32_t>(outcome.kind);
        } catch (const std::exception &x) {
            fail(reason, x.what());
        } catch (...) {
            fail(reason, "an exception that is not a std::exception");
        }
        return TD_GRANT_FAILED;
    }

    static void settled_trampoline(void *user_data, const td_settlement *s) noexcept {
        const FulfillContext *ctx = static_cast<const FulfillContext *>(user_data);
        try {
            (*ctx->on_settled)(Settlement{to_string(s->id), to_string(s->user_id), s->state, to_string(s->detail)});
        } catch (...) {
            // A log that failed must not stop the run.
        }
    }

private:
    static void fail(td_grant_reason *reason, const char *what) noexcept {
        try {
            td_grant_reason_set(reason, (std::string("the grant function threw: ") + what).c_str());
        } catch (...) {
            td_grant_reason_set(reason, "the grant function threw");
        }
    }
};

inline Handle<td_fulfill_options> make_options(const FulfillOptions &o, FulfillContext *ctx) {
    Handle<td_fulfill_options> options(td_fulfill_options_new());
    if (!options) throw Error(TD_PANIC, "td_fulfill_options_new failed");
    check(td_fulfill_options_set_game_id(options.get(), c_str_or_null(o.game_id)));
    check(td_fulfill_options_set_user_id(options.get(), c_str_or_null(o.user_id)));
    check(td_fulfill_options_set_quarantine_after(options.get(), o.quarantine_after));
    check(td_fulfill_options_set_requests_in_flight(options.get(), o.requests_in_flight));
    if (o.on_settled) check(td_fulfill_options_set_on_settled(options.get(), &FulfillContext::settled_trampoline, ctx));
    return options;
}

} // namespace detail

/// A step operation (non-blocking): poll it, perform what it asks, feed the answer.
class Op {
public:
    explicit Op(td_op *op) : op_(op) {}
    td_step poll(uint64_t now_ms) {
        detail::ErrorSlot e;
        td_step step;
        e.check(td_op_poll(op_.get(), now_ms, &step, e.get()));
        return step;
    }
    void feed_response(uint16_t status, const std::vector<std::pair<std::string, std::string>> &headers,
                       const std::string &body) {
        std::vector<td_header> views = detail::header_views(headers);
        detail::ErrorSlot e;
        e.check(td_op_feed_response(op_.get(), status, views.data(), views.size(),
                                    reinterpret_cast<const uint8_t *>(body.data()), body.size(), e.get()));
    }
    void feed_transport_error(td_transport_error_kind kind, const std::string &message) {
        detail::ErrorSlot e;
        e.check(td_op_feed_transport_error(op_.get(), static_cast<uint32_t>(kind), message.c_str(), e.get()));
    }
    void feed_slept() {
        detail::ErrorSlot e;
        e.check(td_op_feed_slept(op_.get(), e.get()));
    }
    EntitlementsPage take_entitlements_page() {
        detail::ErrorSlot e;
        td_entitlements_page *page = nullptr;
        e.check(td_op_take_entitlements_page(op_.get(), &page, e.get()));
        return EntitlementsPage(page);
    }
    UpdateReport take_update_report() {
        detail::ErrorSlot e;
        td_update_report *raw = nullptr;
        e.check(td_op_take_update_report(op_.get(), &raw, e.get()));
        detail::Handle<td_update_report> report(raw);
        return UpdateReport::from(report.get());
    }
    td_op *get() const noexcept { return op_.get(); }

private:
    detail::Handle<td_op> op_;
};

/// The fulfillment engine driven by your loop, never blocking (td_fulfill_run): poll() until
/// TD_RUN_IDLE, perform each step (SEND: step.request with your async HTTP; SLEEP: count
/// step.sleep_ms; GRANT: give grant(step) in the game), answer it by step.ticket whenever it
/// completes, and poll again; at TD_RUN_DONE, take_report(). The journal given to
/// Client::begin_fulfill must outlive the run. One thread at a time.
class FulfillRun {
public:
    td_run_step poll(uint64_t now_ms) {
        detail::ErrorSlot e;
        td_run_step step;
        e.check(td_fulfill_run_poll(run_.get(), now_ms, &step, e.get()));
        return step;
    }
    /// The entitlement of a TD_RUN_GRANT step, copied.
    static GrantRequest grant(const td_run_step &step) { return detail::grant_request(step.grant); }
    void feed_response(uint64_t ticket, uint16_t status,
                       const std::vector<std::pair<std::string, std::string>> &headers, const std::string &body) {
        std::vector<td_header> views = detail::header_views(headers);
        detail::ErrorSlot e;
        e.check(td_fulfill_run_feed_response(run_.get(), ticket, status, views.data(), views.size(),
                                             reinterpret_cast<const uint8_t *>(body.data()), body.size(), e.get()));
    }
    void feed_transport_error(uint64_t ticket, td_transport_error_kind kind, const std::string &message) {
        detail::ErrorSlot e;
        e.check(td_fulfill_run_feed_transport_error(run_.get(), ticket, static_cast<uint32_t>(kind), message.c_str(),
                                                    e.get()));
    }
    void feed_slept(uint64_t ticket) {
        detail::ErrorSlot e;
        e.check(td_fulfill_run_feed_slept(run_.get(), ticket, e.get()));
    }
    void feed_grant(uint64_t ticket, const GrantOutcome &outcome) {
        detail::ErrorSlot e;
        e.check(td_fulfill_run_feed_grant(run_.get(), ticket, static_cast<uint32_t>(outcome.kind),
                                          outcome.kind == TD_GRANT_FAILED ? outcome.reason.c_str() : nullptr, e.get()));
    }
    size_t steps_out() const noexcept { return td_fulfill_run_steps_out(run_.get()); }
    /// The report once DONE; throws td::Error (with fulfill_report()) for a run that stopped early.
    FulfillReport take_report() {
        detail::ErrorSlot e;
        td_fulfill_report *raw = nullptr;
        e.check(td_fulfill_run_take_report(run_.get(), &raw, e.get()));
        detail::Handle<td_fulfill_report> report(raw);
        return FulfillReport::from(report.get());
    }
    td_fulfill_run *get() const noexcept { return run_.get(); }

private:
    friend class Client;
    FulfillRun() = default;
    // Declared before run_, so destroyed after it: the settlement callback outlives the run.
    std::unique_ptr<std::function<void(const Settlement &)>> on_settled_;
    std::unique_ptr<detail::FulfillContext> ctx_;
    detail::Handle<td_fulfill_run> run_;
};

/// A Drops client. Thread-safe: share it between threads.
class Client {
public:
    explicit Client(const Config &config) : transport_(config.transport_fn()), logger_(config.logger_fn()) {
        detail::ErrorSlot e;
        td_client *c = nullptr;
        e.check(td_client_new(config.get(), &c, e.get()));
        client_.reset(c);
    }

    EntitlementsPage page(const EntitlementsQuery &query) const {
        auto q = query.make();
        detail::ErrorSlot e;
        td_entitlements_page *page = nullptr;
        e.check(td_client_entitlements_page(get(), q.get(), &page, e.get()));
        return EntitlementsPage(page);
    }
    Pages pages(const EntitlementsQuery &query) const {
        auto q = query.make();
        detail::ErrorSlot e;
        td_pages *pages = nullptr;
        e.check(td_client_entitlement_pages(get(), q.get(), &pages, e.get()));
        return Pages(pages);
    }
    Entitlements entitlements(const EntitlementsQuery &query) const { return Entitlements(pages(query)); }

    /// Sets `ids` to `status`; throws td::Error (with partial_report() for TD_PARTIAL_UPDATE).
    UpdateReport update(const std::vector<std::string> &ids, td_fulfillment_status status) const {
        auto raw = detail::c_strings(ids);
        detail::ErrorSlot e;
        td_update_report *report = nullptr;
        e.check(td_client_update_entitlements(get(), raw.data(), raw.size(), static_cast<uint32_t>(status), &report,
                                              e.get()));
        detail::Handle<td_update_report> owned(report);
        return UpdateReport::from(owned.get());
    }
    AnalyticsPage analytics(const AnalyticsQuery &query) const {
        auto q = query.make();
        detail::ErrorSlot e;
        td_analytics_page *page = nullptr;
        e.check(td_client_game_analytics(get(), q.get(), &page, e.get()));
        detail::Handle<td_analytics_page> owned(page);
        return AnalyticsPage::from(owned.get());
    }
    std::string download_report(const std::string &url) const {
        detail::ErrorSlot e;
        td_bytes *bytes = nullptr;
        e.check(td_client_download_report(get(), url.c_str(), &bytes, e.get()));
        detail::Handle<td_bytes> owned(bytes);
        return std::string(reinterpret_cast<const char *>(td_bytes_data(owned.get())), td_bytes_len(owned.get()));
    }
    TokenInfo validate_token() const {
        detail::ErrorSlot e;
        td_token_info *raw = nullptr;
        e.check(td_client_validate_token(get(), &raw, e.get()));
        detail::Handle<td_token_info> info(raw);
        TokenInfo out{to_string(td_token_info_client_id(raw)), to_string(td_token_info_login(raw)),
                      to_string(td_token_info_user_id(raw)), {}, td_token_info_expires_in(raw)};
        for (size_t i = 0; i < td_token_info_scope_count(raw); i++) {
            td_str s;
            if (td_token_info_scope(raw, i, &s) == TD_OK) out.scopes.push_back(to_string(s));
        }
        return out;
    }
    DeviceCode start_device_flow(const std::vector<std::string> &scopes) const {
        auto raw = detail::c_strings(scopes);
        detail::ErrorSlot e;
        td_device_code *code = nullptr;
        e.check(td_client_start_device_flow(get(), raw.data(), raw.size(), &code, e.get()));
        return DeviceCode(code);
    }
    UserToken finish_device_flow(const DeviceCode &code) const {
        detail::ErrorSlot e;
        td_oauth_token *raw = nullptr;
        e.check(td_client_finish_device_flow(get(), code.get(), &raw, e.get()));
        detail::Handle<td_oauth_token> token(raw);
        return UserToken::from(token.get());
    }
    std::optional<UserToken> user_token() const {
        td_oauth_token *raw = nullptr;
        td_result r = td_client_user_token(get(), &raw);
        if (r == TD_NOT_AVAILABLE) return std::nullopt;
        detail::check(r);
        detail::Handle<td_oauth_token> token(raw);
        return UserToken::from(token.get());
    }
    std::optional<RateLimit> rate_limit() const {
        RateLimit limit{};
        td_result r = td_client_rate_limit(get(), &limit.limit, &limit.remaining, &limit.reset_at_secs);
        if (r == TD_NOT_AVAILABLE) return std::nullopt;
        detail::check(r);
        return limit;
    }
    uint64_t requests_sent() const noexcept { return td_client_requests_sent(get()); }

    /// The client's counters so far as JSON (td_client_metrics_json).
    std::string metrics_json() const {
        size_t needed = 0;
        std::string json(1024, '\0');
        td_result r = td_client_metrics_json(get(), json.data(), json.size(), &needed);
        if (r == TD_BUFFER_TOO_SMALL) {
            json.assign(needed, '\0');
            r = td_client_metrics_json(get(), json.data(), json.size(), &needed);
        }
        detail::check(r);
        json.resize(needed);
        return json;
    }

    Op begin_entitlements_page(const EntitlementsQuery &query) const {
        auto q = query.make();
        detail::ErrorSlot e;
        td_op *op = nullptr;
        e.check(td_client_begin_entitlements_page(get(), q.get(), &op, e.get()));
        return Op(op);
    }
    Op begin_update(const std::vector<std::string> &ids, td_fulfillment_status status) const {
        auto raw = detail::c_strings(ids);
        detail::ErrorSlot e;
        td_op *op = nullptr;
        e.check(td_client_begin_update_entitlements(get(), raw.data(), raw.size(), static_cast<uint32_t>(status), &op,
                                                    e.get()));
        return Op(op);
    }

    /// Grants and fulfills every CLAIMED entitlement matching `options` (blocking), each once
    /// through `grant`, recording in `journal`. Throws td::Error when the run stops early, with
    /// fulfill_report() saying what it did before.
    FulfillReport fulfill(const FulfillOptions &options, Journal &journal, const Grant &grant) const {
        detail::FulfillContext ctx{&grant, &options.on_settled};
        auto o = detail::make_options(options, &ctx);
        detail::ErrorSlot e;
        td_fulfill_report *raw = nullptr;
        e.check(td_client_fulfill(get(), o.get(), journal.get(), &detail::FulfillContext::grant_trampoline, &ctx, &raw,
                                  e.get()));
        detail::Handle<td_fulfill_report> report(raw);
        return FulfillReport::from(report.get());
    }
    /// Grants and fulfills the entitlements an EventSub notification pushed, like fulfill().
    FulfillReport fulfill(const EventSubMessage &message, Journal &journal, const Grant &grant,
                          const FulfillOptions &options = {}) const {
        std::vector<const td_entitlement *> list;
        for (size_t i = 0; i < td_eventsub_message_entitlement_count(message.get()); i++)
            list.push_back(td_eventsub_message_entitlement(message.get(), i));
        detail::FulfillContext ctx{&grant, &options.on_settled};
        auto o = detail::make_options(options, &ctx);
        detail::ErrorSlot e;
        td_fulfill_report *raw = nullptr;
        e.check(td_client_fulfill_entitlements(get(), list.data(), list.size(), o.get(), journal.get(),
                                               &detail::FulfillContext::grant_trampoline, &ctx, &raw, e.get()));
        detail::Handle<td_fulfill_report> report(raw);
        return FulfillReport::from(report.get());
    }

    /// Starts the fulfillment engine for your loop to drive (see FulfillRun): the same run as
    /// fulfill(options, journal, grant), with the grants given when your loop answers them.
    /// `journal` must outlive the run.
    FulfillRun begin_fulfill(const FulfillOptions &options, Journal &journal) const {
        FulfillRun run;
        run.on_settled_ = std::make_unique<std::function<void(const Settlement &)>>(options.on_settled);
        run.ctx_ = std::make_unique<detail::FulfillContext>(detail::FulfillContext{nullptr, run.on_settled_.get()});
        auto o = detail::make_options(options, run.ctx_.get());
        detail::ErrorSlot e;
        td_fulfill_run *raw = nullptr;
        e.check(td_client_begin_fulfill(get(), o.get(), journal.get(), &raw, e.get()));
        run.run_.reset(raw);
        return run;
    }

    td_client *get() const noexcept { return client_.get(); }

private:
    std::shared_ptr<Transport> transport_; // outlives client_ (declared first, destroyed last)
    std::shared_ptr<Logger> logger_;       // likewise
    detail::Handle<td_client> client_;
};

} // namespace td

#endif
