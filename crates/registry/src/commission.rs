//! The commission's work: accounts and sessions, review cases with their checklist, comments,
//! votes, decisions and publication. Every change goes through [`Registry::commit`] (so it is
//! logged) after [`crate::access::authorize`] (so the matrix is the only gate).

use crate::access::{Action, Actor, Constituency, Role};
use crate::agreements::{self, OCID_PREFIX};
use crate::schema::{Cell, Row, row};
use crate::store::{Change, Registry, canonical_json, now_seconds, utc_now};
use crate::{RegistryError, merkle};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row as _;

/// How long a session lasts without signing in again.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

fn usage<T>(m: impl Into<String>) -> Result<T, RegistryError> {
    Err(RegistryError::Usage(m.into()))
}

fn text(r: &Row, c: &str) -> String {
    agreements::text(r, c)
}

fn opt_text(r: &Row, c: &str) -> Option<String> {
    r.get(c).and_then(Cell::as_text).map(str::to_string)
}

/// 256 random bits from the operating system, URL-safe base64 (43 characters).
pub fn random_token() -> Result<String, RegistryError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| RegistryError::Key(format!("no randomness: {e}")))?;
    Ok(B64URL.encode(b))
}

// ---------------------------------------------------------------------------------------------
// Accounts and sessions

/// A new account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Sign-in name: 2–40 of a–z, 0–9, `.`, `_`, `-`.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// For commissioners: whom they sit for.
    pub constituency: Option<Constituency>,
    /// At least [`MIN_PASSWORD`] characters.
    pub password: String,
}

fn valid_username(u: &str) -> bool {
    (2..=40).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

fn hash_password(password: &str) -> Result<String, RegistryError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| RegistryError::Key(format!("no randomness: {e}")))?;
    // Argon2id, version 0x13, with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's
    // recommended minimum).
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| RegistryError::Key(format!("cannot hash the password: {e}")))
}

fn account_row(a: &NewAccount, hash: String) -> Row {
    row([
        ("username", Cell::from(a.username.as_str())),
        ("display_name", Cell::from(a.display_name.as_str())),
        ("role", Cell::from(a.role.as_str())),
        (
            "constituency",
            a.constituency
                .map_or(Cell::Null, |c| Cell::from(c.as_str())),
        ),
        ("password_hash", Cell::Text(hash)),
        ("active", Cell::Int(1)),
    ])
}

fn check_new_account(a: &NewAccount) -> Result<(), RegistryError> {
    if !valid_username(&a.username) {
        return usage(format!(
            "username {:?} must be 2–40 characters of a–z, 0–9, '.', '_', '-'",
            a.username
        ));
    }
    if a.display_name.trim().is_empty() || a.display_name.chars().count() > 100 {
        return usage("a display name has 1–100 characters");
    }
    if a.role == Role::Public {
        return usage("the public role is for visitors, not accounts");
    }
    if (a.role == Role::Commissioner) != a.constituency.is_some() {
        return usage(
            "a commissioner has a constituency (government, industry, civil_society); other roles none",
        );
    }
    if a.password.chars().count() < MIN_PASSWORD || a.password.len() > 1024 {
        return usage(format!("a password has {MIN_PASSWORD} to 1024 characters"));
    }
    Ok(())
}

/// Creates an account (administrators only).
pub async fn create_account(
    reg: &Registry,
    by: &Actor,
    a: &NewAccount,
) -> Result<(), RegistryError> {
    by.may(Action::ManageAccounts, None)?;
    check_new_account(a)?;
    let r = account_row(a, hash_password(&a.password)?);
    reg.insert(&by.username, "account.create", "accounts", r)
        .await?;
    Ok(())
}

/// Creates the first administrator of an empty registry; refused once any account exists.
pub async fn bootstrap_administrator(reg: &Registry, a: &NewAccount) -> Result<(), RegistryError> {
    if a.role != Role::Administrator {
        return usage("the first account is an administrator");
    }
    check_new_account(a)?;
    if !reg.rows("accounts").await?.is_empty() {
        return Err(RegistryError::Conflict(
            "the registry has accounts already; an administrator creates more".into(),
        ));
    }
    let r = account_row(a, hash_password(&a.password)?);
    reg.insert("bootstrap", "account.create", "accounts", r)
        .await?;
    Ok(())
}

