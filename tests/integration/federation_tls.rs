//! The federation listener: client certificates of this federation's CA are
//! required, the verified identity is what counts, and only configured peers
//! are served.

use testkit::{Federation, client_trusting};
use zhibao_node::clock::Timestamp;

async fn hello(
    client: &reqwest::Client,
    federation: &Federation,
    node: &str,
) -> Result<reqwest::Response, reqwest::Error> {
    client
        .get(format!(
            "{}/federation/v1/hello",
            federation.node(node).federation_url()
        ))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_federation_listener_refuses_a_connection_without_a_client_certificate() {
    let federation = Federation::start(&["province-320000", "city-320100"]).await;
    let outcome = hello(&federation.web_client(), &federation, "province-320000").await;
    // TLS 1.3: the refusal arrives with the first request, as a failed request, never as an HTTP answer.
    assert!(
        outcome.is_err(),
        "expected a TLS refusal, got {:?}",
        outcome.map(|response| response.status())
    );
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_federation_listener_refuses_a_certificate_from_another_ca() {
    let federation = Federation::start(&["province-320000", "city-320100"]).await;
    let other = tempfile::tempdir().unwrap();
    let now = Timestamp::now_from_system_clock();
    let mut other_ca =
        zhibao_node::pki::CaFolder::init(&other.path().join("pki"), "impostor CA", now).unwrap();
    // Same identity as the real city, but from a CA the federation does not trust.
    let impostor = other_ca
        .issue_node(
            &testkit::identity_of("city-320100"),
            &["127.0.0.1".into()],
            30,
            now,
        )
        .unwrap();
    let (cert, key) = zhibao_node::pki::write_issued(other.path(), "impostor", &impostor).unwrap();
    let client = client_trusting(&federation.ca_pem(), Some((&cert, &key)));
    let outcome = hello(&client, &federation, "province-320000").await;
    assert!(
        outcome.is_err(),
        "expected a TLS refusal, got {:?}",
        outcome.map(|response| response.status())
    );
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_peer_is_told_its_verified_identity() {
    let federation = Federation::start(&["national", "province-320000", "city-320100"]).await;
    let as_city = federation.client_as_node("city-320100");
    let response = hello(&as_city, &federation, "province-320000")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["caller"], "zhibao://node/city/320100");
    assert_eq!(body["server"], "zhibao://node/province/320000");
    assert_eq!(body["protocol_version"], 1);

    let as_national = federation.client_as_node("national");
    let body: serde_json::Value = hello(&as_national, &federation, "province-320000")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["caller"], "zhibao://node/national/000000");
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_node_that_is_not_a_configured_peer_is_refused() {
    let federation = Federation::start(&["national", "province-320000", "city-320100"]).await;
    // The national node is not a peer of the city (only the province is).
    let as_national = federation.client_as_node("national");
    let response = hello(&as_national, &federation, "city-320100")
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "FED003");
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_speaking_another_protocol_version_is_told_both_versions() {
    let federation = Federation::start(&["province-320000", "city-320100"]).await;
    let as_city = federation.client_as_node("city-320100");
    let response = as_city
        .get(format!(
            "{}/federation/v1/hello",
            federation.node("province-320000").federation_url()
        ))
        .header(zhibao_federation_protocol::PROTOCOL_VERSION_HEADER, "7")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "FED004");
    assert_eq!(body["error"]["details"]["theirs"], 7);
    assert_eq!(body["error"]["details"]["ours"], 1);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains('7') && message.contains('1'), "{message}");
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_listener_never_asks_browsers_for_a_certificate() {
    let federation = Federation::start(&["province-320000", "city-320100"]).await;
    // A client presenting a certificate still gets the web API; one without does too.
    let as_city = federation.client_as_node("city-320100");
    let url = format!("{}/healthz", federation.node("province-320000").web_url());
    assert_eq!(as_city.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(
        federation
            .web_client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // And the federation routes are not on the web listener at all.
    let response = as_city
        .get(format!(
            "{}/federation/v1/hello",
            federation.node("province-320000").web_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    federation.shutdown().await;
}
