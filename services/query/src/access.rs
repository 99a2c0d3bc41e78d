//! Who may read what, and where the reading runs: every API handler starts here.

use axum::extract::rejection::PathRejection;

use pivotlog_index::PivotIndex;

use crate::envelope::RequestContext;
use crate::{ApiError, AppState};

/// Authenticates the caller and checks it may read `account_id`.
pub fn authorize<'a>(
    state: &'a AppState,
    context: &RequestContext,
    account_id: &str,
) -> Result<&'a PivotIndex, ApiError> {
    let principal = state
        .auth
        .authenticate(context.auth_token.as_deref())
        .map_err(ApiError::Unauthorized)?;
    let index = state.index()?;
    if !is_account_id(account_id) {
        return Err(ApiError::invalid_parameter(
            "account_id",
            "format",
            "an account id is 32 lowercase hexadecimal characters".into(),
            "",
        ));
    }
    if principal.may_read(account_id, index)? {
        Ok(index)
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

pub fn bad_path(rejection: PathRejection) -> ApiError {
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
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|err| Err(ApiError::Internal(err.to_string())))
}
