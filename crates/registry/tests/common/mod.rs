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
pub fn bundled() -> Vec<serde_json::Value> {
    let dir = repo_root().join("data/world/agreements");
    let files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    agreements::bundled_releases(files.iter().map(|(p, t)| (p.as_str(), t.as_str()))).unwrap()
}

pub async fn import_bundled(reg: &Registry) -> usize {
    let releases = bundled();
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
    let releases = bundled();
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
    assert!(err.to_string().contains("did you mean 'in_force'"), "{err}");
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

use lodestone_registry::access::{Actor, Constituency, Role};
use lodestone_registry::commission::{self, ComputedItem, NewAccount};

pub const PASSWORD: &str = "correct horse battery";

/// A registry with the bundled agreements and one account per role (two commissioners per
/// constituency but one), as the API tests and the worked cases use.
pub async fn staffed(b: &dyn Backend) -> Registry {
    let reg = open(&b.fresh_url()).await;
    import_bundled(&reg).await;
    let admin = NewAccount {
        username: "admin".into(),
        display_name: "Administrator".into(),
        role: Role::Administrator,
        constituency: None,
        password: PASSWORD.into(),
    };
    commission::bootstrap_administrator(&reg, &admin)
        .await
        .unwrap();
    let by = Actor {
        username: "admin".into(),
        role: Role::Administrator,
    };
    let people: [(&str, Role, Option<Constituency>); 6] = [
        ("sec", Role::Secretariat, None),
        ("gov", Role::Commissioner, Some(Constituency::Government)),
        ("ind", Role::Commissioner, Some(Constituency::Industry)),
        ("civ", Role::Commissioner, Some(Constituency::CivilSociety)),
        ("rev", Role::Reviewer, None),
        ("rev2", Role::Reviewer, None),
    ];
    for (u, role, constituency) in people {
        let a = NewAccount {
            username: u.into(),
            display_name: u.to_uppercase(),
            role,
            constituency,
            password: PASSWORD.into(),
        };
        commission::create_account(&reg, &by, &a).await.unwrap();
    }
    reg
}

pub fn actor(u: &str) -> Actor {
    let role = match u {
        "admin" => Role::Administrator,
        "sec" => Role::Secretariat,
        "gov" | "ind" | "civ" => Role::Commissioner,
        "rev" | "rev2" => Role::Reviewer,
        _ => Role::Public,
    };
    Actor {
        username: u.into(),
        role,
    }
}

/// A review from opening to publication; the matrix refuses what it must on the way, and
/// the public sees the review only once published, without confidential annexes.
pub async fn a_review_runs_from_opening_to_publication(b: &dyn Backend) {
    let reg = staffed(b).await;
    let content = b"annex: offtake schedule".to_vec();
    let sha = lodestone_registry::merkle::sha256(&content).to_hex();
    let doc = row([
        ("sha256", Cell::Text(sha)),
        (
            "ocid",
            "lodestone-agreement-kedah_xiamen_tungsten_mou".into(),
        ),
        ("title", "Offtake annex".into()),
        ("media_type", "text/plain".into()),
        ("confidential", Cell::Int(1)),
        ("content", Cell::Blob(content)),
    ]);
    reg.commit(
        "sec",
        "document.add",
        vec![Change::Insert {
            table: "documents",
            row: doc,
        }],
    )
    .await
    .unwrap();
    let impact = json!({"items": [{"item": "separation_share_outside_china", "before": 0.1, "after": 0.2}],
        "annexes": [{"confidential": true, "text": "secret schedule"}]});
    let computed = [ComputedItem {
        item: "separation_share_outside_china".into(),
        finding: "10 % → 20 %".into(),
    }];
    fn forbidden<T>(r: Result<T, RegistryError>) -> bool {
        matches!(r, Err(RegistryError::Forbidden(_)))
    }
    assert!(forbidden(
        commission::open_review(
            &reg,
            &actor("rev"),
            "kedah_xiamen_tungsten_mou",
            &impact,
            &computed
        )
        .await
    ));
    let id = commission::open_review(
        &reg,
        &actor("sec"),
        "kedah_xiamen_tungsten_mou",
        &impact,
        &computed,
    )
    .await
    .unwrap();
    assert_eq!(id, "kedah_xiamen_tungsten_mou-r1");
    // The public cannot see the draft, nor that it exists.
    let public = Actor::public();
    assert!(matches!(
        commission::review_view(&reg, &public, &id).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(commission::reviews(&reg, &public).await.unwrap().is_empty());

    // Attestations: reviewers only, each as themself; a second reviewer cannot overwrite.
    assert!(forbidden(
        commission::attest(&reg, &actor("gov"), &id, "public_disclosure", true, "x").await
    ));
    for item in [
        "public_disclosure",
        "environmental_review",
        "counterparty_due_diligence",
        "local_workforce_terms",
    ] {
        commission::attest(
            &reg,
            &actor("rev"),
            &id,
            item,
            true,
            "Checked against the published MoU.",
        )
        .await
        .unwrap();
    }
    assert!(forbidden(
        commission::attest(&reg, &actor("rev2"), &id, "public_disclosure", false, "no").await
    ));
    let err = commission::attest(
        &reg,
        &actor("rev"),
        &id,
        "separation_share_outside_china",
        true,
        "x",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("computed"), "{err}");

    commission::comment(
        &reg,
        &actor("civ"),
        &id,
        "Residue handling needs a licence condition.",
    )
    .await
    .unwrap();
    assert!(forbidden(
        commission::comment(&reg, &actor("admin"), &id, "hello").await
    ));
    // Votes: no quorum yet; a decision against the majority is refused.
    commission::vote(&reg, &actor("gov"), &id, "approve_with_conditions", None)
        .await
        .unwrap();
    let err = commission::decide(
        &reg,
        &actor("gov"),
        &id,
        "approve_with_conditions",
        "r",
        Some("c"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no quorum: 1 of 3"), "{err}");
    commission::vote(
        &reg,
        &actor("civ"),
        &id,
        "approve_with_conditions",
        Some("With a residue condition."),
    )
    .await
    .unwrap();
    commission::vote(&reg, &actor("rev"), &id, "reject", None)
        .await
        .unwrap();
    assert!(forbidden(
        commission::vote(&reg, &actor("sec"), &id, "approve", None).await
    ));
    let err = commission::decide(&reg, &actor("gov"), &id, "approve", "r", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("do not give approve"), "{err}");
    assert!(forbidden(
        commission::decide(
            &reg,
            &actor("sec"),
            &id,
            "approve_with_conditions",
            "r",
            Some("c")
        )
        .await
    ));
    let err = commission::decide(
        &reg,
        &actor("gov"),
        &id,
        "approve_with_conditions",
        "Serves the national interest.",
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("conditions"), "{err}");
    commission::decide(
        &reg,
        &actor("gov"),
        &id,
        "approve_with_conditions",
        "Serves the national interest.",
        Some("Residue licence before first production."),
    )
    .await
    .unwrap();
    // Decided: no more votes; still not public.
    assert!(
        commission::vote(&reg, &actor("ind"), &id, "reject", None)
            .await
            .is_err()
    );
    assert!(matches!(
        commission::review_view(&reg, &public, &id).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(forbidden(
        commission::publish(&reg, &actor("gov"), &id).await
    ));
    commission::publish(&reg, &actor("sec"), &id).await.unwrap();

    let seen = commission::review_view(&reg, &public, &id).await.unwrap();
    assert_eq!(seen.state, "published");
    assert!(
        seen.documents.is_empty(),
        "the confidential annex is withheld"
    );
    assert_eq!(seen.withheld_documents, 1);
    assert!(seen.comments.is_empty(), "deliberations stay internal");
    assert_eq!(seen.votes.len(), 3, "votes are public once published");
    assert_eq!(
        seen.impact["annexes"],
        json!([]),
        "confidential parts of the impact are withheld"
    );
    assert_eq!(
        seen.decision.as_ref().unwrap().outcome,
        "approve_with_conditions"
    );
    let staff = commission::review_view(&reg, &actor("rev2"), &id)
        .await
        .unwrap();
    assert_eq!(staff.documents.len(), 1);
    assert_eq!(staff.comments.len(), 1);
    assert_eq!(staff.tally.as_ref().unwrap().counts, [0, 2, 0]);
    assert_eq!(commission::reviews(&reg, &public).await.unwrap().len(), 1);
    // Every step is in the log, and the log verifies.
    let report = verify(&reg).await.unwrap();
    assert_eq!(report.entries, 13 + 7 + 1 + 1 + 4 + 1 + 3 + 2);
}

/// Sign-in: a right password gives a fresh session each time; wrong ones, unknown users and
/// deactivated accounts get nothing; a password change ends every session.
pub async fn sessions_are_fresh_and_end(b: &dyn Backend) {
    let reg = staffed(b).await;
    assert!(
        commission::check_password(&reg, "rev", "wrong password!!")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        commission::check_password(&reg, "nobody", PASSWORD)
            .await
            .unwrap()
            .is_none()
    );
    let who = commission::check_password(&reg, "rev", PASSWORD)
        .await
        .unwrap()
        .unwrap();
    let s1 = commission::start_session(&reg, &who).await.unwrap();
    let s2 = commission::start_session(&reg, &who).await.unwrap();
    assert_ne!(s1.token, s2.token);
    assert_ne!(s1.csrf, s2.csrf);
    assert_eq!(
        commission::session(&reg, &s1.token)
            .await
            .unwrap()
            .unwrap()
            .actor,
        who
    );
    commission::end_session(&reg, &s1.token).await.unwrap();
    assert!(
        commission::session(&reg, &s1.token)
            .await
            .unwrap()
            .is_none()
    );
    commission::change_password(&reg, &who, "rev", "another long password")
        .await
        .unwrap();
    assert!(
        commission::session(&reg, &s2.token)
            .await
            .unwrap()
            .is_none(),
        "a password change ends sessions"
    );
    assert!(matches!(
        commission::change_password(&reg, &who, "rev2", "another long password").await,
        Err(RegistryError::Forbidden(_))
    ));
    commission::deactivate(&reg, &actor("admin"), "rev")
        .await
        .unwrap();
    assert!(
        commission::check_password(&reg, "rev", "another long password")
            .await
            .unwrap()
            .is_none()
    );
    // Password hashes are in the table (Argon2id) but only their SHA-256 is in the log.
    let dump = backup::dump(&reg).await.unwrap();
    let hash_line = dump
        .lines()
        .find(|l| l.contains("\"username\":\"rev2\"") && l.contains("$argon2id$"))
        .unwrap();
    assert!(hash_line.contains("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(
        dump.lines()
            .filter(|l| l.starts_with("{\"log\""))
            .all(|l| !l.contains("argon2id"))
    );
    verify(&reg).await.unwrap();
}
