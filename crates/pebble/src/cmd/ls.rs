//! `pebble ls`: list path contents (a glob is allowed on the last path element).

use clap::Args;
use pebble_api::files::FileInfo;
use pebble_client::ListFilesOptions;

use crate::ctx::{self, Ctx};
use crate::error::CliError;
use crate::format::times::TimeFmt;
use crate::format::yaml::Yaml;
use crate::format::{OutputFormat, json_line, tabwriter};

/// Arguments of `pebble ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Display absolute times (in RFC 3339 format). Otherwise, display relative times up to
    /// 60 days, then YYYY-MM-DD.
    #[arg(long)]
    pub abs_time: bool,
    /// List matching entries themselves, not directory contents
    #[arg(short = 'd')]
    pub directory: bool,
    /// Use a long listing format
    #[arg(short = 'l')]
    pub long_format: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Path (or glob on the last element) to list.
    #[arg(value_name = "path", required = true)]
    pub path: String,
}

/// Split `path` into (directory, pattern) when its last element is a glob.
pub fn parse_glob(path: &str) -> Result<(String, String), CliError> {
    let trimmed = path.trim_end_matches('/');
    let (dir, file) = match trimmed.rfind('/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    let is_glob = |s: &str| s.contains(['*', '?', '[']);
    if is_glob(dir) {
        return Err(CliError::msg("can only use globs on the last path element"));
    }
    if is_glob(file) {
        return Ok((dir.to_string(), file.to_string()));
    }
    Ok((path.to_string(), String::new()))
}

/// Go's `os.FileMode.String()` of an entry: type letter, then `rwxrwxrwx`.
pub fn mode_string(fi: &FileInfo) -> String {
    let t = match fi.type_.as_str() {
        "file" => '-',
        "directory" => 'd',
        "symlink" => 'L',
        "socket" => 'S',
        "named-pipe" => 'p',
        "device" => 'D',
        _ => '?',
    };
    let perm = u32::from_str_radix(&fi.permissions, 8).unwrap_or(0);
    let mut s = String::with_capacity(10);
    s.push(t);
    for (i, c) in "rwxrwxrwx".chars().enumerate() {
        s.push(if perm & (1 << (8 - i)) != 0 { c } else { '-' });
    }
    s
}

/// Go's `quantity.FormatAmount(n, -1)` (width 5, SI prefixes above 5000).
pub fn format_amount(amount: u64) -> String {
    if amount <= 5000 {
        return format!("{amount:5}");
    }
    let mut r = amount as f64;
    let mut prefix = 'k';
    for p in "kMGTPEZY".chars() {
        prefix = p;
        r /= 1000.0;
        if r < 999.5 {
            break;
        }
    }
    let width = 4usize;
    let mut digits = 3usize;
    if r < 99.5 {
        digits -= 1;
        if r < 9.5 {
            digits -= 1;
            if r < 0.95 {
                digits -= 1;
            }
        }
    }
    let precision = (width - digits).saturating_sub(1);
    let s = format!("{r:width$.precision$}{prefix}");
    if r < 0.95 { s[1..].to_string() } else { s }
}

/// The long listing (`-l`) of `files`.
pub fn long_listing(files: &[FileInfo], tf: &TimeFmt) -> String {
    let rows = files.iter().map(|fi| {
        let size = match (fi.type_.as_str(), fi.size) {
            ("file", Some(n)) => format!("{}B", format_amount(n.max(0) as u64)),
            _ => "-".to_string(),
        };
        [
            mode_string(fi),
            fi.user.clone(),
            fi.group.clone(),
            format!("{size:>6}"),
            tf.fmt(&fi.last_modified),
            fi.name.clone(),
        ]
    });
    tabwriter::table(rows)
}

fn files_yaml(files: &[FileInfo]) -> String {
    let list = files
        .iter()
        .map(|f| {
            let mut m = vec![
                ("path".to_string(), Yaml::Str(f.path.clone())),
                ("name".to_string(), Yaml::Str(f.name.clone())),
                ("type".to_string(), Yaml::Str(f.type_.clone())),
            ];
            if let Some(n) = f.size {
                m.push(("size".to_string(), Yaml::Int(n)));
            }
            m.push(("permissions".to_string(), Yaml::Str(f.permissions.clone())));
            m.push((
                "last-modified".to_string(),
                Yaml::Raw(f.last_modified.clone()),
            ));
            if let Some(u) = f.user_id {
                m.push(("user-id".to_string(), Yaml::Int(i64::from(u))));
            }
            m.push(("user".to_string(), Yaml::Str(f.user.clone())));
            if let Some(g) = f.group_id {
                m.push(("group-id".to_string(), Yaml::Int(i64::from(g))));
            }
            m.push(("group".to_string(), Yaml::Str(f.group.clone())));
            Yaml::Map(m)
        })
        .collect();
    Yaml::Map(vec![("files".to_string(), Yaml::List(list))]).render()
}

/// Lists the path.
pub async fn run(ctx: &Ctx, args: LsArgs) -> Result<(), CliError> {
    let (path, pattern) = parse_glob(&args.path)?;
    let files = ctx
        .client
        .list_files(&ListFilesOptions {
            path,
            pattern,
            itself: args.directory,
        })
        .await?;
    match args.format {
        OutputFormat::Json => {
            #[derive(serde::Serialize)]
            struct Wrapper<'a> {
                files: &'a [FileInfo],
            }
            ctx::out(&json_line(&Wrapper { files: &files }));
        }
        OutputFormat::Yaml => ctx::out(&files_yaml(&files)),
        OutputFormat::Text if args.long_format => {
            ctx::out(&long_listing(&files, &TimeFmt::new(args.abs_time)));
        }
        OutputFormat::Text => {
            let mut s = String::new();
            for f in &files {
                s.push_str(&f.name);
                s.push('\n');
            }
            ctx::out(&s);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiff::tz::TimeZone;

    fn fi(name: &str, type_: &str, size: Option<i64>, perm: &str, t: &str) -> FileInfo {
        FileInfo {
            path: format!("/srv/golden/remote/{name}"),
            name: name.into(),
            type_: type_.into(),
            size,
            permissions: perm.into(),
            last_modified: t.into(),
            user_id: Some(0),
            user: "root".into(),
            group_id: Some(0),
            group: "root".into(),
        }
    }

    #[test]
    fn golden_69_long_listing() {
        let files = [
            fi("hello.txt", "file", Some(20), "644", "2026-01-01T00:00:00Z"),
            fi("link", "symlink", None, "777", "2026-11-26T22:23:44Z"),
            fi("nonempty", "directory", None, "755", "2026-01-01T00:00:00Z"),
            fi("script.sh", "file", Some(18), "755", "2026-01-01T00:00:00Z"),
        ];
        let tf = TimeFmt {
            abs: false,
            now: "2026-11-26T22:30:00Z".parse().unwrap(),
            tz: TimeZone::UTC,
        };
        assert_eq!(
            long_listing(&files, &tf),
            "-rw-r--r--  root  root     20B  2026-01-01          hello.txt\n\
             Lrwxrwxrwx  root  root       -  today at 22:23 UTC  link\n\
             drwxr-xr-x  root  root       -  2026-01-01          nonempty\n\
             -rwxr-xr-x  root  root     18B  2026-01-01          script.sh\n"
        );
        let tf = TimeFmt { abs: true, ..tf };
        assert!(long_listing(&files[..1], &tf).contains("  2026-01-01T00:00:00Z  hello.txt"));
    }

    #[test]
    fn amounts_like_go() {
        assert_eq!(format_amount(20), "   20");
        assert_eq!(format_amount(5000), " 5000");
        assert_eq!(format_amount(6000), "6.00k");
        assert_eq!(format_amount(12_345), "12.3k");
        assert_eq!(format_amount(123_456), " 123k");
        assert_eq!(format_amount(1 << 30), "1.07G");
    }

    #[test]
    fn globs() {
        assert_eq!(
            parse_glob("/srv/golden/remote/*.txt").unwrap(),
            ("/srv/golden/remote/".into(), "*.txt".into())
        );
        assert_eq!(
            parse_glob("/srv/x/").unwrap(),
            ("/srv/x/".into(), String::new())
        );
        assert_eq!(
            parse_glob("/s*/x").unwrap_err().to_string(),
            "can only use globs on the last path element"
        );
    }
}
