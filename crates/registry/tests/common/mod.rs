//! The registry's storage suite, run on SQLite by `tests/sqlite.rs` and on PostgreSQL by
//! `tests/postgres.rs` (ignored unless `.ci/run` started a server): the same assertions on
//! both backends.
#![allow(dead_code)]

use lodestone_registry::note::NoteSigner;
use lodestone_registry::schema::{Cell, row};
use lodestone_registry::{Change, Registry, RegistryError, agreements, audit, backup};
use serde_json::json;
use sqlx::AssertSqlSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const ORIGIN: &str = "lodestone.test/registry";

/// One test key for the whole run, so that a backup made by one registry restores into another.
pub fn signer() -> NoteSigner {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NoteSigner::parse(KEY.get_or_init(|| NoteSigner::generate(ORIGIN).unwrap().to_private_text()))
        .unwrap()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn scratch_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "lodestone-registry-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Any party id is accepted in these tests (the CLI checks them against the dataset).
pub fn any_party(_: &str) -> bool {
    true
}

/// A fresh, empty database URL on the backend under test.
pub trait Backend {
    fn fresh_url(&self) -> String;
}

pub struct Sqlite;

impl Backend for Sqlite {
    fn fresh_url(&self) -> String {
        format!("sqlite:{}", scratch_dir().join("registry.db").display())
    }
}

/// PostgreSQL: each call makes a new schema-less database on the server named by
/// `LODESTONE_TEST_POSTGRES` (e.g. postgres://lodestone@127.0.0.1:5433/postgres).
pub struct Postgres {
    pub admin_url: String,
}

impl Backend for Postgres {
    fn fresh_url(&self) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "reg_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let admin = self.admin_url.clone();
        let create = name.clone();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    sqlx::any::install_default_drivers();
                    let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
                    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {create}")))
                        .execute(&pool)
                        .await
                        .unwrap();
                })
        })
        .join()
        .unwrap();
        let base = self.admin_url.rsplit_once('/').unwrap().0;
        format!("{base}/{name}")
    }
}

pub async fn open(url: &str) -> Registry {
    Registry::open(url, signer()).await.unwrap()
}

/// Imports the bundled agreements and returns how many.
pub async fn import_bundled(reg: &Registry) -> usize {
    let releases = agreements::bundled_releases(&repo_root().join("data/world")).unwrap();
    let s = agreements::import_releases(reg, "admin", &releases, &any_party)
        .await
        .unwrap();
    assert_eq!(s.unchanged, 0);
    s.added
}

pub async fn raw(reg: &Registry, sql: &str) {
    sqlx::query(AssertSqlSafe(sql.to_string()))
        .execute(reg.pool())
        .await
        .unwrap();
}

pub async fn verify(reg: &Registry) -> Result<audit::AuditReport, RegistryError> {
    audit::verify(reg.pool(), &signer().verifier(), None).await
}

fn tampered(r: Result<audit::AuditReport, RegistryError>) -> String {
    match r {
        Err(RegistryError::Tampered(m)) => m,
        other => panic!("expected the audit to fail, got {other:?}"),
    }
}

