//! Go-compatible texts for JSON decoding errors (`encoding/json` scanner messages), so that
//! `cannot decode ...: invalid character 'n' looking for beginning of object key string` reads as
//! it does with Go Pebble.

/// Go's quoting of a byte in scanner errors.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        0x20..=0x7e => format!("'{}'", c as char),
        _ => format!("'\\x{c:02x}'"),
    }
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

type R = Result<(), String>;

fn invalid(c: u8, ctx: &str) -> String {
    format!("invalid character {} {}", quote_char(c), ctx)
}

impl Scan<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eof() -> String {
        "unexpected EOF".into()
    }

    fn value(&mut self, depth: usize) -> R {
        if depth > 10_000 {
            return Err("exceeded max depth".into());
        }
        self.ws();
        let Some(c) = self.peek() else {
            return Err(Self::eof());
        };
        match c {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn object(&mut self, depth: usize) -> R {
        self.i += 1;
        self.ws();
        match self.peek() {
            None => return Err(Self::eof()),
            Some(b'}') => {
                self.i += 1;
                return Ok(());
            }
            Some(b'"') => {}
            Some(c) => return Err(invalid(c, "looking for beginning of object key string")),
        }
        loop {
            self.string()?;
            self.ws();
            match self.peek() {
                None => return Err(Self::eof()),
                Some(b':') => self.i += 1,
                Some(c) => return Err(invalid(c, "after object key")),
            }
            self.value(depth + 1)?;
            self.ws();
            match self.peek() {
                None => return Err(Self::eof()),
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(c) => return Err(invalid(c, "after object key:value pair")),
            }
            self.ws();
            match self.peek() {
                None => return Err(Self::eof()),
                Some(b'"') => {}
                Some(c) => return Err(invalid(c, "looking for beginning of object key string")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> R {
        self.i += 1;
        self.ws();
        match self.peek() {
            None => return Err(Self::eof()),
            Some(b']') => {
                self.i += 1;
                return Ok(());
            }
            _ => {}
        }
        loop {
            self.value(depth + 1)?;
            self.ws();
            match self.peek() {
                None => return Err(Self::eof()),
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(c) => return Err(invalid(c, "after array element")),
            }
        }
    }

    fn string(&mut self) -> R {
        self.i += 1;
        loop {
            let Some(c) = self.peek() else {
                return Err(Self::eof());
            };
            self.i += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(Self::eof());
                    };
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            for _ in 0..4 {
                                let Some(h) = self.peek() else {
                                    return Err(Self::eof());
                                };
                                if !h.is_ascii_hexdigit() {
                                    return Err(invalid(h, "in \\u hexadecimal character escape"));
                                }
                                self.i += 1;
                            }
                        }
                        _ => return Err(invalid(e, "in string escape code")),
                    }
                }
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> R {
        if self.peek() == Some(b'-') {
            self.i += 1;
            match self.peek() {
                None => return Err(Self::eof()),
                Some(c) if c.is_ascii_digit() => {}
                Some(c) => return Err(invalid(c, "in numeric literal")),
            }
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            match self.peek() {
                None => return Err(Self::eof()),
                Some(c) if c.is_ascii_digit() => {
                    self.digits();
                }
                Some(c) => return Err(invalid(c, "after decimal point in numeric literal")),
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            match self.peek() {
                None => return Err(Self::eof()),
                Some(c) if c.is_ascii_digit() => {
                    self.digits();
                }
                Some(c) => return Err(invalid(c, "in exponent of numeric literal")),
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> R {
        let name = String::from_utf8_lossy(word).into_owned();
        self.i += 1;
        for &expect in &word[1..] {
            match self.peek() {
                None => return Err(Self::eof()),
                Some(c) if c == expect => self.i += 1,
                Some(c) => {
                    return Err(invalid(
                        c,
                        &format!("in literal {name} (expecting {})", quote_char(expect)),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The Go scanner error for the first JSON value of `bytes`, if it is malformed.
pub fn syntax_error(bytes: &[u8]) -> Option<String> {
    let mut s = Scan { b: bytes, i: 0 };
    s.value(0).err()
}

/// A Go-like text for a serde_json data error (type mismatches).
pub fn type_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let core = match text.find(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    if let Some(rest) = core.strip_prefix("invalid type: ")
        && let Some((got, want)) = rest.split_once(", expected ")
    {
        let got_kind = if got.starts_with("integer") || got.starts_with("floating") {
            "number"
        } else if got.starts_with("string") {
            "string"
        } else if got.starts_with("boolean") {
            "bool"
        } else if got.starts_with("map") {
            "object"
        } else if got.starts_with("sequence") {
            "array"
        } else {
            got
        };
        let want_kind = match want {
            "a string" => "string",
            "a boolean" => "bool",
            "a sequence" => "[]string",
            "u32" | "u64" | "i32" | "i64" | "i128" | "u16" => "int",
            w if w.starts_with("struct") || w.starts_with("a map") => "map[string]string",
            w => w,
        };
        return format!("json: cannot unmarshal {got_kind} into Go value of type {want_kind}");
    }
    core.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_messages() {
        assert_eq!(
            syntax_error(b"{not json").as_deref(),
            Some("invalid character 'n' looking for beginning of object key string")
        );
        assert_eq!(syntax_error(b"{\"a\":1}trailing"), None);
        assert_eq!(syntax_error(b"{\"a\":").as_deref(), Some("unexpected EOF"));
        assert_eq!(
            syntax_error(b"{\"a\" 1}").as_deref(),
            Some("invalid character '1' after object key")
        );
        assert_eq!(
            syntax_error(b"{\"a\":1 \"b\"}").as_deref(),
            Some("invalid character '\"' after object key:value pair")
        );
        assert_eq!(
            syntax_error(b"[1,]").as_deref(),
            Some("invalid character ']' looking for beginning of value")
        );
        assert_eq!(
            syntax_error(b"nul!").as_deref(),
            Some("invalid character '!' in literal null (expecting 'l')")
        );
        assert_eq!(
            syntax_error(b"{\"a\":[1,2.5e3,\"x\\u00e9\",true,null]}"),
            None
        );
    }
}
