//! The national node's totals benchmark (issue 7): a store holding
//! 160,000 accepted reports × 60 indicators, counted through the real
//! aggregate functions, then timed:
//! - the national summary, province × industry × every indicator;
//! - the drill-down of one province (its cities × industry);
//! - the incremental update of one accepted report (a correction swap: the
//!   counting transaction, not the flush that group commit shares).
//!
//! The same data is written as CSV and handed to
//! `benches/aggregates_duckdb.py`, which times the same summary in DuckDB
//! (in memory, exact DECIMAL sums); the ratio and the budget verdicts are
//! printed (summary ≤ 8 ms and 10× faster than DuckDB, update < 1 ms). Without
//! python3 or duckdb (`pip install duckdb`) only that comparison is skipped.
//!
//! Run: `cargo bench -p zhibao --bench aggregates`. `ZHIBAO_BENCH_UNITS`
//! (default 160000) sizes it for a quick run. The summary is printed first;
//! divan's statistics follow.

// why: a benchmark is a tool, not server code; a failed setup should stop it with its message
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use zhibao_node::aggregate::cross::{city_industry_table, province_industry_table};
use zhibao_node::aggregate::{AggregateTrees, Contribution, count_accepted, dimensions};
use zhibao_node::division::{DivisionCode, DivisionKind, all_of_kind};
use zhibao_node::report::ReportKey;
use zhibao_node::store::{Store, StoreError, TxError};

const FORM: &str = "G101";
const PERIOD: &str = "2025";
const N_INDICATORS: usize = 60;
const DRILL_PROVINCE: &str = "320000";
/// Reports counted per load transaction: large enough that the nation's and
/// the provinces' totals are written once per batch rather than per report.
const LOAD_BATCH: usize = 500;
const SUMMARY_BUDGET: Duration = Duration::from_millis(8);
const UPDATE_BUDGET: Duration = Duration::from_millis(1);

struct Fixture {
    // why: the store's flusher task lives on this runtime; dropping it would stop the store
    _runtime: tokio::runtime::Runtime,
    folder: tempfile::TempDir,
    store: Store,
    trees: AggregateTrees,
    n_units: usize,
    indicators: Vec<String>,
    counties: Vec<DivisionCode>,
    industries: Vec<&'static str>,
    load_time: Duration,
    csv_path: std::path::PathBuf,
    next_version: AtomicU32,
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// The main pollutants first, then further indicator keys up to 60.
fn indicator_keys() -> Vec<String> {
    let mut keys: Vec<String> = ["cod_emit", "nh3n_emit", "so2_emit", "nox_emit", "pm_emit"]
        .iter()
        .map(|key| key.to_string())
        .collect();
    keys.extend((keys.len() + 1..=N_INDICATORS).map(|n| format!("ind_{n:02}")));
    keys
}

fn unit_code(index: usize) -> String {
    format!("U{index:08}")
}

/// One unit's values: sizes vary over four orders of magnitude, 3 decimals.
fn values_of(random: &mut StdRng, n_indicators: usize) -> Vec<String> {
    let scale: u64 = 10u64.pow(random.random_range(1..5));
    (0..n_indicators)
        .map(|_| {
            format!(
                "{}.{:03}",
                random.random_range(0..scale),
                random.random_range(0..1000)
            )
        })
        .collect()
}

fn contribution(
    version: u32,
    county: DivisionCode,
    industry: &str,
    indicators: &[String],
    values: &[String],
) -> Contribution {
    Contribution {
        version,
        dimensions: dimensions(&county.to_string(), industry, &["national".to_string()]),
        values: indicators
            .iter()
            .cloned()
            .zip(values.iter().cloned())
            .collect(),
    }
}

fn report_key(index: usize) -> ReportKey {
    ReportKey {
        unit: unit_code(index),
        form: FORM.into(),
        period: PERIOD.into(),
    }
}

fn count_batch(store: &Store, trees: &AggregateTrees, batch: &[(ReportKey, Contribution)]) {
    store
        .transaction(&trees.handles(), |tx| {
            for (key, contribution) in batch {
                count_accepted(tx, trees, key, contribution.clone())?;
            }
            Ok::<(), TxError<StoreError>>(())
        })
        .expect("counting transaction");
}

fn build() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let folder = tempfile::tempdir().expect("temp dir");
    let store = {
        let _entered = runtime.enter();
        Store::open(&folder.path().join("store")).expect("store")
    };
    let trees = AggregateTrees::open(&store).expect("trees");
    let n_units = setting("ZHIBAO_BENCH_UNITS", 160_000);
    let indicators = indicator_keys();
    let counties = all_of_kind(DivisionKind::County);
    let industries: Vec<&'static str> = zhibao_node::registry::all_industry_codes()
        .into_iter()
        .map(|industry| industry.as_str())
        .collect();

