//! `pebble exec`: run a command in the workload and wait for it, streaming stdin, stdout and
//! stderr, forwarding signals and terminal resizes; exits with the command's exit code.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::RawFd;
use std::time::Duration;

use clap::Args;
use pebble_client::{ExecController, ExecOptions};
use tokio::signal::unix::{SignalKind, signal};

use crate::ctx::Ctx;
use crate::error::CliError;

/// Arguments of `pebble exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Working directory to run command in
    #[arg(short = 'w', value_name = "DIR")]
    pub working_dir: Option<String>,
    /// Environment variable to set (in 'FOO=bar' format)
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// User ID to run command as
    #[arg(long = "uid")]
    pub uid: Option<u32>,
    /// Username to run command as (user's UID must match uid if both present)
    #[arg(long = "user")]
    pub user: Option<String>,
    /// Group ID to run command as
    #[arg(long = "gid")]
    pub gid: Option<u32>,
    /// Group name to run command as (group's GID must match gid if both present)
    #[arg(long = "group")]
    pub group: Option<String>,
    /// Timeout after which to terminate command
    #[arg(long = "timeout", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Run the command in the context of this service (its environment, user, group and
    /// working directory)
    #[arg(long = "context", value_name = "SERVICE")]
    pub context: Option<String>,
    /// Allocate remote pseudo-terminal and connect stdout to it (default if stdout is a TTY)
    #[arg(short = 't')]
    pub terminal: bool,
    /// Disable remote pseudo-terminal allocation
    #[arg(short = 'T')]
    pub no_terminal: bool,
    /// Interactive mode: connect stdin to the pseudo-terminal (default if stdin and stdout are
    /// TTYs)
    #[arg(short = 'i')]
    pub interactive: bool,
    /// Disable interactive mode and use a pipe for stdin
    #[arg(short = 'I')]
    pub non_interactive: bool,
    /// The command and its arguments.
    #[arg(
        value_name = "command",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let nanos = pebble_plan::go_duration::parse_nanos(s).map_err(|e| e.to_string())?;
    Ok(Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)))
}

fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// `(width, height)` of the terminal on `fd`.
fn term_size(fd: RawFd) -> Option<(u32, u32)> {
    // SAFETY: TIOCGWINSZ writes a winsize struct to a valid pointer.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) == 0)
            .then(|| (u32::from(ws.ws_col), u32::from(ws.ws_row)))
    }
}

/// Puts a terminal in raw mode and restores it when dropped.
struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    fn enable(fd: RawFd) -> Result<RawMode, String> {
        // SAFETY: tcgetattr/tcsetattr on a terminal descriptor with valid termios pointers.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return Err(std::io::Error::last_os_error().to_string());
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(fd, libc::TCSANOW, &raw) != 0 {
                return Err(std::io::Error::last_os_error().to_string());
            }
            Ok(RawMode { fd, saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restoring the attributes saved from the same descriptor.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved);
        }
    }
}

