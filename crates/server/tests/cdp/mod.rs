//! A small Chrome DevTools Protocol client over `--remote-debugging-pipe` (commands on the
//! child's fd 3, answers on its fd 4, each message JSON ended by a NUL byte): enough to drive
//! Debian's headless Chromium through forms — navigate, fill, submit, read the page — with only
//! the standard library.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

unsafe extern "C" {
    fn dup2(old: i32, new: i32) -> i32;
}

pub struct Browser {
    child: Child,
    to_browser: std::io::PipeWriter,
    from_browser: BufReader<std::io::PipeReader>,
    next: u64,
    session: String,
    /// Console messages and uncaught exceptions seen so far.
    pub console: Vec<String>,
    _profile: std::path::PathBuf,
}

impl Browser {
    /// Starts headless Chromium with a fresh profile and opens one page.
    pub fn start(bin: &str) -> Browser {
        let (cmd_read, cmd_write) = std::io::pipe().unwrap();
        let (ans_read, ans_write) = std::io::pipe().unwrap();
        let (r, w) = (cmd_read.as_raw_fd(), ans_write.as_raw_fd());
        let profile =
            std::env::temp_dir().join(format!("lodestone-cdp-{}-{}", std::process::id(), r));
        let mut cmd = Command::new(bin);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-pipe",
            "--window-size=1300,1100",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: between fork and exec only async-signal-safe dup2 runs, on descriptors this
        // process owns, to put the pipes where Chromium expects them.
        unsafe {
            cmd.pre_exec(move || {
                if dup2(r, 3) < 0 || dup2(w, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start chromium");
        drop(cmd_read);
        drop(ans_write);
        let mut b = Browser {
            child,
            to_browser: cmd_write,
            from_browser: BufReader::new(ans_read),
            next: 0,
            session: String::new(),
            console: Vec::new(),
            _profile: profile,
        };
        let target = b.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = b.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        b.page("Page.enable", json!({}));
        b.page("Runtime.enable", json!({}));
        b
    }

    fn read_message(&mut self) -> Value {
        let mut buf = Vec::new();
        let n = self.from_browser.read_until(0, &mut buf).unwrap();
        assert!(n > 0, "chromium closed the pipe");
        buf.pop();
        serde_json::from_slice(&buf).unwrap()
    }

    fn call(&mut self, session: Option<String>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to_browser.write_all(&bytes).unwrap();
        loop {
            let m = self.read_message();
            match m["method"].as_str() {
                Some("Runtime.consoleAPICalled") => {
                    let args: Vec<String> = m["params"]["args"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| a["value"].to_string())
                        .collect();
                    self.console.push(args.join(" "));
                }
                Some("Runtime.exceptionThrown") => self
                    .console
                    .push(m["params"]["exceptionDetails"].to_string()),
                _ => {}
            }
            if m["id"].as_u64() == Some(id) {
                assert!(m.get("error").is_none(), "{method}: {}", m["error"]);
                return m["result"].clone();
            }
        }
    }

    fn page(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.call(Some(s), method, params)
    }

    /// Evaluates JavaScript in the page and returns its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.page(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            r.get("exceptionDetails").is_none(),
            "{js}: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Opens a URL and waits for it.
    pub fn open(&mut self, url: &str) {
        // A new document, even when the address is the same as the current one's.
        let before = self.eval("String(performance.timeOrigin)");
        self.page("Page.navigate", json!({"url": url}));
        let start = Instant::now();
        loop {
            let now = self
                .eval("document.readyState + '|' + location.href + '|' + performance.timeOrigin");
            let s = now.as_str().unwrap_or_default().to_string();
            let parts: Vec<&str> = s.splitn(3, '|').collect();
            if parts.len() == 3
                && parts[0] == "complete"
                && parts[1] == url
                && json!(parts[2]) != before
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{url} did not load: {s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fills the fields of the form `selector` (name → value; selects by value) and submits it
    /// as a person would (its submit button), then waits for the page it leads to.
    pub fn submit(&mut self, selector: &str, fields: &[(&str, &str)]) -> String {
        let before = self
            .eval("location.href + '#' + performance.timeOrigin")
            .as_str()
            .unwrap()
            .to_string();
        let fields_json = serde_json::to_string(
            &fields
                .iter()
                .map(|(k, v)| json!([k, v]))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let js = format!(
            "(() => {{ const f = document.querySelector({sel}); if (!f) return 'no form {raw}';
               for (const [k, v] of {fields_json}) {{ const e = f.elements.namedItem(k); if (!e) return 'no field ' + k; e.value = v; }}
               const b = f.querySelector('button'); b.click(); return 'ok'; }})()",
            sel = serde_json::to_string(selector).unwrap(),
            raw = selector.replace('\'', "")
        );
        let r = self.eval(&js);
        assert_eq!(r, json!("ok"), "{selector}");
        // A new document has a new time origin.
        let start = Instant::now();
        loop {
            let now = self
                .eval("document.readyState + '|' + location.href + '#' + performance.timeOrigin");
            let s = now.as_str().unwrap_or_default();
            if let Some(rest) = s.strip_prefix("complete|")
                && rest != before
            {
                return rest.split('#').next().unwrap_or_default().to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "submitting {selector} led nowhere"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The page's text.
    pub fn text(&mut self) -> String {
        self.eval("document.body.innerText")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML.
    pub fn html(&mut self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// A screenshot as PNG.
    pub fn screenshot(&mut self, path: &std::path::Path) {
        use base64::Engine;
        let r = self.page("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}
