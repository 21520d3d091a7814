//! One running node: its state, its two listeners, and one shutdown signal.
//!
//! `main.rs`, the demo and the testkit all start nodes through [`start`], so
//! what is tested is what runs.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::Timestamp;
use crate::config::NodeConfig;
use crate::federation::{FederationSetupError, FederationState};
use crate::store::{Store, StoreError};
use crate::tls::{PeerCertificates, SwappableServerConfig, TlsMaterial, TlsSetupError};

/// What every handler of this node shares.
#[derive(Debug)]
pub struct NodeState {
    /// The checked config.
    pub config: NodeConfig,
    /// The node's database.
    pub store: Store,
    /// Outbox, inbox, signing and peer connections.
    pub federation: FederationState,
    /// Accounts and sessions.
    pub accounts: crate::accounts::store::AccountTrees,
    /// Reports of this node's units (city level).
    pub reports: crate::report::store::ReportTrees,
    /// Reports forwarded from below (province and national levels).
    pub review: crate::review::store::ReviewTrees,
    /// The hash-chained audit log.
    pub audit: crate::audit::AuditLog,
    /// The registry of survey units.
    pub registry: crate::registry::store::RegistryStore,
    /// Forms, periods, windows and compiled rules in force (replaced when a release arrives).
    standards: std::sync::RwLock<Arc<crate::report::standards::Standards>>,
    /// Metadata releases and the calendar as stored.
    pub metadata: crate::metadata::store::MetadataStore,
    /// Totals of accepted data.
    pub aggregates: crate::aggregate::AggregateTrees,
    /// Reminders, urging and deadline notices; how far the timed jobs got.
    pub notices: crate::urging::store::NoticeTrees,
    /// The unit CA and the certificates it issued (city nodes only).
    pub unit_certificates: Option<crate::unit_certs::UnitCertificates>,
    /// Progress summaries sent (a city) or received from each city (above).
    pub progress: crate::progress::store::ProgressTrees,
    /// Published snapshots of the totals.
    pub publications: crate::aggregate::publication::PublicationTrees,
    /// The federation listener's TLS config, replaced when a new CRL is published.
    pub federation_tls: SwappableServerConfig,
    /// The CRL text in force, to notice a new one.
    crl_in_force: std::sync::Mutex<Option<String>>,
}

/// How often a node looks for a newly published CRL file.
pub const CRL_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

