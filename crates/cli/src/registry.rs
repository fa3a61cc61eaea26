//! `lodestone registry …` and `lodestone audit verify`: the commission's registry from the
//! command line, and the registry `serve` opens.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use lodestone_registry::access::{Role, matrix_markdown};
use lodestone_registry::commission::{self, NewAccount};
use lodestone_registry::{Backend, Registry, RegistryError, agreements, audit, backup, keys};

use crate::Failure;
use crate::output::write_atomic;

/// The registry used when `--db` is not given: a file in the current directory.
pub const DEFAULT_DB: &str = "sqlite:lodestone-registry.db";

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Failure {
        let code = match e {
            RegistryError::Usage(_)
            | RegistryError::NotFound(_)
            | RegistryError::Conflict(_)
            | RegistryError::Forbidden(_) => 2,
            _ => 1,
        };
        Failure::new(code, e.to_string())
    }
}

/// What `lodestone registry` does.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Create the registry (if needed), import the bundled agreements and create the first
    /// administrator; the password is read from the first line of standard input.
    #[command(
        after_help = "Example:\n  echo 'a long passphrase here' | lodestone registry init --admin alice"
    )]
    Init {
        /// Database: sqlite:PATH or postgres://…
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        /// The log's signing key (created if absent; default: beside an SQLite file, else
        /// lodestone-registry.key).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Dataset whose agreements/ are imported.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Username of the first administrator.
        #[arg(long)]
        admin: String,
    },
    /// Import releases from an OCDS-style record or release package (JSON).
    Import {
        /// The package.
        file: PathBuf,
        /// Database.
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        /// Signing key.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Export every agreement as an OCDS-style record package (JSON); refuses to overwrite.
    Export {
        /// Where to write.
        #[arg(long)]
        out: PathBuf,
        /// Database.
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        /// Signing key.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// A consistent backup of everything (rows, log, checkpoints) taken online; refuses to
    /// overwrite.
    Backup {
        /// Where to write.
        file: PathBuf,
        /// Database.
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        /// Signing key.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Restore a backup into an empty registry (never over data), then verify it.
    Restore {
        /// The backup.
        file: PathBuf,
        /// Database (must be empty).
        #[arg(long)]
        db: String,
        /// The backup's signing key (its log continues).
        #[arg(long)]
        key: PathBuf,
    },
    /// Print the authorization matrix (role × action; "own" = only on one's own records).
    Matrix,
    /// Create a demonstration registry: the bundled agreements, demonstration accounts (their
    /// passwords printed), and a completed, published review of each of the five pending
    /// Malaysian deals, every decision marked as a demonstration.
    #[command(
        after_help = "Example:\n  lodestone registry demo --db sqlite:demo.db\n  lodestone serve --db sqlite:demo.db"
    )]
    Demo {
        /// Database (must be empty).
        #[arg(long)]
        db: String,
        /// Signing key (created if absent; default beside an SQLite file).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Dataset directory.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
    /// Compute what a review of a bundled agreement computes: its effects applied to the
    /// dataset and the country's position before and after (no database needed).
    #[command(
        after_help = "Example:\n  lodestone registry impact perak_mcre_chinese_partner\n  lodestone registry impact us_malaysia_mou_2025 --format json"
    )]
    Impact {
        /// The agreement's id (a file of the dataset's agreements/).
        agreement: String,
        /// Dataset directory.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Output: text or json.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

/// What `lodestone audit` does.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the stored data against the log offline and name the first record that does not
    /// match.
    #[command(
        after_help = "Example:\n  lodestone audit verify --db sqlite:lodestone-registry.db --key lodestone-registry.db.pub\n\nExit status: 0 if everything verifies, 1 if not."
    )]
    Verify {
        /// Database.
        #[arg(long, default_value = DEFAULT_DB)]
        db: String,
        /// The log's public key file (default: beside an SQLite file).
        #[arg(long)]
        key: Option<PathBuf>,
        /// A checkpoint you kept from earlier: the log must extend it.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
}

