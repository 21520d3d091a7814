//! County work (R34) over the API: a city admin makes a county user; the
//! county proposes this quarter's key-industry and suspension changes for
//! units of its county (all or none); the city confirms one (the registry
//! changes, with the county's reason in its history) and rejects another
//! with a note; nobody else may decide, and nothing is decided twice.

use serde_json::{Value, json};
use testkit::{Body, Federation};
use zhibao_node::clock::Timestamp;

const CITY: &str = "city-320100";

async fn county_user(federation: &Federation, admin: &str, county: &str) -> String {
    let body = Body::Json(
        json!({"username": format!("county{county}"), "role": "county", "county": county}),
    );
    let (status, made) = federation
        .call(CITY, "POST", "/api/v1/accounts", admin, body)
        .await;
    assert_eq!(status, 200, "{made}");
    assert_eq!(made["account"]["county"], county);
    let username = made["account"]["username"].as_str().unwrap().to_string();
    let password = made["password"].as_str().unwrap().to_string();
    let (status, session) = federation.log_in(CITY, &username, &password).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["must_change_password"], true);
    let token = session["token"].as_str().unwrap();
    let change =
        Body::Json(json!({"old_password": password, "new_password": testkit::CHANGED_PASSWORD}));
    let (status, answer) = federation
        .call(CITY, "POST", "/api/v1/session/password", token, change)
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, session) = federation
        .log_in(CITY, &username, testkit::CHANGED_PASSWORD)
        .await;
    assert_eq!(status, 200);
    session["token"].as_str().unwrap().to_string()
}

