//! Errors and typed inputs: one error type for the API ([`ApiError`], JSON) and one for the
//! pages ([`PageError`], an HTML page); extractors that parse the query string into a view's
//! typed query, so a typo in a parameter's name or value is a 400 that names what is valid.

use std::collections::BTreeMap;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use lodestone_model::{OutputFormat, Vocabulary};
use lodestone_world::views::ViewError;
use serde::de::DeserializeOwned;

/// An API error: `{"error": {"status", "message", "valid"}}` with its status code.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, for people.
    pub message: String,
    /// What would be valid instead.
    pub valid: Vec<String>,
}

impl ApiError {
    /// An error with a status, a message and what would be valid.
    pub fn new(status: StatusCode, message: impl Into<String>, valid: Vec<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            valid,
        }
    }

    /// A 404 naming what exists.
    pub fn not_found(message: impl Into<String>, valid: Vec<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message, valid)
    }

    /// A 500 for a failure of the server itself.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message, Vec::new())
    }

    /// A 400 for a query string that does not parse into the typed query.
    fn bad_query(message: String) -> ApiError {
        // serde names a missing field as "missing field `node`": say which parameter to add.
        let message = match message
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'))
        {
            Some(field) => format!("the '{field}' parameter is required"),
            None => message,
        };
        let valid = valid_from_message(&message);
        ApiError::new(StatusCode::BAD_REQUEST, message, valid)
    }
}

/// The valid words named in a deserialisation message: after `; valid: ` (our vocabularies) or
/// the back-quoted words after `expected one of` (serde's unknown fields and variants).
fn valid_from_message(message: &str) -> Vec<String> {
    if let Some((_, tail)) = message.split_once("; valid: ") {
        return tail.split(", ").map(str::to_string).collect();
    }
    if let Some((_, tail)) = message
        .split_once("expected one of ")
        .or_else(|| message.split_once("expected "))
    {
        return tail
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
    }
    Vec::new()
}

impl From<ViewError> for ApiError {
    fn from(e: ViewError) -> ApiError {
        let status = match e {
            ViewError::Invalid(_) | ViewError::NoData(_) => StatusCode::BAD_REQUEST,
            ViewError::NotFound(_) => StatusCode::NOT_FOUND,
        };
        ApiError::new(status, e.to_string(), e.valid())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {
            "status": self.status.as_u16(), "message": self.message, "valid": self.valid,
        }});
        (self.status, axum::Json(body)).into_response()
    }
}

/// A page's error: the same facts as an [`ApiError`], answered as an HTML page.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError(e)
    }
}

impl From<ViewError> for PageError {
    fn from(e: ViewError) -> PageError {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        let page = crate::templates::ErrorPage {
            title: e.status.canonical_reason().unwrap_or("Error").to_string(),
            status: e.status.as_u16(),
            message: e.message,
            valid: e.valid.into_iter().take(40).collect(),
        };
        (e.status, Html(crate::templates::render(&page))).into_response()
    }
}

/// Query parameters as (name, value) pairs.
type Pairs = Vec<(String, String)>;

/// The query string as (name, value) pairs, empty values dropped (a form's unset fields), with
/// `format` taken out.
fn query_pairs(parts: &Parts) -> Result<(Pairs, Option<OutputFormat>), ApiError> {
    let raw = parts.uri.query().unwrap_or("");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| ApiError::bad_query(format!("the query string does not parse: {e}")))?;
    let mut format = None;
    let mut kept = Vec::new();
    for (k, v) in pairs {
        let v = v.trim().to_string();
        if v.is_empty() {
            continue;
        }
        if k == "format" {
            format = Some(OutputFormat::parse(&v).map_err(|e| ApiError::bad_query(e.to_string()))?);
        } else {
            if k == "year" && v.parse::<i64>().is_err() {
                return Err(ApiError::bad_query(format!(
                    "year '{v}' is not a year; valid: a year such as 2024"
                )));
            }
            kept.push((k, v));
        }
    }
    Ok((kept, format))
}

/// Deserialises pairs into a typed query.
fn typed<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<T, ApiError> {
    let text =
        serde_urlencoded::to_string(pairs).map_err(|e| ApiError::bad_query(e.to_string()))?;
    serde_urlencoded::from_str(&text).map_err(|e| ApiError::bad_query(e.to_string()))
}

/// A view's typed query from the query string, and the `format` asked for (`json` when absent).
/// Unknown parameters, unknown words and malformed numbers are a 400 naming what is valid.
pub struct ApiQuery<T> {
    /// The typed query.
    pub query: T,
    /// `json` (default), `csv` or `xlsx`.
    pub format: OutputFormat,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let (pairs, format) = query_pairs(parts)?;
        Ok(ApiQuery {
            query: typed(&pairs)?,
            format: format.unwrap_or(OutputFormat::Json),
        })
    }
}

/// A page's form: the raw values (to fill the form again) and the typed query or why it does not
/// parse (the page shows the form with the problem). Never rejects.
pub struct FormQuery<T> {
    /// The submitted values by name.
    pub raw: BTreeMap<String, String>,
    /// The typed query, or the problem.
    pub parsed: Result<T, ApiError>,
}

impl<T> FormQuery<T> {
    /// A submitted value, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.raw.get(name).map_or("", String::as_str)
    }

    /// Whether anything was submitted.
    pub fn submitted(&self) -> bool {
        !self.raw.is_empty()
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for FormQuery<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let (raw, parsed) = match query_pairs(parts) {
            // A form submits its empty optional fields (an element select left at "all"): they
            // mean "not given".
            Ok((pairs, _)) => {
                let given: Vec<(String, String)> = pairs
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .cloned()
                    .collect();
                (pairs.iter().cloned().collect(), typed(&given))
            }
            Err(e) => (BTreeMap::new(), Err(e)),
        };
        Ok(FormQuery { raw, parsed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_words_are_read_from_messages() {
        assert_eq!(
            valid_from_message("'x' is not a stage; valid: mining, separation"),
            vec!["mining", "separation"]
        );
        assert_eq!(
            valid_from_message("unknown field `stg`, expected one of `year`, `basis`"),
            vec!["year", "basis"]
        );
    }
}