/// Changes a password: one's own, or (administrators) anyone's.
pub async fn change_password(
    reg: &Registry,
    by: &Actor,
    username: &str,
    password: &str,
) -> Result<(), RegistryError> {
    by.may(Action::ChangePassword, Some(username))?;
    if password.chars().count() < MIN_PASSWORD || password.len() > 1024 {
        return usage(format!("a password has {MIN_PASSWORD} to 1024 characters"));
    }
    let key = row([("username", Cell::from(username))]);
    let Some(mut r) = reg.get("accounts", &key).await? else {
        return Err(RegistryError::NotFound(format!("no account {username:?}")));
    };
    r.insert("password_hash".into(), Cell::Text(hash_password(password)?));
    reg.commit(
        &by.username,
        "account.password",
        vec![Change::Update {
            table: "accounts",
            row: r,
        }],
    )
    .await?;
    end_sessions_of(reg, username).await
}

/// Deactivates an account (administrators only); its sessions end.
pub async fn deactivate(reg: &Registry, by: &Actor, username: &str) -> Result<(), RegistryError> {
    by.may(Action::ManageAccounts, None)?;
    let key = row([("username", Cell::from(username))]);
    let Some(mut r) = reg.get("accounts", &key).await? else {
        return Err(RegistryError::NotFound(format!("no account {username:?}")));
    };
    r.insert("active".into(), Cell::Int(0));
    reg.commit(
        &by.username,
        "account.deactivate",
        vec![Change::Update {
            table: "accounts",
            row: r,
        }],
    )
    .await?;
    end_sessions_of(reg, username).await
}

/// A public view of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// For commissioners.
    pub constituency: Option<String>,
    /// Whether it can sign in.
    pub active: bool,
}

/// Every account (administrators and staff).
pub async fn accounts(reg: &Registry, by: &Actor) -> Result<Vec<AccountView>, RegistryError> {
    if by.may(Action::ManageAccounts, None).is_err() {
        by.may(Action::ReadRegistry, None)?;
    }
    reg.rows("accounts")
        .await?
        .iter()
        .map(|r| {
            Ok(AccountView {
                username: text(r, "username"),
                display_name: text(r, "display_name"),
                role: Role::parse(&text(r, "role"))?,
                constituency: opt_text(r, "constituency"),
                active: r["active"].as_int() == Some(1),
            })
        })
        .collect()
}

/// Checks a password; `None` for an unknown user, a wrong password or an inactive account
/// (the same answer for all three, after the same work).
pub async fn check_password(
    reg: &Registry,
    username: &str,
    password: &str,
) -> Result<Option<Actor>, RegistryError> {
    // A hash to verify against when the user does not exist, so that the time taken does not
    // tell which usernames exist.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = match DUMMY.get() {
        Some(d) => d.clone(),
        None => DUMMY
            .get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
            .clone(),
    };
    let key = row([("username", Cell::from(username))]);
    let found = if valid_username(username) {
        reg.get("accounts", &key).await?
    } else {
        None
    };
    let hash = found.as_ref().map_or(dummy, |r| text(r, "password_hash"));
    let ok = argon2::Argon2::default()
        .verify_password(password.as_bytes(), hash.as_str())
        .is_ok();
    Ok(match found {
        Some(r) if ok && r["active"].as_int() == Some(1) => Some(Actor {
            username: text(&r, "username"),
            role: Role::parse(&text(&r, "role"))?,
        }),
        _ => None,
    })
}

/// A signed-in session: the cookie's token and the form token that must accompany every
/// state-changing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Secret bearer token (the cookie). Only its SHA-256 is stored.
    pub token: String,
    /// CSRF token for forms and the `x-csrf-token` header.
    pub csrf: String,
    /// Who.
    pub actor: Actor,
}

