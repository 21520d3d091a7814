//! The testkit: start a real federation in-process on port 0 with fresh
//! certificates and temporary stores, talk to it over real TLS, wait by
//! polling with a deadline (never by sleeping), shut it down cleanly.

// why: test code may unwrap; a failed setup should stop the test with its message
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod proxy;
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
    /// Nodes stopped by [`Federation::stop`], with their configs, to start again.
    stopped: Vec<zhibao_node::config::NodeConfig>,
    folder: tempfile::TempDir,
}

/// Retry pauses in tests: short, so healing is quick without sleeping in tests.
pub const TEST_RETRY_MAX_MS: u64 = 300;

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
        let options = zhibao_node::demo::LaunchOptions {
            retry_max_ms: TEST_RETRY_MAX_MS,
        };
        let running = zhibao_node::demo::launch(
            folder.path(),
            &members,
            &options,
            Timestamp::now_from_system_clock(),
        )
        .await
        .unwrap();
        Federation {
            running: Some(running),
            stopped: Vec::new(),
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

    /// Stops one node cleanly (its ports and data folder are kept for [`Federation::start_again`]).
    pub async fn stop(&mut self, name: &str) {
        let running = self.running.as_mut().unwrap();
        let index = running
            .nodes
            .iter()
            .position(|node| node.state.config.name == name)
            .unwrap_or_else(|| panic!("no running node {name}"));
        let node = running.nodes.remove(index);
        self.stopped.push(node.state.config.clone());
        node.shutdown().await;
    }

    /// Starts a stopped node again with its config, changed by `adjust`.
    pub async fn start_again_with(
        &mut self,
        name: &str,
        adjust: impl FnOnce(&mut zhibao_node::config::NodeConfig),
    ) {
        let index = self
            .stopped
            .iter()
            .position(|config| config.name == name)
            .unwrap_or_else(|| panic!("no stopped node {name}"));
        let mut config = self.stopped.remove(index);
        adjust(&mut config);
        // The data folder's lock is released when the last handle of the old node is gone;
        // a connection task may hold it for a moment after shutdown.
        let started = Instant::now();
        let node = loop {
            let listeners = zhibao_node::node::NodeListeners::bind(&config).unwrap();
            match zhibao_node::node::start(
                config.clone(),
                listeners,
                Timestamp::now_from_system_clock(),
            )
            .await
            {
                Ok(node) => break node,
                Err(error) if started.elapsed() < DEADLINE => {
                    eprintln!("start of {name} not yet possible: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("{name} did not start again: {error}"),
            }
        };
        self.running.as_mut().unwrap().nodes.push(node);
    }

    /// Starts a stopped node again unchanged.
    pub async fn start_again(&mut self, name: &str) {
        self.start_again_with(name, |_| {}).await;
    }

    /// Stops one node cleanly and starts it again on the same ports and data folder.
    pub async fn restart(&mut self, name: &str) {
        self.stop(name).await;
        self.start_again(name).await;
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

/// A registry change from `city` (e.g. `320100`) about unit number `index`,
/// in one of the city's real counties.
pub fn registry_change(
    county: &str,
    index: u32,
) -> zhibao_federation_protocol::messages::RegistryChange {
    use zhibao_federation_protocol::messages::{RegistryChange, RegistryChangeKind, UnitOnTheWire};
    RegistryChange {
        change: RegistryChangeKind::Upsert,
        unit: UnitOnTheWire {
            credit_code: valid_credit_code(county, index),
            name: format!("测试企业{index:05}有限公司"),
            division: county.to_string(),
            industry: "26".to_string(),
            classes: vec!["city".to_string()],
            key_industry: index.is_multiple_of(3),
            status: None,
            suspension_reason: None,
            group_company: None,
            address: None,
        },
        period: "2025".to_string(),
    }
}

/// Queues `count` registry changes from a city node to its parent, numbered from `first`.
pub async fn queue_registry_changes(node: &NodeHandle, county: &str, first: u32, count: u32) {
    let parent = node.state.config.parent.clone().unwrap().identity;
    let messages: Vec<_> = (first..first + count)
        .map(|index| {
            zhibao_node::federation::outbound::OutgoingMessage::new(
                parent.clone(),
                &registry_change(county, index),
                vec![],
            )
            .unwrap()
        })
        .collect();
    zhibao_node::federation::queue_messages(
        &node.state,
        &messages,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
}

/// The envelopes `node` applied from `sender`, in sequence order.
pub fn received_from(node: &NodeHandle, sender: &str) -> Vec<zhibao_federation_protocol::Envelope> {
    let sender = identity_of(sender);
    node.state
        .federation
        .trees
        .received
        .scan_prefix(&zhibao_node::federation::store::peer_prefix(&sender))
        .map(|entry| entry.unwrap().1)
        .collect()
}

/// The unit credit codes of the original (city-signed) registry changes `node` received from `sender`, in order.
pub fn original_units_received(node: &NodeHandle, sender: &str) -> Vec<String> {
    received_from(node, sender)
        .iter()
        .flat_map(|envelope| {
            envelope
                .originals()
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        })
        .map(|original| {
            original
                .decode_payload::<zhibao_federation_protocol::messages::RegistryChange>()
                .unwrap()
                .unit
                .credit_code
        })
        .collect()
}

/// The set-up login (username, password) of a role (`admin`, `reviewer`) on a node,
/// from the node's `initial-accounts.txt`.
pub fn initial_login(node: &NodeHandle, role: &str) -> (String, String) {
    let path = node
        .state
        .config
        .data_dir
        .join(zhibao_node::node::INITIAL_ACCOUNTS_FILE);
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            line.split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|words| words[0] == role)
        .map(|words| (words[1].clone(), words[2].clone()))
        .unwrap_or_else(|| panic!("no {role} login"))
}

/// The password tests change initial passwords to.
pub const CHANGED_PASSWORD: &str = "Changed-Passw0rd";

impl Federation {
    /// `POST /api/v1/session`; returns the status and the JSON answer.
    pub async fn log_in(
        &self,
        node: &str,
        username: &str,
        password: &str,
    ) -> (u16, serde_json::Value) {
        let response = self
            .web_client()
            .post(format!("{}/api/v1/session", self.node(node).web_url()))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// A bearer token of the node's set-up `role` account, ready to work
    /// (the forced first password change done).
    pub async fn token_of(&self, node: &str, role: &str) -> String {
        let (username, password) = initial_login(self.node(node), role);
        let (status, answer) = self.log_in(node, &username, &password).await;
        if status == 200 && answer["must_change_password"] == false {
            return answer["token"].as_str().unwrap().to_string();
        }
        if status == 200 {
            let token = answer["token"].as_str().unwrap();
            let changed = self
                .web_client()
                .post(format!("{}/api/v1/session/password", self.node(node).web_url()))
                .bearer_auth(token)
                .json(&serde_json::json!({"old_password": password, "new_password": CHANGED_PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(changed.status(), 200, "{}", changed.text().await.unwrap());
        }
        let (status, answer) = self.log_in(node, &username, CHANGED_PASSWORD).await;
        assert_eq!(status, 200, "{answer}");
        answer["token"].as_str().unwrap().to_string()
    }
}

/// A unified social credit code registered in `county`, numbered `index`, with
/// its correct check character.
pub fn valid_credit_code(county: &str, index: u32) -> String {
    let first_seventeen = format!("91{county}{index:09}");
    let check = zhibao_node::registry::credit_code_check_character(&first_seventeen).unwrap();
    format!("{first_seventeen}{check}")
}

/// The body of a [`Federation::call`].
#[derive(Debug, Clone)]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON body.
    Json(serde_json::Value),
    /// A plain-text body (e.g. a release file).
    Text(String),
}

impl Federation {
    /// An API call with a bearer token; answers the status and the JSON body (`null` when none).
    pub async fn call(
        &self,
        node: &str,
        method: &str,
        path: &str,
        token: &str,
        body: Body,
    ) -> (u16, serde_json::Value) {
        let url = format!("{}{path}", self.node(node).web_url());
        let client = self.web_client();
        let request = match method {
            "GET" => client.get(url),
            "PUT" => client.put(url),
            "DELETE" => client.delete(url),
            _ => client.post(url),
        }
        .bearer_auth(token);
        let request = match body {
            Body::Empty => request,
            Body::Json(body) => request.json(&body),
            Body::Text(text) => request.header("content-type", "text/plain").body(text),
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }
}