/// The signing key's default path: `<file>.key` beside an SQLite file, else
/// `lodestone-registry.key`.
pub fn default_key(db: &str) -> PathBuf {
    match db.strip_prefix("sqlite:") {
        Some(path) => PathBuf::from(format!("{}.key", path.split('?').next().unwrap_or(path))),
        None => PathBuf::from("lodestone-registry.key"),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(1, format!("cannot start the runtime: {e}")))
}

/// Opens (creating and migrating) the registry at `db` with its key.
pub async fn open(db: &str, key: Option<&Path>) -> Result<(Registry, String), Failure> {
    Backend::of_url(db)?;
    let key = key
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_key(db));
    let origin = format!(
        "lodestone.invalid/registry/{}",
        &commission::random_token()?[..8].to_ascii_lowercase()
    );
    let signer = keys::load_or_create(&key, &origin)?;
    let verifier = signer.verifier().to_text();
    Ok((Registry::open(db, signer).await?, verifier))
}

/// Imports the dataset's bundled agreements into an empty registry (the first start).
pub async fn import_bundled_if_empty(
    reg: &Registry,
    world: &lodestone_world::World,
    known: &(dyn Fn(&str) -> bool + Sync),
) -> Result<usize, Failure> {
    if !reg.rows("agreement_releases").await?.is_empty() {
        return Ok(0);
    }
    let files = world
        .toml_files
        .iter()
        .filter(|f| f.path.starts_with("agreements/"))
        .map(|f| (f.path.as_str(), f.text.as_str()));
    let releases = agreements::bundled_releases(files)?;
    Ok(agreements::import_releases(reg, "import", &releases, known)
        .await?
        .added)
}

