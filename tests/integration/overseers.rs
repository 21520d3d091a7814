//! Read-only overseers at the national node: a group company (R41) sees the
//! units the registry names as its subsidiaries, in any city, and their
//! reports, nothing else; a supervision centre (R42) sees the units of its
//! provinces. Neither may act: totals, urging, accounts and decisions are refused.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use testkit::{Body, DEADLINE, Federation, wait_until};
use zhibao_node::clock::Timestamp;

const NATION: &str = "national";
const GROUP: &str = "中国石化集团有限公司";

async fn import_with_group(
    federation: &Federation,
    city: &str,
    count: usize,
    grouped: usize,
) -> Vec<(String, bool)> {
    let state = &federation.node(city).state;
    let mut units = zhibao_node::registry::sample::sample_units(state.config.division, count, 31)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .collect::<Vec<_>>();
    for (index, unit) in units.iter_mut().enumerate() {
        unit.group_company = (index < grouped).then(|| GROUP.to_string());
    }
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
    units
        .iter()
        .map(|unit| (unit.code.as_str().to_string(), unit.group_company.is_some()))
        .collect()
}

async fn overseer(federation: &Federation, admin: &str, body: Value) -> String {
    let (status, made) = federation
        .call(NATION, "POST", "/api/v1/accounts", admin, Body::Json(body))
        .await;
    assert_eq!(status, 200, "{made}");
    let username = made["account"]["username"].as_str().unwrap().to_string();
    let password = made["password"].as_str().unwrap().to_string();
    let (_, session) = federation.log_in(NATION, &username, &password).await;
    let token = session["token"].as_str().unwrap().to_string();
    let change =
        Body::Json(json!({"old_password": password, "new_password": testkit::CHANGED_PASSWORD}));
    assert_eq!(
        federation
            .call(NATION, "POST", "/api/v1/session/password", &token, change)
            .await
            .0,
        200
    );
    let (status, session) = federation
        .log_in(NATION, &username, testkit::CHANGED_PASSWORD)
        .await;
    assert_eq!(status, 200, "{session}");
    session["token"].as_str().unwrap().to_string()
}

