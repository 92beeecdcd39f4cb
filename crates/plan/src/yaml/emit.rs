//! A block-style YAML writer matching go-yaml v3's `Marshal` output as Pebble configures it
//! (4-space indent, sequences indented under their key, no line wrapping).

use super::resolve::{Resolved, is_base60_float, is_old_bool, resolve_plain};
use std::cmp::Ordering;

/// A value to write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Out {
    /// A string (quoted as go-yaml would).
    Str(String),
    /// A pre-formatted plain token (numbers).
    Raw(String),
    /// A mapping in the given order.
    Map(Vec<(String, Out)>),
    /// A sequence.
    Seq(Vec<Out>),
}

const INDENT: usize = 4;

/// Writes a top-level value as a YAML document (`{}\n` for an empty mapping).
pub(crate) fn to_yaml(root: &Out) -> String {
    let mut s = String::new();
    match root {
        Out::Map(m) if m.is_empty() => s.push_str("{}\n"),
        Out::Seq(v) if v.is_empty() => s.push_str("[]\n"),
        Out::Map(m) => write_map(&mut s, m, 0),
        Out::Seq(v) => write_seq(&mut s, v, 0),
        Out::Str(v) => {
            write_scalar(&mut s, v, 0, false);
            s.push('\n');
        }
        Out::Raw(v) => {
            s.push_str(v);
            s.push('\n');
        }
    }
    s
}

fn pad(s: &mut String, n: usize) {
    for _ in 0..n {
        s.push(' ');
    }
}

fn write_value(s: &mut String, v: &Out, indent: usize) {
    match v {
        Out::Str(x) => {
            s.push(' ');
            write_scalar(s, x, indent + INDENT, false);
            s.push('\n');
        }
        Out::Raw(x) => {
            s.push(' ');
            s.push_str(x);
            s.push('\n');
        }
        Out::Map(m) if m.is_empty() => s.push_str(" {}\n"),
        Out::Seq(v) if v.is_empty() => s.push_str(" []\n"),
        Out::Map(m) => {
            s.push('\n');
            write_map(s, m, indent + INDENT);
        }
        Out::Seq(v) => {
            s.push('\n');
            write_seq(s, v, indent + INDENT);
        }
    }
}

fn write_map(s: &mut String, m: &[(String, Out)], indent: usize) {
    for (k, v) in m {
        pad(s, indent);
        write_scalar(s, k, indent + INDENT, true);
        s.push(':');
        write_value(s, v, indent);
    }
}

