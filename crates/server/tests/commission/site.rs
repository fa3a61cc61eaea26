#![allow(dead_code)]
//! A server with a registry of its own (a fresh SQLite file, the bundled agreements, one
//! account per role), and an HTTP client that carries a session.

use std::net::SocketAddr;

use lodestone_registry::access::{Actor, Constituency, Role};
use lodestone_registry::commission::{self, NewAccount};
use lodestone_registry::note::NoteSigner;
use lodestone_registry::{Registry, agreements, audit};

use crate::common::{Reply, request_to};

pub const PASSWORD: &str = "correct horse battery staple";

/// A signed-in client: its session cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Client {
    pub cookie: String,
    pub csrf: String,
}

pub struct Site {
    pub addr: SocketAddr,
    pub db: String,
    pub verifier: String,
}

/// The session token a reply sets, if any.
pub fn session_cookie(r: &Reply) -> Option<String> {
    r.raw_headers
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .filter_map(|l| l.split_once(':').map(|(_, v)| v.trim()))
        .find_map(|v| v.strip_prefix("lodestone_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .filter(|v| !v.is_empty())
}

const STAFF: [(&str, Role, Option<Constituency>); 7] = [
    ("sec", Role::Secretariat, None),
    ("gov", Role::Commissioner, Some(Constituency::Government)),
    ("ind", Role::Commissioner, Some(Constituency::Industry)),
    ("civ", Role::Commissioner, Some(Constituency::CivilSociety)),
    ("rev", Role::Reviewer, None),
    ("rev2", Role::Reviewer, None),
    ("obs", Role::Reviewer, None),
];

impl Site {
    /// On a fresh SQLite file.
    pub fn start() -> Site {
        let dir = Self::scratch();
        Self::start_on(format!("sqlite:{}", dir.join("registry.db").display()))
    }

    /// On a fresh database of the PostgreSQL server named by `LODESTONE_TEST_POSTGRES` (created
    /// with psql); fails, never passes, without one.
    pub fn postgres() -> Site {
        let admin = std::env::var("LODESTONE_TEST_POSTGRES")
            .expect("LODESTONE_TEST_POSTGRES is not set: these tests need a PostgreSQL server; .ci/run starts one");
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "site_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let out = std::process::Command::new("psql")
            .arg(&admin)
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self::start_on(format!("{}/{name}", admin.rsplit_once('/').unwrap().0))
    }

    fn scratch() -> std::path::PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "commission-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn start_on(db: String) -> Site {
        let signer = NoteSigner::generate("lodestone.test/commission").unwrap();
        let verifier = signer.verifier().to_text();
        let (tx, rx) = std::sync::mpsc::channel();
        let url = db.clone();
        let key_text = verifier.clone();
        std::thread::spawn(move || {
            let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world");
            let (world, report) = lodestone_world::load_dir(&data).unwrap();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let reg = Registry::open(&url, signer).await.unwrap();
                let files = world
                    .toml_files
                    .iter()
                    .filter(|f| f.path.starts_with("agreements/"))
                    .map(|f| (f.path.as_str(), f.text.as_str()));
                let releases = agreements::bundled_releases(files).unwrap();
                let known = |p: &str| lodestone_server::commission::party_known(&world, p);
                agreements::import_releases(&reg, "import", &releases, &known)
                    .await
                    .unwrap();
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
                for (u, role, constituency) in STAFF {
                    let a = NewAccount {
                        username: u.into(),
                        display_name: u.to_uppercase(),
                        role,
                        constituency,
                        password: PASSWORD.into(),
                    };
                    commission::create_account(&reg, &by, &a).await.unwrap();
                }
                let c = lodestone_server::commission::Commission::new(reg, key_text, false);
                let state = lodestone_server::AppState::new(world, report).with_commission(c);
                let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
                let _ = lodestone_server::serve_state(state, addr, move |bound| {
                    tx.send(bound).unwrap()
                })
                .await;
            });
        });
        let addr = rx.recv().unwrap();
        Site { addr, db, verifier }
    }

    fn send(
        &self,
        cookie: Option<&str>,
        csrf: Option<&str>,
        origin: Option<&str>,
        method: &str,
        path: &str,
        body: &str,
    ) -> Reply {
        let mut headers = String::from("Host: localhost\r\nContent-Type: application/json\r\n");
        if let Some(c) = cookie {
            headers.push_str(&format!("Cookie: lodestone_session={c}\r\n"));
        }
        if let Some(t) = csrf {
            headers.push_str(&format!("x-csrf-token: {t}\r\n"));
        }
        if let Some(o) = origin {
            headers.push_str(&format!("Origin: {o}\r\n"));
        }
        request_to(self.addr, method, path, &headers, body)
    }

    /// A request as `client` (with its token), or as the public.
    pub fn call(&self, client: Option<&Client>, method: &str, path: &str, body: &str) -> Reply {
        self.send(
            client.map(|c| c.cookie.as_str()),
            client.map(|c| c.csrf.as_str()),
            None,
            method,
            path,
            body,
        )
    }

    /// A request with or without the client's CSRF token, from an origin.
    pub fn raw(
        &self,
        client: Option<&Client>,
        method: &str,
        path: &str,
        body: &str,
        csrf: bool,
        origin: Option<&str>,
    ) -> Reply {
        let token = client.filter(|_| csrf).map(|c| c.csrf.as_str());
        self.send(
            client.map(|c| c.cookie.as_str()),
            token,
            origin,
            method,
            path,
            body,
        )
    }

    /// A request carrying an arbitrary session cookie value.
    pub fn raw_with_cookie(&self, cookie: &str, method: &str, path: &str, body: &str) -> Reply {
        self.send(Some(cookie), None, None, method, path, body)
    }

    pub fn sign_in(&self, user: &str, password: &str) -> Client {
        let body = serde_json::json!({"username": user, "password": password}).to_string();
        let r = self.call(None, "POST", "/api/commission/session", &body);
        assert_eq!(r.status, 200, "sign-in of {user}: {}", r.body);
        let csrf = crate::common::json(&r)["csrf"]
            .as_str()
            .unwrap()
            .to_string();
        Client {
            cookie: session_cookie(&r).expect("a session cookie"),
            csrf,
        }
    }

    /// The log's size, from the public checkpoint.
    pub fn log_size(&self) -> u64 {
        let r = self.call(None, "GET", "/api/commission/checkpoint", "");
        r.body
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .expect("a checkpoint")
    }

    /// `audit verify` on the registry, as an outsider would: read-only, with the public key.
    pub fn verify(&self) {
        let db = self.db.clone();
        let verifier = self.verifier.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (pool, _) = Registry::open_pool(&db).await.unwrap();
                let key = lodestone_registry::note::NoteVerifier::parse(&verifier).unwrap();
                audit::verify(&pool, &key, None).await.unwrap();
            })
        })
        .join()
        .unwrap();
    }
}
