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
    /// How long a client's `COMMIT` is held before it is passed on (zero: not held).
    commit_hold: Arc<Mutex<Duration>>,
}

/// A simple-protocol `COMMIT`, as a client sends it: `Q`, the length, the text.
const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

impl Proxy {
    /// A proxy to the test PostgreSQL that holds every chunk for `delay` before passing it on,
    /// both ways.
    pub async fn start(delay: Duration) -> Self {
        let upstream = super::database_server();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let links = Arc::new(Mutex::new(Vec::new()));
        let commit_hold = Arc::new(Mutex::new(Duration::ZERO));
        let (target, made, hold) = (upstream.clone(), links.clone(), commit_hold.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                let link = Link {
                    port: server.local_addr().unwrap().port(),
                    cut: Arc::new(AtomicBool::new(false)),
                    delay,
                    commit_hold: hold.clone(),
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
            commit_hold,
        }
    }

    /// From now on every `COMMIT` a client sends reaches PostgreSQL `hold` later (and its
    /// reply as much later): transactions that take that long to end.
    pub fn hold_commits(&self, hold: Duration) {
        *self.commit_hold.lock().unwrap() = hold;
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
    commit_hold: Arc<Mutex<Duration>>,
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
            let hold = *self.commit_hold.lock().unwrap();
            if !hold.is_zero() && buffer[..n].windows(COMMIT.len()).any(|w| w == COMMIT) {
                tokio::time::sleep(hold).await;
            }
            if to.write_all(&buffer[..n]).await.is_err() {
                return;
            }
        }
    }
}
