//! Progress summaries (上报进度): each city counts where its units stand and
//! sends the counts up; the province and the nation show every city's (every
//! province's) not started, drafts, submitted and returned exactly, a tick
//! with nothing new sends nothing, and a summary that is not the sender's own
//! is refused.

use serde_json::{Value, json};
use testkit::{DEADLINE, Federation, identity_of, wait_until};
use zhibao_federation_protocol::messages::ProgressSummary;
use zhibao_node::clock::Timestamp;
use zhibao_node::federation::outbound::OutgoingMessage;
use zhibao_node::progress::flow::run_progress_summary_tick;

use crate::reporting::{Unit, clean_values, units_with_logins};

const FOUR: [&str; 4] = ["national", "province-320000", "city-320100", "city-320500"];

fn report_path(unit: &Unit, tail: &str) -> String {
    format!("/api/v1/reports/{}/G101/2025{tail}", unit.code)
}

async fn ok(
    federation: &Federation,
    node: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) {
    let (status, answer) = federation
        .call(node, method, path, token, testkit::Body::Json(body))
        .await;
    assert_eq!(status, 200, "{method} {path}: {answer}");
}

async fn draft(federation: &Federation, unit: &Unit) {
    let body = json!({"values": clean_values("0.5")});
    ok(
        federation,
        unit.node,
        "PUT",
        &report_path(unit, "/draft"),
        &unit.token,
        body,
    )
    .await;
}

async fn submit(federation: &Federation, unit: &Unit) {
    draft(federation, unit).await;
    let path = report_path(unit, "/submit");
    ok(federation, unit.node, "POST", &path, &unit.token, json!({})).await;
}

async fn return_to_unit(federation: &Federation, unit: &Unit, reviewer: &str) {
    submit(federation, unit).await;
    ok(
        federation,
        unit.node,
        "POST",
        &report_path(unit, "/check"),
        reviewer,
        json!({}),
    )
    .await;
    let due = zhibao_node::metadata::period::beijing_time_text(
        Timestamp::now_from_system_clock().plus_seconds(7 * 86_400),
    );
    let path = format!("/api/v1/review/{}/G101/2025/return", unit.code);
    let body = json!({"comments": [{"text": "请核实"}], "due": due[..10].to_string()});
    ok(federation, unit.node, "POST", &path, reviewer, body).await;
}

