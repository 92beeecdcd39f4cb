//! [`Container`]: the [`Workload`] implementation over a real Pebble daemon.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use pebble_api::files::Ownership;

use super::{
    ByteStream, CheckInfo, ContainerError, DEFAULT_CHANGE_TIMEOUT, ExecOptions, ExecProcess,
    FileInfo, LayerInput, ListFilesOptions, MakeDirOptions, Notice, Plan, PushOptions, PushSource,
    ServiceInfo, Workload,
};
use crate::{AddLayerOptions, Client, Query};

/// A workload container reached through Pebble's API socket (`ops.Container`).
#[derive(Debug, Clone)]
pub struct Container {
    client: Client,
    change_timeout: Duration,
}

impl Container {
    /// A container driven through `client`.
    pub fn new(client: Client) -> Self {
        Container {
            client,
            change_timeout: DEFAULT_CHANGE_TIMEOUT,
        }
    }

    /// A container whose Pebble socket is at `socket`.
    pub fn from_socket(socket: impl Into<PathBuf>) -> Self {
        Container::new(Client::new(socket))
    }

    /// Sets how long service actions wait for their change (default 30 s).
    pub fn with_change_timeout(mut self, timeout: Duration) -> Self {
        self.change_timeout = timeout;
        self
    }

    /// The low-level client (`ops.Container.pebble`).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits for a change to be ready, looping on the server's long-poll timeouts until the
    /// overall deadline; a change error becomes [`ContainerError::Change`].
    pub async fn wait_change(&self, id: &str, timeout: Duration) -> Result<(), ContainerError> {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ContainerError::Timeout(format!(
                    "timed out waiting for change {id} ({timeout:?})"
                )));
            }
            match self.client.wait_change_ok(id, Some(remaining)).await {
                Ok(_) => return Ok(()),
                Err(crate::Error::Timeout(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn action(&self, action: &str, services: &[&str]) -> Result<(), ContainerError> {
        let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
        let id = self.client.service_action(action, &names).await?;
        self.wait_change(&id, self.change_timeout).await
    }
}

fn owner(
    user_id: Option<u32>,
    user: &Option<String>,
    gid: Option<u32>,
    group: &Option<String>,
) -> Ownership {
    Ownership {
        user_id: user_id.map(i64::from),
        user: user.clone().unwrap_or_default(),
        group_id: gid.map(i64::from),
        group: group.clone().unwrap_or_default(),
    }
}

impl Workload for Container {
    async fn can_connect(&self) -> bool {
        self.client.system_info().await.is_ok()
    }

    async fn add_layer(
        &self,
        label: &str,
        layer: impl Into<LayerInput> + Send,
        combine: bool,
    ) -> Result<(), ContainerError> {
        let yaml = layer.into().to_yaml()?;
        self.client
            .add_layer(&AddLayerOptions {
                combine,
                inner: false,
                label: label.to_string(),
                layer_yaml: yaml,
            })
            .await?;
        Ok(())
    }

    async fn get_plan(&self) -> Result<Plan, ContainerError> {
        let yaml = self.client.plan_yaml().await?;
        let layer = pebble_plan::parse_layer(0, "plan", yaml.as_bytes())
            .map_err(|e| ContainerError::Protocol(format!("cannot parse plan: {e}")))?;
        Ok(Plan {
            layers: Vec::new(),
            services: layer.services,
            checks: layer.checks,
            log_targets: layer.log_targets,
            ..Plan::default()
        })
    }

    async fn autostart(&self) -> Result<(), ContainerError> {
        self.action("autostart", &[]).await
    }

    async fn replan(&self) -> Result<(), ContainerError> {
        self.action("replan", &[]).await
    }

    async fn start(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.action("start", services).await
    }

    async fn stop(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.action("stop", services).await
    }

    async fn restart(&self, services: &[&str]) -> Result<(), ContainerError> {
        self.action("restart", services).await
    }

    async fn get_services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, ContainerError> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let infos = self.client.services(&names).await?;
        Ok(infos.into_iter().map(ServiceInfo::from).collect())
    }

    async fn send_signal(&self, signal: &str, services: &[&str]) -> Result<(), ContainerError> {
        let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
        self.client.send_signal(signal, &names).await?;
        Ok(())
    }

    async fn get_checks(
        &self,
        level: Option<&str>,
        names: &[&str],
    ) -> Result<Vec<CheckInfo>, ContainerError> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        Ok(self.client.checks(level, &names).await?)
    }

    async fn start_checks(&self, names: &[&str]) -> Result<Vec<String>, ContainerError> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        Ok(self.client.check_action("start", &names).await?)
    }

    async fn stop_checks(&self, names: &[&str]) -> Result<Vec<String>, ContainerError> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        Ok(self.client.check_action("stop", &names).await?)
    }

    async fn notify(
        &self,
        key: &str,
        data: BTreeMap<String, String>,
    ) -> Result<String, ContainerError> {
        let body = pebble_api::NoticeRequest {
            action: "add".to_string(),
            type_: "custom".to_string(),
            key: key.to_string(),
            repeat_after: String::new(),
            data,
        };
        let r: pebble_api::NoticeIdResult = self.client.post("/v1/notices", &body).await?;
        Ok(r.id)
    }

    async fn get_notices(&self) -> Result<Vec<Notice>, ContainerError> {
        Ok(self.client.get("/v1/notices", &Query::new()).await?)
    }

    async fn get_notice(&self, id: &str) -> Result<Notice, ContainerError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ContainerError::InvalidArgument(format!(
                "invalid notice id {id:?}"
            )));
        }
        match self
            .client
            .get(&format!("/v1/notices/{id}"), &Query::new())
            .await
        {
            Ok(n) => Ok(n),
            Err(crate::Error::Api {
                code: 404, message, ..
            }) => Err(ContainerError::Model(message)),
            Err(e) => Err(e.into()),
        }
    }

    async fn exec(
        &self,
        command: &[&str],
        options: ExecOptions,
    ) -> Result<ExecProcess, ContainerError> {
        if command.is_empty() {
            return Err(ContainerError::InvalidArgument(
                "command must not be empty".to_string(),
            ));
        }
        let command: Vec<String> = command.iter().map(|s| s.to_string()).collect();
        let low = crate::ExecOptions {
            command: command.clone(),
            service_context: options.service_context.clone(),
            environment: options.environment.clone(),
            working_dir: options.working_dir.clone(),
            timeout: options.timeout,
            user_id: options.user_id,
            user: options.user.clone(),
            group_id: options.group_id,
            group: options.group.clone(),
            split_stderr: !options.combine_stderr,
            ..crate::ExecOptions::default()
        };
        let process = self.client.exec(&low).await?;
        Ok(super::exec::real_process(command, process, options))
    }

    async fn push(
        &self,
        path: &str,
        source: impl Into<PushSource> + Send,
        options: PushOptions,
    ) -> Result<(), ContainerError> {
        let source = source.into().into_stream();
        let opts = crate::PushOptions {
            path: path.to_string(),
            make_dirs: options.make_dirs,
            permissions: perms(options.permissions),
            owner: owner(
                options.user_id,
                &options.user,
                options.group_id,
                &options.group,
            ),
        };
        self.client.push(&opts, source).await?;
        Ok(())
    }

    async fn pull(&self, path: &str) -> Result<ByteStream, ContainerError> {
        super::pull::start(self.client.clone(), path.to_string()).await
    }

    async fn list_files(
        &self,
        path: &str,
        options: ListFilesOptions,
    ) -> Result<Vec<FileInfo>, ContainerError> {
        let opts = crate::ListFilesOptions {
            path: path.to_string(),
            pattern: options.pattern.unwrap_or_default(),
            itself: options.itself,
        };
        Ok(self.client.list_files(&opts).await?)
    }

    async fn make_dir(&self, path: &str, options: MakeDirOptions) -> Result<(), ContainerError> {
        let opts = crate::MakeDirOptions {
            path: path.to_string(),
            make_parents: options.make_parents,
            permissions: perms(options.permissions),
            owner: owner(
                options.user_id,
                &options.user,
                options.group_id,
                &options.group,
            ),
        };
        Ok(self.client.make_dir(&opts).await?)
    }

    async fn remove_path(&self, path: &str, recursive: bool) -> Result<(), ContainerError> {
        Ok(self.client.remove_path(path, recursive).await?)
    }
}

fn perms(p: Option<u32>) -> String {
    p.map(|p| format!("{p:03o}")).unwrap_or_default()
}
