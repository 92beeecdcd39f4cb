//! Service commands: shell-like splitting (no expansion) and the `[ default args ]` group.

use crate::error::PlanError;
use crate::quote::go_quote;
use crate::types::Service;

/// Splits a command line like a shell would tokenise it: single quotes, double quotes
/// (where `\` escapes any character), backslash escapes, `#` comments at word starts;
/// no expansion of any kind. Errors use Pebble's (shlex) texts.
pub fn shlex_split(s: &str) -> Result<Vec<String>, String> {
    #[derive(PartialEq)]
    enum St {
        Start,
        Word,
        Escape,
        DQuote,
        DQuoteEscape,
        SQuote,
        Comment,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut st = St::Start;
    for c in s.chars() {
        let space = matches!(c, ' ' | '\t' | '\r' | '\n');
        st = match st {
            St::Start => match c {
                _ if space => St::Start,
                '"' => St::DQuote,
                '\'' => St::SQuote,
                '\\' => St::Escape,
                '#' => St::Comment,
                _ => {
                    word.push(c);
                    St::Word
                }
            },
            St::Word => match c {
                _ if space => {
                    words.push(std::mem::take(&mut word));
                    St::Start
                }
                '"' => St::DQuote,
                '\'' => St::SQuote,
                '\\' => St::Escape,
                _ => {
                    word.push(c);
                    St::Word
                }
            },
            St::Escape => {
                word.push(c);
                St::Word
            }
            St::DQuote => match c {
                '"' => St::Word,
                '\\' => St::DQuoteEscape,
                _ => {
                    word.push(c);
                    St::DQuote
                }
            },
            St::DQuoteEscape => {
                word.push(c);
                St::DQuote
            }
            St::SQuote => match c {
                '\'' => St::Word,
                _ => {
                    word.push(c);
                    St::SQuote
                }
            },
            St::Comment => {
                if c == '\n' {
                    St::Start
                } else {
                    St::Comment
                }
            }
        };
    }
    match st {
        St::Start | St::Comment => Ok(words),
        St::Word => {
            words.push(word);
            Ok(words)
        }
        St::Escape | St::DQuoteEscape => Err("EOF found after escape character".into()),
        St::DQuote | St::SQuote => Err("EOF found when expecting closing quote".into()),
    }
}

/// Quotes one argument so that [`shlex_split`] gives it back unchanged.
pub fn shlex_quote(arg: &str) -> String {
    if arg.is_empty() {
        return "''".into();
    }
    let safe = arg.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
    });
    if safe {
        return arg.to_string();
    }
    format!("'{}'", arg.replace('\'', "'\"'\"'"))
}

