//! A TCP proxy in front of the test PostgreSQL, for what a real network does to connections:
//! slow round trips, and connections that stop answering without being closed.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use leadgraph::config::{Config, Secret};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
};

pub struct Proxy {
    pub addr: SocketAddr,
    upstream: String,
    /// Every connection made so far.
    links: Arc<Mutex<Vec<Link>>>,
}

impl Proxy {
    /// A proxy to the test PostgreSQL that holds every chunk for `delay` before passing it on,
    /// both ways.
    pub async fn start(delay: Duration) -> Self {
        let upstream = super::database_server();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let links = Arc::new(Mutex::new(Vec::new()));
        let (target, made) = (upstream.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let link = Link {
                    port: server.local_addr().unwrap().port(),
                    cut: Arc::new(AtomicBool::new(false)),
                    delay,
                };
                made.lock().unwrap().push(link.clone());
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(link.clone().pass(client_read, server_write));
                tokio::spawn(link.pass(server_read, client_write));
            }
        });
        Self {
            addr,
            upstream,
            links,
        }
    }

    /// `config`'s database URL, pointed at this proxy.
    pub fn route(&self, config: &mut Config) {
        let url = config
            .database_url
            .expose()
            .replace(&self.upstream, &self.addr.to_string());
        config.database_url = Secret::new(url);
    }

    /// Every connection made so far passes nothing more, either way, and stays open: as over a
    /// network that silently drops their packets (a broken route, a host failed over). Later
    /// connections pass as before.
    pub fn black_hole_existing_connections(&self) {
        for link in self.links.lock().unwrap().iter() {
            link.cut.store(true, Ordering::SeqCst);
        }
    }

    /// The same for the one connection that reaches PostgreSQL from `port`.
    pub fn black_hole_connection_from(&self, port: u16) {
        let links = self.links.lock().unwrap();
        let link = links
            .iter()
            .find(|link| link.port == port)
            .unwrap_or_else(|| panic!("no connection through the proxy from port {port}"));
        link.cut.store(true, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct Link {
    /// The port it reaches PostgreSQL from: its `client_port` in `pg_stat_activity`.
    port: u16,
    /// Passes nothing any more.
    cut: Arc<AtomicBool>,
    delay: Duration,
}

impl Link {
    async fn pass(self, mut from: OwnedReadHalf, mut to: OwnedWriteHalf) {
        let mut buffer = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buffer).await {
            if self.cut.load(Ordering::SeqCst) {
                // Swallow everything from now on, holding both ends open.
                while let Ok(1..) = from.read(&mut buffer).await {}
                std::future::pending::<()>().await;
            }
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if to.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    }
}
