//! Testing kit for code written against [`pebble_client::container::Workload`], the Rust
//! analogue of `ops.Container`.
//!
//! * [`FakeContainer`]: an in-memory container. Layers are combined with `pebble_plan` (the
//!   daemon's own code, so plan semantics cannot drift); service actions are simulated and
//!   recorded ([`FakeContainer::service_events`]); `exec` is mocked by longest command prefix
//!   ([`FakeContainer::exec_mock`]) and recorded ([`FakeContainer::exec_history`]); files live in
//!   a temporary directory and remember the ownership asked for ([`FakeContainer::file_meta`]);
//!   check infos and notices are simulated. It fails like the real client, with the same
//!   [`ContainerError`] variants, and every call fails with [`ContainerError::Connection`] after
//!   [`FakeContainer::set_can_connect`]`(false)`.
//! * [`DaemonFixture`]: a real pebble-rs daemon in-process, handing out a connected
//!   [`pebble_client::container::Container`].
//! * [`layer_from_rockcraft`]: a layer from a rock's `rockcraft.yaml`.
//!
//! # Examples (the "manage the workload container" guide)
//!
//! Each example of the guide is a function over `&impl Workload`, run here against the fake.
//! Each twin also runs against the real daemon in `tests/it/seed_twins.rs`: there every example
//! is written once and driven against both the fake and a [`DaemonFixture`] daemon, asserting
//! the same outcomes. Programs the guide assumes but a test machine lacks (`/pause`, `snappass`,
//! `pg_dump`, `ls -ll`, `/bin/app`) are replaced by stand-ins the daemon can run (`sleep`,
//! `sh -c`, `printf`), the `pg_dump` timeout is passed in (short, to see it expire), and
//! `exec`'s user and group are the test's own; the fake gets the equivalent exec mocks.
//!
//! ## Add a layer and autostart (pebble-ready)
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError};
//! use pebble_testing::FakeContainer;
//! use serde_json::json;
//!
//! async fn on_pause_pebble_ready(container: &impl Workload) -> Result<(), ContainerError> {
//!     let layer = json!({
//!         "summary": "pause layer",
//!         "description": "pebble config layer for google/pause",
//!         "services": {
//!             "pause": {
//!                 "override": "replace",
//!                 "summary": "pause service",
//!                 "command": "/pause",
//!                 "startup": "enabled",
//!             }
//!         },
//!     });
//!     container.add_layer("pause", layer, true).await?;
//!     container.autostart().await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new();
//! on_pause_pebble_ready(&fake).await.unwrap();
//! assert!(fake.get_service("pause").await.unwrap().is_running());
//! # });
//! ```
//!
//! ## Config-changed: an overlay layer merged into the service, then replan
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError};
//! use pebble_testing::{FakeContainer, ServiceEvent};
//! use serde_json::json;
//!
//! async fn on_config_changed(c: &impl Workload, timeout: &str) -> Result<(), ContainerError> {
//!     let layer = json!({"services": {"pause": {
//!         "override": "merge",
//!         "environment": {"TIMEOUT": timeout},
//!     }}});
//!     match c.add_layer("pause", layer, true).await {
//!         Ok(()) => c.replan().await,
//!         // The container might not be ready yet.
//!         Err(ContainerError::Path { .. } | ContainerError::Protocol(_)
//!             | ContainerError::Connection(_)) => Ok(()),
//!         Err(e) => Err(e),
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new().with_layer("pause", r#"
//! services:
//!   pause: {override: replace, command: /pause, startup: enabled}
//! "#).unwrap();
//! fake.autostart().await.unwrap();
//! on_config_changed(&fake, "30").await.unwrap();
//! let plan = fake.get_plan().await.unwrap();
//! assert_eq!(plan.services["pause"].environment["TIMEOUT"], "30");
//! // The changed service was restarted by replan.
//! assert_eq!(fake.service_events(), vec![
//!     ServiceEvent::Started("pause".into()),
//!     ServiceEvent::Stopped("pause".into()),
//!     ServiceEvent::Started("pause".into()),
//! ]);
//! // Not ready yet: the error is handled.
//! fake.set_can_connect(false);
//! on_config_changed(&fake, "40").await.unwrap();
//! # });
//! ```
//!
//! ## Replan after adding a layer (snappass)
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError};
//! use pebble_testing::FakeContainer;
//! use serde_json::json;
//!
//! async fn start_snappass(c: &impl Workload) -> Result<(), ContainerError> {
//!     let layer = json!({"services": {"snappass": {
//!         "override": "replace",
//!         "summary": "snappass service",
//!         "command": "snappass",
//!         "startup": "enabled",
//!     }}});
//!     c.add_layer("snappass", layer, true).await?;
//!     c.replan().await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new();
//! start_snappass(&fake).await.unwrap();
//! let plan = fake.get_plan().await.unwrap();
//! assert_eq!(plan.services.keys().collect::<Vec<_>>(), ["snappass"]);
//! assert!(fake.get_service("snappass").await.unwrap().is_running());
//! # });
//! ```
//!
//! ## Backup: stop a running service, then start it again
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError};
//! use pebble_testing::{FakeContainer, ServiceEvent};
//!
//! async fn on_backup_action(c: &impl Workload) -> Result<(), ContainerError> {
//!     let is_running = c.get_service("mysql").await?.is_running();
//!     if is_running {
//!         c.stop(&["mysql"]).await?;
//!     }
//!     // do_mysql_backup();
//!     if is_running {
//!         c.start(&["mysql"]).await?;
//!     }
//!     Ok(())
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new()
//!     .with_layer("db", "services:\n  mysql: {override: replace, command: mysqld}\n")
//!     .unwrap();
//! fake.start(&["mysql"]).await.unwrap();
//! fake.clear_service_events();
//! on_backup_action(&fake).await.unwrap();
//! assert_eq!(fake.service_events(), vec![
//!     ServiceEvent::Stopped("mysql".into()),
//!     ServiceEvent::Started("mysql".into()),
//! ]);
//! # });
//! ```
//!
//! ## Exec with error handling
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError, ExecOptions};
//! use pebble_testing::{FakeContainer, MockResult};
//!
//! async fn cat_bad_arg(c: &impl Workload) -> Result<Vec<String>, ContainerError> {
//!     let process = c.exec(&["cat", "--bad-arg"], ExecOptions::new()).await?;
//!     let mut log = Vec::new();
//!     match process.wait_output().await {
//!         Ok((stdout, _)) => log.push(stdout),
//!         Err(ContainerError::Exec(e)) => {
//!             log.push(format!("Exited with code {}. Stderr:", e.exit_code));
//!             for line in e.stderr_text().lines() {
//!                 log.push(format!("    {line}"));
//!             }
//!         }
//!         Err(e) => return Err(e),
//!     }
//!     Ok(log)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new();
//! fake.exec_mock(&["cat"], MockResult::exit(1).stderr(
//!     "cat: unrecognized option '--bad-arg'\nTry 'cat --help' for more information.\n"));
//! let log = cat_bad_arg(&fake).await.unwrap();
//! assert_eq!(log, [
//!     "Exited with code 1. Stderr:",
//!     "    cat: unrecognized option '--bad-arg'",
//!     "    Try 'cat --help' for more information.",
//! ]);
//! # });
//! ```
//!
//! ## Exec options, stdin as text or bytes
//!
//! ```
//! use std::time::Duration;
//! use pebble_client::container::{Workload, ContainerError, ExecOptions};
//! use pebble_testing::{FakeContainer, MockResult};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new();
//! fake.exec_handler(&["tr"], |call| MockResult::ok().stdout(call.stdin.to_ascii_uppercase()));
//! fake.exec_handler(&["cat"], |call| MockResult::ok().stdout(call.stdin.clone()));
//! fake.make_dir("/tmp", Default::default()).await.unwrap();
//!
//! let p = fake.exec(&["tr", "a-z", "A-Z"], ExecOptions::new()
//!     .stdin("This is\na test\n")
//!     .env("FOO", "bar")
//!     .working_dir("/tmp")
//!     .timeout(Duration::from_secs(5))
//!     .user("bob")
//!     .group("staff")).await.unwrap();
//! let (stdout, _) = p.wait_output().await.unwrap();
//! assert_eq!(stdout, "THIS IS\nA TEST\n");
//!
//! let p = fake.exec(&["cat"], ExecOptions::new().stdin(vec![1u8, 2])).await.unwrap();
//! assert_eq!(p.wait_output_bytes().await.unwrap().0, [1u8, 2]);
//!
//! let call = &fake.exec_history()[0];
//! assert_eq!(call.environment["FOO"], "bar");
//! assert_eq!(call.user.as_deref(), Some("bob"));
//! # });
//! ```
//!
//! ## Streaming stdin and stdout
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError, ExecOptions};
//! use pebble_testing::{FakeContainer, MockResult};
//! use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
//!
//! async fn stream_lines(c: &impl Workload) -> Result<Vec<String>, ContainerError> {
//!     let mut process = c.exec(&["cat"], ExecOptions::new()).await?;
//!     let mut stdin = process.stdin.take().expect("stdin is streamed");
//!     let writer = tokio::spawn(async move {
//!         for line in ["one\n", "2\n", "THREE\n"] {
//!             stdin.write_all(line.as_bytes()).await?;
//!         }
//!         stdin.shutdown().await // end of input
//!     });
//!     let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
//!     let mut out = Vec::new();
//!     while let Some(line) = lines.next_line().await? {
//!         out.push(format!("Output: {line}"));
//!     }
//!     writer.await.expect("writer task")?;
//!     process.wait().await?;
//!     Ok(out)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new();
//! fake.exec_handler(&["cat"], |call| MockResult::ok().stdout(call.stdin.clone()));
//! assert_eq!(stream_lines(&fake).await.unwrap(),
//!            ["Output: one", "Output: 2", "Output: THREE"]);
//! # });
//! ```
//!
//! ## Introspect the plan, signal services
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError};
//! use pebble_testing::{FakeContainer, ServiceEvent};
//!
//! async fn log_services(c: &impl Workload) -> Result<Vec<String>, ContainerError> {
//!     c.replan().await?;
//!     let plan = c.get_plan().await?;
//!     Ok(plan.services.keys().map(|s| format!("Service: {s}")).collect())
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new().with_layer("web", "services:
//!   nginx: {override: replace, command: nginx, startup: enabled}
//!   redis: {override: replace, command: redis-server, startup: enabled}
//! ").unwrap();
//! assert_eq!(log_services(&fake).await.unwrap(), ["Service: nginx", "Service: redis"]);
//! fake.send_signal("SIGHUP", &["nginx", "redis"]).await.unwrap();
//! assert!(fake.service_events().contains(&ServiceEvent::Signalled {
//!     service: "redis".into(), signal: "SIGHUP".into() }));
//! // Services that are not running cannot be signalled.
//! fake.stop(&["redis"]).await.unwrap();
//! let err = fake.send_signal("SIGHUP", &["nginx", "redis"]).await.unwrap_err();
//! assert_eq!(err.to_string(), r#"cannot send signal to "redis": service is not running"#);
//! # });
//! ```
//!
//! ## Exec with a timeout, output and warnings (pg_dump)
//!
//! ```
//! use std::time::Duration;
//! use pebble_client::container::{Workload, ContainerError, ExecOptions};
//! use pebble_testing::{FakeContainer, MockResult};
//!
//! async fn backup(c: &impl Workload) -> Result<(String, Vec<String>), ContainerError> {
//!     let process = c.exec(&["pg_dump", "mydb"],
//!         ExecOptions::new().timeout(Duration::from_secs(5 * 60))).await?;
//!     let (sql, warnings) = process.wait_output().await?;
//!     let warnings = warnings.lines().map(|l| format!("pg_dump: {}", l.trim())).collect();
//!     Ok((sql, warnings))
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new();
//! fake.exec_mock(&["pg_dump"], MockResult::ok().stdout("CREATE TABLE t;\n").stderr("old server\n"));
//! let (sql, warnings) = backup(&fake).await.unwrap();
//! assert_eq!(sql, "CREATE TABLE t;\n");
//! assert_eq!(warnings, ["pg_dump: old server"]);
//! assert_eq!(fake.exec_history()[0].timeout, Some(Duration::from_secs(300)));
//! // A command that runs past its timeout fails with a change error.
//! fake.exec_mock(&["pg_dump"], MockResult::timeout());
//! assert!(matches!(backup(&fake).await, Err(ContainerError::Change { .. })));
//! # });
//! ```
//!
//! ## Stdin from a file, stdout to a file
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError, ExecOptions};
//! use pebble_testing::{FakeContainer, MockResult};
//!
//! async fn upper_file(c: &impl Workload, input: &std::path::Path, output: &std::path::Path)
//!     -> Result<(), ContainerError>
//! {
//!     let mut process = c.exec(&["tr", "a-z", "A-Z"], ExecOptions::new()).await?;
//!     let mut stdin = process.stdin.take().expect("stdin");
//!     let mut stdout = process.stdout.take().expect("stdout");
//!     let mut src = tokio::fs::File::open(input).await?;
//!     let mut dst = tokio::fs::File::create(output).await?;
//!     let feed = async move {
//!         tokio::io::copy(&mut src, &mut stdin).await?;
//!         tokio::io::AsyncWriteExt::shutdown(&mut stdin).await
//!     };
//!     let (fed, copied) = tokio::join!(feed, tokio::io::copy(&mut stdout, &mut dst));
//!     fed?;
//!     copied?;
//!     process.wait().await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new();
//! fake.exec_handler(&["tr"], |call| MockResult::ok().stdout(call.stdin.to_ascii_uppercase()));
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("LICENSE.txt"), "apache license\n").unwrap();
//! upper_file(&fake, &dir.path().join("LICENSE.txt"), &dir.path().join("output.txt")).await.unwrap();
//! assert_eq!(std::fs::read_to_string(dir.path().join("output.txt")).unwrap(), "APACHE LICENSE\n");
//! # });
//! ```
//!
//! ## Send a signal to a running command
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError, ExecOptions};
//! use pebble_testing::{FakeContainer, MockResult};
//!
//! async fn interrupt(c: &impl Workload) -> Result<(), ContainerError> {
//!     let mut process = c.exec(&["sleep", "10"], ExecOptions::new()).await?;
//!     process.send_signal("SIGTERM").await?;
//!     process.wait().await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeContainer::new();
//! fake.exec_mock(&["sleep"], MockResult::ok());
//! let err = interrupt(&fake).await.unwrap_err();
//! assert_eq!(err.as_exec().unwrap().exit_code, 143); // 128 + SIGTERM
//! assert_eq!(err.to_string(), r#"non-zero exit code 143 executing ["sleep", "10"]"#);
//! # });
//! ```
//!
//! ## Test command execution (exec mocks and history)
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError, ExecOptions};
//! use pebble_testing::{FakeContainer, MockResult};
//! use tokio::io::AsyncWriteExt;
//!
//! const LS_LL: &str = "\
//! .rw-rw-r--  228 ubuntu ubuntu 18 jan 12:05 -- charmcraft.yaml
//! drwxrwxr-x    - ubuntu ubuntu 18 jan 12:06 -- lib
//! ";
//!
//! async fn on_start(foo: &impl Workload) -> Result<String, ContainerError> {
//!     let mut proc = foo.exec(&["ls", "-ll"], ExecOptions::new()).await?;
//!     if let Some(stdin) = proc.stdin.as_mut() {
//!         stdin.write_all(b"...").await?;
//!     }
//!     let (stdout, _) = proc.wait_output().await?;
//!     Ok(stdout)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let container = FakeContainer::named("foo");
//! container.exec_mock(&["ls"], MockResult::ok().stdout(LS_LL));
//! assert_eq!(on_start(&container).await.unwrap(), LS_LL);
//! let history = container.exec_history();
//! assert_eq!(history[0].command, ["ls", "-ll"]);
//! assert_eq!(history[0].stdin_text(), "...");
//!
//! // Without a matching mock, exec fails as for a missing executable.
//! let err = container.exec(&["rm", "-rf"], ExecOptions::new()).await.unwrap_err();
//! assert_eq!(err.api_code(), Some(400));
//! # });
//! ```
//!
//! ## Test that a layer is added (from a rockcraft.yaml)
//!
//! ```
//! use pebble_client::container::{Workload, ContainerError};
//! use pebble_testing::{FakeContainer, layer_from_rockcraft};
//!
//! async fn on_pebble_ready(c: &impl Workload) -> Result<(), ContainerError> {
//!     c.add_layer("charm", "services:\n  app: {override: merge, environment: {MODE: prod}}\n",
//!                 false).await?;
//!     c.replan().await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let rockcraft = dir.path().join("rockcraft.yaml");
//! std::fs::write(&rockcraft, "name: app\nsummary: my app\nservices:\n  app:\n    \
//!     override: replace\n    command: /bin/app\n    startup: enabled\n").unwrap();
//! let layer = layer_from_rockcraft(&rockcraft).unwrap();
//! let container = FakeContainer::named("workload").with_layer("rock", layer).unwrap();
//! on_pebble_ready(&container).await.unwrap();
//! assert_eq!(container.layers().len(), 2);
//! let plan = container.plan();
//! assert_eq!(plan.services["app"].command, "/bin/app");
//! assert_eq!(plan.services["app"].environment["MODE"], "prod");
//! # });
//! ```

mod exec;
mod fake;
mod fixture;
mod fs;
mod glob;
mod rockcraft;

pub use exec::{ExecRecord, Handler, MockResult};
pub use fake::{FakeContainer, ServiceCall, ServiceEvent};
pub use fixture::{DaemonFixture, FixtureError};
pub use fs::FileMeta;
pub use rockcraft::layer_from_rockcraft;

pub use pebble_client::container::{ContainerError, Workload};
