//! Federation logic without sockets: a city's outbox and a province's inbox
//! as plain functions over two stores.

use zhibao_federation_protocol::NodeIdentity;
use zhibao_federation_protocol::messages::{
    CountyProgress, DeliveryReceipt, ProgressCounts, ProgressSummary, RegistryChange,
    RegistryChangeKind, Reminder, UnitOnTheWire,
};

use super::inbound::Inbound;
use super::outbound::{self, OutgoingMessage, Sealer};
use super::store::FederationTrees;
use crate::clock::Timestamp;
use crate::config::NodeConfig;
use crate::pki::CaFolder;
use crate::store::{Store, StoreError, TxError};

struct Side {
    config: NodeConfig,
    store: Store,
    trees: FederationTrees,
    sealer: Sealer,
    reports: crate::report::store::ReportTrees,
    review: crate::review::store::ReviewTrees,
    audit: crate::audit::AuditLog,
    registry: crate::registry::store::RegistryStore,
    metadata: crate::metadata::store::MetadataStore,
    progress: crate::progress::store::ProgressTrees,
    notices: crate::urging::store::NoticeTrees,
}

fn side(
    folder: &std::path::Path,
    ca: &mut CaFolder,
    uri: &str,
    parent: Option<&str>,
    children: &[&str],
) -> Side {
    let identity = NodeIdentity::from_uri(uri).unwrap();
    let dir = folder.join(identity.conventional_name());
    let issued = ca
        .issue_node(
            &identity,
            &["127.0.0.1".into()],
            30,
            Timestamp::now_from_system_clock(),
        )
        .unwrap();
    crate::pki::write_issued(&dir, "node", &issued).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.ca_cert_pem()).unwrap();
    let parent = parent
        .map(|parent| format!("[parent]\nurl = \"https://127.0.0.1:1\"\nidentity = \"{parent}\"\n"))
        .unwrap_or_default();
    let children: String = children
        .iter()
        .map(|child| {
            format!("[[children]]\nurl = \"https://127.0.0.1:2\"\nidentity = \"{child}\"\n")
        })
        .collect();
    let text = format!(
        "version = 1\nname = \"{}\"\nlevel = \"{}\"\ndivision = \"{}\"\ndata_dir = \"data\"\n[web]\nlisten = \"127.0.0.1:0\"\n[federation]\nlisten = \"127.0.0.1:0\"\n[tls]\nca_cert = \"ca.pem\"\ncert = \"node.pem\"\nkey = \"node.key\"\n{parent}{children}",
        identity.conventional_name(),
        identity.level(),
        identity.division()
    );
    let config = NodeConfig::from_toml(&text, "test.toml", &dir).unwrap();
    let store = Store::open(&config.data_dir).unwrap();
    Side {
        sealer: Sealer {
            identity,
            signer: zhibao_certs::NodeSigner::new(&issued.cert_pem, &issued.key_pem).unwrap(),
        },
        trees: FederationTrees::open(&store).unwrap(),
        reports: crate::report::store::ReportTrees::open(&store).unwrap(),
        review: crate::review::store::ReviewTrees::open(&store).unwrap(),
        audit: crate::audit::AuditLog::open(&store).unwrap(),
        registry: crate::registry::store::RegistryStore::open(&store).unwrap(),
        metadata: crate::metadata::store::MetadataStore::open(&store).unwrap(),
        progress: crate::progress::store::ProgressTrees::open(&store).unwrap(),
        notices: crate::urging::store::NoticeTrees::open(&store).unwrap(),
        config,
        store,
    }
}

fn change(county: &str, index: u32) -> RegistryChange {
    let first_seventeen = format!("91{county}{index:09}");
    let check = crate::registry::credit_code_check_character(&first_seventeen).unwrap();
    RegistryChange {
        change: RegistryChangeKind::Upsert,
        unit: UnitOnTheWire {
            credit_code: format!("{first_seventeen}{check}"),
            name: format!("单位{index}"),
            division: county.into(),
            industry: "26".into(),
            classes: vec!["city".into()],
            key_industry: false,
            status: None,
            suspension_reason: None,
            group_company: None,
            address: None,
        },
        period: "2025".into(),
    }
}

