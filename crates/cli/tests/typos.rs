//! A typo in any vocabulary word or id is an error that says what would be valid — in the CLI
//! (exit status 2), the API (400 or 404 with the valid values) and the pages' forms (the form
//! shows the problem) — never an empty table.

mod common;

use common::*;

/// (what, CLI arguments, API path, page path, the suggestion every rendering must make). Where a
/// page has no field for the word, its form is tried with a typo of a field it has (the
/// suggestion is then that field's: after `|`).
const CASES: &[(&str, &[&str], &str, &str, &str)] = &[
    (
        "stage",
        &["risk", "concentration", "--stage", "seperation"],
        "/api/risk/concentration?stage=seperation",
        "/explore/risk?stage=seperation",
        "separation",
    ),
    (
        "basis",
        &["risk", "concentration", "--basis", "capcity"],
        "/api/risk/concentration?basis=capcity",
        "/explore/risk?basis=capcity",
        "capacity",
    ),
    (
        "scope",
        &["risk", "concentration", "--scope", "outside-chna"],
        "/api/risk/concentration?scope=outside-chna",
        "/explore/risk?stage=seperaton",
        "outside_china|separation",
    ),
    (
        "view",
        &["risk", "concentration", "--view", "ownershp"],
        "/api/risk/concentration?view=ownershp",
        "/explore/risk?basis=flw",
        "ownership|flow",
    ),
    (
        "stage of receipts",
        &[
            "risk",
            "dependency",
            "--country",
            "JPN",
            "--stage",
            "magnets",
        ],
        "/api/risk/dependency?country=JPN&stage=magnets",
        "/explore/risk?country=JPN&stage=magnets",
        "magnet",
    ),
    (
        "custody",
        &[
            "rules",
            "check",
            "--node",
            "jl_mag/sintered_ndfeb",
            "--destination",
            "USA",
            "--custody",
            "segregate",
        ],
        "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&custody=segregate",
        "/explore/rules?node=jl_mag/sintered_ndfeb&destination=USA&custody=segregate",
        "segregated",
    ),
    (
        "tag family",
        &["trace", "--node", "JPN", "--tag", "seperated:*"],
        "/api/trace?node=JPN&tag=seperated:*",
        "/explore/trace?node=JPN&tag=seperated:*",
        "separated",
    ),
    (
        "element",
        &[
            "trace",
            "--node",
            "jl_mag/sintered_ndfeb",
            "--element",
            "dyy",
        ],
        "/api/trace?node=jl_mag/sintered_ndfeb&element=dyy",
        "/explore/trace?node=jl_mag/sintered_ndfeb&element=dyy",
        "dy",
    ),
    (
        "country",
        &["risk", "dependency", "--country", "Japn"],
        "/api/risk/dependency?country=Japn",
        "/explore/risk?country=Japn",
        "JPN",
    ),
    (
        "destination",
        &[
            "rules",
            "check",
            "--node",
            "jl_mag/sintered_ndfeb",
            "--destination",
            "Germny",
        ],
        "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=Germny",
        "/explore/rules?node=jl_mag/sintered_ndfeb&destination=Germny",
        "Germany",
    ),
    (
        "material",
        &["risk", "concentration", "--material", "ndpr_oxid"],
        "/api/risk/concentration?material=ndpr_oxid",
        "/explore/map?material=ndrp",
        "ndpr",
    ),
    (
        "product node",
        &[
            "rules",
            "timeline",
            "--node",
            "jl_mag/sintered_ndfe",
            "--destination",
            "USA",
        ],
        "/api/rules/timeline?node=jl_mag/sintered_ndfe&destination=USA",
        "/explore/trace?node=jl_mag/sintered_ndfe",
        "jl_mag/sintered_ndfeb",
    ),
    (
        "year",
        &["risk", "dependency", "--country", "JPN", "--year", "2042"],
        "/api/risk/dependency?country=JPN&year=2042",
        "/explore/trace?node=JPN&year=2042",
        "2024",
    ),
    (
        "format",
        &["rules", "list", "--format", "jsn"],
        "/api/rules?format=jsn",
        "/explore/sankey?year=1999",
        "json|2024",
    ),
];

#[test]
fn every_typo_is_an_error_naming_what_is_valid_everywhere() {
    for (what, args, api, page, wants) in CASES {
        let (want, page_want) = wants.split_once('|').unwrap_or((wants, wants));
        let out = lodestone(&repo_root(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "CLI {what}: {err}");
        assert!(err.contains(want), "CLI {what}: {err}");
        assert!(out.stdout.is_empty(), "CLI {what}: printed a table");

        let (status, body) = http_get(api);
        assert!(
            status == 400 || status == 404,
            "API {what}: {status} {body}"
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let said = format!("{} {}", v["error"]["message"], v["error"]["valid"]);
        assert!(said.contains(want), "API {what}: {said}");

        let (status, body) = http_get(page);
        assert!(status == 400 || status == 404, "page {what}: {status}");
        assert!(
            body.contains("role=\"alert\""),
            "page {what}: no problem shown"
        );
        assert!(
            body.contains(page_want),
            "page {what}: does not name {page_want}"
        );
    }
}
