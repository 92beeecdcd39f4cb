//! `pebble run`: the daemon's command-line flags and the hand-off to `pebble_daemon::run`.

use std::path::PathBuf;

use clap::Args;

/// Arguments of `pebble run`.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Create Pebble directory on startup if it doesn't exist.
    #[arg(long)]
    pub create_dirs: bool,
    /// Do not start default services automatically.
    #[arg(long)]
    pub hold: bool,
    /// Start HTTP API listening on this address (e.g., ":4000") and expose open-access
    /// endpoints.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// Start HTTPS API listening on this address (not supported by pebble-rs).
    #[arg(long, value_name = "ADDR", hide = true)]
    pub https: Option<String>,
    /// Log all output from services to stdout (also PEBBLE_VERBOSE=1).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Provide additional arguments to a service, terminated by ';'
    /// (`--args <service> <args...> ;`, repeatable).
    #[arg(
        long = "args",
        value_name = "service> <args",
        num_args = 1..,
        value_terminator = ";",
        allow_hyphen_values = true,
        action = clap::ArgAction::Append
    )]
    pub args: Vec<String>,
    /// `--args` grouped per occurrence (filled from the parsed matches by [`RunArgs::fill_groups`]).
    #[arg(skip)]
    pub args_groups: Vec<Vec<String>>,
    /// Seed identities from this YAML file (replacing identities of the same names).
    #[arg(long, value_name = "FILE")]
    pub identities: Option<String>,
}

impl RunArgs {
    /// Groups the `--args` values per occurrence, from the `run` subcommand's matches.
    pub fn fill_groups(&mut self, matches: &clap::ArgMatches) {
        self.args_groups = matches
            .get_occurrences::<String>("args")
            .map(|occ| occ.map(|o| o.cloned().collect()).collect())
            .unwrap_or_default();
    }
}

/// What `pebble run` resolved from flags and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunConfig {
    /// `$PEBBLE` (default `/var/lib/pebble/default`).
    pub pebble_dir: PathBuf,
    /// `$PEBBLE_SOCKET` (default `$PEBBLE/.pebble.socket`).
    pub socket_path: PathBuf,
    /// `--create-dirs`.
    pub create_dirs: bool,
    /// `--hold`.
    pub hold: bool,
    /// `--http`.
    pub http_address: Option<String>,
    /// `--verbose` or `PEBBLE_VERBOSE=1`.
    pub verbose: bool,
    /// `--args` as (service, arguments) in command-line order.
    pub service_args: Vec<(String, Vec<String>)>,
    /// `--identities FILE`.
    pub identities_file: Option<PathBuf>,
}

/// Is `PEBBLE_VERBOSE` set to a true value?
fn env_verbose() -> bool {
    matches!(
        std::env::var("PEBBLE_VERBOSE").ok().as_deref(),
        Some("1" | "true" | "TRUE" | "True" | "t" | "T")
    )
}

impl RunArgs {
    /// Resolves the flags against the environment.
    pub fn to_config(&self) -> Result<RunConfig, String> {
        let mut service_args = Vec::new();
        for group in &self.args_groups {
            let mut it = group.iter();
            let Some(svc) = it.next() else {
                return Err("--args requires at least a service name".to_string());
            };
            service_args.push((svc.clone(), it.cloned().collect()));
        }
        if self.https.is_some() {
            return Err("--https is not supported by this implementation".to_string());
        }
        Ok(RunConfig {
            pebble_dir: pebble_client::pebble_dir_from_env(),
            socket_path: pebble_client::socket_path_from_env(),
            create_dirs: self.create_dirs,
            hold: self.hold,
            http_address: self.http.clone(),
            verbose: self.verbose || env_verbose(),
            service_args,
            identities_file: self.identities.as_ref().map(PathBuf::from),
        })
    }
}

/// Runs the daemon until it exits; returns the process exit code.
pub fn run(args: &RunArgs) -> i32 {
    let cfg = match args.to_config() {
        Ok(c) => c,
        Err(e) => {
            crate::ctx::err(&format!("error: {e}\n"));
            return 1;
        }
    };
    pebble_daemon::run(run_options(cfg))
}

/// The daemon's options for a resolved configuration (also used by `pebble enter`).
pub fn run_options(cfg: RunConfig) -> pebble_daemon::RunOptions {
    let mut opts = pebble_daemon::RunOptions::from_env();
    opts.pebble_dir = cfg.pebble_dir;
    opts.socket_path = Some(cfg.socket_path);
    opts.create_dirs = cfg.create_dirs;
    opts.hold = cfg.hold;
    opts.verbose = cfg.verbose;
    opts.http_addr = cfg.http_address;
    opts.args = cfg.service_args;
    opts.identities_file = cfg.identities_file;
    opts
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    fn parse(argv: &[&str]) -> super::RunArgs {
        let args: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        match crate::parse_cli(&args).unwrap().command {
            Some(crate::cmd::Command::Run(a)) => a,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn args_are_grouped_by_terminator() {
        let a = parse(&[
            "pebble",
            "run",
            "--hold",
            "--args",
            "svc1",
            "--foo",
            "-x",
            ";",
            "--args",
            "svc2",
            "bar",
            ";",
            "--verbose",
        ]);
        assert!(a.hold);
        assert!(a.verbose);
        let cfg = a.to_config().unwrap();
        assert_eq!(
            cfg.service_args,
            vec![
                (
                    "svc1".to_string(),
                    vec!["--foo".to_string(), "-x".to_string()]
                ),
                ("svc2".to_string(), vec!["bar".to_string()]),
            ]
        );
    }

    #[test]
    fn flags() {
        let a = parse(&["pebble", "run", "--create-dirs", "--http", ":4000", "-v"]);
        assert!(a.create_dirs);
        assert!(a.verbose);
        assert_eq!(a.http.as_deref(), Some(":4000"));
    }
}
