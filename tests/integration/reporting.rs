//! The reporting flow through the HTTP API across four real nodes: units fill,
//! check and submit; the city reviews (return with a deadline, resubmission,
//! approval); the province sends feedback answered by annotation; the nation
//! sends feedback answered by a return to the unit; at the end the nation
//! holds exactly what every unit submitted last.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use testkit::{DEADLINE, Federation, wait_until};
use zhibao_node::clock::Timestamp;
use zhibao_node::division::DivisionCode;

const FOUR: [&str; 4] = ["national", "province-320000", "city-320100", "city-320500"];

struct Api<'a> {
    federation: &'a Federation,
}

impl Api<'_> {
    async fn call(
        &self,
        node: &str,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let body = body.map_or(testkit::Body::Empty, testkit::Body::Json);
        self.federation.call(node, method, path, token, body).await
    }
}

/// A clean G101 (no rule fires) with COD emissions `cod`.
pub(crate) fn clean_values(cod: &str) -> Value {
    json!({
        "output_value": "1200.5", "production_hours": 8000, "production_status": "normal",
        "water_total": "1000", "water_fresh": "600", "water_reused": "400",
        "ww_discharged": "500", "ww_direct": "200", "ww_to_plant": "300",
        "cod_gen": "2.5", "cod_emit": cod, "nh3n_gen": "0.2", "nh3n_emit": "0.05"
    })
}

pub(crate) struct Unit {
    pub(crate) node: &'static str,
    pub(crate) code: String,
    pub(crate) token: String,
}

