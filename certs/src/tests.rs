//! Unit tests: issuing, reloading, CRLs, files, and real in-memory TLS handshakes.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection};

use super::*;

const DAY: UnixSeconds = 86_400;
const NODE_URI: &str = "zhibao://node/city/320100";

/// webpki checks validity against the real clock, so the tests must know it.
#[allow(clippy::disallowed_methods)]
fn now() -> UnixSeconds {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}

fn test_ca(name: &str) -> CertificateAuthority {
    let now = now();
    CertificateAuthority::generate(name, now - DAY, now + 3650 * DAY).unwrap()
}

fn node_request(serial: u64) -> LeafRequest {
    let now = now();
    LeafRequest {
        common_name: format!("node {serial}"),
        san_uris: vec![NODE_URI.to_owned()],
        dns_names: vec!["localhost".to_owned()],
        ip_addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        serial,
        not_before: now - DAY,
        not_after: now + 365 * DAY,
        usage: LeafUsage::Node,
    }
}

#[test]
fn issued_node_certificate_carries_the_request() {
    let ca = test_ca("Zhibao test root");
    let request = node_request(42);
    let issued = ca.issue(&request).unwrap();

    let details = certificate_details_from_pem(&issued.cert_pem).unwrap();
    assert_eq!(details.san_uris, vec![NODE_URI.to_owned()]);
    assert_eq!(details.serial, 42);
    assert_eq!(details.not_before, request.not_before);
    assert_eq!(details.not_after, request.not_after);
    assert_eq!(details.common_name.as_deref(), Some("node 42"));
    assert_eq!(
        details.issuer_common_name.as_deref(),
        Some("Zhibao test root")
    );
    details.check_valid_at(now()).unwrap();
    assert!(matches!(
        details.check_valid_at(request.not_after + 1),
        Err(CertsError::Expired { .. })
    ));
    assert!(matches!(
        details.check_valid_at(request.not_before - 1),
        Err(CertsError::NotYetValid { .. })
    ));
    parse_private_key_pem(&issued.key_pem).unwrap();
    assert!(!format!("{issued:?}").contains("PRIVATE KEY"));
    assert!(!format!("{ca:?}").contains("PRIVATE KEY"));
}

#[test]
fn ca_certificate_details_are_readable() {
    let ca = test_ca("Zhibao test root");
    let details = certificate_details_from_pem(ca.cert_pem()).unwrap();
    assert_eq!(details.common_name.as_deref(), Some("Zhibao test root"));
    assert_eq!(details.issuer_common_name, details.common_name);
    assert!(details.serial > 0);
}

