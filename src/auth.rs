//! Who is calling: password hashing (argon2id, on a few dedicated threads), access tokens
//! (HS256 JWT), refresh tokens (random, stored only as a hash), and the extractors handlers use
//! (`CurrentUser`, `Staff`, `Admin`), whose failures are problem+json like every other error.

use std::future::{ready, Ready};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};
use argon2::password_hash::PasswordHash;
use argon2::password_hash::{self, rand_core::OsRng, Output, ParamsString, Salt, SaltString};
use argon2::{Algorithm as Argon2Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::ids::{Id, VolunteerId};
use crate::domain::people::{Password, Role};
use crate::error::AppError;
use crate::startup::AppState;

/// Hashes a password with argon2id and a fresh salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, AppError> {
    hash_in(password, &mut Vec::new())
}

/// [`hash_password`] with `memory` as argon2's working memory (grown to fit, then reused).
fn hash_in(password: &str, memory: &mut Vec<Block>) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    let (algorithm, version, params) = (
        Argon2Algorithm::default(),
        Version::default(),
        Params::default(),
    );
    let output = argon2id(
        algorithm,
        version,
        params.clone(),
        password,
        salt.as_salt(),
        memory,
    )
    .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))?;
    let phc = PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks a password against a stored hash, with `memory` as argon2's working memory. With no
/// hash (unknown phone) it checks against a dummy hash, so a wrong phone and a wrong password take
/// the same time.
fn verify_in(password: &str, stored: Option<&str>, memory: &mut Vec<Block>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash_in(
            "not a real password, only here to spend the same time",
            memory,
        )
        .unwrap_or_default()
    });
    let known = stored.is_some();
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(dummy)) else {
        return false;
    };
    let computed = (|| {
        let (Some(salt), Some(_)) = (parsed.salt, parsed.hash) else {
            return Err(password_hash::Error::Password);
        };
        let version = parsed.version.map(Version::try_from).transpose()?;
        argon2id(
            Argon2Algorithm::try_from(parsed.algorithm)?,
            version.unwrap_or_default(),
            Params::try_from(&parsed)?,
            password,
            salt,
            memory,
        )
    })();
    // `Output`'s equality is constant-time.
    let ok = computed.is_ok_and(|out| Some(out) == parsed.hash);
    ok && known
}

/// One argon2 computation, what the crate's `PasswordHasher` does, but in `memory` rather than a
/// fresh ~19 MiB allocation each time (which the allocator keeps around, per thread).
fn argon2id(
    algorithm: Argon2Algorithm,
    version: Version,
    params: Params,
    password: &str,
    salt: Salt<'_>,
    memory: &mut Vec<Block>,
) -> password_hash::Result<Output> {
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut salt_buf)?;
    memory.resize(params.block_count(), Block::default());
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let argon = Argon2::new(algorithm, version, params);
    Output::init_with(len, |out| {
        Ok(
            argon.hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                out,
                &mut memory[..],
            )?,
        )
    })
}

/// Runs password hashes (argon2id: ~19 MiB and tens of milliseconds each) on a few threads of
/// their own, at most one per thread at a time.
///
/// Bounding the hashes keeps the CPU and memory they take from requests that need neither, and
/// dedicated threads keep memory flat: the allocator keeps each hashing thread's arena, so hashes
/// spread over the blocking pool's hundreds of threads would keep ~19 MiB per thread. A request
/// that cannot get a thread within its wait is answered 503 `unavailable`.
pub struct Hasher {
    slots: Arc<tokio::sync::Semaphore>,
    jobs: mpsc::Sender<Job>,
    wait: Duration,
}

/// Work for a hashing thread, given the thread's argon2 memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

impl Hasher {
    /// `threads` hashing threads (at least one); a request waits at most `wait` for one.
    pub fn new(threads: usize, wait: Duration) -> std::io::Result<Hasher> {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            // A thread ends when the hasher (the only sender) is dropped.
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = job else { return };
                        // A job that panics fails its own request, never the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            job(&mut memory)
                        }));
                    }
                })?;
        }
        Ok(Hasher {
            slots: Arc::new(tokio::sync::Semaphore::new(threads)),
            jobs,
            wait,
        })
    }

    /// A new password's hash (see [`hash_password`]).
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        self.run(move |memory| hash_in(password.expose(), memory))
            .await?
    }

    /// Whether `password` matches `stored`. With no hash (unknown phone) it checks against a dummy
    /// hash, so a wrong phone and a wrong password take the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, AppError> {
        self.run(move |memory| verify_in(&password, stored.as_deref(), memory))
            .await
    }

    /// Runs `work` on a hashing thread once one is free (503 if none is within the wait).
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        // The slot goes with the job and is freed when the job ends, not when the request does:
        // requests given up on cannot pile jobs up behind the threads.
        let slot = actix_web::rt::time::timeout(self.wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| {
                tracing::warn!("no password-hashing thread free in time");
                AppError::Unavailable
            })?
            .map_err(|e| AppError::Internal(e.into()))?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move |memory| {
            let _ = answer.send(span.in_scope(|| work(memory)));
            drop(slot);
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the hashing threads are gone")))?;
        answered
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("a password hash panicked")))
    }
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

/// The signed-in caller: the one `api::idempotency` already read for this request, else the
/// bearer token's.
pub(crate) fn current_user(req: &HttpRequest) -> Result<CurrentUser, AppError> {
    if let Some(caller) = req.extensions().get::<CurrentUser>() {
        return Ok(caller.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no app state")))?;
    state.tokens.check(bearer_token(req)?)
}

/// The token of the `Authorization: Bearer <token>` header (401 when missing or not a bearer).
pub fn bearer_token(req: &HttpRequest) -> Result<&str, AppError> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(AppError::Unauthenticated("sign in first: no bearer token"))?;
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    header
        .to_str()
        .ok()
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(AppError::Unauthenticated(
            "the Authorization header is not a bearer token",
        ))
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

#[cfg(test)]
mod tests {
    use argon2::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_in_reused_memory_are_standard_argon2id_phc_strings() {
        let mut memory = Vec::new();
        let ours = hash_in("correct horse battery", &mut memory).expect("a hash");
        let parsed = PasswordHash::new(&ours).expect("a PHC string");
        assert!(Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        let theirs = Argon2::default()
            .hash_password(b"staple", &SaltString::generate(&mut OsRng))
            .expect("a hash")
            .to_string();
        assert!(verify_in("staple", Some(&theirs), &mut memory));
        assert!(!verify_in("stapler", Some(&theirs), &mut memory));
        assert!(verify_in("correct horse battery", Some(&ours), &mut memory));
        assert!(!verify_in("correct horse battery", None, &mut memory));
        assert!(!verify_in("x", Some("not a hash"), &mut memory));
    }
}