/// Starts a new session for a checked actor: always a fresh token (no fixation).
pub async fn start_session(reg: &Registry, actor: &Actor) -> Result<Session, RegistryError> {
    let token = random_token()?;
    let csrf = random_token()?;
    let now = now_seconds();
    sqlx::query("INSERT INTO sessions (token_hash, username, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(merkle::sha256(token.as_bytes()).to_hex())
        .bind(actor.username.clone())
        .bind(csrf.clone())
        .bind(now)
        .bind(now + SESSION_SECONDS)
        .execute(reg.pool())
        .await?;
    Ok(Session {
        token,
        csrf,
        actor: actor.clone(),
    })
}

/// The session a token belongs to, if it is live and its account active.
pub async fn session(reg: &Registry, token: &str) -> Result<Option<Session>, RegistryError> {
    if token.len() != 43 {
        return Ok(None);
    }
    let r = sqlx::query(
        "SELECT s.username, s.csrf, s.expires_at, a.role, a.active FROM sessions s \
         JOIN accounts a ON a.username = s.username WHERE s.token_hash = $1",
    )
    .bind(merkle::sha256(token.as_bytes()).to_hex())
    .fetch_optional(reg.pool())
    .await?;
    let Some(r) = r else { return Ok(None) };
    let expires: i64 = r.try_get("expires_at")?;
    let active: i64 = r.try_get("active")?;
    if expires < now_seconds() || active != 1 {
        return Ok(None);
    }
    Ok(Some(Session {
        token: token.to_string(),
        csrf: r.try_get("csrf")?,
        actor: Actor {
            username: r.try_get("username")?,
            role: Role::parse(&r.try_get::<String, _>("role")?)?,
        },
    }))
}

/// Ends a session.
pub async fn end_session(reg: &Registry, token: &str) -> Result<(), RegistryError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(merkle::sha256(token.as_bytes()).to_hex())
        .execute(reg.pool())
        .await?;
    Ok(())
}

async fn end_sessions_of(reg: &Registry, username: &str) -> Result<(), RegistryError> {
    sqlx::query("DELETE FROM sessions WHERE username = $1")
        .bind(username.to_string())
        .execute(reg.pool())
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Reviews

/// The checklist items a reviewer attests: what the engines cannot compute.
pub const ATTESTED_ITEMS: [(&str, &str); 4] = [
    (
        "public_disclosure",
        "The agreement and its annexes are publicly disclosed (or the withholding is justified)",
    ),
    (
        "environmental_review",
        "An environmental review of the project, residue handling included, has been done",
    ),
    (
        "counterparty_due_diligence",
        "Due diligence on the counterparties: ownership, state links, sanctions",
    ),
    (
        "local_workforce_terms",
        "Terms on local workforce, training and equity are adequate",
    ),
];

/// One computed item of a review's checklist, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComputedItem {
    /// Stable key, e.g. `separation_share_outside_china`.
    pub item: String,
    /// What was computed, in words, with before and after.
    pub finding: String,
}

/// Review states, in order.
pub const STATES: [&str; 3] = ["open", "decided", "published"];

/// Votes and decision outcomes.
pub const OUTCOMES: [&str; 3] = ["approve", "approve_with_conditions", "reject"];

/// Opens a review of an agreement with its computed impact (the JSON evidence) and the
/// computed checklist items; the attested items start pending.
pub async fn open_review(
    reg: &Registry,
    by: &Actor,
    agreement: &str,
    impact: &Value,
    computed: &[ComputedItem],
) -> Result<String, RegistryError> {
    by.may(Action::OpenReview, None)?;
    let record = agreements::record(reg, agreement).await?;
    let reviews = reg.rows("reviews").await?;
    if let Some(open) = reviews
        .iter()
        .find(|r| text(r, "ocid") == record.ocid && text(r, "state") == "open")
    {
        return Err(RegistryError::Conflict(format!(
            "review {} of {agreement} is still open; decide it before opening another",
            text(open, "id")
        )));
    }
    let n = reviews
        .iter()
        .filter(|r| text(r, "ocid") == record.ocid)
        .count()
        + 1;
    let id = format!("{agreement}-r{n}");
    let now = utc_now();
    let mut changes = vec![Change::Insert {
        table: "reviews",
        row: row([
            ("id", Cell::from(id.as_str())),
            ("ocid", Cell::from(record.ocid.as_str())),
            ("opened_by", Cell::from(by.username.as_str())),
            ("opened_at", Cell::from(now.as_str())),
            ("state", Cell::from("open")),
            ("impact", Cell::Text(canonical_json(impact))),
        ]),
    }];
    for c in computed {
        changes.push(Change::Insert {
            table: "review_items",
            row: row([
                ("review_id", Cell::from(id.as_str())),
                ("item", Cell::from(c.item.as_str())),
                ("kind", Cell::from("computed")),
                ("status", Cell::from("computed")),
                ("finding", Cell::from(c.finding.as_str())),
                ("attested_by", Cell::Null),
                ("attested_at", Cell::Null),
            ]),
        });
    }
    for (item, _) in ATTESTED_ITEMS {
        changes.push(Change::Insert {
            table: "review_items",
            row: row([
                ("review_id", Cell::from(id.as_str())),
                ("item", Cell::from(item)),
                ("kind", Cell::from("attested")),
                ("status", Cell::from("pending")),
                ("finding", Cell::Null),
                ("attested_by", Cell::Null),
                ("attested_at", Cell::Null),
            ]),
        });
    }
    reg.commit(&by.username, "review.open", changes).await?;
    Ok(id)
}

