//! A whole federation on one machine: the `zhibao demo` command, and the
//! same launcher the integration tests use (so the tests exercise the demo).
//!
//! [`launch`] binds two ports per node on 127.0.0.1 (port 0), makes a fresh CA
//! and node certificates under `DIR/pki`, writes each node's commented
//! config under `DIR/{node}/node.toml`, loads it back through the normal
//! config checks, and starts the nodes. `zhibao demo` then writes
//! `DIR/federation.json` (the contract in `shared/design/api.md`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use zhibao_federation_protocol::{NodeIdentity, NodeLevel};

use crate::clock::Timestamp;
use crate::config::{
    CONFIG_VERSION, ConfigError, ConfigFile, FederationSection, NodeConfig, PeerSection,
    TlsSection, WebSection,
};
use crate::node::{NodeHandle, NodeListeners, StartError};
use crate::pki::{CaFolder, PkiError};

/// Node certificates of the demo and tests: two years.
const NODE_CERT_VALIDITY_DAYS: i64 = 730;

/// Why a federation could not be launched.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// Certificates.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// A generated config did not pass the checks (a bug in the launcher).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A node did not start.
    #[error("{node}: {source}")]
    Start {
        /// Which node.
        node: String,
        /// Why.
        source: Box<StartError>,
    },
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Two members share an identity.
    #[error("{0} is listed twice")]
    Duplicate(String),
}

/// The four nodes `zhibao demo` runs.
pub fn demo_members() -> Vec<NodeIdentity> {
    [
        "national/000000",
        "province/320000",
        "city/320100",
        "city/320500",
    ]
    .iter()
    .filter_map(|tail| NodeIdentity::from_uri(&format!("zhibao://node/{tail}")).ok())
    .collect()
}

/// A running federation.
#[derive(Debug)]
pub struct RunningFederation {
    /// The folder holding `pki/` and one folder per node.
    pub dir: PathBuf,
    /// The running nodes, in the order they were listed.
    pub nodes: Vec<NodeHandle>,
}

impl RunningFederation {
    /// The node with this conventional name (`national`, `city-320100`...).
    pub fn node(&self, name: &str) -> Option<&NodeHandle> {
        self.nodes
            .iter()
            .find(|node| node.state.config.name == name)
    }

    /// The CA certificate every client of this federation should trust.
    pub fn ca_cert_path(&self) -> PathBuf {
        self.dir.join("pki").join("ca.pem")
    }

    /// Stops every node.
    pub async fn shutdown(self) {
        for node in self.nodes {
            node.shutdown().await;
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> LaunchError + '_ {
    move |source| LaunchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where a parent that is not part of the launch is said to be.
const UNREACHABLE_PARENT_URL: &str = "https://127.0.0.1:9";

/// The identity of the node directly above, whether or not it is launched.
fn parent_identity(identity: &NodeIdentity) -> Option<NodeIdentity> {
    let division = crate::division::DivisionCode::parse(identity.division()).ok()?;
    NodeIdentity::new(
        identity.level().parent_level()?,
        &division.parent()?.to_string(),
    )
    .ok()
}

/// The member directly above `identity` in the list, if present.
fn parent_among<'a>(
    identity: &NodeIdentity,
    members: &'a [NodeIdentity],
) -> Option<&'a NodeIdentity> {
    let division = crate::division::DivisionCode::parse(identity.division()).ok()?;
    let parent_division = division.parent()?.to_string();
    let parent_level = identity.level().parent_level()?;
    members
        .iter()
        .find(|member| member.level() == parent_level && member.division() == parent_division)
}

/// A planned node: identity, bound sockets, its folder.
struct PlannedNode {
    identity: NodeIdentity,
    listeners: NodeListeners,
    web_listen: String,
    federation_listen: String,
    certificate_login_listen: Option<String>,
}

/// Settings of a launch that differ between the demo and the tests.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// `federation.retry_max_ms` of every node.
    pub retry_max_ms: u64,
}

impl LaunchOptions {
    /// What `zhibao demo` uses: production-like retry pauses.
    pub fn demo() -> LaunchOptions {
        LaunchOptions {
            retry_max_ms: 10_000,
        }
    }
}

