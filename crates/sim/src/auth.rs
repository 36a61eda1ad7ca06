//! Digest authentication state of one device: nonces, their use counters, failed logins and
//! the illegal-login lock.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::Faults;
use super::digest::{self, Algorithm, ResponseInput};
use super::sync::lock;

/// Outstanding nonces kept per device; the oldest is forgotten beyond this.
const MAX_NONCES: usize = 1024;

/// The account a device accepts.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: String,
    pub password: String,
    pub realm: String,
}

/// What the request presented, as far as authentication is concerned.
pub struct Attempt<'a> {
    pub authorization: Option<&'a str>,
    pub method: &'a str,
    /// Request target (path + query) the digest `uri` must equal.
    pub uri: &'a str,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No (usable) credentials: a plain challenge, not a failed login.
    Challenge,
    /// Wrong user or password: counts toward the lock.
    WrongPassword,
    /// Nonce unknown or expired: `stale="TRUE"`.
    Stale,
    /// Nonce used more often than allowed.
    Reused,
    /// Account locked by earlier failures.
    Locked,
}

/// Content of the `userCheck` body of a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCheck {
    pub retry_login_time: u32,
    pub locked: bool,
    pub unlock_secs: u64,
}

/// A refused request: why, the challenge to send (none for DS-KV6124-style reuse refusals),
/// and the lock status to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub refusal: Refusal,
    pub challenge: Option<Challenge>,
    pub user_check: UserCheck,
}

/// A freshly issued nonce and whether the challenge says `stale="TRUE"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub nonce: String,
    pub stale: bool,
}

struct NonceEntry {
    issued: Instant,
    last_nc: u32,
    uses: u32,
}

struct Inner {
    nonces: HashMap<String, NonceEntry>,
    order: VecDeque<String>,
    rng: StdRng,
    failures: u32,
    locked_until: Option<Instant>,
}

pub struct AuthState {
    account: Account,
    opaque: String,
    inner: Mutex<Inner>,
}

impl AuthState {
    pub fn new(account: Account, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let opaque = random_hex(&mut rng, 8);
        AuthState {
            account,
            opaque,
            inner: Mutex::new(Inner {
                nonces: HashMap::new(),
                order: VecDeque::new(),
                rng,
                failures: 0,
                locked_until: None,
            }),
        }
    }

    pub fn realm(&self) -> &str {
        &self.account.realm
    }

    pub fn opaque(&self) -> &str {
        &self.opaque
    }

    /// Forgets failed logins and any lock.
    pub fn reset_lockout(&self) {
        let mut inner = lock(&self.inner);
        inner.failures = 0;
        inner.locked_until = None;
    }

    /// A fresh challenge outside the normal flow (the mid-pagination 401 fault).
    pub fn fresh_challenge(&self, faults: &Faults) -> Denial {
        let mut inner = lock(&self.inner);
        let now = Instant::now();
        inner.denial(Refusal::Challenge, Some(false), faults, now)
    }

    /// Decides whether a request is authenticated.
    pub fn check(&self, attempt: &Attempt<'_>, faults: &Faults) -> Result<(), Denial> {
        let now = Instant::now();
        let mut inner = lock(&self.inner);
        if let Some(until) = inner.locked_until {
            if now < until {
                return Err(inner.denial(Refusal::Locked, Some(false), faults, now));
            }
            inner.locked_until = None;
            inner.failures = 0;
        }
        let Some(creds) = attempt.authorization.and_then(digest::parse_authorization) else {
            return Err(inner.denial(Refusal::Challenge, Some(false), faults, now));
        };
        let field = |name| creds.get(name).unwrap_or_default();
        let algorithm =
            Algorithm::from_param(creds.get("algorithm")).filter(|a| offered(faults).contains(a));
        let nc = u32::from_str_radix(field("nc"), 16).ok();
        let usable = algorithm.is_some()
            && field("qop") == "auth"
            && nc.is_some()
            && !field("cnonce").is_empty()
            && !field("nonce").is_empty()
            && creds.get("response").is_some()
            && field("realm") == self.account.realm;
        let (Some(algorithm), Some(nc), true) = (algorithm, nc, usable) else {
            return Err(inner.denial(Refusal::Challenge, Some(false), faults, now));
        };
        let expected = digest::expected_response(&ResponseInput {
            algorithm,
            username: &self.account.user,
            realm: &self.account.realm,
            password: &self.account.password,
            method: attempt.method,
            uri: field("uri"),
            nonce: field("nonce"),
            nc: field("nc"),
            cnonce: field("cnonce"),
        });
        if field("username") != self.account.user
            || !expected.eq_ignore_ascii_case(field("response"))
        {
            return Err(inner.fail_login(faults, now));
        }
        if field("uri") != attempt.uri {
            // Signed for another resource: refuse without blaming the password.
            return Err(inner.denial(Refusal::Challenge, Some(false), faults, now));
        }
        inner.use_nonce(field("nonce"), nc, faults, now)?;
        inner.failures = 0;
        Ok(())
    }
}

