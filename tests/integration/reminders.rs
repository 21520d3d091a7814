//! Reminders from above (催报, R11/R20): the nation urges a province, a
//! province urges one of its cities; each reminder reaches exactly the
//! bureau urged as a `reminder_from_above` notice, once even when delivered
//! again; a division that is not the caller's child is not found; units are
//! urged at a city and bureaus above it, never the other way round; without
//! `divisions` the bureaus whose units still owe are urged.

use serde_json::{Value, json};
use testkit::{Body, DEADLINE, Federation, wait_until};
use zhibao_federation_protocol::MessageKind;
use zhibao_federation_protocol::messages::{Delivery, DeliveryReceipt};

use crate::reporting::units_with_logins;

const FOUR: [&str; 4] = ["national", "province-320000", "city-320100", "city-320500"];
const NATION: &str = "national";
const PROVINCE: &str = "province-320000";
const NANJING: &str = "city-320100";
const SUZHOU: &str = "city-320500";

/// The reminders from above among a node's bureau notices.
async fn reminders(federation: &Federation, node: &str, token: &str) -> Vec<Value> {
    let (status, answer) = federation
        .call(node, "GET", "/api/v1/notices?limit=200", token, Body::Empty)
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|notice| notice["kind"] == "reminder_from_above")
        .cloned()
        .collect()
}

async fn urge(federation: &Federation, node: &str, token: &str, body: Value) -> (u16, Value) {
    federation
        .call(node, "POST", "/api/v1/urge", token, Body::Json(body))
        .await
}

/// Whether a node's progress shows `expected` units in the row of `division`.
async fn expected_in_row(
    federation: &Federation,
    node: &str,
    token: &str,
    division: &str,
    expected: u64,
) -> bool {
    let (status, answer) = federation
        .call(
            node,
            "GET",
            "/api/v1/progress?form=G101&period=2025",
            token,
            Body::Empty,
        )
        .await;
    status == 200
        && answer["rows"].as_array().unwrap().iter().any(|row| {
            row["division"] == division && row["counts"]["expected"].as_u64() == Some(expected)
        })
}