impl NodeState {
    /// The standards in force.
    pub fn standards(&self) -> Arc<crate::report::standards::Standards> {
        match self.standards.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Rebuilds the standards from the stored releases and calendar (after a
    /// release arrived or a bureau changed its own).
    pub fn reload_standards(
        &self,
        now: Timestamp,
    ) -> Result<(), crate::report::standards::StandardsError> {
        let rebuilt =
            crate::report::standards::Standards::load_for(&self.config, &self.metadata, now)?;
        match self.standards.write() {
            Ok(mut guard) => *guard = Arc::new(rebuilt),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(rebuilt),
        }
        Ok(())
    }
    /// Reads the CRL file again and, if it changed, applies it to the
    /// federation listener, to outgoing calls and to signature checks. Returns
    /// whether anything changed. Runs every [`CRL_RELOAD_INTERVAL`] and on SIGHUP.
    pub fn reload_revocation_list(&self) -> Result<bool, TlsSetupError> {
        let material = TlsMaterial::read(&self.config.tls)?;
        let mut in_force = match self.crl_in_force.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *in_force == material.crl_pem {
            return Ok(false);
        }
        self.federation_tls
            .replace(material.federation_server_config()?);
        self.federation.reload(&material)?;
        tracing::info!(node = %self.config.name, "new certificate revocation list in force");
        *in_force = material.crl_pem;
        Ok(true)
    }
}

/// Why a node did not start. Each names the config field to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Certificates could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// The node's own certificate is for another node.
    #[error(
        "tls.cert: the certificate is for {in_certificate}, but this config is for {in_config}; issue a certificate for this node with `zhibao certs issue-node`"
    )]
    IdentityMismatch {
        /// What the certificate carries.
        in_certificate: String,
        /// What the config says.
        in_config: String,
    },
    /// The node's own certificate is expired or not yet valid.
    #[error("tls.cert: {0}; renew it with `zhibao certs issue-node`")]
    CertificateNotValid(zhibao_certs::CertsError),
    /// The store could not be opened.
    #[error("data_dir: {0}")]
    Store(#[from] StoreError),
    /// The set-up accounts could not be made.
    #[error("accounts: {0}")]
    Accounts(String),
    /// The federation side could not be set up.
    #[error(transparent)]
    Federation(#[from] FederationSetupError),
    /// A listen address could not be bound.
    #[error("{field}: cannot listen on {address}: {source}")]
    Bind {
        /// `web.listen` or `federation.listen`.
        field: &'static str,
        /// The address.
        address: SocketAddr,
        /// The cause (e.g. address in use).
        source: std::io::Error,
    },
}

/// The two listening sockets of a node, bound before it starts (so the demo
/// and the tests can bind port 0, learn the ports, then write configs).
#[derive(Debug)]
pub struct NodeListeners {
    /// Web and API.
    pub web: std::net::TcpListener,
    /// Federation.
    pub federation: std::net::TcpListener,
    /// Certificate login for units (city nodes that configure it).
    pub certificate_login: Option<std::net::TcpListener>,
}

fn bind(field: &'static str, address: SocketAddr) -> Result<std::net::TcpListener, StartError> {
    let listener = std::net::TcpListener::bind(address).map_err(|source| StartError::Bind {
        field,
        address,
        source,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| StartError::Bind {
            field,
            address,
            source,
        })?;
    Ok(listener)
}

impl NodeListeners {
    /// Binds both addresses of a config.
    pub fn bind(config: &NodeConfig) -> Result<NodeListeners, StartError> {
        Ok(NodeListeners {
            web: bind("web.listen", config.web_listen)?,
            federation: bind("federation.listen", config.federation_listen)?,
            certificate_login: config
                .certificate_login_listen
                .map(|address| bind("web.certificate_login_listen", address))
                .transpose()?,
        })
    }

    /// Binds two fresh ports on an interface (port 0).
    pub fn bind_ephemeral(ip: std::net::IpAddr) -> Result<NodeListeners, StartError> {
        Ok(NodeListeners {
            web: bind("web.listen", SocketAddr::new(ip, 0))?,
            federation: bind("federation.listen", SocketAddr::new(ip, 0))?,
            certificate_login: None,
        })
    }

    /// Three fresh ports: web, federation and certificate login (a demo city).
    pub fn bind_ephemeral_with_certificate_login(
        ip: std::net::IpAddr,
    ) -> Result<NodeListeners, StartError> {
        let mut listeners = NodeListeners::bind_ephemeral(ip)?;
        listeners.certificate_login = Some(bind(
            "web.certificate_login_listen",
            SocketAddr::new(ip, 0),
        )?);
        Ok(listeners)
    }

    /// The bound addresses (web, federation).
    pub fn addresses(&self) -> std::io::Result<(SocketAddr, SocketAddr)> {
        Ok((self.web.local_addr()?, self.federation.local_addr()?))
    }
}

/// A running node.
#[derive(Debug)]
pub struct NodeHandle {
    /// Shared state (config and store).
    pub state: Arc<NodeState>,
    /// Where the web listener is.
    pub web_addr: SocketAddr,
    /// Where the federation listener is.
    pub federation_addr: SocketAddr,
    /// Where the certificate-login listener is, if the node has one.
    pub certificate_login_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    scheduler: Option<Jobs>,
}

/// The running job scheduler (wrapped: the crate's type has no `Debug`).
struct Jobs(tokio_cron_scheduler::JobScheduler);

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jobs")
    }
}

impl NodeHandle {
    /// `https://ip:port` of the web listener.
    pub fn web_url(&self) -> String {
        format!("https://{}", self.web_addr)
    }

    /// The certificate-login base URL, if the node has that listener.
    pub fn certificate_login_url(&self) -> Option<String> {
        self.certificate_login_addr
            .map(|address| format!("https://{address}"))
    }

