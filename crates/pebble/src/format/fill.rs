//! Word-wrapping of error messages the way Pebble's CLI does it.
//!
//! Pebble wraps API error messages through Go's doc-comment text printer: the message is split
//! into blocks (paragraphs of unindented lines, code blocks of indented lines, separated by a
//! blank line when printed), paragraph words are re-flowed to the width with a
//! minimum-raggedness line breaker that prefers breaking after `.`, `,`, `:` or `;`, and every
//! line after the first gets the hanging indent. The terminal width is 80 columns unless
//! stdout is a terminal or `COLUMNS` says otherwise (at most 100), minus one.

/// The width used by the CLI: terminal width or `$COLUMNS` (80 if below 40), capped at 100.
pub fn term_width() -> usize {
    let mut width = terminal_columns().unwrap_or(0);
    if width == 0 {
        width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .unwrap_or(0);
    }
    if width < 40 {
        width = 80;
    }
    width
}

fn terminal_columns() -> Option<usize> {
    // SAFETY: TIOCGWINSZ on fd 1 only writes into the provided winsize struct.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) };
    if r == 0 && ws.ws_col > 0 {
        Some(ws.ws_col as usize)
    } else {
        None
    }
}

/// Wraps `msg` for printing after a prefix of `indent` columns (`error: ` is 7), using the
/// terminal width.
pub fn fill(msg: &str, indent: usize) -> String {
    fill_width(msg, indent, term_width())
}

/// [`fill`] with an explicit terminal width.
pub fn fill_width(msg: &str, indent: usize, term_width: usize) -> String {
    let width = term_width.min(100) - 1;
    let text_width = width.saturating_sub(indent) as isize;
    let prefix = " ".repeat(indent);
    let out = to_text(msg, &prefix, text_width);
    out.trim().to_string()
}

enum Block {
    Paragraph(Vec<String>),
    Code(Vec<String>),
}

fn is_indented(line: &str) -> bool {
    line.starts_with(' ') || line.starts_with('\t')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn parse(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_blank(line) {
            i += 1;
            continue;
        }
        if is_indented(line) {
            // A code block: indented lines, possibly with blank lines between them.
            let start = i;
            let mut end = i;
            while i < lines.len() && (is_indented(lines[i]) || is_blank(lines[i])) {
                if !is_blank(lines[i]) {
                    end = i + 1;
                }
                i += 1;
            }
            i = end;
            blocks.push(Block::Code(unindent(&lines[start..end])));
        } else {
            let mut para = Vec::new();
            while i < lines.len() && !is_blank(lines[i]) && !is_indented(lines[i]) {
                para.push(lines[i].to_string());
                i += 1;
            }
            blocks.push(Block::Paragraph(para));
        }
    }
    blocks
}

