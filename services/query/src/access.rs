//! Who may read what, and where the reading runs: every API handler starts here.

use axum::extract::rejection::PathRejection;
use axum::extract::Path;

use crate::envelope::RequestContext;
use crate::source::Source;
use crate::{ApiError, AppState};

/// A route's decoded path parameters, which name the account they read.
pub trait AccountPath {
    fn account_id(&self) -> &str;
}

impl AccountPath for String {
    fn account_id(&self) -> &str {
        self
    }
}

/// `(ACCOUNT_ID, ID)`.
impl AccountPath for (String, String) {
    fn account_id(&self) -> &str {
        &self.0
    }
}

/// Authenticates the caller, then decodes the path and checks the caller may read its
/// account; returns the path and where to read. The token is checked first, so a
/// request without a valid one learns nothing, not even whether its path decodes.
pub async fn authorize<P: AccountPath>(
    state: &AppState,
    context: &RequestContext,
    path: Result<Path<P>, PathRejection>,
) -> Result<(P, Source), ApiError> {
    let principal = state
        .auth
        .authenticate(context.auth_token.as_deref())
        .map_err(ApiError::Unauthorized)?;
    let Path(path) = path.map_err(bad_path)?;
    let source = state.source()?;
    let account_id = path.account_id();
    if !is_account_id(account_id) {
        return Err(ApiError::invalid_parameter(
            "account_id",
            "format",
            "an account id is 32 lowercase hexadecimal characters".into(),
            "",
        ));
    }
    let ancestors = if principal.needs_ancestors(account_id) {
        source.account_ancestors(account_id).await?
    } else {
        None
    };
    if principal.may_read(account_id, ancestors.as_deref()) {
        Ok((path, source))
    } else {
        Err(ApiError::Forbidden)
    }
}

fn is_account_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn bad_path(rejection: PathRejection) -> ApiError {
    ApiError::invalid_parameter(
        "path",
        "encoding",
        format!("the URL path cannot be decoded: {rejection}"),
        "",
    )
}

/// Runs an index read on the blocking pool: reads take up to milliseconds of CPU and
/// would otherwise stall every request sharing the async worker.
pub async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    // Counted until the read ends, even if the request gives up on it (timeout).
    let in_flight = crate::metrics::ReadInFlight::enter();
    tokio::task::spawn_blocking(move || {
        let _in_flight = in_flight;
        work()
    })
    .await
    .unwrap_or_else(|err| Err(ApiError::Internal(err.to_string())))
}