pub(crate) async fn units_with_logins(
    federation: &Federation,
    node: &'static str,
    count: usize,
) -> Vec<Unit> {
    let state = &federation.node(node).state;
    let units = zhibao_node::registry::sample::sample_units(state.config.division, count, 11)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .collect::<Vec<_>>();
    let outcome = zhibao_node::registry::flow::import_units(
        state,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units,
        "test",
        false,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let mut logged_in = Vec::new();
    for login in outcome.new_logins {
        let (status, answer) = federation
            .log_in(node, &login.username, &login.password)
            .await;
        assert_eq!(status, 200, "{answer}");
        logged_in.push(Unit {
            node,
            code: login.unit,
            token: answer["token"].as_str().unwrap().to_string(),
        });
    }
    logged_in
}

fn path(unit: &Unit, tail: &str) -> String {
    format!("/api/v1/reports/{}/G101/2025{tail}", unit.code)
}

fn review(unit: &Unit, action: &str) -> String {
    format!("/api/v1/review/{}/G101/2025/{action}", unit.code)
}

async fn fill_and_submit(api: &Api<'_>, unit: &Unit, cod: &str) {
    let (status, answer) = api
        .call(
            unit.node,
            "PUT",
            &path(unit, "/draft"),
            &unit.token,
            Some(json!({"values": clean_values(cod)})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = api
        .call(
            unit.node,
            "POST",
            &path(unit, "/submit"),
            &unit.token,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

async fn state_of(api: &Api<'_>, node: &str, unit: &Unit, token: &str) -> String {
    api.call(node, "GET", &path(unit, ""), token, None).await.1["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn wait_for_state(api: &Api<'_>, node: &str, unit: &Unit, token: &str, wanted: &str) {
    wait_until(
        &format!("{} reaches {wanted} at {node}", unit.code),
        DEADLINE,
        || async { state_of(api, node, unit, token).await == wanted },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_from_units_to_the_national_database() {
    let federation = Federation::start(&FOUR).await;
    let mut units = units_with_logins(&federation, "city-320100", 16).await;
    units.extend(units_with_logins(&federation, "city-320500", 12).await);
    assert!(units.len() >= 20, "dozens of units: {}", units.len());
    let api = Api {
        federation: &federation,
    };
    let nanjing = federation.token_of("city-320100", "reviewer").await;
    let suzhou = federation.token_of("city-320500", "reviewer").await;
    let province = federation.token_of("province-320000", "reviewer").await;
    let nation = federation.token_of("national", "reviewer").await;
    let city_token = |unit: &Unit| {
        if unit.node == "city-320100" {
            nanjing.clone()
        } else {
            suzhou.clone()
        }
    };

    // A warning without an explanation is refused; with one it passes.
    let warned = &units[0];
    let mut values = clean_values("0.5");
    values["cod_emit"] = json!("0"); // N005: wastewater discharged but no COD
    let (status, _) = api
        .call(
            warned.node,
            "PUT",
            &path(warned, "/draft"),
            &warned.token,
            Some(json!({"values": values.clone()})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, answer) = api
        .call(
            warned.node,
            "POST",
            &path(warned, "/submit"),
            &warned.token,
            None,
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    let rules: Vec<&str> = answer["error"]["details"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"N005"), "{rules:?}");
    let explanations: BTreeMap<&str, &str> = rules
        .iter()
        .map(|rule| (*rule, "本年污水全部回用，化学需氧量排放为零"))
        .collect();
    let (status, _) = api
        .call(
            warned.node,
            "PUT",
            &path(warned, "/draft"),
            &warned.token,
            Some(json!({"values": values, "explanations": explanations, "revision": 1})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, answer) = api
        .call(
            warned.node,
            "POST",
            &path(warned, "/submit"),
            &warned.token,
            Some(json!({"submission_id": "retry-me"})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    // A client retry after a timeout does not make a second version.
    let (status, again) = api
        .call(
            warned.node,
            "POST",
            &path(warned, "/submit"),
            &warned.token,
            Some(json!({"submission_id": "retry-me"})),
        )
        .await;
    assert_eq!(
        (status, again["version"].clone()),
        (200, answer["version"].clone())
    );

    // Every other unit submits a clean report with its own figure.
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    expected.insert(warned.code.clone(), "0".to_string());
    for (index, unit) in units.iter().enumerate().skip(1) {
        let cod = format!("0.{:03}", 100 + index * 13 % 800);
        fill_and_submit(&api, unit, &cod).await;
        expected.insert(unit.code.clone(), cod);
    }

    // The city may not decide before running the rules (R6).
    let returned = &units[1];
    let (status, answer) = api
        .call(
            returned.node,
            "POST",
            &review(returned, "approve"),
            &city_token(returned),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("RV002"))
    );

    // City review: one report goes back to its unit with a deadline and comes back corrected.
    let (status, _) = api
        .call(
            returned.node,
            "POST",
            &path(returned, "/check"),
            &city_token(returned),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let due = zhibao_node::metadata::period::beijing_time_text(
        Timestamp::now_from_system_clock().plus_seconds(7 * 86_400),
    );
    let (status, answer) = api
        .call(returned.node, "POST", &review(returned, "return"), &city_token(returned), Some(json!({"comments": [{"indicator": "cod_emit", "text": "请核实化学需氧量"}], "due": due[..10].to_string()})))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        state_of(&api, returned.node, returned, &returned.token).await,
        "returned"
    );
    fill_and_submit(&api, returned, "0.222").await;
    expected.insert(returned.code.clone(), "0.222".to_string());

    // The cities run the rules and approve everything.
    for unit in &units {
        let token = city_token(unit);
        let (status, _) = api
            .call(unit.node, "POST", &path(unit, "/check"), &token, None)
            .await;
        assert_eq!(status, 200);
        let (status, answer) = api
            .call(
                unit.node,
                "POST",
                &review(unit, "approve"),
                &token,
                Some(json!({"comment": "同意"})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }

    // The province: feedback on one report, answered by the city's annotation; the rest approved.
    let annotated = &units[2];
    wait_for_state(&api, "province-320000", annotated, &province, "submitted").await;
    api.call(
        "province-320000",
        "POST",
        &path(annotated, "/check"),
        &province,
        None,
    )
    .await;
    let (status, answer) = api
        .call("province-320000", "POST", &review(annotated, "feedback"), &province, Some(json!({"comments": [{"indicator": "cod_emit", "text": "与上年相比变化大，请说明"}]})))
        .await;
    assert_eq!(status, 200, "{answer}");
    wait_for_state(
        &api,
        annotated.node,
        annotated,
        &city_token(annotated),
        "feedback_received",
    )
    .await;
    let (status, _) = api
        .call(
            annotated.node,
            "POST",
            &review(annotated, "annotate"),
            &city_token(annotated),
            Some(json!({"text": "新增产能，已核实"})),
        )
        .await;
    assert_eq!(status, 200);
    for unit in &units {
        wait_for_state(&api, "province-320000", unit, &province, "submitted").await;
        api.call(
            "province-320000",
            "POST",
            &path(unit, "/check"),
            &province,
            None,
        )
        .await;
        let (status, answer) = api
            .call(
                "province-320000",
                "POST",
                &review(unit, "approve"),
                &province,
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    }

    // The nation: feedback on one report, answered by a return to the unit and a corrected version.
    let corrected = &units[3];
    wait_for_state(&api, "national", corrected, &nation, "submitted").await;
    api.call(
        "national",
        "POST",
        &path(corrected, "/check"),
        &nation,
        None,
    )
    .await;
    let (status, _) = api
        .call(
            "national",
            "POST",
            &review(corrected, "feedback"),
            &nation,
            Some(json!({"comments": [{"text": "请企业核实后重报"}]})),
        )
        .await;
    assert_eq!(status, 200);
    wait_for_state(
        &api,
        corrected.node,
        corrected,
        &city_token(corrected),
        "feedback_received",
    )
    .await;
    let (status, answer) = api
        .call(
            corrected.node,
            "POST",
            &review(corrected, "return"),
            &city_token(corrected),
            Some(json!({"comments": [{"text": "国家反馈：请核实"}], "due": due[..10].to_string()})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    fill_and_submit(&api, corrected, "0.333").await;
    expected.insert(corrected.code.clone(), "0.333".to_string());
    let token = city_token(corrected);
    api.call(
        corrected.node,
        "POST",
        &path(corrected, "/check"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        api.call(
            corrected.node,
            "POST",
            &review(corrected, "approve"),
            &token,
            Some(json!({}))
        )
        .await
        .0,
        200
    );
    wait_until(
        "the corrected version reaches the province",
        DEADLINE,
        || async {
            let answer = api
                .call(
                    "province-320000",
                    "GET",
                    &path(corrected, ""),
                    &province,
                    None,
                )
                .await
                .1;
            answer["received"]["report"]["version"] == 2 && answer["state"] == "submitted"
        },
    )
    .await;
    // The province sees what changed since the version it saw.
    let (_, answer) = api
        .call(
            "province-320000",
            "GET",
            &path(corrected, ""),
            &province,
            None,
        )
        .await;
    assert_eq!(
        answer["changes_since_previous_version"]["cod_emit"][1], "0.333",
        "{answer}"
    );
    api.call(
        "province-320000",
        "POST",
        &path(corrected, "/check"),
        &province,
        None,
    )
    .await;
    assert_eq!(
        api.call(
            "province-320000",
            "POST",
            &review(corrected, "approve"),
            &province,
            Some(json!({}))
        )
        .await
        .0,
        200
    );

    // The nation accepts everything; its database equals what the units submitted last.
    for unit in &units {
        wait_until(
            &format!("{} version at the nation", unit.code),
            DEADLINE,
            || async {
                let answer = api
                    .call("national", "GET", &path(unit, ""), &nation, None)
                    .await
                    .1;
                answer["state"] == "submitted"
                    && answer["received"]["report"]["values"]["cod_emit"]
                        == expected[&unit.code].as_str()
            },
        )
        .await;
        api.call("national", "POST", &path(unit, "/check"), &nation, None)
            .await;
        let (status, answer) = api
            .call(
                "national",
                "POST",
                &review(unit, "approve"),
                &nation,
                Some(json!({})),
            )
            .await;
        assert_eq!(
            (status, answer["state"].as_str()),
            (200, Some("accepted")),
            "{answer}"
        );
    }
    let national = &federation.node("national").state;
    let mut held: BTreeMap<String, String> = BTreeMap::new();
    for entry in national.review.received.scan_prefix(&[]) {
        let (_, received) = entry.unwrap();
        assert_eq!(received.state, zhibao_node::review::UpperState::Accepted);
        held.insert(
            received.report.unit.clone(),
            received.report.values["cod_emit"].clone(),
        );
    }
    assert_eq!(
        held, expected,
        "the national database equals what the units submitted last, every unit"
    );

    // The national totals equal the sum of the unit values, to the last digit.
    let thousandths: i64 = expected
        .values()
        .map(|value| {
            let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
            whole.parse::<i64>().unwrap() * 1000 + format!("{fraction:0<3}").parse::<i64>().unwrap()
        })
        .sum();
    let expected_total = format!("{}.{:03}", thousandths / 1000, thousandths % 1000)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string();
    let (status, totals) = api
        .call(
            "national",
            "GET",
            "/api/v1/aggregates?form=G101&period=2025&by=division&indicators=cod_emit",
            &nation,
            None,
        )
        .await;
    assert_eq!(status, 200, "{totals}");
    assert_eq!(
        totals["total"]["cod_emit"]["sum"],
        expected_total.as_str(),
        "{totals}"
    );
    assert_eq!(totals["total"]["cod_emit"]["reports"], expected.len());
    let jiangsu = totals["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["key"] == "320000")
        .unwrap();
    assert_eq!(
        jiangsu["totals"]["cod_emit"]["sum"],
        expected_total.as_str()
    );
    // Progress at the city: every expected unit's report is accepted.
    let (status, progress) = api
        .call(
            "city-320100",
            "GET",
            "/api/v1/progress?form=G101&period=2025",
            &nanjing,
            None,
        )
        .await;
    assert_eq!(status, 200, "{progress}");
    let accepted: u64 = progress["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["counts"]["accepted"].as_u64().unwrap())
        .sum();
    let expected_units: u64 = progress["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["counts"]["expected"].as_u64().unwrap())
        .sum();
    assert_eq!(accepted, expected_units, "{progress}");
    assert_eq!(
        accepted as usize,
        units
            .iter()
            .filter(|unit| unit.node == "city-320100")
            .count()
    );
    let _ = DivisionCode::nation();
    federation.shutdown().await;
}

/// R29's short path: a unit stopped all year fills the general section only
/// (production status `stopped`, 0 hours); every other indicator counts as 0,
/// so the national rules pass. Stopped with emissions is refused by N017.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_stopped_all_year_submits_the_general_section_only() {
    let federation = Federation::start(&["city-320100"]).await;
    let api = Api {
        federation: &federation,
    };
    let units = units_with_logins(&federation, "city-320100", 1).await;
    let unit = &units[0];
    let stopped_with_emissions = json!({"values": {
        "output_value": "0", "production_hours": 0, "production_status": "stopped", "cod_emit": "1.5"
    }});
    let (status, answer) = api
        .call(
            unit.node,
            "PUT",
            &path(unit, "/draft"),
            &unit.token,
            Some(stopped_with_emissions),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = api
        .call(unit.node, "POST", &path(unit, "/submit"), &unit.token, None)
        .await;
    assert_eq!(status, 422, "{answer}");
    let rules: Vec<&str> = answer["error"]["details"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"N017"), "{rules:?}");
    let general_only = json!({"values": {
        "output_value": "0", "production_hours": 0, "production_status": "stopped"
    }});
    let (status, answer) = api
        .call(
            unit.node,
            "PUT",
            &path(unit, "/draft"),
            &unit.token,
            Some(general_only),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = api
        .call(unit.node, "POST", &path(unit, "/submit"), &unit.token, None)
        .await;
    assert_eq!(status, 200, "{answer}");
    federation.shutdown().await;
}
