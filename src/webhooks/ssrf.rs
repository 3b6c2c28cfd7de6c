//! The SSRF guard: a webhook URL must be http(s) and resolve only to public addresses, unless
//! the operator allows private ones (`WEBHOOK_ALLOW_PRIVATE_ADDRESSES`, for tests and
//! on-premises receivers). Checked when an endpoint is saved and again before every delivery,
//! whose connection is pinned to the addresses checked (no DNS rebinding in between).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlRefused {
    #[error("the URL is not a valid absolute http(s) URL")]
    Invalid,
    #[error("the URL's host does not resolve")]
    Unresolvable,
    #[error("the URL resolves to a loopback, private, link-local or otherwise internal address")]
    Internal,
}

/// Parses and checks a URL without resolving it (for input validation of literal addresses).
pub fn parse(url: &str) -> Result<Url, UrlRefused> {
    let parsed = Url::parse(url).map_err(|_| UrlRefused::Invalid)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(UrlRefused::Invalid);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefused::Invalid);
    }
    Ok(parsed)
}

/// Resolves the URL's host and returns its addresses when every one may be reached.
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, UrlRefused> {
    let host = url.host_str().ok_or(UrlRefused::Invalid)?;
    let port = url.port_or_known_default().ok_or(UrlRefused::Invalid)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| UrlRefused::Unresolvable)?
        .collect();
    if addresses.is_empty() {
        return Err(UrlRefused::Unresolvable);
    }
    if !allow_private && addresses.iter().any(|a| is_internal(a.ip())) {
        return Err(UrlRefused::Internal);
    }
    Ok(addresses)
}

/// Loopback, private, link-local (cloud metadata lives there), carrier-grade NAT,
/// unspecified, multicast, documentation and other special-purpose ranges.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v6),
        },
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, may reach IPv4 internals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn only_plain_http_and_https_urls_are_accepted() {
        assert!(parse("https://hooks.example.com/lead").is_ok());
        for bad in [
            "ftp://x.io/",
            "file:///etc/passwd",
            "not a url",
            "https://u:p@x.io/",
        ] {
            assert_eq!(parse(bad).unwrap_err(), UrlRefused::Invalid, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_loopback_url_is_refused_unless_private_addresses_are_allowed() {
        let url = parse("http://127.0.0.1:9/hook").unwrap();
        assert_eq!(
            resolve(&url, false).await.unwrap_err(),
            UrlRefused::Internal
        );
        assert!(resolve(&url, true).await.is_ok());
    }
}
