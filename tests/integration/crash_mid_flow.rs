//! A province killed (SIGKILL) in the middle of its review work: the city has
//! forwarded approved reports, the province runs as a real `zhibao serve`
//! child process and approves them one after another over HTTPS, and is
//! killed while an approval is in flight. Restarted, it must hold every
//! approval it acknowledged, forward each to the nation, and the nation must
//! end with every report exactly once.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use testkit::{Body, DEADLINE, Federation, received_from, wait_until};
use zhibao_federation_protocol::MessageKind;
use zhibao_federation_protocol::messages::ReportBatch;

use crate::reporting::{Unit, clean_values, units_with_logins};

const NATION: &str = "national";
const PROVINCE: &str = "province-320000";
const CITY: &str = "city-320100";
const UNITS: usize = 16;

fn report(unit: &Unit, tail: &str) -> String {
    format!("/api/v1/reports/{}/G101/2025{tail}", unit.code)
}

fn review(unit: &Unit, action: &str) -> String {
    format!("/api/v1/review/{}/G101/2025/{action}", unit.code)
}

async fn expect_ok(
    federation: &Federation,
    node: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Body,
) {
    let (status, answer) = federation.call(node, method, path, token, body).await;
    assert_eq!(status, 200, "{method} {path} at {node}: {answer}");
}

/// Report batches the nation applied from the province, counted per unit.
fn batches_per_unit_at_nation(federation: &Federation) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for envelope in received_from(federation.node(NATION), PROVINCE) {
        if envelope.kind != MessageKind::ReportBatch {
            continue;
        }
        let batch: ReportBatch = envelope.decode_payload().unwrap();
        for report in batch.reports {
            *counts.entry(report.unit).or_insert(0) += 1;
        }
    }
    counts
}

/// A POST to the child province over HTTPS; `None` when the connection died.
async fn post_to_child(client: &reqwest::Client, url: String, token: &str) -> Option<u16> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    // The answer counts as an acknowledgement only once read in full.
    response.bytes().await.ok()?;
    Some(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_killed_while_approving_loses_no_acknowledged_decision() {
    let mut federation = Federation::start(&[NATION, PROVINCE, CITY]).await;
    let units = units_with_logins(&federation, CITY, UNITS).await;
    assert!(units.len() >= 10, "{} units", units.len());
    let city_reviewer = federation.token_of(CITY, "reviewer").await;
    let province_reviewer = federation.token_of(PROVINCE, "reviewer").await;
    let national_reviewer = federation.token_of(NATION, "reviewer").await;

    // Units submit; the city approves; the province receives them all.
    for unit in &units {
        let draft = Body::Json(json!({"values": clean_values("1.25")}));
        expect_ok(
            &federation,
            CITY,
            "PUT",
            &report(unit, "/draft"),
            &unit.token,
            draft,
        )
        .await;
        expect_ok(
            &federation,
            CITY,
            "POST",
            &report(unit, "/submit"),
            &unit.token,
            Body::Empty,
        )
        .await;
        expect_ok(
            &federation,
            CITY,
            "POST",
            &report(unit, "/check"),
            &city_reviewer,
            Body::Empty,
        )
        .await;
        expect_ok(
            &federation,
            CITY,
            "POST",
            &review(unit, "approve"),
            &city_reviewer,
            Body::Empty,
        )
        .await;
    }
    let province_state = federation.node(PROVINCE).state.clone();
    wait_until("the province received every report", DEADLINE, || async {
        province_state.review.received.scan_prefix(&[]).count() == units.len()
    })
    .await;
    drop(province_state);

    // The province now runs as a real `zhibao serve` process.
    let province_url = federation.node(PROVINCE).web_url().to_string();
    federation.stop(PROVINCE).await;
    let config = federation.dir().join(PROVINCE).join("node.toml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zhibao-cli"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = federation.web_client();
    wait_until("the province process serves", DEADLINE, || async {
        client
            .get(format!("{province_url}/healthz"))
            .send()
            .await
            .is_ok_and(|response| response.status() == 200)
    })
    .await;

    // Approve one by one; SIGKILL while the approval of a random unit is in flight.
    let kill_at = rand::rng().random_range(3..units.len() - 3);
    let mut acknowledged = Vec::new();
    for (index, unit) in units.iter().enumerate() {
        let check = post_to_child(
            &client,
            format!("{province_url}{}", report(unit, "/check")),
            &province_reviewer,
        )
        .await;
        assert_eq!(check, Some(200), "rule run of {}", unit.code);
        let approve_url = format!("{province_url}{}", review(unit, "approve"));
        if index < kill_at {
            let approve = post_to_child(&client, approve_url, &province_reviewer).await;
            assert_eq!(approve, Some(200), "approval of {}", unit.code);
            acknowledged.push(unit.code.clone());
            continue;
        }
        let delay = Duration::from_micros(rand::rng().random_range(0..3_000));
        let (approve, ()) = tokio::join!(
            post_to_child(&client, approve_url, &province_reviewer),
            async {
                tokio::time::sleep(delay).await;
                child.kill().unwrap();
            }
        );
        if approve == Some(200) {
            acknowledged.push(unit.code.clone());
        }
        break;
    }
    child.wait().unwrap();
    assert!(acknowledged.len() >= kill_at, "{acknowledged:?}");

    // Restarted, the province holds every acknowledged approval and forwards it.
    federation.start_again(PROVINCE).await;
    for code in &acknowledged {
        let path = format!("/api/v1/reports/{code}/G101/2025");
        let (status, answer) = federation
            .call(PROVINCE, "GET", &path, &province_reviewer, Body::Empty)
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["state"], "approved",
            "acknowledged approval of {code} survived the kill"
        );
    }
    // The rest is approved now (the one in flight may have been committed unacknowledged).
    for unit in &units {
        let (_, answer) = federation
            .call(
                PROVINCE,
                "GET",
                &report(unit, ""),
                &province_reviewer,
                Body::Empty,
            )
            .await;
        if answer["state"] == "approved" {
            continue;
        }
        expect_ok(
            &federation,
            PROVINCE,
            "POST",
            &report(unit, "/check"),
            &province_reviewer,
            Body::Empty,
        )
        .await;
        expect_ok(
            &federation,
            PROVINCE,
            "POST",
            &review(unit, "approve"),
            &province_reviewer,
            Body::Empty,
        )
        .await;
    }
    wait_until("the nation received every report", DEADLINE, || async {
        batches_per_unit_at_nation(&federation).len() == units.len()
    })
    .await;
    let counts = batches_per_unit_at_nation(&federation);
    assert!(
        counts.values().all(|count| *count == 1),
        "each report exactly once: {counts:?}"
    );
    for unit in &units {
        let (status, answer) = federation
            .call(
                NATION,
                "GET",
                &report(unit, ""),
                &national_reviewer,
                Body::Empty,
            )
            .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            answer["state"], "submitted",
            "awaiting the nation's review: {answer}"
        );
    }
    federation.shutdown().await;
}
