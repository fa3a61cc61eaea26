//! Who may do what: roles, actions, and the one authorization matrix (role × action × whether
//! the record is the actor's own), enforced by [`authorize`] and nowhere else, and printed in
//! docs/registry.md by [`matrix_markdown`].

use crate::RegistryError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A person's role. Every account has exactly one; a visitor without one is `Public`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages accounts; reads no drafts.
    Administrator,
    /// Registers agreements and documents, opens reviews, publishes decisions.
    Secretariat,
    /// A member of the commission, for a constituency: votes and decides.
    Commissioner,
    /// Attests checklist items, comments and votes (advisory).
    Reviewer,
    /// Anyone, signed in or not: the public portal only.
    Public,
}

impl Role {
    /// Every role, in the matrix's column order.
    pub const ALL: [Role; 5] = [
        Role::Administrator,
        Role::Secretariat,
        Role::Commissioner,
        Role::Reviewer,
        Role::Public,
    ];

    /// The name used in storage and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Secretariat => "secretariat",
            Role::Commissioner => "commissioner",
            Role::Reviewer => "reviewer",
            Role::Public => "public",
        }
    }

    /// Parses a stored or typed role name.
    pub fn parse(s: &str) -> Result<Role, RegistryError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                RegistryError::Usage(format!(
                    "unknown role {s:?}: one of administrator, secretariat, commissioner, reviewer"
                ))
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The constituency a commissioner sits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constituency {
    /// Federal or state government.
    Government,
    /// Industry.
    Industry,
    /// Civil society.
    CivilSociety,
}

impl Constituency {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Constituency::Government => "government",
            Constituency::Industry => "industry",
            Constituency::CivilSociety => "civil_society",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<Constituency, RegistryError> {
        [
            Constituency::Government,
            Constituency::Industry,
            Constituency::CivilSociety,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| {
            RegistryError::Usage(format!(
                "unknown constituency {s:?}: one of government, industry, civil_society"
            ))
        })
    }
}

/// Everything a person can ask the registry to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read the public portal: published decisions, their agreements, non-confidential
    /// documents, votes once published, the log's checkpoints and proofs.
    ReadPublic,
    /// Read the registry behind the portal: every agreement, open reviews, comments, votes
    /// before publication.
    ReadRegistry,
    /// Read a confidential annex.
    ReadConfidential,
    /// Register an agreement or a new release of one.
    SubmitRelease,
    /// Attach a document to an agreement.
    AddDocument,
    /// Open a review case (its impact is computed then).
    OpenReview,
    /// Attest a checklist item the engines cannot compute (own: as oneself).
    Attest,
    /// Comment on a review (own: as oneself).
    Comment,
    /// Cast or change a vote (own: one's own vote).
    Vote,
    /// Record the commission's decision.
    Decide,
    /// Publish a decision on the portal.
    Publish,
    /// Create and deactivate accounts.
    ManageAccounts,
    /// Change a password (own or another's).
    ChangePassword,
}

impl Action {
    /// Every action, in the matrix's row order.
    pub const ALL: [Action; 13] = [
        Action::ReadPublic,
        Action::ReadRegistry,
        Action::ReadConfidential,
        Action::SubmitRelease,
        Action::AddDocument,
        Action::OpenReview,
        Action::Attest,
        Action::Comment,
        Action::Vote,
        Action::Decide,
        Action::Publish,
        Action::ManageAccounts,
        Action::ChangePassword,
    ];

    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ReadPublic => "read_public",
            Action::ReadRegistry => "read_registry",
            Action::ReadConfidential => "read_confidential",
            Action::SubmitRelease => "submit_release",
            Action::AddDocument => "add_document",
            Action::OpenReview => "open_review",
            Action::Attest => "attest",
            Action::Comment => "comment",
            Action::Vote => "vote",
            Action::Decide => "decide",
            Action::Publish => "publish",
            Action::ManageAccounts => "manage_accounts",
            Action::ChangePassword => "change_password",
        }
    }
}

