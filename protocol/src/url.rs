//! URL rules: how query strings and form bodies are encoded, and which URLs may carry
//! credentials (HTTPS, or plain HTTP to a loopback host for tests and local fakes).

/// Builds `a=b&c=d` with form encoding; repeated keys stay repeated (`id=a&id=b`).
pub(crate) fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// Joins a base URL and a path, and a query when there is one.
pub(crate) fn join(base: &str, path: &str, query: &str) -> String {
    let mut url = format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Why a URL may not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not `http://` or `https://` followed by a host.
    NotHttp,
    /// Plain `http` to a host that is not loopback.
    Insecure,
}

impl UrlProblem {
    /// A sentence saying what is wrong with `url` and how to fix it.
    pub fn describe(&self, url: &str) -> String {
        let shown = crate::url::for_messages(url);
        match self {
            UrlProblem::NotHttp => format!("`{shown}` is not an http(s) URL with a host"),
            UrlProblem::Insecure => format!(
                "`{shown}` uses plain http to a host that is not loopback; use https \
                 (plain http is allowed only for 127.0.0.1, ::1 and localhost)"
            ),
        }
    }
}

/// Checks that `url` is `https://host…`, or `http://` to a loopback host.
pub fn check_secure_url(url: &str) -> Result<(), UrlProblem> {
    let (scheme, rest) = url.split_once("://").ok_or(UrlProblem::NotHttp)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        return Err(UrlProblem::NotHttp);
    }
    if scheme.eq_ignore_ascii_case("https") {
        return Ok(());
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(UrlProblem::NotHttp);
    }
    if is_loopback(host) {
        Ok(())
    } else {
        Err(UrlProblem::Insecure)
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// The URL as messages show it: without its query string and fragment (report URLs carry
/// signatures there) and without `user:password@`, then scrubbed of live secrets.
pub fn for_messages(url: &str) -> String {
    let bare = url.split(['?', '#']).next().unwrap_or(url);
    let shown = match bare.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(at) => rest.split_at(at),
                None => (rest, ""),
            };
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => bare.rsplit('@').next().unwrap_or(bare).to_string(),
    };
    crate::redact::scrub(&shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert_eq!(check_secure_url("https://api.twitch.tv/helix"), Ok(()));
        assert_eq!(check_secure_url("http://127.0.0.1:8080/helix"), Ok(()));
        assert_eq!(check_secure_url("http://127.9.9.9/x"), Ok(()));
        assert_eq!(check_secure_url("http://localhost:1/x"), Ok(()));
        assert_eq!(check_secure_url("http://[::1]:80/x"), Ok(()));
        assert_eq!(
            check_secure_url("http://api.twitch.tv/helix"),
            Err(UrlProblem::Insecure)
        );
        assert_eq!(
            check_secure_url("http://127.0.0.1.evil.com/x"),
            Err(UrlProblem::Insecure)
        );
        assert_eq!(
            check_secure_url("http://localhost@evil.com/x"),
            Err(UrlProblem::Insecure)
        );
        assert_eq!(check_secure_url("ftp://x/y"), Err(UrlProblem::NotHttp));
        assert_eq!(check_secure_url("api.twitch.tv"), Err(UrlProblem::NotHttp));
        assert_eq!(
            check_secure_url("https:///nohost"),
            Err(UrlProblem::NotHttp)
        );
    }

    #[test]
    fn messages_show_no_userinfo_and_no_query() {
        assert_eq!(
            for_messages("http://user:hunter2-pass@evil.com:8/helix?token=x#f"),
            "http://evil.com:8/helix"
        );
        assert_eq!(for_messages("https://a:b@h"), "https://h");
        assert!(!UrlProblem::Insecure
            .describe("http://u:p4ssw0rd@api.twitch.tv/helix")
            .contains("p4ssw0rd"));
    }

    #[test]
    fn pairs_repeat_and_escape() {
        assert_eq!(
            encode_pairs([("id", "a b"), ("id", "c&d"), ("first", "5")]),
            "id=a+b&id=c%26d&first=5"
        );
        assert_eq!(
            join("http://h/helix/", "/entitlements/drops", ""),
            "http://h/helix/entitlements/drops"
        );
    }
}
