//! Backups (R10, R22, R33): an admin backs up a running node over the API,
//! and `zhibao restore` brings it back into an empty folder, verified, with
//! the same records.

use testkit::Federation;
use zhibao_node::clock::Timestamp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_is_backed_up_and_restored_whole() {
    let mut federation = Federation::start(&["province-320000", "city-320100"]).await;
    let city = &federation.node("city-320100").state;
    let units = zhibao_node::registry::sample::sample_units(city.config.division, 30, 9);
    zhibao_node::registry::flow::import_units(
        city,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units,
        "test",
        true,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let admin = federation.token_of("city-320100", "admin").await;
    let reviewer = federation.token_of("city-320100", "reviewer").await;
    let response = federation
        .web_client()
        .post(format!(
            "{}/api/v1/admin/backup",
            federation.node("city-320100").web_url()
        ))
        .bearer_auth(&reviewer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "admins only");
    let summary: serde_json::Value = federation
        .web_client()
        .post(format!(
            "{}/api/v1/admin/backup",
            federation.node("city-320100").web_url()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let backup = std::path::PathBuf::from(summary["path"].as_str().unwrap());
    assert!(backup.is_file(), "{summary}");
    assert!(summary["records"].as_u64().unwrap() > 30);

    federation.stop("city-320100").await;
    let node_dir = federation.dir().join("city-320100");
    let original = std::fs::read_to_string(node_dir.join("node.toml")).unwrap();
    let restored_config = node_dir.join("node-restored.toml");
    std::fs::write(
        &restored_config,
        original.replace("data_dir = \"data\"", "data_dir = \"restored-data\""),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_zhibao-cli"))
        .args(["restore", "--config"])
        .arg(&restored_config)
        .arg("--from")
        .arg(&backup)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("everything matches"), "{stdout}");
    // The same registry, record for record.
    let fingerprint = |folder: std::path::PathBuf| {
        let store = zhibao_node::store::Store::open(&folder).unwrap();
        let prints = store.fingerprint().unwrap();
        [
            "unit_by_code",
            "registry_by_period_code",
            "account_by_username",
            "audit_entry_by_sequence",
        ]
        .map(|tree| prints.get(tree).cloned())
    };
    assert_eq!(
        fingerprint(node_dir.join("restored-data")),
        fingerprint(node_dir.join("data"))
    );
    // A restore never overwrites data.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_zhibao-cli"))
        .args(["restore", "--config"])
        .arg(&restored_config)
        .arg("--from")
        .arg(&backup)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
    federation.shutdown().await;
}