/// Whether the record acted on is the actor's own (their vote, comment, attestation, password)
/// or someone else's. Actions on records without an owner count as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// The actor's own.
    Own,
    /// Someone else's, or nobody's.
    Other,
}

/// What a role may do with an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Not at all.
    No,
    /// Only on its own records.
    Own,
    /// On any record.
    Any,
}

/// The authorization matrix: for each action, the grant of each role in [`Role::ALL`] order.
pub const MATRIX: [(Action, [Grant; 5]); 13] = {
    use Grant::{Any, No, Own};
    [
        //                          admin secretariat commissioner reviewer public
        (Action::ReadPublic, [Any, Any, Any, Any, Any]),
        (Action::ReadRegistry, [No, Any, Any, Any, No]),
        (Action::ReadConfidential, [No, Any, Any, Any, No]),
        (Action::SubmitRelease, [No, Any, No, No, No]),
        (Action::AddDocument, [No, Any, No, No, No]),
        (Action::OpenReview, [No, Any, No, No, No]),
        (Action::Attest, [No, No, No, Own, No]),
        (Action::Comment, [No, Own, Own, Own, No]),
        (Action::Vote, [No, No, Own, Own, No]),
        (Action::Decide, [No, No, Any, No, No]),
        (Action::Publish, [No, Any, No, No, No]),
        (Action::ManageAccounts, [Any, No, No, No, No]),
        (Action::ChangePassword, [Any, Own, Own, Own, No]),
    ]
};

/// The grant of `role` for `action`.
pub fn grant(role: Role, action: Action) -> Grant {
    let col = Role::ALL
        .iter()
        .position(|r| *r == role)
        .expect("every role has a column");
    MATRIX
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(Grant::No, |(_, g)| g[col])
}

/// The one check: may `role` do `action` on a record that is `whose`?
pub fn allowed(role: Role, action: Action, whose: Whose) -> bool {
    match grant(role, action) {
        Grant::Any => true,
        Grant::Own => whose == Whose::Own,
        Grant::No => false,
    }
}

/// Someone acting: an account, or the public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// Account name; `public` for visitors.
    pub username: String,
    /// Role.
    pub role: Role,
}

impl Actor {
    /// A visitor who has not signed in.
    pub fn public() -> Actor {
        Actor {
            username: "public".into(),
            role: Role::Public,
        }
    }

    /// [`authorize`] for this actor; `owner` is the username owning the record, if any.
    pub fn may(&self, action: Action, owner: Option<&str>) -> Result<(), RegistryError> {
        authorize(self, action, owner)
    }
}

/// Refuses, with a message saying who may, unless the matrix allows it.
pub fn authorize(actor: &Actor, action: Action, owner: Option<&str>) -> Result<(), RegistryError> {
    let whose = if owner == Some(actor.username.as_str()) {
        Whose::Own
    } else {
        Whose::Other
    };
    if allowed(actor.role, action, whose) {
        return Ok(());
    }
    let who: Vec<String> = Role::ALL
        .iter()
        .filter_map(|r| match grant(*r, action) {
            Grant::Any => Some(r.to_string()),
            Grant::Own => Some(format!("{r} (own)")),
            Grant::No => None,
        })
        .collect();
    Err(RegistryError::Forbidden(format!(
        "{} ({}) may not {}; allowed: {}",
        actor.username,
        actor.role,
        action.as_str().replace('_', " "),
        if who.is_empty() {
            "nobody".into()
        } else {
            who.join(", ")
        }
    )))
}

/// The matrix as a Markdown table, for the docs.
pub fn matrix_markdown() -> String {
    let mut s = String::from("| action |");
    for r in Role::ALL {
        s.push_str(&format!(" {r} |"));
    }
    s.push_str("\n|---|");
    s.push_str(&"---|".repeat(Role::ALL.len()));
    s.push('\n');
    for (action, grants) in MATRIX {
        s.push_str(&format!("| {} |", action.as_str()));
        for g in grants {
            s.push_str(match g {
                Grant::Any => " yes |",
                Grant::Own => " own |",
                Grant::No => " – |",
            });
        }
        s.push('\n');
    }
    s
}