/// Starts `members` as one federation under `dir` (created if needed). A CA
/// already in `dir/pki` is reused; node certificates are issued afresh.
pub async fn launch(
    dir: &Path,
    members: &[NodeIdentity],
    options: &LaunchOptions,
    now: Timestamp,
) -> Result<RunningFederation, LaunchError> {
    for (index, member) in members.iter().enumerate() {
        if members[..index].contains(member) {
            return Err(LaunchError::Duplicate(member.to_uri()));
        }
    }
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    // why: federation.json names files by absolute path, whatever the caller's working folder
    let dir = &std::fs::canonicalize(dir).map_err(io_error(dir))?;
    let pki_dir = dir.join("pki");
    let mut ca = if pki_dir.join("ca.key").exists() {
        CaFolder::open(&pki_dir)?
    } else {
        CaFolder::init(&pki_dir, "Zhibao demo federation CA", now)?
    };
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut planned = Vec::new();
    for identity in members {
        // A demo city also offers certificate login for its units (R17).
        let bound = if identity.level() == NodeLevel::City {
            NodeListeners::bind_ephemeral_with_certificate_login(loopback)
        } else {
            NodeListeners::bind_ephemeral(loopback)
        };
        let listeners = bound.map_err(|source| LaunchError::Start {
            node: identity.conventional_name(),
            source: Box::new(source),
        })?;
        let (web, federation) = listeners.addresses().map_err(io_error(dir))?;
        let certificate_login_listen = listeners
            .certificate_login
            .as_ref()
            .map(|listener| listener.local_addr().map(|address| address.to_string()))
            .transpose()
            .map_err(io_error(dir))?;
        planned.push(PlannedNode {
            identity: identity.clone(),
            listeners,
            web_listen: web.to_string(),
            federation_listen: federation.to_string(),
            certificate_login_listen,
        });
    }
    let federation_url_of = |identity: &NodeIdentity| {
        planned
            .iter()
            .find(|plan| &plan.identity == identity)
            .map(|plan| format!("https://{}", plan.federation_listen))
            .unwrap_or_default()
    };
    let hosts = ["localhost".to_string(), "127.0.0.1".to_string()];
    let mut configs = Vec::new();
    for plan in &planned {
        let name = plan.identity.conventional_name();
        let node_dir = dir.join(&name);
        std::fs::create_dir_all(&node_dir).map_err(io_error(&node_dir))?;
        let issued = ca.issue_node(&plan.identity, &hosts, NODE_CERT_VALIDITY_DAYS, now)?;
        crate::pki::write_issued(&node_dir, "node", &issued)?;
        let parent = parent_identity(&plan.identity).map(|parent| PeerSection {
            // A parent left out of this launch is configured but unreachable (a
            // test of a province alone, say): the discard port answers nothing.
            url: if members.contains(&parent) {
                federation_url_of(&parent)
            } else {
                UNREACHABLE_PARENT_URL.to_string()
            },
            identity: parent.to_uri(),
        });
        let children = members
            .iter()
            .filter(|member| parent_among(member, members) == Some(&plan.identity))
            .map(|child| PeerSection {
                url: federation_url_of(child),
                identity: child.to_uri(),
            })
            .collect();
        let file = ConfigFile {
            version: CONFIG_VERSION,
            name: name.clone(),
            level: plan.identity.level().to_string(),
            division: plan.identity.division().to_string(),
            data_dir: PathBuf::from("data"),
            web: WebSection {
                listen: plan.web_listen.clone(),
                certificate_login_listen: plan.certificate_login_listen.clone(),
            },
            federation: FederationSection {
                listen: plan.federation_listen.clone(),
                retry_max_ms: options.retry_max_ms,
            },
            tls: TlsSection {
                ca_cert: PathBuf::from("../pki/ca.pem"),
                cert: PathBuf::from("node.pem"),
                key: PathBuf::from("node.key"),
                crl: Some(PathBuf::from("../pki/crl.pem")),
            },
            parent,
            children,
            notify: None,
        };
        let config_path = node_dir.join("node.toml");
        std::fs::write(&config_path, file.to_commented_toml()).map_err(io_error(&config_path))?;
        configs.push(NodeConfig::load(&config_path)?);
    }
    let mut nodes = Vec::new();
    for (plan, config) in planned.into_iter().zip(configs) {
        let name = config.name.clone();
        let node = crate::node::start(config, plan.listeners, now)
            .await
            .map_err(|source| LaunchError::Start {
                node: name,
                source: Box::new(source),
            })?;
        nodes.push(node);
    }
    Ok(RunningFederation {
        dir: dir.to_path_buf(),
        nodes,
    })
}

