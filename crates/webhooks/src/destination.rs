//! Which URLs a webhook may be sent to. A marketplace anyone can subscribe to must not become a
//! way to make its server POST into its own network (SSRF): unless a subscription was added with
//! `--allow-private`, its URL must be `http(s)` and its host must resolve only to public
//! addresses, when it is added and again at every delivery (a resolver that filters private
//! answers, so a name that later points inside is refused, not followed).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use alloy::transports::http::reqwest::{
    self, Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

/// Why a destination is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Not a URL.
    #[error("not a URL: {0}")]
    Invalid(String),
    /// Not `http` or `https`.
    #[error("unsupported scheme {0:?}: webhooks are sent over http or https")]
    Scheme(String),
    /// No host to send to.
    #[error("the URL has no host")]
    NoHost,
    /// The host did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// The host is, or resolves to, a private address.
    #[error(
        "{host} is a private address ({ip}); pass --allow-private for a receiver on this \
         machine or your network"
    )]
    Private {
        /// The host.
        host: String,
        /// The private address.
        ip: IpAddr,
    },
}

/// Whether `ip` is not a public internet address: loopback, private, link-local, shared (CGNAT),
/// unspecified, broadcast, multicast, documentation, benchmarking or reserved ranges, and their
/// IPv4-mapped IPv6 forms.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private_v4(v4),
            None => is_private_v6(v6),
        },
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking (RFC 2544)
        || a >= 240 // reserved
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || ip.to_ipv4().is_some_and(is_private_v4) // IPv4-compatible
}

/// Parse and check a destination: `http(s)`, with a host that resolves, and (unless
/// `allow_private`) only to public addresses.
pub async fn check(url: &str, allow_private: bool) -> Result<Url, DestinationError> {
    let parsed = Url::parse(url).map_err(|err| DestinationError::Invalid(err.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(DestinationError::Scheme(parsed.scheme().to_owned()));
    }
    let host = parsed.host_str().ok_or(DestinationError::NoHost)?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((bare, port))
            .await
            .map_err(|err| DestinationError::Resolve {
                host: host.clone(),
                reason: err.to_string(),
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(DestinationError::Resolve { host, reason: "no addresses".into() });
    }
    if !allow_private && let Some(private) = addrs.iter().find(|a| is_private(a.ip())) {
        return Err(DestinationError::Private { host, ip: private.ip() });
    }
    Ok(parsed)
}

/// A resolver that answers only public addresses (used for subscriptions without
/// `--allow-private`), so a name that resolves inside the network at delivery time is refused.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| !is_private(addr.ip()))
                .collect();
            if addrs.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves only to private addresses: refused").into();
                return Err(refused);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client of deliveries: no redirects (a 3xx is a failed delivery, not a hop to
/// somewhere else), no proxy from the environment, and for public-only subscriptions the
/// [`PublicOnly`] resolver.
pub(crate) fn client(public_only: bool) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("runs-webhooks/", env!("CARGO_PKG_VERSION")));
    if public_only { builder.dns_resolver(Arc::new(PublicOnly)) } else { builder }.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_private_and_public_ones_are_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip} should be private");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip} should be public");
        }
    }

    #[tokio::test]
    async fn check_refuses_private_and_malformed_destinations() {
        assert!(matches!(
            check("http://127.0.0.1:9/hook", false).await,
            Err(DestinationError::Private { .. })
        ));
        assert!(matches!(
            check("http://[::1]:9/hook", false).await,
            Err(DestinationError::Private { .. })
        ));
        assert!(matches!(
            check("http://localhost:9/hook", false).await,
            Err(DestinationError::Private { .. })
        ));
        assert!(matches!(check("ftp://1.1.1.1/", false).await, Err(DestinationError::Scheme(_))));
        assert!(matches!(check("not a url", false).await, Err(DestinationError::Invalid(_))));
        assert!(check("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(check("https://1.1.1.1/hook", false).await.is_ok());
    }
}
