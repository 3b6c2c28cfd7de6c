//! Admission: who may use the shared server now. Each organization's share of the connection
//! pool ([`TenantShares`]), request rates per API key and per user ([`RateLimits`], shared by
//! the replicas through [`RateSync`]), and the client address those decisions and sign-in
//! throttling key on ([`ClientIp`]).

mod client_ip;
mod rate;
mod rate_sync;
mod shares;

pub use client_ip::ClientIp;
pub use rate::{Quota, RateLimits};
pub use rate_sync::RateSync;
pub use shares::{TenantShares, Turn};
