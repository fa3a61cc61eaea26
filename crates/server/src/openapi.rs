//! The route table and the OpenAPI document generated from it and from the views' types: each
//! API route names its typed query (its fields become typed parameters: enums list their words,
//! years are integers) and its response view (a schema under `components/schemas`).

use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

/// The schema of a type, with a generator (responses share one, so their types are listed once).
type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One route, for the router's tests and the OpenAPI document alike.
pub struct Route {
    /// Path with `{param}` placeholders.
    pub path: &'static str,
    /// HTTP method: `get`, `post` or `delete`.
    pub method: &'static str,
    /// What it returns.
    pub summary: &'static str,
    /// Path parameters: (name, description).
    pub path_params: &'static [(&'static str, &'static str)],
    /// The typed query whose fields are the query parameters.
    pub query: Option<fn() -> Schema>,
    /// The response body's type (JSON routes).
    pub response: Option<SchemaFn>,
    /// Whether `format=csv|xlsx|table` gives the view's rows as a download.
    pub downloads: bool,
    /// Response codes and what they mean.
    pub responses: &'static [(u16, &'static str)],
    /// Media type of a successful response.
    pub media: &'static str,
}

/// The inline schema of a query type (its fields are parameters, so nothing is referenced).
fn query<T: JsonSchema>() -> Schema {
    SchemaSettings::openapi3()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>()
}

/// A referenced schema of a response type.
fn response<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

use crate::api::{BriefPathQuery, DependencyPathQuery, Health, TableInfo};
use lodestone_world::views::chain::{MapQuery, MapView, SankeyQuery, SankeyView};
use lodestone_world::views::reconcile::{ReconcileQuery, ReconcileView};
use lodestone_world::views::risk::{
    BenchmarkQuery, BenchmarkView, ConcentrationQuery, ConcentrationView, CriticalQuery,
    CriticalView, DependencyQuery, DependencyView,
};
use lodestone_world::views::rules::{
    RulesQuery, RulesView, ScreeningQuery, ScreeningView, TimelineQuery, TimelineView,
};
use lodestone_world::views::search::{SearchQuery, SearchView};
use lodestone_world::views::trace::{TraceQuery, TraceView};

const JSON: &str = "application/json";
const HTML: &str = "text/html";
const TEXT: &str = "text/plain";
const BAD: (u16, &str) = (
    400,
    "a parameter is unknown or malformed, or a word is not in its vocabulary (the error names what is valid)",
);
const UNKNOWN: (u16, &str) = (
    404,
    "an id names nothing in the dataset (the error names the closest ids)",
);

macro_rules! api {
    ($path:expr, $summary:expr, $query:ty, $response:ty, $downloads:expr) => {
        Route {
            path: $path,
            method: "get",
            summary: $summary,
            path_params: &[],
            query: Some(query::<$query>),
            response: Some(response::<$response>),
            downloads: $downloads,
            responses: &[(200, "the view"), BAD, UNKNOWN],
            media: JSON,
        }
    };
}

macro_rules! page {
    ($path:expr, $summary:expr) => {
        page!($path, $summary, &[])
    };
    ($path:expr, $summary:expr, $params:expr) => {
        Route {
            path: $path,
            method: "get",
            summary: $summary,
            path_params: $params,
            query: None,
            response: None,
            downloads: false,
            responses: &[
                (200, "HTML page"),
                (400, "HTML page with the problem on the form"),
                (404, "HTML page naming what exists"),
            ],
            media: HTML,
        }
    };
}

