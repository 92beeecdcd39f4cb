//! `pebble help`: the short help, `--all` (every command with its summary) and per-command
//! help.

use clap::{Args, CommandFactory};

use crate::ctx;
use crate::error::CliError;

/// Arguments of `pebble help`.
#[derive(Debug, Args)]
pub struct HelpArgs {
    /// Show a short summary of all commands.
    #[arg(long)]
    pub all: bool,
    /// Commands to show help for.
    #[arg(value_name = "command")]
    pub commands: Vec<String>,
}

/// Help categories, in Pebble's order, with the commands of each.
pub const CATEGORIES: &[(&str, &[&str])] = &[
    ("Run", &["run"]),
    ("Info", &["help", "version"]),
    ("Plan", &["add", "plan", "replan"]),
    (
        "Services",
        &["services", "logs", "start", "restart", "signal", "stop"],
    ),
    (
        "Checks",
        &["checks", "check", "start-checks", "stop-checks", "health"],
    ),
    ("Files", &["push", "pull", "ls", "mkdir", "rm", "exec"]),
    ("Changes", &["changes", "tasks"]),
    (
        "Notices",
        &["warnings", "okay", "notices", "notice", "notify"],
    ),
    (
        "Identities",
        &[
            "identities",
            "identity",
            "add-identities",
            "update-identities",
            "remove-identities",
        ],
    ),
];

const HEADER: &str = "Pebble lets you control services and perform management actions on\n\
the system that is running them.\n";

/// The names of the subcommands this binary has.
fn implemented() -> Vec<String> {
    crate::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect()
}

fn summary(name: &str) -> String {
    crate::Cli::command()
        .find_subcommand(name)
        .and_then(|c| c.get_about().map(|a| a.to_string()))
        .map(|s| s.trim_end_matches('.').to_string())
        .unwrap_or_default()
}

/// The categories in Pebble's order with their implemented commands (empty ones left out).
fn categories() -> Vec<(&'static str, Vec<&'static str>)> {
    let have = implemented();
    CATEGORIES
        .iter()
        .map(|(cat, cmds)| {
            let cmds: Vec<&str> = cmds
                .iter()
                .copied()
                .filter(|c| have.iter().any(|h| h == c))
                .collect();
            (*cat, cmds)
        })
        .filter(|(_, cmds)| !cmds.is_empty())
        .collect()
}

/// `pebble help` (also printed when no command is given).
pub fn short_help() -> String {
    let mut s = format!(
        "{HEADER}\nUsage: pebble <command> [<options>...]\n\nCommands can be classified as follows:\n\n"
    );
    let width = CATEGORIES.iter().map(|(c, _)| c.len()).max().unwrap_or(0);
    for (cat, cmds) in categories() {
        s.push_str(&format!("  {cat:>width$}: {}\n", cmds.join(", ")));
    }
    s.push_str(
        "\nFor more information about a command, run 'pebble help <command>'.\n\
For a short summary of all commands, run 'pebble help --all'.\n",
    );
    s
}

/// `pebble help --all`.
pub fn long_help() -> String {
    let mut s = format!("{HEADER}\nUsage: pebble <command> [<options>...]\n");
    let categories = categories();
    let width = categories
        .iter()
        .flat_map(|(_, c)| c.iter())
        .map(|c| c.len())
        .max()
        .unwrap_or(0);
    for (cat, cmds) in categories {
        s.push_str(&format!("\n{cat}:\n"));
        for c in cmds {
            s.push_str(&format!("  {c:<width$}  {}\n", summary(c)));
        }
    }
    s.push_str("\nFor more information about a command, run 'pebble help <command>'.\n");
    s
}

/// Help for one command, or `None` if there is no such command.
pub fn command_help(name: &str) -> Option<String> {
    let mut cmd = crate::Cli::command();
    let sub = cmd.find_subcommand_mut(name)?;
    let mut sub = sub.clone().bin_name(format!("pebble {name}"));
    Some(sub.render_help().to_string())
}

/// Runs `pebble help`.
pub fn run(args: HelpArgs) -> Result<(), CliError> {
    if args.all {
        if !args.commands.is_empty() {
            return Err(CliError::msg(
                "help accepts a command, or '--all', but not both.",
            ));
        }
        ctx::out(&long_help());
        return Ok(());
    }
    if args.commands.is_empty() {
        ctx::out(&short_help());
        return Ok(());
    }
    let mut text = String::new();
    for name in &args.commands {
        match command_help(name) {
            Some(h) => text.push_str(&h),
            None => {
                return Err(CliError::Msg(format!(
                    "unknown command {name:?}, see 'pebble help'."
                )));
            }
        }
    }
    ctx::out(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn all_lists_groups_in_pebble_order() {
        let h = long_help();
        let pos = |s: &str| h.find(s).unwrap_or(usize::MAX);
        assert!(pos("\nRun:\n") < pos("\nInfo:\n"));
        assert!(pos("\nInfo:\n") < pos("\nPlan:\n"));
        assert!(pos("\nPlan:\n") < pos("\nServices:\n"));
        assert!(pos("\nServices:\n") < pos("\nChanges:\n"));
        // Names are padded to the longest listed name, then two spaces.
        let width = h
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .filter_map(|l| l.split_once("  ").map(|(name, _)| name.trim_end().len()))
            .max()
            .unwrap();
        let services = format!(
            "  {:<width$}  Query the status of configured services\n",
            "services"
        );
        assert!(h.contains(&services), "{h}");
        assert!(h.contains(&format!(
            "  {:<width$}  Start one or more checks\n",
            "start-checks"
        )));
        // autostart is not listed.
        assert!(!h.contains("autostart"));
    }

    #[test]
    fn short_help_lists_categories() {
        let h = short_help();
        assert!(h.contains("Services: services, logs, start, restart, signal, stop\n"));
    }
}
