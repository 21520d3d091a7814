//! Publishing standards: a bureau's metadata release (the nation's standard,
//! a province's or a city's extension), the national calendar, and a city's
//! window exceptions. Each is stored and queued to every child node in one
//! transaction, then put in force at this node.

use zhibao_federation_protocol::NodeLevel;
use zhibao_federation_protocol::messages::{MetadataReleasePayload, PeriodReleasePayload};

use super::standards::{Standards, StandardsError};
use crate::clock::Timestamp;
use crate::federation::outbound::{self, OutgoingMessage};
use crate::metadata::period::{PeriodCalendar, WindowException};
use crate::metadata::store::ReleaseSaved;
use crate::metadata::{Extension, MetadataRelease, NationalStandard, Origin};
use crate::node::NodeState;
use crate::store::{StoreError, TxError, TxFailure};

/// Why a release was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The file cannot be read, or does not compose or compile.
    #[error("{0}")]
    Invalid(String),
    /// The release is not this node's to publish.
    #[error(
        "本节点只能发布自己的扩展 / this node publishes only its own releases: expected origin {expected}, found {found}"
    )]
    NotOurs {
        /// This node's origin.
        expected: String,
        /// The file's.
        found: String,
    },
    /// The version is not newer than what is stored.
    #[error(
        "版本 {version} 已存在或不是最新，请递增版本号 / version {version} exists or is not the newest ({latest}); increase it"
    )]
    StaleVersion {
        /// Sent.
        version: u32,
        /// Stored.
        latest: u32,
    },
    /// Storage.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn own_origin(state: &NodeState) -> Origin {
    match state.config.level() {
        NodeLevel::National => Origin::National,
        NodeLevel::Province => Origin::Province(state.config.division),
        NodeLevel::City => Origin::City(state.config.division),
    }
}

/// What a release would do, without storing it: it composes and compiles with
/// everything above it, and flags this many of the reports this node holds.
#[derive(Debug, serde::Serialize)]
pub struct DryRun {
    /// The release's origin.
    pub origin: String,
    /// Its version.
    pub version: u32,
    /// Reports checked.
    pub reports_checked: usize,
    /// Reports on which the release's own rules would report a finding.
    pub reports_flagged: usize,
}

/// Reads a release file (TOML) and checks that it composes and compiles at this node.
pub fn prepare(
    state: &NodeState,
    text: &str,
    now: Timestamp,
) -> Result<(MetadataRelease, Standards), ReleaseError> {
    let release = MetadataRelease::from_toml(text)
        .map_err(|error| ReleaseError::Invalid(error.to_string()))?;
    let expected = own_origin(state);
    if release.origin != expected {
        return Err(ReleaseError::NotOurs {
            expected: expected.to_string(),
            found: release.origin.to_string(),
        });
    }
    let latest = state
        .metadata
        .latest_release(expected)?
        .map_or(0, |stored| stored.version);
    if release.version <= latest {
        return Err(ReleaseError::StaleVersion {
            version: release.version,
            latest,
        });
    }
    let current = state.standards();
    let invalid = |error: StandardsError| ReleaseError::Invalid(error.to_string());
    let national = match expected {
        Origin::National => NationalStandard {
            release: release.clone(),
        },
        Origin::Province(_) | Origin::City(_) => {
            match state.metadata.latest_release(Origin::National)? {
                Some(release) => NationalStandard { release },
                None => NationalStandard::default_standard()
                    .map_err(|error| ReleaseError::Invalid(error.to_string()))?,
            }
        }
    };
    let province_release = match expected {
        Origin::Province(_) => Some(release.clone()),
        Origin::City(city) => match city.parent() {
            Some(province) => state.metadata.latest_release(Origin::Province(province))?,
            None => None,
        },
        Origin::National => None,
    };
    let city_release = match expected {
        Origin::City(_) => Some(release.clone()),
        Origin::National | Origin::Province(_) => None,
    };
    let province_extension = province_release.map(|release| Extension { release });
    let city_extension = city_release.map(|release| Extension { release });
    let standards = Standards::build(
        &national,
        province_extension.as_ref(),
        city_extension.as_ref(),
        current.calendar.clone(),
        now,
    )
    .map_err(invalid)?;
    Ok((release, standards))
}

/// Counts the reports this node holds that the release's own rules would flag.
pub fn dry_run(
    state: &NodeState,
    release: &MetadataRelease,
    standards: &Standards,
) -> Result<DryRun, ReleaseError> {
    let mut checked = 0;
    let mut flagged = 0;
    for entry in state.reports.status.scan_prefix(&[]) {
        let (key_bytes, status) = entry?;
        let Some(number) = status.latest_version else {
            continue;
        };
        let Some(key) = super::ReportKey::from_bytes(&key_bytes) else {
            continue;
        };
        let Some(version) = state.reports.version(&key, number)? else {
            continue;
        };
        let Some(form_definition) = super::facts::form_of(&standards.metadata, &key.form) else {
            continue;
        };
        let Some(rule_set) = standards.rule_set(&form_definition.code) else {
            continue;
        };
        let Ok((values, rows)) =
            super::facts::parse_content(&standards.metadata, form_definition, &version.content)
        else {
            continue;
        };
        let unit = super::service::unit_facts(state, &key.unit)
            .map(|(facts, _)| facts)
            .unwrap_or_default();
        let findings = crate::rules::check(
            rule_set,
            &super::facts::report_facts(values, rows, None, None, unit),
        );
        checked += 1;
        if findings
            .iter()
            .any(|finding| finding.owner == release.origin)
        {
            flagged += 1;
        }
    }
    Ok(DryRun {
        origin: release.origin.to_string(),
        version: release.version,
        reports_checked: checked,
        reports_flagged: flagged,
    })
}

