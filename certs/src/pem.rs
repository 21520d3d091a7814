//! PEM decoding, and writing PEM files with the right permissions.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::CertsError;

/// All CERTIFICATE sections of a PEM text, in order; an error if there are none.
pub fn parse_certificates_pem(pem: &str) -> Result<Vec<CertificateDer<'static>>, CertsError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error("certificate", &error))?;
    if certs.is_empty() {
        return Err(CertsError::InvalidPem {
            what: "certificate",
            reason: "no CERTIFICATE section found".to_owned(),
        });
    }
    Ok(certs)
}

/// The first private key (PKCS#8, SEC1 or PKCS#1) of a PEM text.
pub fn parse_private_key_pem(pem: &str) -> Result<PrivateKeyDer<'static>, CertsError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|error| pem_error("private key", &error))
}

/// All X509 CRL sections of a PEM text, in order; none is fine (nothing revoked yet).
pub fn parse_crls_pem(pem: &str) -> Result<Vec<CertificateRevocationListDer<'static>>, CertsError> {
    CertificateRevocationListDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| pem_error("certificate revocation list", &error))
}

fn pem_error(what: &'static str, error: &rustls_pki_types::pem::Error) -> CertsError {
    CertsError::InvalidPem {
        what,
        reason: error.to_string(),
    }
}

/// Write a private key file readable only by its owner (mode 0600).
///
/// The file is created with its final mode (never briefly world-readable) under a
/// temporary name, synced, then renamed over `path`, so a crash leaves either the old
/// or the new key, and an existing file's looser mode is not inherited.
pub fn write_private_pem(path: &Path, pem: &str) -> Result<(), CertsError> {
    write_atomically(path, pem, 0o600)
}

/// Write a public PEM file (certificate, CRL) with mode 0644, replacing it atomically.
pub fn write_public_pem(path: &Path, pem: &str) -> Result<(), CertsError> {
    write_atomically(path, pem, 0o644)
}

fn write_atomically(path: &Path, contents: &str, mode: u32) -> Result<(), CertsError> {
    let temporary = temporary_path(path);
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CertsError::Io { path, source }
    };

    remove_stale(&temporary).map_err(io_error(&temporary))?;
    let mut file = create_with_mode(&temporary, mode).map_err(io_error(&temporary))?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(source) = written {
        // why: do not leave a half-written key lying next to the real one.
        let _ = fs::remove_file(&temporary);
        return Err(CertsError::Io {
            path: temporary,
            source,
        });
    }
    fs::rename(&temporary, path).map_err(io_error(path))?;
    sync_parent(path).map_err(io_error(path))
}

/// `.name.tmp` next to `path`, so that the rename stays within one file system.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

fn remove_stale(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn create_with_mode(path: &Path, mode: u32) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // why: create_new + mode sets the permissions at creation (subject to umask, which
    // only removes bits), so the key is never readable by others even for an instant.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn create_with_mode(path: &Path, _mode: u32) -> std::io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// Make the rename durable: sync the directory that holds `path`.
#[cfg(unix)]
fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => File::open(parent)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> std::io::Result<()> {
    Ok(())
}