async fn review_row(reg: &Registry, id: &str) -> Result<Row, RegistryError> {
    reg.get("reviews", &row([("id", Cell::from(id))]))
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no review {id:?}")))
}

fn must_be_open(r: &Row) -> Result<(), RegistryError> {
    let state = text(r, "state");
    if state != "open" {
        return Err(RegistryError::Conflict(format!(
            "review {} is {state}; it no longer changes",
            text(r, "id")
        )));
    }
    Ok(())
}

fn bounded(what: &str, s: &str, max: usize) -> Result<String, RegistryError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > max {
        return usage(format!("{what} has 1 to {max} characters"));
    }
    Ok(t.to_string())
}

/// Attests one item: `met` (with the finding) or `not_met`. A reviewer attests as themself and
/// may revise only their own attestation.
pub async fn attest(
    reg: &Registry,
    by: &Actor,
    review: &str,
    item: &str,
    met: bool,
    finding: &str,
) -> Result<(), RegistryError> {
    let r = review_row(reg, review).await?;
    let key = row([
        ("review_id", Cell::from(review)),
        ("item", Cell::from(item)),
    ]);
    let Some(mut it) = reg.get("review_items", &key).await? else {
        return Err(RegistryError::NotFound(format!(
            "review {review} has no item {item:?}; attested items: {}",
            ATTESTED_ITEMS.map(|i| i.0).join(", ")
        )));
    };
    let owner = opt_text(&it, "attested_by").unwrap_or_else(|| by.username.clone());
    by.may(Action::Attest, Some(&owner))?;
    must_be_open(&r)?;
    if text(&it, "kind") != "attested" {
        return usage(format!("{item} is computed by the engines, not attested"));
    }
    it.insert(
        "status".into(),
        Cell::from(if met { "met" } else { "not_met" }),
    );
    it.insert(
        "finding".into(),
        Cell::Text(bounded("a finding", finding, 5000)?),
    );
    it.insert("attested_by".into(), Cell::from(by.username.as_str()));
    it.insert("attested_at".into(), Cell::Text(utc_now()));
    reg.commit(
        &by.username,
        "review.attest",
        vec![Change::Update {
            table: "review_items",
            row: it,
        }],
    )
    .await?;
    Ok(())
}

/// Adds a comment as oneself.
pub async fn comment(
    reg: &Registry,
    by: &Actor,
    review: &str,
    body: &str,
) -> Result<i64, RegistryError> {
    by.may(Action::Comment, Some(&by.username))?;
    let r = review_row(reg, review).await?;
    must_be_open(&r)?;
    let body = bounded("a comment", body, 10_000)?;
    let seq = reg
        .rows("comments")
        .await?
        .iter()
        .filter(|c| text(c, "review_id") == review)
        .count() as i64
        + 1;
    let c = row([
        ("review_id", Cell::from(review)),
        ("seq", Cell::Int(seq)),
        ("author", Cell::from(by.username.as_str())),
        ("at", Cell::Text(utc_now())),
        ("body", Cell::Text(body)),
    ]);
    reg.insert(&by.username, "review.comment", "comments", c)
        .await?;
    Ok(seq)
}

/// Casts or changes one's own vote while the review is open.
pub async fn vote(
    reg: &Registry,
    by: &Actor,
    review: &str,
    vote: &str,
    reason: Option<&str>,
) -> Result<(), RegistryError> {
    by.may(Action::Vote, Some(&by.username))?;
    let r = review_row(reg, review).await?;
    must_be_open(&r)?;
    if !OUTCOMES.contains(&vote) && vote != "abstain" {
        return usage(format!(
            "vote {vote:?} is one of approve, approve_with_conditions, reject, abstain"
        ));
    }
    let reason = reason
        .filter(|s| !s.trim().is_empty())
        .map(|s| bounded("a reason", s, 5000))
        .transpose()?;
    let v = row([
        ("review_id", Cell::from(review)),
        ("voter", Cell::from(by.username.as_str())),
        ("vote", Cell::from(vote)),
        ("at", Cell::Text(utc_now())),
        ("reason", reason.map_or(Cell::Null, Cell::Text)),
    ]);
    let key = row([
        ("review_id", Cell::from(review)),
        ("voter", Cell::from(by.username.as_str())),
    ]);
    let change = if reg.get("votes", &key).await?.is_some() {
        Change::Update {
            table: "votes",
            row: v,
        }
    } else {
        Change::Insert {
            table: "votes",
            row: v,
        }
    };
    reg.commit(&by.username, "review.vote", vec![change])
        .await?;
    Ok(())
}

