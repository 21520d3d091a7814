//! Store-and-forward over real TLS: what a city queues reaches the province
//! and, forwarded intact, the nation — exactly once, in order — whatever
//! happens to the nodes and the network in between.

use std::time::Duration;

use testkit::proxy::{Proxy, ProxyMode};
use testkit::{
    DEADLINE, Federation, original_units_received, queue_registry_changes, received_from,
    wait_until,
};

const THREE: [&str; 3] = ["national", "province-320000", "city-320100"];

fn expected_units(first: u32, count: u32) -> Vec<String> {
    (first..first + count)
        .map(|index| testkit::registry_change("320102", index).unit.credit_code)
        .collect()
}

/// Waits until the nation holds `count` city-signed originals, then checks
/// order and uniqueness at both levels.
async fn assert_delivered_once_in_order(federation: &Federation, first: u32, count: u32) {
    let expected = expected_units(first, count);
    wait_until(
        "the nation holds every city message",
        DEADLINE * 3,
        || async {
            original_units_received(federation.node("national"), "province-320000").len()
                >= expected.len()
        },
    )
    .await;
    let at_province = original_units_received(federation.node("province-320000"), "city-320100");
    let at_nation = original_units_received(federation.node("national"), "province-320000");
    assert_eq!(
        at_province, expected,
        "the province applied each city message once, in order"
    );
    assert_eq!(
        at_nation, expected,
        "the nation applied each forwarded message once, in order"
    );
    let sequences: Vec<u64> = received_from(federation.node("province-320000"), "city-320100")
        .iter()
        .map(|envelope| envelope.sequence)
        .collect();
    assert_eq!(sequences, (1..=u64::from(count)).collect::<Vec<_>>());
}

