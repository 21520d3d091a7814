//! The testkit: start a real federation in-process on port 0 with fresh
//! certificates and temporary stores, talk to it over real TLS, wait by
//! polling with a deadline (never by sleeping), shut it down cleanly.

// why: test code may unwrap; a failed setup should stop the test with its message
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod records;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use zhibao_federation_protocol::NodeIdentity;
use zhibao_node::clock::Timestamp;
use zhibao_node::demo::RunningFederation;
use zhibao_node::node::NodeHandle;

/// The default deadline for anything a test waits for.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Installs the ring provider once (reqwest panics without one).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running test federation in a temporary folder.
#[derive(Debug)]
pub struct Federation {
    running: Option<RunningFederation>,
    folder: tempfile::TempDir,
}

/// `national`, `province-320000`, `city-320100` → identity.
pub fn identity_of(name: &str) -> NodeIdentity {
    let uri = match name {
        "national" => "zhibao://node/national/000000".to_string(),
        other => {
            let (level, division) = other.split_once('-').unwrap();
            format!("zhibao://node/{level}/{division}")
        }
    };
    NodeIdentity::from_uri(&uri).unwrap()
}

impl Federation {
    /// Starts the named nodes (`["national", "province-320000", "city-320100"]`).
    pub async fn start(names: &[&str]) -> Federation {
        install_crypto_provider();
        let folder = tempfile::tempdir().unwrap();
        let members: Vec<NodeIdentity> = names.iter().map(|name| identity_of(name)).collect();
        let running =
            zhibao_node::demo::launch(folder.path(), &members, Timestamp::now_from_system_clock())
                .await
                .unwrap();
        Federation {
            running: Some(running),
            folder,
        }
    }

    fn running(&self) -> &RunningFederation {
        self.running.as_ref().unwrap()
    }

    /// The folder holding `pki/` and the node folders.
    pub fn dir(&self) -> PathBuf {
        self.running().dir.clone()
    }

    /// A node by conventional name.
    pub fn node(&self, name: &str) -> &NodeHandle {
        self.running()
            .node(name)
            .unwrap_or_else(|| panic!("no node {name} in this federation"))
    }

    /// The CA certificate PEM.
    pub fn ca_pem(&self) -> String {
        std::fs::read_to_string(self.running().ca_cert_path()).unwrap()
    }

    /// The CA folder (for issuing and revoking in tests).
    pub fn pki_dir(&self) -> PathBuf {
        self.dir().join("pki")
    }

    /// An HTTPS client that trusts only this federation's CA and presents no certificate.
    pub fn web_client(&self) -> reqwest::Client {
        client_trusting(&self.ca_pem(), None)
    }

    /// An HTTPS client presenting the named node's own certificate.
    pub fn client_as_node(&self, name: &str) -> reqwest::Client {
        let node_dir = self.dir().join(name);
        client_trusting(
            &self.ca_pem(),
            Some((&node_dir.join("node.pem"), &node_dir.join("node.key"))),
        )
    }

    /// Stops one node cleanly and starts it again on the same ports and data folder.
    pub async fn restart(&mut self, name: &str) {
        let running = self.running.as_mut().unwrap();
        let index = running
            .nodes
            .iter()
            .position(|node| node.state.config.name == name)
            .unwrap_or_else(|| panic!("no node {name}"));
        let node = running.nodes.remove(index);
        let config = node.state.config.clone();
        node.shutdown().await;
        let listeners = zhibao_node::node::NodeListeners::bind(&config).unwrap();
        let restarted =
            zhibao_node::node::start(config, listeners, Timestamp::now_from_system_clock())
                .await
                .unwrap();
        running.nodes.insert(index, restarted);
    }

    /// Stops every node.
    pub async fn shutdown(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        drop(self.folder);
    }
}

/// An HTTPS client trusting only `ca_pem`, optionally presenting (cert, key) files.
pub fn client_trusting(ca_pem: &str, identity: Option<(&Path, &Path)>) -> reqwest::Client {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10));
    if let Some((cert, key)) = identity {
        let mut pem = std::fs::read(cert).unwrap();
        pem.extend(std::fs::read(key).unwrap());
        builder = builder.identity(reqwest::Identity::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

/// Polls `condition` until it is true or the deadline passes (then panics with `what`).
pub async fn wait_until<F, Fut>(what: &str, deadline: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if condition().await {
            return;
        }
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for: {what}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}
