//! One terminal's HTTP session: a keep-alive connection, digest auth, typed errors, bounded retries.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex as StdMutex;

use bytes::Bytes;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::Method;
use tokio::sync::Mutex;

use super::auth::{DigestSession, Unauthorized};
use super::status::{parse_status, parse_user_check};
use crate::device::DeviceConfig;
use crate::error::{excerpt, Error, LockInfo, TransportError};

struct Reply {
    status: u16,
    challenges: Vec<String>,
    body: Bytes,
}

pub struct IsapiClient {
    cfg: DeviceConfig,
    base: String,
    http: reqwest::Client,
    session: Mutex<DigestSession>,
    /// Set by the first credential rejection: no further request goes out (docs/isapi.md#lockout).
    auth_failed: AtomicBool,
    auth_error: StdMutex<Option<LockInfo>>,
    exchanges: AtomicU64,
    bytes: AtomicU64,
}

impl IsapiClient {
    pub fn new(cfg: DeviceConfig) -> Result<Self, Error> {
        let base = cfg.base_url();
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .danger_accept_invalid_certs(!cfg.verify_tls)
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .http1_only()
            .no_proxy()
            .build()
            .map_err(|e| {
                Error::Transport(Box::new(TransportError::new(
                    &cfg.name,
                    &base,
                    e,
                    cfg.connect_timeout,
                    cfg.timeout,
                )))
            })?;
        Ok(IsapiClient {
            cfg,
            base,
            http,
            session: Mutex::new(DigestSession::default()),
            auth_failed: AtomicBool::new(false),
            auth_error: StdMutex::new(None),
            exchanges: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &DeviceConfig {
        &self.cfg
    }

    pub fn device(&self) -> &str {
        &self.cfg.name
    }

    /// HTTP exchanges sent so far (challenges included).
    pub fn exchanges(&self) -> u64 {
        self.exchanges.load(Ordering::Relaxed)
    }

    /// Response body bytes received so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub async fn get(&self, path: &str) -> Result<Bytes, Error> {
        self.request(Method::GET, path, None, Ok).await
    }

    /// PUTs a document (XML or JSON, told apart by its first byte) and returns the answer's body.
    pub async fn put(&self, path: &str, body: Vec<u8>) -> Result<Bytes, Error> {
        self.request(Method::PUT, path, Some(Bytes::from(body)), Ok)
            .await
    }

    /// POSTs JSON and reads the answer with `read`; a garbled answer is retried like a failed exchange.
    pub async fn post_json_read<T>(
        &self,
        path: &str,
        body: Vec<u8>,
        read: impl Fn(Bytes) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.request(Method::POST, path, Some(Bytes::from(body)), read)
            .await
    }

    /// A request with transient failures (timeouts, 5xx, dropped connections, garbled bodies) retried under
    /// the device's policy with bounded backoff.
    async fn request<T>(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        read: impl Fn(Bytes) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut attempt = 0;
        loop {
            let outcome = match self.request_once(method.clone(), path, body.clone()).await {
                Ok(bytes) => read(bytes),
                Err(e) => Err(e),
            };
            match outcome {
                Err(e) if e.is_transient() && attempt < self.cfg.retry.retries => {
                    tokio::time::sleep(self.cfg.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn request_once(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Bytes, Error> {
        if self.auth_failed.load(Ordering::Acquire) {
            return Err(self.auth_error(self.remembered_lock()));
        }
        let mut session = self.session.lock().await;
        if !session.has_challenge() {
            if let Some(reply) = self
                .fetch_challenge(&mut session, &method, path, &body)
                .await?
            {
                return self.finish(path, reply);
            }
        }
        let mut recovered = false;
        loop {
            let auth = session.authorization(
                &self.cfg.user,
                &self.cfg.password,
                method.as_str(),
                path,
                body.as_deref(),
            );
            let reply = self.send(&method, path, &body, auth).await?;
            if reply.status != 401 {
                session.on_success();
                return self.finish(path, reply);
            }
            let lock = parse_user_check(&reply.body);
            if lock.locked {
                return Err(self.reject(lock));
            }
            match session.on_unauthorized(reply.challenges.iter().map(String::as_str)) {
                // One recovery per request: a second nonce complaint in a row is treated as a rejection.
                Unauthorized::Rejected => return Err(self.reject(lock)),
                _ if recovered => return Err(self.reject(lock)),
                Unauthorized::RetryWithFreshChallenge => recovered = true,
                Unauthorized::NeedChallenge => {
                    recovered = true;
                    if let Some(reply) = self
                        .fetch_challenge(&mut session, &method, path, &body)
                        .await?
                    {
                        return self.finish(path, reply);
                    }
                }
            }
        }
    }

    /// Sends the request without credentials to obtain a challenge (an unauthenticated 401 does not count
    /// as a failed login). Returns the reply when the device answered without asking for credentials.
    async fn fetch_challenge(
        &self,
        session: &mut DigestSession,
        method: &Method,
        path: &str,
        body: &Option<Bytes>,
    ) -> Result<Option<Reply>, Error> {
        let reply = self.send(method, path, body, None).await?;
        if reply.status != 401 {
            return Ok(Some(reply));
        }
        let lock = parse_user_check(&reply.body);
        if lock.locked {
            return Err(self.reject(lock));
        }
        if !session.accept_challenge(reply.challenges.iter().map(String::as_str)) {
            let offered = reply.challenges.join(" | ");
            return Err(Error::Protocol {
                device: self.cfg.name.clone(),
                path: path.to_owned(),
                what: format!(
                    "401 without a Digest challenge (WWW-Authenticate: {offered:?}); set the terminal's WEB \
                     Authentication to digest"
                ),
                excerpt: excerpt(&reply.body),
            });
        }
        Ok(None)
    }

    fn finish(&self, path: &str, reply: Reply) -> Result<Bytes, Error> {
        if (200..300).contains(&reply.status) {
            Ok(reply.body)
        } else {
            Err(Error::Http {
                device: self.cfg.name.clone(),
                status: reply.status,
                path: path.to_owned(),
                isapi: Box::new(parse_status(&reply.body)),
            })
        }
    }

    fn reject(&self, lock: LockInfo) -> Error {
        self.auth_failed.store(true, Ordering::Release);
        if let Ok(mut slot) = self.auth_error.lock() {
            *slot = Some(lock.clone());
        }
        self.auth_error(lock)
    }

    fn remembered_lock(&self) -> LockInfo {
        self.auth_error
            .lock()
            .ok()
            .and_then(|slot| slot.clone())
            .unwrap_or_default()
    }

    fn auth_error(&self, lock: LockInfo) -> Error {
        Error::Auth {
            device: self.cfg.name.clone(),
            user: self.cfg.user.clone(),
            lock,
        }
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        body: &Option<Bytes>,
        auth: Option<String>,
    ) -> Result<Reply, Error> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            // Configuration resources (httpHosts) take XML, access-control ones JSON.
            let content_type = if super::xml::looks_like_xml(b) {
                "application/xml"
            } else {
                "application/json"
            };
            req = req
                .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
                .body(b.clone());
        }
        if let Some(a) = auth {
            req = req.header(AUTHORIZATION, a);
        }
        self.exchanges.fetch_add(1, Ordering::Relaxed);
        let resp = req
            .send()
            .await
            .map_err(|e| self.transport_error(&url, e))?;
        let status = resp.status().as_u16();
        let challenges = resp
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.transport_error(&url, e))?;
        self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        Ok(Reply {
            status,
            challenges,
            body,
        })
    }

    /// The one place an exchange failure is classified (see [`TransportError`]).
    fn transport_error(&self, url: &str, e: reqwest::Error) -> Error {
        Error::Transport(Box::new(TransportError::new(
            &self.cfg.name,
            url,
            e,
            self.cfg.connect_timeout,
            self.cfg.timeout,
        )))
    }
}