/// Whether fds 1 and 2 are the same file (then stderr is merged on the server, as Pebble does).
fn stdout_is_stderr() -> bool {
    match (
        std::fs::read_link("/proc/self/fd/1"),
        std::fs::read_link("/proc/self/fd/2"),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Forward local signals (and window size changes) to the command until it finishes. Returns
/// when SIGHUP arrives (after forwarding it).
async fn forward_signals(ctl: ExecController, terminal: bool) {
    const FORWARDED: &[(libc::c_int, &str)] = &[
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGQUIT, "SIGQUIT"),
        (libc::SIGABRT, "SIGABRT"),
        (libc::SIGTSTP, "SIGTSTP"),
        (libc::SIGTTIN, "SIGTTIN"),
        (libc::SIGTTOU, "SIGTTOU"),
        (libc::SIGUSR1, "SIGUSR1"),
        (libc::SIGUSR2, "SIGUSR2"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGCONT, "SIGCONT"),
    ];
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<libc::c_int>();
    let mut all: Vec<libc::c_int> = FORWARDED.iter().map(|(s, _)| *s).collect();
    all.push(libc::SIGWINCH);
    all.push(libc::SIGHUP);
    for sig in all {
        let Ok(mut stream) = signal(SignalKind::from_raw(sig)) else {
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(sig).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    while let Some(sig) = rx.recv().await {
        if sig == libc::SIGWINCH {
            if terminal && let Some((w, h)) = term_size(1) {
                ctl.resize(w, h);
            }
        } else if sig == libc::SIGHUP {
            ctl.signal("SIGHUP");
            return;
        } else if let Some((_, name)) = FORWARDED.iter().find(|(s, _)| *s == sig) {
            ctl.signal(name);
        }
    }
    std::future::pending::<()>().await;
}

/// Runs `pebble exec`. On completion the process exits directly with the command's exit code
/// (a pending read of the local stdin must not keep the CLI alive).
pub async fn run(ctx: &Ctx, args: ExecArgs) -> Result<(), CliError> {
    match run_code(ctx, args).await? {
        Some(code) => {
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            std::process::exit(code);
        }
        None => {
            // SIGHUP: the \r because the terminal may be in raw mode.
            crate::ctx::err("SIGHUP received, exiting\r\n");
            std::process::exit(0);
        }
    }
}

/// Runs the command of `pebble exec` and returns its exit code (`None`: interrupted by SIGHUP)
/// without exiting; the caller must exit the process soon (a read of the local stdin may still
/// be pending).
pub async fn run_code(ctx: &Ctx, args: ExecArgs) -> Result<Option<i32>, CliError> {
    if args.terminal && args.no_terminal {
        return Err(CliError::msg("cannot use -t and -T at the same time"));
    }
    if args.interactive && args.non_interactive {
        return Err(CliError::msg("cannot use -i and -I at the same time"));
    }
    let mut env = BTreeMap::new();
    if let Ok(term) = std::env::var("TERM") {
        env.insert("TERM".to_string(), term);
    }
    for kv in &args.env {
        let (k, v) = kv.split_once('=').unwrap_or((kv.as_str(), ""));
        env.insert(k.to_string(), v.to_string());
    }
    let stdout_tty = isatty(1);
    let stdin_tty = isatty(0);
    let terminal = if args.terminal {
        true
    } else if args.no_terminal {
        false
    } else {
        stdout_tty
    };
    let interactive = if args.interactive {
        true
    } else if args.non_interactive {
        false
    } else {
        stdin_tty && stdout_tty
    };
    let (width, height) = if stdout_tty {
        term_size(1).unwrap_or((0, 0))
    } else {
        (0, 0)
    };
    let opts = ExecOptions {
        command: args.command,
        service_context: args.context,
        environment: env,
        working_dir: args.working_dir,
        timeout: args.timeout,
        user_id: args.uid,
        user: args.user,
        group_id: args.gid,
        group: args.group,
        terminal,
        interactive,
        split_stderr: !stdout_is_stderr(),
        width,
        height,
    };
    let raw = if terminal && stdin_tty {
        Some(
            RawMode::enable(0)
                .map_err(|e| CliError::Msg(format!("cannot change terminal to raw mode: {e}")))?,
        )
    } else {
        None
    };
    let result = run_process(ctx, &opts, terminal).await;
    drop(raw);
    result
}

/// Start the command, stream its I/O and wait; `None` when interrupted by SIGHUP.
async fn run_process(
    ctx: &Ctx,
    opts: &ExecOptions,
    terminal: bool,
) -> Result<Option<i32>, CliError> {
    let mut process = ctx.client.exec(opts).await?;
    let signals = forward_signals(process.controller(), terminal);
    let work = async {
        let stderr = opts.split_stderr.then(tokio::io::stderr);
        process
            .stream(Some(tokio::io::stdin()), tokio::io::stdout(), stderr)
            .await?;
        Ok::<_, CliError>(process.wait().await?)
    };
    tokio::select! {
        r = work => r.map(Some),
        _ = signals => Ok(None),
    }
}
