//! `pebble`: the pebble-rs daemon (`pebble run`) and its command-line client.

mod cmd;
mod cmd_enter;
mod cmd_run;
mod ctx;
mod error;
mod format;
mod wait;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::ctx::Ctx;
use crate::error::CliError;

/// The `pebble` command line.
#[derive(Debug, clap::Parser)]
#[command(
    name = "pebble",
    about = "System and service manager",
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Option<cmd::Command>,
}

/// What a pre-scan of the arguments found before clap parses them.
enum Early {
    /// `-h`/`--help` given: help for this command (None: the short help).
    Help(Option<String>),
    /// The hidden `--version` flag.
    Version,
    /// Nothing special.
    None,
}

/// Looks for `-h`, `--help` and `--version` among the options before the first positional
/// argument of the command (and before `--`).
fn pre_scan(args: &[String]) -> Early {
    let mut command: Option<String> = None;
    for a in args.iter().skip(1) {
        match a.as_str() {
            "--" => break,
            "-h" | "--help" => return Early::Help(command),
            "--version" => return Early::Version,
            s if s.starts_with('-') => {}
            s => {
                if command.is_some() || s == "run" {
                    // Positional arguments of the command (or `run`'s `--args` values).
                    if command.is_some() {
                        break;
                    }
                }
                command = Some(s.to_string());
            }
        }
    }
    Early::None
}

fn context_str(e: &clap::Error, kind: ContextKind) -> Vec<String> {
    match e.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        Some(ContextValue::StyledStr(s)) => vec![s.to_string()],
        Some(ContextValue::StyledStrs(v)) => v.iter().map(|s| s.to_string()).collect(),
        _ => vec![],
    }
}

/// Turns a positional usage string from clap (`<service>...`) into go-flags' wording.
fn go_flags_arg_name(usage: &str) -> String {
    match usage.strip_suffix("...") {
        Some(name) => format!("`{name} (at least 1 argument)`"),
        None => format!("`{usage}`"),
    }
}

/// Pebble's (go-flags') wording for a command-line parsing error.
fn parse_error_message(e: &clap::Error, args: &[String]) -> String {
    match e.kind() {
        ErrorKind::InvalidSubcommand => {
            let sub = context_str(e, ContextKind::InvalidSubcommand)
                .into_iter()
                .next()
                .or_else(|| args.get(1).cloned())
                .unwrap_or_default();
            format!("unknown command {sub:?}, see 'pebble help'")
        }
        ErrorKind::UnknownArgument => {
            let arg = context_str(e, ContextKind::InvalidArg)
                .into_iter()
                .next()
                .unwrap_or_default();
            if let Some(long) = arg.strip_prefix("--") {
                let name = long.split('=').next().unwrap_or(long);
                format!("unknown flag `{name}'")
            } else if let Some(short) = arg.strip_prefix('-') {
                let name = short.chars().next().map(String::from).unwrap_or_default();
                format!("unknown flag `{name}'")
            } else {
                "too many arguments for command".to_string()
            }
        }
        ErrorKind::MissingRequiredArgument => {
            let names: Vec<String> = context_str(e, ContextKind::InvalidArg)
                .iter()
                .map(|u| go_flags_arg_name(u))
                .collect();
            match names.as_slice() {
                [] => "a required argument was not provided".to_string(),
                [one] => format!("the required argument {one} was not provided"),
                [init @ .., last] => format!(
                    "the required arguments {} and {last} were not provided",
                    init.join(", ")
                ),
            }
        }
        ErrorKind::InvalidValue => {
            let arg = context_str(e, ContextKind::InvalidArg)
                .into_iter()
                .next()
                .unwrap_or_default();
            let flag = arg.split(' ').next().unwrap_or("").to_string();
            let value = context_str(e, ContextKind::InvalidValue)
                .into_iter()
                .next()
                .unwrap_or_default();
            let valid = context_str(e, ContextKind::ValidValue);
            if value.is_empty() {
                format!("expected argument for flag `{flag}'")
            } else if let [init @ .., last] = valid.as_slice() {
                if init.is_empty() {
                    format!(
                        "Invalid value `{value}' for option `{flag}'. Allowed values are: {last}"
                    )
                } else {
                    format!(
                        "Invalid value `{value}' for option `{flag}'. Allowed values are: {} or {last}",
                        init.join(", ")
                    )
                }
            } else {
                format!("invalid argument for flag `{flag}': {value}")
            }
        }
        ErrorKind::NoEquals | ErrorKind::TooFewValues => {
            let arg = context_str(e, ContextKind::InvalidArg)
                .into_iter()
                .next()
                .unwrap_or_default();
            let flag = arg.split(' ').next().unwrap_or("").to_string();
            format!("expected argument for flag `{flag}'")
        }
        ErrorKind::ArgumentConflict | ErrorKind::TooManyValues => {
            "too many arguments for command".to_string()
        }
        _ => {
            let s = e.render().to_string();
            let first = s.lines().next().unwrap_or("").to_string();
            first.strip_prefix("error: ").unwrap_or(&first).to_string()
        }
    }
}

