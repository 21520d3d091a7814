//! Lineage (R28) over the API: a renamed unit (same organisation, new credit
//! code) is suggested as the continuation of last year's unit, a city admin
//! confirms it, and from then on the rules' `prev` reads the old unit's report.

use serde_json::{Value, json};
use testkit::{Body, Federation, valid_credit_code};
use zhibao_node::clock::Timestamp;
use zhibao_node::registry::PeriodId;

const CITY: &str = "city-320100";

/// A G101 that no rule flags on its own; `output_value` varies.
fn values(output_value: &str) -> Value {
    json!({
        "output_value": output_value, "production_hours": 8000, "production_status": "normal",
        "water_total": "1000", "water_fresh": "600", "water_reused": "400",
        "ww_discharged": "500", "ww_direct": "200", "ww_to_plant": "300",
        "cod_gen": "2.5", "cod_emit": "0.4", "nh3n_gen": "0.2", "nh3n_emit": "0.05"
    })
}

fn rule_ids(answer: &Value) -> Vec<String> {
    answer["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {answer}"))
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_link_is_suggested_stored_audited_and_followed_by_the_rules() {
    let federation = Federation::start(&[CITY]).await;
    let state = &federation.node(CITY).state;
    let now = Timestamp::now_from_system_clock();
    let old_unit =
        zhibao_node::registry::sample::sample_units(state.config.division, 1, 3).remove(0);
    let county = old_unit.county.to_string();
    let new_code = valid_credit_code(&county, 777);
    let new_unit = zhibao_node::registry::SurveyUnit {
        code: zhibao_node::registry::UnitCode::parse(&new_code).unwrap(),
        ..old_unit.clone()
    };
    let old_code = old_unit.code.as_str().to_string();
    // Last year: the old unit with its approved-size report; this year: the same unit under a new code.
    zhibao_node::registry::flow::import_units(
        state,
        PeriodId::parse("2024").unwrap(),
        vec![old_unit],
        "test",
        false,
        now,
    )
    .await
    .unwrap();
    let logins = zhibao_node::registry::flow::import_units(
        state,
        PeriodId::parse("2025").unwrap(),
        vec![new_unit],
        "test",
        false,
        now,
    )
    .await
    .unwrap()
    .new_logins;
    let last_year = zhibao_node::report::ReportKey {
        unit: old_code.clone(),
        form: "G101".into(),
        period: "2024".into(),
    };
    let content = zhibao_node::report::ReportContent {
        values: values("100")
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string);
                (key.clone(), text)
            })
            .collect(),
        rows: Vec::new(),
        explanations: Default::default(),
    };
    state
        .reports
        .save_draft(&state.store, &last_year, content, None, "test", now)
        .unwrap();
    state
        .reports
        .submit(&state.store, &state.audit, &last_year, None, "test", now)
        .unwrap();
    state.store.commit_durable().await.unwrap();

    let unit_token = federation
        .log_in(CITY, &logins[0].username, &logins[0].password)
        .await
        .1["token"]
        .as_str()
        .unwrap()
        .to_string();
    let draft = format!("/api/v1/reports/{new_code}/G101/2025/draft");
    let check = format!("/api/v1/reports/{new_code}/G101/2025/check");
    let saved = federation
        .call(
            CITY,
            "PUT",
            &draft,
            &unit_token,
            Body::Json(json!({"values": values("1200.5")})),
        )
        .await;
    assert_eq!(saved.0, 200, "{}", saved.1);
    // Unlinked, the new code has no last year: the growth rule has nothing to compare.
    let checked = federation
        .call(CITY, "POST", &check, &unit_token, Body::Empty)
        .await;
    assert_eq!(checked.0, 200, "{}", checked.1);
    assert!(
        !rule_ids(&checked.1).contains(&"N016".to_string()),
        "{}",
        checked.1
    );

    // Bureau users see the suggestion, with its reason and score.
    let reviewer = federation.token_of(CITY, "reviewer").await;
    let admin = federation.token_of(CITY, "admin").await;
    let suggestions = federation
        .call(
            CITY,
            "GET",
            "/api/v1/registry/lineage/suggestions?period=2025",
            &reviewer,
            Body::Empty,
        )
        .await;
    assert_eq!(suggestions.0, 200, "{}", suggestions.1);
    let found = &suggestions.1["suggestions"];
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["previous"], old_code.as_str());
    assert_eq!(found[0]["current"], new_code.as_str());
    assert_eq!(found[0]["reason"], "same_name");
    assert!(found[0]["score"].as_f64().unwrap() > 0.9);
    assert_eq!(suggestions.1["previous_period"], "2024");

    // Malformed, foreign and forbidden confirmations are refused, naming the field.
    let confirm = |token: String, body: Value| {
        let federation = &federation;
        async move {
            federation
                .call(
                    CITY,
                    "POST",
                    "/api/v1/registry/lineage",
                    &token,
                    Body::Json(body),
                )
                .await
        }
    };
    let suzhou_code = valid_credit_code("320505", 1);
    for (body, status, code, field) in [
        (
            json!({"current": new_code, "previous": old_code, "kind": "bogus"}),
            400,
            "GEN400",
            Some("kind"),
        ),
        (
            json!({"current": "123", "previous": old_code, "kind": "renamed"}),
            400,
            "GEN400",
            Some("current"),
        ),
        (
            json!({"current": new_code, "kind": "renamed"}),
            400,
            "GEN400",
            Some("previous"),
        ),
        (
            json!({"current": new_code, "previous": new_code, "kind": "renamed"}),
            400,
            "GEN400",
            Some("previous"),
        ),
        (
            json!({"current": new_code, "previous": suzhou_code, "kind": "renamed"}),
            404,
            "GEN404",
            None,
        ),
    ] {
        let refused = confirm(admin.clone(), body.clone()).await;
        assert_eq!(
            (refused.0, refused.1["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {}",
            refused.1
        );
        if let Some(field) = field {
            assert_eq!(
                refused.1["error"]["details"]["field"], field,
                "{}",
                refused.1
            );
        }
    }
    let by_reviewer = confirm(
        reviewer.clone(),
        json!({"current": new_code, "previous": old_code, "kind": "renamed"}),
    )
    .await;
    assert_eq!(by_reviewer.0, 403);

    let confirmed = confirm(
        admin.clone(),
        json!({"current": new_code, "previous": old_code, "kind": "renamed"}),
    )
    .await;
    assert_eq!(confirmed.0, 200, "{}", confirmed.1);
    assert_eq!(confirmed.1["kind"], "renamed");
    // The reverse link would be a cycle.
    let cycle = confirm(
        admin.clone(),
        json!({"current": old_code, "previous": new_code, "kind": "renamed"}),
    )
    .await;
    assert_eq!(
        (cycle.0, cycle.1["error"]["code"].as_str()),
        (409, Some("REG001")),
        "{}",
        cycle.1
    );
    // Stored durably: it survives a restart of the node, is audited and no longer suggested.
    let mut federation = federation;
    federation.restart(CITY).await;
    let state = &federation.node(CITY).state;
    assert_eq!(
        state
            .registry
            .history_chain(&zhibao_node::registry::UnitCode::parse(&new_code).unwrap())
            .unwrap()
            .len(),
        2
    );
    let audited = state
        .audit
        .entries
        .scan_prefix(&[])
        .map(|entry| entry.unwrap().1)
        .filter(|entry| entry.action == "registry.lineage_confirm")
        .count();
    assert!(audited >= 1, "the confirmation is in the audit log");
    let suggestions = federation
        .call(
            CITY,
            "GET",
            "/api/v1/registry/lineage/suggestions",
            &reviewer,
            Body::Empty,
        )
        .await;
    assert_eq!(suggestions.1["suggestions"], json!([]), "{}", suggestions.1);

    // Now last year's report of the old code is the renamed unit's `prev`.
    let checked = federation
        .call(CITY, "POST", &check, &unit_token, Body::Empty)
        .await;
    assert_eq!(checked.0, 200, "{}", checked.1);
    assert!(
        rule_ids(&checked.1).contains(&"N016".to_string()),
        "{}",
        checked.1
    );
    federation.shutdown().await;
}