    /// `https://ip:port` of the federation listener.
    pub fn federation_url(&self) -> String {
        format!("https://{}", self.federation_addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits for the tasks.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(Jobs(mut scheduler)) = self.scheduler.take()
            && let Err(error) = scheduler.shutdown().await
        {
            tracing::warn!(%error, "the job scheduler did not stop cleanly");
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Checks the node's own certificate against its config and the clock.
fn check_own_certificate(
    config: &NodeConfig,
    material: &TlsMaterial,
    now: Timestamp,
) -> Result<(), StartError> {
    let details =
        zhibao_certs::certificate_details_from_pem(&material.cert_pem).map_err(|source| {
            TlsSetupError::Certs {
                field: "tls.cert",
                source,
            }
        })?;
    details
        .check_valid_at(now.unix_seconds())
        .map_err(StartError::CertificateNotValid)?;
    match material.own_identity()? {
        Some(identity) if identity == config.identity => Ok(()),
        other => Err(StartError::IdentityMismatch {
            in_certificate: other.map_or_else(
                || "no zhibao node identity".to_string(),
                |identity| identity.to_uri(),
            ),
            in_config: config.identity.to_uri(),
        }),
    }
}

/// File (0600) in the data folder holding the set-up accounts' initial passwords.
pub const INITIAL_ACCOUNTS_FILE: &str = "initial-accounts.txt";

/// At a node's first start: one admin and three reviewers (R5), with random
/// initial passwords written to `data_dir/initial-accounts.txt` (0600) for the
/// operator to hand out; each must be changed at first login.
async fn create_bureau_accounts_once(
    config: &NodeConfig,
    accounts: &crate::accounts::store::AccountTrees,
    store: &Store,
    now: Timestamp,
) -> Result<(), StartError> {
    if !accounts.accounts.is_empty() {
        return Ok(());
    }
    let mut lines = vec![format!(
        "# {} ({}) 初始账户 / initial accounts: role username password — 首次登录须修改密码 / change at first login",
        config.name,
        config.division.name_zh()
    )];
    for (username, role) in crate::accounts::bureau_usernames(config.division) {
        let role_name = role.name();
        let issued = accounts
            .create(&username, role, true, "setup", now)?
            .map_err(|error| StartError::Accounts(error.to_string()))?;
        lines.push(format!(
            "{role_name} {username} {}",
            issued.initial_password
        ));
    }
    let path = config.data_dir.join(INITIAL_ACCOUNTS_FILE);
    zhibao_certs::write_private_pem(&path, &(lines.join("\n") + "\n"))
        .map_err(|error| StartError::Accounts(format!("{}: {error}", path.display())))?;
    store.commit_durable().await?;
    tracing::warn!(file = %path.display(), "created the bureau's admin and reviewer accounts; hand out their initial passwords and delete the file");
    Ok(())
}

/// Starts a node on already-bound listeners.
pub async fn start(
    config: NodeConfig,
    listeners: NodeListeners,
    now: Timestamp,
) -> Result<NodeHandle, StartError> {
    let material = TlsMaterial::read(&config.tls)?;
    check_own_certificate(&config, &material, now)?;
    let web_tls = SwappableServerConfig::new(material.web_server_config()?);
    let federation_tls = SwappableServerConfig::new(material.federation_server_config()?);
    let store = Store::open(&config.data_dir)?;
    let federation = FederationState::new(&config, &material, &store)?;
    let accounts = crate::accounts::store::AccountTrees::open(&store)?;
    let reports = crate::report::store::ReportTrees::open(&store)?;
    let review = crate::review::store::ReviewTrees::open(&store)?;
    let audit = crate::audit::AuditLog::open(&store)?;
    let registry = crate::registry::store::RegistryStore::open(&store)?;
    let aggregates = crate::aggregate::AggregateTrees::open(&store)?;
    let notices = crate::urging::store::NoticeTrees::open(&store)?;
    let unit_certificates = if config.level() == zhibao_federation_protocol::NodeLevel::City {
        Some(
            crate::unit_certs::UnitCertificates::open(
                &store,
                &config.data_dir,
                config.division.name_zh(),
                &material,
                now,
            )
            .map_err(|error| StartError::Accounts(format!("unit certificates: {error}")))?,
        )
    } else {
        None
    };
    let progress = crate::progress::store::ProgressTrees::open(&store)?;
    let publications = crate::aggregate::publication::PublicationTrees::open(&store)?;
    let metadata = crate::metadata::store::MetadataStore::open(&store)?;
    let standards = crate::report::standards::Standards::load_for(&config, &metadata, now)
        .map_err(|error| StartError::Accounts(format!("standards: {error}")))?;

    create_bureau_accounts_once(&config, &accounts, &store, now).await?;
    let state = Arc::new(NodeState {
        config,
        store,
        federation,
        accounts,
        reports,
        review,
        audit,
        registry,
        standards: std::sync::RwLock::new(Arc::new(standards)),
        metadata,
        aggregates,
        notices,
        unit_certificates,
        progress,
        publications,
        federation_tls: federation_tls.clone(),
        crl_in_force: std::sync::Mutex::new(material.crl_pem.clone()),
    });

    let web_address = listeners
        .web
        .local_addr()
        .map_err(|source| StartError::Bind {
            field: "web.listen",
            address: state.config.web_listen,
            source,
        })?;
    let federation_address =
        listeners
            .federation
            .local_addr()
            .map_err(|source| StartError::Bind {
                field: "federation.listen",
                address: state.config.federation_listen,
                source,
            })?;
    let web_listener =
        tokio::net::TcpListener::from_std(listeners.web).map_err(|source| StartError::Bind {
            field: "web.listen",
            address: web_address,
            source,
        })?;
    let federation_listener =
        tokio::net::TcpListener::from_std(listeners.federation).map_err(|source| {
            StartError::Bind {
                field: "federation.listen",
                address: federation_address,
                source,
            }
        })?;

    if state.config.notify.is_some() {
        // Before the node serves: a notice made from now on is a new one.
        crate::urging::webhook::set_aside_older_notices(&state, now).await?;
    }
    let (shutdown, shutdown_receiver) = watch::channel(false);
    let mut tasks = vec![
        tokio::spawn(crate::tls::serve(
            web_listener,
            web_tls,
            crate::web::app(state.clone()),
            PeerCertificates::Ignore,
            shutdown_receiver.clone(),
        )),
        tokio::spawn(crate::tls::serve(
            federation_listener,
            federation_tls,
            crate::federation::routes(state.clone()),
            PeerCertificates::Attach,
            shutdown_receiver.clone(),
        )),
    ];
    let certificate_login_address = match (
        listeners.certificate_login,
        state.unit_certificates.as_ref(),
    ) {
        (Some(listener), Some(certificates)) => {
            let address = listener.local_addr().ok();
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|source| StartError::Bind {
                    field: "web.certificate_login_listen",
                    address: state.config.web_listen,
                    source,
                })?;
            tasks.push(tokio::spawn(crate::tls::serve(
                listener,
                certificates.login_tls.clone(),
                crate::web::app(state.clone()),
                PeerCertificates::Attach,
                shutdown_receiver.clone(),
            )));
            address
        }
        _ => None,
    };
    if let Some(notify) = state.config.notify.clone() {
        tasks.push(tokio::spawn(crate::urging::webhook::run(
            state.clone(),
            notify,
            shutdown_receiver.clone(),
        )));
    }
    tasks.push(tokio::spawn(reload_revocation_list_periodically(
        state.clone(),
        shutdown_receiver.clone(),
    )));
    for peer in state
        .config
        .parent
        .iter()
        .chain(state.config.children.iter())
    {
        let Some(wakeup) = state.federation.wakeup_of(&peer.identity) else {
            continue;
        };
        tasks.push(tokio::spawn(crate::federation::sender::run(
            state.clone(),
            peer.identity.clone(),
            peer.url.clone(),
            wakeup,
            shutdown_receiver.clone(),
        )));
    }
    tracing::info!(
        node = %state.config.name,
        identity = %state.config.identity,
        web = %web_address,
        federation = %federation_address,
        "node started"
    );
    let scheduler = match crate::jobs::start(&state).await {
        Ok(scheduler) => Some(Jobs(scheduler)),
        Err(error) => {
            // The node serves without its timed jobs rather than not at all; the log says so.
            tracing::error!(%error, "timed jobs could not start (nightly backups are off)");
            None
        }
    };
    Ok(NodeHandle {
        state,
        web_addr: web_address,
        federation_addr: federation_address,
        certificate_login_addr: certificate_login_address,
        shutdown,
        tasks,
        scheduler,
    })
}

async fn reload_revocation_list_periodically(
    state: Arc<NodeState>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CRL_RELOAD_INTERVAL) => {},
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        if let Err(error) = state.reload_revocation_list() {
            // Keep the CRL in force; a half-written or bad file must not open the door.
            tracing::error!(%error, "the new revocation list could not be loaded; the previous one stays in force");
        }
    }
}