#[test]
fn reloaded_ca_issues_certificates_that_verify() {
    let ca = test_ca("Zhibao test root");
    let reloaded = CertificateAuthority::from_pem(ca.cert_pem(), ca.key_pem()).unwrap();
    assert_eq!(reloaded.cert_pem(), ca.cert_pem());
    let issued = reloaded.issue(&node_request(7)).unwrap();

    let details = certificate_details_from_pem(&issued.cert_pem).unwrap();
    assert_eq!(details.serial, 7);
    assert_eq!(
        details.issuer_common_name.as_deref(),
        Some("Zhibao test root")
    );
    // the proof: a server using the original CA accepts the reloaded CA's certificate
    let outcome = handshake(
        &ca,
        ClientAuthPolicy::Required { crls: Vec::new() },
        Some(&issued),
    );
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[test]
fn from_pem_refuses_mixed_up_files() {
    let ca = test_ca("one");
    let other = test_ca("two");
    assert!(matches!(
        CertificateAuthority::from_pem(ca.cert_pem(), other.key_pem()),
        Err(CertsError::KeyMismatch)
    ));
    let leaf = ca.issue(&node_request(3)).unwrap();
    assert!(matches!(
        CertificateAuthority::from_pem(&leaf.cert_pem, &leaf.key_pem),
        Err(CertsError::NotACa { .. })
    ));
    assert!(matches!(
        CertificateAuthority::from_pem("garbage", ca.key_pem()),
        Err(CertsError::InvalidPem { .. })
    ));
}

#[test]
fn bad_requests_are_refused() {
    let ca = test_ca("root");
    let mut request = node_request(0);
    assert!(matches!(
        ca.issue(&request),
        Err(CertsError::InvalidRequest {
            field: "serial",
            ..
        })
    ));
    request.serial = 1;
    request.not_after = request.not_before;
    assert!(matches!(
        ca.issue(&request),
        Err(CertsError::InvalidRequest { .. })
    ));
    let mut request = node_request(2);
    request.san_uris = vec!["zhibao://节点".to_owned()];
    assert!(matches!(
        ca.issue(&request),
        Err(CertsError::InvalidRequest {
            field: "san_uris",
            ..
        })
    ));
}

#[test]
fn revocation_list_is_signed_and_parseable() {
    let ca = test_ca("root");
    let now = now();
    let revoked = [
        RevokedSerial {
            serial: 5,
            revoked_at: now - 10,
        },
        RevokedSerial {
            serial: 300,
            revoked_at: now - 5,
        },
    ];
    let crl_pem = ca.revocation_list(&revoked, 3, now, now + DAY).unwrap();
    let crls = parse_crls_pem(&crl_pem).unwrap();
    assert_eq!(crls.len(), 1);

    let (_, crl) = x509_parser::parse_x509_crl(&crls[0]).unwrap();
    let serials: Vec<u64> = crl
        .iter_revoked_certificates()
        .map(|entry| u64::try_from(entry.serial().clone()).unwrap())
        .collect();
    assert_eq!(serials, vec![5, 300]);
    assert_eq!(
        crl.crl_number().map(|n| n.to_string()),
        Some("3".to_owned())
    );

    assert!(parse_crls_pem("").unwrap().is_empty());
    assert!(ca.revocation_list(&[], 4, now, now).is_err());
}

#[test]
fn pem_parsers_refuse_garbage() {
    assert!(parse_certificates_pem("").is_err());
    assert!(parse_private_key_pem("not a key").is_err());
}

#[test]
fn private_pem_is_owner_only_and_public_pem_is_world_readable() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let ca = test_ca("root");
    let key_path = dir.path().join("ca.key");
    let cert_path = dir.path().join("ca.pem");

    // a pre-existing, world-readable file must not keep its mode
    std::fs::write(&key_path, "old").unwrap();
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_private_pem(&key_path, ca.key_pem()).unwrap();
    write_public_pem(&cert_path, ca.cert_pem()).unwrap();

    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key_path), 0o600);
    assert_eq!(mode(&cert_path) & 0o600, 0o600);
    assert_eq!(mode(&cert_path) & 0o133, 0);
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), ca.key_pem());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    let missing = dir.path().join("no/such/dir/key.pem");
    assert!(matches!(
        write_private_pem(&missing, "x"),
        Err(CertsError::Io { .. })
    ));
}

/// Run a full handshake in memory: a server with a `Node` certificate from `ca`, and a
/// client trusting `ca` that presents `client_identity`. Returns the first error of
/// either side, or the server's view of the client's certificate.
fn handshake(
    ca: &CertificateAuthority,
    policy: ClientAuthPolicy,
    client_identity: Option<&IssuedCertificate>,
) -> Result<Option<CertificateDetails>, rustls::Error> {
    let server_cert = ca.issue(&node_request(1_000)).unwrap();
    let server = server_config(
        ca.cert_pem(),
        &server_cert.cert_pem,
        &server_cert.key_pem,
        policy,
    )
    .unwrap();
    let client = client_config(
        ca.cert_pem(),
        client_identity.map(|id| (id.cert_pem.as_str(), id.key_pem.as_str())),
    )
    .unwrap();
    run_handshake(client, server)
}

fn run_handshake(
    client: rustls::ClientConfig,
    server: rustls::ServerConfig,
) -> Result<Option<CertificateDetails>, rustls::Error> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = ClientConnection::new(Arc::new(client), name)?;
    let mut server = ServerConnection::new(Arc::new(server))?;
    for _round in 0..20 {
        let client_sent = transfer(&mut client, &mut server)?;
        let server_sent = transfer(&mut server, &mut client)?;
        if !client.is_handshaking() && !server.is_handshaking() && !client_sent && !server_sent {
            let peer = server
                .peer_certificates()
                .and_then(|certs| certs.first())
                .map(|cert| certificate_details(cert).unwrap());
            return Ok(peer);
        }
    }
    panic!("handshake made no progress");
}

/// Move every pending TLS record from `from` to `to` and let `to` process them.
fn transfer<A, B, DA, DB>(from: &mut A, to: &mut B) -> Result<bool, rustls::Error>
where
    A: std::ops::DerefMut<Target = rustls::ConnectionCommon<DA>>,
    B: std::ops::DerefMut<Target = rustls::ConnectionCommon<DB>>,
{
    let mut sent = false;
    while from.wants_write() {
        let mut buffer = Vec::new();
        from.write_tls(&mut buffer).unwrap();
        sent = true;
        let mut pending = buffer.as_slice();
        while !pending.is_empty() {
            to.read_tls(&mut pending).unwrap();
            to.process_new_packets()?;
        }
    }
    Ok(sent)
}

