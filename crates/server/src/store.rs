//! Finished scenario jobs kept on disk, so they survive a restart: one `job-ID.json` per job
//! (its scenario text, seed, runs, status and results), written through a temporary file and a
//! rename. The store only adds files; it never overwrites a job file it did not write in this
//! run (ids continue after the largest found) and never deletes one.

use std::path::{Path, PathBuf};

/// A directory of job records.
#[derive(Debug, Clone)]
pub struct JobStore {
    dir: PathBuf,
}

impl JobStore {
    /// Opens (creating it if needed) a job directory.
    pub fn open(dir: &Path) -> Result<JobStore, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the jobs directory {}: {e}", dir.display()))?;
        Ok(JobStore {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("job-{id}.json"))
    }

    /// The stored records, oldest first, with a message for each file that could not be read.
    pub fn load(&self) -> (Vec<serde_json::Value>, Vec<String>) {
        let mut records = Vec::new();
        let mut problems = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (records, vec![format!("cannot read {}", self.dir.display())]);
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(id) = name
                .strip_prefix("job-")
                .and_then(|r| r.strip_suffix(".json"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            // Job files are small (a results summary); refuse anything unreasonably large.
            let read = std::fs::metadata(entry.path())
                .ok()
                .filter(|m| m.len() <= 64 << 20)
                .and_then(|_| std::fs::read_to_string(entry.path()).ok());
            match read.and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()) {
                Some(v) if v["id"].as_u64() == Some(id) => records.push(v),
                _ => problems.push(format!("{name}: not a readable job record; left as it is")),
            }
        }
        records.sort_by_key(|v| v["id"].as_u64());
        (records, problems)
    }

    /// Writes a job's record (through a temporary file and a rename).
    pub fn save(&self, id: u64, record: &serde_json::Value) -> Result<(), String> {
        let text = serde_json::to_string_pretty(record).map_err(|e| e.to_string())?;
        let tmp = self.dir.join(format!("job-{id}.json.lodestone-tmp"));
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, self.path(id)))
            .map_err(|e| format!("cannot write job {id} to {}: {e}", self.dir.display()))
    }
}
