//! What the federation listener refuses, and how: nothing outside the
//! federation gets in, nothing inside it sends what is not its own.

use testkit::{DEADLINE, Federation, client_trusting, received_from, registry_change, wait_until};
use zhibao_certs::{LeafRequest, LeafUsage, NodeSigner};
use zhibao_federation_protocol::messages::{Delivery, DeliveryReceipt, Payload, RegistryChange};
use zhibao_federation_protocol::{Envelope, EnvelopeDraft, MessageKind, NodeIdentity};
use zhibao_node::clock::Timestamp;
use zhibao_node::pki::CaFolder;

const PAIR: [&str; 2] = ["province-320000", "city-320100"];

fn city_signer(federation: &Federation) -> NodeSigner {
    let dir = federation.dir().join("city-320100");
    NodeSigner::new(
        &std::fs::read_to_string(dir.join("node.pem")).unwrap(),
        &std::fs::read_to_string(dir.join("node.key")).unwrap(),
    )
    .unwrap()
}

fn sealed(signer: &NodeSigner, sender: &str, sequence: u64, change: &RegistryChange) -> Envelope {
    EnvelopeDraft {
        message_id: format!("{:032x}", rand::random::<u128>()),
        sender: NodeIdentity::from_uri(sender).unwrap(),
        receiver: NodeIdentity::from_uri("zhibao://node/province/320000").unwrap(),
        sequence,
        kind: MessageKind::RegistryChange,
        payload_version: RegistryChange::VERSION,
        created_at_ms: Timestamp::now_from_system_clock().0,
        payload: serde_json::to_string(change).unwrap(),
        forwarded: vec![],
    }
    .seal(signer.certificate_pem(), |bytes| signer.sign(bytes))
    .unwrap()
}

