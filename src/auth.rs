//! Who is calling: password hashing (argon2id), access tokens (HS256 JWT), refresh tokens
//! (random, stored only as a hash), and the extractors handlers use (`CurrentUser`, `Staff`,
//! `Admin`), whose failures are problem+json like every other error.

use std::future::{ready, Ready};
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::ids::{Id, VolunteerId};
use crate::domain::people::Role;
use crate::error::AppError;
use crate::startup::AppState;

/// Hashes a password with argon2id and a fresh salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))
}

/// Checks a password against a stored hash. With no hash (unknown phone) it checks against a
/// dummy hash, so a wrong phone and a wrong password take the same time.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash_password("not a real password, only here to spend the same time").unwrap_or_default()
    });
    let known = stored.is_some();
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(dummy)) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && known
}

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// This token's unique id.
    pub jti: String,
    /// The refresh-token family (sign-in session) the token belongs to.
    pub sid: String,
}

/// Signs and checks access tokens with one HS256 secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl TokenKeys {
    /// Keys from the secret; access tokens live `ttl`.
    pub fn new(secret: &[u8], ttl: Duration) -> TokenKeys {
        // Only HS256 is accepted (no `alg: none`, no algorithm confusion); `exp` is required.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        validation.leeway = 0;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// How long an access token lives.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A new access token for `user` in sign-in session `sid`.
    pub fn issue(&self, user: Uuid, role: Role, sid: Uuid) -> Result<String, AppError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user.to_string(),
            role,
            iat: now,
            exp: now + self.ttl.as_secs(),
            jti: Uuid::new_v4().to_string(),
            sid: sid.to_string(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("signing failed: {e}")))
    }

    /// The caller a token names, if the token is genuine and unexpired.
    pub fn check(&self, token: &str) -> Result<CurrentUser, AppError> {
        let invalid = || AppError::Unauthenticated("the access token is invalid or expired");
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| invalid())?;
        let claims = data.claims;
        Ok(CurrentUser {
            id: VolunteerId::parse(&claims.sub).ok_or_else(invalid)?,
            role: claims.role,
            session: Uuid::parse_str(&claims.sid).map_err(|_| invalid())?,
        })
    }
}

/// A new random refresh token (what the client keeps) and its hash (what the database keeps).
pub fn new_refresh_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = refresh_token_hash(&token);
    (token, hash)
}

/// The stored form of a refresh token.
pub fn refresh_token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A signed-in caller, from a valid access token.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Who.
    pub id: VolunteerId,
    /// Their role when the token was issued.
    pub role: Role,
    /// Their sign-in session (refresh-token family).
    pub session: Uuid,
}

impl CurrentUser {
    /// Staff or admin.
    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }

    /// 403 unless the caller has at least `role`.
    pub fn require(self, role: Role) -> Result<CurrentUser, AppError> {
        if self.role >= role {
            Ok(self)
        } else {
            Err(AppError::Forbidden("your role does not allow this"))
        }
    }
}

fn current_user(req: &HttpRequest) -> Result<CurrentUser, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(AppError::Unauthenticated("sign in first: no bearer token"))?;
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(AppError::Unauthenticated(
            "the Authorization header is not a bearer token",
        ))?;
    state.tokens.check(token)
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<CurrentUser, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(current_user(req))
    }
}

/// A signed-in staff member or admin (403 for anyone else).
#[derive(Debug, Clone)]
pub struct Staff(pub CurrentUser);

impl FromRequest for Staff {
    type Error = AppError;
    type Future = Ready<Result<Staff, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            current_user(req)
                .and_then(|u| u.require(Role::Staff))
                .map(Staff),
        )
    }
}

/// A signed-in admin (403 for anyone else).
#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Ready<Result<Admin, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            current_user(req)
                .and_then(|u| u.require(Role::Admin))
                .map(Admin),
        )
    }
}
