//! Envelopes signed and checked with real node keys.

use zhibao_certs::{CertificateAuthority, LeafRequest, LeafUsage, NodeSigner};

use crate::messages::{Payload, PayloadError, RegistryChange, RegistryChangeKind, UnitOnTheWire};
use crate::*;

struct Node {
    identity: NodeIdentity,
    signer: NodeSigner,
}

struct CheckWithCertificates;

impl SignatureCheck for CheckWithCertificates {
    fn check(
        &self,
        signer: &NodeIdentity,
        certificate_pem: &str,
        _signed_at_ms: i64,
        bytes: &[u8],
        signature: &[u8],
    ) -> Result<(), String> {
        let details = zhibao_certs::certificate_details_from_pem(certificate_pem)
            .map_err(|error| error.to_string())?;
        if !details.san_uris.contains(&signer.to_uri()) {
            return Err(format!("certificate is not for {signer}"));
        }
        zhibao_certs::verify_signature(certificate_pem, bytes, signature)
            .map_err(|error| error.to_string())
    }
}

fn node(ca: &CertificateAuthority, uri: &str, serial: u64) -> Node {
    let identity = NodeIdentity::from_uri(uri).unwrap();
    let issued = ca
        .issue(&LeafRequest {
            common_name: identity.conventional_name(),
            san_uris: vec![uri.to_string()],
            dns_names: vec![],
            ip_addresses: vec![],
            serial,
            not_before: 1_700_000_000,
            not_after: 4_000_000_000,
            usage: LeafUsage::Node,
        })
        .unwrap();
    Node {
        identity,
        signer: NodeSigner::new(&issued.cert_pem, &issued.key_pem).unwrap(),
    }
}

fn change(division: &str) -> RegistryChange {
    RegistryChange {
        change: RegistryChangeKind::Upsert,
        unit: UnitOnTheWire {
            credit_code: "91320100MA1XXXXX0X".into(),
            name: "南京某化工有限公司".into(),
            division: division.into(),
            industry: "26".into(),
            classes: vec!["national".into(), "city".into()],
            key_industry: true,
            status: None,
            suspension_reason: None,
            group_company: None,
            address: None,
        },
        period: "2025".into(),
    }
}

fn seal(
    from: &Node,
    to: &Node,
    sequence: u64,
    payload: &RegistryChange,
    forwarded: Vec<Envelope>,
) -> Envelope {
    EnvelopeDraft {
        message_id: format!("{sequence:032x}"),
        sender: from.identity.clone(),
        receiver: to.identity.clone(),
        sequence,
        kind: MessageKind::RegistryChange,
        payload_version: RegistryChange::VERSION,
        created_at_ms: 1_733_300_000_000,
        payload: serde_json::to_string(payload).unwrap(),
        forwarded,
    }
    .seal(from.signer.certificate_pem(), |bytes| {
        from.signer.sign(bytes)
    })
    .unwrap()
}

fn three_levels() -> (Node, Node, Node) {
    let ca = CertificateAuthority::generate("ca", 1_700_000_000, 4_000_000_000).unwrap();
    (
        node(&ca, "zhibao://node/city/320100", 1),
        node(&ca, "zhibao://node/province/320000", 2),
        node(&ca, "zhibao://node/national/000000", 3),
    )
}

#[test]
fn a_sealed_envelope_verifies_after_a_json_round_trip() {
    let (city, province, _) = three_levels();
    let envelope = seal(&city, &province, 1, &change("320102"), vec![]);
    let travelled: Envelope =
        serde_json::from_str(&serde_json::to_string(&envelope).unwrap()).unwrap();
    travelled.verify_signatures(&CheckWithCertificates).unwrap();
    assert_eq!(
        travelled.decode_payload::<RegistryChange>().unwrap(),
        change("320102")
    );
}

