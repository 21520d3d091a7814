//! The review workflow across three real nodes over mutual TLS: a city
//! approves, the province sends feedback, the city annotates, the province
//! approves and forwards, the nation accepts, and the receipt comes back down.

use testkit::{DEADLINE, Federation, wait_until};
use zhibao_node::clock::Timestamp;
use zhibao_node::report::{Comment, ReportContent, ReportKey, ReportState};
use zhibao_node::review::UpperState;
use zhibao_node::review::flow::{self, UnitOnReport};

const THREE: [&str; 3] = ["national", "province-320000", "city-320100"];

fn key() -> ReportKey {
    ReportKey {
        unit: "91320102MA1XXXXXX1".into(),
        form: "G101".into(),
        period: "2025".into(),
    }
}

fn unit() -> UnitOnReport {
    UnitOnReport {
        division: "320102".into(),
        name: "南京玄武热电有限公司".into(),
        industry: "44".into(),
        classes: vec!["national".into()],
    }
}

fn upper_state(federation: &Federation, node: &str) -> Option<UpperState> {
    federation
        .node(node)
        .state
        .review
        .received
        .get(&key().to_bytes())
        .unwrap()
        .map(|received| received.state)
}

fn city_state(federation: &Federation) -> ReportState {
    federation
        .node("city-320100")
        .state
        .reports
        .status
        .get(&key().to_bytes())
        .unwrap()
        .unwrap()
        .state
}

async fn run_rules_upstairs(federation: &Federation, node: &str) {
    let state = &federation.node(node).state;
    let received = state
        .review
        .received
        .get(&key().to_bytes())
        .unwrap()
        .unwrap();
    let next = zhibao_node::review::record_rule_run(
        &received,
        0,
        0,
        "reviewer",
        Timestamp::now_from_system_clock(),
    );
    state
        .review
        .received
        .insert(&key().to_bytes(), &next)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_annotation_approval_and_acceptance_travel_between_the_levels() {
    let federation = Federation::start(&THREE).await;
    let city = &federation.node("city-320100").state;
    let now = Timestamp::now_from_system_clock();
    let mut content = ReportContent::default();
    content.values.insert("cod_emit".into(), "12.345".into());
    city.reports
        .save_draft(&city.store, &key(), content.clone(), None, "unit", now)
        .unwrap();
    let (version, _) = city
        .reports
        .submit(
            &city.store,
            &city.audit,
            &key(),
            Some("s-1".into()),
            "unit",
            now,
        )
        .unwrap();
    city.reports
        .change_status(
            &city.store,
            &city.audit,
            &key(),
            "report.rules_run",
            "reviewer",
            now,
            |status| zhibao_node::report::record_rule_run(status, 0, 0, "reviewer", now),
        )
        .unwrap();
    flow::city_approve(city, &key(), &unit(), None, "reviewer", now)
        .await
        .unwrap();

    wait_until("the province receives the report", DEADLINE, || async {
        upper_state(&federation, "province-320000") == Some(UpperState::AwaitingReview)
    })
    .await;
    let province = &federation.node("province-320000").state;
    // A decision before the rules ran is refused (R6).
    assert!(
        flow::upper_approve(province, &key(), None, "reviewer", now)
            .await
            .is_err()
    );
    run_rules_upstairs(&federation, "province-320000").await;
    let comments = vec![Comment {
        indicator: Some("cod_emit".into()),
        text: "化学需氧量排放量偏高，请说明".into(),
    }];
    flow::upper_feedback(province, &key(), comments, "province-reviewer", now)
        .await
        .unwrap();
    wait_until("the city receives the feedback", DEADLINE, || async {
        city_state(&federation) == ReportState::FeedbackReceived
    })
    .await;
    flow::city_annotate(
        city,
        &key(),
        &unit(),
        "本年新增生产线，排放量核实无误",
        "reviewer",
        now,
    )
    .await
    .unwrap();
    wait_until("the province sees the annotation", DEADLINE, || async {
        federation
            .node("province-320000")
            .state
            .review
            .received
            .get(&key().to_bytes())
            .unwrap()
            .is_some_and(|received| {
                received.state == UpperState::AwaitingReview && received.report.annotation.is_some()
            })
    })
    .await;
    run_rules_upstairs(&federation, "province-320000").await;
    flow::upper_approve(
        province,
        &key(),
        Some("同意".into()),
        "province-reviewer",
        now,
    )
    .await
    .unwrap();

    wait_until("the nation receives the report", DEADLINE, || async {
        upper_state(&federation, "national") == Some(UpperState::AwaitingReview)
    })
    .await;
    let national = &federation.node("national").state;
    let at_nation = national
        .review
        .received
        .get(&key().to_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(
        at_nation.report.content_hash, version.content_hash,
        "the nation holds exactly what the unit submitted"
    );
    assert_eq!(at_nation.report.values["cod_emit"], "12.345");
    // The envelope that brought it carries the city's signed batch inside the province's.
    let sender =
        zhibao_federation_protocol::NodeIdentity::from_uri(&at_nation.envelope_sender).unwrap();
    let envelope = national
        .federation
        .trees
        .received
        .get(&zhibao_node::federation::store::peer_sequence_key(
            &sender,
            at_nation.envelope_sequence,
        ))
        .unwrap()
        .unwrap();
    assert_eq!(envelope.sender.to_uri(), "zhibao://node/province/320000");
    assert_eq!(
        envelope.forwarded[0].sender.to_uri(),
        "zhibao://node/city/320100"
    );

    run_rules_upstairs(&federation, "national").await;
    flow::upper_approve(national, &key(), None, "national-reviewer", now)
        .await
        .unwrap();
    assert_eq!(
        upper_state(&federation, "national"),
        Some(UpperState::Accepted)
    );
    wait_until(
        "the acceptance receipt reaches the province and the city",
        DEADLINE,
        || async {
            upper_state(&federation, "province-320000") == Some(UpperState::Accepted)
                && federation
                    .node("city-320100")
                    .state
                    .reports
                    .status
                    .get(&key().to_bytes())
                    .unwrap()
                    .unwrap()
                    .accepted_by
                    .contains(&("national".to_string(), 1))
        },
    )
    .await;
    federation.shutdown().await;
}
