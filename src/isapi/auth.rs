//! HTTP Digest (RFC 7616) with session-level nonce reuse.
//!
//! Built on `digest_auth` rather than diqwest's `DigestAuthSession`; the README's design notes say why.
//! After one challenge every request carries credentials up front with an increasing `nc`, so a page costs
//! one HTTP exchange. What to do with a 401 is decided by [`DigestSession::on_unauthorized`].

use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};

use crate::device::Password;

/// What the caller should do after a 401.
#[derive(Debug, PartialEq, Eq)]
pub enum Unauthorized {
    /// The credentials were rejected on a fresh challenge: report, never retry (docs/isapi.md#lockout).
    Rejected,
    /// The nonce went stale or hit the terminal's reuse limit; a fresh challenge is cached: retry once.
    RetryWithFreshChallenge,
    /// 401 without a usable challenge after nonce reuse (DS-KV6124): ask for a challenge, then retry once.
    NeedChallenge,
}

#[derive(Default)]
pub struct DigestSession {
    challenge: Option<WwwAuthenticateHeader>,
    /// The cached challenge has not yet been answered successfully: a 401 to it is a real rejection.
    fresh: bool,
}

impl DigestSession {
    pub fn has_challenge(&self) -> bool {
        self.challenge.is_some()
    }

    /// Caches the strongest challenge among the `WWW-Authenticate` headers (some devices offer MD5 and
    /// SHA-256 as two headers). Returns false when none is a parseable Digest challenge.
    pub fn accept_challenge<'a>(&mut self, headers: impl Iterator<Item = &'a str>) -> bool {
        let best = headers
            .filter(|h| {
                h.trim_start()
                    .get(..6)
                    .is_some_and(|s| s.eq_ignore_ascii_case("digest"))
            })
            .filter_map(|h| digest_auth::parse(h).ok())
            .max_by_key(|c| matches!(c.algorithm.algo, digest_auth::AlgorithmType::SHA2_256) as u8);
        match best {
            Some(c) => {
                self.challenge = Some(c);
                self.fresh = true;
                true
            }
            None => false,
        }
    }

    /// The `Authorization` header for one request, advancing `nc`. `uri` is the path with its query string.
    pub fn authorization(
        &mut self,
        user: &str,
        password: &Password,
        method: &str,
        uri: &str,
        body: Option<&[u8]>,
    ) -> Option<String> {
        let challenge = self.challenge.as_mut()?;
        let ctx = AuthContext::new_with_method(
            user,
            password.expose(),
            uri,
            body,
            HttpMethod::from(method),
        );
        challenge.respond(&ctx).ok().map(|h| h.to_header_string())
    }

    /// The request succeeded: the nonce is known good.
    pub fn on_success(&mut self) {
        self.fresh = false;
    }

    /// Classifies a 401 given its `WWW-Authenticate` headers.
    pub fn on_unauthorized<'a>(&mut self, headers: impl Iterator<Item = &'a str>) -> Unauthorized {
        let was_fresh = self.fresh;
        let had_challenge = self.accept_challenge(headers);
        let stale = had_challenge && self.challenge.as_ref().is_some_and(|c| c.stale);
        if was_fresh && !stale {
            self.fresh = true;
            return Unauthorized::Rejected;
        }
        if had_challenge {
            Unauthorized::RetryWithFreshChallenge
        } else {
            self.challenge = None;
            Unauthorized::NeedChallenge
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7616_MD5: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const RFC7616_SHA256: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

    fn rfc_response(challenge: &str) -> digest_auth::AuthorizationHeader {
        let mut c = digest_auth::parse(challenge).expect("RFC challenge parses");
        // The RFC example answers with qop=auth.
        c.qop = Some(vec![digest_auth::Qop::AUTH]);
        let mut ctx = AuthContext::new("Mufasa", "Circle of Life", "/dir/index.html");
        ctx.set_custom_cnonce("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
        c.respond(&ctx).expect("respond")
    }

    #[test]
    fn rfc7616_md5_vector() {
        let h = rfc_response(RFC7616_MD5);
        // RFC 7616 §3.9.1 prints ...eebdec1, a known erratum; ...eebdbec is what the RFC's inputs hash to.
        assert_eq!(h.response, "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(h.nc, 1);
    }

    #[test]
    fn rfc7616_sha256_vector() {
        let h = rfc_response(RFC7616_SHA256);
        assert_eq!(
            h.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn nc_increases_and_sha256_is_preferred() {
        let mut s = DigestSession::default();
        let md5 = r#"Digest qop="auth", realm="DS-1", nonce="abc", stale="FALSE""#;
        let sha = r#"Digest qop="auth", realm="DS-1", nonce="abc", algorithm=SHA-256"#;
        assert!(s.accept_challenge([md5, sha].into_iter()));
        let pw = Password::new("pw");
        let a = s
            .authorization(
                "admin",
                &pw,
                "POST",
                "/ISAPI/AccessControl/AcsEvent?format=json",
                Some(b"{}"),
            )
            .unwrap();
        let b = s
            .authorization(
                "admin",
                &pw,
                "POST",
                "/ISAPI/AccessControl/AcsEvent?format=json",
                Some(b"{}"),
            )
            .unwrap();
        assert!(
            a.contains("nc=00000001") && b.contains("nc=00000002"),
            "{a} / {b}"
        );
        assert!(a.contains("SHA-256"));
        assert!(a.contains(r#"uri="/ISAPI/AccessControl/AcsEvent?format=json""#));
    }

    #[test]
    fn rejection_rules() {
        let challenge = r#"Digest qop="auth", realm="DS-1", nonce="n1""#;
        let stale = r#"Digest qop="auth", realm="DS-1", nonce="n2", stale="TRUE""#;
        let mut s = DigestSession::default();
        s.accept_challenge([challenge].into_iter());
        // A 401 to a fresh challenge is a wrong password.
        assert_eq!(
            s.on_unauthorized([challenge].into_iter()),
            Unauthorized::Rejected
        );

        let mut s = DigestSession::default();
        s.accept_challenge([challenge].into_iter());
        // Stale is a nonce refresh even on the first use.
        assert_eq!(
            s.on_unauthorized([stale].into_iter()),
            Unauthorized::RetryWithFreshChallenge
        );
        // ... and a second 401 straight after the refresh is a rejection.
        assert_eq!(
            s.on_unauthorized([challenge].into_iter()),
            Unauthorized::Rejected
        );

        let mut s = DigestSession::default();
        s.accept_challenge([challenge].into_iter());
        s.on_success();
        // After the nonce worked, a 401 means the reuse limit: retry once with the new challenge...
        assert_eq!(
            s.on_unauthorized([challenge].into_iter()),
            Unauthorized::RetryWithFreshChallenge
        );
        s.on_success();
        // ... or, with no challenge at all, fetch one.
        assert_eq!(
            s.on_unauthorized(std::iter::empty()),
            Unauthorized::NeedChallenge
        );
        assert!(!s.has_challenge());
    }
}