fn to_children(
    state: &NodeState,
    kind_payload: impl Fn(
        &zhibao_federation_protocol::NodeIdentity,
    ) -> Result<OutgoingMessage, StoreError>,
) -> Result<Vec<OutgoingMessage>, StoreError> {
    state
        .config
        .children
        .iter()
        .map(|child| kind_payload(&child.identity))
        .collect()
}

async fn commit_and_wake(state: &NodeState, now: Timestamp) -> Result<(), ReleaseError> {
    state.store.commit_durable().await?;
    for child in &state.config.children {
        state.federation.wake(&child.identity);
    }
    state
        .reload_standards(now)
        .map_err(|error| ReleaseError::Invalid(error.to_string()))
}

/// Stores a prepared release, queues it to every child, and puts it in force here.
pub async fn publish(
    state: &NodeState,
    release: &MetadataRelease,
    by: &str,
    now: Timestamp,
) -> Result<(), ReleaseError> {
    let body =
        serde_json::to_string(release).map_err(|error| ReleaseError::Invalid(error.to_string()))?;
    let payload = MetadataReleasePayload {
        origin: release.origin.to_string(),
        version: release.version,
        body_format: 1,
        body,
    };
    let messages = to_children(state, |child| {
        OutgoingMessage::new(child.clone(), &payload, vec![])
    })?;
    let federation = &state.federation.trees;
    let [releases, calendar] = state.metadata.tree_handles();
    state.store.transaction(
        &[
            releases,
            calendar,
            &federation.outbox,
            &federation.next_sequence,
            &state.audit.entries,
        ],
        |tx| {
            if state.metadata.save_release_in(tx, release)? != ReleaseSaved::Stored {
                return Err(TxError::Abort(ReleaseError::StaleVersion {
                    version: release.version,
                    latest: release.version,
                }));
            }
            for message in &messages {
                outbound::enqueue(tx, federation, &state.federation.sealer, message, now)?;
            }
            audit(
                tx,
                state,
                by,
                "metadata.release",
                format!("{} v{}", release.origin, release.version),
                now,
            )?;
            Ok(())
        },
    )?;
    commit_and_wake(state, now).await
}

fn audit(
    tx: &crate::store::Transaction<'_>,
    state: &NodeState,
    by: &str,
    action: &str,
    subject: String,
    now: Timestamp,
) -> Result<(), TxFailure> {
    crate::audit::append(
        tx,
        &state.audit,
        &crate::audit::AuditEvent {
            actor: by,
            action,
            subject,
            content_hash: None,
        },
        now,
    )?;
    Ok(())
}

/// The nation sets the calendar (windows of every stage) and sends it down.
pub async fn publish_calendar(
    state: &NodeState,
    calendar: &PeriodCalendar,
    by: &str,
    now: Timestamp,
) -> Result<(), ReleaseError> {
    if state.config.level() != NodeLevel::National {
        return Err(ReleaseError::NotOurs {
            expected: "national".to_string(),
            found: own_origin(state).to_string(),
        });
    }
    let body = serde_json::to_string(calendar)
        .map_err(|error| ReleaseError::Invalid(error.to_string()))?;
    let payload = PeriodReleasePayload {
        set_at_ms: now.0,
        body_format: 1,
        body,
    };
    let messages = to_children(state, |child| {
        OutgoingMessage::new(child.clone(), &payload, vec![])
    })?;
    let federation = &state.federation.trees;
    let [releases, calendar_tree] = state.metadata.tree_handles();
    state.store.transaction(
        &[
            releases,
            calendar_tree,
            &federation.outbox,
            &federation.next_sequence,
            &state.audit.entries,
        ],
        |tx| {
            state.metadata.save_calendar_in(tx, calendar)?;
            for message in &messages {
                outbound::enqueue(tx, federation, &state.federation.sealer, message, now)?;
            }
            audit(
                tx,
                state,
                by,
                "calendar.release",
                "national calendar".to_string(),
                now,
            )?;
            Ok::<(), TxError<ReleaseError>>(())
        },
    )?;
    commit_and_wake(state, now).await
}

/// A bureau lets one unit report after its window closed, with a reason (recorded).
pub async fn grant_exception(
    state: &NodeState,
    period: crate::metadata::period::PeriodId,
    form: &crate::metadata::FormCode,
    exception: WindowException,
    now: Timestamp,
) -> Result<(), ReleaseError> {
    let mut calendar = state.standards().calendar.clone();
    let subject = format!(
        "{} {} {} until {}",
        exception.credit_code,
        form.as_str(),
        period,
        exception.until.0
    );
    let by = exception.granted_by.clone();
    calendar.grant_exception(period, form, exception);
    let [releases, calendar_tree] = state.metadata.tree_handles();
    state
        .store
        .transaction(&[releases, calendar_tree, &state.audit.entries], |tx| {
            state.metadata.save_calendar_in(tx, &calendar)?;
            audit(tx, state, &by, "window.exception", subject.clone(), now)?;
            Ok::<(), TxError<ReleaseError>>(())
        })?;
    state.store.commit_durable().await?;
    state
        .reload_standards(now)
        .map_err(|error| ReleaseError::Invalid(error.to_string()))
}