/// Parses the command line (grouping `run --args` values per occurrence).
///
/// `pebble run` is parsed against a command tree that holds `run` alone: building the whole
/// tree (every command and flag) would leave the daemon, for its whole life, with the ~50 KiB
/// of stack and ~100 KiB of heap pages clap touched doing it. The `run` subcommand is the same
/// definition either way, so flags, values and errors are the same.
pub fn parse_cli(args: &[String]) -> Result<Cli, clap::Error> {
    use clap::{Args, CommandFactory, FromArgMatches};
    let command = if args.get(1).map(String::as_str) == Some("run") {
        clap::Command::new("pebble")
            .about("System and service manager")
            .disable_help_flag(true)
            .disable_version_flag(true)
            .disable_help_subcommand(true)
            .subcommand(cmd_run::RunArgs::augment_args(
                clap::Command::new("run").about("Run the service manager environment."),
            ))
    } else {
        Cli::command()
    };
    let matches = command.try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let Some(cmd::Command::Run(run)) = &mut cli.command
        && let Some(("run", sub)) = matches.subcommand()
    {
        run.fill_groups(sub);
    }
    if let Some(cmd::Command::Enter(enter)) = &mut cli.command
        && let Some(("enter", sub)) = matches.subcommand()
    {
        enter.run_args.fill_groups(sub);
    }
    Ok(cli)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    std::process::exit(real_main(args));
}

fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, CliError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Msg(format!("cannot create runtime: {e}")))?;
    Ok(rt.block_on(f))
}

fn finish(r: Result<(), CliError>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(CliError::Exit(code)) => code,
        Err(e) => {
            ctx::err(&format!("{}{e}\n", error::ERROR_PREFIX));
            1
        }
    }
}

