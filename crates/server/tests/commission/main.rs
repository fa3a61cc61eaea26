//! The commission's workplace through HTTP: the authorization matrix exhaustively (every role ×
//! action × own/other record the API can express), hostile input, and the public portal showing
//! only what it may.

#[path = "../common/mod.rs"]
mod common;
mod site;

use lodestone_registry::access::{Action, Role, Whose, allowed};
use serde_json::json;
use site::{Client, PASSWORD, Site};

/// Each check runs on SQLite; its PostgreSQL twin is ignored unless `.ci/run` started a server.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name(super::Site::start());
                }

                #[test]
                #[ignore = "needs PostgreSQL: run by .ci/run with --ignored"]
                fn postgres() {
                    super::$name(super::Site::postgres());
                }
            }
        )*
    };
}

on_both_backends!(
    the_authorization_matrix_holds_for_every_role_action_and_owner,
    the_public_never_reads_a_draft_a_vote_before_publication_or_a_confidential_annex,
    hostile_requests_are_refused_and_change_nothing,
    script_in_every_text_field_is_rendered_as_text,
    sign_in_issues_a_fresh_session_and_resists_guessing,
    the_portal_proves_the_log_only_grew,
    every_commission_route_answers_with_its_media_type_and_security_headers,
);

fn ok(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Every role, with its account (`None`: the public, not signed in).
const ROLES: [(Role, Option<&str>); 5] = [
    (Role::Administrator, Some("admin")),
    (Role::Secretariat, Some("sec")),
    (Role::Commissioner, Some("gov")),
    (Role::Reviewer, Some("rev")),
    (Role::Public, None),
];

/// One case: what is asked, and whether the matrix allows it.
fn expect(role: Role, action: Action, whose: Whose) -> bool {
    allowed(role, action, whose)
}

/// An agreement of its own for each case, so that cases do not interfere.
fn fresh_agreement(site: &Site, sec: &Client, n: &mut usize) -> String {
    *n += 1;
    let id = format!("case_{n}");
    let r = site.call(
        Some(sec),
        "POST",
        "/api/commission/agreements/releases",
        &json!({"ocid": format!("lodestone-agreement-{id}"), "id": "r1", "date": "2026-01",
            "tag": ["planning"], "title": format!("Case {n}"), "kind": "mou", "status": "proposed",
            "parties": [{"id": "MYS"}]})
        .to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    id
}

fn open_review(site: &Site, sec: &Client, agreement: &str) -> String {
    let r = site.call(
        Some(sec),
        "POST",
        "/api/commission/reviews",
        &json!({"agreement": agreement}).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    common::json(&r)["id"].as_str().unwrap().to_string()
}

fn step(site: &Site, who: Option<&Client>, review: &str, body: serde_json::Value) -> common::Reply {
    site.call(
        who,
        "POST",
        &format!("/api/commission/reviews/{review}/steps"),
        &body.to_string(),
    )
}

fn ready_to_decide(site: &Site, c: &std::collections::BTreeMap<&str, Client>, review: &str) {
    for item in [
        "public_disclosure",
        "environmental_review",
        "counterparty_due_diligence",
        "local_workforce_terms",
    ] {
        let r = step(
            site,
            Some(&c["rev"]),
            review,
            json!({"action": "attest", "item": item, "met": true, "finding": "Checked."}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for voter in ["gov", "ind"] {
        let r = step(
            site,
            Some(&c[voter]),
            review,
            json!({"action": "vote", "vote": "approve"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

fn the_authorization_matrix_holds_for_every_role_action_and_owner(site: Site) {
    let mut clients = std::collections::BTreeMap::new();
    for u in ["admin", "sec", "gov", "ind", "civ", "rev", "rev2"] {
        clients.insert(u, site.sign_in(u, PASSWORD));
    }
    let mut n = 0;
    let mut checked = 0;
    for (role, user) in ROLES {
        let sec = clients["sec"].clone();
        let me_client = user.map(|u| clients[u].clone());
        let me = me_client.as_ref();
        let mut check = |action: Action, whose: Whose, status: u16, body: &str| {
            let want = expect(role, action, whose);
            assert_eq!(
                ok(status),
                want,
                "{role} {} ({whose:?}): status {status}, {body}",
                action.as_str()
            );
            if !want {
                assert!(
                    [401, 403, 404].contains(&status),
                    "{role} {}: {status}",
                    action.as_str()
                );
            }
            checked += 1;
        };

        // read_public: the portal's list.
        let r = site.call(me, "GET", "/api/commission/reviews", "");
        check(Action::ReadPublic, Whose::Other, r.status, &r.body);

        // read_registry: an open review (a draft).
        let a = fresh_agreement(&site, &sec, &mut n);
        let review = open_review(&site, &sec, &a);
        let r = site.call(me, "GET", &format!("/api/commission/reviews/{review}"), "");
        check(Action::ReadRegistry, Whose::Other, r.status, &r.body);

        // read_confidential: a confidential annex's bytes.
        let doc = site.call(
            Some(&sec),
            "POST",
            &format!("/api/commission/agreements/{a}/documents"),
            &json!({"title": "Annex", "media_type": "text/plain", "confidential": true,
                "content_base64": base64_of(&format!("secret annex of {a}"))})
            .to_string(),
        );
        assert_eq!(doc.status, 201, "{}", doc.body);
        let sha = common::json(&doc)["sha256"].as_str().unwrap().to_string();
        let r = site.call(me, "GET", &format!("/api/commission/documents/{sha}"), "");
        check(Action::ReadConfidential, Whose::Other, r.status, &r.body);

        // submit_release.
        n += 1;
        let r = site.call(
            me,
            "POST",
            "/api/commission/agreements/releases",
            &json!({"ocid": format!("lodestone-agreement-try_{n}"), "id": "r1", "date": "2026",
                "tag": ["planning"], "title": "Try"})
            .to_string(),
        );
        check(Action::SubmitRelease, Whose::Other, r.status, &r.body);

        // add_document.
        let r = site.call(
            me,
            "POST",
            &format!("/api/commission/agreements/{a}/documents"),
            &json!({"title": "Letter", "media_type": "text/plain", "confidential": false,
                "content_base64": base64_of(&format!("letter {role}"))})
            .to_string(),
        );
        check(Action::AddDocument, Whose::Other, r.status, &r.body);

        // open_review (of another fresh agreement).
        let b = fresh_agreement(&site, &sec, &mut n);
        let r = site.call(
            me,
            "POST",
            "/api/commission/reviews",
            &json!({"agreement": b}).to_string(),
        );
        check(Action::OpenReview, Whose::Other, r.status, &r.body);

        // attest, own: a pending item, attested as oneself.
        let r = step(
            &site,
            me,
            &review,
            json!({"action": "attest", "item": "public_disclosure", "met": true, "finding": "Disclosed."}),
        );
        check(Action::Attest, Whose::Own, r.status, &r.body);
        // attest, other: an item another reviewer attested.
        let r2 = step(
            &site,
            Some(&clients["rev2"]),
            &review,
            json!({"action": "attest", "item": "environmental_review", "met": true, "finding": "EIA seen."}),
        );
        assert_eq!(r2.status, 200, "{}", r2.body);
        let r = step(
            &site,
            me,
            &review,
            json!({"action": "attest", "item": "environmental_review", "met": false, "finding": "Overwritten."}),
        );
        check(Action::Attest, Whose::Other, r.status, &r.body);

        // comment (always as oneself).
        let r = step(
            &site,
            me,
            &review,
            json!({"action": "comment", "body": format!("A comment by {role}.")}),
        );
        check(Action::Comment, Whose::Own, r.status, &r.body);

        // vote (always one's own).
        let r = step(
            &site,
            me,
            &review,
            json!({"action": "vote", "vote": "approve"}),
        );
        check(Action::Vote, Whose::Own, r.status, &r.body);

        // decide: a review ready for a decision (all attested, a quorum approving).
        let c = fresh_agreement(&site, &sec, &mut n);
        let ready = open_review(&site, &sec, &c);
        ready_to_decide(&site, &clients, &ready);
        let r = step(
            &site,
            me,
            &ready,
            json!({"action": "decide", "outcome": "approve", "reasons": "Serves the national interest."}),
        );
        check(Action::Decide, Whose::Other, r.status, &r.body);

        // publish: a decided review.
        let d = fresh_agreement(&site, &sec, &mut n);
        let decided = open_review(&site, &sec, &d);
        ready_to_decide(&site, &clients, &decided);
        let r = step(
            &site,
            Some(&clients["gov"]),
            &decided,
            json!({"action": "decide", "outcome": "approve", "reasons": "Fine."}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let r = step(&site, me, &decided, json!({"action": "publish"}));
        check(Action::Publish, Whose::Other, r.status, &r.body);

        // manage_accounts.
        n += 1;
        let r = site.call(
            me,
            "POST",
            "/api/commission/accounts",
            &json!({"username": format!("new{n}"), "display_name": "New", "role": "reviewer",
                "password": "a password long enough"})
            .to_string(),
        );
        check(Action::ManageAccounts, Whose::Other, r.status, &r.body);

        // change_password, other (rev2's), then own (which ends the session).
        let r = site.call(
            me,
            "POST",
            "/api/commission/accounts/rev2/password",
            &json!({"password": PASSWORD}).to_string(),
        );
        check(Action::ChangePassword, Whose::Other, r.status, &r.body);
        if ok(r.status) {
            clients.insert("rev2", site.sign_in("rev2", PASSWORD));
        }
        let own = user.unwrap_or("public");
        let r = site.call(
            me,
            "POST",
            &format!("/api/commission/accounts/{own}/password"),
            &json!({"password": PASSWORD}).to_string(),
        );
        check(Action::ChangePassword, Whose::Own, r.status, &r.body);
        if let Some(u) = user {
            clients.insert(u, site.sign_in(u, PASSWORD));
        }
    }
    // 5 roles × 15 cases; comment and vote "other" cannot be expressed through the API (the
    // author and the voter are always the signed-in account), the registry's tests cover
    // `authorize` for them.
    assert_eq!(checked, 5 * 15);
    site.verify();
}

fn the_public_never_reads_a_draft_a_vote_before_publication_or_a_confidential_annex(site: Site) {
    let c: std::collections::BTreeMap<&str, Client> = ["sec", "gov", "ind", "rev"]
        .into_iter()
        .map(|u| (u, site.sign_in(u, PASSWORD)))
        .collect();
    let review = open_review(&site, &c["sec"], "perak_mcre_chinese_partner");
    let doc = site.call(
        Some(&c["sec"]),
        "POST",
        "/api/commission/agreements/perak_mcre_chinese_partner/documents",
        &json!({"title": "Confidential offtake schedule", "media_type": "text/plain", "confidential": true,
            "content_base64": base64_of("tonnes by month")}).to_string(),
    );
    let secret = common::json(&doc)["sha256"].as_str().unwrap().to_string();
    let public_doc = site.call(
        Some(&c["sec"]),
        "POST",
        "/api/commission/agreements/perak_mcre_chinese_partner/documents",
        &json!({"title": "Summary", "media_type": "text/plain", "confidential": false,
            "content_base64": base64_of("public summary")})
        .to_string(),
    );
    let summary = common::json(&public_doc)["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    ready_to_decide(&site, &c, &review);
    let everything_public = |site: &Site| -> String {
        let mut seen = String::new();
        for path in [
            "/api/commission/reviews".to_string(),
            format!("/api/commission/reviews/{review}"),
            "/api/commission/agreements".to_string(),
            format!("/api/commission/documents/{secret}"),
            format!("/api/commission/documents/{summary}"),
            "/commission".to_string(),
            format!("/commission/reviews/{review}"),
        ] {
            let r = site.call(None, "GET", &path, "");
            let body = if r.status == 200 {
                r.body
            } else {
                String::new()
            };
            seen.push_str(&format!("{} {}\n", r.status, body));
        }
        seen
    };
    // A draft with votes: nothing of it is public.
    let seen = everything_public(&site);
    for secret_text in [
        review.as_str(),
        "approve",
        "tonnes by month",
        "public summary",
        "Confidential offtake",
    ] {
        assert!(
            !seen.contains(secret_text),
            "the public saw {secret_text:?} of a draft:\n{seen}"
        );
    }
    // Decided but not published: still nothing.
    let r = step(
        &site,
        Some(&c["gov"]),
        &review,
        json!({"action": "decide", "outcome": "approve", "reasons": "Reasons."}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = everything_public(&site);
    assert!(!seen.contains(&review), "{seen}");
    // Published: the decision, the votes and the public document, never the annex.
    let r = step(
        &site,
        Some(&c["sec"]),
        &review,
        json!({"action": "publish"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let seen = everything_public(&site);
    assert!(seen.contains(&review));
    assert!(
        seen.contains("\"vote\":\"approve\""),
        "votes are public once published"
    );
    assert!(seen.contains("public summary"));
    assert!(
        !seen.contains("tonnes by month") && !seen.contains("Confidential offtake"),
        "{seen}"
    );
    assert!(seen.contains("\"withheld_documents\":1"));
    site.verify();
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn hostile_requests_are_refused_and_change_nothing(site: Site) {
    let sec = site.sign_in("sec", PASSWORD);
    let review = open_review(&site, &sec, "kelantan_lynas_mou_2025");
    let before = site.log_size();
    let path = format!("/api/commission/reviews/{review}/steps");
    let comment = json!({"action": "comment", "body": "x"}).to_string();
    // No CSRF token.
    let r = site.raw(Some(&sec), "POST", &path, &comment, false, None);
    assert_eq!(r.status, 403, "{}", r.body);
    // A wrong one.
    let mut forged = sec.clone();
    forged.csrf = "A".repeat(43);
    let r = site.call(Some(&forged), "POST", &path, &comment);
    assert_eq!(r.status, 403, "{}", r.body);
    // From a foreign origin, token and all.
    let r = site.raw(
        Some(&sec),
        "POST",
        &path,
        &comment,
        true,
        Some("https://evil.example"),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Not signed in.
    let r = site.call(None, "POST", &path, &comment);
    assert_eq!(r.status, 401, "{}", r.body);
    // Oversized and malformed bodies.
    let big = json!({"action": "comment", "body": "x".repeat(200_000)}).to_string();
    let r = site.call(Some(&sec), "POST", &path, &big);
    assert_eq!(r.status, 413, "{}", r.body);
    let r = site.call(
        Some(&sec),
        "POST",
        &path,
        &json!({"action": "comment", "body": "x".repeat(10_001)}).to_string(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    for bad in [
        "{",
        "[]",
        "{\"action\": \"launch\"}",
        "{\"action\": \"comment\"}",
        "{\"action\": \"comment\", \"body\": 5}",
        "\u{0}",
    ] {
        let r = site.call(Some(&sec), "POST", &path, bad);
        assert!(
            [400, 415, 422].contains(&r.status),
            "{bad:?}: {} {}",
            r.status,
            r.body
        );
    }
    // A comment that is only white space.
    let r = site.call(
        Some(&sec),
        "POST",
        &path,
        &json!({"action": "comment", "body": " \n "}).to_string(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(site.log_size(), before, "nothing was written");
    site.verify();
}

fn script_in_every_text_field_is_rendered_as_text(site: Site) {
    let c: std::collections::BTreeMap<&str, Client> = ["admin", "sec", "gov", "ind", "rev"]
        .into_iter()
        .map(|u| (u, site.sign_in(u, PASSWORD)))
        .collect();
    let x = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>";
    let r = site.call(
        Some(&c["sec"]),
        "POST",
        "/api/commission/agreements/releases",
        &json!({"ocid": "lodestone-agreement-xss_case", "id": "r1", "date": "2026", "tag": ["planning"],
            "title": x, "summary": x, "status": "proposed",
            "clauses": [{"id": "c1", "category": "other", "text": x}]}).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let review = open_review(&site, &c["sec"], "xss_case");
    for item in [
        "public_disclosure",
        "environmental_review",
        "counterparty_due_diligence",
        "local_workforce_terms",
    ] {
        let r = step(
            &site,
            Some(&c["rev"]),
            &review,
            json!({"action": "attest", "item": item, "met": true, "finding": x}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = step(
        &site,
        Some(&c["gov"]),
        &review,
        json!({"action": "comment", "body": x}),
    );
    assert_eq!(r.status, 200);
    for v in ["gov", "ind"] {
        let r = step(
            &site,
            Some(&c[v]),
            &review,
            json!({"action": "vote", "vote": "approve_with_conditions", "reason": x}),
        );
        assert_eq!(r.status, 200);
    }
    let r = step(
        &site,
        Some(&c["gov"]),
        &review,
        json!({"action": "decide", "outcome": "approve_with_conditions", "reasons": x, "conditions": x}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = site.call(
        Some(&c["admin"]),
        "POST",
        "/api/commission/accounts",
        &json!({"username": "xss", "display_name": x, "role": "reviewer", "password": "long enough password"}).to_string(),
    );
    assert_eq!(r.status, 201);
    for page in [
        format!("/commission/reviews/{review}"),
        "/commission".to_string(),
        "/commission/agreements/xss_case".to_string(),
        "/commission/accounts".to_string(),
    ] {
        let r = site.call(Some(&c["sec"]), "GET", &page, "");
        assert_eq!(r.status, 200);
        assert!(
            !r.body.contains("<script>alert") && !r.body.contains("<img src=x"),
            "{page} renders markup from input"
        );
        assert!(common::only_served_scripts(&r.body));
    }
    let page = site
        .call(
            Some(&c["sec"]),
            "GET",
            &format!("/commission/reviews/{review}"),
            "",
        )
        .body;
    let escaped = page.matches("&#60;script&#62;alert(1)").count();
    assert!(
        escaped >= 12,
        "every field is shown, escaped: {escaped} times\n{page}"
    );
}

fn sign_in_issues_a_fresh_session_and_resists_guessing(site: Site) {
    // Session fixation: a token chosen by someone else before sign-in is neither accepted nor
    // kept.
    let planted = "Q".repeat(43);
    let r = site.raw_with_cookie(
        &planted,
        "POST",
        "/api/commission/session",
        &json!({"username": "rev", "password": PASSWORD}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let issued = site::session_cookie(&r).unwrap();
    assert_ne!(issued, planted);
    let me = site.raw_with_cookie(
        &planted,
        "GET",
        "/api/commission/reviews/perak_mcre_chinese_partner-r1",
        "",
    );
    assert_eq!(me.status, 404, "the planted token is nobody");
    // Two sign-ins: two different sessions.
    let a = site.sign_in("rev", PASSWORD);
    let b = site.sign_in("rev", PASSWORD);
    assert_ne!(a.cookie, b.cookie);
    assert_ne!(a.csrf, b.csrf);
    // Brute force: after five wrong passwords the account is locked for a while, even for the
    // right password; other accounts are unaffected.
    for _ in 0..5 {
        let r = site.call(
            None,
            "POST",
            "/api/commission/session",
            &json!({"username": "gov", "password": "guess guess guess"}).to_string(),
        );
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let r = site.call(
        None,
        "POST",
        "/api/commission/session",
        &json!({"username": "gov", "password": PASSWORD}).to_string(),
    );
    assert_eq!(r.status, 429, "{}", r.body);
    let r = site.call(
        None,
        "POST",
        "/api/commission/session",
        &json!({"username": "ind", "password": PASSWORD}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The cookie is HttpOnly and SameSite=Strict.
    assert!(
        r.raw_headers.contains("HttpOnly; SameSite=Strict"),
        "{}",
        r.raw_headers
    );
    // Signing out ends the session.
    let c = site.sign_in("sec", PASSWORD);
    let r = site.call(Some(&c), "DELETE", "/api/commission/session", "");
    assert_eq!(r.status, 204);
    let r = site.call(
        Some(&c),
        "POST",
        "/api/commission/reviews",
        &json!({"agreement": "us_malaysia_mou_2025"}).to_string(),
    );
    assert_eq!(r.status, 401, "{}", r.body);
}

fn the_portal_proves_the_log_only_grew(site: Site) {
    let sec = site.sign_in("sec", PASSWORD);
    let held = site
        .call(None, "GET", "/api/commission/checkpoint", "")
        .body;
    let held_size: u64 = held.lines().nth(1).unwrap().parse().unwrap();
    open_review(&site, &sec, "us_malaysia_mou_2025");
    let r = site.call(
        None,
        "GET",
        &format!("/api/commission/consistency?from={held_size}"),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = common::json(&r);
    let key = lodestone_registry::note::NoteVerifier::parse(v["key"].as_str().unwrap()).unwrap();
    let old = lodestone_registry::note::Checkpoint::open(&held, &key).unwrap();
    let new = lodestone_registry::note::Checkpoint::open(v["checkpoint"].as_str().unwrap(), &key)
        .unwrap();
    assert!(new.size > old.size);
    let proof: Vec<_> = v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| lodestone_registry::merkle::Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    lodestone_registry::merkle::verify_consistency(
        old.size, new.size, &proof, &old.root, &new.root,
    )
    .unwrap();
    let r = site.call(None, "GET", "/api/commission/consistency?from=999999", "");
    assert_eq!(r.status, 400);
    // Every entry is in the signed tree: its audit path leads to the checkpoint's head.
    for index in [0, new.size / 2, new.size - 1] {
        let r = site.call(
            None,
            "GET",
            &format!("/api/commission/inclusion?index={index}"),
            "",
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let v = common::json(&r);
        let cp =
            lodestone_registry::note::Checkpoint::open(v["checkpoint"].as_str().unwrap(), &key)
                .unwrap();
        let hash = |s: &serde_json::Value| {
            lodestone_registry::merkle::Hash::from_hex(s.as_str().unwrap()).unwrap()
        };
        let path: Vec<_> = v["proof"].as_array().unwrap().iter().map(hash).collect();
        lodestone_registry::merkle::verify_inclusion(
            index,
            cp.size,
            &hash(&v["leaf_hash"]),
            &path,
            &cp.root,
        )
        .unwrap();
    }
    let r = site.call(
        None,
        "GET",
        &format!("/api/commission/inclusion?index={}", new.size + 5),
        "",
    );
    assert_eq!(r.status, 400);
}

fn every_commission_route_answers_with_its_media_type_and_security_headers(site: Site) {
    let sec = site.sign_in("sec", PASSWORD);
    let review = open_review(&site, &sec, "lynas_jslink_mou_2025");
    let doc = site.call(
        Some(&sec),
        "POST",
        "/api/commission/agreements/lynas_jslink_mou_2025/documents",
        &json!({"title": "MoU", "media_type": "text/plain", "confidential": false,
            "content_base64": base64_of("memorandum")})
        .to_string(),
    );
    let sha = common::json(&doc)["sha256"].as_str().unwrap().to_string();
    let mut n = 0;
    for route in lodestone_server::ROUTES
        .iter()
        .filter(|r| r.method == "get" && r.path.contains("commission"))
    {
        let path = route
            .path
            .replace("agreements/{id}", "agreements/lynas_jslink_mou_2025")
            .replace("{id}", &review)
            .replace("{sha256}", &sha)
            .replace("/consistency", "/consistency?from=1")
            .replace("/inclusion", "/inclusion?index=0");
        let r = site.call(Some(&sec), "GET", &path, "");
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert!(
            r.headers
                .contains(&format!("content-type: {}", route.media))
                || path.contains("/documents/"),
            "{path}: {}",
            r.headers
        );
        for h in [
            "content-security-policy: default-src 'none'",
            "x-content-type-options: nosniff",
            "x-frame-options: deny",
        ] {
            assert!(r.headers.contains(h), "{path} lacks {h}");
        }
        n += 1;
    }
    assert_eq!(n, 13);
}