async fn outbox_is_empty(federation: &Federation, node: &str) -> bool {
    let state = &federation.node(node).state;
    let parent = state.config.parent.as_ref().unwrap().identity.clone();
    zhibao_node::federation::outbound::queue_depth(&state.federation.trees, &parent)
        .unwrap()
        .0
        == 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_reach_the_nation_once_and_in_order() {
    let federation = Federation::start(&THREE).await;
    queue_registry_changes(federation.node("city-320100"), "320102", 0, 1000).await;
    assert_delivered_once_in_order(&federation, 0, 1000).await;
    wait_until("the outboxes drain", DEADLINE, || async {
        outbox_is_empty(&federation, "city-320100").await
            && outbox_is_empty(&federation, "province-320000").await
    })
    .await;
    // Every hop's signature checks out at the nation: the forwarded city envelopes are intact.
    let relayed = received_from(federation.node("national"), "province-320000");
    assert!(relayed.iter().all(|envelope| envelope.forwarded.len() == 1
        && envelope.forwarded[0].sender.to_uri() == "zhibao://node/city/320100"));
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_province_gets_everything_once_when_it_comes_back() {
    let mut federation = Federation::start(&THREE).await;
    queue_registry_changes(federation.node("city-320100"), "320102", 0, 20).await;
    assert_delivered_once_in_order(&federation, 0, 20).await;
    federation.stop("province-320000").await;
    for batch in 0..5 {
        queue_registry_changes(
            federation.node("city-320100"),
            "320102",
            20 + batch * 40,
            40,
        )
        .await;
    }
    // The city keeps them and says why they are stuck.
    wait_until("the city records the failure", DEADLINE, || async {
        let links = zhibao_node::federation::link_views(
            &federation.node("city-320100").state,
            zhibao_node::clock::Timestamp::now_from_system_clock(),
        )
        .unwrap();
        links[0].queued == 200 && links[0].last_error.is_some()
    })
    .await;
    federation.start_again("province-320000").await;
    assert_delivered_once_in_order(&federation, 0, 220).await;
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_heals_without_loss_or_duplicates() {
    let mut federation = Federation::start(&THREE).await;
    let proxy = Proxy::start(federation.node("province-320000").federation_addr).await;
    federation.stop("city-320100").await;
    let proxy_url = proxy.url();
    federation
        .start_again_with("city-320100", |config| {
            config.parent.as_mut().unwrap().url = proxy_url.clone();
        })
        .await;
    let mut next = 0;
    for mode in [
        ProxyMode::Refuse,
        ProxyMode::ResetMidRequest,
        ProxyMode::LoseAnswers,
        ProxyMode::Stall,
    ] {
        proxy.set_mode(mode);
        queue_registry_changes(federation.node("city-320100"), "320102", next, 50).await;
        next += 50;
        // Let the city try (and fail) through the broken link a few times.
        wait_until(
            &format!("the city sees the {mode:?} failure"),
            DEADLINE,
            || async {
                let state = &federation.node("city-320100").state;
                let parent = state.config.parent.as_ref().unwrap().identity.clone();
                zhibao_node::federation::outbound::delivery_status(&state.federation.trees, &parent)
                    .unwrap()
                    .last_error
                    .is_some()
            },
        )
        .await;
        if mode == ProxyMode::LoseAnswers {
            // The province applied what it received; the city must not make it apply it twice.
            wait_until(
                "the province received through the lossy link",
                DEADLINE,
                || async {
                    !received_from(federation.node("province-320000"), "city-320100").is_empty()
                },
            )
            .await;
        }
    }
    proxy.set_mode(ProxyMode::Pass);
    assert_delivered_once_in_order(&federation, 0, next).await;
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_links_page_shows_healthy_links() {
    let federation = Federation::start(&THREE).await;
    let admin = federation.token_of("province-320000", "admin").await;
    queue_registry_changes(federation.node("city-320100"), "320102", 0, 5).await;
    assert_delivered_once_in_order(&federation, 0, 5).await;
    wait_until("the city's outbox drains", DEADLINE, || async {
        outbox_is_empty(&federation, "city-320100").await
    })
    .await;
    let links: serde_json::Value = federation
        .web_client()
        .get(format!(
            "{}/api/v1/federation/links",
            federation.node("province-320000").web_url()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let links = links.as_array().unwrap();
    assert_eq!(links.len(), 2, "{links:?}");
    let parent = links
        .iter()
        .find(|link| link["relation"] == "parent")
        .unwrap();
    assert_eq!(parent["peer"], "zhibao://node/national/000000");
    let child = links
        .iter()
        .find(|link| link["relation"] == "child")
        .unwrap();
    assert_eq!(child["received_through"], 5);
    wait_until("the province's outbox drains", DEADLINE, || async {
        outbox_is_empty(&federation, "province-320000").await
    })
    .await;
    let links: serde_json::Value = federation
        .web_client()
        .get(format!(
            "{}/api/v1/federation/links",
            federation.node("province-320000").web_url()
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let parent = links
        .as_array()
        .unwrap()
        .iter()
        .find(|link| link["relation"] == "parent")
        .unwrap()
        .clone();
    assert_eq!(parent["queued"], 0);
    assert_eq!(parent["delivered_total"], 5);
    assert!(parent["last_contact_ms"].as_i64().unwrap() > 0);
    let _ = Duration::ZERO;
    federation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_city_killed_right_after_queuing_resumes_its_outbox_on_restart() {
    use std::io::BufRead;
    let mut federation = Federation::start(&THREE).await;
    federation.stop("province-320000").await;
    federation.stop("city-320100").await;
    let config = federation.dir().join("city-320100").join("node.toml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_queueing-city"))
        .arg(&config)
        .args(["0", "120"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line
    })
    .await
    .unwrap();
    assert_eq!(line.trim(), "queued");
    // SIGKILL at once: the only promise made was "queued", and it must hold.
    child.kill().unwrap();
    child.wait().unwrap();
    federation.start_again("province-320000").await;
    federation.start_again("city-320100").await;
    assert_delivered_once_in_order(&federation, 0, 120).await;
    federation.shutdown().await;
}
