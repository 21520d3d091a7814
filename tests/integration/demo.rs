//! `zhibao demo --dir` as the acceptance tests and a visitor meet it: the
//! four nodes answer over HTTPS trusting the demo CA, `federation.json`
//! follows the api.md contract, its logins work, and reports exist in every state.

use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{client_trusting, wait_until};

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_writes_its_federation_file_and_every_login_works() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().join("demo");
    let _demo = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_zhibao-cli"))
            .args(["demo", "--units-per-city", "8", "--dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let file = dir.join("federation.json");
    wait_until(
        "federation.json is written",
        Duration::from_secs(60),
        || async { file.exists() },
    )
    .await;
    let description: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let nodes = description["nodes"].as_array().unwrap();
    let names: Vec<&str> = nodes
        .iter()
        .map(|node| node["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["national", "province-320000", "city-320100", "city-320500"]
    );
    let ca = std::fs::read_to_string(description["ca_cert"].as_str().unwrap()).unwrap();
    let client = client_trusting(&ca, None);
    for node in nodes {
        for key in ["web_url", "federation_url"] {
            assert!(
                node[key]
                    .as_str()
                    .unwrap()
                    .starts_with("https://127.0.0.1:"),
                "{node}"
            );
        }
        let health = client
            .get(format!("{}/healthz", node["web_url"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(health.text().await.unwrap(), "ok");
    }
    let accounts = description["accounts"].as_array().unwrap();
    let web_url = |name: &str| {
        nodes.iter().find(|node| node["name"] == name).unwrap()["web_url"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for role in ["admin", "reviewer", "enterprise"] {
        let login = accounts
            .iter()
            .find(|account| account["role"] == role && account["node"] == "city-320100")
            .unwrap();
        let answer: serde_json::Value = client
            .post(format!("{}/api/v1/session", web_url("city-320100")))
            .json(
                &serde_json::json!({"username": login["username"], "password": login["password"]}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            answer["must_change_password"], false,
            "demo accounts keep their passwords"
        );
        assert_eq!(answer["role"], role);
        if role == "enterprise" {
            assert_eq!(answer["unit"], login["unit"]);
            // Its home page lists last year's accepted report, with its print view and record.
            let home = client
                .get(format!("{}/home", web_url("city-320100")))
                .header(
                    "cookie",
                    format!("zhibao_session={}", answer["token"].as_str().unwrap()),
                )
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(home.contains("id=\"earlier-reports\""), "{home}");
            assert!(home.contains("/print?version=1"), "{home}");
        }
    }
    // Reports in every state at the city, and one already forwarded to the nation.
    let reviewer = accounts
        .iter()
        .find(|account| account["role"] == "reviewer" && account["node"] == "city-320100")
        .unwrap();
    let token = client
        .post(format!("{}/api/v1/session", web_url("city-320100")))
        .json(&serde_json::json!({"username": reviewer["username"], "password": reviewer["password"]}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let progress: serde_json::Value = client
        .get(format!(
            "{}/api/v1/progress?form=G101",
            web_url("city-320100")
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total = |state: &str| -> u64 {
        progress["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["counts"][state].as_u64().unwrap())
            .sum()
    };
    for state in ["draft", "submitted", "returned", "approved"] {
        assert!(
            total(state) >= 1,
            "no {state} report in the demo: {progress}"
        );
    }
    // Last year's accepted data is in the totals of the city and the nation,
    // so year-over-year columns and the data report compare with something.
    let national_reviewer = accounts
        .iter()
        .find(|account| account["role"] == "reviewer" && account["node"] == "national")
        .unwrap();
    for (node, login) in [("city-320100", reviewer), ("national", national_reviewer)] {
        let token = client
            .post(format!("{}/api/v1/session", web_url(node)))
            .json(
                &serde_json::json!({"username": login["username"], "password": login["password"]}),
            )
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
        let previous = progress["period"].as_str().unwrap().parse::<u32>().unwrap() - 1;
        let totals: serde_json::Value = client
            .get(format!(
                "{}/api/v1/aggregates?form=G101&period={previous}&indicators=cod_emit",
                web_url(node)
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            totals["total"]["cod_emit"].is_object() || totals["total"]["cod_emit"].is_string(),
            "{node}: {totals}"
        );
    }
}