/// One node in `federation.json`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct FederationFileNode {
    /// Conventional name.
    pub name: String,
    /// `national`, `province`, `city`.
    pub level: NodeLevel,
    /// Division code.
    pub division: String,
    /// Web listener URL.
    pub web_url: String,
    /// Federation listener URL.
    pub federation_url: String,
    /// City nodes: the certificate-login URL for units (asks for a unit certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_login_url: Option<String>,
}

/// One login in `federation.json`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct FederationFileAccount {
    /// The node the account lives on.
    pub node: String,
    /// Login name.
    pub username: String,
    /// Password (demo accounts only).
    pub password: String,
    /// `admin`, `reviewer`, `enterprise` or `county`.
    pub role: String,
    /// The unit's credit code for enterprise accounts.
    pub unit: Option<String>,
}

/// `federation.json` as the api.md contract describes it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct FederationFile {
    /// Every node.
    pub nodes: Vec<FederationFileNode>,
    /// Path of the CA certificate clients should trust.
    pub ca_cert: String,
    /// Logins (filled as accounts land).
    pub accounts: Vec<FederationFileAccount>,
}

impl RunningFederation {
    /// The `federation.json` description of this federation.
    pub fn describe(&self) -> FederationFile {
        FederationFile {
            nodes: self
                .nodes
                .iter()
                .map(|node| FederationFileNode {
                    name: node.state.config.name.clone(),
                    level: node.state.config.level(),
                    division: node.state.config.division.to_string(),
                    web_url: node.web_url(),
                    federation_url: node.federation_url(),
                    certificate_login_url: node.certificate_login_url(),
                })
                .collect(),
            ca_cert: self.ca_cert_path().display().to_string(),
            accounts: Vec::new(),
        }
    }

    /// The set-up logins of every node, read from each node's
    /// `initial-accounts.txt`. With `waive_password_change` (the demo), the
    /// accounts no longer force a change at first login.
    pub async fn bureau_logins(
        &self,
        waive_password_change: bool,
    ) -> Result<Vec<FederationFileAccount>, LaunchError> {
        let mut logins = Vec::new();
        for node in &self.nodes {
            let path = node
                .state
                .config
                .data_dir
                .join(crate::node::INITIAL_ACCOUNTS_FILE);
            let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
            for line in text.lines().filter(|line| !line.starts_with('#')) {
                let mut words = line.split_whitespace();
                let (Some(role), Some(username), Some(password)) =
                    (words.next(), words.next(), words.next())
                else {
                    continue;
                };
                if waive_password_change {
                    waive_password_change_of(&node.state, username)
                        .await
                        .map_err(|source| LaunchError::Io {
                            path: path.clone(),
                            source: std::io::Error::other(source),
                        })?;
                }
                logins.push(FederationFileAccount {
                    node: node.state.config.name.clone(),
                    username: username.to_string(),
                    password: password.to_string(),
                    role: role.to_string(),
                    unit: None,
                });
            }
        }
        Ok(logins)
    }

