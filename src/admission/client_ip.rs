//! The client's address. Behind a reverse proxy the peer is the proxy; `X-Forwarded-For` is
//! believed only when the peer is one of `TRUSTED_PROXIES`, and then only up to the first
//! address (from the right) that is not itself a trusted proxy — anything left of it could
//! have been written by the client.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnetwork::IpNetwork;

#[derive(Clone, Debug, Default)]
pub struct ClientIp {
    trusted: Vec<IpNetwork>,
}

impl ClientIp {
    pub fn new(trusted: Vec<IpNetwork>) -> Self {
        Self { trusted }
    }

    /// Parses a comma-separated list of addresses and CIDR ranges.
    pub fn parse_list(list: &str) -> Result<Vec<IpNetwork>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|e| format!("{s:?}: {e}")))
            .collect()
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
    }

    pub fn of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in forwarded.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.is_trusted(ip) {
                break;
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(xff).unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let resolver = ClientIp::new(ClientIp::parse_list("10.0.0.0/8").unwrap());
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(resolver.of(peer, &headers("198.51.100.1")), peer);
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let resolver = ClientIp::new(ClientIp::parse_list("10.0.0.0/8, 192.0.2.1").unwrap());
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        // The client wrote "1.1.1.1" itself; the proxies appended the real hops.
        let found = resolver.of(peer, &headers("1.1.1.1, 198.51.100.7, 192.0.2.1"));
        assert_eq!(found, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn garbage_in_the_header_stops_the_walk() {
        let resolver = ClientIp::new(ClientIp::parse_list("10.0.0.0/8").unwrap());
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(resolver.of(peer, &headers("nonsense")), peer);
    }
}
