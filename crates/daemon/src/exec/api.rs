//! The HTTP handlers: `POST /v1/exec` and `GET /v1/tasks/{task-id}/websocket/{websocket-id}`.

use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use pebble_api::{ExecRequest, ExecResult};

use super::{ConnectError, ExecContext, ExecManager, prepare, ws};
use crate::http::body::Body;
use crate::http::envelope::{self, Resp};
use crate::http::router::Req;
use crate::overlord::Daemon;
use crate::state::{ChangeBuilder, TaskContext};

static INSTALL: Mutex<()> = Mutex::new(());

/// The daemon's exec manager, created (with its `exec` task handler) on first use.
pub fn manager(daemon: &Daemon) -> Result<ExecManager, String> {
    if let Some(m) = daemon.extension::<ExecManager>() {
        return Ok((*m).clone());
    }
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = daemon.extension::<ExecManager>() {
        return Ok((*m).clone());
    }
    let reaper = crate::reaper::Reaper::start().map_err(|e| e.to_string())?;
    let mgr = ExecManager::new(reaper);
    let handler_mgr = mgr.clone();
    daemon
        .runner()
        .add_handler("exec", move |ctx: TaskContext| {
            let mgr = handler_mgr.clone();
            async move {
                let mut abort = ctx.abort.clone();
                let outcome = mgr.run(&ctx.task_id.to_string(), abort.aborted()).await;
                if let Some(code) = outcome.exit_code {
                    ctx.state
                        .set_task_api_data(ctx.task_id, "exit-code", serde_json::json!(code));
                }
                match outcome.error {
                    Some(e) => Err(e),
                    None => Ok(()),
                }
            }
        });
    daemon.set_extension(Arc::new(mgr.clone()));
    Ok(mgr)
}

/// `POST /v1/exec` (admin).
pub async fn post_exec(mut req: Req) -> Resp {
    let body: ExecRequest = match req.decode_json("cannot decode request body").await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let mgr = match manager(&req.daemon) {
        Ok(m) => m,
        Err(e) => return envelope::internal_error(format!("cannot call exec: {e}")),
    };
    let plan = req.daemon.plan();
    let ctx = ExecContext {
        plan: &plan,
        daemon_env: ExecContext::current_env(),
        daemon_uid: req.daemon.uid(),
        users: req.daemon.users().as_ref(),
    };
    let setup = match prepare(&body, &ctx) {
        Ok(s) => s,
        Err(e) => return envelope::error(e.status(), e.message()),
    };
    let uid = req
        .uid()
        .map_or_else(|| "<unknown>".to_string(), |u| u.to_string());
    crate::overlord::security_event(
        &format!("authz_admin:{uid},exec"),
        &format!("Executing command {}", setup.command[0]),
    );
    let summary = setup.summary();
    let mut builder = ChangeBuilder::new("exec", &summary);
    builder.add_task("exec", &summary);
    let result_env = setup.environment.clone();
    let working_dir = setup.working_dir.clone();
    let state = req.daemon.state();
    let ids = state.add_change(builder);
    let Some(task_id) = ids.tasks.first().map(u64::to_string) else {
        return envelope::internal_error("cannot call exec: no task created");
    };
    mgr.register(&task_id, setup);
    req.daemon.runner().ensure();
    envelope::async_change_with(
        ids.change,
        &ExecResult {
            environment: result_env,
            task_id,
            working_dir,
        },
    )
}

/// `GET /v1/tasks/{task-id}/websocket/{websocket-id}` (admin).
pub async fn websocket(req: Req) -> Resp {
    let task_id = req.var("task-id").to_string();
    let ws_id = req.var("websocket-id").to_string();
    let not_found = || envelope::not_found(format!("cannot find task {:?}", task_id));
    let Ok(tid) = task_id.parse::<u64>() else {
        return not_found();
    };
    let state = req.daemon.state().clone();
    let Some(task) = state.task(tid) else {
        return not_found();
    };
    if task.kind != "exec" {
        return envelope::bad_request(format!("{:?} tasks do not have websockets", task.kind));
    }
    let mgr = match manager(&req.daemon) {
        Ok(m) => m,
        Err(e) => return envelope::internal_error(e),
    };
    let claim = match mgr.connect(&task_id, &ws_id) {
        Ok(c) => c,
        Err(ConnectError::NotRunning(_)) if ws_id == "control" => {
            // The command does not wait for `control` (only stdio/stderr): a client that
            // connects control last, or in parallel, can arrive after a short command ended.
            // Accept it and close it at once, as the server closes control when the command ends.
            state.wait_change_ready(task.change).await;
            let mut head = match ws::handshake_response(req.request.headers()) {
                Ok(h) => h,
                Err(msg) => return envelope::bad_request(msg),
            };
            if let Some(ext) = ws::header_case_extensions().await {
                *head.extensions_mut() = ext;
            }
            let request = req.into_request();
            tokio::spawn(async move {
                // Dropping the upgraded connection closes it without a close frame.
                let _ = hyper::upgrade::on(request).await;
            });
            return head.map(|()| Body::empty());
        }
        Err(ConnectError::NotRunning(_)) => {
            // Not (or no longer) running: answer from the change, as Pebble does once it is ready.
            let change = state.wait_change_ready(task.change).await;
            return match change {
                Some(c) if !c.err.is_empty() => envelope::internal_error(c.err),
                _ => http::Response::new(Body::empty()),
            };
        }
        Err(e) => return envelope::error(e.status(), e.to_string()),
    };
    let mut head = match ws::handshake_response(req.request.headers()) {
        Ok(h) => h,
        Err(msg) => return envelope::bad_request(msg),
    };
    if let Some(ext) = ws::header_case_extensions().await {
        *head.extensions_mut() = ext;
    }
    let request = req.into_request();
    tokio::spawn(async move {
        if let Ok(upgraded) = hyper::upgrade::on(request).await {
            claim.attach(TokioIo::new(upgraded)).await;
        }
    });
    head.map(|()| Body::empty())
}