/// Imports, amends and compiles: the releases become records by the OCDS merge rules, and the
/// log verifies.
pub async fn releases_compile_and_verify(b: &dyn Backend) {
    let reg = open(&b.fresh_url()).await;
    let n = import_bundled(&reg).await;
    assert_eq!(n, 13, "one release per bundled agreement");
    // Importing again changes nothing.
    let releases = agreements::bundled_releases(&repo_root().join("data/world")).unwrap();
    let again = agreements::import_releases(&reg, "admin", &releases, &any_party)
        .await
        .unwrap();
    assert_eq!((again.added, again.unchanged), (0, 13));

    // An amendment: status changes, one clause is amended, one added.
    let amendment = json!({
        "ocid": "lodestone-agreement-kedah_xiamen_tungsten_mou",
        "id": "amendment-1",
        "date": "2026-03-01",
        "tag": ["contractAmendment"],
        "status": "in_force",
        "clauses": [
            {"id": "c1", "text": "Amended text."},
            {"id": "c9", "category": "residue-handling", "text": "Residues stored on site."}
        ]
    });
    agreements::add_release(&reg, "secretariat", &amendment, &any_party)
        .await
        .unwrap();
    let rec = agreements::record(&reg, "kedah_xiamen_tungsten_mou")
        .await
        .unwrap();
    assert_eq!(rec.releases.len(), 2);
    assert_eq!(rec.compiled["status"], "in_force");
    assert_eq!(rec.compiled["tag"], json!(["compiled"]));
    assert_eq!(rec.compiled["date"], "2026-03-01");
    let clauses = rec.compiled["clauses"].as_array().unwrap();
    let c1 = clauses.iter().find(|c| c["id"] == "c1").unwrap();
    assert_eq!(c1["text"], "Amended text.");
    assert!(
        c1["category"].is_string(),
        "fields not in the amendment are kept"
    );
    assert_eq!(clauses.last().unwrap()["id"], "c9");
    let first_status = rec.status_history.first().unwrap().1.clone();
    assert_eq!(
        rec.status_history.last().unwrap(),
        &("2026-03-01".to_string(), "in_force".to_string())
    );
    assert_ne!(first_status, "in_force");

    // Releases are immutable: the same id with other content is refused, nothing written.
    let mut changed = amendment.clone();
    changed["status"] = json!("terminated");
    let err = agreements::add_release(&reg, "secretariat", &changed, &any_party)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Conflict(_)), "{err:?}");
    // A typo in a vocabulary word is an error that names the word meant.
    let mut typo = amendment.clone();
    typo["id"] = json!("amendment-2");
    typo["status"] = json!("in-force");
    let err = agreements::add_release(&reg, "secretariat", &typo, &any_party)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("did you mean \"in_force\""),
        "{err}"
    );
    let err = agreements::record(&reg, "kedah_xiamen_tungsten_mo")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("kedah_xiamen_tungsten_mou"),
        "{err}"
    );

    let report = verify(&reg).await.unwrap();
    assert_eq!(report.entries, 14);
    assert_eq!(report.checkpoints, 14);
    assert_eq!(report.rows, 14);
    // The export is a record package that imports into another registry unchanged.
    let package = agreements::export_package(&reg).await.unwrap();
    let other = open(&b.fresh_url()).await;
    let releases = agreements::releases_of_package(&package).unwrap();
    let s = agreements::import_releases(&other, "admin", &releases, &any_party)
        .await
        .unwrap();
    assert_eq!(s.added, 14);
    assert_eq!(
        agreements::export_package(&other).await.unwrap()["records"],
        package["records"]
    );
}

async fn doc_registry(b: &dyn Backend) -> Registry {
    let reg = open(&b.fresh_url()).await;
    import_bundled(&reg).await;
    let content = b"%PDF-1.4 memorandum of understanding".to_vec();
    let sha = lodestone_registry::merkle::sha256(&content).to_hex();
    let doc = row([
        ("sha256", Cell::Text(sha)),
        (
            "ocid",
            "lodestone-agreement-kedah_xiamen_tungsten_mou".into(),
        ),
        ("title", "Signed MoU".into()),
        ("media_type", "application/pdf".into()),
        ("confidential", Cell::Int(1)),
        ("content", Cell::Blob(content)),
    ]);
    reg.commit(
        "secretariat",
        "document.add",
        vec![Change::Insert {
            table: "documents",
            row: doc,
        }],
    )
    .await
    .unwrap();
    verify(&reg).await.unwrap();
    reg
}

