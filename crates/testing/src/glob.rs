//! Shell-style name patterns (`*`, `?`, `[a-z]`, `[^x]`, `\` escapes) as Pebble's file
//! listing applies them to entry names.

const SYNTAX: &str = "syntax error in pattern";

/// Checks that `pattern` is well formed.
pub(crate) fn validate(pattern: &str) -> Result<(), String> {
    let p: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(SYNTAX.into());
                }
                i += 2;
            }
            '[' => {
                i = class_end(&p, i).ok_or_else(|| SYNTAX.to_string())?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Index just after the `]` closing the class that starts at `start`.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if i < p.len() && p[i] == '^' {
        i += 1;
    }
    let mut first = true;
    while i < p.len() {
        match p[i] {
            ']' if !first => return Some(i + 1),
            '\\' => i += 2,
            '-' if first => return None,
            _ => i += 1,
        }
        first = false;
    }
    None
}

fn class_matches(p: &[char], start: usize, end: usize, c: char) -> bool {
    let mut i = start + 1;
    let negate = i < end && p[i] == '^';
    if negate {
        i += 1;
    }
    let mut found = false;
    while i < end - 1 {
        let mut lo = p[i];
        if lo == '\\' {
            i += 1;
            lo = p[i];
        }
        i += 1;
        let mut hi = lo;
        if i + 1 < end - 1 && p[i] == '-' {
            hi = p[i + 1];
            if hi == '\\' && i + 2 < end - 1 {
                hi = p[i + 2];
                i += 1;
            }
            i += 2;
        }
        if lo <= c && c <= hi {
            found = true;
        }
    }
    found != negate
}

/// Whether `name` matches `pattern` (`*` never matches `/`).
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_at(&p, 0, &n, 0)
}

fn match_at(p: &[char], mut pi: usize, n: &[char], mut ni: usize) -> bool {
    while pi < p.len() {
        match p[pi] {
            '*' => {
                let rest = pi + 1;
                let mut k = ni;
                loop {
                    if match_at(p, rest, n, k) {
                        return true;
                    }
                    if k >= n.len() || n[k] == '/' {
                        return false;
                    }
                    k += 1;
                }
            }
            '?' => {
                if ni >= n.len() || n[ni] == '/' {
                    return false;
                }
                pi += 1;
                ni += 1;
            }
            '[' => {
                let Some(end) = class_end(p, pi) else {
                    return false;
                };
                if ni >= n.len() || n[ni] == '/' || !class_matches(p, pi, end, n[ni]) {
                    return false;
                }
                pi = end;
                ni += 1;
            }
            '\\' => {
                if pi + 1 >= p.len() || ni >= n.len() || n[ni] != p[pi + 1] {
                    return false;
                }
                pi += 2;
                ni += 1;
            }
            c => {
                if ni >= n.len() || n[ni] != c {
                    return false;
                }
                pi += 1;
                ni += 1;
            }
        }
    }
    ni == n.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("*.txt", "a.txt"));
        assert!(!matches("*.txt", "a.txt.bak"));
        assert!(matches("a?c", "abc"));
        assert!(matches("[a-c]x", "bx"));
        assert!(!matches("[^a-c]x", "bx"));
        assert!(matches("\\*", "*"));
        assert!(validate("[").is_err());
        assert!(validate("a\\").is_err());
        assert!(validate("*.[ch]").is_ok());
    }
}
