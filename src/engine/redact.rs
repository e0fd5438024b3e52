//! Credentials out of everything shown or stored: URLs reach error
//! messages, the history, the log and the terminal (issue 17).

/// `text` with the credentials in any URL in it hidden: the user and
/// password of `scheme://user:password@host`, and the values of query
/// parameters that carry keys or tokens. URLs reach messages, the history,
/// the log and the terminal; credentials must not.
pub fn redact(text: &str) -> String {
    const SECRET: [&str; 6] = ["key", "api_key", "apikey", "token", "access_token", "password"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest.find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>')).unwrap_or(rest.len());
        let (url, after) = rest.split_at(end);
        let auth_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let (auth, path) = url.split_at(auth_end);
        match auth.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&auth[at..]);
            }
            None => out.push_str(auth),
        }
        match path.split_once('?') {
            Some((p, query)) => {
                out.push_str(p);
                out.push('?');
                let parts: Vec<String> = query
                    .split('&')
                    .map(|kv| match kv.split_once('=') {
                        Some((k, _)) if SECRET.contains(&k.to_ascii_lowercase().as_str()) => format!("{k}=***"),
                        _ => kv.to_string(),
                    })
                    .collect();
                out.push_str(&parts.join("&"));
            }
            None => out.push_str(path),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod redaction {
    use super::redact;

    #[test]
    fn credentials_in_urls_are_hidden_wherever_they_are() {
        assert_eq!(redact("http://user:s3cret@gpu-2:8000/v1"), "http://***@gpu-2:8000/v1");
        assert_eq!(redact("cannot connect to https://me:pw@h/v1/models: refused"), "cannot connect to https://***@h/v1/models: refused");
        assert_eq!(redact("http://h/v1?api_key=abc&x=1"), "http://h/v1?api_key=***&x=1");
        assert_eq!(redact("plain text, http://h:80/v1 and more"), "plain text, http://h:80/v1 and more");
        assert!(crate::engine::remote::insecure_warning("http://user:pw@127.0.0.1:8080/v1").is_none(), "the host is after the user");
        let w = crate::engine::remote::insecure_warning("http://user:pw@gpu-2/v1").unwrap();
        assert!(!w.contains("pw") && w.contains("***@gpu-2"), "{w}");
    }
}