fn codes(answer: &Value) -> BTreeSet<String> {
    answer["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|unit| unit["credit_code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_company_and_a_supervision_centre_see_only_theirs_and_change_nothing() {
    let federation =
        Federation::start(&[NATION, "province-320000", "city-320100", "city-320500"]).await;
    let mut units = import_with_group(&federation, "city-320100", 6, 2).await;
    units.extend(import_with_group(&federation, "city-320500", 4, 1).await);
    let admin = federation.token_of(NATION, "admin").await;
    wait_until("the nation holds every unit", DEADLINE, || async {
        let (_, answer) = federation
            .call(
                NATION,
                "GET",
                "/api/v1/units?period=2025",
                &admin,
                Body::Empty,
            )
            .await;
        answer["units"]
            .as_array()
            .is_some_and(|listed| listed.len() == units.len())
    })
    .await;

    // Accounts an admin may not make.
    for (body, field) in [
        (json!({"username": "nogroup", "role": "group"}), "group"),
        (
            json!({"username": "badcentre", "role": "supervision", "provinces": ["320100"]}),
            "provinces",
        ),
        (
            json!({"username": "nocentre", "role": "supervision", "provinces": []}),
            "provinces",
        ),
    ] {
        let (status, answer) = federation
            .call(NATION, "POST", "/api/v1/accounts", &admin, Body::Json(body))
            .await;
        assert_eq!(
            (status, answer["error"]["details"]["field"].as_str()),
            (400, Some(field)),
            "{answer}"
        );
    }

    // The group company: its three subsidiaries in two cities, and their reports.
    let group = overseer(
        &federation,
        &admin,
        json!({"username": "sinopec", "role": "group", "group": GROUP}),
    )
    .await;
    let (status, listed) = federation
        .call(
            NATION,
            "GET",
            "/api/v1/units?period=2025",
            &group,
            Body::Empty,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    let subsidiaries: BTreeSet<String> = units
        .iter()
        .filter(|(_, grouped)| *grouped)
        .map(|(code, _)| code.clone())
        .collect();
    assert_eq!(codes(&listed), subsidiaries);
    assert!(
        listed["counts"].is_null(),
        "the jurisdiction's counts are not a group's to see"
    );
    let (own, _) = units.iter().find(|(_, grouped)| *grouped).unwrap();
    let (other, _) = units.iter().find(|(_, grouped)| !*grouped).unwrap();
    assert_eq!(
        federation
            .call(
                NATION,
                "GET",
                &format!("/api/v1/units/{own}"),
                &group,
                Body::Empty
            )
            .await
            .0,
        200
    );
    assert_eq!(
        federation
            .call(
                NATION,
                "GET",
                &format!("/api/v1/units/{other}"),
                &group,
                Body::Empty
            )
            .await
            .0,
        404
    );
    let report = |code: &str| format!("/api/v1/reports/{code}/G101/2025");
    assert_eq!(
        federation
            .call(NATION, "GET", &report(own), &group, Body::Empty)
            .await
            .0,
        200
    );
    assert_eq!(
        federation
            .call(NATION, "GET", &report(other), &group, Body::Empty)
            .await
            .0,
        404
    );

    // The supervision centre of Jiangsu: every unit of the province; not another province.
    let centre = overseer(
        &federation,
        &admin,
        json!({"username": "east-china", "role": "supervision", "provinces": ["320000"]}),
    )
    .await;
    let (status, listed) = federation
        .call(
            NATION,
            "GET",
            "/api/v1/units?period=2025",
            &centre,
            Body::Empty,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(codes(&listed).len(), units.len());
    let (status, answer) = federation
        .call(
            NATION,
            "GET",
            "/api/v1/units?division=330000",
            &centre,
            Body::Empty,
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("ACC009")),
        "{answer}"
    );
    assert_eq!(
        federation
            .call(NATION, "GET", &report(other), &centre, Body::Empty)
            .await
            .0,
        200
    );
    // It reads the totals and the progress of its province (its first, by default), not another's.
    let (status, totals) = federation
        .call(
            NATION,
            "GET",
            "/api/v1/aggregates?form=G101&period=2025",
            &centre,
            Body::Empty,
        )
        .await;
    assert_eq!(status, 200, "{totals}");
    assert_eq!(totals["division"], "320000", "{totals}");
    let (status, progress) = federation
        .call(
            NATION,
            "GET",
            "/api/v1/progress?form=G101&period=2025",
            &centre,
            Body::Empty,
        )
        .await;
    assert_eq!(status, 200, "{progress}");
    let rows = progress["rows"].as_array().unwrap();
    assert!(
        rows.iter()
            .all(|row| row["division"].as_str().unwrap().starts_with("32")),
        "{progress}"
    );
    let elsewhere = "/api/v1/aggregates?form=G101&period=2025&division=330000";
    let (status, _) = federation
        .call(NATION, "GET", elsewhere, &centre, Body::Empty)
        .await;
    assert_eq!(status, 403);
    for path in ["/api/v1/aggregates", "/api/v1/progress"] {
        let (status, _) = federation
            .call(NATION, "GET", path, &group, Body::Empty)
            .await;
        assert_eq!(status, 403, "{path}");
    }

    // Neither acts.
    for token in [&group, &centre] {
        for (method, path, body) in [
            ("GET", "/api/v1/review/queue", Body::Empty),
            ("GET", "/api/v1/accounts", Body::Empty),
            (
                "POST",
                "/api/v1/urge",
                Body::Json(json!({"form": "G101", "period": "2025"})),
            ),
            (
                "POST",
                &format!("/api/v1/review/{own}/G101/2025/approve"),
                Body::Empty,
            ),
        ] {
            let (status, answer) = federation.call(NATION, method, path, token, body).await;
            assert_eq!(status, 403, "{method} {path}: {answer}");
        }
    }
    // The registry page shows a group company its subsidiaries only.
    let page = federation
        .web_client()
        .get(format!(
            "{}/registry?period=2025",
            federation.node(NATION).web_url()
        ))
        .header("cookie", format!("zhibao_session={group}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let text = page.text().await.unwrap();
    assert!(text.contains(own.as_str()) && !text.contains(other.as_str()));
    federation.shutdown().await;
}