async fn unit(federation: &Federation, token: &str, code: &str) -> Value {
    let (status, answer) = federation
        .call(
            CITY,
            "GET",
            &format!("/api/v1/units/{code}?period=2025"),
            token,
            Body::Empty,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_proposes_its_quarterly_changes_and_the_city_decides() {
    let federation = Federation::start(&["province-320000", CITY]).await;
    let state = &federation.node(CITY).state;
    let units = zhibao_node::registry::sample::sample_units(state.config.division, 40, 5)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .collect::<Vec<_>>();
    let county = units[0].county;
    let in_county: Vec<_> = units.iter().filter(|unit| unit.county == county).collect();
    let elsewhere = units.iter().find(|unit| unit.county != county).unwrap();
    assert!(in_county.len() >= 2, "two units in {county}");
    let (first, second) = (in_county[0], in_county[1]);
    zhibao_node::registry::flow::import_units(
        state,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        units.clone(),
        "test",
        false,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let admin = federation.token_of(CITY, "admin").await;
    let reviewer = federation.token_of(CITY, "reviewer").await;

    // Accounts an admin may not make.
    for (body, field) in [
        (json!({"username": "boss2", "role": "admin"}), "role"),
        (
            json!({"username": "far", "role": "county", "county": "320502"}),
            "county",
        ),
        (json!({"username": "x", "role": "reviewer"}), "username"),
    ] {
        let (status, answer) = federation
            .call(CITY, "POST", "/api/v1/accounts", &admin, Body::Json(body))
            .await;
        assert_eq!(
            (status, answer["error"]["details"]["field"].as_str()),
            (400, Some(field)),
            "{answer}"
        );
    }
    let county_token = county_user(&federation, &admin, &county.to_string()).await;
    let again = Body::Json(
        json!({"username": format!("county{county}"), "role": "county", "county": county.to_string()}),
    );
    let (status, answer) = federation
        .call(CITY, "POST", "/api/v1/accounts", &admin, again)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("ACC008"))
    );

    // Proposals: all checked, stored together, or none.
    let key_industry = !second.key_industry;
    let proposals = json!({"period": "2025", "changes": [
        {"unit": first.code.as_str(), "change": {"change": "suspend", "reason": "stopped_for_remediation"}, "why": "停产整治"},
        {"unit": second.code.as_str(), "change": {"change": "set_key_industry", "key_industry": key_industry}, "why": "列入重点行业名单"},
    ]});
    let bad_batches = [
        (
            json!({"unit": elsewhere.code.as_str(), "change": {"change": "close"}, "why": "注销"}),
            404,
        ),
        (
            json!({"unit": first.code.as_str(), "change": {"change": "set_liaison", "liaison": "张三"}, "why": "换人"}),
            400,
        ),
        (
            json!({"unit": first.code.as_str(), "change": {"change": "resume"}, "why": "复产"}),
            409,
        ),
    ];
    for (bad, status_wanted) in bad_batches {
        let mut batch = proposals.clone();
        batch["changes"].as_array_mut().unwrap().push(bad);
        let (status, answer) = federation
            .call(
                CITY,
                "POST",
                "/api/v1/registry/proposals",
                &county_token,
                Body::Json(batch),
            )
            .await;
        assert_eq!(status, status_wanted, "{answer}");
    }
    let (_, listed) = federation
        .call(
            CITY,
            "GET",
            "/api/v1/registry/proposals",
            &county_token,
            Body::Empty,
        )
        .await;
    assert_eq!(listed["count"], 0, "a refused batch stores nothing");
    let (status, made) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/registry/proposals",
            &county_token,
            Body::Json(proposals),
        )
        .await;
    assert_eq!(status, 200, "{made}");
    let ids: Vec<String> = made["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    let (_, pending) = federation
        .call(
            CITY,
            "GET",
            "/api/v1/registry/proposals?pending=true",
            &reviewer,
            Body::Empty,
        )
        .await;
    assert_eq!(pending["count"], 2);
    // Only a city admin decides.
    let confirm_first = format!("/api/v1/registry/proposals/{}/confirm", ids[0]);
    assert_eq!(
        federation
            .call(CITY, "POST", &confirm_first, &county_token, Body::Empty)
            .await
            .0,
        403
    );
    assert_eq!(
        federation
            .call(CITY, "POST", &confirm_first, &reviewer, Body::Empty)
            .await
            .0,
        403
    );
    // Confirmed: the registry changes with the county's reason; once only.
    let (status, answer) = federation
        .call(CITY, "POST", &confirm_first, &admin, Body::Empty)
        .await;
    assert_eq!(status, 200, "{answer}");
    let suspended = unit(&federation, &admin, first.code.as_str()).await;
    assert_eq!(suspended["status"], "suspended", "{suspended}");
    assert_eq!(suspended["suspension_reason"], "停产整治");
    let (status, answer) = federation
        .call(CITY, "POST", &confirm_first, &admin, Body::Empty)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("REG004"))
    );
    // Rejected with a note (a rejection without one is refused); the unit is unchanged.
    let reject_second = format!("/api/v1/registry/proposals/{}/reject", ids[1]);
    assert_eq!(
        federation
            .call(CITY, "POST", &reject_second, &admin, Body::Empty)
            .await
            .0,
        400
    );
    let note = Body::Json(json!({"note": "该企业不属于重点行业，请核实"}));
    let (status, answer) = federation
        .call(CITY, "POST", &reject_second, &admin, note)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["proposal"]["decision"]["confirmed"], false);
    assert_eq!(
        unit(&federation, &admin, second.code.as_str()).await["key_industry"],
        second.key_industry
    );
    let (_, seen_by_county) = federation
        .call(
            CITY,
            "GET",
            "/api/v1/registry/proposals",
            &county_token,
            Body::Empty,
        )
        .await;
    assert!(
        seen_by_county["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["decision"].is_null())
    );
    // An enterprise is not a county.
    let body = Body::Json(json!({"period": "2025", "changes": []}));
    let (status, _) = federation
        .call(CITY, "POST", "/api/v1/registry/proposals", &admin, body)
        .await;
    assert_eq!(status, 403);
    federation.shutdown().await;
}