/// Every kind of silent edit to a stored row, a log entry or a checkpoint is caught, and the
/// report names the first thing that does not match.
pub async fn every_silent_edit_is_caught(b: &dyn Backend) {
    let cases: &[(&str, &str, &str)] = &[
        (
            "edit a release's body",
            "UPDATE agreement_releases SET body = replace(body, 'Kedah', 'Kelantan') WHERE release_id = 'bundled-1' AND ocid = 'lodestone-agreement-kedah_xiamen_tungsten_mou'",
            "agreement_releases {\"ocid\":\"lodestone-agreement-kedah_xiamen_tungsten_mou\",\"release_id\":\"bundled-1\"}: the stored row differs from the log (column body)",
        ),
        (
            "edit a release's date",
            "UPDATE agreement_releases SET date = '2020-01-01' WHERE ocid = 'lodestone-agreement-perak_mcre_chinese_partner'",
            "(column date)",
        ),
        (
            "insert a row behind the log's back",
            "INSERT INTO agreement_releases (ocid, release_id, date, body) VALUES ('lodestone-agreement-x', 'r', '2025', '{}')",
            "lodestone-agreement-x\",\"release_id\":\"r\"}: the row is not in the log",
        ),
        (
            "delete a row",
            "DELETE FROM agreement_releases WHERE ocid = 'lodestone-agreement-us_malaysia_mou_2025'",
            "us_malaysia_mou_2025\",\"release_id\":\"bundled-1\"}: the log has the row, the table does not",
        ),
        (
            "retitle a document",
            "UPDATE documents SET title = 'Signed MoU (public)'",
            "(column title)",
        ),
        (
            "swap a document's bytes",
            "UPDATE documents SET content = X'00'",
            "(column content)",
        ),
        (
            "declassify a document",
            "UPDATE documents SET confidential = 0",
            "(column confidential)",
        ),
        (
            "edit a log entry's text",
            "UPDATE log_entries SET entry = replace(entry, 'secretariat', 'administrator') WHERE idx = 13",
            "log entry 13: its text does not match its leaf hash",
        ),
        (
            "delete the last log entry",
            "DELETE FROM log_entries WHERE idx = 13",
            "checkpoint of size 14 covers entries the log no longer has",
        ),
        (
            "delete the last log entry and its checkpoint",
            "DELETE FROM log_entries WHERE idx = 13; DELETE FROM checkpoints WHERE size = 14",
            "the row is not in the log",
        ),
        (
            "delete a log entry in the middle",
            "DELETE FROM log_entries WHERE idx = 5",
            "log entry 5 is missing",
        ),
        (
            "forge a checkpoint",
            "UPDATE checkpoints SET note = replace(note, chr(10) || '14' || chr(10), chr(10) || '15' || chr(10)) WHERE size = 14",
            "checkpoint of size 14: the signature",
        ),
        (
            "remove every checkpoint after entry 10",
            "DELETE FROM checkpoints WHERE size > 10",
            "log entries 10..14 are not covered by any signed checkpoint",
        ),
    ];
    for (what, sql, want) in cases {
        let reg = doc_registry(b).await;
        for statement in sql.split("; ") {
            // SQLite spells chr() as char().
            let statement = if reg.backend() == lodestone_registry::Backend::Sqlite {
                statement.replace("chr(", "char(")
            } else {
                statement.replace("X'00'", "'\\x00'::bytea")
            };
            raw(&reg, &statement).await;
        }
        let msg = tampered(verify(&reg).await);
        assert!(msg.contains(want), "{what}: got {msg:?}, want {want:?}");
    }
}

/// An edit that rewrites a row and its log entry consistently, leaf hash included, is caught
/// by the signed checkpoint of that entry's size.
pub async fn a_consistent_rewrite_is_caught_by_the_signed_checkpoints(b: &dyn Backend) {
    let reg = doc_registry(b).await;
    let entry: String = {
        use sqlx::Row as _;
        sqlx::query("SELECT entry FROM log_entries WHERE idx = 13")
            .fetch_one(reg.pool())
            .await
            .unwrap()
            .try_get("entry")
            .unwrap()
    };
    let forged = entry.replace("Signed MoU", "Unsigned draft");
    let leaf = lodestone_registry::merkle::leaf_hash(forged.as_bytes()).to_hex();
    raw(&reg, "UPDATE documents SET title = 'Unsigned draft'").await;
    sqlx::query("UPDATE log_entries SET entry = $1, leaf_hash = $2 WHERE idx = 13")
        .bind(forged)
        .bind(leaf)
        .execute(reg.pool())
        .await
        .unwrap();
    let msg = tampered(verify(&reg).await);
    assert_eq!(
        msg,
        "log entry 13: the log up to it does not match the signed checkpoint of size 14"
    );
}