/// Where the city's units stand, as the city itself counts them (all counties together).
async fn own_counts(federation: &Federation, node: &str, token: &str) -> Value {
    let (status, answer) = federation
        .call(
            node,
            "GET",
            "/api/v1/progress?form=G101&period=2025",
            token,
            testkit::Body::Empty,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let mut total = json!({});
    for row in answer["rows"].as_array().unwrap() {
        for (state, count) in row["counts"].as_object().unwrap() {
            let sum = total[state].as_u64().unwrap_or(0) + count.as_u64().unwrap();
            total[state] = json!(sum);
        }
    }
    total
}

/// The row of `division` in a node's `GET /api/v1/progress` (with `query` appended).
async fn progress_row(federation: &Federation, node: &str, token: &str, division: &str) -> Value {
    let (status, answer) = federation
        .call(
            node,
            "GET",
            "/api/v1/progress?form=G101&period=2025",
            token,
            testkit::Body::Empty,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["division"] == division)
        .cloned()
        .unwrap_or(Value::Null)
}

fn plus(a: &Value, b: &Value) -> Value {
    let mut sum = json!({});
    for (state, count) in a.as_object().unwrap() {
        sum[state] = json!(count.as_u64().unwrap() + b[state].as_u64().unwrap());
    }
    sum
}

/// Messages a node has queued to its parent so far.
fn queued_upward(federation: &Federation, node: &str) -> u64 {
    let state = &federation.node(node).state;
    let parent = state.config.parent.as_ref().unwrap().identity.to_uri();
    state
        .federation
        .trees
        .next_sequence
        .get(parent.as_bytes())
        .unwrap()
        .map_or(0, |counter| counter.0)
}

/// The refusal codes a node's parent sent back on its link.
fn refusals_from_parent(federation: &Federation, node: &str) -> Vec<(String, String)> {
    let state = &federation.node(node).state;
    let parent = state.config.parent.as_ref().unwrap().identity.to_uri();
    state
        .federation
        .trees
        .delivery
        .get(parent.as_bytes())
        .unwrap()
        .map(|status| {
            status
                .recent_refusals
                .into_iter()
                .map(|refusal| (refusal.code, refusal.reason))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_province_and_the_nation_see_every_citys_drafts_and_returns() {
    let federation = Federation::start(&FOUR).await;
    let nanjing_units = units_with_logins(&federation, "city-320100", 12).await;
    let suzhou_units = units_with_logins(&federation, "city-320500", 9).await;
    assert!(
        nanjing_units.len() >= 6 && suzhou_units.len() >= 4,
        "{} and {} active units",
        nanjing_units.len(),
        suzhou_units.len()
    );
    let nanjing = federation.token_of("city-320100", "reviewer").await;
    let suzhou = federation.token_of("city-320500", "reviewer").await;
    let province = federation.token_of("province-320000", "reviewer").await;
    let nation = federation.token_of("national", "reviewer").await;

    // Nanjing: a draft, two submitted, one returned, the rest not started.
    draft(&federation, &nanjing_units[0]).await;
    submit(&federation, &nanjing_units[1]).await;
    submit(&federation, &nanjing_units[2]).await;
    return_to_unit(&federation, &nanjing_units[3], &nanjing).await;
    // Suzhou: two drafts, one submitted, the rest not started.
    draft(&federation, &suzhou_units[0]).await;
    draft(&federation, &suzhou_units[1]).await;
    submit(&federation, &suzhou_units[2]).await;

    let nanjing_counts = own_counts(&federation, "city-320100", &nanjing).await;
    let suzhou_counts = own_counts(&federation, "city-320500", &suzhou).await;
    let not_started = nanjing_units.len() as u64 - 4;
    assert_eq!(
        nanjing_counts,
        json!({"expected": nanjing_units.len(), "not_started": not_started, "draft": 1,
               "submitted": 2, "returned": 1, "approved": 0, "accepted": 0, "suspended": 0})
    );
    assert_eq!(
        (
            suzhou_counts["draft"].as_u64(),
            suzhou_counts["submitted"].as_u64()
        ),
        (Some(2), Some(1))
    );

    let nanjing_at = Timestamp::now_from_system_clock();
    let tick = run_progress_summary_tick(&federation.node("city-320100").state, nanjing_at)
        .await
        .unwrap();
    assert!(
        tick.sent >= 1 || queued_upward(&federation, "city-320100") > 0,
        "{tick:?}"
    );
    let suzhou_at = Timestamp(nanjing_at.0 + 1);
    run_progress_summary_tick(&federation.node("city-320500").state, suzhou_at)
        .await
        .unwrap();

    // The province: one row per city, from its summary, exactly.
    for (city, counts) in [("320100", &nanjing_counts), ("320500", &suzhou_counts)] {
        wait_until(
            &format!("the province shows {city}'s summary"),
            DEADLINE,
            || async {
                let row = progress_row(&federation, "province-320000", &province, city).await;
                row["source"] == "summaries" && &row["counts"] == counts
            },
        )
        .await;
    }
    let row = progress_row(&federation, "province-320000", &province, "320100").await;
    assert!(row["as_of_ms"].as_i64().unwrap() >= nanjing_at.0, "{row}");

    // The nation: Jiangsu is both cities' summaries added up.
    let both = plus(&nanjing_counts, &suzhou_counts);
    wait_until(
        "the nation shows Jiangsu from both summaries",
        DEADLINE,
        || async {
            let row = progress_row(&federation, "national", &nation, "320000").await;
            row["source"] == "summaries" && row["counts"] == both
        },
    )
    .await;
    let row = progress_row(&federation, "national", &nation, "320000").await;
    assert!(row["as_of_ms"].as_i64().unwrap() >= nanjing_at.0, "{row}");

    // The late units of a chosen city, from its summary, at the nation.
    let (status, answer) = federation
        .call(
            "national",
            "GET",
            "/api/v1/progress?form=G101&period=2025&city=320100",
            &nation,
            testkit::Body::Empty,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let late: Vec<(&str, &str)> = answer["city"]["late_units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|unit| {
            (
                unit["unit"].as_str().unwrap(),
                unit["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        late.contains(&(nanjing_units[0].code.as_str(), "draft")),
        "{late:?}"
    );
    assert!(
        late.contains(&(nanjing_units[3].code.as_str(), "returned")),
        "{late:?}"
    );
    assert!(
        late.contains(&(nanjing_units[4].code.as_str(), "not_started")),
        "{late:?}"
    );
    assert_eq!(late.len() as u64, not_started + 2);
    assert!(answer["late_bureaus"].is_array(), "{answer}");
    // The page shows the same, and the chosen city's late units.
    let page = federation
        .web_client()
        .get(format!(
            "{}/progress?form=G101&period=2025&city=320100",
            federation.node("national").web_url()
        ))
        .bearer_auth(&nation)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("id=\"city-late-units\""), "{page}");
    assert!(page.contains(&nanjing_units[3].code), "{page}");

    // Nothing changed: a second tick queues nothing.
    let queued = queued_upward(&federation, "city-320100");
    let later = Timestamp(nanjing_at.0 + 600_000);
    let tick = run_progress_summary_tick(&federation.node("city-320100").state, later)
        .await
        .unwrap();
    assert_eq!(tick.sent, 0, "{tick:?}");
    assert_eq!(queued_upward(&federation, "city-320100"), queued);

    // A draft submitted changes the counts: the next tick sends them.
    submit(&federation, &nanjing_units[0]).await;
    let tick = run_progress_summary_tick(&federation.node("city-320100").state, later)
        .await
        .unwrap();
    assert_eq!(tick.sent, 1, "{tick:?}");
    wait_until(
        "the province shows Nanjing's new counts",
        DEADLINE,
        || async {
            let row = progress_row(&federation, "province-320000", &province, "320100").await;
            row["counts"]["draft"] == 0 && row["counts"]["submitted"] == 3
        },
    )
    .await;
    federation.shutdown().await;
}

fn summary_of(city: &str, computed_at_ms: i64) -> ProgressSummary {
    ProgressSummary {
        city: city.to_string(),
        form: "G101".to_string(),
        period: "2025".to_string(),
        computed_at_ms,
        counties: vec![],
        late_units: vec![],
        late_total: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_that_is_not_the_senders_own_is_refused() {
    let federation = Federation::start(&FOUR).await;
    let now = Timestamp::now_from_system_clock();
    // Nanjing writing Suzhou's summary; the province writing one of its own.
    let foreign = OutgoingMessage::new(
        identity_of("province-320000"),
        &summary_of("320500", now.0),
        vec![],
    )
    .unwrap();
    zhibao_node::federation::queue_messages(&federation.node("city-320100").state, &[foreign], now)
        .await
        .unwrap();
    let forged = OutgoingMessage::new(
        identity_of("national"),
        &summary_of("320100", now.0),
        vec![],
    )
    .unwrap();
    zhibao_node::federation::queue_messages(
        &federation.node("province-320000").state,
        &[forged],
        now,
    )
    .await
    .unwrap();
    wait_until(
        "the province refuses Nanjing's summary of Suzhou",
        DEADLINE,
        || async {
            refusals_from_parent(&federation, "city-320100")
                .iter()
                .any(|(code, reason)| code == "FED021" && reason.contains("320500"))
        },
    )
    .await;
    wait_until(
        "the nation refuses the province's own summary",
        DEADLINE,
        || async {
            refusals_from_parent(&federation, "province-320000")
                .iter()
                .any(|(code, reason)| code == "FED021" && reason.contains("relay"))
        },
    )
    .await;
    for node in ["province-320000", "national"] {
        let held = &federation.node(node).state.progress;
        assert!(
            held.of_form_period("G101", "2025").unwrap().is_empty(),
            "{node} kept a refused summary"
        );
    }
    federation.shutdown().await;
}
