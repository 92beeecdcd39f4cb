//! Column alignment compatible with Go's `text/tabwriter` as Pebble configures it
//! (minimum width 5, padding 2, padding character space, no flags).
//!
//! Input lines hold cells separated by `\t`. A cell followed by a tab belongs to a column; the
//! last cell of a line does not and is written as is. A column is aligned over each run of
//! consecutive lines that have a cell in it (a "column block"), exactly like Go does.

/// Minimum column width, padding included.
const MIN_WIDTH: usize = 5;
/// Spaces added to the widest cell of a column.
const PADDING: usize = 2;

/// Aligns tab-separated `text` (lines end with `\n`) into columns.
pub fn align(text: &str) -> String {
    let mut lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    // `split` yields a trailing empty line after the final newline: remember and drop it.
    let trailing_newline = text.ends_with('\n');
    if trailing_newline {
        lines.pop();
    }
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|l| vec![0; l.len()]).collect();
    compute(&lines, &mut widths, 0, 0, lines.len());
    let mut out = String::with_capacity(text.len() * 2);
    for (i, line) in lines.iter().enumerate() {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.len() {
                let w = widths[i][j];
                let n = cell.chars().count();
                out.extend(std::iter::repeat_n(' ', w.saturating_sub(n)));
            }
        }
        if i + 1 < lines.len() || trailing_newline {
            out.push('\n');
        }
    }
    out
}

/// Sets the width of column `col` for every column block within `lines[from..to]`, then
/// recurses into the next column inside each block.
fn compute(lines: &[Vec<&str>], widths: &mut [Vec<usize>], col: usize, from: usize, to: usize) {
    let mut i = from;
    while i < to {
        // A line has a cell in column `col` when it has a cell after it (tab-terminated).
        if lines[i].len() <= col + 1 {
            i += 1;
            continue;
        }
        let start = i;
        let mut width = MIN_WIDTH;
        while i < to && lines[i].len() > col + 1 {
            width = width.max(lines[i][col].chars().count() + PADDING);
            i += 1;
        }
        for w in widths.iter_mut().take(i).skip(start) {
            w[col] = width;
        }
        compute(lines, widths, col + 1, start, i);
    }
}

/// Builds a table from rows of cells and aligns it (each row ends with a newline).
pub fn table<R, C>(rows: R) -> String
where
    R: IntoIterator<Item = C>,
    C: IntoIterator,
    C::Item: AsRef<str>,
{
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row.into_iter().map(|c| c.as_ref().to_string()).collect();
        text.push_str(&cells.join("\t"));
        text.push('\n');
    }
    align(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_table_matches_golden() {
        let got = table([
            ["Service", "Startup", "Current", "Since"],
            ["alpha", "enabled", "inactive", "-"],
            ["ignorefail", "disabled", "inactive", "-"],
        ]);
        assert_eq!(
            got,
            "Service     Startup   Current   Since\n\
             alpha       enabled   inactive  -\n\
             ignorefail  disabled  inactive  -\n"
        );
    }

    #[test]
    fn minimum_width_applies() {
        // "ID" is 2 wide: padded to the minimum width 5.
        let got = table([["ID", "Status"], ["1", "Done"]]);
        assert_eq!(got, "ID   Status\n1    Done\n");
    }

    #[test]
    fn version_table() {
        let got = table([["client", "v1.32.1"], ["server", "v1.32.1"]]);
        assert_eq!(got, "client  v1.32.1\nserver  v1.32.1\n");
    }

    #[test]
    fn column_blocks_are_independent() {
        // The middle line has no tab-terminated cell, so it splits the column into two blocks.
        let got = align("a\tb\nlonger line\nccccccc\td\n");
        assert_eq!(got, "a    b\nlonger line\nccccccc  d\n");
    }

    #[test]
    fn unicode_counts_runes() {
        let got = table([["é", "x"], ["ab", "y"]]);
        assert_eq!(got, "é    x\nab   y\n");
    }
}