#[test]
fn any_altered_field_is_refused() {
    let (city, province, national) = three_levels();
    let envelope = seal(&city, &province, 1, &change("320102"), vec![]);
    type Alteration = Box<dyn Fn(&mut Envelope)>;
    let alterations: Vec<(&str, Alteration)> = vec![
        (
            "payload",
            Box::new(|e| e.payload = e.payload.replace("320102", "320505")),
        ),
        ("sequence", Box::new(|e| e.sequence = 2)),
        (
            "receiver",
            Box::new(|e| {
                e.receiver = NodeIdentity::from_uri("zhibao://node/province/330000").unwrap()
            }),
        ),
        ("kind", Box::new(|e| e.kind = MessageKind::ReportBatch)),
        ("created_at", Box::new(|e| e.created_at_ms += 1)),
        (
            "message id",
            Box::new(|e| e.message_id = format!("{:032x}", 99)),
        ),
        ("payload version", Box::new(|e| e.payload_version = 1)),
        (
            "signature",
            Box::new(|e| {
                e.signature.replace_range(
                    0..2,
                    if e.signature.starts_with("00") {
                        "01"
                    } else {
                        "00"
                    },
                )
            }),
        ),
    ];
    for (what, alter) in alterations {
        let mut altered = envelope.clone();
        alter(&mut altered);
        assert!(
            altered.verify_signatures(&CheckWithCertificates).is_err(),
            "altered {what} was accepted"
        );
    }
    // Signed by the province but claiming to come from the city.
    let mut impersonated = seal(&province, &national, 1, &change("320102"), vec![]);
    impersonated.sender = city.identity.clone();
    assert!(
        impersonated
            .verify_signatures(&CheckWithCertificates)
            .is_err()
    );
}

#[test]
fn forwarded_envelopes_are_checked_at_every_hop() {
    let (city, province, national) = three_levels();
    let original = seal(&city, &province, 7, &change("320102"), vec![]);
    let relay = seal(
        &province,
        &national,
        1,
        &change("320102"),
        vec![original.clone()],
    );
    relay.verify_signatures(&CheckWithCertificates).unwrap();
    assert_eq!(relay.originals(), vec![&original]);

    // A byte changed inside the forwarded city envelope breaks both signatures.
    let mut tampered = relay.clone();
    tampered.forwarded[0].payload = tampered.forwarded[0].payload.replace("320102", "320104");
    let refusal = tampered
        .verify_signatures(&CheckWithCertificates)
        .unwrap_err();
    assert!(
        matches!(refusal, EnvelopeError::SignatureRefused { .. }),
        "{refusal}"
    );

    // Forwarding something that was addressed to another node is refused.
    let to_national_directly = seal(&city, &national, 1, &change("320102"), vec![]);
    let bad_relay = seal(
        &province,
        &national,
        2,
        &change("320102"),
        vec![to_national_directly],
    );
    assert!(matches!(
        bad_relay.verify_signatures(&CheckWithCertificates),
        Err(EnvelopeError::ForwardedToSomeoneElse { .. })
    ));
}

#[test]
fn old_payload_versions_keep_decoding_and_newer_ones_are_named() {
    let (city, province, _) = three_levels();
    let v1 = messages::v1::RegistryChange {
        change: "upsert".into(),
        credit_code: "91320100MA1XXXXX0X".into(),
        name: "老企业".into(),
        division: "320102".into(),
        industry: "44".into(),
        class: "national".into(),
        period: "2024".into(),
    };
    let mut envelope = seal(&city, &province, 1, &change("320102"), vec![]);
    envelope.payload_version = 1;
    envelope.payload = serde_json::to_string(&v1).unwrap();
    let migrated = envelope.decode_payload::<RegistryChange>().unwrap();
    assert_eq!(migrated.unit.classes, ["national"]);
    assert_eq!(migrated.change, RegistryChangeKind::Upsert);

    envelope.payload_version = 3;
    assert!(matches!(
        envelope.decode_payload::<RegistryChange>(),
        Err(PayloadError::UnsupportedVersion {
            version: 3,
            newest: 2,
            ..
        })
    ));
}

#[test]
fn kinds_travel_only_their_way() {
    assert!(MessageKind::ReportBatch.may_travel(Direction::Up));
    assert!(!MessageKind::ReportBatch.may_travel(Direction::Down));
    assert!(MessageKind::Feedback.may_travel(Direction::Down));
    assert!(!MessageKind::Feedback.may_travel(Direction::Up));
    assert!(
        MessageKind::RegistryChange.may_travel(Direction::Up)
            && MessageKind::RegistryChange.may_travel(Direction::Down)
    );
    for kind in MessageKind::ALL {
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(json, format!("\"{}\"", kind.as_str()));
    }
}

