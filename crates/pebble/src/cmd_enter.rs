//! `pebble enter`: run a subcommand against a daemon started in this process (a container
//! entrypoint), or behave as `pebble run` without a subcommand.
//!
//! The daemon runs on its own thread and current-thread runtime (`pebble_daemon::run::
//! run_embedded`); once it is ready (socket served, autostart finished unless held) the
//! subcommand runs on the main thread as an ordinary client of the socket. Then the daemon is
//! stopped, except after a successful `start` or `stop`, where it keeps running until a signal.

use std::sync::mpsc;

use clap::Args;

use crate::cmd::Command;
use crate::cmd_run::RunArgs;
use crate::ctx::Ctx;
use crate::error::CliError;

/// Arguments of `pebble enter`.
#[derive(Debug, Args, Clone, Default)]
pub struct EnterArgs {
    /// The flags shared with `pebble run`.
    #[command(flatten)]
    pub run_args: RunArgs,
    /// Start default services before executing subcommand.
    #[arg(long)]
    pub run: bool,
    /// The subcommand and its arguments (everything after the first non-option).
    #[arg(
        value_name = "subcommand",
        num_args = 0..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub cmd: Vec<String>,
}

/// How `enter` treats a subcommand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Mode {
    /// No daemon at all.
    no_daemon: bool,
    /// Daemon log lines are not written (unless `-v`).
    silence: bool,
    /// `-v/--verbose` is an error.
    prohibit_verbose: bool,
    /// `--run` is an error.
    prohibit_run: bool,
    /// `--run` is required.
    require_run: bool,
    /// The daemon keeps running after the subcommand succeeded.
    keep: bool,
}

/// The mode of a supported subcommand, `None` for the others.
fn mode_of(command: &Command) -> Option<Mode> {
    let m = Mode::default();
    Some(match command {
        Command::Help(_) => Mode {
            no_daemon: true,
            ..m
        },
        Command::Version(_) | Command::Plan(_) | Command::Services(_) | Command::Ls(_) => Mode {
            silence: true,
            prohibit_run: true,
            ..m
        },
        Command::Exec(_) => Mode {
            silence: true,
            prohibit_verbose: true,
            ..m
        },
        Command::Start(_) => Mode { keep: true, ..m },
        Command::Stop(_) => Mode {
            keep: true,
            require_run: true,
            ..m
        },
        _ => return None,
    })
}

/// Check the subcommand against the `enter` flags (Pebble's order of checks).
fn check_flags(name: &str, mode: Option<Mode>, run: bool, verbose: bool) -> Result<Mode, String> {
    let Some(mode) = mode else {
        return Err(format!("enter: subcommand {name:?} is not supported"));
    };
    if mode.require_run && !run {
        return Err(format!("enter: must use --run before {name:?} subcommand"));
    }
    if (mode.prohibit_run || mode.no_daemon) && run {
        return Err(format!(
            "enter: cannot provide --run before {name:?} subcommand"
        ));
    }
    if mode.prohibit_verbose && verbose {
        return Err(format!(
            "enter: cannot provide -v/--verbose before {name:?} subcommand"
        ));
    }
    Ok(mode)
}

/// What the daemon thread reports.
enum Event {
    Ready,
    Exited(i32),
}

/// Run `fut` on a fresh current-thread runtime, then drop the runtime without waiting for
/// blocking tasks (a read of the local stdin may still be pending after `exec`).
fn block_on_detached<F: std::future::Future>(fut: F) -> Result<F::Output, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Msg(format!("cannot create runtime: {e}")))?;
    let out = rt.block_on(fut);
    rt.shutdown_background();
    Ok(out)
}

/// Runs the subcommand as a client; `Ok(code)` is the exit code (exec's command's code).
async fn run_subcommand(ctx: &Ctx, command: Command) -> Result<i32, CliError> {
    match command {
        Command::Exec(a) => match crate::cmd::exec::run_code(ctx, a).await? {
            Some(code) => Ok(code),
            None => {
                crate::ctx::err("SIGHUP received, exiting\r\n");
                Ok(0)
            }
        },
        other => other.run(ctx).await.map(|()| 0),
    }
}