fn real_main(args: Vec<String>) -> i32 {
    match pre_scan(&args) {
        Early::Help(None) => {
            ctx::out(&cmd::help::short_help());
            return 0;
        }
        Early::Help(Some(name)) => {
            return match cmd::help::command_help(&name) {
                Some(h) => {
                    ctx::out(&h);
                    0
                }
                None => finish(Err(CliError::Msg(format!(
                    "unknown command {name:?}, see 'pebble help'"
                )))),
            };
        }
        Early::Version => {
            let ctx = Ctx::from_env();
            return finish(block_on(cmd::version::print_versions(
                &ctx,
                format::OutputFormat::Text,
            )));
        }
        Early::None => {}
    }
    let cli = match parse_cli(&args) {
        Ok(c) => c,
        Err(e) => return finish(Err(CliError::Msg(parse_error_message(&e, &args)))),
    };
    let Some(command) = cli.command else {
        ctx::out(&cmd::help::short_help());
        return 0;
    };
    if let cmd::Command::Run(run_args) = &command {
        return cmd_run::run(run_args);
    }
    if let cmd::Command::Enter(enter_args) = &command {
        return cmd_enter::enter(enter_args);
    }
    let ctx = Ctx::from_env();
    finish(block_on(command.run(&ctx)).and_then(|r| r))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse_err(argv: &[&str]) -> String {
        let args: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let e = parse_cli(&args).unwrap_err();
        parse_error_message(&e, &args)
    }

    /// The lean tree used for `pebble run` parses exactly as the full one does.
    #[test]
    fn run_parses_the_same_with_the_lean_tree() {
        use clap::{CommandFactory, FromArgMatches};
        let full = |argv: &[String]| -> Result<String, String> {
            let m = Cli::command()
                .try_get_matches_from(argv)
                .map_err(|e| parse_error_message(&e, argv))?;
            let mut cli = Cli::from_arg_matches(&m).map_err(|e| e.to_string())?;
            if let (Some(cmd::Command::Run(run)), Some(("run", sub))) =
                (&mut cli.command, m.subcommand())
            {
                run.fill_groups(sub);
            }
            Ok(format!("{:?}", cli.command))
        };
        let lean = |argv: &[String]| -> Result<String, String> {
            parse_cli(argv)
                .map(|c| format!("{:?}", c.command))
                .map_err(|e| parse_error_message(&e, argv))
        };
        for argv in [
            &["pebble", "run"][..],
            &["pebble", "run", "--hold", "--verbose", "--create-dirs"],
            &[
                "pebble", "run", "--http", ":4000", "--args", "a", "-x", ";", "--hold",
            ],
            &["pebble", "run", "--args", "a", "b"],
            &["pebble", "run", "--bogus"],
            &["pebble", "run", "extra"],
            &["pebble", "run", "--http"],
        ] {
            let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
            assert_eq!(lean(&argv), full(&argv), "{argv:?}");
        }
        assert!(
            lean(&["pebble".into(), "run".into()])
                .unwrap()
                .starts_with("Some(Run(")
        );
    }

    #[test]
    fn golden_2_unknown_command() {
        assert_eq!(
            parse_err(&["pebble", "nosuchcmd"]),
            "unknown command \"nosuchcmd\", see 'pebble help'"
        );
    }

    #[test]
    fn golden_3_unknown_flag() {
        assert_eq!(
            parse_err(&["pebble", "services", "--bogus"]),
            "unknown flag `bogus'"
        );
        assert_eq!(parse_err(&["pebble", "services", "-z"]), "unknown flag `z'");
    }

    #[test]
    fn golden_23_missing_services() {
        assert_eq!(
            parse_err(&["pebble", "start"]),
            "the required argument `<service> (at least 1 argument)` was not provided"
        );
    }

    #[test]
    fn missing_two_arguments() {
        assert_eq!(
            parse_err(&["pebble", "add"]),
            "the required arguments `<label>` and `<layer-path>` were not provided"
        );
    }

    #[test]
    fn too_many_arguments() {
        assert_eq!(
            parse_err(&["pebble", "plan", "extra"]),
            "too many arguments for command"
        );
    }

    #[test]
    fn bad_format_choice() {
        assert_eq!(
            parse_err(&["pebble", "services", "--format", "xml"]),
            "Invalid value `xml' for option `--format'. Allowed values are: text, json or yaml"
        );
    }

    #[test]
    fn pre_scan_finds_help() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(matches!(
            pre_scan(&a(&["pebble", "--help"])),
            Early::Help(None)
        ));
        assert!(matches!(
            pre_scan(&a(&["pebble", "services", "-h"])),
            Early::Help(Some(c)) if c == "services"
        ));
        assert!(matches!(
            pre_scan(&a(&["pebble", "version", "--version"])),
            Early::Version
        ));
        assert!(matches!(
            pre_scan(&a(&["pebble", "logs", "svc", "--help"])),
            Early::None
        ));
    }
}