/// Every route.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/api/health",
        method: "get",
        summary: "Server status and the dataset's tables with row counts",
        path_params: &[],
        query: None,
        response: Some(response::<Health>),
        downloads: false,
        responses: &[(200, "status")],
        media: JSON,
    },
    Route {
        path: "/api/tables",
        method: "get",
        summary: "Every table of the schema: name, file, description, rows",
        path_params: &[],
        query: None,
        response: Some(response::<Vec<TableInfo>>),
        downloads: false,
        responses: &[(200, "tables")],
        media: JSON,
    },
    Route {
        path: "/api/tables/{kind}",
        method: "get",
        summary: "All records of a table, keyed by the schema's column names (see docs/dataset.md)",
        path_params: &[("kind", "table name, e.g. facilities")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "array of records"), (404, "unknown table")],
        media: JSON,
    },
    Route {
        path: "/api/tables/{kind}/{id}",
        method: "get",
        summary: "One record with its sources and the records that refer to it",
        path_params: &[("kind", "table name"), ("id", "record id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "record, sources, referenced_by"), UNKNOWN],
        media: JSON,
    },
    Route {
        path: "/api/check",
        method: "get",
        summary: "Validation report of the dataset",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "errors and warnings")],
        media: JSON,
    },
    api!(
        "/api/search",
        "Countries, groups, companies, facilities, materials and rules whose name or id contains the words",
        SearchQuery,
        SearchView,
        true
    ),
    api!(
        "/api/rules",
        "Trade rules and their state on a date (since: the first day of that state)",
        RulesQuery,
        RulesView,
        true
    ),
    api!(
        "/api/rules/check",
        "Screen a product node (or every product) against every rule: a one-line verdict, each determination with its state, shares, explanation, deciding paths and sources, and the timeline of when the answer changes",
        ScreeningQuery,
        ScreeningView,
        true
    ),
    api!(
        "/api/rules/timeline",
        "When a product's determinations change, and why, under one or both custody models",
        TimelineQuery,
        TimelineView,
        false
    ),
    api!(
        "/api/trace",
        "Where the content of a node's output comes from: per tag the content per t REO of output and in total, with the supply paths behind the largest share",
        TraceQuery,
        TraceView,
        true
    ),
    api!(
        "/api/risk/concentration",
        "Supply concentration per material and stage: shares by supplier, HHI (0–10,000), top-1 and top-3, with sources and what the shares are shares of",
        ConcentrationQuery,
        ConcentrationView,
        true
    ),
    api!(
        "/api/risk/dependency",
        "Direct against traced dependency of a country or group on each origin, per traced stage, with sources and a headline",
        DependencyQuery,
        DependencyView,
        true
    ),
    Route {
        path: "/api/risk/dependency/{country}",
        method: "get",
        summary: "The same as /api/risk/dependency, with the country or group in the path",
        path_params: &[(
            "country",
            "ISO3 code or name (e.g. MYS, Japan) or group id (e.g. eu)",
        )],
        query: Some(query::<DependencyPathQuery>),
        response: Some(response::<DependencyView>),
        downloads: true,
        responses: &[(200, "the view"), BAD, UNKNOWN],
        media: JSON,
    },
    api!(
        "/api/risk/benchmarks",
        "Benchmark rules (EU CRMA) measured on a bloc's traced consumption, each stage over the receipts of materials that have passed it",
        BenchmarkQuery,
        BenchmarkView,
        true
    ),
    api!(
        "/api/risk/critical",
        "Facilities a country's supply passes through, and the supply lost if one stops, with and without re-routing",
        CriticalQuery,
        CriticalView,
        true
    ),
    api!(
        "/api/reconcile",
        "The year's flows fitted to the published figures (USGS, IEA, company reports, customs) and the facility balances by weighted least squares: each figure against the flows, conflicts named with both values",
        ReconcileQuery,
        ReconcileView,
        true
    ),
    api!(
        "/api/map",
        "Cross-border shipments of a year by country pair (t REO), with the stages and materials shipped and their sources",
        MapQuery,
        MapView,
        true
    ),
    Route {
        path: "/api/briefs/{id}",
        method: "get",
        summary: "The brief of a country or group as data: its place in the chain, concentration, dependency, single points of failure, the rules that bite on its products, its agreements, each with sources",
        path_params: &[("id", "ISO3 code, country name or group id")],
        query: Some(query::<BriefPathQuery>),
        response: Some(response::<lodestone_world::views::brief::BriefView>),
        downloads: false,
        responses: &[(200, "the view"), BAD, UNKNOWN],
        media: JSON,
    },
    api!(
        "/api/sankey",
        "The chain of a year as a layered flow diagram: nodes per (country, stage), links with t REO, materials and sources",
        SankeyQuery,
        SankeyView,
        false
    ),
    Route {
        path: "/api/simulations",
        method: "post",
        summary: "Start a scenario batch as a job. Body: {\"scenario\": NAME} (a bundled scenario) or {\"scenario_toml\": TEXT}, optional \"runs\" (default 1000, at most 20000) and \"seed\". One job runs at a time",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (202, "the job, with its URL (also in Location)"),
            (400, "malformed body or scenario (located messages)"),
            (404, "unknown bundled scenario"),
            (429, "a job is running"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/simulations",
        method: "get",
        summary: "The remembered jobs and the bundled scenarios",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "jobs and scenarios")],
        media: JSON,
    },
    Route {
        path: "/api/simulations/{job}",
        method: "get",
        summary: "A job's status and progress; when done, per country the peak and total shortfall, its p95, months to recovery and the probability of exceeding the stated level",
        path_params: &[("job", "job id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "the job"), (404, "unknown job")],
        media: JSON,
    },
    Route {
        path: "/api/simulations/{job}/results",
        method: "get",
        summary: "A finished job's results: per series the peak and total shortfall, its p95, months to recovery, the probability of exceeding the stated level, and the monthly bands; as CSV or XLSX the table of series",
        path_params: &[("job", "job id")],
        query: None,
        response: Some(response::<lodestone_world::views::scenario::ScenarioResults>),
        downloads: true,
        responses: &[
            (200, "the results"),
            (404, "unknown job"),
            (409, "the job has no results (yet)"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/simulations/compare",
        method: "get",
        summary: "Finished jobs side by side, country by country: mean total shortfall, mean peak shortfall share and the probability of exceeding each job's level",
        path_params: &[],
        query: Some(query::<crate::jobs::CompareQuery>),
        response: Some(response::<lodestone_world::views::scenario::ComparisonView>),
        downloads: false,
        responses: &[
            (200, "the comparison"),
            (400, "fewer than two ids"),
            (404, "unknown job"),
            (409, "a job has no results (yet)"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/simulations/{job}",
        method: "delete",
        summary: "Cancel a running job (its threads stop after their current run)",
        path_params: &[("job", "job id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (202, "cancelling"),
            (404, "unknown job"),
            (409, "the job has already ended"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/openapi.json",
        method: "get",
        summary: "This API's OpenAPI 3.0 document",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "OpenAPI document")],
        media: JSON,
    },
    page!(
        "/",
        "Overview: who leads each stage, the map, the explorers, and the briefs for countries and groups"
    ),
    page!(
        "/search",
        "Page: search by name or id (the /api/search form)"
    ),
    page!("/rules", "Page: every rule and its state on a date"),
    page!("/records", "Page: every table of the dataset"),
    page!(
        "/records/{kind}",
        "Page: the records of a table, each linked to its page",
        &[("kind", "table name, e.g. facilities")]
    ),
    page!(
        "/records/{kind}/{id}",
        "Page: one record — every field with its unit and description, references as links, its sources, and the records that refer to it",
        &[("kind", "table name"), ("id", "record id")]
    ),
    page!(
        "/explore/risk",
        "Page: concentration of a stage (world and outside China, over the years), a country's dependency at that stage, and the benchmarks"
    ),
    page!(
        "/explore/map",
        "Page: world map of the flows between countries, with the table of its routes"
    ),
    page!("/explore/sankey", "Page: the chain as a Sankey diagram"),
    page!(
        "/explore/reconcile",
        "Page: a year's published figures against the flows, conflicts named with both values"
    ),
    page!(
        "/explore/trace",
        "Page: trace explorer (the /api/trace form)"
    ),
    page!(
        "/explore/rules",
        "Page: rule screening (the /api/rules/check form)"
    ),
    page!(
        "/explore/simulate",
        "Page: scenario runner — the bundled scenarios, a form to run one, the recent jobs"
    ),
    Route {
        path: "/explore/simulate",
        method: "post",
        summary: "Form: start a job (scenario, runs) and go to its page (303)",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (303, "to the job page"),
            (400, "HTML page with the problem"),
            (429, "HTML page: a job is running"),
        ],
        media: HTML,
    },
    page!(
        "/explore/simulate/{job}",
        "Page: a job's progress (reloading every second while it runs), cancel button, results",
        &[("job", "job id")]
    ),
    Route {
        path: "/explore/simulate/{job}/cancel",
        method: "post",
        summary: "Form: cancel a job and return to its page (303)",
        path_params: &[("job", "job id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(303, "to the job page")],
        media: HTML,
    },
    page!(
        "/briefs/{id}",
        "The self-contained brief of a country (ISO3 code or name) or a group (eu, asean, g7, quad, …)",
        &[("id", "ISO3 code, country name or group id")]
    ),
    Route {
        path: "/assets/{name}",
        method: "get",
        summary: "Embedded static assets: the style sheet, the chart scripts and the vendored ECharts, topojson-client and Natural Earth atlas",
        path_params: &[("name", "asset file name")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "the file"), (404, "unknown asset")],
        media: "text/javascript",
    },
    Route {
        path: "/api/commission/reviews",
        method: "get",
        summary: "Reviews the caller may see: every review for the commission's staff, published ones for the public",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "review lines")],
        media: JSON,
    },
    Route {
        path: "/api/commission/reviews",
        method: "post",
        summary: "Open a review of an agreement (secretariat); its impact is computed from the agreement's effects. Body: {\"agreement\": ID}. Needs the session cookie and x-csrf-token",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (201, "the review's id (also in Location)"),
            (401, "not signed in"),
            (403, "the matrix does not allow it, or no CSRF token"),
            (404, "unknown agreement"),
            (409, "a review of it is open"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/commission/reviews/{id}",
        method: "get",
        summary: "A review as the caller may see it (the public: published reviews only, without deliberations or confidential annexes)",
        path_params: &[("id", "review id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (200, "the review"),
            (404, "no such review visible to the caller"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/commission/reviews/{id}/steps",
        method: "post",
        summary: "One step of a review. Body: {\"action\": \"attest\", \"item\", \"met\", \"finding\"} | {\"action\": \"comment\", \"body\"} | {\"action\": \"vote\", \"vote\", \"reason\"?} | {\"action\": \"decide\", \"outcome\", \"reasons\", \"conditions\"?} | {\"action\": \"publish\"}",
        path_params: &[("id", "review id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (200, "the review after the step"),
            (400, "malformed step"),
            (401, "not signed in"),
            (403, "the matrix does not allow it"),
            (
                409,
                "the review's state does not allow it (quorum, majority, pending items)",
            ),
        ],
        media: JSON,
    },
    Route {
        path: "/api/commission/agreements",
        method: "get",
        summary: "Agreements as OCDS-style records (compiled release, number of releases, status history): all for staff, those with a published review for the public",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "records")],
        media: JSON,
    },
    Route {
        path: "/api/commission/agreements/releases",
        method: "post",
        summary: "Register a release of an agreement (secretariat): an immutable, dated OCDS-style release; the record is compiled from all of them",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (201, "the log index"),
            (
                400,
                "malformed release or unknown vocabulary (the error names the word meant)",
            ),
            (409, "a release with this id exists"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/commission/agreements/{id}/documents",
        method: "post",
        summary: "Attach a document (secretariat). Body: {\"title\", \"media_type\", \"confidential\", \"content_base64\"}; identified by its SHA-256",
        path_params: &[("id", "agreement id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (201, "the document's SHA-256"),
            (400, "malformed"),
            (413, "over 8 MiB"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/commission/documents/{sha256}",
        method: "get",
        summary: "A document's bytes, as an attachment, if the caller may read it (confidential annexes: commission staff only)",
        path_params: &[("sha256", "the document's SHA-256")],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (200, "the bytes"),
            (404, "no such document visible to the caller"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/commission/accounts",
        method: "get",
        summary: "Accounts (administrators and staff)",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "accounts"), (403, "not allowed")],
        media: JSON,
    },
    Route {
        path: "/api/commission/accounts",
        method: "post",
        summary: "Create an account (administrators). Body: {\"username\", \"display_name\", \"role\", \"constituency\"?, \"password\"}",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (201, "created"),
            (400, "malformed"),
            (403, "not allowed"),
            (409, "exists"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/commission/accounts/{username}/password",
        method: "post",
        summary: "Change a password: one's own, or (administrators) anyone's. Body: {\"password\"}; ends the account's sessions",
        path_params: &[("username", "account")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(204, "changed"), (403, "not allowed")],
        media: JSON,
    },
    Route {
        path: "/api/commission/session",
        method: "post",
        summary: "Sign in. Body: {\"username\", \"password\"}; sets the session cookie and answers the CSRF token. Five failures in 15 minutes lock the account for a while",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (200, "username, role and csrf"),
            (401, "wrong username or password"),
            (429, "too many failures"),
        ],
        media: JSON,
    },
    Route {
        path: "/api/commission/session",
        method: "delete",
        summary: "Sign out",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(204, "signed out"), (401, "not signed in")],
        media: JSON,
    },
    Route {
        path: "/api/commission/checkpoint",
        method: "get",
        summary: "The log's latest signed checkpoint (C2SP tlog-checkpoint, Ed25519), as text",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "the signed note")],
        media: TEXT,
    },
    Route {
        path: "/api/commission/inclusion",
        method: "get",
        summary: "RFC 6962 inclusion proof (audit path) of log entry `index` in the latest tree, with its leaf hash, the latest checkpoint and the verifier key. Query: index=N",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "the proof"), (400, "index outside the log")],
        media: JSON,
    },
    Route {
        path: "/api/commission/consistency",
        method: "get",
        summary: "RFC 6962 consistency proof from a checkpoint of size `from` to the latest, with the latest checkpoint and the verifier key. Query: from=SIZE",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "the proof"), (400, "from exceeds the log")],
        media: JSON,
    },
    Route {
        path: "/commission",
        method: "get",
        summary: "Page: the public portal (published decisions, latest checkpoint); the workplace when signed in",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "HTML page")],
        media: HTML,
    },
    Route {
        path: "/commission/agreements/{id}",
        method: "get",
        summary: "Page: an agreement's record (compiled from its releases), status history, releases, clauses, documents the caller may read, reviews",
        path_params: &[("id", "agreement id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (200, "HTML page"),
            (
                404,
                "HTML page (the public sees only agreements with a published review)",
            ),
        ],
        media: HTML,
    },
    Route {
        path: "/commission/agreements",
        method: "post",
        summary: "Form: register a new agreement as its first release (secretariat), then its page (303)",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(303, "to the agreement's page")],
        media: HTML,
    },
    Route {
        path: "/commission/agreements/{id}/releases",
        method: "post",
        summary: "Form: a new release of an agreement (secretariat): date, tag, status, summary; then its page (303)",
        path_params: &[("id", "agreement id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(303, "to the agreement's page")],
        media: HTML,
    },
    Route {
        path: "/commission/accounts",
        method: "get",
        summary: "Page: accounts (administrators: with the forms to create and deactivate)",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "HTML page"), (403, "HTML page")],
        media: HTML,
    },
    Route {
        path: "/commission/accounts",
        method: "post",
        summary: "Form: create an account (administrators), then back to the accounts (303)",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(303, "to the accounts page")],
        media: HTML,
    },
    Route {
        path: "/commission/accounts/{username}/deactivate",
        method: "post",
        summary: "Form: deactivate an account and end its sessions (administrators) (303)",
        path_params: &[("username", "account")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(303, "to the accounts page")],
        media: HTML,
    },
    Route {
        path: "/commission/login",
        method: "get",
        summary: "Page: sign in",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "HTML page")],
        media: HTML,
    },
    Route {
        path: "/commission/login",
        method: "post",
        summary: "Form: sign in and go to the workplace (303)",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[
            (303, "to /commission"),
            (401, "the form again, with the problem"),
            (403, "stale form"),
            (429, "too many failures"),
        ],
        media: HTML,
    },
    Route {
        path: "/commission/logout",
        method: "post",
        summary: "Form: sign out (303)",
        path_params: &[],
        query: None,
        response: None,
        downloads: false,
        responses: &[(303, "to /commission")],
        media: HTML,
    },
    Route {
        path: "/commission/agreements/{id}/review",
        method: "post",
        summary: "Form: open a review of an agreement (303 to the review)",
        path_params: &[("id", "agreement id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(303, "to the review")],
        media: HTML,
    },
    Route {
        path: "/commission/reviews/{id}",
        method: "get",
        summary: "Page: a review with its computed impact, checklist, documents, comments, votes and decision, and the forms the caller may use",
        path_params: &[("id", "review id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(200, "HTML page"), (404, "HTML page")],
        media: HTML,
    },
    Route {
        path: "/commission/reviews/{id}",
        method: "post",
        summary: "Form: one step of a review (attest, comment, vote, decide, publish), then back to the review (303)",
        path_params: &[("id", "review id")],
        query: None,
        response: None,
        downloads: false,
        responses: &[(303, "to the review")],
        media: HTML,
    },
];

/// The query parameters of a query schema: one per property, with its schema and whether it is
/// required.
fn parameters(schema: &Schema) -> Vec<Value> {
    let Some(obj) = schema.as_object() else {
        return Vec::new();
    };
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    obj.get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, s)| {
                    let mut s = s.clone();
                    let description = s
                        .as_object_mut()
                        .and_then(|o| o.remove("description"))
                        .unwrap_or(Value::Null);
                    json!({
                        "name": name, "in": "query", "required": required.contains(&name.as_str()),
                        "description": description, "schema": s,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The OpenAPI 3.0 document of [`ROUTES`].
pub fn openapi() -> Value {
    let mut generator = SchemaSettings::openapi3()
        .with(|s| s.contract = Contract::Serialize)
        .into_generator();
    let mut paths = Map::new();
    for r in ROUTES {
        let mut params: Vec<Value> = r
            .path_params
            .iter()
            .map(|(name, desc)| {
                json!({"name": name, "in": "path", "required": true, "description": desc, "schema": {"type": "string"}})
            })
            .collect();
        if let Some(q) = r.query {
            params.extend(parameters(&q()));
        }
        if r.downloads {
            params.push(json!({
                "name": "format", "in": "query", "required": false,
                "description": "json (default: the view), or the view's rows as csv, xlsx or a text table",
                "schema": {"type": "string", "enum": ["json", "csv", "xlsx", "table"]},
            }));
        }
        let mut responses = Map::new();
        for (code, desc) in r.responses {
            let content = if *code >= 300 {
                json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}})
            } else if let Some(schema) = r.response {
                let mut c = json!({"application/json": {"schema": schema(&mut generator)}});
                if r.downloads {
                    c["text/csv"] = json!({});
                    c["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] =
                        json!({});
                }
                c
            } else {
                json!({ r.media: {} })
            };
            responses.insert(
                code.to_string(),
                json!({"description": desc, "content": content}),
            );
        }
        let operations = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        operations[r.method] =
            json!({"summary": r.summary, "parameters": params, "responses": responses});
    }
    let mut schemas = generator.take_definitions(true);
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "properties": {"error": {"type": "object", "properties": {
            "status": {"type": "integer"}, "message": {"type": "string"},
            "valid": {"type": "array", "items": {"type": "string"}},
        }, "required": ["status", "message", "valid"]}}, "required": ["error"]}),
    );
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Lodestone API", "version": env!("CARGO_PKG_VERSION"), "description": "Rare-earth supply-chain intelligence over the loaded dataset. Every view is one typed struct: the CLI, this API and the pages render the same one."},
        "paths": paths,
        "components": {"schemas": schemas},
    })
}
