//! Slash-separated path helpers with the semantics of Go's `path` package (`Clean`, `Dir`,
//! `Base`, `Join`, `IsAbs`), so that paths in results and messages match Go Pebble.

/// Go `path.IsAbs`.
pub fn is_abs(p: &str) -> bool {
    p.starts_with('/')
}

/// Go `path.Clean`: shortest equivalent path by lexical processing.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            e => parts.push(e),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go `path.Dir`: all but the last element, cleaned.
pub fn dir(p: &str) -> String {
    let i = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..i])
}

/// Go `path.Base`: the last element, with trailing slashes removed; `/` for all-slash paths and
/// `.` for the empty path.
pub fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// Go `path.Join` of two elements (empty elements are ignored; the result is cleaned).
pub fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => clean(&format!("{a}/{b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_semantics() {
        assert_eq!(clean("/a//b/./c/.."), "/a/b");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(clean(""), ".");
        assert_eq!(dir("/srv/x/"), "/srv/x");
        assert_eq!(dir("/srv/x"), "/srv");
        assert_eq!(dir("/"), "/");
        assert_eq!(dir("x"), ".");
        assert_eq!(base("/srv/x/"), "x");
        assert_eq!(base("/"), "/");
        assert_eq!(base("//"), "/");
        assert_eq!(join("/", "/"), "/");
        assert_eq!(
            join("/srv/golden/files", "a.txt"),
            "/srv/golden/files/a.txt"
        );
        assert_eq!(join("/srv/x", "x"), "/srv/x/x");
    }
}
