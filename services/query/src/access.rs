//! Who may read what: every API handler takes an [`AccountRead`], so no handler runs
//! before the caller is authenticated and allowed to read the account in its path.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::envelope::{ApiError, RequestContext};
use crate::params::Params;
use crate::source::Source;
use crate::state::AppState;

/// A request to read one account, admitted: the caller may read the account its path
/// names; `params` are its query parameters, parsed strictly.
pub struct AccountRead<P> {
    pub path: P,
    /// Where to read.
    pub source: Source,
    pub params: Params,
}

impl<P> FromRequestParts<AppState> for AccountRead<P>
where
    P: AccountPath + DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Ok(context) = RequestContext::from_request_parts(parts, state).await;
        let path = Path::<P>::from_request_parts(parts, state).await;
        let (path, source) = authorize(state, &context, path).await?;
        let params = Params::parse(parts.uri.query())?;
        Ok(AccountRead { path, source, params })
    }
}

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
async fn authorize<P: AccountPath>(
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