#[test]
fn handshake_with_node_certificate_succeeds_and_server_sees_identity() {
    let ca = test_ca("root");
    let client_cert = ca.issue(&node_request(11)).unwrap();
    let peer = handshake(
        &ca,
        ClientAuthPolicy::Required { crls: Vec::new() },
        Some(&client_cert),
    )
    .unwrap()
    .unwrap();
    assert_eq!(peer.san_uris, vec![NODE_URI.to_owned()]);
    assert_eq!(peer.serial, 11);
}

#[test]
fn handshake_with_client_only_certificate_succeeds() {
    let ca = test_ca("root");
    let mut request = node_request(12);
    request.usage = LeafUsage::Client;
    request.dns_names.clear();
    request.ip_addresses.clear();
    let client_cert = ca.issue(&request).unwrap();
    let outcome = handshake(
        &ca,
        ClientAuthPolicy::Required { crls: Vec::new() },
        Some(&client_cert),
    );
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[test]
fn handshake_without_client_certificate_fails_when_required() {
    let ca = test_ca("root");
    let outcome = handshake(&ca, ClientAuthPolicy::Required { crls: Vec::new() }, None);
    assert!(
        matches!(outcome, Err(rustls::Error::NoCertificatesPresented)),
        "{outcome:?}"
    );
}

#[test]
fn web_listener_accepts_clients_without_certificate() {
    let ca = test_ca("root");
    let peer = handshake(&ca, ClientAuthPolicy::None, None).unwrap();
    assert!(peer.is_none());
}

#[test]
fn handshake_with_certificate_from_another_ca_fails() {
    let ca = test_ca("root");
    let stranger = test_ca("another root");
    let client_cert = stranger.issue(&node_request(11)).unwrap();
    let outcome = handshake(
        &ca,
        ClientAuthPolicy::Required { crls: Vec::new() },
        Some(&client_cert),
    );
    assert!(
        matches!(
            outcome,
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{outcome:?}"
    );
}

#[test]
fn client_refuses_server_from_another_ca() {
    let ca = test_ca("root");
    let stranger = test_ca("another root");
    let server_cert = stranger.issue(&node_request(1)).unwrap();
    let server = server_config(
        stranger.cert_pem(),
        &server_cert.cert_pem,
        &server_cert.key_pem,
        ClientAuthPolicy::None,
    )
    .unwrap();
    let client = client_config(ca.cert_pem(), None).unwrap();
    let outcome = run_handshake(client, server);
    assert!(
        matches!(
            outcome,
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{outcome:?}"
    );
}

#[test]
fn handshake_with_revoked_certificate_fails() {
    let ca = test_ca("root");
    let now = now();
    let revoked_cert = ca.issue(&node_request(21)).unwrap();
    let good_cert = ca.issue(&node_request(22)).unwrap();
    let crl_pem = ca
        .revocation_list(
            &[RevokedSerial {
                serial: 21,
                revoked_at: now - 60,
            }],
            1,
            now - 60,
            now + DAY,
        )
        .unwrap();
    let crls = parse_crls_pem(&crl_pem).unwrap();

    let outcome = handshake(
        &ca,
        ClientAuthPolicy::Required { crls: crls.clone() },
        Some(&revoked_cert),
    );
    assert!(
        matches!(
            outcome,
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Revoked
            ))
        ),
        "{outcome:?}"
    );

    let outcome = handshake(&ca, ClientAuthPolicy::Required { crls }, Some(&good_cert));
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[test]
fn handshake_with_expired_certificate_fails() {
    let ca = test_ca("root");
    let now = now();
    let mut request = node_request(31);
    request.not_before = now - 30 * DAY;
    request.not_after = now - DAY;
    let expired = ca.issue(&request).unwrap();
    let outcome = handshake(
        &ca,
        ClientAuthPolicy::Required { crls: Vec::new() },
        Some(&expired),
    );
    assert!(
        matches!(
            outcome,
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
            ))
        ),
        "{outcome:?}"
    );
}

#[test]
fn server_config_offers_h2_and_http1() {
    let ca = test_ca("root");
    let cert = ca.issue(&node_request(1)).unwrap();
    let config = server_config(
        ca.cert_pem(),
        &cert.cert_pem,
        &cert.key_pem,
        ClientAuthPolicy::None,
    )
    .unwrap();
    assert_eq!(
        config.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    assert!(matches!(
        server_config(
            ca.cert_pem(),
            &cert.cert_pem,
            ca.key_pem(),
            ClientAuthPolicy::None
        ),
        Err(CertsError::Tls { .. })
    ));
}

#[test]
fn public_types_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CertificateAuthority>();
    assert_send_sync::<CertsError>();
}

mod signing_tests {
    use crate::*;

    fn now() -> UnixSeconds {
        #[allow(clippy::disallowed_methods)] // why: webpki checks validity against the real clock
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        seconds as i64
    }

