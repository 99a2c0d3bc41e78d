//! How the service meets browsers: CORS, so that pages served from another origin
//! (Monster UI) call the API as they call Crossbar, and where the console comes from.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Which origins may call the API from a browser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Origins {
    /// Every origin (`Access-Control-Allow-Origin: *`), as Crossbar answers. Safe
    /// because tokens travel in headers, never in cookies: a page on another origin
    /// can only send a token it already holds.
    #[default]
    Any,
    /// Only these (`scheme://host[:port]`).
    List(Vec<HeaderValue>),
    /// No cross-origin access: preflights are refused.
    Off,
}

impl std::str::FromStr for Origins {
    type Err = String;

    /// `*`, `none`, or comma-separated origins.
    fn from_str(text: &str) -> Result<Origins, String> {
        match text.trim() {
            "*" => Ok(Origins::Any),
            "none" | "" => Ok(Origins::Off),
            list => list
                .split(',')
                .map(str::trim)
                .map(|origin| {
                    let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                        && !origin.contains(['?', '#', ' ', '@'])
                        && origin.matches('/').count() == 2;
                    match (valid, HeaderValue::from_str(origin)) {
                        (true, Ok(value)) => Ok(value),
                        _ => Err(format!(
                            "{origin:?} is not an origin (scheme://host[:port], no path)"
                        )),
                    }
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Origins::List),
        }
    }
}

/// How the service meets browsers.
#[derive(Debug, Clone, Default)]
pub struct BrowserConfig {
    pub origins: Origins,
    /// Serve the console's files from this directory instead of the embedded copy
    /// (for working on the console without rebuilding).
    pub console_dir: Option<PathBuf>,
}

/// Request headers a cross-origin page may send: Crossbar's list, and ours.
const ALLOW_HEADERS: &[&str] = &[
    "accept",
    "cache-control",
    "content-type",
    "if-modified-since",
    "if-match",
    "last-event-id",
    "user-agent",
    "x-auth-token",
    "x-http-method-override",
    "x-kazoo-cluster-id",
    "x-request-id",
    "x-requested-with",
];

/// Response headers a cross-origin page may read.
const EXPOSE_HEADERS: &[&str] = &["content-type", "x-request-id", "retry-after"];

fn names(names: &[&'static str]) -> Vec<HeaderName> {
    names.iter().map(|name| HeaderName::from_static(name)).collect()
}

/// How long a browser may cache a preflight's answer (Crossbar's value).
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(86_400);

/// The CORS layer for `origins`; `None` when cross-origin access is off.
pub(crate) fn cors(origins: &Origins) -> Option<CorsLayer> {
    let allow_origin = match origins {
        Origins::Any => AllowOrigin::any(),
        Origins::List(list) => AllowOrigin::list(list.clone()),
        Origins::Off => return None,
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::HEAD, Method::OPTIONS])
            .allow_headers(names(ALLOW_HEADERS))
            .expose_headers(names(EXPOSE_HEADERS))
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse_as_documented() {
        assert_eq!("*".parse::<Origins>(), Ok(Origins::Any));
        assert_eq!("none".parse::<Origins>(), Ok(Origins::Off));
        assert_eq!(
            "https://ui.example.com, http://127.0.0.1:3000".parse::<Origins>(),
            Ok(Origins::List(vec![
                HeaderValue::from_static("https://ui.example.com"),
                HeaderValue::from_static("http://127.0.0.1:3000"),
            ]))
        );
        for bad in [
            "ui.example.com",
            "https://ui.example.com/app",
            "ftp://x",
            "https://a b",
        ] {
            assert!(bad.parse::<Origins>().is_err(), "{bad}");
        }
    }
}