fn code(answer: &Value) -> Option<&str> {
    answer["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nation_urges_a_province_and_the_province_one_of_its_cities() {
    let federation = Federation::start(&FOUR).await;
    // Nanjing has units that owe their report; Suzhou none.
    let units = units_with_logins(&federation, NANJING, 3).await;
    let nation = federation.token_of(NATION, "reviewer").await;
    let province = federation.token_of(PROVINCE, "reviewer").await;
    let province_admin = federation.token_of(PROVINCE, "admin").await;
    let nanjing = federation.token_of(NANJING, "reviewer").await;
    let suzhou = federation.token_of(SUZHOU, "reviewer").await;

    // The nation urges Jiangsu in its own words.
    let (status, answer) = urge(
        &federation,
        NATION,
        &nation,
        json!({"form": "G101", "period": "2025", "divisions": ["320000"],
               "message": "请督促各市本周内完成报送"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"count": 1, "units": [], "divisions": ["320000"]})
    );
    wait_until(
        "the province has the nation's reminder",
        DEADLINE,
        || async { !reminders(&federation, PROVINCE, &province).await.is_empty() },
    )
    .await;
    let at_province = reminders(&federation, PROVINCE, &province_admin).await;
    assert_eq!(at_province.len(), 1, "{at_province:?}");
    let text_zh = at_province[0]["text_zh"].as_str().unwrap();
    assert!(text_zh.starts_with("生态环境部催报"), "{text_zh}");
    assert!(text_zh.ends_with("请督促各市本周内完成报送"), "{text_zh}");
    assert!(
        at_province[0]["text_en"]
            .as_str()
            .unwrap()
            .contains("Ministry of Ecology and Environment")
    );
    assert_eq!(
        (&at_province[0]["form"], &at_province[0]["period"]),
        (&json!("G101"), &json!("2025"))
    );

    // The province urges Suzhou only, with the standard text.
    let (status, answer) = urge(
        &federation,
        PROVINCE,
        &province,
        json!({"form": "G101", "period": "2025", "divisions": ["320500"]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["divisions"], json!(["320500"]));
    wait_until("Suzhou has the province's reminder", DEADLINE, || async {
        !reminders(&federation, SUZHOU, &suzhou).await.is_empty()
    })
    .await;
    let at_suzhou = reminders(&federation, SUZHOU, &suzhou).await;
    assert_eq!(at_suzhou.len(), 1, "{at_suzhou:?}");
    assert!(
        at_suzhou[0]["text_zh"]
            .as_str()
            .unwrap()
            .contains("江苏省生态环境部门催报：苏州市尚有单位未提交"),
        "{at_suzhou:?}"
    );
    // Nobody else was told: not Nanjing, not the nation, not a unit; the
    // nation's reminder stayed at the province.
    assert!(reminders(&federation, NANJING, &nanjing).await.is_empty());
    assert!(reminders(&federation, NATION, &nation).await.is_empty());
    assert!(
        reminders(&federation, NANJING, &units[0].token)
            .await
            .is_empty()
    );
    assert_eq!(reminders(&federation, PROVINCE, &province).await.len(), 1);

    // Delivered again by the province: acknowledged, not a second notice.
    let suzhou_node = federation.node(SUZHOU);
    let sent: Vec<_> = testkit::received_from(suzhou_node, PROVINCE)
        .into_iter()
        .filter(|envelope| envelope.kind == MessageKind::Reminder)
        .collect();
    assert_eq!(sent.len(), 1);
    let response = federation
        .client_as_node(PROVINCE)
        .post(format!(
            "{}/federation/v1/messages",
            suzhou_node.federation_url()
        ))
        .header(zhibao_federation_protocol::PROTOCOL_VERSION_HEADER, "1")
        .json(&Delivery { envelopes: sent })
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let receipt: DeliveryReceipt = response.json().await.unwrap();
    assert!(receipt.refused.is_empty(), "{receipt:?}");
    assert_eq!(reminders(&federation, SUZHOU, &suzhou).await.len(), 1);

    // Not a child: Wuxi is in Jiangsu but no node below this province; a
    // city of another province; the nation naming a city.
    for (node, token, division) in [
        (PROVINCE, &province, "320200"),
        (PROVINCE, &province, "330100"),
        (PROVINCE, &province, "999999"),
        (NATION, &nation, "320100"),
    ] {
        let (status, answer) = urge(
            &federation,
            node,
            token,
            json!({"form": "G101", "period": "2025", "divisions": [division]}),
        )
        .await;
        assert_eq!(
            (status, code(&answer)),
            (404, Some("URG404")),
            "{node} {division}: {answer}"
        );
    }
    // An enterprise may not urge; a city urges units, not divisions; a
    // province urges bureaus, not units.
    let with_divisions = json!({"form": "G101", "period": "2025", "divisions": ["320100"]});
    let (status, answer) = urge(
        &federation,
        NANJING,
        &units[0].token,
        with_divisions.clone(),
    )
    .await;
    assert_eq!((status, code(&answer)), (403, Some("ACC005")), "{answer}");
    let (status, answer) = urge(&federation, NANJING, &nanjing, with_divisions).await;
    assert_eq!((status, code(&answer)), (403, Some("RV005")), "{answer}");
    let with_units = json!({"form": "G101", "period": "2025", "units": [units[0].code]});
    let (status, answer) = urge(&federation, PROVINCE, &province, with_units).await;
    assert_eq!((status, code(&answer)), (403, Some("RV005")), "{answer}");
    // The city's own urging is unchanged.
    let (status, answer) = urge(
        &federation,
        NANJING,
        &nanjing,
        json!({"form": "G101", "period": "2025"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["count"], units.len());
    assert_eq!(answer["divisions"], json!([]));

    // Without divisions: the children whose units still owe (Nanjing's units
    // reached the province and the nation through the registry changes).
    let expected = units.len() as u64;
    wait_until("the province counts Nanjing's units", DEADLINE, || {
        expected_in_row(&federation, PROVINCE, &province, "320100", expected)
    })
    .await;
    wait_until("the nation counts Jiangsu's units", DEADLINE, || {
        expected_in_row(&federation, NATION, &nation, "320000", expected)
    })
    .await;
    let default_body = json!({"form": "G101", "period": "2025"});
    let (status, answer) = urge(&federation, PROVINCE, &province, default_body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["divisions"], json!(["320100"]), "{answer}");
    let (status, answer) = urge(&federation, NATION, &nation, default_body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["divisions"], json!(["320000"]), "{answer}");
    wait_until("Nanjing has the province's reminder", DEADLINE, || async {
        reminders(&federation, NANJING, &nanjing).await.len() == 1
    })
    .await;
    wait_until(
        "the province has both of the nation's reminders",
        DEADLINE,
        || async { reminders(&federation, PROVINCE, &province).await.len() == 2 },
    )
    .await;
    assert_eq!(reminders(&federation, SUZHOU, &suzhou).await.len(), 1);

    // On record at each sender (the log's head repeats its last entry: count sequences).
    for node in [NATION, PROVINCE] {
        let urged: std::collections::BTreeSet<u64> = federation
            .node(node)
            .state
            .audit
            .entries
            .scan_prefix(&[])
            .filter_map(Result::ok)
            .filter(|(_, entry)| entry.action == "report.urge_bureaus")
            .map(|(_, entry)| entry.sequence)
            .collect();
        assert_eq!(urged.len(), 2, "{node}");
    }
    federation.shutdown().await;
}