    /// Writes `federation.json` into the federation's folder, atomically.
    pub fn write_federation_file(
        &self,
        accounts: Vec<FederationFileAccount>,
    ) -> Result<PathBuf, LaunchError> {
        let path = self.dir.join("federation.json");
        let temporary = self.dir.join(".federation.json.tmp");
        let mut description = self.describe();
        description.accounts = accounts;
        let text = serde_json::to_string_pretty(&description).map_err(|error| LaunchError::Io {
            path: path.clone(),
            source: std::io::Error::other(error),
        })?;
        std::fs::write(&temporary, text).map_err(io_error(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(io_error(&path))?;
        Ok(path)
    }
}

/// Demo only: the account may keep its initial password.
async fn waive_password_change_of(
    state: &crate::node::NodeState,
    username: &str,
) -> Result<(), crate::store::StoreError> {
    if let Some(mut account) = state.accounts.accounts.get(username.as_bytes())? {
        account.must_change_password = false;
        state
            .accounts
            .accounts
            .insert(username.as_bytes(), &account)?;
        state.store.commit_durable().await?;
    }
    Ok(())
}

/// Fills the demo's cities with sample survey units (real counties and
/// industries, valid credit codes, every class and status), registered for
/// the annual period being reported and the current quarter, each with a
/// login that keeps its initial password. Returns the unit logins.
pub async fn populate_units(
    running: &RunningFederation,
    units_per_city: usize,
    now: Timestamp,
) -> Result<Vec<FederationFileAccount>, LaunchError> {
    let mut logins = Vec::new();
    for node in &running.nodes {
        let state = &node.state;
        if state.config.level() != NodeLevel::City {
            continue;
        }
        // The periods being reported, as this node's standards say (annual, and the quarter).
        let standards = state.standards();
        let period_of = |period: String| {
            crate::registry::PeriodId::parse(&period).map_err(|error| LaunchError::Io {
                path: running.dir.clone(),
                source: std::io::Error::other(error.to_string()),
            })
        };
        let annual = period_of(standards.annual_period.to_string())?;
        let quarter = period_of(standards.quarterly_period.to_string())?;
        let seed = u64::from(
            state
                .config
                .division
                .to_string()
                .parse::<u32>()
                .unwrap_or(0),
        );
        let units =
            crate::registry::sample::sample_units(state.config.division, units_per_city, seed);
        let as_io = |error: crate::registry::flow::RegistryFlowError| LaunchError::Io {
            path: state.config.data_dir.clone(),
            source: std::io::Error::other(error.to_string()),
        };
        let outcome =
            crate::registry::flow::import_units(state, annual, units.clone(), "demo", false, now)
                .await
                .map_err(as_io)?;
        crate::registry::flow::import_units(state, quarter, units, "demo", false, now)
            .await
            .map_err(as_io)?;
        logins.extend(
            outcome
                .new_logins
                .into_iter()
                .map(|login| FederationFileAccount {
                    node: state.config.name.clone(),
                    username: login.username,
                    password: login.password,
                    role: "enterprise".to_string(),
                    unit: Some(login.unit),
                }),
        );
    }
    Ok(logins)
}

/// A clean G101 for a demo unit: every balance holds and no rule fires;
/// `scale` varies the figures from unit to unit and year to year.
fn demo_values(scale: u32) -> crate::report::ReportContent {
    let water_fresh = 60_000 + 1_000 * scale;
    let water_reused = 40_000 + 500 * scale;
    let direct = 20_000 + 300 * scale;
    let to_plant = 30_000 + 200 * scale;
    let discharged = direct + to_plant;
    // COD concentration ≈ 80–160 mg/L: tonnes = mg/L × t / 1e6.
    let cod_emit_milli = discharged * (80 + scale % 80) / 1_000;
    let values = [
        ("output_value", format!("{}.5", 12_000 + 150 * scale)),
        ("production_hours", "8000".to_string()),
        ("production_status", "normal".to_string()),
        ("water_total", (water_fresh + water_reused).to_string()),
        ("water_fresh", water_fresh.to_string()),
        ("water_reused", water_reused.to_string()),
        ("ww_discharged", discharged.to_string()),
        ("ww_direct", direct.to_string()),
        ("ww_to_plant", to_plant.to_string()),
        (
            "cod_gen",
            format!(
                "{}.{:03}",
                cod_emit_milli * 4 / 1000,
                cod_emit_milli * 4 % 1000
            ),
        ),
        (
            "cod_emit",
            format!("{}.{:03}", cod_emit_milli / 1000, cod_emit_milli % 1000),
        ),
        ("nh3n_gen", "2.400".to_string()),
        ("nh3n_emit", "0.600".to_string()),
    ];
    crate::report::ReportContent {
        values: values
            .into_iter()
            .map(|(key, value)| (key.to_string(), value))
            .collect(),
        rows: Vec::new(),
        explanations: std::collections::BTreeMap::new(),
    }
}

/// Gives the demo's first units reports in every state, so a visitor can
/// click through: accepted data of the year before (previous-period rules
/// compare against it), then for the annual period being reported a draft,
/// a submitted report, one returned with a deadline, one approved and
/// forwarded to the province, and one approved by the province and forwarded
/// to the nation. Everything goes through the same functions users reach.
pub async fn seed_reports(running: &RunningFederation, now: Timestamp) -> Result<(), LaunchError> {
    let as_error = |error: String| LaunchError::Io {
        path: running.dir.clone(),
        source: std::io::Error::other(error),
    };
    let mut forwarded_to_province = Vec::new();
    for node in &running.nodes {
        let state = &node.state;
        if state.config.level() != NodeLevel::City {
            continue;
        }
        let annual = state.standards().annual_period;
        let previous = annual
            .previous()
            .ok_or_else(|| as_error("no previous period".to_string()))?;
        let entries = state
            .registry
            .list(
                crate::registry::PeriodId::parse(&annual.to_string())
                    .map_err(|error| as_error(error.to_string()))?,
                None,
            )
            .map_err(|error| as_error(error.to_string()))?;
        let active_units: Vec<&crate::registry::SurveyUnit> = entries
            .iter()
            .filter(|entry| matches!(entry.unit.status, crate::registry::UnitStatus::Active))
            .map(|entry| &entry.unit)
            .collect();
        let active: Vec<String> = active_units
            .iter()
            .map(|unit| unit.code.as_str().to_string())
            .collect();
        for (index, unit) in active_units.iter().enumerate() {
            let scale = u32::try_from(index).unwrap_or(0);
            let values = demo_values(scale);
            seed_previous_year(
                state,
                unit.code.as_str(),
                &previous.to_string(),
                values.clone(),
                now,
            )
            .map_err(|error| as_error(error.to_string()))?;
            seed_previous_totals(running, unit, &previous.to_string(), &values.values)
                .map_err(|error| as_error(error.to_string()))?;
        }
        for node in &running.nodes {
            node.state
                .store
                .commit_durable()
                .await
                .map_err(|error| as_error(error.to_string()))?;
        }
        state
            .store
            .commit_durable()
            .await
            .map_err(|error| as_error(error.to_string()))?;
        for (index, unit) in active.iter().take(5).enumerate() {
            seed_current_year(state, unit, annual, index, now)
                .await
                .map_err(|error| as_error(error.to_string()))?;
        }
        if let Some(unit) = active.get(4) {
            forwarded_to_province.push((unit.clone(), annual));
        }
    }
    approve_at_province(running, &forwarded_to_province, now)
        .await
        .map_err(as_error)
}

/// The province approves the reports named (once they arrived), which sends them on to the nation.
async fn approve_at_province(
    running: &RunningFederation,
    reports: &[(String, crate::metadata::period::PeriodId)],
    now: Timestamp,
) -> Result<(), String> {
    let Some(province) = running
        .nodes
        .iter()
        .find(|node| node.state.config.level() == NodeLevel::Province)
    else {
        return Ok(());
    };
    let state = &province.state;
    let reviewer = format!("reviewer{}-1", state.config.division);
    for (unit, period) in reports {
        let (key, form, period) =
            crate::report::service::checked_key(state, unit, "G101", &period.to_string())
                .map_err(|error| error.to_string())?;
        // Wait (bounded) for the city's batch to arrive over the federation.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while state
            .review
            .received
            .get(&key.to_bytes())
            .map_err(|error| error.to_string())?
            .is_none()
        {
            if std::time::Instant::now() > deadline {
                return Err(format!(
                    "{unit}'s report did not reach the province in time"
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        crate::report::service::reviewer_check(state, &key, &form, period, &reviewer, now)
            .await
            .map_err(|error| error.to_string())?;
        crate::report::service::approve(
            state,
            &key,
            Some("同意 / approved".to_string()),
            &reviewer,
            now,
        )
        .await
        .map_err(|error| error.to_string())?;
    }
    Ok(())
}

/// Last year's accepted report counted in the totals of the city and of every
/// node above it in this demo, so year-over-year columns and the data report
/// have something to compare with. Counting the same report again changes nothing.
fn seed_previous_totals(
    running: &RunningFederation,
    unit: &crate::registry::SurveyUnit,
    period: &str,
    values: &std::collections::BTreeMap<String, String>,
) -> Result<(), crate::store::StoreError> {
    let key = crate::report::ReportKey {
        unit: unit.code.as_str().to_string(),
        form: "G101".to_string(),
        period: period.to_string(),
    };
    let classes: Vec<String> = unit
        .classes
        .iter()
        .map(|class| class.code_word().to_string())
        .collect();
    let contribution = crate::aggregate::Contribution {
        version: 1,
        dimensions: crate::aggregate::dimensions(
            &unit.county.to_string(),
            unit.industry.as_str(),
            &classes,
        ),
        values: values.clone(),
    };
    for node in &running.nodes {
        let state = &node.state;
        if !state.config.division.contains(unit.county) {
            continue;
        }
        state.store.transaction(&state.aggregates.handles(), |tx| {
            crate::aggregate::count_accepted(tx, &state.aggregates, &key, contribution.clone())?;
            Ok::<(), crate::store::TxError<crate::store::StoreError>>(())
        })?;
    }
    Ok(())
}

/// Last year's report, accepted (seeded directly: its windows are long closed).
fn seed_previous_year(
    state: &crate::node::NodeState,
    unit: &str,
    period: &str,
    content: crate::report::ReportContent,
    now: Timestamp,
) -> Result<(), crate::report::store::ReportStoreError> {
    let key = crate::report::ReportKey {
        unit: unit.to_string(),
        form: "G101".to_string(),
        period: period.to_string(),
    };
    if state.reports.status.get(&key.to_bytes())?.is_some() {
        return Ok(());
    }
    state
        .reports
        .save_draft(&state.store, &key, content, None, unit, now)?;
    state
        .reports
        .submit(&state.store, &state.audit, &key, None, unit, now)?;
    state.reports.change_status(
        &state.store,
        &state.audit,
        &key,
        "demo.seed_accepted",
        "demo",
        now,
        |status| {
            let checked = crate::report::record_rule_run(status, 0, 0, "demo", now)?;
            let approved = crate::report::approve(
                &checked,
                Some("演示数据 / demo data".to_string()),
                "demo",
                now,
            )?;
            Ok(crate::report::receive_acceptance(&approved, "national", 1))
        },
    )?;
    Ok(())
}

async fn seed_current_year(
    state: &crate::node::NodeState,
    unit: &str,
    period: crate::metadata::period::PeriodId,
    stage: usize,
    now: Timestamp,
) -> Result<(), crate::report::service::ReportServiceError> {
    use crate::report::service;
    let (key, form, period) = service::checked_key(state, unit, "G101", &period.to_string())?;
    if state.reports.status.get(&key.to_bytes())?.is_some() {
        return Ok(());
    }
    let scale = u32::try_from(stage).unwrap_or(0) + 3;
    service::save_draft(
        state,
        &key,
        &form,
        period,
        demo_values(scale),
        None,
        unit,
        now,
    )
    .await?;
    if stage == 0 {
        return Ok(()); // a draft
    }
    service::submit(state, &key, &form, period, None, unit, now).await?;
    if stage == 1 {
        return Ok(()); // submitted, waiting for the city
    }
    let reviewer = format!("reviewer{}-1", state.config.division);
    service::reviewer_check(state, &key, &form, period, &reviewer, now).await?;
    if stage == 2 {
        let comments = vec![crate::report::Comment {
            indicator: Some("cod_emit".to_string()),
            text:
                "化学需氧量排放量与监测数据不符，请核实 / please check COD against monitoring data"
                    .to_string(),
        }];
        service::return_to_unit(
            state,
            &key,
            comments,
            now.plus_seconds(7 * 86_400),
            &reviewer,
            now,
        )
        .await?;
        return Ok(());
    }
    service::approve(
        state,
        &key,
        Some("同意 / approved".to_string()),
        &reviewer,
        now,
    )
    .await?;
    Ok(())
}