/// Runs `pebble enter`; returns the process exit code.
pub fn enter(args: &EnterArgs) -> i32 {
    if args.cmd.is_empty() {
        return crate::cmd_run::run(&args.run_args);
    }
    let mut argv = vec!["pebble".to_string()];
    argv.extend(args.cmd.iter().cloned());
    let name = args.cmd[0].clone();
    // `-h`/`--help` of the subcommand: its help, no daemon.
    if args
        .cmd
        .iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "-h" || a == "--help")
    {
        return match crate::cmd::help::command_help(&name) {
            Some(h) => {
                crate::ctx::out(&h);
                0
            }
            None => crate::finish(Err(CliError::Msg(format!(
                "unknown command {name:?}, see 'pebble help'"
            )))),
        };
    }
    let command = match crate::parse_cli(&argv) {
        Ok(cli) => match cli.command {
            Some(c) => c,
            None => return crate::cmd_run::run(&args.run_args),
        },
        Err(e) => {
            return crate::finish(Err(CliError::Msg(crate::parse_error_message(&e, &argv))));
        }
    };
    let mode = match check_flags(&name, mode_of(&command), args.run, args.run_args.verbose) {
        Ok(m) => m,
        Err(e) => return crate::finish(Err(CliError::Msg(e))),
    };
    let ctx = Ctx::from_env();
    if mode.no_daemon {
        return crate::finish(block_on_detached(command.run(&ctx)).and_then(|r| r));
    }

    let mut cfg = match args.run_args.to_config() {
        Ok(c) => c,
        Err(e) => {
            crate::ctx::err(&format!("error: {e}\n"));
            return 1;
        }
    };
    cfg.hold = !args.run;
    if mode.silence && !args.run_args.verbose {
        pebble_daemon::daemonlog::set_silent(true);
    }
    let opts = crate::cmd_run::run_options(cfg);
    let (events_tx, events) = mpsc::channel::<Event>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let ready_tx = events_tx.clone();
    let embedding = pebble_daemon::run::Embedding {
        ready: Box::new(move || {
            let _ = ready_tx.send(Event::Ready);
        }),
        stop: Box::pin(async move {
            if stop_rx.await.is_err() {
                // The sender is gone without a request: keep running.
                std::future::pending::<()>().await;
            }
        }),
    };
    let daemon = std::thread::spawn(move || {
        let code = pebble_daemon::run::run_embedded(opts, embedding);
        let _ = events_tx.send(Event::Exited(code));
    });
    let wait_exit = |events: &mpsc::Receiver<Event>| loop {
        match events.recv() {
            Ok(Event::Exited(code)) => return code,
            Ok(Event::Ready) => {}
            Err(_) => return 1,
        }
    };
    match events.recv() {
        Ok(Event::Ready) => {}
        // The daemon could not start (it said why on stderr).
        Ok(Event::Exited(code)) => return code,
        Err(_) => return 1,
    }

    let result = block_on_detached(run_subcommand(&ctx, command)).and_then(|r| r);
    let code = if result.is_err() || !mode.keep {
        let _ = stop_tx.send(());
        wait_exit(&events);
        match result {
            Ok(code) => code,
            Err(e) => crate::finish(Err(e)),
        }
    } else {
        // `start` or `stop` succeeded: the daemon goes on until it is told to exit.
        wait_exit(&events)
    };
    let _ = daemon.join();
    code
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(argv: &[&str]) -> EnterArgs {
        let args: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        match crate::parse_cli(&args).unwrap().command {
            Some(Command::Enter(a)) => a,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn command(argv: &[&str]) -> Command {
        let args: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        crate::parse_cli(&args).unwrap().command.unwrap()
    }

    #[test]
    fn flags_before_the_subcommand_are_enter_s_own() {
        let a = parse(&[
            "pebble", "enter", "-v", "--run", "--args", "svc", "-x", ";", "exec", "-v", "ls",
            "--run",
        ]);
        assert!(a.run);
        assert!(a.run_args.verbose);
        assert_eq!(a.cmd, ["exec", "-v", "ls", "--run"]);
        assert_eq!(
            a.run_args.to_config().unwrap().service_args,
            vec![("svc".to_string(), vec!["-x".to_string()])]
        );
        assert!(parse(&["pebble", "enter"]).cmd.is_empty());
    }

    #[test]
    fn subcommand_rules() {
        let check = |argv: &[&str], run: bool, verbose: bool| {
            check_flags(argv[1], mode_of(&command(argv)), run, verbose)
        };
        assert_eq!(
            check(&["pebble", "stop", "svc"], false, false).unwrap_err(),
            "enter: must use --run before \"stop\" subcommand"
        );
        assert!(check(&["pebble", "stop", "svc"], true, false).unwrap().keep);
        assert_eq!(
            check(&["pebble", "plan"], true, false).unwrap_err(),
            "enter: cannot provide --run before \"plan\" subcommand"
        );
        assert_eq!(
            check(&["pebble", "help"], true, false).unwrap_err(),
            "enter: cannot provide --run before \"help\" subcommand"
        );
        assert_eq!(
            check(&["pebble", "exec", "true"], false, true).unwrap_err(),
            "enter: cannot provide -v/--verbose before \"exec\" subcommand"
        );
        assert_eq!(
            check(&["pebble", "changes"], false, false).unwrap_err(),
            "enter: subcommand \"changes\" is not supported"
        );
        let exec = check(&["pebble", "exec", "true"], true, false).unwrap();
        assert!(exec.silence && !exec.keep);
        let start = check(&["pebble", "start", "svc"], false, true).unwrap();
        assert!(start.keep && !start.silence);
        assert!(check(&["pebble", "help"], false, false).unwrap().no_daemon);
        for c in ["version", "plan", "services", "ls"] {
            let argv = if c == "ls" {
                vec!["pebble", c, "/"]
            } else {
                vec!["pebble", c]
            };
            let m = check(&argv, false, true).unwrap();
            assert!(m.silence && m.prohibit_run && !m.keep, "{c}");
        }
    }
}
