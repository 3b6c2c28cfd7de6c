//! Cross-origin access, for dashboards served from their own origin: the exact origins of
//! `CORS_ALLOWED_ORIGINS` may call `/graphql` from a browser (preflights answered and cached);
//! WebSocket upgrades are checked against the same list, since browsers do not apply CORS to
//! them. Credentials travel in headers (`Authorization`, `X-Api-Key`), never in cookies, so no
//! origin is ever trusted with ambient credentials and a wildcard is not offered.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may reuse a preflight's answer (browsers cap it lower: Chromium 2 h).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// A comma-separated list of origins: `scheme://host[:port]`, nothing more.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for origin in list.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if origin == "*" {
                return Err("a wildcard is not allowed; list each origin".into());
            }
            let Some((scheme, authority)) = origin.split_once("://") else {
                return Err(format!(
                    "`{origin}` is not an origin (scheme://host[:port])"
                ));
            };
            if !matches!(scheme, "http" | "https")
                || authority.is_empty()
                || authority.contains(['/', '?', '#', '@', ' '])
            {
                return Err(format!(
                    "`{origin}` is not an origin (http(s)://host[:port], no path)"
                ));
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(Self(origins))
    }

    /// The origin of a server listening on `addr` (the demo's GraphiQL).
    pub fn of_server(addr: std::net::SocketAddr) -> Self {
        Self(vec![format!("http://{addr}")])
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The layer answering preflights and marking allowed responses.
    pub fn layer(&self) -> CorsLayer {
        let origins: Vec<HeaderValue> = self
            .0
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("x-api-key"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::RETRY_AFTER,
                HeaderName::from_static("ratelimit"),
                HeaderName::from_static("ratelimit-policy"),
                HeaderName::from_static("x-request-id"),
            ])
            .max_age(PREFLIGHT_MAX_AGE)
    }

    /// Whether a WebSocket upgrade may proceed: clients other than browsers send no `Origin`;
    /// a page of this server (GraphiQL) is same-origin; any other origin must be listed.
    pub fn allows_upgrade(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        let same_origin = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .zip(origin.split_once("://"))
            .is_some_and(|(host, (_, authority))| authority.eq_ignore_ascii_case(host));
        same_origin || self.0.contains(&origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_and_wildcards_or_paths_are_refused() {
        let allowed =
            AllowedOrigins::parse(" https://dash.example.com, http://localhost:3000 ,").unwrap();
        assert_eq!(
            allowed.iter().collect::<Vec<_>>(),
            ["https://dash.example.com", "http://localhost:3000"]
        );
        for bad in [
            "*",
            "dash.example.com",
            "https://dash.example.com/app",
            "ftp://x",
        ] {
            assert!(AllowedOrigins::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn upgrades_from_listed_origins_the_same_origin_or_no_browser_pass() {
        let allowed = AllowedOrigins::parse("https://dash.example.com").unwrap();
        let headers = |origin: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_static("api.example.com"));
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
            }
            headers
        };
        assert!(allowed.allows_upgrade(&headers(None)));
        assert!(allowed.allows_upgrade(&headers(Some("https://dash.example.com"))));
        assert!(allowed.allows_upgrade(&headers(Some("https://api.example.com"))));
        assert!(!allowed.allows_upgrade(&headers(Some("https://evil.example.net"))));
        assert!(!allowed.allows_upgrade(&headers(Some("null"))));
    }
}
