//! Standards across levels (R1, R14, R19, R23): a province's extension reaches
//! its cities and fires only there; a city cannot change a national rule; the
//! nation's calendar closes a window everywhere; a city grants one unit an
//! exception with a reason.

use serde_json::{Value, json};
use testkit::{DEADLINE, Federation, wait_until};
use zhibao_node::clock::Timestamp;

const FOUR: [&str; 4] = ["national", "province-320000", "city-320100", "city-320500"];

async fn call(
    federation: &Federation,
    node: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
    text: Option<String>,
) -> (u16, Value) {
    let body = match (body, text) {
        (Some(body), _) => testkit::Body::Json(body),
        (None, Some(text)) => testkit::Body::Text(text),
        (None, None) => testkit::Body::Empty,
    };
    federation.call(node, method, path, token, body).await
}

async fn rule_ids(federation: &Federation, node: &str, token: &str) -> Vec<String> {
    let (_, answer) = call(
        federation,
        node,
        "GET",
        "/api/v1/rules?form=G101",
        token,
        None,
        None,
    )
    .await;
    answer["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_travel_down_and_apply_only_inside_their_jurisdiction() {
    let federation = Federation::start(&FOUR).await;
    let province_admin = federation.token_of("province-320000", "admin").await;
    let nanjing_admin = federation.token_of("city-320100", "admin").await;
    let suzhou_admin = federation.token_of("city-320500", "admin").await;
    let jiangsu = include_str!("../../node/data/examples/province-320000.toml").to_string();
    let suzhou = include_str!("../../node/data/examples/city-320500.toml").to_string();

    // A dry run stores nothing.
    let (status, answer) = call(
        &federation,
        "province-320000",
        "POST",
        "/api/v1/metadata/releases?dry_run=true",
        &province_admin,
        None,
        Some(jiangsu.clone()),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["dry_run"], true);
    assert!(
        !rule_ids(&federation, "province-320000", &province_admin)
            .await
            .contains(&"JS-R1".to_string())
    );
    // A city may not publish a province's release.
    let (status, answer) = call(
        &federation,
        "city-320100",
        "POST",
        "/api/v1/metadata/releases",
        &nanjing_admin,
        None,
        Some(jiangsu.clone()),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("MD002")),
        "{answer}"
    );
    // Published: in force at the province and, over the federation, at both its cities.
    let (status, answer) = call(
        &federation,
        "province-320000",
        "POST",
        "/api/v1/metadata/releases",
        &province_admin,
        None,
        Some(jiangsu.clone()),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    for (city, token) in [
        ("city-320100", &nanjing_admin),
        ("city-320500", &suzhou_admin),
    ] {
        wait_until(&format!("JS-R1 in force at {city}"), DEADLINE, || async {
            rule_ids(&federation, city, token)
                .await
                .contains(&"JS-R1".to_string())
        })
        .await;
    }
    let (_, forms) = call(
        &federation,
        "city-320100",
        "GET",
        "/api/v1/forms/G101",
        &nanjing_admin,
        None,
        None,
    )
    .await;
    let added = forms["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|indicator| indicator["key"] == "js_curtailment_days")
        .unwrap()
        .clone();
    assert_eq!(added["origin"], "province:320000");
    // The same version again is refused.
    let (status, _) = call(
        &federation,
        "province-320000",
        "POST",
        "/api/v1/metadata/releases",
        &province_admin,
        None,
        Some(jiangsu),
    )
    .await;
    assert_eq!(status, 409);

    // Suzhou's own rule applies in Suzhou, not in Nanjing.
    let (status, answer) = call(
        &federation,
        "city-320500",
        "POST",
        "/api/v1/metadata/releases",
        &suzhou_admin,
        None,
        Some(suzhou),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        rule_ids(&federation, "city-320500", &suzhou_admin)
            .await
            .contains(&"SZ-R1".to_string())
    );
    assert!(
        !rule_ids(&federation, "city-320100", &nanjing_admin)
            .await
            .contains(&"SZ-R1".to_string())
    );

    // And they fire on the units' reports where they apply, only there.
    let findings_for = |node: &'static str| {
        let federation = &federation;
        async move {
            let state = &federation.node(node).state;
            let units = zhibao_node::registry::sample::sample_units(state.config.division, 3, 5)
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
            let login = &outcome.new_logins[0];
            let (_, answer) = federation
                .log_in(node, &login.username, &login.password)
                .await;
            let token = answer["token"].as_str().unwrap().to_string();
            let values = json!({"values": {"production_status": "normal", "production_hours": 8784, "js_curtailment_days": 10, "output_value": "100.0", "voc_emit": "5.000"}});
            let base = format!("/api/v1/reports/{}/G101/2025", login.unit);
            let (status, answer) = call(
                federation,
                node,
                "PUT",
                &format!("{base}/draft"),
                &token,
                Some(values),
                None,
            )
            .await;
            assert_eq!(status, 200, "{answer}");
            let (_, answer) = call(
                federation,
                node,
                "POST",
                &format!("{base}/check"),
                &token,
                None,
                None,
            )
            .await;
            answer["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|finding| finding["rule"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let in_nanjing = findings_for("city-320100").await;
    assert!(
        in_nanjing.contains(&"JS-R1".to_string()) && !in_nanjing.contains(&"SZ-R1".to_string()),
        "{in_nanjing:?}"
    );
    let in_suzhou = findings_for("city-320500").await;
    assert!(
        in_suzhou.contains(&"JS-R1".to_string()) && in_suzhou.contains(&"SZ-R1".to_string()),
        "{in_suzhou:?}"
    );

    // A city cannot redefine (or so switch off) a national rule.
    let overriding = "format_version = 1\norigin = \"city:320100\"\nversion = 1\n\n[[rules]]\nid = \"N003\"\nform = \"G101\"\nseverity = \"warning\"\nindicators = [\"cod_emit\"]\nexpression = \"true\"\nmessage_zh = \"总是通过\"\nmessage_en = \"always passes\"\n";
    let (status, answer) = call(
        &federation,
        "city-320100",
        "POST",
        "/api/v1/metadata/releases",
        &nanjing_admin,
        None,
        Some(overriding.to_string()),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("MD001")),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("N003"),
        "{answer}"
    );
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_calendar_closes_a_window_and_a_city_grants_an_exception() {
    let federation = Federation::start(&["national", "province-320000", "city-320100"]).await;
    let city = &federation.node("city-320100").state;
    let units = zhibao_node::registry::sample::sample_units(city.config.division, 4, 3)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .collect::<Vec<_>>();
    let outcome = zhibao_node::registry::flow::import_units(
        city,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units,
        "test",
        false,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let login = &outcome.new_logins[0];
    let (_, answer) = federation
        .log_in("city-320100", &login.username, &login.password)
        .await;
    let unit_token = answer["token"].as_str().unwrap().to_string();
    let national_admin = federation.token_of("national", "admin").await;
    let city_admin = federation.token_of("city-320100", "admin").await;

    // The nation closes 2025 G101 unit entry (it ended yesterday).
    let now = Timestamp::now_from_system_clock().0;
    let day = 86_400_000;
    let window = |stage: &str, closes: i64| json!({"stage": stage, "opens_at": now - 60 * day, "closes_at": closes});
    let calendar = json!({"schedules": [{"period": "2025", "form": "G101", "windows": [
        window("unit_entry", now - day), window("city_review", now + 30 * day), window("province_review", now + 40 * day), window("national_review", now + 50 * day)
    ], "exceptions": []}]});
    let (status, answer) = call(
        &federation,
        "national",
        "PUT",
        "/api/v1/periods/calendar",
        &national_admin,
        Some(calendar),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let draft_path = format!("/api/v1/reports/{}/G101/2025/draft", login.unit);
    let values = json!({"values": {"production_status": "normal", "production_hours": 8000}});
    wait_until(
        "the city applies the national calendar",
        DEADLINE,
        || async {
            call(
                &federation,
                "city-320100",
                "PUT",
                &draft_path,
                &unit_token,
                Some(values.clone()),
                None,
            )
            .await
            .0 == 409
        },
    )
    .await;
    let (status, answer) = call(
        &federation,
        "city-320100",
        "PUT",
        &draft_path,
        &unit_token,
        Some(values.clone()),
        None,
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("RPT003"))
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("企业填报"),
        "names the window: {answer}"
    );

    // The city lets this unit report for three more days, with a reason.
    let exception = json!({"unit": login.unit, "form": "G101", "period": "2025", "stage": "unit_entry", "until_ms": now + 3 * day, "reason": "厂区停电，系统无法登录"});
    let (status, answer) = call(
        &federation,
        "city-320100",
        "POST",
        "/api/v1/periods/exceptions",
        &city_admin,
        Some(exception),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = call(
        &federation,
        "city-320100",
        "PUT",
        &draft_path,
        &unit_token,
        Some(values),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    // Another unit is still refused.
    let other = &outcome.new_logins[1];
    let (_, answer) = federation
        .log_in("city-320100", &other.username, &other.password)
        .await;
    let other_token = answer["token"].as_str().unwrap().to_string();
    let other_path = format!("/api/v1/reports/{}/G101/2025/draft", other.unit);
    assert_eq!(
        call(
            &federation,
            "city-320100",
            "PUT",
            &other_path,
            &other_token,
            Some(json!({"values": {}})),
            None
        )
        .await
        .0,
        409
    );
    federation.shutdown().await;
}