    let csv_path = folder.path().join("accepted.csv");
    let mut csv = std::io::BufWriter::new(std::fs::File::create(&csv_path).expect("csv file"));
    write!(csv, "unit,province,city,industry").expect("csv");
    for indicator in &indicators {
        write!(csv, ",{indicator}").expect("csv");
    }
    writeln!(csv).expect("csv");

    let mut random = StdRng::seed_from_u64(2025);
    let started = Instant::now();
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    for index in 0..n_units {
        // why: counties, not provinces, are drawn uniformly, so a province's
        // share follows its number of counties, as units roughly do
        let county = counties[random.random_range(0..counties.len())];
        let industry = industries[random.random_range(0..industries.len())];
        let values = values_of(&mut random, indicators.len());
        let path = county.path_from_nation();
        let province = path.get(1).copied().unwrap_or(county);
        let city = path.get(2).copied().unwrap_or(province);
        writeln!(
            csv,
            "{},{province},{city},{industry},{}",
            unit_code(index),
            values.join(",")
        )
        .expect("csv");
        batch.push((
            report_key(index),
            contribution(1, county, industry, &indicators, &values),
        ));
        if batch.len() == LOAD_BATCH {
            count_batch(&store, &trees, &batch);
            batch.clear();
        }
    }
    count_batch(&store, &trees, &batch);
    store.commit_durable_blocking().expect("flush");
    let load_time = started.elapsed();
    csv.flush().expect("csv");
    drop(csv);
    Fixture {
        _runtime: runtime,
        folder,
        store,
        trees,
        n_units,
        indicators,
        counties,
        industries,
        load_time,
        csv_path,
        next_version: AtomicU32::new(2),
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build)
}

/// A correction of a random unit's accepted report: new values, same place.
fn correction(fixture: &Fixture, random: &mut StdRng) -> (ReportKey, Contribution) {
    let index = random.random_range(0..fixture.n_units);
    let key = report_key(index);
    let previous = fixture
        .trees
        .contributions
        .get(&key.to_bytes())
        .expect("read")
        .expect("counted");
    let values = values_of(random, fixture.indicators.len());
    let version = fixture.next_version.fetch_add(1, Ordering::Relaxed);
    let corrected = Contribution {
        version,
        dimensions: previous.dimensions,
        values: fixture
            .indicators
            .iter()
            .cloned()
            .zip(values)
            .collect::<BTreeMap<_, _>>(),
    };
    (key, corrected)
}

fn swap(fixture: &Fixture, key: &ReportKey, corrected: &Contribution) {
    fixture
        .store
        .transaction(&fixture.trees.handles(), |tx| {
            count_accepted(tx, &fixture.trees, key, corrected.clone())?;
            Ok::<(), TxError<StoreError>>(())
        })
        .expect("correction");
}

fn folder_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(meta) if meta.is_dir() => folder_bytes(&entry.path()),
                    Ok(meta) => meta.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Median and best of `runs` timings of `work`.
fn timed(runs: usize, mut work: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[0])
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

struct DuckDbFigures {
    summary_ms: f64,
    drill_down_ms: f64,
    load_ms: f64,
    first_indicator_total: String,
    version: String,
}

/// Runs the DuckDB script, or says in one line why it could not.
fn duckdb_figures(fixture: &Fixture) -> Result<DuckDbFigures, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/aggregates_duckdb.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(&fixture.csv_path)
        .arg(DRILL_PROVINCE)
        .output()
        .map_err(|error| format!("python3 could not be started ({error})"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().last().unwrap_or("no message");
        return Err(format!("the DuckDB script failed: {last}"));
    }
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("the DuckDB script's answer is not JSON ({error})"))?;
    let number = |field: &str| answer[field].as_f64().unwrap_or(f64::NAN);
    Ok(DuckDbFigures {
        summary_ms: number("summary_ms"),
        drill_down_ms: number("drill_down_ms"),
        load_ms: number("load_ms"),
        first_indicator_total: answer["first_indicator_total"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        version: answer["duckdb_version"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    })
}

fn verdict(ok: bool) -> &'static str {
    if ok { "within budget" } else { "OVER BUDGET" }
}

