//! Diagnostics: located problems found while loading or validating a dataset.

use std::fmt;

/// How bad a problem is: errors make `lodestone check` fail, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The dataset is wrong; engines must not run on it.
    Error,
    /// Worth a look, but the dataset is usable.
    Warning,
}

/// One problem, located by file (relative to the dataset directory), line and column name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File name relative to the dataset directory, e.g. `facilities.csv` or `policies/china.toml`.
    pub file: String,
    /// 1-based line number; `None` for a problem with the whole file (e.g. it is missing).
    pub line: Option<u64>,
    /// Schema column name the problem is in, if any.
    pub column: Option<String>,
    /// What is wrong and, where possible, what to do about it.
    pub message: String,
}

impl Diagnostic {
    /// An error at `file:line`.
    pub fn error(
        file: &str,
        line: Option<u64>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            line,
            column: column.map(str::to_string),
            message: message.into(),
        }
    }

    /// A warning at `file:line`.
    pub fn warning(
        file: &str,
        line: Option<u64>,
        column: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, column, message)
        }
    }

    /// The diagnostic as a JSON object with `file`, `line`, `column` and `message`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("file".into(), self.file.clone().into());
        m.insert(
            "line".into(),
            self.line.map_or(serde_json::Value::Null, Into::into),
        );
        m.insert(
            "column".into(),
            self.column
                .clone()
                .map_or(serde_json::Value::Null, Into::into),
        );
        m.insert("message".into(), self.message.clone().into());
        serde_json::Value::Object(m)
    }
}

/// Renders as `FILE:LINE: message` (or `FILE: message` for whole-file problems).
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// The diagnostics of one load, errors and warnings together, in a stable order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Everything found, sorted by file order, line and message.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    /// The warnings only.
    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// `{"errors": [...], "warnings": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "errors": self.errors().map(Diagnostic::to_json).collect::<Vec<_>>(),
            "warnings": self.warnings().map(Diagnostic::to_json).collect::<Vec<_>>(),
        })
    }
}
