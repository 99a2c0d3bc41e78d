//! The operator's console at `/ui/`: a page, a style sheet and a few ES modules
//! embedded in the binary (`services/query/console/`), served with a Content-Security-Policy that allows only
//! them (no inline script, no `eval`, no other origin). The console calls the same
//! API with the same tokens, so it can show nothing a token could not read anyway.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::browser::BrowserConfig;
use crate::envelope::ApiError;
use crate::state::AppState;

/// The console's policy: its own files only, and API calls to its own origin. Frames
/// (an HTML body rendered on request) are `srcdoc` documents that inherit it, so
/// nothing in them loads or runs.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The console's files, by name under `/ui/`: `index.html` and the ES modules it
/// loads (`app.js` imports the rest).
const CONSOLE_FILES: &[(&str, &str)] = &[
    ("index.html", include_str!("../console/index.html")),
    ("app.css", include_str!("../console/app.css")),
    ("app.js", include_str!("../console/app.js")),
    ("api.js", include_str!("../console/api.js")),
    ("dom.js", include_str!("../console/dom.js")),
    ("bodies.js", include_str!("../console/bodies.js")),
    ("calls.js", include_str!("../console/calls.js")),
    ("timeline.js", include_str!("../console/timeline.js")),
    ("search.js", include_str!("../console/search.js")),
    ("chart.js", include_str!("../console/chart.js")),
    ("live.js", include_str!("../console/live.js")),
];

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "text/javascript; charset=utf-8",
    }
}

/// `/` opens the console.
pub(crate) async fn to_console() -> Redirect {
    Redirect::to("/ui/")
}

/// `/ui/` (and `/ui`: paths are compared without their trailing slash).
pub(crate) async fn console_index(State(state): State<AppState>) -> Response {
    console_file(&state.browser, "index.html").await
}

pub(crate) async fn console_asset(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    console_file(&state.browser, &name).await
}

async fn console_file(config: &BrowserConfig, name: &str) -> Response {
    let Some((name, embedded)) = CONSOLE_FILES.iter().find(|(n, _)| *n == name) else {
        return ApiError::NotFound.into_response();
    };
    let body = match &config.console_dir {
        Some(dir) => match tokio::fs::read_to_string(dir.join(name)).await {
            Ok(text) => text,
            Err(err) => {
                tracing::warn!(file = %dir.join(name).display(), error = %err, "console file unreadable");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        },
        None => (*embedded).to_owned(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type(name)),
            (header::CONTENT_SECURITY_POLICY, CONSOLE_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