/// An outsider holding an old checkpoint proves the log only grew; after history is rewritten
/// and re-signed (as an operator with the key could), the old checkpoint exposes it.
pub async fn a_held_checkpoint_proves_the_log_only_grew(b: &dyn Backend) {
    let reg = open(&b.fresh_url()).await;
    import_bundled(&reg).await;
    let held = reg.latest_checkpoint().await.unwrap().unwrap();
    let amendment = json!({
        "ocid": "lodestone-agreement-us_malaysia_mou_2025", "id": "a1", "date": "2026-01-15",
        "tag": ["contractUpdate"], "status": "in_force"
    });
    agreements::add_release(&reg, "secretariat", &amendment, &any_party)
        .await
        .unwrap();
    let v = signer().verifier();
    audit::verify(reg.pool(), &v, Some(&held)).await.unwrap();

    // Rewrite history from scratch with the same key: a different first entry.
    let rewritten = open(&b.fresh_url()).await;
    agreements::add_release(&rewritten, "someone", &amendment, &any_party)
        .await
        .unwrap();
    import_bundled(&rewritten).await;
    verify(&rewritten).await.unwrap();
    let msg = tampered(audit::verify(rewritten.pool(), &v, Some(&held)).await);
    assert!(msg.contains("history was rewritten"), "{msg}");
}

/// A backup taken while the registry is in use restores exactly: the restored registry
/// verifies and its backup is byte-for-byte the original.
pub async fn backup_and_restore_round_trip_exactly(b: &dyn Backend) {
    let reg = doc_registry(b).await;
    let dump = backup::dump(&reg).await.unwrap();
    let restored = open(&b.fresh_url()).await;
    let n = backup::restore(&restored, &dump).await.unwrap();
    assert_eq!(n, 14 + 14 + 14, "14 rows, 14 entries, 14 checkpoints");
    verify(&restored).await.unwrap();
    assert_eq!(backup::dump(&restored).await.unwrap(), dump);
    // Restoring over data is refused, and changes nothing.
    let err = backup::restore(&restored, &dump).await.unwrap_err();
    assert!(matches!(err, RegistryError::Conflict(_)), "{err:?}");
    assert_eq!(backup::dump(&restored).await.unwrap(), dump);
    // Writes after a restore continue the same log.
    let amendment = json!({"ocid": "lodestone-agreement-us_malaysia_mou_2025", "id": "a1",
        "date": "2026-01-15", "tag": ["contractUpdate"], "status": "in_force"});
    agreements::add_release(&restored, "secretariat", &amendment, &any_party)
        .await
        .unwrap();
    assert_eq!(verify(&restored).await.unwrap().entries, 15);
}

/// Writers racing each other: every acknowledged write is in the log, in one order.
pub async fn concurrent_writers_are_serialized(b: &dyn Backend) {
    let reg = std::sync::Arc::new(open(&b.fresh_url()).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            let r = json!({"ocid": format!("lodestone-agreement-a{i}"), "id": "r1", "date": "2026",
                "tag": ["planning"], "title": format!("Agreement {i}")});
            agreements::add_release(&reg, "secretariat", &r, &any_party)
                .await
                .unwrap()
                .index
        }));
    }
    let mut indices = Vec::new();
    for t in tasks {
        indices.push(t.await.unwrap());
    }
    indices.sort();
    assert_eq!(indices, (0..40).collect::<Vec<u64>>());
    assert_eq!(verify(&reg).await.unwrap().rows, 40);
}
