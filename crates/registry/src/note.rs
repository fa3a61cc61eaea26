//! Signed notes and transparency-log checkpoints in the C2SP formats
//! (<https://c2sp.org/signed-note>, <https://c2sp.org/tlog-checkpoint>), with Ed25519 keys.
//!
//! A note is UTF-8 text ending in a newline; after a blank line come signature lines
//! `— <key name> <base64(key id ‖ signature)>`. The key id is the first four bytes of
//! `SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)`, 0x01 being the Ed25519 algorithm byte. A
//! checkpoint is a note whose text is the log's origin, its size in decimal and its tree head in
//! base64, one per line.

use crate::merkle::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

const ALG_ED25519: u8 = 1;
const DASH: &str = "\u{2014} ";

/// Why a key, a note or a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteError(pub String);

impl fmt::Display for NoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoteError {}

fn err<T>(msg: impl Into<String>) -> Result<T, NoteError> {
    Err(NoteError(msg.into()))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['+', ' ', '\n', '\t', '\r'])
}

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn hex4(id: [u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// A private signing key with its name (for a log, its origin).
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl NoteSigner {
    /// A new random key from the operating system's generator.
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        if !valid_name(name) {
            return err(format!(
                "key name {name:?} must be non-empty, without spaces or '+'"
            ));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| NoteError(format!("no random seed: {e}")))?;
        Ok(NoteSigner {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`.
    pub fn parse(text: &str) -> Result<NoteSigner, NoteError> {
        let text = text.trim();
        let Some(rest) = text.strip_prefix("PRIVATE+KEY+") else {
            return err("a signing key starts with PRIVATE+KEY+");
        };
        let parts: Vec<&str> = rest.splitn(3, '+').collect();
        let [name, id, key] = parts[..] else {
            return err("a signing key is PRIVATE+KEY+<name>+<key id>+<key>");
        };
        let bytes = B64
            .decode(key)
            .map_err(|_| NoteError("the key is not base64".into()))?;
        let (&alg, seed) = bytes
            .split_first()
            .ok_or(NoteError("the key is empty".into()))?;
        if alg != ALG_ED25519 {
            return err(format!("key algorithm {alg} is not Ed25519 (1)"));
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError("an Ed25519 seed is 32 bytes".into()))?;
        let signer = NoteSigner {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        };
        if !valid_name(name) || hex4(key_id(name, &signer.key.verifying_key())) != id {
            return err("the key's name or id does not match its key");
        }
        Ok(signer)
    }

    /// The key in the text form [`NoteSigner::parse`] reads. Keep it secret.
    pub fn to_private_text(&self) -> String {
        let mut b = vec![ALG_ED25519];
        b.extend_from_slice(&self.key.to_bytes());
        let id = key_id(&self.name, &self.key.verifying_key());
        format!("PRIVATE+KEY+{}+{}+{}", self.name, hex4(id), B64.encode(b))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Signs `text` (which must end in a newline) and returns the whole note.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut blob = key_id(&self.name, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{DASH}{} {}\n",
            self.name,
            B64.encode(blob)
        ))
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return err("a note's text ends with a newline");
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return err("a note's text has no control characters but newlines");
    }
    Ok(())
}

/// A public verification key with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<key id>+<base64(0x01 ‖ public key)>`.
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        let parts: Vec<&str> = text.trim().splitn(3, '+').collect();
        let [name, id, key] = parts[..] else {
            return err("a verifier key is <name>+<key id>+<key>");
        };
        let bytes = B64
            .decode(key)
            .map_err(|_| NoteError("the key is not base64".into()))?;
        let (&alg, public) = bytes
            .split_first()
            .ok_or(NoteError("the key is empty".into()))?;
        if alg != ALG_ED25519 {
            return err(format!("key algorithm {alg} is not Ed25519 (1)"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| NoteError("an Ed25519 key is 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError("not a valid Ed25519 public key".into()))?;
        if !valid_name(name) || hex4(key_id(name, &key)) != id {
            return err("the key's name or id does not match its key");
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            key,
        })
    }

    /// The text form [`NoteVerifier::parse`] reads; safe to publish.
    pub fn to_text(&self) -> String {
        let mut b = vec![ALG_ED25519];
        b.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex4(key_id(&self.name, &self.key)),
            B64.encode(b)
        )
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks that `note` carries a valid signature by this key and returns its text.
    /// Signatures by other keys are ignored, as the format allows.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let Some(split) = note.rfind("\n\n") else {
            return err("a signed note has a blank line before its signatures");
        };
        let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
        check_text(text)?;
        if !sigs.ends_with('\n') || sigs.is_empty() {
            return err("a signed note ends with a signature line");
        }
        let want_id = key_id(&self.name, &self.key);
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix(DASH) else {
                return err(format!("malformed signature line {line:?}"));
            };
            let Some((name, blob)) = rest.split_once(' ') else {
                return err(format!("malformed signature line {line:?}"));
            };
            let blob = B64
                .decode(blob)
                .map_err(|_| NoteError("signature not base64".into()))?;
            if name != self.name || blob.len() != 68 || blob[..4] != want_id {
                continue;
            }
            let sig = Signature::from_slice(&blob[4..])
                .map_err(|_| NoteError("malformed signature".into()))?;
            return match self.key.verify(text.as_bytes(), &sig) {
                Ok(()) => Ok(text),
                Err(_) => err(format!("the signature by {} does not verify", self.name)),
            };
        }
        err(format!("the note has no signature by {}", self.name))
    }
}

/// A transparency-log checkpoint: the log's origin, its size and its tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's unique name.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// The Merkle tree head of those entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: origin, size, base64 head, each on its own line.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root.0)
        )
    }

    /// Parses a checkpoint's text (extension lines after the third are allowed and ignored).
    pub fn parse_text(text: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = text.lines();
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return err("a checkpoint has an origin, a size and a root hash line");
        };
        if origin.is_empty() {
            return err("a checkpoint's origin is not empty");
        }
        let size: u64 = size
            .parse()
            .ok()
            .filter(|_| size == "0" || !size.starts_with('0'))
            .ok_or(NoteError(format!(
                "checkpoint size {size:?} is not a decimal number"
            )))?;
        let root = B64
            .decode(root)
            .ok()
            .and_then(|b| Hash::from_slice(&b))
            .ok_or(NoteError(
                "a checkpoint's root is 32 bytes in base64".into(),
            ))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }

    /// Verifies a signed checkpoint note and parses it.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, NoteError> {
        let text = verifier.open(note)?;
        let cp = Checkpoint::parse_text(text)?;
        if cp.origin != verifier.name() {
            return err(format!(
                "the checkpoint is for log {:?}, the key for {:?}",
                cp.origin,
                verifier.name()
            ));
        }
        Ok(cp)
    }
}
