//! URL query strings.

/// An ordered list of query parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Query::default()
    }

    /// Appends `key=value`.
    pub fn push(&mut self, key: &str, value: &str) -> &mut Self {
        self.pairs.push((key.to_string(), value.to_string()));
        self
    }

    /// `?k=v&...` (percent-encoded), or an empty string when there are no parameters.
    pub fn to_query_string(&self) -> String {
        if self.pairs.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect();
        format!("?{}", parts.join("&"))
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters (commas are kept too,
/// since list parameters use them).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b',') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_pairs() {
        let mut q = Query::new();
        q.push("names", "a,b").push("x", "a b&c/é");
        assert_eq!(q.to_query_string(), "?names=a,b&x=a%20b%26c%2F%C3%A9");
        assert_eq!(Query::new().to_query_string(), "");
    }
}