/// Algorithms the device currently offers.
pub fn offered(faults: &Faults) -> &'static [Algorithm] {
    if faults.dual_challenge {
        &[Algorithm::Sha256, Algorithm::Md5]
    } else if faults.sha256 {
        &[Algorithm::Sha256]
    } else {
        &[Algorithm::Md5]
    }
}

impl Inner {
    fn issue_nonce(&mut self, now: Instant) -> String {
        let nonce = random_hex(&mut self.rng, 16);
        self.nonces.insert(
            nonce.clone(),
            NonceEntry {
                issued: now,
                last_nc: 0,
                uses: 0,
            },
        );
        self.order.push_back(nonce.clone());
        while self.order.len() > MAX_NONCES {
            if let Some(old) = self.order.pop_front() {
                self.nonces.remove(&old);
            }
        }
        nonce
    }

    fn user_check(&self, faults: &Faults, now: Instant) -> UserCheck {
        match self.locked_until {
            Some(until) if until > now => UserCheck {
                retry_login_time: 0,
                locked: true,
                unlock_secs: ceil_secs(until - now),
            },
            _ => UserCheck {
                retry_login_time: faults.lock_after.saturating_sub(self.failures),
                locked: false,
                unlock_secs: 0,
            },
        }
    }

    /// Builds a denial; `stale = None` means no challenge header at all.
    fn denial(
        &mut self,
        refusal: Refusal,
        stale: Option<bool>,
        faults: &Faults,
        now: Instant,
    ) -> Denial {
        let challenge = stale.map(|stale| Challenge {
            nonce: self.issue_nonce(now),
            stale,
        });
        Denial {
            refusal,
            challenge,
            user_check: self.user_check(faults, now),
        }
    }

    fn fail_login(&mut self, faults: &Faults, now: Instant) -> Denial {
        if faults.lock_after > 0 {
            self.failures += 1;
            if self.failures >= faults.lock_after {
                self.failures = 0;
                self.locked_until = Some(now + Duration::from_secs(faults.unlock_secs));
            }
        }
        self.denial(Refusal::WrongPassword, Some(false), faults, now)
    }

    fn use_nonce(
        &mut self,
        nonce: &str,
        nc: u32,
        faults: &Faults,
        now: Instant,
    ) -> Result<(), Denial> {
        let ttl = Duration::from_secs(faults.nonce_ttl_secs);
        let verdict = match self.nonces.get_mut(nonce) {
            None => Err(Refusal::Stale),
            Some(entry) if faults.nonce_ttl_secs > 0 && now.duration_since(entry.issued) >= ttl => {
                Err(Refusal::Stale)
            }
            // A replayed or decreasing nc: a fresh challenge, but nothing is stale about it.
            Some(entry) if nc <= entry.last_nc => Err(Refusal::Challenge),
            Some(entry) if faults.nonce_max_uses > 0 && entry.uses >= faults.nonce_max_uses => {
                Err(Refusal::Reused)
            }
            Some(entry) => {
                entry.uses += 1;
                entry.last_nc = nc;
                Ok(())
            }
        };
        match verdict {
            Ok(()) => Ok(()),
            Err(refusal) => {
                if refusal != Refusal::Challenge {
                    self.nonces.remove(nonce);
                }
                let stale = match refusal {
                    Refusal::Reused if faults.no_challenge_on_reuse => None,
                    Refusal::Stale | Refusal::Reused => Some(true),
                    _ => Some(false),
                };
                Err(self.denial(refusal, stale, faults, now))
            }
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn random_hex(rng: &mut StdRng, bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        let _ = write!(out, "{:02x}", rng.random::<u8>());
    }
    out
}