fn print_summary() {
    let fixture = fixture();
    let province = DivisionCode::parse(DRILL_PROVINCE).expect("province");
    let store_bytes = folder_bytes(&fixture.folder.path().join("store"));
    let csv_bytes = std::fs::metadata(&fixture.csv_path)
        .map(|meta| meta.len())
        .unwrap_or(0);
    println!(
        "aggregates bench: {} accepted reports × {} indicators ({} values) over {} counties, {} industries",
        fixture.n_units,
        fixture.indicators.len(),
        fixture.n_units * fixture.indicators.len(),
        fixture.counties.len(),
        fixture.industries.len()
    );
    println!(
        "  load: {:.1} s through count_accepted in transactions of {LOAD_BATCH} ({:.0} reports/s); store {:.0} MB on disk, CSV {:.0} MB",
        fixture.load_time.as_secs_f64(),
        fixture.n_units as f64 / fixture.load_time.as_secs_f64(),
        store_bytes as f64 / 1e6,
        csv_bytes as f64 / 1e6
    );

    let table = province_industry_table(&fixture.trees, FORM, PERIOD).expect("summary");
    let first_total: Decimal = table
        .rows
        .iter()
        .map(|row| {
            row.totals
                .first()
                .map(|total| total.sum)
                .unwrap_or_default()
        })
        .sum();
    let (summary, summary_best) = timed(31, || {
        std::hint::black_box(
            province_industry_table(&fixture.trees, FORM, PERIOD).expect("summary"),
        );
    });
    let drill = city_industry_table(&fixture.trees, FORM, PERIOD, province).expect("drill-down");
    let (drill_down, drill_best) = timed(31, || {
        let table = city_industry_table(&fixture.trees, FORM, PERIOD, province).expect("drill");
        std::hint::black_box(table.by_division());
    });
    let mut random = StdRng::seed_from_u64(7);
    let corrections: Vec<_> = (0..101).map(|_| correction(fixture, &mut random)).collect();
    let mut next = corrections.iter();
    let (update, update_best) = timed(corrections.len(), || {
        let (key, corrected) = next.next().expect("a correction per run");
        swap(fixture, key, corrected);
    });
    println!(
        "  ours: national summary {:.3} ms (best {:.3}; {} province × industry rows × {} indicators)",
        ms(summary),
        ms(summary_best),
        table.rows.len(),
        table.indicators.len()
    );
    println!(
        "        drill-down of {DRILL_PROVINCE} {:.3} ms (best {:.3}; {} city × industry rows)",
        ms(drill_down),
        ms(drill_best),
        drill.rows.len()
    );
    println!(
        "        correction swap {:.3} ms (best {:.3}; the counting transaction, before the shared flush)",
        ms(update),
        ms(update_best)
    );
    println!(
        "  budget: summary ≤ 8 ms: {}; update < 1 ms: {}",
        verdict(summary <= SUMMARY_BUDGET),
        verdict(update < UPDATE_BUDGET)
    );
    match duckdb_figures(fixture) {
        Ok(duck) => {
            let agrees = Decimal::from_str(&duck.first_indicator_total)
                .is_ok_and(|theirs| theirs.normalize() == first_total.normalize());
            println!(
                "  DuckDB {}: summary {:.3} ms, drill-down {:.3} ms (best of several, data loaded in memory in {:.0} ms); {} total {} ({})",
                duck.version,
                duck.summary_ms,
                duck.drill_down_ms,
                duck.load_ms,
                fixture.indicators[0],
                duck.first_indicator_total,
                if agrees {
                    "equal to ours"
                } else {
                    "DIFFERS from ours"
                }
            );
            let ratio = duck.summary_ms / ms(summary);
            println!(
                "  ratio: ours is {ratio:.1}× faster than DuckDB on the summary (goal 10×: {}); drill-down {:.1}×",
                if ratio >= 10.0 { "met" } else { "NOT MET" },
                duck.drill_down_ms / ms(drill_down)
            );
        }
        Err(reason) => {
            println!("  DuckDB comparison skipped: {reason} (install it with `pip install duckdb`)")
        }
    }
    println!();
}

fn main() {
    print_summary();
    divan::main();
}

#[divan::bench(sample_count = 30)]
fn national_summary(bencher: divan::Bencher) {
    let fixture = fixture();
    bencher.bench(|| province_industry_table(&fixture.trees, FORM, PERIOD).expect("summary"));
}

#[divan::bench(sample_count = 30)]
fn province_drill_down(bencher: divan::Bencher) {
    let fixture = fixture();
    let province = DivisionCode::parse(DRILL_PROVINCE).expect("province");
    bencher.bench(|| {
        city_industry_table(&fixture.trees, FORM, PERIOD, province)
            .expect("drill-down")
            .by_division()
    });
}

#[divan::bench(sample_count = 30, sample_size = 10)]
fn correction_swap(bencher: divan::Bencher) {
    let fixture = fixture();
    let mut random = StdRng::seed_from_u64(11);
    bencher
        .with_inputs(|| correction(fixture, &mut random))
        .bench_local_refs(|(key, corrected)| swap(fixture, key, corrected));
}