fn write_seq(s: &mut String, items: &[Out], indent: usize) {
    for v in items {
        pad(s, indent);
        s.push('-');
        write_value(s, v, indent);
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blankz(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || is_break(c) || c == '\0',
    }
}

/// go-yaml's notion of a printable character (it escapes the rest in double quotes).
fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) =
        (false, false, false, false);
    let mut line_breaks = false;
    let mut special = false;
    let mut preceded_by_ws = true;
    for i in 0..n {
        let c = chars[i];
        let followed_by_ws = is_blankz(chars.get(i + 1).copied());
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_ws => {
                    block_indicators = true;
                }
                '-' if followed_by_ws => {
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_ws => {
                    block_indicators = true;
                }
                '#' if preceded_by_ws => {
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blankz(Some(c));
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.block_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

fn choose_style(value: &str, simple_key: bool) -> Style {
    let can_plain =
        resolve_plain(value) == Resolved::Str && !(is_base60_float(value) || is_old_bool(value));
    let mut style = if value.contains('\n') {
        Style::Literal
    } else if can_plain {
        Style::Plain
    } else {
        Style::Double
    };
    let a = analyze(value);
    if simple_key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain && (!a.block_plain_allowed || (value.is_empty() && simple_key)) {
        style = Style::Single;
    }
    if style == Style::Single && !a.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!a.block_allowed || simple_key) {
        style = Style::Double;
    }
    style
}

fn write_scalar(s: &mut String, value: &str, content_indent: usize, simple_key: bool) {
    match choose_style(value, simple_key) {
        Style::Plain => s.push_str(value),
        Style::Single => {
            s.push('\'');
            for c in value.chars() {
                if c == '\'' {
                    s.push_str("''");
                } else {
                    s.push(c);
                }
            }
            s.push('\'');
        }
        Style::Double => write_double(s, value),
        Style::Literal => write_literal(s, value, content_indent),
    }
}

fn write_double(s: &mut String, value: &str) {
    s.push('"');
    for c in value.chars() {
        let u = c as u32;
        if !is_printable(c) || u == 0xFEFF || is_break(c) || c == '"' || c == '\\' {
            s.push('\\');
            match c {
                '\0' => s.push('0'),
                '\x07' => s.push('a'),
                '\x08' => s.push('b'),
                '\t' => s.push('t'),
                '\n' => s.push('n'),
                '\x0b' => s.push('v'),
                '\x0c' => s.push('f'),
                '\r' => s.push('r'),
                '\x1b' => s.push('e'),
                '"' => s.push('"'),
                '\\' => s.push('\\'),
                '\u{85}' => s.push('N'),
                '\u{a0}' => s.push('_'),
                '\u{2028}' => s.push('L'),
                '\u{2029}' => s.push('P'),
                _ if u <= 0xFF => s.push_str(&format!("x{u:02X}")),
                _ if u <= 0xFFFF => s.push_str(&format!("u{u:04X}")),
                _ => s.push_str(&format!("U{u:08X}")),
            }
        } else {
            s.push(c);
        }
    }
    s.push('"');
}

fn write_literal(s: &mut String, value: &str, indent: usize) {
    s.push('|');
    if value.starts_with([' ', '\n']) {
        s.push_str(&INDENT.to_string());
    }
    if !value.ends_with('\n') {
        s.push('-');
    } else if value == "\n" || value.ends_with("\n\n") {
        s.push('+');
    }
    s.push('\n');
    let body = value.strip_suffix('\n').unwrap_or(value);
    let lines: Vec<&str> = body.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.is_empty() {
            pad(s, indent);
            s.push_str(line);
        }
        if i + 1 < lines.len() {
            s.push('\n');
        }
    }
    // The caller writes the final line break.
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'g', -1, 64)` (as go-yaml and `%g` do).
pub fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let nd = digits.len() as i32;
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else {
        let dp = exp + 1; // position of the decimal point
        if dp <= 0 {
            out.push_str("0.");
            for _ in 0..(-dp) {
                out.push('0');
            }
            out.push_str(&digits);
        } else if dp >= nd {
            out.push_str(&digits);
            for _ in 0..(dp - nd) {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..dp as usize]);
            out.push('.');
            out.push_str(&digits[dp as usize..]);
        }
    }
    out
}

/// go-yaml's float output (`.inf`, `.nan`, else [`go_format_float`]).
pub(crate) fn yaml_float(f: f64) -> String {
    match go_format_float(f).as_str() {
        "+Inf" => ".inf".into(),
        "-Inf" => "-.inf".into(),
        "NaN" => ".nan".into(),
        s => s.to_string(),
    }
}

/// go-yaml's "natural" ordering of string map keys (`svc-2` < `svc-10`, non-letters before letters).
pub fn go_yaml_key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut digits = false;
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            digits = ar[i].is_ascii_digit();
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return if digits { al } else { bl };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Sorts keys with [`go_yaml_key_less`].
pub(crate) fn sort_keys<T>(v: &mut [(String, T)]) {
    v.sort_by(|a, b| {
        if go_yaml_key_less(&a.0, &b.0) {
            Ordering::Less
        } else if go_yaml_key_less(&b.0, &a.0) {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(v: &str) -> String {
        let mut s = String::new();
        write_scalar(&mut s, v, 4, false);
        s
    }

    #[test]
    fn scalar_styles() {
        assert_eq!(scalar("hello world"), "hello world");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("123"), "\"123\"");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("~"), "\"~\"");
        assert_eq!(scalar("1.5"), "\"1.5\"");
        assert_eq!(scalar("a: b"), "'a: b'");
        assert_eq!(scalar(" x"), "' x'");
        assert_eq!(scalar("- x"), "'- x'");
        assert_eq!(scalar("#x"), "'#x'");
        assert_eq!(scalar("a #x"), "'a #x'");
        assert_eq!(scalar("a#x"), "a#x");
        assert_eq!(scalar("it's"), "it's");
        assert_eq!(scalar("'q'"), "'''q'''");
        assert_eq!(scalar("a\tb"), "\"a\\tb\"");
        assert_eq!(scalar("a\nb"), "|-\n    a\n    b");
        assert_eq!(scalar("a\nb\n"), "|\n    a\n    b");
        assert_eq!(scalar("a \nb"), "\"a \\nb\"");
        assert_eq!(scalar("http://x:80/y"), "http://x:80/y");
        assert_eq!(
            scalar("/bin/sh -c \"echo 'x <y> & z'; exit 1\""),
            "/bin/sh -c \"echo 'x <y> & z'; exit 1\""
        );
        assert_eq!(scalar("2024-01-02"), "\"2024-01-02\"");
        assert_eq!(scalar("30s"), "30s");
        assert_eq!(scalar("héllo"), "héllo");
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(go_format_float(2.0), "2");
        assert_eq!(go_format_float(1.5), "1.5");
        assert_eq!(go_format_float(0.5), "0.5");
        assert_eq!(go_format_float(0.0001), "0.0001");
        assert_eq!(go_format_float(0.00001), "1e-05");
        assert_eq!(go_format_float(100000.0), "100000");
        assert_eq!(go_format_float(1000000.0), "1e+06");
        assert_eq!(go_format_float(123456789.0), "1.23456789e+08");
        assert_eq!(go_format_float(-2.25), "-2.25");
        assert_eq!(yaml_float(f64::INFINITY), ".inf");
    }

    #[test]
    fn natural_key_order() {
        assert!(go_yaml_key_less("svc-2", "svc-10"));
        assert!(go_yaml_key_less("b9", "b10"));
        assert!(go_yaml_key_less("a", "ab"));
        assert!(go_yaml_key_less("a-b", "aa"));
        assert!(!go_yaml_key_less("b", "a"));
        assert!(go_yaml_key_less("A", "a"));
        let mut v = vec![
            ("b10".to_string(), ()),
            ("b9".to_string(), ()),
            ("a".to_string(), ()),
        ];
        sort_keys(&mut v);
        let k: Vec<_> = v.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(k, ["a", "b9", "b10"]);
    }

    #[test]
    fn documents() {
        assert_eq!(to_yaml(&Out::Map(vec![])), "{}\n");
        let doc = Out::Map(vec![(
            "a".into(),
            Out::Map(vec![
                ("l".into(), Out::Seq(vec![Out::Str("x".into())])),
                ("e".into(), Out::Seq(vec![])),
                ("n".into(), Out::Raw("2".into())),
                ("k".into(), Out::Raw("3".into())),
            ]),
        )]);
        assert_eq!(
            to_yaml(&doc),
            "a:\n    l:\n        - x\n    e: []\n    \"n\": 2\n    k: 3\n"
        );
    }
}