/// The commission's tally: commissioners' votes only (reviewers' votes are advisory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Active commissioners.
    pub commissioners: usize,
    /// Commissioners who voted (abstentions included).
    pub voted: usize,
    /// Votes per outcome, in [`OUTCOMES`] order.
    pub counts: [usize; 3],
    /// The outcome with the most votes, if one has strictly more than the others.
    pub majority: Option<String>,
    /// Whether at least half the commissioners voted.
    pub quorum: bool,
}

async fn tally(reg: &Registry, review: &str) -> Result<Tally, RegistryError> {
    let commissioners: Vec<String> = reg
        .rows("accounts")
        .await?
        .iter()
        .filter(|a| text(a, "role") == "commissioner" && a["active"].as_int() == Some(1))
        .map(|a| text(a, "username"))
        .collect();
    let votes: Vec<Row> = reg
        .rows("votes")
        .await?
        .into_iter()
        .filter(|v| text(v, "review_id") == review && commissioners.contains(&text(v, "voter")))
        .collect();
    let mut counts = [0usize; 3];
    for v in &votes {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == text(v, "vote")) {
            counts[i] += 1;
        }
    }
    let top = *counts.iter().max().unwrap_or(&0);
    let majority = (top > 0 && counts.iter().filter(|c| **c == top).count() == 1)
        .then(|| OUTCOMES[counts.iter().position(|c| *c == top).unwrap_or(0)].to_string());
    Ok(Tally {
        commissioners: commissioners.len(),
        voted: votes.len(),
        counts,
        majority,
        quorum: !commissioners.is_empty() && votes.len() * 2 >= commissioners.len(),
    })
}

/// Records the commission's decision: every attested item attested, a quorum of commissioners
/// voted, and the outcome is their majority vote; conditions with `approve_with_conditions`.
pub async fn decide(
    reg: &Registry,
    by: &Actor,
    review: &str,
    outcome: &str,
    reasons: &str,
    conditions: Option<&str>,
) -> Result<(), RegistryError> {
    by.may(Action::Decide, None)?;
    let mut r = review_row(reg, review).await?;
    must_be_open(&r)?;
    if !OUTCOMES.contains(&outcome) {
        return usage(format!(
            "outcome {outcome:?} is one of {}",
            OUTCOMES.join(", ")
        ));
    }
    let pending: Vec<String> = reg
        .rows("review_items")
        .await?
        .iter()
        .filter(|i| text(i, "review_id") == review && text(i, "status") == "pending")
        .map(|i| text(i, "item"))
        .collect();
    if !pending.is_empty() {
        return Err(RegistryError::Conflict(format!(
            "items not yet attested: {}",
            pending.join(", ")
        )));
    }
    let t = tally(reg, review).await?;
    if !t.quorum {
        return Err(RegistryError::Conflict(format!(
            "no quorum: {} of {} commissioners voted; at least half must",
            t.voted, t.commissioners
        )));
    }
    if t.majority.as_deref() != Some(outcome) {
        return Err(RegistryError::Conflict(format!(
            "the commissioners' votes ({} approve, {} approve with conditions, {} reject) do not give {outcome}",
            t.counts[0], t.counts[1], t.counts[2]
        )));
    }
    let conditions = conditions
        .filter(|c| !c.trim().is_empty())
        .map(|c| bounded("conditions", c, 10_000))
        .transpose()?;
    if (outcome == "approve_with_conditions") != conditions.is_some() {
        return usage("conditions are given with approve_with_conditions, and only then");
    }
    let d = row([
        ("review_id", Cell::from(review)),
        ("outcome", Cell::from(outcome)),
        (
            "reasons",
            Cell::Text(bounded("the reasons", reasons, 20_000)?),
        ),
        ("conditions", conditions.map_or(Cell::Null, Cell::Text)),
        ("decided_by", Cell::from(by.username.as_str())),
        ("decided_at", Cell::Text(utc_now())),
        ("published_at", Cell::Null),
    ]);
    r.insert("state".into(), Cell::from("decided"));
    reg.commit(
        &by.username,
        "review.decide",
        vec![
            Change::Insert {
                table: "decisions",
                row: d,
            },
            Change::Update {
                table: "reviews",
                row: r,
            },
        ],
    )
    .await?;
    Ok(())
}

