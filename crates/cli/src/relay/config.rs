//! `relay.toml` (docs/push.md#relaytoml): the site, the queue, the terminals and where their secrets are.
//! Secrets (terminal passwords, push tokens) come from the environment or a file, never from this file, and
//! are never printed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use attendance_sync::{parse_host, parse_utc_offset, DeviceConfig, HostPort, Password};
use serde::Deserialize;

/// The site's push method (docs/push.md#the-endpoint).
pub const PUSH_PATH: &str = "/api/method/attendance_sync.api.push";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    site: String,
    queue: PathBuf,
    #[serde(default = "default_poll")]
    poll_secs: f64,
    #[serde(default = "default_backfill")]
    backfill_hours: u32,
    #[serde(default = "default_keep")]
    keep_delivered_days: u32,
    #[serde(default = "default_timeout")]
    site_timeout_secs: f64,
    /// First pause after a failed delivery; it doubles up to `retry_max_secs`.
    #[serde(default = "default_retry_first")]
    retry_first_secs: f64,
    #[serde(default = "default_retry_max")]
    retry_max_secs: f64,
    #[serde(rename = "device")]
    devices: Vec<RawDevice>,
}

fn default_poll() -> f64 {
    30.0
}
fn default_backfill() -> u32 {
    24
}
fn default_keep() -> u32 {
    14
}
fn default_timeout() -> f64 {
    30.0
}
fn default_retry_first() -> f64 {
    1.0
}
fn default_retry_max() -> f64 {
    300.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDevice {
    name: String,
    host: String,
    #[serde(default)]
    https: bool,
    #[serde(default)]
    insecure: bool,
    user: String,
    password_env: String,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    utc_offset: Option<String>,
}

/// A device's push token: no `Display`, a redacted `Debug`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

#[derive(Debug)]
pub struct RelayDevice {
    pub name: String,
    pub device: DeviceConfig,
    pub token: Token,
}

#[derive(Debug)]
pub struct RelayConfig {
    /// `SITE/api/method/attendance_sync.api.push`, without the token.
    pub endpoint: String,
    pub queue: PathBuf,
    pub poll: Duration,
    pub backfill: Duration,
    pub keep_delivered: Duration,
    pub site_timeout: Duration,
    pub retry_first: Duration,
    pub retry_max: Duration,
    pub devices: Vec<RelayDevice>,
}

fn seconds(what: &str, v: f64) -> Result<Duration, String> {
    if v.is_finite() && v > 0.0 {
        Ok(Duration::from_secs_f64(v))
    } else {
        Err(format!("{what} must be a positive number of seconds"))
    }
}

/// The site URL as `scheme://host[:port]` without a trailing slash; HTTPS, or HTTP to this machine only (the
/// token travels in the URL).
fn site_base(site: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(site).map_err(|e| format!("site {site:?}: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "site {site:?}: use https:// (the push token travels in the URL); http:// only to this machine"
            ))
        }
        other => return Err(format!("site {site:?}: unsupported scheme {other:?}")),
    }
    if url.query().is_some() || !url.path().trim_end_matches('/').is_empty() {
        return Err(format!(
            "site {site:?}: give the site's address only (https://erp.example.com); the relay adds {PUSH_PATH}"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn token(dev: &RawDevice) -> Result<Token, String> {
    let name = &dev.name;
    let text = match (&dev.token_env, &dev.token_file) {
        (Some(var), None) => std::env::var(var).map_err(|_| {
            format!("device {name:?}: environment variable {var} (token_env) is not set")
        })?,
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("device {name:?}: token_file {}: {e}", path.display()))?
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
        _ => {
            return Err(format!(
                "device {name:?}: give exactly one of token_env and token_file"
            ))
        }
    };
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(format!("device {name:?}: the push token is empty"));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
    {
        return Err(format!(
            "device {name:?}: the push token has characters a URL would change (expected letters, digits, - _ . ~)"
        ));
    }
    Ok(Token(text))
}

fn device(dev: RawDevice, timeout: Duration) -> Result<RelayDevice, String> {
    let name = dev.name.clone();
    if name.trim().is_empty() {
        return Err("a device has an empty name".into());
    }
    let HostPort { host, port } =
        parse_host(&dev.host).map_err(|e| format!("device {name:?}: host {:?}: {e}", dev.host))?;
    let password = std::env::var(&dev.password_env).map_err(|_| {
        format!(
            "device {name:?}: environment variable {} (password_env) is not set",
            dev.password_env
        )
    })?;
    let token = token(&dev)?;
    let mut cfg = DeviceConfig::new(host, dev.user.clone(), Password::new(password));
    cfg.name = name.clone();
    cfg.port = port;
    cfg.https = dev.https;
    cfg.verify_tls = !dev.insecure;
    cfg.timeout = timeout;
    cfg.utc_offset = match dev.utc_offset.as_deref() {
        Some(text) => {
            Some(parse_utc_offset(text).map_err(|e| format!("device {name:?}: utc_offset: {e}"))?)
        }
        None => None,
    };
    Ok(RelayDevice {
        name,
        device: cfg,
        token,
    })
}

/// The site knows a device by its token: two devices under one token would file one terminal's events under
/// the other. Names both devices, never the token.
fn same_token(devices: &[RelayDevice]) -> Result<(), String> {
    let mut owners: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    for dev in devices {
        if let Some(first) = owners.insert(dev.token.expose(), &dev.name) {
            return Err(format!(
                "devices {first:?} and {:?} have the same push token; each device needs its own (the site \
                 files events under the device its token names): set the token each Device Configuration shows",
                dev.name
            ));
        }
    }
    Ok(())
}

impl RelayConfig {
    pub fn load(path: &Path) -> Result<RelayConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<RelayConfig, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        if raw.devices.is_empty() {
            return Err("no [[device]]".into());
        }
        let site_timeout = seconds("site_timeout_secs", raw.site_timeout_secs)?;
        let mut names = std::collections::HashSet::new();
        let mut devices = Vec::with_capacity(raw.devices.len());
        for dev in raw.devices {
            if !names.insert(dev.name.clone()) {
                return Err(format!(
                    "two devices are named {:?}; names must be unique",
                    dev.name
                ));
            }
            devices.push(device(dev, Duration::from_secs(30))?);
        }
        same_token(&devices)?;
        let retry_first = seconds("retry_first_secs", raw.retry_first_secs)?;
        let retry_max = seconds("retry_max_secs", raw.retry_max_secs)?.max(retry_first);
        Ok(RelayConfig {
            endpoint: format!("{}{PUSH_PATH}", site_base(&raw.site)?),
            queue: raw.queue,
            poll: seconds("poll_secs", raw.poll_secs)?,
            backfill: Duration::from_secs(u64::from(raw.backfill_hours.max(1)) * 3600),
            keep_delivered: Duration::from_secs(u64::from(raw.keep_delivered_days.max(1)) * 86_400),
            site_timeout,
            retry_first,
            retry_max,
            devices,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(extra: &str, vars: &str) -> String {
        format!(
            "site = \"https://erp.example.com/\"\nqueue = \"/tmp/q.sqlite3\"\n{extra}\n[[device]]\nname = \"Gate\"\n\
             host = \"10.0.0.5:8080\"\nuser = \"admin\"\npassword_env = \"{vars}_PW\"\n\
             token_env = \"{vars}_TOKEN\"\n"
        )
    }

    #[test]
    fn reads_a_config_and_never_shows_secrets() {
        std::env::set_var("RELAY_CFG_A_PW", "pw-secret-1");
        std::env::set_var("RELAY_CFG_A_TOKEN", "tok-secret-2");
        let cfg = RelayConfig::parse(&base("poll_secs = 5", "RELAY_CFG_A")).expect("config");
        assert_eq!(
            cfg.endpoint,
            "https://erp.example.com/api/method/attendance_sync.api.push"
        );
        assert_eq!(cfg.poll, Duration::from_secs(5));
        assert_eq!(cfg.devices[0].device.port, Some(8080));
        assert_eq!(cfg.devices[0].token.expose(), "tok-secret-2");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("pw-secret-1") && !shown.contains("tok-secret-2"));
    }

    #[test]
    fn refuses_what_would_leak_or_misroute() {
        std::env::set_var("RELAY_CFG_B_PW", "pw");
        std::env::set_var("RELAY_CFG_B_TOKEN", "tok");
        let base = |extra: &str| base(extra, "RELAY_CFG_B");
        let with_site = |site: &str| base("").replace("https://erp.example.com/", site);
        assert!(RelayConfig::parse(&with_site("http://erp.example.com")).is_err());
        assert!(RelayConfig::parse(&with_site("http://127.0.0.1:8000")).is_ok());
        assert!(RelayConfig::parse(&with_site("https://erp.example.com/api/method/x")).is_err());
        assert!(RelayConfig::parse(&base("poll_secs = 0")).is_err());
        assert!(RelayConfig::parse(&base("").replace("10.0.0.5:8080", "http://10.0.0.5")).is_err());
        let unknown_var = base("").replace("RELAY_CFG_B_TOKEN", "RELAY_CFG_TEST_UNSET_VAR");
        let err = RelayConfig::parse(&unknown_var).expect_err("unset token variable");
        assert!(err.contains("RELAY_CFG_TEST_UNSET_VAR"), "{err}");
        assert!(RelayConfig::parse(&base("colour = 1")).is_err());
    }

    #[test]
    fn one_token_on_two_devices_is_refused_naming_both_and_not_the_token() {
        std::env::set_var("RELAY_CFG_C_PW", "pw");
        std::env::set_var("RELAY_CFG_C_TOKEN", "tok-shared-secret-3");
        let path = std::env::temp_dir().join(format!("relay-cfg-c-{}.token", std::process::id()));
        std::fs::write(&path, "tok-shared-secret-3\n").expect("token file");
        let second = format!(
            "\n[[device]]\nname = \"Back door\"\nhost = \"10.0.0.6\"\nuser = \"admin\"\n\
             password_env = \"RELAY_CFG_C_PW\"\ntoken_file = \"{}\"\n",
            path.display()
        );
        let err = RelayConfig::parse(&(base("", "RELAY_CFG_C") + &second))
            .expect_err("one token on two devices");
        let _ = std::fs::remove_file(&path);
        assert!(
            err.contains("\"Gate\"") && err.contains("\"Back door\"") && err.contains("token"),
            "{err}"
        );
        assert!(!err.contains("tok-shared-secret-3"), "{err}");
    }
}
