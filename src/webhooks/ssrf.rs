//! The SSRF guard: a webhook URL must be http(s) and resolve only to public addresses, unless
//! the operator allows private ones (`WEBHOOK_ALLOW_PRIVATE_ADDRESSES`, for tests and
//! on-premises receivers). Checked when an endpoint is saved and again before every delivery,
//! whose connection is pinned to the addresses checked (no DNS rebinding in between).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

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

/// How long a host name may take to resolve. Saving an endpoint resolves its URL inside the
/// request's transaction, so a slow name server must not hold a pooled connection for long.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Resolves the URL's host and returns its addresses when every one may be reached.
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, UrlRefused> {
    let host = url.host_str().ok_or(UrlRefused::Invalid)?;
    let port = url.port_or_known_default().ok_or(UrlRefused::Invalid)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> =
        tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| UrlRefused::Unresolvable)?
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
/// unspecified, multicast, documentation and other special-purpose ranges, and the IPv6 forms
/// that embed an IPv4 address (compatible, translated, 6to4, Teredo, NAT64).
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
    let [first, second, ..] = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated, still routed inside sites)
        // Forms that carry an IPv4 address a relay or the host's stack may reach, whichever
        // it is: IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), 6to4, Teredo
        // and NAT64. (IPv4-mapped addresses are checked as the IPv4 address they map.)
        || ip.segments()[..6] == [0; 6] // ::/96
        || ip.segments()[..6] == [0, 0, 0, 0, 0xffff, 0] // ::ffff:0:0:0/96
        || first == 0x2002 // 6to4, 2002::/16
        || (first == 0x2001 && second == 0) // Teredo, 2001::/32
        || (first == 0x0064 && second == 0xff9b) // NAT64, 64:ff9b::/32 (and 64:ff9b:1::/48)
        || (first == 0x0100 && ip.segments()[1..4] == [0; 3]) // discard-only, 100::/64
        || (first == 0x2001 && second == 0x0db8) // documentation
        || (first == 0x2001 && second == 0x0002 && ip.segments()[2] == 0) // benchmarking
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

    fn refused(address: &str) -> bool {
        is_internal(address.parse().unwrap())
    }

    #[test]
    fn ipv4_compatible_addresses_are_refused() {
        // ::/96, whatever IPv4 address they carry.
        assert!(refused("::127.0.0.1"));
        assert!(refused("::10.0.0.1"));
        assert!(refused("::8.8.8.8"));
        assert!(refused("::ffff"));
    }

    #[test]
    fn ipv4_translated_addresses_are_refused() {
        // ::ffff:0:0:0/96 (SIIT), unlike IPv4-mapped ::ffff:a.b.c.d, which is checked as IPv4.
        assert!(refused("::ffff:0:127.0.0.1"));
        assert!(refused("::ffff:0:169.254.169.254"));
        assert!(refused("::ffff:0:8.8.8.8"));
        assert!(refused("::ffff:169.254.169.254"));
        assert!(!refused("::ffff:8.8.8.8"));
    }

    #[test]
    fn six_to_four_addresses_are_refused() {
        // 2002::/16: 2002:7f00:0001:: carries 127.0.0.1.
        assert!(refused("2002:7f00:1::"));
        assert!(refused("2002:a9fe:a9fe::1"));
        assert!(refused("2002:808:808::1"));
        assert!(refused("2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert!(!refused("2003::1"));
    }

    #[test]
    fn teredo_addresses_are_refused() {
        // 2001::/32, and nothing else of 2001::/16 because of it.
        assert!(refused("2001::1"));
        assert!(refused("2001:0:4136:e378:8000:63bf:3fff:fdd2"));
        assert!(refused("2001:0:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert!(!refused("2001:1::1:0"));
        assert!(!refused("2001:4860:4860::8888"));
    }

    #[test]
    fn site_local_addresses_are_refused() {
        // fec0::/10.
        assert!(refused("fec0::1"));
        assert!(refused("fed0::1"));
        assert!(refused("feff:ffff::1"));
        assert!(!refused("fe00::1"));
    }

    #[test]
    fn other_special_purpose_ipv6_ranges_are_refused() {
        for internal in [
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001:db8::1",
            "2001:2::1",
        ] {
            assert!(refused(internal), "{internal}");
        }
        assert!(!refused("100:0:0:1::1"));
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