/// Publishes a decided review on the portal.
pub async fn publish(reg: &Registry, by: &Actor, review: &str) -> Result<(), RegistryError> {
    by.may(Action::Publish, None)?;
    let mut r = review_row(reg, review).await?;
    if text(&r, "state") != "decided" {
        return Err(RegistryError::Conflict(format!(
            "review {review} is {}; only a decided review is published",
            text(&r, "state")
        )));
    }
    let key = row([("review_id", Cell::from(review))]);
    let mut d = reg
        .get("decisions", &key)
        .await?
        .ok_or_else(|| RegistryError::NotFound("no decision".into()))?;
    d.insert("published_at".into(), Cell::Text(utc_now()));
    r.insert("state".into(), Cell::from("published"));
    reg.commit(
        &by.username,
        "review.publish",
        vec![
            Change::Update {
                table: "decisions",
                row: d,
            },
            Change::Update {
                table: "reviews",
                row: r,
            },
        ],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What a viewer may see

/// One checklist item as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemView {
    /// Key.
    pub item: String,
    /// `computed` or `attested`.
    pub kind: String,
    /// `computed`, `pending`, `met` or `not_met`.
    pub status: String,
    /// What it asks (attested items) or what was computed.
    pub title: String,
    /// The finding.
    pub finding: Option<String>,
    /// Who attested, and when.
    pub attested_by: Option<String>,
    /// When.
    pub attested_at: Option<String>,
}

/// A document as listed (never its bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocumentView {
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Title.
    pub title: String,
    /// Media type.
    pub media_type: String,
    /// Whether it is a confidential annex.
    pub confidential: bool,
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommentView {
    /// Order.
    pub seq: i64,
    /// Who.
    pub author: String,
    /// When.
    pub at: String,
    /// Text.
    pub body: String,
}

/// A vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoteView {
    /// Who.
    pub voter: String,
    /// Their role.
    pub role: String,
    /// The vote.
    pub vote: String,
    /// When.
    pub at: String,
    /// Why.
    pub reason: Option<String>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionView {
    /// approve, approve_with_conditions or reject.
    pub outcome: String,
    /// Reasons.
    pub reasons: String,
    /// Conditions, if any.
    pub conditions: Option<String>,
    /// Who recorded it.
    pub decided_by: String,
    /// When.
    pub decided_at: String,
    /// When it was published, if it was.
    pub published_at: Option<String>,
}

/// A review as one viewer may see it: what the matrix withholds is absent, not hidden.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewView {
    /// Id.
    pub id: String,
    /// The agreement's id.
    pub agreement: String,
    /// The agreement's compiled record.
    pub record: Value,
    /// open, decided or published.
    pub state: String,
    /// Who opened it.
    pub opened_by: String,
    /// When.
    pub opened_at: String,
    /// The computed impact with its evidence.
    pub impact: Value,
    /// The checklist.
    pub items: Vec<ItemView>,
    /// Documents the viewer may see.
    pub documents: Vec<DocumentView>,
    /// Confidential documents withheld from this viewer (their count only).
    pub withheld_documents: usize,
    /// Comments (staff only).
    pub comments: Vec<CommentView>,
    /// Votes (staff; the public once published).
    pub votes: Vec<VoteView>,
    /// The commissioners' tally.
    pub tally: Option<Tally>,
    /// The decision (staff once decided; the public once published).
    pub decision: Option<DecisionView>,
}

