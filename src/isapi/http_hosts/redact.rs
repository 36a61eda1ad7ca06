//! Push URLs shown without their token: every query value (and a fragment) replaced wherever a URL is shown.

/// What replaces every query value wherever a URL is shown.
pub(super) const REDACTED: &str = "<redacted>";

/// Every query value of every URL in `text` replaced: `?token=abc&x=1` shows as
/// `?token=<redacted>&x=<redacted>`.
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(q) = rest.find(['?', '#']) {
        let fragment = rest[q..].starts_with('#');
        out.push_str(&rest[..=q]);
        rest = &rest[q + 1..];
        let end = rest
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '<' | '"' | '\'') || (c == '#' && !fragment)
            })
            .unwrap_or(rest.len());
        let query = &rest[..end];
        if fragment {
            out.push_str(REDACTED);
            rest = &rest[end..];
            continue;
        }
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) => format!("{k}={REDACTED}"),
                None if pair.is_empty() => String::new(),
                None => REDACTED.to_owned(),
            })
            .collect();
        out.push_str(&redacted.join("&"));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_queries() {
        assert_eq!(
            redact_url("https://s/p?token=abc&x=1"),
            "https://s/p?token=<redacted>&x=<redacted>"
        );
        assert_eq!(redact_url("<url>/p?abc</url>"), "<url>/p?<redacted></url>");
        assert_eq!(redact_url("no query"), "no query");
        assert_eq!(redact_url("/p?a=1#tok"), "/p?a=<redacted>#<redacted>");
    }
}