async fn deliver(
    federation: &Federation,
    client: &reqwest::Client,
    envelopes: Vec<Envelope>,
) -> reqwest::Response {
    client
        .post(format!(
            "{}/federation/v1/messages",
            federation.node("province-320000").federation_url()
        ))
        .json(&Delivery { envelopes })
        .send()
        .await
        .unwrap()
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn applied_at_province(federation: &Federation) -> usize {
    received_from(federation.node("province-320000"), "city-320100").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_signature_is_refused_and_nothing_is_applied() {
    let federation = Federation::start(&PAIR).await;
    let signer = city_signer(&federation);
    let mut envelope = sealed(
        &signer,
        "zhibao://node/city/320100",
        1,
        &registry_change("320102", 1),
    );
    envelope.payload = envelope.payload.replace("测试企业", "篡改企业");
    let client = federation.client_as_node("city-320100");
    let (status, code) = error_code(deliver(&federation, &client, vec![envelope]).await).await;
    assert_eq!((status, code.as_str()), (400, "FED011"));
    assert_eq!(applied_at_province(&federation), 0);
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_message_is_acknowledged_but_not_applied_again() {
    let federation = Federation::start(&PAIR).await;
    let signer = city_signer(&federation);
    let envelope = sealed(
        &signer,
        "zhibao://node/city/320100",
        1,
        &registry_change("320102", 1),
    );
    let client = federation.client_as_node("city-320100");
    for attempt in 0..3 {
        let response = deliver(&federation, &client, vec![envelope.clone()]).await;
        assert_eq!(response.status(), 200, "attempt {attempt}");
        let receipt: DeliveryReceipt = response.json().await.unwrap();
        assert_eq!(receipt.acknowledged_through, 1);
    }
    assert_eq!(applied_at_province(&federation), 1);
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_sending_another_citys_unit_is_refused_and_the_link_goes_on() {
    let federation = Federation::start(&PAIR).await;
    let signer = city_signer(&federation);
    let client = federation.client_as_node("city-320100");
    // 320505 is in Suzhou, not Nanjing.
    let foreign = sealed(
        &signer,
        "zhibao://node/city/320100",
        1,
        &registry_change("320505", 1),
    );
    let own = sealed(
        &signer,
        "zhibao://node/city/320100",
        2,
        &registry_change("320102", 2),
    );
    let response = deliver(&federation, &client, vec![foreign.clone(), own]).await;
    assert_eq!(response.status(), 200);
    let receipt: DeliveryReceipt = response.json().await.unwrap();
    assert_eq!(receipt.acknowledged_through, 2);
    assert_eq!(receipt.refused.len(), 1);
    assert_eq!(receipt.refused[0].message_id, foreign.message_id);
    assert_eq!(receipt.refused[0].code, "FED021");
    assert!(
        receipt.refused[0].reason.contains("320505"),
        "{}",
        receipt.refused[0].reason
    );
    let applied = received_from(federation.node("province-320000"), "city-320100");
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].sequence, 2);
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_claiming_another_sender_or_version_is_refused() {
    let federation = Federation::start(&PAIR).await;
    let signer = city_signer(&federation);
    let client = federation.client_as_node("city-320100");
    let impersonating = sealed(
        &signer,
        "zhibao://node/city/320500",
        1,
        &registry_change("320505", 1),
    );
    assert_eq!(
        error_code(deliver(&federation, &client, vec![impersonating]).await).await,
        (403, "FED006".into())
    );
    let mut future_version = sealed(
        &signer,
        "zhibao://node/city/320100",
        1,
        &registry_change("320102", 1),
    );
    future_version.protocol_version = 2;
    let response = deliver(&federation, &client, vec![future_version]).await;
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str().unwrap()),
        (400, "FED004")
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("version 2") && message.contains("version 1"),
        "{message}"
    );
    assert_eq!(applied_at_province(&federation), 0);
    federation.shutdown().await;
}

fn city_ledger_serial(federation: &Federation) -> u64 {
    let ca = CaFolder::open(&federation.pki_dir()).unwrap();
    ca.ledger()
        .issued
        .iter()
        .rev()
        .find(|entry| entry.san_uris == ["zhibao://node/city/320100"])
        .unwrap()
        .serial
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_node_certificate_is_refused_after_the_crl_is_published() {
    let federation = Federation::start(&PAIR).await;
    let hello = format!(
        "{}/federation/v1/hello",
        federation.node("province-320000").federation_url()
    );
    let as_city = federation.client_as_node("city-320100");
    assert_eq!(as_city.get(&hello).send().await.unwrap().status(), 200);
    let serial = city_ledger_serial(&federation);
    let mut ca = CaFolder::open(&federation.pki_dir()).unwrap();
    ca.revoke(serial, Timestamp::now_from_system_clock())
        .unwrap();
    // The node picks up the new CRL file by itself (every few seconds, or at once on SIGHUP).
    assert!(
        federation
            .node("province-320000")
            .state
            .reload_revocation_list()
            .unwrap()
    );
    let fresh_client = federation.client_as_node("city-320100");
    let outcome = fresh_client.get(&hello).send().await;
    assert!(
        outcome.is_err(),
        "a revoked certificate was accepted: {:?}",
        outcome.map(|response| response.status())
    );
    // The city's messages wait, and its links page says why.
    testkit::queue_registry_changes(federation.node("city-320100"), "320102", 0, 1).await;
    wait_until("the city reports the refusal", DEADLINE, || async {
        let links = zhibao_node::federation::link_views(
            &federation.node("city-320100").state,
            Timestamp::now_from_system_clock(),
        )
        .unwrap();
        links[0].queued == 1 && links[0].last_error.is_some()
    })
    .await;
    assert_eq!(applied_at_province(&federation), 0);
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_node_certificate_is_refused() {
    let federation = Federation::start(&PAIR).await;
    let now = Timestamp::now_from_system_clock().unix_seconds();
    let mut ca = CaFolder::open(&federation.pki_dir()).unwrap();
    let expired = ca
        .issue_leaf(
            LeafRequest {
                common_name: "city-320100".into(),
                san_uris: vec!["zhibao://node/city/320100".into()],
                dns_names: vec![],
                ip_addresses: vec!["127.0.0.1".parse().unwrap()],
                serial: 0,
                not_before: now - 30 * 86_400,
                not_after: now - 86_400,
                usage: LeafUsage::Node,
            },
            Timestamp::now_from_system_clock(),
        )
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let (cert, key) = zhibao_node::pki::write_issued(folder.path(), "expired", &expired).unwrap();
    let client = client_trusting(&federation.ca_pem(), Some((&cert, &key)));
    let outcome = client
        .get(format!(
            "{}/federation/v1/hello",
            federation.node("province-320000").federation_url()
        ))
        .send()
        .await;
    assert!(outcome.is_err(), "an expired certificate was accepted");
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_delivers_what_the_revoked_one_had_queued() {
    let mut federation = Federation::start(&PAIR).await;
    federation.stop("province-320000").await;
    testkit::queue_registry_changes(federation.node("city-320100"), "320102", 0, 30).await;
    // Rotation: a new certificate for the city, the old one revoked, while 30 messages
    // signed with the old key wait in the city's outbox.
    let old_serial = city_ledger_serial(&federation);
    let now = Timestamp::now_from_system_clock();
    let mut ca = CaFolder::open(&federation.pki_dir()).unwrap();
    let renewed = ca
        .issue_node(
            &testkit::identity_of("city-320100"),
            &["127.0.0.1".into()],
            365,
            now,
        )
        .unwrap();
    ca.revoke(old_serial, now.plus_seconds(1)).unwrap();
    federation.stop("city-320100").await;
    zhibao_node::pki::write_issued(&federation.dir().join("city-320100"), "node", &renewed)
        .unwrap();
    federation.start_again("province-320000").await;
    federation.start_again("city-320100").await;
    wait_until("the queued messages arrive", DEADLINE, || async {
        applied_at_province(&federation) == 30
    })
    .await;
    federation.shutdown().await;
}
