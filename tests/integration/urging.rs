//! Reminders, deadlines and urging (催报) on a real city node: the deadline
//! tick takes time as a parameter, so four months of ticks run in a moment;
//! a node "down" over the close does the close's work at its next tick;
//! ticks run twice change nothing; a return past its deadline is flagged; a
//! reviewer urges the units that still owe their report.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use testkit::{Body, Federation};
use zhibao_node::clock::Timestamp;
use zhibao_node::urging::flow::run_deadline_tick;

use crate::reporting::{clean_values, units_with_logins};

const CITY: &str = "city-320100";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn notices(federation: &Federation, token: &str) -> Vec<Value> {
    let (status, answer) = federation
        .call(CITY, "GET", "/api/v1/notices?limit=200", token, Body::Empty)
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["notices"].as_array().unwrap().clone()
}

/// A page as a signed-in browser gets it (the API token is also the session cookie).
async fn page_text(federation: &Federation, token: &str, path: &str) -> String {
    let response = federation
        .web_client()
        .get(format!("{}{path}", federation.node(CITY).web_url()))
        .header("cookie", format!("zhibao_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

fn g101_ids(notices: &[Value]) -> BTreeSet<String> {
    notices
        .iter()
        .filter(|notice| notice["form"] == "G101")
        .map(|notice| notice["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_remind_the_units_that_owe_their_report_once_even_after_downtime() {
    let federation = Federation::start(&[CITY, "province-320000"]).await;
    let state = federation.node(CITY).state.clone();
    let units = units_with_logins(&federation, CITY, 4).await;
    let reviewer = federation.token_of(CITY, "reviewer").await;
    let (submitter, owing) = (&units[0], &units[1..]);
    let base = format!("/api/v1/reports/{}/G101/2025", submitter.code);
    let draft = Body::Json(json!({"values": clean_values("1.5")}));
    let (status, _) = federation
        .call(
            CITY,
            "PUT",
            &format!("{base}/draft"),
            &submitter.token,
            draft,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = federation
        .call(
            CITY,
            "POST",
            &format!("{base}/submit"),
            &submitter.token,
            Body::Empty,
        )
        .await;
    assert_eq!(status, 200);

    // The window of 2025 G101 as this node has it.
    let standards = state.standards();
    let form = zhibao_node::metadata::FormCode::parse("G101").unwrap();
    let period = zhibao_node::metadata::period::PeriodId::parse("2025").unwrap();
    let window = *standards
        .calendar
        .window(
            period,
            &form,
            zhibao_node::metadata::period::Stage::UnitEntry,
        )
        .unwrap();
    let city_review = *standards
        .calendar
        .window(
            period,
            &form,
            zhibao_node::metadata::period::Stage::CityReview,
        )
        .unwrap();
    drop(standards);
    let closes = window.closes_at.0;

    // The first tick only records where the job starts.
    let start = Timestamp(closes - 20 * DAY_MS);
    assert_eq!(run_deadline_tick(&state, start).await.unwrap().notices, 0);
    // Ticks every six hours up to two days before the close.
    let mut now = start;
    while now.0 < closes - 2 * DAY_MS {
        now = Timestamp(now.0 + 6 * 60 * 60 * 1000);
        run_deadline_tick(&state, now).await.unwrap();
    }
    for unit in owing {
        let ids = g101_ids(&notices(&federation, &unit.token).await);
        assert_eq!(
            ids,
            BTreeSet::from(["2025/G101/unit_entry/7d".to_string()]),
            "{}",
            unit.code
        );
    }
    assert!(
        g101_ids(&notices(&federation, &submitter.token).await).is_empty(),
        "a unit that submitted is not reminded"
    );

    // Down from two days before the close to three days after: the next tick catches up.
    let after_downtime = Timestamp(closes + 3 * DAY_MS);
    let summary = run_deadline_tick(&state, after_downtime).await.unwrap();
    assert!(summary.events >= 2, "{summary:?}");
    let again = run_deadline_tick(&state, after_downtime).await.unwrap();
    assert_eq!(again.notices, 0, "a tick run again does nothing");
    for unit in owing {
        let unit_notices = notices(&federation, &unit.token).await;
        let ids = g101_ids(&unit_notices);
        let expected: BTreeSet<String> = ["7d", "1d", "closed"]
            .iter()
            .map(|step| format!("2025/G101/unit_entry/{step}"))
            .collect();
        assert_eq!(ids, expected, "{}", unit.code);
        let closed = unit_notices
            .iter()
            .find(|notice| notice["id"] == "2025/G101/unit_entry/closed")
            .unwrap();
        assert_eq!(closed["kind"], "window_closed");
        assert!(
            closed["text_zh"].as_str().unwrap().contains("尚未提交"),
            "{closed}"
        );
    }
    let bureau = notices(&federation, &reviewer).await;
    let closed = bureau
        .iter()
        .find(|notice| notice["id"] == "2025/G101/unit_entry/closed")
        .unwrap();
    assert!(
        closed["text_zh"]
            .as_str()
            .unwrap()
            .contains(&format!("{} 家单位尚未提交", owing.len())),
        "{closed}"
    );
    // The city's own review window: a reminder names the report waiting for it.
    let bureau = if city_review.closes_at.0 - 7 * DAY_MS > after_downtime.0 {
        run_deadline_tick(&state, Timestamp(city_review.closes_at.0 - 6 * DAY_MS))
            .await
            .unwrap();
        notices(&federation, &reviewer).await
    } else {
        bureau
    };
    assert!(
        bureau
            .iter()
            .any(|notice| notice["id"] == "2025/G101/city_review/7d"
                && notice["text_zh"]
                    .as_str()
                    .unwrap()
                    .contains("1 份报表尚待本级审核")),
        "{bureau:?}"
    );
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_past_its_deadline_is_flagged_and_a_reviewer_urges_the_units_that_owe() {
    let federation = Federation::start(&[CITY, "province-320000"]).await;
    let state = federation.node(CITY).state.clone();
    let units = units_with_logins(&federation, CITY, 3).await;
    let reviewer = federation.token_of(CITY, "reviewer").await;
    let returned = &units[0];
    let base = format!("/api/v1/reports/{}/G101/2025", returned.code);
    let draft = Body::Json(json!({"values": clean_values("1.5")}));
    assert_eq!(
        federation
            .call(
                CITY,
                "PUT",
                &format!("{base}/draft"),
                &returned.token,
                draft
            )
            .await
            .0,
        200
    );
    assert_eq!(
        federation
            .call(
                CITY,
                "POST",
                &format!("{base}/submit"),
                &returned.token,
                Body::Empty
            )
            .await
            .0,
        200
    );
    assert_eq!(
        federation
            .call(
                CITY,
                "POST",
                &format!("{base}/check"),
                &reviewer,
                Body::Empty
            )
            .await
            .0,
        200
    );
    let due = Timestamp::now_from_system_clock().0 + DAY_MS;
    let back =
        Body::Json(json!({"comments": [{"indicator": "cod_emit", "text": "请核实"}], "due": due}));
    let path = format!("/api/v1/review/{}/G101/2025/return", returned.code);
    let (status, answer) = federation.call(CITY, "POST", &path, &reviewer, back).await;
    assert_eq!(status, 200, "{answer}");

    // Before the deadline nothing; after it, the unit and the bureau are told.
    let now = Timestamp::now_from_system_clock();
    run_deadline_tick(&state, now).await.unwrap();
    run_deadline_tick(&state, Timestamp(now.0 + 60_000))
        .await
        .unwrap();
    assert!(
        notices(&federation, &returned.token)
            .await
            .iter()
            .all(|notice| notice["kind"] != "return_overdue")
    );
    run_deadline_tick(&state, Timestamp(due + 60_000))
        .await
        .unwrap();
    let overdue = notices(&federation, &returned.token).await;
    assert!(
        overdue
            .iter()
            .any(|notice| notice["kind"] == "return_overdue"),
        "{overdue:?}"
    );
    assert!(
        notices(&federation, &reviewer)
            .await
            .iter()
            .any(|notice| notice["kind"] == "return_overdue"
                && notice["text_zh"].as_str().unwrap().contains(&returned.code))
    );

    // Urging: the units that still owe (the returned one too), in the bureau's words.
    let urge = Body::Json(json!({"form": "G101", "period": "2025", "message": "请于本周内提交"}));
    let (status, answer) = federation
        .call(CITY, "POST", "/api/v1/urge", &reviewer, urge)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["count"], units.len());
    for unit in &units {
        let urged = notices(&federation, &unit.token).await;
        assert!(
            urged
                .iter()
                .any(|notice| notice["kind"] == "urged"
                    && notice["text_zh"] == "催报：请于本周内提交"),
            "{urged:?}"
        );
    }
    // The progress page urges too (same service): every unit that still owes, in the page's words.
    let page = page_text(&federation, &reviewer, "/progress?form=G101&period=2025").await;
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let response = federation
        .web_client()
        .post(format!("{}/progress/urge", federation.node(CITY).web_url()))
        .header("cookie", format!("zhibao_session={reviewer}"))
        .header("sec-fetch-site", "same-origin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::accounts::form_body(&[
            ("csrf", csrf.as_str()),
            ("form", "G101"),
            ("period", "2025"),
            ("message", "页面催报"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "redirected back to the progress page"
    );
    let back = response.text().await.unwrap();
    assert!(
        back.contains(&format!("已催报 {} 个单位或下级局", units.len())),
        "{back}"
    );
    let urged_from_page = notices(&federation, &units[2].token).await;
    assert!(
        urged_from_page
            .iter()
            .any(|notice| notice["text_zh"] == "催报：页面催报")
    );
    // The notice area of every page shows it; `/notices` lists them all.
    for path in ["/home", "/notices"] {
        let page = page_text(&federation, &units[1].token, path).await;
        assert!(page.contains("催报：请于本周内提交"), "{path}: {page}");
    }
    let review_page = page_text(&federation, &reviewer, "/review").await;
    assert!(review_page.contains("逾期未整改"), "{review_page}");
    let audit = state
        .audit
        .entries
        .scan_prefix(&[])
        .filter_map(Result::ok)
        .any(|(_, entry)| entry.action == "report.urge");
    assert!(audit, "urging is on record");
    // Refusals: a unit outside the registry, an enterprise, a bad form, a province.
    let stranger = testkit::valid_credit_code("320502", 77);
    let body = Body::Json(json!({"form": "G101", "period": "2025", "units": [stranger]}));
    let (status, answer) = federation
        .call(CITY, "POST", "/api/v1/urge", &reviewer, body)
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("URG404")),
        "{answer}"
    );
    let body = Body::Json(json!({"form": "G101", "period": "2025"}));
    let (status, _) = federation
        .call(CITY, "POST", "/api/v1/urge", &units[1].token, body)
        .await;
    assert_eq!(status, 403);
    let (status, _) = federation
        .call(
            CITY,
            "POST",
            "/api/v1/urge",
            &reviewer,
            Body::Json(json!({"form": "G999", "period": "2025"})),
        )
        .await;
    assert_eq!(status, 404);
    // A province urges the bureaus below it, not units.
    let province_reviewer = federation.token_of("province-320000", "reviewer").await;
    let units_body =
        Body::Json(json!({"form": "G101", "period": "2025", "units": [units[1].code]}));
    let (status, answer) = federation
        .call(
            "province-320000",
            "POST",
            "/api/v1/urge",
            &province_reviewer,
            units_body,
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("RV005")),
        "{answer}"
    );
    federation.shutdown().await;
}