fn read_password() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        Failure::new(
            1,
            format!("cannot read the password from standard input: {e}"),
        )
    })?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn refuse_existing(path: &Path) -> Result<(), Failure> {
    if path.exists() {
        return Err(Failure::new(
            2,
            format!(
                "{} exists; choose a new file (nothing is overwritten)",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Runs `lodestone registry …`.
pub fn run(
    cmd: RegistryCommand,
    data_dir: impl Fn(Option<PathBuf>) -> PathBuf,
) -> Result<ExitCode, Failure> {
    if let RegistryCommand::Matrix = cmd {
        print!("{}", matrix_markdown());
        return Ok(ExitCode::SUCCESS);
    }
    if let RegistryCommand::Impact {
        agreement,
        data,
        format,
    } = cmd
    {
        return impact_cmd(&data_dir(data), &agreement, &format);
    }
    let rt = runtime()?;
    rt.block_on(async {
        match cmd {
            RegistryCommand::Init { db, key, data, admin } => {
                let dir = data_dir(data);
                let (world, report) = lodestone_world::load_dir(&dir).map_err(|e| Failure::new(1, e))?;
                if report.has_errors() {
                    return Err(Failure::new(1, format!("{} has errors; run `lodestone check`", dir.display())));
                }
                let (reg, verifier) = open(&db, key.as_deref()).await?;
                let known = |p: &str| lodestone_server::commission::party_known(&world, p);
                let n = import_bundled_if_empty(&reg, &world, &known).await?;
                let password = read_password()?;
                let a = NewAccount { username: admin.clone(), display_name: admin.clone(), role: Role::Administrator, constituency: None, password };
                commission::bootstrap_administrator(&reg, &a).await?;
                println!("registry {db}: {n} agreements imported, administrator {admin} created");
                println!("log key (publish it): {verifier}");
                Ok(ExitCode::SUCCESS)
            }
            RegistryCommand::Import { file, db, key } => {
                let text = std::fs::read_to_string(&file).map_err(|e| Failure::new(1, format!("cannot read {}: {e}", file.display())))?;
                let package: serde_json::Value = serde_json::from_str(&text).map_err(|e| Failure::new(2, format!("{}: not JSON: {e}", file.display())))?;
                let (reg, _) = open(&db, key.as_deref()).await?;
                let releases = agreements::releases_of_package(&package)?;
                let s = agreements::import_releases(&reg, "import", &releases, &|_| true).await?;
                println!("{} releases added, {} already present", s.added, s.unchanged);
                Ok(ExitCode::SUCCESS)
            }
            RegistryCommand::Export { out, db, key } => {
                refuse_existing(&out)?;
                let (reg, _) = open(&db, key.as_deref()).await?;
                let package = agreements::export_package(&reg).await?;
                let text = serde_json::to_string_pretty(&package).map_err(|e| Failure::new(1, e.to_string()))?;
                write_atomic(&out, format!("{text}\n").as_bytes())?;
                println!("{} agreements written to {}", package["records"].as_array().map_or(0, Vec::len), out.display());
                Ok(ExitCode::SUCCESS)
            }
            RegistryCommand::Backup { file, db, key } => {
                refuse_existing(&file)?;
                let (reg, _) = open(&db, key.as_deref()).await?;
                let dump = backup::dump(&reg).await?;
                write_atomic(&file, dump.as_bytes())?;
                println!("{} lines written to {}", dump.lines().count(), file.display());
                Ok(ExitCode::SUCCESS)
            }
            RegistryCommand::Restore { file, db, key } => {
                let dump = std::fs::read_to_string(&file).map_err(|e| Failure::new(1, format!("cannot read {}: {e}", file.display())))?;
                if !key.exists() {
                    return Err(Failure::new(2, format!("{}: no such key file; restore with the key of the registry the backup came from", key.display())));
                }
                let (reg, verifier) = open(&db, Some(&key)).await?;
                let n = backup::restore(&reg, &dump).await?;
                let v = lodestone_registry::note::NoteVerifier::parse(&verifier).map_err(|e| Failure::new(1, e.0))?;
                let report = audit::verify(reg.pool(), &v, None).await?;
                println!("{n} lines restored; the log verifies: {} entries, tree head {}", report.entries, report.root);
                Ok(ExitCode::SUCCESS)
            }
            RegistryCommand::Demo { db, key, data } => {
                let dir = data_dir(data);
                let (world, report) = lodestone_world::load_dir(&dir).map_err(|e| Failure::new(1, e))?;
                if report.has_errors() {
                    return Err(Failure::new(1, format!("{} has errors; run `lodestone check`", dir.display())));
                }
                let (reg, verifier) = open(&db, key.as_deref()).await?;
                if !reg.rows("accounts").await?.is_empty() {
                    return Err(Failure::new(2, format!("{db} has accounts already; the demonstration goes into an empty registry")));
                }
                let known = |p: &str| lodestone_server::commission::party_known(&world, p);
                import_bundled_if_empty(&reg, &world, &known).await?;
                let analysis = lodestone_world::views::Analysis::new(world);
                for (user, password) in demo(&reg, &analysis).await? {
                    println!("{user}: {password}");
                }
                println!("five demonstration reviews published in {db}; log key: {verifier}");
                Ok(ExitCode::SUCCESS)
            }
            RegistryCommand::Matrix | RegistryCommand::Impact { .. } => unreachable!("handled above"),
        }
    })
}

/// Runs `lodestone audit …`.
pub fn run_audit(cmd: AuditCommand) -> Result<ExitCode, Failure> {
    let AuditCommand::Verify {
        db,
        key,
        checkpoint,
    } = cmd;
    let key = key.unwrap_or_else(|| default_key(&db).with_extension("pub"));
    let verifier = keys::load_verifier(&key)?;
    let held = checkpoint
        .map(|p| {
            std::fs::read_to_string(&p)
                .map_err(|e| Failure::new(1, format!("cannot read {}: {e}", p.display())))
        })
        .transpose()?;
    let rt = runtime()?;
    rt.block_on(async {
        let (pool, _) = Registry::open_pool(&db).await?;
        match audit::verify(&pool, &verifier, held.as_deref()).await {
            Ok(r) => {
                println!(
                    "verified: {} log entries, {} signed checkpoints, {} rows match the log; tree head {}",
                    r.entries, r.checkpoints, r.rows, r.root
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(RegistryError::Tampered(m)) => Err(Failure::new(1, format!("NOT VERIFIED: {m}"))),
            Err(e) => Err(e.into()),
        }
    })
}

/// The compiled release of a bundled agreement.
pub fn bundled_record(
    world: &lodestone_world::World,
    agreement: &str,
) -> Result<serde_json::Value, Failure> {
    let files = world
        .toml_files
        .iter()
        .filter(|f| f.path.starts_with("agreements/"));
    let mut ids = Vec::new();
    for f in files {
        let release = agreements::release_of_bundled(&f.text, &f.path)?;
        let id = release["ocid"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches(agreements::OCID_PREFIX)
            .to_string();
        if id == agreement {
            return Ok(agreements::compile(vec![release]).compiled);
        }
        ids.push(id);
    }
    let u = lodestone_model::UnknownValue::new("agreement", agreement, ids);
    Err(Failure::new(2, u.to_string()))
}

fn impact_cmd(dir: &Path, agreement: &str, format: &str) -> Result<ExitCode, Failure> {
    if !["text", "json"].contains(&format) {
        return Err(Failure::new(
            2,
            format!("--format {format:?}: text or json"),
        ));
    }
    let (world, report) = lodestone_world::load_dir(dir).map_err(|e| Failure::new(1, e))?;
    if report.has_errors() {
        return Err(Failure::new(
            1,
            format!("{} has errors; run `lodestone check`", dir.display()),
        ));
    }
    let compiled = bundled_record(&world, agreement)?;
    let analysis = lodestone_world::views::Analysis::new(world);
    let today = crate::rules::today();
    let (view, _) = lodestone_server::commission::impact_of_record(&analysis, &compiled, today)
        .map_err(|e| Failure::new(1, e.message))?;
    if format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&view).map_err(|e| Failure::new(1, e.to_string()))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", lodestone_server::commission::impact_text(&view));
    Ok(ExitCode::SUCCESS)
}

/// The five pending deals of the seed commentary, with the demonstration's outcome and, for an
/// approval with conditions, the conditions (each reasoned from the computed items).
pub const WORKED_CASES: [(&str, &str, Option<&str>); 5] = [
    (
        "perak_mcre_chinese_partner",
        "approve_with_conditions",
        Some(
            "Before first production, the refinery secures its route under China's technology-origin licensing for Annex 1 products (its Dy oxide), or uses a process of other origin; residue handling is licensed and published.",
        ),
    ),
    (
        "kedah_xiamen_tungsten_mou",
        "approve_with_conditions",
        Some(
            "The MoU is disclosed in full; any separation on site is licensed with published residue conditions; Annex 1 products carry China's technology-origin licence requirement into every export, which the offtake must reflect.",
        ),
    ),
    (
        "khazanah_china_soe_refinery_talks",
        "approve_with_conditions",
        Some(
            "Any agreement that follows the talks returns to the commission with its size, site, feed, technology terms and offtake; the computed exposure to China's technology-origin rule is a condition of the investment case.",
        ),
    ),
    ("kelantan_lynas_mou_2025", "approve", None),
    ("us_malaysia_mou_2025", "approve", None),
];

/// Runs the demonstration: accounts, then each worked case from opening to publication.
/// Returns the accounts and their passwords.
pub async fn demo(
    reg: &Registry,
    analysis: &lodestone_world::views::Analysis,
) -> Result<Vec<(String, String)>, Failure> {
    use lodestone_registry::access::{Actor, Constituency};
    let people: [(&str, &str, Role, Option<Constituency>); 6] = [
        (
            "demo-admin",
            "Demonstration administrator",
            Role::Administrator,
            None,
        ),
        (
            "demo-secretariat",
            "Demonstration secretariat",
            Role::Secretariat,
            None,
        ),
        (
            "demo-government",
            "Demonstration commissioner (government)",
            Role::Commissioner,
            Some(Constituency::Government),
        ),
        (
            "demo-industry",
            "Demonstration commissioner (industry)",
            Role::Commissioner,
            Some(Constituency::Industry),
        ),
        (
            "demo-civil-society",
            "Demonstration commissioner (civil society)",
            Role::Commissioner,
            Some(Constituency::CivilSociety),
        ),
        (
            "demo-reviewer",
            "Demonstration reviewer",
            Role::Reviewer,
            None,
        ),
    ];
    let mut accounts = Vec::new();
    for (i, (user, name, role, constituency)) in people.iter().enumerate() {
        let password = commission::random_token()?[..20].to_string();
        let a = NewAccount {
            username: user.to_string(),
            display_name: name.to_string(),
            role: *role,
            constituency: *constituency,
            password: password.clone(),
        };
        if i == 0 {
            commission::bootstrap_administrator(reg, &a).await?;
        } else {
            commission::create_account(
                reg,
                &Actor {
                    username: "demo-admin".into(),
                    role: Role::Administrator,
                },
                &a,
            )
            .await?;
        }
        accounts.push((user.to_string(), password));
    }
    let actor = |u: &str, role: Role| Actor {
        username: u.into(),
        role,
    };
    let sec = actor("demo-secretariat", Role::Secretariat);
    let rev = actor("demo-reviewer", Role::Reviewer);
    let today = lodestone_model::Date::parse("2026-12-01").expect("a date");
    for (agreement, outcome, conditions) in WORKED_CASES {
        let record = agreements::record(reg, agreement).await?;
        let (view, items) =
            lodestone_server::commission::impact_of_record(analysis, &record.compiled, today)
                .map_err(|e| Failure::new(1, format!("{agreement}: {}", e.message)))?;
        let evidence = serde_json::to_value(&view).map_err(|e| Failure::new(1, e.to_string()))?;
        let id = commission::open_review(reg, &sec, agreement, &evidence, &items).await?;
        for (item, _) in commission::ATTESTED_ITEMS {
            let finding = format!(
                "DEMONSTRATION: not attested by a real reviewer. A reviewer would record here what was checked for {}.",
                item.replace('_', " ")
            );
            commission::attest(reg, &rev, &id, item, false, &finding).await?;
        }
        let biting = view
            .items
            .iter()
            .filter(|i| i.unit == "rules that bite" && i.after.unwrap_or(0.0) > 0.0)
            .count();
        commission::comment(
            reg,
            &actor("demo-civil-society", Role::Commissioner),
            &id,
            &format!("DEMONSTRATION comment: {biting} of the computed screenings find a rule that bites; see the evidence under each."),
        )
        .await?;
        for voter in ["demo-government", "demo-industry", "demo-civil-society"] {
            commission::vote(
                reg,
                &actor(voter, Role::Commissioner),
                &id,
                outcome,
                Some("DEMONSTRATION vote."),
            )
            .await?;
        }
        let reasons = format!(
            "DEMONSTRATION decision, not a decision of any real body. The computed items: {}.",
            view.items
                .iter()
                .filter(|i| i.unit == "share")
                .map(|i| format!("{} — {}", i.title, i.finding))
                .collect::<Vec<_>>()
                .join("; ")
        );
        commission::decide(
            reg,
            &actor("demo-government", Role::Commissioner),
            &id,
            outcome,
            &reasons,
            conditions,
        )
        .await?;
        commission::publish(reg, &sec, &id).await?;
    }
    Ok(accounts)
}