/// Joins arguments with [`shlex_quote`].
pub fn shlex_join<S: AsRef<str>>(args: &[S]) -> String {
    args.iter()
        .map(|a| shlex_quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits a service command into (base argv, default args) with Pebble's error texts
/// (`cannot parse service "s" command: ...`).
pub(crate) fn parse_command(
    name: &str,
    command: &str,
) -> Result<(Vec<String>, Vec<String>), String> {
    let wrap = |e: &str| format!("cannot parse service {} command: {e}", go_quote(name));
    let args = shlex_split(command).map_err(|e| wrap(&e))?;
    let mut base = Vec::new();
    let mut extra = Vec::new();
    let (mut in_brackets, mut got_brackets) = (false, false);
    for (idx, arg) in args.into_iter().enumerate() {
        if in_brackets {
            if arg == "[" {
                return Err(wrap("cannot nest [ ... ] groups"));
            }
            if arg == "]" {
                in_brackets = false;
                continue;
            }
            extra.push(arg);
            continue;
        }
        if got_brackets {
            return Err(wrap("cannot have any arguments after [ ... ] group"));
        }
        if arg == "[" {
            if idx == 0 {
                return Err(wrap("cannot start command with [ ... ] group"));
            }
            in_brackets = true;
            got_brackets = true;
            continue;
        }
        if arg == "]" {
            return Err(wrap("cannot have ] outside of [ ... ] group"));
        }
        base.push(arg);
    }
    Ok((base, extra))
}

/// Re-serialises a command: `shlex_join(base)` plus ` [ args ]` when `extra` is not empty.
pub fn command_string<S: AsRef<str>>(base: &[S], extra: &[S]) -> String {
    let mut out = shlex_join(base);
    if !extra.is_empty() {
        out.push_str(" [ ");
        out.push_str(&shlex_join(extra));
        out.push_str(" ]");
    }
    out
}

impl Service {
    /// The command split into (base argv, default args of the `[ ... ]` group).
    /// The argv to execute is `base + default_args` (or `base + --args` given to `pebble run`).
    pub fn command_args(&self) -> Result<(Vec<String>, Vec<String>), PlanError> {
        parse_command(&self.name, &self.command).map_err(PlanError::Other)
    }

    /// The full argv to execute (base + default args).
    pub fn argv(&self) -> Result<Vec<String>, PlanError> {
        let (mut base, extra) = self.command_args()?;
        base.extend(extra);
        Ok(base)
    }

    /// The command string with the default args replaced by `args`, as `pebble run --args`
    /// writes it into its `pebble-service-args` layer (`cmd [ --bar foo ]`).
    pub fn command_with_args<S: AsRef<str>>(&self, args: &[S]) -> Result<String, PlanError> {
        let (base, _) = self.command_args()?;
        let args: Vec<String> = args.iter().map(|a| a.as_ref().to_string()).collect();
        Ok(command_string(&base, &args))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_like_shlex() {
        let cases: &[(&str, &[&str])] = &[
            ("a b  c", &["a", "b", "c"]),
            (
                "/bin/sh -c \"echo 'x <y>'; exit 1\"",
                &["/bin/sh", "-c", "echo 'x <y>'; exit 1"],
            ),
            ("a 'b c' \"d\\\"e\" f\\ g", &["a", "b c", "d\"e", "f g"]),
            ("a '' b", &["a", "", "b"]),
            ("a#b # comment", &["a#b"]),
            ("$HOME *", &["$HOME", "*"]),
            ("", &[]),
        ];
        for (input, want) in cases {
            assert_eq!(shlex_split(input).unwrap(), *want, "{input}");
        }
        assert_eq!(
            shlex_split("foo '").unwrap_err(),
            "EOF found when expecting closing quote"
        );
        assert_eq!(
            shlex_split("foo \\").unwrap_err(),
            "EOF found after escape character"
        );
    }

    #[test]
    fn default_args_group() {
        let ok = parse_command("s", "cmd -v [ --foo bar -e \"x [ y ] z\" ]").unwrap();
        assert_eq!(ok.0, ["cmd", "-v"]);
        assert_eq!(ok.1, ["--foo", "bar", "-e", "x [ y ] z"]);
        let errs = [
            ("[ x ]", "cannot start command with [ ... ] group"),
            ("cmd [ [ x ] ]", "cannot nest [ ... ] groups"),
            (
                "cmd [ x ] y",
                "cannot have any arguments after [ ... ] group",
            ),
            ("cmd ]", "cannot have ] outside of [ ... ] group"),
            ("cmd 'x", "EOF found when expecting closing quote"),
        ];
        for (cmd, msg) in errs {
            assert_eq!(
                parse_command("s", cmd).unwrap_err(),
                format!("cannot parse service \"s\" command: {msg}")
            );
        }
    }

    #[test]
    fn args_replacement() {
        let svc = Service {
            name: "s".into(),
            command: "cmd [ --foo bar ]".into(),
            ..Service::default()
        };
        assert_eq!(
            svc.command_with_args(&["--bar", "foo"]).unwrap(),
            "cmd [ --bar foo ]"
        );
        let svc2 = Service {
            command: "cmd --foo bar [ ]".into(),
            ..svc.clone()
        };
        assert_eq!(
            command_string::<String>(&svc2.command_args().unwrap().0, &[]),
            "cmd --foo bar"
        );
        assert_eq!(
            svc.command_with_args(&["a b", "it's"]).unwrap(),
            "cmd [ 'a b' 'it'\"'\"'s' ]"
        );
        assert_eq!(svc.argv().unwrap(), ["cmd", "--foo", "bar"]);
    }
}
