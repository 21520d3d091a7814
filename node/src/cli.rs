//! The `zhibao` command line. `main.rs` only calls [`main`]; it lives in the
//! library so the integration tests can run the very same CLI as a child
//! process (`tests/src/bin/zhibao_cli.rs`). This is the one module of the
//! library that uses `anyhow`: it is the program's edge.

use std::path::PathBuf;

use crate::clock::Timestamp;
use crate::config::NodeConfig;
use crate::node::NodeListeners;
use crate::pki::CaFolder;
use anyhow::Context;
use clap::{Parser, Subcommand};
use zhibao_federation_protocol::{NodeIdentity, NodeLevel};

#[derive(Debug, Parser)]
#[command(
    name = "zhibao",
    version,
    about = "国控源直报 Zhibao: one node of the environmental statistics direct-reporting federation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one node from its config file.
    Serve {
        /// The node's TOML config.
        #[arg(long)]
        config: PathBuf,
    },
    /// Run a demo federation (national, province 320000, cities 320100 and 320500) on 127.0.0.1.
    Demo {
        /// Keep data here and write DIR/federation.json; a temporary folder otherwise.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Sample survey units per city.
        #[arg(long, default_value_t = 50)]
        units_per_city: usize,
    },
    /// Make a data folder, a node certificate and a config for one node.
    Init(InitArgs),
    /// The federation CA: certificates and revocation.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Back up a stopped node's store (a running node: POST /api/v1/admin/backup, or the nightly job).
    Backup {
        /// The node's TOML config.
        #[arg(long)]
        config: PathBuf,
        /// The backup file to write (default: backups/NAME-TIME.zbk beside the data folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Restore a backup into the (empty) data folder of a config, then verify it.
    Restore {
        /// The node's TOML config; its data_dir must be empty or absent.
        #[arg(long)]
        config: PathBuf,
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
    /// Check a stopped node's store: audit chain, report content hashes, envelope signatures.
    Verify {
        /// The node's TOML config.
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// national, province or city.
    #[arg(long)]
    level: NodeLevel,
    /// The division code the bureau serves (000000 for national).
    #[arg(long)]
    division: String,
    /// The node's folder (created); config goes to DIR/node.toml.
    #[arg(long)]
    dir: PathBuf,
    /// The CA folder made by `zhibao certs init-ca`.
    #[arg(long)]
    ca_dir: PathBuf,
    /// Web listener address.
    #[arg(long, default_value = "0.0.0.0:8443")]
    web_listen: String,
    /// Federation listener address.
    #[arg(long, default_value = "0.0.0.0:9443")]
    federation_listen: String,
    /// The parent's federation URL (province and city nodes).
    #[arg(long)]
    parent_url: Option<String>,
    /// DNS names and IP addresses this node is reached at (repeat).
    #[arg(long = "host", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
    hosts: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum CertsCommand {
    /// Create the national root CA in a folder.
    InitCa {
        /// The CA folder (ca.pem, ca.key, ledger.json, crl.pem).
        #[arg(long)]
        dir: PathBuf,
        /// The CA's common name.
        #[arg(long, default_value = "Zhibao federation root CA")]
        name: String,
    },
    /// Issue (or renew) a node certificate.
    IssueNode {
        /// The CA folder.
        #[arg(long)]
        ca_dir: PathBuf,
        /// national, province or city.
        #[arg(long)]
        level: NodeLevel,
        /// Division code.
        #[arg(long)]
        division: String,
        /// DNS names and IP addresses the node is reached at (repeat).
        #[arg(long = "host", required = true)]
        hosts: Vec<String>,
        /// Where to write NAME.pem and NAME.key.
        #[arg(long)]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: i64,
    },
    /// Revoke a certificate by serial and publish a new crl.pem.
    Revoke {
        /// The CA folder.
        #[arg(long)]
        ca_dir: PathBuf,
        /// The serial (see ledger.json).
        #[arg(long)]
        serial: u64,
    },
}

fn node_identity(level: NodeLevel, division: &str) -> anyhow::Result<NodeIdentity> {
    let code = crate::division::DivisionCode::parse(division)?;
    Ok(NodeIdentity::new(level, &code.to_string())?)
}

/// Runs the command line and returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // why: reqwest and rustls panic at the first TLS use if no provider is installed; ring, not aws-lc-rs
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("zhibao: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // One line, no backtrace: operators read this.
            eprintln!("zhibao: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    let now = Timestamp::now_from_system_clock();
    match command {
        Command::Serve { config } => serve(config, now).await,
        Command::Demo {
            dir,
            units_per_city,
        } => demo(dir, units_per_city, now).await,
        Command::Init(args) => init(args, now),
        Command::Certs(certs) => run_certs(certs, now),
        Command::Verify { config } => verify(config),
        Command::Backup { config, out } => backup(config, out, now),
        Command::Restore { config, from } => restore(config, from),
    }
}

async fn wait_for_shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = terminate.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn serve(config_path: PathBuf, now: Timestamp) -> anyhow::Result<()> {
    let config = NodeConfig::load(&config_path)?;
    let listeners = NodeListeners::bind(&config)?;
    let node = crate::node::start(config, listeners, now).await?;
    println!(
        "{} web {} federation {}",
        node.state.config.name,
        node.web_url(),
        node.federation_url()
    );
    wait_for_shutdown_signal().await;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

async fn demo(dir: Option<PathBuf>, units_per_city: usize, now: Timestamp) -> anyhow::Result<()> {
    let (dir, _temporary) = match dir {
        Some(dir) => (dir, None),
        None => {
            let temporary = tempfile::Builder::new().prefix("zhibao-demo-").tempdir()?;
            (temporary.path().to_path_buf(), Some(temporary))
        }
    };
    let federation = crate::demo::launch(
        &dir,
        &crate::demo::demo_members(),
        &crate::demo::LaunchOptions::demo(),
        now,
    )
    .await?;
    let mut logins = federation.bureau_logins(true).await?;
    logins.extend(crate::demo::populate_units(&federation, units_per_city, now).await?);
    crate::demo::seed_reports(&federation, now).await?;
    let federation_file = federation.write_federation_file(logins)?;
    print_demo_guide(&federation, &federation_file);
    wait_for_shutdown_signal().await;
    federation.shutdown().await;
    Ok(())
}

fn print_demo_guide(
    federation: &crate::demo::RunningFederation,
    federation_file: &std::path::Path,
) {
    println!("国控源直报 Zhibao 演示联邦已启动 / demo federation running");
    for node in &federation.nodes {
        let config = &node.state.config;
        println!(
            "  {:<16} {} {:<8}  web {}  federation {}",
            config.name,
            config.division,
            config.division.name_zh(),
            node.web_url(),
            node.federation_url()
        );
        if let Some(url) = node.certificate_login_url() {
            println!("  {:<16} 单位证书登录 / unit certificate login {url}", "");
        }
    }
    println!(
        "根证书 / CA certificate: {}",
        federation.ca_cert_path().display()
    );
    println!(
        "  curl --cacert {} {}/healthz",
        federation.ca_cert_path().display(),
        federation
            .nodes
            .first()
            .map(|node| node.web_url())
            .unwrap_or_default()
    );
    print_demo_logins(federation_file);
    println!("联邦描述 / federation file: {}", federation_file.display());
    println!("按 Ctrl-C 停止 / press Ctrl-C to stop");
}

fn init(args: InitArgs, now: Timestamp) -> anyhow::Result<()> {
    let identity = node_identity(args.level, &args.division)?;
    if args.dir.join("node.toml").exists() {
        anyhow::bail!(
            "{} already holds a node (node.toml exists); choose another --dir, or renew its certificate with `zhibao certs issue-node`",
            args.dir.display()
        );
    }
    if args.level.parent_level().is_some() && args.parent_url.is_none() {
        anyhow::bail!(
            "--parent-url is required for a {} node: the federation URL of the node above",
            args.level
        );
    }
    let mut ca = CaFolder::open(&args.ca_dir)
        .with_context(|| format!("--ca-dir {}", args.ca_dir.display()))?;
    std::fs::create_dir_all(args.dir.join("data"))?;
    let issued = ca.issue_node(&identity, &args.hosts, 730, now)?;
    crate::pki::write_issued(&args.dir, "node", &issued)?;
    zhibao_certs::write_public_pem(&args.dir.join("ca.pem"), ca.ca_cert_pem())?;
    std::fs::copy(ca.crl_path(), args.dir.join("crl.pem"))?;
    let code = crate::division::DivisionCode::parse(&args.division)?;
    let parent = match (args.level.parent_level(), code.parent()) {
        (Some(parent_level), Some(parent_division)) => Some(crate::config::PeerSection {
            url: args
                .parent_url
                .clone()
                .context("--parent-url is required for a province or city node")?,
            identity: NodeIdentity::new(parent_level, &parent_division.to_string())?.to_uri(),
        }),
        _ => None,
    };
    let file = crate::config::ConfigFile {
        version: crate::config::CONFIG_VERSION,
        name: identity.conventional_name(),
        level: args.level.to_string(),
        division: args.division.clone(),
        data_dir: PathBuf::from("data"),
        web: crate::config::WebSection {
            listen: args.web_listen,
            certificate_login_listen: None,
        },
        federation: crate::config::FederationSection {
            listen: args.federation_listen,
            retry_max_ms: 10_000,
        },
        tls: crate::config::TlsSection {
            ca_cert: PathBuf::from("ca.pem"),
            cert: PathBuf::from("node.pem"),
            key: PathBuf::from("node.key"),
            crl: Some(PathBuf::from("crl.pem")),
        },
        parent,
        children: Vec::new(),
        notify: None,
    };
    let config_path = args.dir.join("node.toml");
    std::fs::write(&config_path, file.to_commented_toml())?;
    NodeConfig::load(&config_path)?;
    println!(
        "{} initialised: config {}",
        identity.conventional_name(),
        config_path.display()
    );
    if args.level != NodeLevel::City {
        println!("add a [[children]] section for each node below it (see configs/), then:");
    }
    println!("zhibao serve --config {}", config_path.display());

    Ok(())
}

fn run_certs(command: CertsCommand, now: Timestamp) -> anyhow::Result<()> {
    match command {
        CertsCommand::InitCa { dir, name } => {
            let ca = CaFolder::init(&dir, &name, now)?;
            println!(
                "CA created: {} (keep {} offline, mode 0600)",
                ca.ca_cert_path().display(),
                dir.join("ca.key").display()
            );
        }
        CertsCommand::IssueNode {
            ca_dir,
            level,
            division,
            hosts,
            out,
            days,
        } => {
            let identity = node_identity(level, &division)?;
            let mut ca = CaFolder::open(&ca_dir)?;
            let issued = ca.issue_node(&identity, &hosts, days, now)?;
            let (cert, key) =
                crate::pki::write_issued(&out, &identity.conventional_name(), &issued)?;
            println!(
                "issued {} serial {}: {} {}",
                identity,
                ca.ledger().last_serial,
                cert.display(),
                key.display()
            );
        }
        CertsCommand::Revoke { ca_dir, serial } => {
            let mut ca = CaFolder::open(&ca_dir)?;
            ca.revoke(serial, now)?;
            println!(
                "revoked serial {serial}; distribute {} to every node",
                ca.crl_path().display()
            );
        }
    }
    Ok(())
}

fn verify(config_path: PathBuf) -> anyhow::Result<()> {
    let config = NodeConfig::load(&config_path)?;
    let report = crate::verify::verify_node(&config)?;
    print_verify_report(&config, report)
}

fn print_verify_report(
    config: &NodeConfig,
    report: crate::verify::VerifyReport,
) -> anyhow::Result<()> {
    println!(
        "{}: {} audit entries, {} report versions, {} envelopes checked",
        config.name, report.audit_entries, report.report_versions, report.envelopes
    );
    if report.problems.is_empty() {
        println!("一切相符 / everything matches");
        return Ok(());
    }
    for problem in &report.problems {
        println!("不符 / MISMATCH: {problem}");
    }
    anyhow::bail!(
        "{} record(s) do not match; see above",
        report.problems.len()
    )
}

/// The logins a visitor needs: every bureau account and a few enterprises.
fn print_demo_logins(federation_file: &std::path::Path) {
    let Ok(text) = std::fs::read_to_string(federation_file) else {
        return;
    };
    let Ok(description) = serde_json::from_str::<crate::demo::FederationFile>(&text) else {
        return;
    };
    println!(
        "登录 / logins (POST /api/v1/session; 演示账户无需修改初始密码 / demo accounts keep their passwords):"
    );
    let bureau = description
        .accounts
        .iter()
        .filter(|login| login.role != "enterprise");
    let enterprises = description
        .accounts
        .iter()
        .filter(|login| login.role == "enterprise")
        .take(4);
    for login in bureau.chain(enterprises) {
        println!(
            "  {:<16} {:<10} {:<22} {}",
            login.node, login.role, login.username, login.password
        );
    }
    let units = description
        .accounts
        .iter()
        .filter(|login| login.role == "enterprise")
        .count();
    println!(
        "  …共 {units} 个企业账户见联邦描述文件 / {units} enterprise logins in the federation file"
    );
    print_demo_guide_steps(&description);
}

/// What a visitor can try, role by role (the web pages; the browser trusts the CA above or warns once).
fn print_demo_guide_steps(description: &crate::demo::FederationFile) {
    let url_of = |name: &str| {
        description
            .nodes
            .iter()
            .find(|node| node.name == name)
            .map(|node| node.web_url.clone())
            .unwrap_or_default()
    };
    let city = url_of("city-320100");
    println!("试一试 / what to try:");
    println!(
        "  1. 企业 / enterprise: {city}/login — 用上面的企业账户登录，打开 G101 2025，填写、审核、提交（提示须填写说明）"
    );
    println!(
        "     log in with an enterprise above, open G101 2025, fill it, check it, submit it (warnings need an explanation)"
    );
    println!(
        "  2. 市级审核 / city reviewer: {city}/review — 运行审核规则，然后通过或限期退回 / run the rules, then approve or return with a deadline"
    );
    println!(
        "  3. 省级审核 / province reviewer: {}/review — 审核、反馈或通过上报国家 / review, send feedback, or approve to the nation",
        url_of("province-320000")
    );
    println!(
        "  4. 国家 / national: {}/review — 验收；管理员可看联邦链路 {}/federation",
        url_of("national"),
        url_of("national")
    );
    println!("     accept into the national database; admins see the federation links page");
    println!(
        "  5. 统计看板 / dashboards: {city}/progress, {city}/totals；公开发布 / public page: {}/public",
        url_of("national")
    );
    println!(
        "  6. 离线填报 / offline entry: 报表页面下载 Excel 模板，填好后上传 / download the Excel template on the form page, fill it, upload it"
    );
    println!("  英文界面 / English: 任意页面加 ?lang=en / add ?lang=en to any page");
}

fn backup(config_path: PathBuf, out: Option<PathBuf>, now: Timestamp) -> anyhow::Result<()> {
    let config = NodeConfig::load(&config_path)?;
    let store = crate::store::Store::open(&config.data_dir).map_err(|error| {
        anyhow::anyhow!("data_dir: {error} — if the node is running, back it up with POST /api/v1/admin/backup (admin), or stop it first")
    })?;
    let path = out.unwrap_or_else(|| {
        config
            .data_dir
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("backups")
            .join(format!("{}-{}.zbk", config.name, now.0))
    });
    let summary = store.write_backup(&path, now)?;
    println!(
        "backup written: {} ({} trees, {} records, sha256 {})",
        summary.path.display(),
        summary.trees,
        summary.records,
        summary.sha256
    );
    Ok(())
}

fn restore(config_path: PathBuf, from: PathBuf) -> anyhow::Result<()> {
    let config = NodeConfig::load(&config_path)?;
    let (summary, store) = crate::store::Store::restore_backup(&from, &config.data_dir)?;
    println!(
        "restored {} records in {} trees into {}",
        summary.records,
        summary.trees,
        config.data_dir.display()
    );
    let report = crate::verify::verify_store(&config, &store)?;
    print_verify_report(&config, report)
}
