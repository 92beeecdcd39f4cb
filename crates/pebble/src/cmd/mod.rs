//! The CLI commands: one module per command (or family of commands).
//!
//! To add a command: write a module with a clap `Args` struct and an `async fn run(ctx, args)`,
//! add a variant to [`Command`], an arm to [`Command::run`], and (if it is listed by
//! `pebble help`) make sure its name is in [`help::CATEGORIES`]; the first line of the
//! variant's doc comment is its summary in `pebble help --all`.

pub mod add;
pub mod changes;
pub mod checks;
pub mod exec;
pub mod help;
pub mod identities;
pub mod logs;
pub mod ls;
pub mod mkdir;
pub mod notices;
pub mod plan;
pub mod pull;
pub mod push;
pub mod rm;
pub mod services;
pub mod signal;
pub mod svc_action;
pub mod version;

use clap::Subcommand;

use crate::ctx::Ctx;
use crate::error::CliError;

/// Every subcommand of `pebble` except `run` (which runs the daemon and is handled by
/// `main` outside of the client runtime).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service manager environment.
    Run(crate::cmd_run::RunArgs),
    /// Run subcommand under a container environment.
    Enter(crate::cmd_enter::EnterArgs),
    /// Show help about a command.
    Help(help::HelpArgs),
    /// Show version details.
    Version(version::VersionArgs),
    /// Dynamically add a layer to the plan's layers.
    Add(add::AddArgs),
    /// Show the plan with layers combined.
    Plan(plan::PlanArgs),
    /// Ensure running services apply the latest plan.
    Replan(svc_action::NoNamesArgs),
    /// Start services set to start by default.
    Autostart(svc_action::NoNamesArgs),
    /// Query the status of configured services.
    Services(services::ServicesArgs),
    /// Fetch service logs.
    Logs(logs::LogsArgs),
    /// Start a service and its dependencies.
    Start(svc_action::NamesArgs),
    /// Restart a service.
    Restart(svc_action::NamesArgs),
    /// Send a signal to one or more running services.
    Signal(signal::SignalArgs),
    /// Stop a service and its dependents.
    Stop(svc_action::NamesArgs),
    /// Execute a remote command and wait for it to finish.
    Exec(exec::ExecArgs),
    /// Query the status of configured health checks.
    Checks(checks::ChecksArgs),
    /// Query the details of a configured health check.
    Check(checks::CheckArgs),
    /// Start one or more checks.
    StartChecks(checks::CheckNamesArgs),
    /// Stop one or more checks.
    StopChecks(checks::CheckNamesArgs),
    /// Query health of checks.
    Health(checks::HealthArgs),
    /// List system changes.
    Changes(changes::ChangesArgs),
    /// List a change's tasks.
    Tasks(changes::TasksArgs),
    /// Transfer a file to the remote system.
    Push(push::PushArgs),
    /// Retrieve a file from the remote system.
    Pull(pull::PullArgs),
    /// List path contents.
    Ls(ls::LsArgs),
    /// Create a directory.
    Mkdir(mkdir::MkdirArgs),
    /// Remove a file or directory.
    Rm(rm::RmArgs),
    /// Record a custom notice.
    Notify(notices::NotifyArgs),
    /// List notices.
    Notices(notices::NoticesArgs),
    /// Fetch a single notice.
    Notice(notices::NoticeArgs),
    /// Acknowledge notices and warnings.
    Okay(notices::OkayArgs),
    /// List warnings.
    Warnings(notices::WarningsArgs),
    /// List identities.
    Identities(identities::IdentitiesArgs),
    /// Show a single identity.
    Identity(identities::IdentityArgs),
    /// Add new identities.
    AddIdentities(identities::FromArgs),
    /// Update or replace identities.
    UpdateIdentities(identities::UpdateArgs),
    /// Remove identities.
    RemoveIdentities(identities::FromArgs),
}

impl Command {
    /// Runs a client command.
    pub async fn run(self, ctx: &Ctx) -> Result<(), CliError> {
        match self {
            Command::Run(_) => Err(CliError::msg("internal error: run is not a client command")),
            Command::Enter(_) => Err(CliError::msg(
                "internal error: enter is not a client command",
            )),
            Command::Help(a) => help::run(a),
            Command::Version(a) => version::run(ctx, a).await,
            Command::Add(a) => add::run(ctx, a).await,
            Command::Plan(a) => plan::run(ctx, a).await,
            Command::Replan(a) => svc_action::run_no_names(ctx, "replan", a).await,
            Command::Autostart(a) => svc_action::run_no_names(ctx, "autostart", a).await,
            Command::Services(a) => services::run(ctx, a).await,
            Command::Logs(a) => logs::run(ctx, a).await,
            Command::Start(a) => svc_action::run_names(ctx, "start", a).await,
            Command::Restart(a) => svc_action::run_names(ctx, "restart", a).await,
            Command::Signal(a) => signal::run(ctx, a).await,
            Command::Stop(a) => svc_action::run_names(ctx, "stop", a).await,
            Command::Exec(a) => exec::run(ctx, a).await,
            Command::Checks(a) => checks::run_checks(ctx, a).await,
            Command::Check(a) => checks::run_check(ctx, a).await,
            Command::StartChecks(a) => checks::run_action(ctx, "start", a).await,
            Command::StopChecks(a) => checks::run_action(ctx, "stop", a).await,
            Command::Health(a) => checks::run_health(ctx, a).await,
            Command::Changes(a) => changes::run_changes(ctx, a).await,
            Command::Tasks(a) => changes::run_tasks(ctx, a).await,
            Command::Push(a) => push::run(ctx, a).await,
            Command::Pull(a) => pull::run(ctx, a).await,
            Command::Ls(a) => ls::run(ctx, a).await,
            Command::Mkdir(a) => mkdir::run(ctx, a).await,
            Command::Rm(a) => rm::run(ctx, a).await,
            Command::Notify(a) => notices::run_notify(ctx, a).await,
            Command::Notices(a) => notices::run_notices(ctx, a).await,
            Command::Notice(a) => notices::run_notice(ctx, a).await,
            Command::Okay(a) => notices::run_okay(ctx, a).await,
            Command::Warnings(a) => notices::run_warnings(ctx, a).await,
            Command::Identities(a) => identities::run_identities(ctx, a).await,
            Command::Identity(a) => identities::run_identity(ctx, a).await,
            Command::AddIdentities(a) => identities::run_add(ctx, a).await,
            Command::UpdateIdentities(a) => identities::run_update(ctx, a).await,
            Command::RemoveIdentities(a) => identities::run_remove(ctx, a).await,
        }
    }
}
