//! Shell-style pattern matching with the semantics of Go's `path.Match`.
//!
//! Syntax: `*` (any run of non-`/` characters), `?` (one non-`/` character), `[...]` classes with
//! an optional leading `^`, ranges `a-z` and `\` escapes, and `\c` for a literal `c`. Every
//! malformed pattern is an error (`syntax error in pattern`), whether or not the name matched
//! before the malformed part was reached.

/// The malformed-pattern error; its text is Go's `path.ErrBadPattern`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

#[derive(Debug)]
enum Token {
    Star,
    Any,
    Lit(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Star => false,
            Token::Any => c != '/',
            Token::Lit(l) => *l == c,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// A compiled pattern.
#[derive(Debug)]
pub struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compile `pattern`, rejecting malformed patterns.
    pub fn new(pattern: &str) -> Result<Self, BadPattern> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if !matches!(tokens.last(), Some(Token::Star)) {
                        tokens.push(Token::Star);
                    }
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::Any);
                    i += 1;
                }
                '\\' => {
                    let c = *chars.get(i + 1).ok_or(BadPattern)?;
                    tokens.push(Token::Lit(c));
                    i += 2;
                }
                '[' => {
                    i += 1;
                    let negated = chars.get(i) == Some(&'^');
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    loop {
                        if chars.get(i) == Some(&']') && !ranges.is_empty() {
                            i += 1;
                            break;
                        }
                        let lo = class_char(&chars, &mut i)?;
                        let mut hi = lo;
                        if chars.get(i) == Some(&'-') {
                            i += 1;
                            hi = class_char(&chars, &mut i)?;
                        }
                        ranges.push((lo, hi));
                    }
                    tokens.push(Token::Class { negated, ranges });
                }
                c => {
                    tokens.push(Token::Lit(c));
                    i += 1;
                }
            }
        }
        Ok(Pattern { tokens })
    }

    /// Whether the whole of `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let t = &self.tokens;
        let (mut ti, mut ni) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ni < name.len() {
            if let Some(tok) = t.get(ti) {
                if matches!(tok, Token::Star) {
                    star = Some((ti, ni));
                    ti += 1;
                    continue;
                }
                if tok.matches(name[ni]) {
                    ti += 1;
                    ni += 1;
                    continue;
                }
            }
            match star {
                Some((st, sn)) if name[sn] != '/' => {
                    star = Some((st, sn + 1));
                    ti = st + 1;
                    ni = sn + 1;
                }
                _ => return false,
            }
        }
        t[ti..].iter().all(|tok| matches!(tok, Token::Star))
    }
}

/// One (possibly escaped) character inside a class; it must be followed by more pattern.
fn class_char(chars: &[char], i: &mut usize) -> Result<char, BadPattern> {
    let c = match chars.get(*i) {
        None | Some('-') | Some(']') => return Err(BadPattern),
        Some('\\') => {
            *i += 1;
            *chars.get(*i).ok_or(BadPattern)?
        }
        Some(&c) => c,
    };
    *i += 1;
    if *i >= chars.len() {
        return Err(BadPattern);
    }
    Ok(c)
}

/// Go `path.Match(pattern, name)`.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    Ok(Pattern::new(pattern)?.matches(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_go() {
        let ok = |p: &str, n: &str| go_match(p, n).unwrap_or(false);
        assert!(ok("*.txt", "a.txt"));
        assert!(!ok("*.txt", "a.log"));
        assert!(ok("abc", "abc"));
        assert!(ok("*", "abc"));
        assert!(ok("*c", "abc"));
        assert!(!ok("a*", "ab/c"));
        assert!(ok("a*/b", "abc/b"));
        assert!(ok("a*b*c*d*e*/f", "axbxcxdxe/f"));
        assert!(!ok("a*b*c*d*e*/f", "axbxcxdxexxx/fff"));
        assert!(ok("a*b?c*x", "abxbbxdbxebxczzx"));
        assert!(!ok("a*b?c*x", "abxbbxdbxebxczzy"));
        assert!(ok("ab[c]", "abc"));
        assert!(ok("ab[b-d]", "abc"));
        assert!(!ok("ab[e-g]", "abc"));
        assert!(!ok("ab[^c]", "abc"));
        assert!(ok("ab[^e-g]", "abc"));
        assert!(ok("a\\*b", "a*b"));
        assert!(!ok("a\\*b", "ab"));
        assert!(ok("a?b", "a☺b"));
        assert!(ok("a[^a]b", "a☺b"));
        assert!(ok("[\\]a]", "]"));
        assert!(ok("[\\-]", "-"));
        assert!(ok("[x\\-]", "x"));
        assert!(!ok("a?b", "a/b"));
        assert!(ok("*x", "xxx"));
    }

    #[test]
    fn bad_patterns_like_go() {
        for p in [
            "[bad", "[]a]", "[-]", "[x-]", "[\\", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "[]",
            "*x[",
        ] {
            assert_eq!(go_match(p, "a"), Err(BadPattern), "pattern {p:?}");
        }
        // A malformed tail is reported even when the name already failed to match.
        assert_eq!(go_match("a[", "x"), Err(BadPattern));
        assert_eq!(BadPattern.to_string(), "syntax error in pattern");
    }
}
