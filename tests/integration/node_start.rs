//! The demo's four nodes start and answer over HTTPS, trusting only the demo CA.

use testkit::{Federation, client_trusting};

const DEMO: [&str; 4] = ["national", "province-320000", "city-320100", "city-320500"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_four_demo_nodes_answer_healthz_and_describe_themselves() {
    let federation = Federation::start(&DEMO).await;
    let client = federation.web_client();
    for name in DEMO {
        let node = federation.node(name);
        let health = client
            .get(format!("{}/healthz", node.web_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200, "{name}");
        assert_eq!(health.text().await.unwrap(), "ok");
        let description: serde_json::Value = client
            .get(format!("{}/api/v1/node", node.web_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(description["name"], name);
        assert_eq!(description["protocol_version"], 1);
    }
    let province: serde_json::Value = client
        .get(format!(
            "{}/api/v1/node",
            federation.node("province-320000").web_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(province["level"], "province");
    assert_eq!(province["division_name"], "江苏省");
    assert_eq!(
        province["parent"]["identity"],
        "zhibao://node/national/000000"
    );
    let children: Vec<&str> = province["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|child| child["division"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["320100", "320500"]);
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trusts_another_ca_refuses_the_node() {
    let federation = Federation::start(&["city-320100", "province-320000"]).await;
    let other = tempfile::tempdir().unwrap();
    let other_ca = zhibao_node::pki::CaFolder::init(
        &other.path().join("pki"),
        "another CA",
        zhibao_node::clock::Timestamp::now_from_system_clock(),
    )
    .unwrap();
    let stranger = client_trusting(other_ca.ca_cert_pem(), None);
    let url = format!("{}/healthz", federation.node("city-320100").web_url());
    let error = stranger.get(&url).send().await.unwrap_err();
    assert!(error.is_connect() || error.is_request(), "{error:?}");
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_paths_get_a_json_error_with_a_stable_code() {
    let federation = Federation::start(&["city-320100", "province-320000"]).await;
    let response = federation
        .web_client()
        .get(format!(
            "{}/api/v1/nothing-here",
            federation.node("city-320100").web_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "GEN404");
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_keeps_its_data_and_answers_again() {
    let mut federation = Federation::start(&["city-320100", "province-320000"]).await;
    let (key, record) = testkit::records::expected_record(1, 1);
    {
        let store = &federation.node("city-320100").state.store;
        let tree = store
            .tree::<testkit::records::DurabilityRecord>("test_by_key")
            .unwrap();
        tree.insert(key.as_bytes(), &record).unwrap();
        store.commit_durable().await.unwrap();
    }
    let web_url_before = federation.node("city-320100").web_url();
    federation.restart("city-320100").await;
    let city = federation.node("city-320100");
    assert_eq!(city.web_url(), web_url_before);
    let tree = city
        .state
        .store
        .tree::<testkit::records::DurabilityRecord>("test_by_key")
        .unwrap();
    assert_eq!(tree.get(key.as_bytes()).unwrap(), Some(record));
    let health = federation
        .web_client()
        .get(format!("{web_url_before}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    federation.shutdown().await;
}