fn queue(city: &Side, to: &NodeIdentity, changes: &[RegistryChange]) {
    let [outbox, next_sequence] = city.trees.enqueue_handles();
    city.store
        .transaction(&[outbox, next_sequence], |tx| {
            for change in changes {
                let message = OutgoingMessage::new(to.clone(), change, vec![]).unwrap();
                outbound::enqueue(
                    tx,
                    &city.trees,
                    &city.sealer,
                    &message,
                    Timestamp::now_from_system_clock(),
                )?;
            }
            Ok::<(), TxError<StoreError>>(())
        })
        .unwrap();
}

fn deliver(
    province: &Side,
    checker: &zhibao_certs::CertificateChecker,
    from: &Side,
    envelopes: Vec<zhibao_federation_protocol::Envelope>,
) -> DeliveryReceipt {
    Inbound {
        config: &province.config,
        store: &province.store,
        trees: &province.trees,
        sealer: &province.sealer,
        checker,
        reports: &province.reports,
        review: &province.review,
        audit: &province.audit,
        registry: &province.registry,
        metadata: &province.metadata,
        progress: &province.progress,
        notices: &province.notices,
    }
    .accept_delivery(
        &from.sealer.identity,
        &zhibao_federation_protocol::messages::Delivery { envelopes },
        Timestamp::now_from_system_clock(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_city_outbox_delivered_to_a_province_inbox_applies_once_in_order_and_refuses_what_is_not_its_own()
 {
    let folder = tempfile::tempdir().unwrap();
    let mut ca = CaFolder::init(
        &folder.path().join("pki"),
        "ca",
        Timestamp::now_from_system_clock(),
    )
    .unwrap();
    let city = side(
        folder.path(),
        &mut ca,
        "zhibao://node/city/320100",
        Some("zhibao://node/province/320000"),
        &[],
    );
    let province = side(
        folder.path(),
        &mut ca,
        "zhibao://node/province/320000",
        Some("zhibao://node/national/000000"),
        &["zhibao://node/city/320100"],
    );
    let checker = zhibao_certs::CertificateChecker::new(ca.ca_cert_pem(), vec![]).unwrap();
    let province_identity = province.sealer.identity.clone();

    // 10 messages, the 4th about a Suzhou unit (not Nanjing's to send).
    let mut changes: Vec<RegistryChange> = (0..10).map(|index| change("320102", index)).collect();
    changes[3] = change("320505", 3);
    queue(&city, &province_identity, &changes);
    let pending = outbound::pending(&city.trees, &province_identity, 100).unwrap();
    let sequences: Vec<u64> = pending
        .iter()
        .map(|entry| entry.envelope.sequence)
        .collect();
    assert_eq!(sequences, (1..=10).collect::<Vec<_>>());
    let envelopes: Vec<_> = pending.into_iter().map(|entry| entry.envelope).collect();

    // A gap: 1, 2, then 5 — the province stops at the gap and acknowledges through 2.
    let receipt = deliver(
        &province,
        &checker,
        &city,
        vec![
            envelopes[0].clone(),
            envelopes[1].clone(),
            envelopes[4].clone(),
        ],
    );
    assert_eq!(receipt.acknowledged_through, 2);
    // Everything, again from 1: 1 and 2 are acknowledged, not re-applied; 4 is refused; the link goes on.
    let receipt = deliver(&province, &checker, &city, envelopes.clone());
    assert_eq!(receipt.acknowledged_through, 10);
    assert_eq!(receipt.refused.len(), 1);
    assert_eq!(receipt.refused[0].sequence, 4);
    assert_eq!(receipt.refused[0].code, "FED021");
    let applied: Vec<u64> = province
        .trees
        .received
        .scan_prefix(&super::store::peer_prefix(&city.sealer.identity))
        .map(|entry| entry.unwrap().1.sequence)
        .collect();
    assert_eq!(applied, [1, 2, 3, 5, 6, 7, 8, 9, 10]);
    // The province relayed each applied change to the nation, forwarded intact.
    let national = NodeIdentity::from_uri("zhibao://node/national/000000").unwrap();
    let relayed = outbound::pending(&province.trees, &national, 100).unwrap();
    assert_eq!(relayed.len(), 9);
    assert!(
        relayed
            .iter()
            .all(|entry| entry.envelope.forwarded.len() == 1)
    );
    // The receipt empties the city's outbox and records the refusal for the operator.
    outbound::record_receipt(
        &city.trees,
        &province_identity,
        &receipt,
        10,
        Timestamp::now_from_system_clock(),
    )
    .unwrap();
    assert_eq!(
        outbound::queue_depth(&city.trees, &province_identity)
            .unwrap()
            .0,
        0
    );
    let status = outbound::delivery_status(&city.trees, &province_identity).unwrap();
    assert_eq!(status.refused_total, 1);
    assert!(status.last_error.unwrap().contains("FED021"));
}

#[tokio::test]
async fn a_province_keeps_the_newest_progress_summary_and_relays_each_intact() {
    let folder = tempfile::tempdir().unwrap();
    let mut ca = CaFolder::init(
        &folder.path().join("pki"),
        "ca",
        Timestamp::now_from_system_clock(),
    )
    .unwrap();
    let city = side(
        folder.path(),
        &mut ca,
        "zhibao://node/city/320100",
        Some("zhibao://node/province/320000"),
        &[],
    );
    let province = side(
        folder.path(),
        &mut ca,
        "zhibao://node/province/320000",
        Some("zhibao://node/national/000000"),
        &["zhibao://node/city/320100"],
    );
    let checker = zhibao_certs::CertificateChecker::new(ca.ca_cert_pem(), vec![]).unwrap();
    let province_identity = province.sealer.identity.clone();
    let summary = |computed_at_ms: i64, draft: u64| ProgressSummary {
        city: "320100".into(),
        form: "G101".into(),
        period: "2025".into(),
        computed_at_ms,
        counties: vec![CountyProgress {
            county: "320102".into(),
            counts: ProgressCounts {
                expected: 3,
                draft,
                not_started: 3 - draft,
                ..ProgressCounts::default()
            },
        }],
        late_units: vec![],
        late_total: 3,
    };
    // The newer count (at 20) is queued first; the older one (at 10) arrives after it.
    let now = Timestamp::now_from_system_clock();
    let [outbox, next_sequence] = city.trees.enqueue_handles();
    city.store
        .transaction(&[outbox, next_sequence], |tx| {
            for payload in [summary(20, 2), summary(10, 1)] {
                let message =
                    OutgoingMessage::new(province_identity.clone(), &payload, vec![]).unwrap();
                outbound::enqueue(tx, &city.trees, &city.sealer, &message, now)?;
            }
            Ok::<(), TxError<StoreError>>(())
        })
        .unwrap();
    let envelopes: Vec<_> = outbound::pending(&city.trees, &province_identity, 10)
        .unwrap()
        .into_iter()
        .map(|entry| entry.envelope)
        .collect();
    let receipt = deliver(&province, &checker, &city, envelopes);
    assert_eq!(
        (receipt.acknowledged_through, receipt.refused.len()),
        (2, 0)
    );
    let held = province.progress.of_form_period("G101", "2025").unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].computed_at_ms, held[0].counties[0].1.draft),
        (20, 2)
    );
    // Both go on to the nation, each carrying the city's envelope unchanged.
    let national = NodeIdentity::from_uri("zhibao://node/national/000000").unwrap();
    let relayed = outbound::pending(&province.trees, &national, 10).unwrap();
    assert_eq!(relayed.len(), 2);
    assert!(relayed.iter().all(|entry| {
        entry.envelope.forwarded.len() == 1
            && entry.envelope.forwarded[0].sender == city.sealer.identity
            && entry.envelope.forwarded[0].payload == entry.envelope.payload
    }));
}

