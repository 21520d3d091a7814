//! The deadline crunch: many concurrent units saving a G101 draft and
//! submitting it to one city node over HTTPS (all rules run; durable before
//! the answer). Prints submissions per second, p50/p99 latency and peak
//! memory, and in the same run two ceilings with the ratio to each:
//! - the same node answering an authenticated POST of the same body size with
//!   no work behind it (a session lookup, the body read, then a refusal);
//! - the store's group-commit durable-write rate for the same bytes.
//!
//! `cargo bench -p zhibao-tests --bench submissions`; size with
//! `ZHIBAO_BENCH_UNITS` (default 20000) and `ZHIBAO_BENCH_CLIENTS` (default 500).

// why: a benchmark harness may unwrap; a failed setup should stop it with its message
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use testkit::Federation;
use tokio::sync::Semaphore;
use zhibao_node::clock::Timestamp;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

fn draft_body(index: usize) -> serde_json::Value {
    let cod = format!("0.{:03}", 100 + index % 800);
    serde_json::json!({"values": {
        "output_value": "1200.5", "production_hours": 8000, "production_status": "normal",
        "water_total": "1000", "water_fresh": "600", "water_reused": "400",
        "ww_discharged": "500", "ww_direct": "200", "ww_to_plant": "300",
        "cod_gen": "2.5", "cod_emit": cod, "nh3n_gen": "0.2", "nh3n_emit": "0.05"
    }})
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

fn peak_resident_megabytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kilobytes| kilobytes / 1024.0)
}

async fn run_concurrently<F, Fut>(clients: usize, jobs: usize, job: F) -> (Duration, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Duration> + Send,
{
    let job = Arc::new(job);
    let gate = Arc::new(Semaphore::new(clients));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(jobs);
    for index in 0..jobs {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let job = job.clone();
        handles.push(tokio::spawn(async move {
            let latency = job(index).await;
            drop(permit);
            latency
        }));
    }
    let mut latencies = Vec::with_capacity(jobs);
    for handle in handles {
        latencies.push(handle.await.unwrap());
    }
    latencies.sort();
    (started.elapsed(), latencies)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench());
}

