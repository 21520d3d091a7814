//! A TCP forwarder the test controls, to cut a federation link the way
//! networks do: refuse, stall, reset in the middle of a request, or lose the
//! answer after the request got through.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ProxyMode {
    /// Forward both ways.
    Pass = 0,
    /// Accept and close at once.
    Refuse = 1,
    /// Accept and forward nothing.
    Stall = 2,
    /// Forward the first 1,500 bytes of the request, then reset.
    ResetMidRequest = 3,
    /// Forward requests whole, but lose the answer to any request larger than
    /// 8 KiB (the TLS handshake, smaller, passes): the receiver applied it, the
    /// sender never hears so.
    LoseAnswers = 4,
}

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    /// Where to connect instead of the target.
    pub address: SocketAddr,
    mode: Arc<AtomicU8>,
    /// Bumped to cut every open connection.
    cut: watch::Sender<u64>,
}

impl Proxy {
    /// Starts a proxy on 127.0.0.1 in front of `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(ProxyMode::Pass as u8));
        let (cut, cut_receiver) = watch::channel(0u64);
        let accept_mode = mode.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mode = accept_mode.clone();
                let cut_receiver = cut_receiver.clone();
                tokio::spawn(forward(client, target, mode, cut_receiver));
            }
        });
        Proxy { address, mode, cut }
    }

    /// Changes the mode for new traffic and cuts every open connection.
    pub fn set_mode(&self, mode: ProxyMode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
        self.cut.send_modify(|generation| *generation += 1);
    }

    /// `https://address`.
    pub fn url(&self) -> String {
        format!("https://{}", self.address)
    }
}

fn current(mode: &AtomicU8) -> ProxyMode {
    match mode.load(Ordering::SeqCst) {
        1 => ProxyMode::Refuse,
        2 => ProxyMode::Stall,
        3 => ProxyMode::ResetMidRequest,
        4 => ProxyMode::LoseAnswers,
        _ => ProxyMode::Pass,
    }
}

async fn forward(
    mut client: TcpStream,
    target: SocketAddr,
    mode: Arc<AtomicU8>,
    mut cut: watch::Receiver<u64>,
) {
    cut.borrow_and_update();
    let connection_mode = current(&mode);
    if connection_mode == ProxyMode::Refuse {
        return;
    }
    if connection_mode == ProxyMode::Stall {
        let _ = cut.changed().await;
        return;
    }
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let forwarded_upstream = std::sync::atomic::AtomicUsize::new(0);
    let upstream = async {
        let mut buffer = vec![0u8; 16 * 1024];
        let mut forwarded = 0usize;
        loop {
            let read = client_read.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                return;
            }
            let mut chunk = &buffer[..read];
            if current(&mode) == ProxyMode::ResetMidRequest {
                let allowed = 1_500usize.saturating_sub(forwarded);
                if allowed == 0 {
                    return;
                }
                chunk = &chunk[..chunk.len().min(allowed)];
            }
            forwarded += chunk.len();
            forwarded_upstream.store(forwarded, Ordering::SeqCst);
            if server_write.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let read = server_read.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                return;
            }
            if current(&mode) == ProxyMode::LoseAnswers
                && forwarded_upstream.load(Ordering::SeqCst) > 8 * 1024
            {
                // Swallow the answer and hang up: the sender never learns it arrived.
                return;
            }
            if client_write.write_all(&buffer[..read]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = upstream => {},
        _ = downstream => {},
        _ = cut.changed() => {},
    }
}