#[tokio::test]
async fn a_city_keeps_a_reminder_from_its_province_once_and_refuses_the_others() {
    let folder = tempfile::tempdir().unwrap();
    let mut ca = CaFolder::init(
        &folder.path().join("pki"),
        "ca",
        Timestamp::now_from_system_clock(),
    )
    .unwrap();
    let city = side(
        folder.path(),
        &mut ca,
        "zhibao://node/city/320100",
        Some("zhibao://node/province/320000"),
        &[],
    );
    let province = side(
        folder.path(),
        &mut ca,
        "zhibao://node/province/320000",
        Some("zhibao://node/national/000000"),
        &["zhibao://node/city/320100"],
    );
    let checker = zhibao_certs::CertificateChecker::new(ca.ca_cert_pem(), vec![]).unwrap();
    let now = Timestamp::now_from_system_clock();
    let reminder = |to: &str| {
        crate::urging::reminder_for(
            zhibao_federation_protocol::NodeLevel::Province,
            crate::division::DivisionCode::parse("320000").unwrap(),
            crate::division::DivisionCode::parse(to).unwrap(),
            "G101",
            "2025",
            None,
            "reviewer",
            now,
        )
    };
    let mut not_its_own = reminder("320100");
    not_its_own.from_division = "330000".into();
    let mut unreadable = reminder("320100");
    unreadable.period = "2025Q9".into();
    let payloads: [Reminder; 4] = [
        reminder("320100"),
        reminder("320500"),
        not_its_own,
        unreadable,
    ];
    let city_identity = city.sealer.identity.clone();
    let [outbox, next_sequence] = province.trees.enqueue_handles();
    province
        .store
        .transaction(&[outbox, next_sequence], |tx| {
            for payload in &payloads {
                let message = OutgoingMessage::new(city_identity.clone(), payload, vec![]).unwrap();
                outbound::enqueue(tx, &province.trees, &province.sealer, &message, now)?;
            }
            Ok::<(), TxError<StoreError>>(())
        })
        .unwrap();
    let envelopes: Vec<_> = outbound::pending(&province.trees, &city_identity, 10)
        .unwrap()
        .into_iter()
        .map(|entry| entry.envelope)
        .collect();
    let receipt = deliver(&city, &checker, &province, envelopes.clone());
    let codes: Vec<&str> = receipt
        .refused
        .iter()
        .map(|refusal| refusal.code.as_str())
        .collect();
    assert_eq!(receipt.acknowledged_through, 4);
    assert_eq!(codes, ["FED021", "FED021", "FED022"], "{receipt:?}");
    let bureau = |side: &Side| {
        side.notices
            .newest_for(&crate::urging::Audience::Bureau, 50)
            .unwrap()
    };
    let kept = bureau(&city);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].kind, crate::urging::NoticeKind::ReminderFromAbove);
    assert!(kept[0].text_zh.contains("南京市"), "{}", kept[0].text_zh);
    // Redelivered: acknowledged, not kept twice.
    let again = deliver(&city, &checker, &province, envelopes);
    assert_eq!((again.acknowledged_through, again.refused.len()), (4, 0));
    assert_eq!(bureau(&city).len(), 1);
    // A city does not remind its province.
    let province_identity = province.sealer.identity.clone();
    let [outbox, next_sequence] = city.trees.enqueue_handles();
    city.store
        .transaction(&[outbox, next_sequence], |tx| {
            let message =
                OutgoingMessage::new(province_identity.clone(), &reminder("320100"), vec![])
                    .unwrap();
            outbound::enqueue(tx, &city.trees, &city.sealer, &message, now)?;
            Ok::<(), TxError<StoreError>>(())
        })
        .unwrap();
    let upward: Vec<_> = outbound::pending(&city.trees, &province_identity, 10)
        .unwrap()
        .into_iter()
        .map(|entry| entry.envelope)
        .collect();
    let receipt = deliver(&province, &checker, &city, upward);
    assert_eq!(receipt.refused.len(), 1);
    assert_eq!(receipt.refused[0].code, "FED020");
    assert!(bureau(&province).is_empty());
}