/// A review as `viewer` may see it. The public sees only published reviews; a draft is
/// reported as not found to them, so its existence does not leak.
pub async fn review_view(
    reg: &Registry,
    viewer: &Actor,
    id: &str,
) -> Result<ReviewView, RegistryError> {
    let staff = viewer.may(Action::ReadRegistry, None).is_ok();
    let r = review_row(reg, id).await?;
    let state = text(&r, "state");
    if !staff && state != "published" {
        viewer.may(Action::ReadPublic, None)?;
        return Err(RegistryError::NotFound(format!("no review {id:?}")));
    }
    let ocid = text(&r, "ocid");
    let agreement = ocid
        .strip_prefix(OCID_PREFIX)
        .unwrap_or_default()
        .to_string();
    let record = agreements::record(reg, &agreement).await?;
    let titles: std::collections::BTreeMap<&str, &str> = ATTESTED_ITEMS.into_iter().collect();
    let items = reg
        .rows("review_items")
        .await?
        .iter()
        .filter(|i| text(i, "review_id") == id)
        .map(|i| ItemView {
            item: text(i, "item"),
            kind: text(i, "kind"),
            status: text(i, "status"),
            title: titles
                .get(text(i, "item").as_str())
                .map_or(text(i, "item").replace('_', " "), |t| t.to_string()),
            finding: opt_text(i, "finding"),
            attested_by: opt_text(i, "attested_by"),
            attested_at: opt_text(i, "attested_at"),
        })
        .collect();
    let confidential_ok = viewer.may(Action::ReadConfidential, None).is_ok();
    let all_docs: Vec<DocumentView> = reg
        .rows("documents")
        .await?
        .iter()
        .filter(|d| text(d, "ocid") == ocid)
        .map(|d| DocumentView {
            sha256: text(d, "sha256"),
            title: text(d, "title"),
            media_type: text(d, "media_type"),
            confidential: d["confidential"].as_int() != Some(0),
        })
        .collect();
    let withheld = all_docs
        .iter()
        .filter(|d| d.confidential && !confidential_ok)
        .count();
    let documents = all_docs
        .into_iter()
        .filter(|d| !d.confidential || confidential_ok)
        .collect();
    let roles: std::collections::BTreeMap<String, String> = reg
        .rows("accounts")
        .await?
        .iter()
        .map(|a| (text(a, "username"), text(a, "role")))
        .collect();
    let votes_visible = staff || state == "published";
    let votes = if votes_visible {
        reg.rows("votes")
            .await?
            .iter()
            .filter(|v| text(v, "review_id") == id)
            .map(|v| VoteView {
                voter: text(v, "voter"),
                role: roles.get(&text(v, "voter")).cloned().unwrap_or_default(),
                vote: text(v, "vote"),
                at: text(v, "at"),
                reason: opt_text(v, "reason"),
            })
            .collect()
    } else {
        Vec::new()
    };
    let comments = if staff {
        reg.rows("comments")
            .await?
            .iter()
            .filter(|c| text(c, "review_id") == id)
            .map(|c| CommentView {
                seq: c["seq"].as_int().unwrap_or(0),
                author: text(c, "author"),
                at: text(c, "at"),
                body: text(c, "body"),
            })
            .collect()
    } else {
        Vec::new()
    };
    let decision = reg
        .get("decisions", &row([("review_id", Cell::from(id))]))
        .await?
        .map(|d| DecisionView {
            outcome: text(&d, "outcome"),
            reasons: text(&d, "reasons"),
            conditions: opt_text(&d, "conditions"),
            decided_by: text(&d, "decided_by"),
            decided_at: text(&d, "decided_at"),
            published_at: opt_text(&d, "published_at"),
        });
    let mut impact: Value = serde_json::from_str(&text(&r, "impact")).unwrap_or(Value::Null);
    if !confidential_ok {
        strip_confidential(&mut impact);
    }
    Ok(ReviewView {
        id: id.to_string(),
        agreement,
        record: public_record(record.compiled, confidential_ok),
        state,
        opened_by: text(&r, "opened_by"),
        opened_at: text(&r, "opened_at"),
        impact,
        items,
        documents,
        withheld_documents: withheld,
        comments,
        votes,
        tally: if votes_visible {
            Some(tally(reg, id).await?)
        } else {
            None
        },
        decision,
    })
}

/// Drops the parts of a compiled record marked confidential (documents and clauses with
/// `"confidential": true`) for viewers who may not read them.
fn public_record(mut compiled: Value, confidential_ok: bool) -> Value {
    if !confidential_ok {
        strip_confidential(&mut compiled);
    }
    compiled
}

/// Removes every array item marked `"confidential": true`, at any depth.
pub fn strip_confidential(v: &mut Value) {
    match v {
        Value::Object(o) => o.values_mut().for_each(strip_confidential),
        Value::Array(a) => {
            a.retain(|x| x.get("confidential") != Some(&Value::Bool(true)));
            a.iter_mut().for_each(strip_confidential);
        }
        _ => {}
    }
}