#[test]
fn hex_round_trip() {
    let bytes: Vec<u8> = (0..=255).collect();
    assert_eq!(hex_decode(&hex_encode(&bytes)).unwrap(), bytes);
    assert!(hex_decode("abc").is_none());
    assert!(hex_decode("zz").is_none());
}

#[test]
fn version_mismatch_names_both_versions() {
    let refusal = check_protocol_version(PROTOCOL_VERSION + 1).unwrap_err();
    let message = refusal.to_string();
    assert!(message.contains(&PROTOCOL_VERSION.to_string()));
    assert!(message.contains(&(PROTOCOL_VERSION + 1).to_string()));
    assert!(check_protocol_version(PROTOCOL_VERSION).is_ok());
}

fn summary(late_units: usize) -> crate::messages::ProgressSummary {
    use crate::messages::{CountyProgress, LateUnitOnTheWire, ProgressCounts, ProgressSummary};
    ProgressSummary {
        city: "320100".to_string(),
        form: "G101".to_string(),
        period: "2025".to_string(),
        computed_at_ms: 1,
        counties: vec![CountyProgress {
            county: "320102".to_string(),
            counts: ProgressCounts {
                expected: 3,
                not_started: 1,
                draft: 1,
                returned: 1,
                ..ProgressCounts::default()
            },
        }],
        late_units: (0..late_units)
            .map(|index| LateUnitOnTheWire {
                credit_code: format!("unit{index}"),
                name: "某企业".to_string(),
                county: "320104".to_string(),
                state: "draft".to_string(),
                due_ms: None,
                overdue: false,
            })
            .collect(),
        late_total: late_units as u64,
    }
}

#[test]
fn a_progress_summary_concerns_its_city_counties_and_late_units() {
    let summary = summary(1);
    assert_eq!(
        summary.concerned_divisions(),
        vec!["320100", "320102", "320104"]
    );
    assert_eq!(summary.shape_problem(), None);
    let json = serde_json::to_string(&summary).unwrap();
    let back = crate::messages::ProgressSummary::decode_version(1, &json).unwrap();
    assert_eq!(back, summary);
}

#[test]
fn a_progress_summary_with_too_many_late_units_or_a_county_twice_is_misshapen() {
    let too_long = summary(crate::messages::MOST_LATE_UNITS_ON_THE_WIRE + 1);
    assert!(too_long.shape_problem().unwrap().contains("at most 500"));
    let mut twice = summary(0);
    twice.counties.push(twice.counties[0].clone());
    assert!(twice.shape_problem().unwrap().contains("320102"));
}

fn reminder() -> crate::messages::Reminder {
    crate::messages::Reminder {
        from_level: "national".to_string(),
        from_division: "000000".to_string(),
        to_divisions: vec!["320000".to_string()],
        form: "G101".to_string(),
        period: "2025".to_string(),
        text: Some("请督促".to_string()),
        by: "reviewer".to_string(),
        at_ms: 1,
    }
}

#[test]
fn a_reminder_concerns_the_divisions_urged_and_travels_down_only() {
    let reminder = reminder();
    assert_eq!(reminder.concerned_divisions(), vec!["320000"]);
    assert_eq!(reminder.shape_problem(), None);
    let json = serde_json::to_string(&reminder).unwrap();
    let back = crate::messages::Reminder::decode_version(1, &json).unwrap();
    assert_eq!(back, reminder);
    assert!(crate::messages::Reminder::decode_version(2, &json).is_err());
    assert!(crate::MessageKind::Reminder.may_travel(crate::Direction::Down));
    assert!(!crate::MessageKind::Reminder.may_travel(crate::Direction::Up));
}

#[test]
fn a_reminder_urging_nobody_or_with_an_over_long_text_is_misshapen() {
    let mut nobody = reminder();
    nobody.to_divisions.clear();
    assert!(nobody.shape_problem().unwrap().contains("to_divisions"));
    let mut long = reminder();
    long.text = Some("催".repeat(crate::messages::MOST_REMINDER_TEXT_CHARS + 1));
    assert!(long.shape_problem().unwrap().contains("at most 500"));
    long.text = Some("催".repeat(crate::messages::MOST_REMINDER_TEXT_CHARS));
    assert_eq!(long.shape_problem(), None);
}
