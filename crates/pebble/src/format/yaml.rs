//! A small YAML emitter matching the output style of Go's yaml.v3 (4-space indentation,
//! block style, strings quoted only when they must be).

/// An ordered YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// A string, quoted as needed.
    Str(String),
    /// Text written as is (times, numbers).
    Raw(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A mapping, in order.
    Map(Vec<(String, Yaml)>),
    /// A sequence.
    List(Vec<Yaml>),
}

impl Yaml {
    /// Renders a document (ends with a newline).
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            Yaml::Map(m) if m.is_empty() => out.push_str("{}\n"),
            Yaml::List(l) if l.is_empty() => out.push_str("[]\n"),
            Yaml::Map(m) => write_map(&mut out, m, 0),
            Yaml::List(l) => write_list(&mut out, l, 0),
            scalar => {
                out.push_str(&scalar_text(scalar, 0));
                out.push('\n');
            }
        }
        out
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, m: &[(String, Yaml)], level: usize) {
    for (k, v) in m {
        indent(out, level);
        out.push_str(&quote(k));
        out.push(':');
        write_value(out, v, level);
    }
}

fn write_list(out: &mut String, l: &[Yaml], level: usize) {
    for v in l {
        indent(out, level);
        out.push('-');
        match v {
            Yaml::Map(m) if !m.is_empty() => {
                // First key on the dash line, the rest aligned under it.
                out.push(' ');
                let mut inner = String::new();
                write_map(&mut inner, m, level + 2);
                out.push_str(inner.trim_start_matches(' '));
            }
            _ => write_value(out, v, level),
        }
    }
}

fn write_value(out: &mut String, v: &Yaml, level: usize) {
    match v {
        Yaml::Map(m) if m.is_empty() => out.push_str(" {}\n"),
        Yaml::List(l) if l.is_empty() => out.push_str(" []\n"),
        Yaml::Map(m) => {
            out.push('\n');
            write_map(out, m, level + 4);
        }
        Yaml::List(l) => {
            out.push('\n');
            write_list(out, l, level + 4);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar, level));
            out.push('\n');
        }
    }
}

fn scalar_text(v: &Yaml, level: usize) -> String {
    match v {
        Yaml::Str(s) if s.contains('\n') => literal_block(s, level),
        Yaml::Str(s) => quote(s),
        Yaml::Raw(s) => s.clone(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Int(i) => i.to_string(),
        _ => String::new(),
    }
}

fn literal_block(s: &str, level: usize) -> String {
    let chomp = if s.ends_with('\n') { "" } else { "-" };
    let mut out = format!("|{chomp}");
    for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(&mut out, level + 4);
            out.push_str(line);
        }
    }
    out
}

/// Would a plain scalar with this text be read back as something other than a string?
fn resolves_to_non_string(s: &str) -> bool {
    matches!(
        s,
        "~" | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | "<<"
    ) || looks_numeric(s)
        || looks_like_timestamp(s)
}

fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    if let Some(h) = t.strip_prefix("0x") {
        return !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(o) = t.strip_prefix("0o") {
        return !o.is_empty() && o.chars().all(|c| c.is_digit(8) || c == '_');
    }
    if let Some(b) = t.strip_prefix("0b") {
        return !b.is_empty() && b.chars().all(|c| c == '0' || c == '1' || c == '_');
    }
    t.parse::<f64>().is_ok() && !t.eq_ignore_ascii_case("inf") && !t.eq_ignore_ascii_case("nan")
        || t.chars().all(|c| c.is_ascii_digit() || c == '_')
}

fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// Needs single quotes to be read back as the same string?
fn needs_quotes(s: &str) -> bool {
    let first = match s.chars().next() {
        Some(c) => c,
        None => return true,
    };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // "-x", "?x", ":x" are plain when followed by a non-space, except for the others.
        let second = s.chars().nth(1);
        let plain_ok = matches!(first, '-' | '?' | ':') && second.is_some_and(|c| c != ' ');
        if !plain_ok {
            return true;
        }
    }
    s.starts_with(' ')
        || s.ends_with(' ')
        || s.ends_with(':')
        || s.contains(": ")
        || s.contains(" #")
        || s.contains('\t')
        || s.chars().any(|c| c.is_control())
}

/// Quotes a string as yaml.v3 would for a plain-style key or value.
pub fn quote(s: &str) -> String {
    if s.is_empty() {
        return "\"\"".to_string();
    }
    if resolves_to_non_string(s) {
        return format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    }
    if needs_quotes(s) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_yaml_matches_golden() {
        let doc = Yaml::Map(vec![(
            "services".into(),
            Yaml::Map(vec![(
                "alpha".into(),
                Yaml::Map(vec![
                    ("name".into(), Yaml::Str("alpha".into())),
                    ("startup".into(), Yaml::Str("enabled".into())),
                    ("current".into(), Yaml::Str("active".into())),
                    (
                        "current-since".into(),
                        Yaml::Raw("2026-11-26T22:23:44.617853505Z".into()),
                    ),
                ]),
            )]),
        )]);
        assert_eq!(
            doc.render(),
            "services:\n    alpha:\n        name: alpha\n        startup: enabled\n        current: active\n        current-since: 2026-11-26T22:23:44.617853505Z\n"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("19"), "\"19\"");
        assert_eq!(quote("*****"), "'*****'");
        assert_eq!(quote("Start service \"gamma\""), "Start service \"gamma\"");
        assert_eq!(quote("true"), "\"true\"");
        assert_eq!(quote("a: b"), "'a: b'");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("example.com/cli"), "example.com/cli");
    }

    #[test]
    fn lists_and_blocks() {
        let doc = Yaml::Map(vec![(
            "changes".into(),
            Yaml::List(vec![Yaml::Map(vec![
                ("id".into(), Yaml::Str("1".into())),
                ("log".into(), Yaml::Str("a\nb\n".into())),
            ])]),
        )]);
        assert_eq!(
            doc.render(),
            "changes:\n    - id: \"1\"\n      log: |\n          a\n          b\n"
        );
    }
}