/// A line of a review list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewLine {
    /// Id.
    pub id: String,
    /// Agreement id.
    pub agreement: String,
    /// The agreement's title.
    pub title: String,
    /// State.
    pub state: String,
    /// When opened.
    pub opened_at: String,
    /// The outcome, once decided (published, for the public).
    pub outcome: Option<String>,
}

/// The reviews a viewer may see: all for staff, the published ones for the public.
pub async fn reviews(reg: &Registry, viewer: &Actor) -> Result<Vec<ReviewLine>, RegistryError> {
    viewer.may(Action::ReadPublic, None)?;
    let staff = viewer.may(Action::ReadRegistry, None).is_ok();
    let records = agreements::records(reg).await?;
    let decisions = reg.rows("decisions").await?;
    Ok(reg
        .rows("reviews")
        .await?
        .iter()
        .filter(|r| staff || text(r, "state") == "published")
        .map(|r| {
            let ocid = text(r, "ocid");
            ReviewLine {
                id: text(r, "id"),
                agreement: ocid
                    .strip_prefix(OCID_PREFIX)
                    .unwrap_or_default()
                    .to_string(),
                title: records
                    .iter()
                    .find(|x| x.ocid == ocid)
                    .and_then(|x| x.compiled["title"].as_str())
                    .unwrap_or_default()
                    .to_string(),
                state: text(r, "state"),
                opened_at: text(r, "opened_at"),
                outcome: decisions
                    .iter()
                    .find(|d| text(d, "review_id") == text(r, "id"))
                    .map(|d| text(d, "outcome")),
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Documents

/// Largest document stored (bytes).
pub const MAX_DOCUMENT: usize = 8 << 20;

/// Attaches a document to an agreement (secretariat); identified by its SHA-256, so the same
/// bytes are stored once. Returns the hash.
pub async fn add_document(
    reg: &Registry,
    by: &Actor,
    agreement: &str,
    title: &str,
    media_type: &str,
    confidential: bool,
    content: Vec<u8>,
) -> Result<String, RegistryError> {
    by.may(Action::AddDocument, None)?;
    let record = agreements::record(reg, agreement).await?;
    if content.is_empty() || content.len() > MAX_DOCUMENT {
        return usage(format!("a document has 1 byte to {MAX_DOCUMENT} bytes"));
    }
    let media_ok = media_type.len() <= 100
        && media_type.split_once('/').is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && media_type
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"/.+-".contains(&c))
        });
    if !media_ok {
        return usage(format!("media type {media_type:?} is not type/subtype"));
    }
    let sha = merkle::sha256(&content).to_hex();
    let d = row([
        ("sha256", Cell::from(sha.as_str())),
        ("ocid", Cell::from(record.ocid.as_str())),
        ("title", Cell::Text(bounded("a title", title, 300)?)),
        ("media_type", Cell::from(media_type)),
        ("confidential", Cell::Int(i64::from(confidential))),
        ("content", Cell::Blob(content)),
    ]);
    reg.insert(&by.username, "document.add", "documents", d)
        .await?;
    Ok(sha)
}

/// A document's bytes and description, if `viewer` may read it: staff read any but confidential
/// annexes need [`Action::ReadConfidential`]; the public reads non-confidential documents of
/// agreements with a published review. Anything else is "not found".
pub async fn document(
    reg: &Registry,
    viewer: &Actor,
    sha256: &str,
) -> Result<(DocumentView, Vec<u8>), RegistryError> {
    let missing = || RegistryError::NotFound(format!("no document {sha256}"));
    let d = reg
        .get("documents", &row([("sha256", Cell::from(sha256))]))
        .await?
        .ok_or_else(missing)?;
    let confidential = d["confidential"].as_int() != Some(0);
    let staff = viewer.may(Action::ReadRegistry, None).is_ok();
    let readable = if confidential {
        viewer.may(Action::ReadConfidential, None).is_ok()
    } else if staff {
        true
    } else {
        let ocid = text(&d, "ocid");
        reg.rows("reviews")
            .await?
            .iter()
            .any(|r| text(r, "ocid") == ocid && text(r, "state") == "published")
    };
    if !readable {
        return Err(missing());
    }
    let view = DocumentView {
        sha256: text(&d, "sha256"),
        title: text(&d, "title"),
        media_type: text(&d, "media_type"),
        confidential,
    };
    let bytes = match d.get("content") {
        Some(Cell::Blob(b)) => b.clone(),
        _ => Vec::new(),
    };
    Ok((view, bytes))
}
