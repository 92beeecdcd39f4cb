//! A fast generator of 100-byte log lines.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;

/// Length of one generated line, newline included.
pub const LINE_LEN: usize = 100;

/// A buffer of whole 100-byte lines (`line NNNNNN xxxx...\n`), about 64 KiB.
pub fn line_block() -> Vec<u8> {
    let lines = 65536 / LINE_LEN;
    let mut block = Vec::with_capacity(lines * LINE_LEN);
    for i in 0..lines {
        let start = block.len();
        block.extend_from_slice(format!("line {i:06} ").as_bytes());
        block.resize(start + LINE_LEN - 1, b'x');
        block.push(b'\n');
    }
    block
}

/// Write `total` bytes of 100-byte lines to stdout with large unbuffered writes.
pub fn run(total: u64) -> anyhow::Result<()> {
    let block = line_block();
    let mut out = File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    let mut left = total;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_whole_lines() {
        let b = line_block();
        assert_eq!(b.len() % LINE_LEN, 0);
        for line in b.chunks(LINE_LEN) {
            assert_eq!(line.iter().filter(|&&c| c == b'\n').count(), 1);
            assert_eq!(line[LINE_LEN - 1], b'\n');
        }
    }
}