fn unindent(lines: &[&str]) -> Vec<String> {
    let mut common: Option<&str> = None;
    for l in lines.iter().filter(|l| !is_blank(l)) {
        let ws_len = l.len() - l.trim_start_matches([' ', '\t']).len();
        let ws = &l[..ws_len];
        common = Some(match common {
            None => ws,
            Some(c) => {
                let n = c
                    .bytes()
                    .zip(ws.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &c[..n]
            }
        });
    }
    let cut = common.map(str::len).unwrap_or(0);
    lines
        .iter()
        .map(|l| {
            if is_blank(l) {
                String::new()
            } else {
                l[cut..].trim_end().to_string()
            }
        })
        .collect()
}

/// Appends a newline after removing trailing spaces and tabs.
fn write_nl(out: &mut String) {
    let trimmed = out.trim_end_matches([' ', '\t']).len();
    out.truncate(trimmed);
    out.push('\n');
}

fn to_text(text: &str, prefix: &str, width: isize) -> String {
    let mut out = String::new();
    for (i, block) in parse(text).iter().enumerate() {
        if i > 0 {
            out.push_str(prefix);
            write_nl(&mut out);
        }
        match block {
            Block::Paragraph(lines) => {
                let joined = lines.join("\n");
                let words: Vec<&str> = joined.split_whitespace().collect();
                out.push_str(prefix);
                let seq = if width < 0 || words.is_empty() {
                    vec![0, words.len()]
                } else {
                    wrap(&words, width as usize)
                };
                for k in 0..seq.len().saturating_sub(1) {
                    if k > 0 {
                        out.push_str(prefix);
                    }
                    out.push_str(&words[seq[k]..seq[k + 1]].join(" "));
                    write_nl(&mut out);
                }
            }
            Block::Code(lines) => {
                for l in lines {
                    if !l.is_empty() {
                        out.push_str(prefix);
                        out.push_str(l);
                    }
                    write_nl(&mut out);
                }
            }
        }
    }
    out
}

/// Penalty for breaking a line after `word`: none after punctuation, 64 otherwise.
fn penalty(word: &str) -> i64 {
    match word.as_bytes().last() {
        Some(b'.' | b',' | b':' | b';') => 0,
        _ => 64,
    }
}

/// Splits `words` into lines of at most `max` columns, minimising first the squared overflow
/// of lines that cannot fit and then the sum of squared leftover space plus break penalties
/// (the last line is free when it fits). Returns the index of each line's first word, with a
/// final `words.len()`.
fn wrap(words: &[&str], max: usize) -> Vec<usize> {
    let n = words.len();
    let mut total = vec![0i64; n + 1];
    for (i, w) in words.iter().enumerate() {
        total[i + 1] = total[i] + w.chars().count() as i64 + 1;
    }
    let max = max as i64;
    let weight = |i: usize, j: usize| -> (i64, i64) {
        let len = total[j] - 1 - total[i];
        if j == n && len <= max {
            return (0, 0);
        }
        let p = penalty(words[j - 1]);
        let v = (max - len) * (max - len);
        if len > max { (v, p) } else { (0, v + p) }
    };
    // best[j]: minimal cost of laying out words[..j]; from[j]: start of its last line.
    let mut best = vec![(i64::MAX, i64::MAX); n + 1];
    let mut from = vec![0usize; n + 1];
    best[0] = (0, 0);
    for j in 1..=n {
        for i in 0..j {
            let w = weight(i, j);
            let c = (best[i].0 + w.0, best[i].1 + w.1);
            if c < best[j] {
                best[j] = c;
                from[j] = i;
            }
        }
    }
    let mut seq = vec![n];
    let mut j = n;
    while j > 0 {
        j = from[j];
        seq.push(j);
    }
    seq.reverse();
    seq
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_message_is_unchanged() {
        assert_eq!(
            fill_width("layer \"base\" already exists", 7, 80),
            "layer \"base\" already exists"
        );
    }

    #[test]
    fn long_message_wraps_with_hanging_indent() {
        // golden/cli.md #78
        let msg = "open /srv/golden/remote/no/parent/x.txt.542317014~: no such file or directory";
        assert_eq!(
            format!("error: {}\n", fill_width(msg, 7, 80)),
            "error: open /srv/golden/remote/no/parent/x.txt.542317014~: no such file or\n       directory\n"
        );
    }

    #[test]
    fn indented_lines_become_a_block_after_a_blank_line() {
        // golden/cli.md #12 (173 bytes)
        let msg = "cannot parse layer YAML: cannot parse layer \"bad\" section \"services\": yaml: unmarshal errors:\n  line 4: field bogus-field not found in type plan.Service";
        let got = format!("error: {}\n", fill_width(msg, 7, 80));
        let want = "error: cannot parse layer YAML: cannot parse layer \"bad\" section \"services\":\n       yaml: unmarshal errors:\n\n       line 4: field bogus-field not found in type plan.Service\n";
        assert_eq!(got, want);
        assert_eq!(got.len(), 173);
    }

    #[test]
    fn width_is_capped_at_100() {
        let msg = "word ".repeat(40);
        let got = fill_width(msg.trim(), 7, 300);
        for line in got.lines() {
            assert!(line.len() <= 99, "{line:?}");
        }
    }

    #[test]
    fn wrap_prefers_punctuation() {
        let words = ["aaaa", "bbbb,", "cc", "dd"];
        // Width 12: "aaaa bbbb," (10) then "cc dd" rather than "aaaa bbbb," + ... equal fits.
        assert_eq!(wrap(&words, 12), vec![0, 2, 4]);
    }
}
