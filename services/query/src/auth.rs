//! Who is calling, and which accounts they may read.
//!
//! Two kinds of token are accepted, as configured: static tokens from a file
//! (compared in constant time), and Kazoo's own JWTs verified with Kazoo's public key.
//! As Kazoo does, RS256, RS384 and RS512 are accepted (RSA only: the algorithm cannot
//! be switched to one the key does not sign with). Unlike Kazoo, a JWT must carry
//! `exp` unless configured otherwise ([`ExpiryPolicy`]): a token that never expires
//! reads forever once leaked. Expiry allows bounded clock skew. Tokens are never
//! logged.

use std::collections::HashMap;
use std::path::Path;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// How far a JWT's `exp` may be in the past, to absorb clock differences.
pub const JWT_LEEWAY_SECONDS: u64 = 30;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Principal {
    pub account_id: String,
    /// May read the accounts below its own (Crossbar's rule for account tokens).
    #[serde(default)]
    pub descendants: bool,
    /// May read every account.
    #[serde(default)]
    pub superduper_admin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error(
        "{path} is not a JSON object of token -> {{account_id, descendants, superduper_admin}}: {source}"
    )]
    TokenFile { path: String, source: serde_json::Error },
    #[error("{path} holds an empty token or account id")]
    EmptyToken { path: String },
    #[error("{path} is not an RSA public key in PEM: {source}")]
    PublicKey {
        path: String,
        source: jsonwebtoken::errors::Error,
    },
}

/// Why a token was refused (the message never includes the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no X-Auth-Token header or auth_token parameter")]
    Missing,
    #[error("the token is not valid")]
    Invalid,
    #[error("the token has expired")]
    Expired,
    #[error("the token has no expiry (exp claim), which this service requires")]
    NoExpiry,
}

/// What a JWT without an `exp` claim gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExpiryPolicy {
    /// Refused (401): the default.
    #[default]
    Required,
    /// Accepted, as Kazoo accepts it; `exp` is still checked when present.
    Optional,
}

#[derive(Deserialize)]
struct JwtClaims {
    account_id: String,
}

#[derive(Deserialize)]
struct ExpiryClaim {
    exp: Option<u64>,
}

/// The configured ways to accept a token.
#[derive(Default)]
pub struct Authenticator {
    static_tokens: Vec<(Vec<u8>, Principal)>,
    jwt: Option<(DecodingKey, Validation)>,
}

impl Authenticator {
    /// Adds the tokens of a token file (JSON object: token -> principal).
    pub fn with_token_file(mut self, path: &Path) -> Result<Authenticator, AuthConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AuthConfigError::Read {
            path: display.clone(),
            source,
        })?;
        let tokens: HashMap<String, Principal> =
            serde_json::from_str(&text).map_err(|source| AuthConfigError::TokenFile {
                path: display.clone(),
                source,
            })?;
        for (token, principal) in tokens {
            if token.is_empty() || principal.account_id.is_empty() {
                return Err(AuthConfigError::EmptyToken { path: display });
            }
            self = self.with_static_token(&token, principal);
        }
        Ok(self)
    }

    pub fn with_static_token(mut self, token: &str, principal: Principal) -> Authenticator {
        self.static_tokens.push((token.as_bytes().to_vec(), principal));
        self
    }

    /// Accepts Kazoo JWTs (RS256, RS384, RS512) signed by the key in `pem`, with
    /// `exp` required.
    pub fn with_jwt_public_key_pem(self, pem: &[u8], path: &str) -> Result<Authenticator, AuthConfigError> {
        self.with_jwt_key(pem, path, ExpiryPolicy::Required)
    }

    /// Accepts Kazoo JWTs signed by the key in `pem`, `exp` as `expiry` says.
    pub fn with_jwt_key(
        mut self,
        pem: &[u8],
        path: &str,
        expiry: ExpiryPolicy,
    ) -> Result<Authenticator, AuthConfigError> {
        let key = DecodingKey::from_rsa_pem(pem).map_err(|source| AuthConfigError::PublicKey {
            path: path.to_owned(),
            source,
        })?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];
        validation.leeway = JWT_LEEWAY_SECONDS;
        match expiry {
            ExpiryPolicy::Required => validation.set_required_spec_claims(&["exp"]),
            ExpiryPolicy::Optional => validation.set_required_spec_claims::<&str>(&[]),
        }
        self.jwt = Some((key, validation));
        Ok(self)
    }

    pub fn with_jwt_public_key_file(
        self,
        path: &Path,
        expiry: ExpiryPolicy,
    ) -> Result<Authenticator, AuthConfigError> {
        let display = path.display().to_string();
        let pem = std::fs::read(path).map_err(|source| AuthConfigError::Read {
            path: display.clone(),
            source,
        })?;
        self.with_jwt_key(&pem, &display, expiry)
    }

    pub fn is_configured(&self) -> bool {
        !self.static_tokens.is_empty() || self.jwt.is_some()
    }

    /// The caller behind `token`.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Principal, AuthError> {
        let token = token.filter(|t| !t.is_empty()).ok_or(AuthError::Missing)?;
        // Scan every entry so the time taken does not depend on which one matches.
        let mut found = None;
        for (candidate, principal) in &self.static_tokens {
            if bool::from(candidate.as_slice().ct_eq(token.as_bytes())) {
                found = Some(principal);
            }
        }
        if let Some(principal) = found {
            return Ok(principal.clone());
        }
        let Some((key, validation)) = &self.jwt else {
            return Err(AuthError::Invalid);
        };
        match jsonwebtoken::decode::<JwtClaims>(token, key, validation) {
            Ok(data) if !data.claims.account_id.is_empty() => Ok(Principal {
                account_id: data.claims.account_id,
                descendants: true,
                superduper_admin: false,
            }),
            Ok(_) => Err(AuthError::Invalid),
            Err(err) => Err(match err.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                ErrorKind::MissingRequiredClaim(claim) if claim == "exp" => AuthError::NoExpiry,
                _ => AuthError::Invalid,
            }),
        }
    }
}

impl Authenticator {
    /// When `token`, already [authenticated](Authenticator::authenticate), stops being
    /// valid (Unix seconds): a JWT's `exp`; `None` for a token that does not expire (a
    /// static token, a JWT without `exp` where allowed). A stream outliving its
    /// request ends then.
    pub fn expiry(&self, token: &str) -> Option<u64> {
        let (key, validation) = self.jwt.as_ref()?;
        jsonwebtoken::decode::<ExpiryClaim>(token, key, validation)
            .ok()?
            .claims
            .exp
    }
}

impl Principal {
    /// Whether this caller may read `account_id`. Ancestry comes from the account's
    /// own events, so an account with no data is readable only by itself and admins.
    pub fn may_read(&self, account_id: &str, ancestors: Option<&[String]>) -> bool {
        if self.superduper_admin || self.account_id == account_id {
            return true;
        }
        self.descendants && ancestors.is_some_and(|ancestors| ancestors.contains(&self.account_id))
    }

    /// Whether [`Principal::may_read`] needs the account's ancestors to decide.
    pub fn needs_ancestors(&self, account_id: &str) -> bool {
        !self.superduper_admin && self.account_id != account_id && self.descendants
    }
}
