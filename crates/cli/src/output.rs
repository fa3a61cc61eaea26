//! Where commands write: an output directory the command owns, or a single output file. No
//! command overwrites or deletes what it did not create, and every file is written through a
//! temporary file and a rename, so a failed or interrupted run leaves the previous output intact.
//!
//! A directory is owned when the command created it, or when it holds the marker file
//! `.lodestone-output` listing the files Lodestone wrote there. A directory that holds anything
//! else — a dataset, or any file Lodestone did not write — is refused, unless `--force`, which
//! allows adding files beside the others but still never replaces or deletes one of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::Failure;

/// The marker of a directory Lodestone writes into: the files it wrote, one per line.
pub const MARKER: &str = ".lodestone-output";
/// Suffix of the temporary files renamed into place.
const TMP: &str = ".lodestone-tmp";

/// An output directory claimed by a command.
pub struct OutputDir {
    dir: PathBuf,
    owned: BTreeSet<String>,
}

fn io(what: &Path, e: std::io::Error) -> Failure {
    Failure::new(1, format!("cannot write {}: {e}", what.display()))
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}{TMP}"));
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path, e)
    })
}

impl OutputDir {
    /// Claims `dir` for writing `files`. A new or empty directory, or one holding only what
    /// Lodestone wrote, is claimed; any other file there refuses the claim, unless `force`, which
    /// still refuses if one of `files` would replace a file Lodestone did not write.
    pub fn claim(dir: &Path, files: &[&str], force: bool) -> Result<OutputDir, Failure> {
        if dir.exists() && !dir.is_dir() {
            return Err(Failure::new(
                2,
                format!(
                    "--out {} is a file, not a directory: choose a directory",
                    dir.display()
                ),
            ));
        }
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let owned: BTreeSet<String> = std::fs::read_to_string(dir.join(MARKER))
            .map(|t| {
                t.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let mut foreign: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != MARKER && !n.ends_with(TMP) && !owned.contains(n))
            .collect();
        foreign.sort();
        let dataset = foreign
            .iter()
            .any(|n| n == "sources.csv" || n == "policies" || n == "scenarios");
        let what = if dataset {
            "holds a dataset"
        } else {
            "holds files Lodestone did not write"
        };
        if !foreign.is_empty() && !force {
            return Err(Failure::new(
                2,
                format!(
                    "{} {what} ({}{}): Lodestone never writes over them; choose a new or empty --out directory, or add --force to write beside them (it still never replaces them)",
                    dir.display(),
                    foreign
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if foreign.len() > 5 { ", …" } else { "" }
                ),
            ));
        }
        let clashes: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| foreign.iter().any(|n| n == f))
            .collect();
        if !clashes.is_empty() {
            return Err(Failure::new(
                2,
                format!(
                    "{} {what}: writing would replace {} that Lodestone did not write; even with --force it never does — choose another --out directory",
                    dir.display(),
                    clashes.join(", ")
                ),
            ));
        }
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            owned,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Notes that `name` was written (by this command, or by a writer it called).
    pub fn record(&mut self, name: &str) -> Result<(), Failure> {
        self.owned.insert(name.to_string());
        self.save()
    }

    /// Writes a file of the output atomically.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), Failure> {
        write_atomic(&self.dir.join(name), bytes)?;
        self.record(name)
    }

    /// Removes an output file of an earlier run that this run does not write — only if
    /// Lodestone wrote it.
    pub fn remove_stale(&mut self, name: &str) -> Result<(), Failure> {
        let path = self.dir.join(name);
        if self.owned.contains(name) && path.exists() {
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            self.owned.remove(name);
            self.save()?;
        }
        Ok(())
    }

    fn save(&self) -> Result<(), Failure> {
        let list: String = self.owned.iter().map(|n| format!("{n}\n")).collect();
        write_atomic(&self.dir.join(MARKER), list.as_bytes())
    }
}

/// The marker a brief carries, so that `report --out` replaces only a brief it wrote.
pub const BRIEF_MARK: &str = "<meta name=\"generator\" content=\"Lodestone\">";

/// Writes an HTML brief to `path`: a new file, or one that is a Lodestone brief; never any other
/// file.
pub fn write_brief(path: &Path, html: &str) -> Result<(), Failure> {
    if path.is_dir() {
        return Err(Failure::new(
            2,
            format!("--out {} is a directory: name a file", path.display()),
        ));
    }
    if path.exists() {
        let head = std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned())
            .unwrap_or_default();
        if !head.contains(BRIEF_MARK) {
            return Err(Failure::new(
                2,
                format!(
                    "{} exists and is not a brief Lodestone wrote: it is never replaced; choose another --out file",
                    path.display()
                ),
            ));
        }
    }
    write_atomic(path, html.as_bytes())
}