async fn bench() {
    let units = setting("ZHIBAO_BENCH_UNITS", 20_000);
    let clients = setting("ZHIBAO_BENCH_CLIENTS", 500);
    let federation = Federation::start(&["city-320100"]).await;
    let city = federation.node("city-320100");
    let state = &city.state;
    let sample = zhibao_node::registry::sample::sample_units(state.config.division, units, 42)
        .into_iter()
        .filter(|unit| matches!(unit.status, zhibao_node::registry::UnitStatus::Active))
        .collect::<Vec<_>>();
    let outcome = zhibao_node::registry::flow::import_units(
        state,
        zhibao_node::registry::PeriodId::parse("2025").unwrap(),
        sample,
        "bench",
        false,
        Timestamp::now_from_system_clock(),
    )
    .await
    .unwrap();
    let logins = outcome.new_logins;
    let web_url = city.web_url();
    let client = federation.web_client();

    // Every unit logs in once beforehand.
    let tokens: Arc<Vec<(String, String)>> = {
        let client = client.clone();
        let web_url = web_url.clone();
        let logins = Arc::new(logins);
        let collected = Arc::new(std::sync::Mutex::new(vec![
            (String::new(), String::new());
            logins.len()
        ]));
        let (elapsed, _) = run_concurrently(64, logins.len(), {
            let collected = collected.clone();
            let logins = logins.clone();
            move |index| {
                let client = client.clone();
                let web_url = web_url.clone();
                let collected = collected.clone();
                let login = logins[index].clone();
                async move {
                    let started = Instant::now();
                    let answer: serde_json::Value = client
                        .post(format!("{web_url}/api/v1/session"))
                        .json(&serde_json::json!({"username": login.username, "password": login.password}))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    collected.lock().unwrap()[index] = (login.unit.clone(), answer["token"].as_str().unwrap().to_string());
                    started.elapsed()
                }
            }
        })
        .await;
        println!(
            "setup: {} units imported and logged in ({:.1} s of logins)",
            logins.len(),
            elapsed.as_secs_f64()
        );
        Arc::new(std::mem::take(&mut *collected.lock().unwrap()))
    };
    let jobs = tokens.len();

    // The crunch: save a G101 draft, then submit it.
    let (elapsed, latencies) = run_concurrently(clients, jobs, {
        let client = client.clone();
        let web_url = web_url.clone();
        let tokens = tokens.clone();
        move |index| {
            let client = client.clone();
            let web_url = web_url.clone();
            let (unit, token) = tokens[index].clone();
            async move {
                let started = Instant::now();
                let base = format!("{web_url}/api/v1/reports/{unit}/G101/2025");
                let draft = client
                    .put(format!("{base}/draft"))
                    .bearer_auth(&token)
                    .json(&draft_body(index))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(draft.status(), 200, "{}", draft.text().await.unwrap());
                let submit = client
                    .post(format!("{base}/submit"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(submit.status(), 200, "{}", submit.text().await.unwrap());
                started.elapsed()
            }
        }
    })
    .await;
    let submissions_per_second = jobs as f64 / elapsed.as_secs_f64();
    let body_size = serde_json::to_vec(&draft_body(0)).unwrap().len();

    // Ceiling 1: an authenticated POST of the same body size with no work behind it.
    let padding = "x".repeat(body_size.saturating_sub(20));
    let (ceiling_elapsed, _) = run_concurrently(clients, jobs, {
        let client = client.clone();
        let web_url = web_url.clone();
        let tokens = tokens.clone();
        move |index| {
            let client = client.clone();
            let web_url = web_url.clone();
            let token = tokens[index].1.clone();
            let body = serde_json::json!({"padding": padding.clone()});
            async move {
                let started = Instant::now();
                // Two requests, as a submission is two (draft + submit): a session lookup, the body read, a refusal.
                for _ in 0..2 {
                    let response = client
                        .post(format!("{web_url}/api/v1/session/password"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 400);
                }
                started.elapsed()
            }
        }
    })
    .await;
    let https_ceiling = jobs as f64 / ceiling_elapsed.as_secs_f64();

    // Ceiling 2: the store's group-commit durable writes of the same bytes (two per submission: draft, version).
    let folder = tempfile::tempdir().unwrap();
    let store = zhibao_node::store::Store::open(folder.path()).unwrap();
    let tree = store
        .tree::<testkit::records::DurabilityRecord>("bench_by_key")
        .unwrap();
    let payload = "x".repeat(body_size);
    let (store_elapsed, _) = run_concurrently(clients, jobs, move |index| {
        let store = store.clone();
        let tree = tree.clone();
        let payload = payload.clone();
        async move {
            let started = Instant::now();
            for round in 0..2u32 {
                let record = testkit::records::DurabilityRecord {
                    writer: u32::try_from(index).unwrap(),
                    sequence: round,
                    payload: payload.clone(),
                };
                tree.insert(format!("{index}-{round}").as_bytes(), &record)
                    .unwrap();
                store.commit_durable().await.unwrap();
            }
            started.elapsed()
        }
    })
    .await;
    let store_ceiling = jobs as f64 / store_elapsed.as_secs_f64();

    println!(
        "zhibao submissions benchmark: {jobs} units, {clients} concurrent clients, body {body_size} B, one city node over HTTPS"
    );
    println!(
        "  submissions (draft + submit, rules, durable): {submissions_per_second:>9.0} /s  p50 {:>7.1} ms  p99 {:>7.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "  HTTPS + auth ceiling (2 no-work POSTs):        {https_ceiling:>9.0} /s  ratio {:.2}",
        submissions_per_second / https_ceiling
    );
    println!(
        "  store group-commit ceiling (2 durable writes): {store_ceiling:>9.0} /s  ratio {:.2}",
        submissions_per_second / store_ceiling
    );
    println!(
        "  peak resident memory of this process (node + clients): {:.0} MB",
        peak_resident_megabytes()
    );
    federation.shutdown().await;
}
