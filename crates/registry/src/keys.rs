//! The log's signing key on disk: created once beside the database, never overwritten.
//!
//! The private key (`<db>.key`, mode 0600) signs checkpoints; the public verifier key
//! (`<db>.pub`) is what `audit verify` and outsiders check them with. Losing the private key
//! does not lose data (the log still verifies against the public key); a new key starts a new
//! log origin.

use crate::RegistryError;
use crate::note::{NoteSigner, NoteVerifier};
use std::io::Write;
use std::path::Path;

/// Reads the signing key at `path`, or creates one named `origin` if there is no file there.
/// An existing file is never replaced.
pub fn load_or_create(path: &Path, origin: &str) -> Result<NoteSigner, RegistryError> {
    match std::fs::read_to_string(path) {
        Ok(text) => NoteSigner::parse(&text)
            .map_err(|e| RegistryError::Key(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let signer = NoteSigner::generate(origin).map_err(|e| RegistryError::Key(e.0))?;
            write_new(path, &format!("{}\n", signer.to_private_text()), true)?;
            write_new(
                &path.with_extension("pub"),
                &format!("{}\n", signer.verifier().to_text()),
                false,
            )?;
            Ok(signer)
        }
        Err(e) => Err(RegistryError::Key(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Reads a verifier key file.
pub fn load_verifier(path: &Path) -> Result<NoteVerifier, RegistryError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RegistryError::Key(format!("cannot read {}: {e}", path.display())))?;
    NoteVerifier::parse(&text).map_err(|e| RegistryError::Key(format!("{}: {e}", path.display())))
}

/// Creates `path` with `text`; fails if it exists (create_new), so nothing is overwritten.
fn write_new(path: &Path, text: &str, secret: bool) -> Result<(), RegistryError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts
        .open(path)
        .map_err(|e| RegistryError::Key(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| RegistryError::Key(format!("cannot write {}: {e}", path.display())))
}