    fn node(ca: &CertificateAuthority, serial: u64, not_after: UnixSeconds) -> IssuedCertificate {
        ca.issue(&LeafRequest {
            common_name: "city-320100".into(),
            san_uris: vec!["zhibao://node/city/320100".into()],
            dns_names: vec![],
            ip_addresses: vec![],
            serial,
            not_before: now() - 86_400 * 10,
            not_after,
            usage: LeafUsage::Node,
        })
        .unwrap()
    }

    #[test]
    fn signatures_verify_and_any_altered_byte_is_detected() {
        let ca = CertificateAuthority::generate("ca", now() - 100, now() + 86_400).unwrap();
        let issued = node(&ca, 5, now() + 3_600);
        let signer = NodeSigner::new(&issued.cert_pem, &issued.key_pem).unwrap();
        let message = b"zhibao envelope bytes".to_vec();
        let signature = signer.sign(&message).unwrap();
        verify_signature(&issued.cert_pem, &message, &signature).unwrap();
        for index in 0..message.len() {
            let mut altered = message.clone();
            altered[index] ^= 1;
            assert!(matches!(
                verify_signature(&issued.cert_pem, &altered, &signature),
                Err(CertsError::BadSignature)
            ));
        }
        let mut altered_signature = signature.clone();
        let last = altered_signature.len() - 1;
        altered_signature[last] ^= 1;
        assert!(verify_signature(&issued.cert_pem, &message, &altered_signature).is_err());
        // Another key's certificate does not verify it.
        let other = node(&ca, 6, now() + 3_600);
        assert!(verify_signature(&other.cert_pem, &message, &signature).is_err());
    }

    #[test]
    fn the_checker_refuses_other_cas_expired_and_revoked_certificates() {
        let ca = CertificateAuthority::generate("ca", now() - 100, now() + 86_400).unwrap();
        let good = node(&ca, 7, now() + 3_600);
        let expired = node(&ca, 8, now() - 86_400);
        let revoked = node(&ca, 9, now() + 3_600);
        let crl = ca
            .revocation_list(
                &[RevokedSerial {
                    serial: 9,
                    revoked_at: now() - 10,
                }],
                1,
                now() - 60,
                now() + 3_600,
            )
            .unwrap();
        let checker =
            CertificateChecker::new(ca.cert_pem(), parse_crls_pem(&crl).unwrap()).unwrap();
        let details = checker.check(&good.cert_pem, now()).unwrap();
        assert_eq!(details.san_uris, ["zhibao://node/city/320100"]);
        assert!(checker.check(&expired.cert_pem, now()).is_err());
        let revoked_error = checker.check(&revoked.cert_pem, now()).unwrap_err();
        assert!(
            revoked_error.to_string().to_lowercase().contains("revoked"),
            "{revoked_error}"
        );
        let other_ca =
            CertificateAuthority::generate("other", now() - 100, now() + 86_400).unwrap();
        let stranger = node(&other_ca, 7, now() + 3_600);
        assert!(checker.check(&stranger.cert_pem, now()).is_err());
    }
}

mod signing_time_tests {
    use crate::*;

    #[test]
    fn a_signature_made_before_revocation_or_expiry_stays_valid() {
        let start = 1_800_000_000;
        let ca = CertificateAuthority::generate("ca", start - 100, start + 10 * 86_400).unwrap();
        let issued = ca
            .issue(&LeafRequest {
                common_name: "city".into(),
                san_uris: vec!["zhibao://node/city/320100".into()],
                dns_names: vec![],
                ip_addresses: vec![],
                serial: 11,
                not_before: start,
                not_after: start + 86_400,
                usage: LeafUsage::Node,
            })
            .unwrap();
        let revoked_at = start + 3_600;
        let crl = ca
            .revocation_list(
                &[RevokedSerial {
                    serial: 11,
                    revoked_at,
                }],
                1,
                revoked_at,
                revoked_at + 86_400,
            )
            .unwrap();
        let checker =
            CertificateChecker::new(ca.cert_pem(), parse_crls_pem(&crl).unwrap()).unwrap();
        assert!(
            checker
                .check_at_signing_time(&issued.cert_pem, revoked_at - 60)
                .is_ok()
        );
        assert!(matches!(
            checker.check_at_signing_time(&issued.cert_pem, revoked_at + 60),
            Err(CertsError::RevokedBefore { serial: 11, .. })
        ));
        assert!(
            checker
                .check_at_signing_time(&issued.cert_pem, start + 2 * 86_400)
                .is_err(),
            "expired when it signed"
        );
        assert!(
            checker
                .check_at_signing_time(&issued.cert_pem, start - 10)
                .is_err(),
            "not yet valid when it signed"
        );
    }
}
