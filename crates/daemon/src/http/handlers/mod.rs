//! The endpoint handlers and the route table.

pub mod changes;
pub mod gojsonerr;
pub mod identities;
pub mod layers;
pub mod logs;
pub mod metrics;
pub mod notices;
pub mod services;
pub mod signals;
pub mod system;

use super::router::{Access, Router};

/// The daemon's route table. Other subsystems add their routes here (one line each).
pub fn router() -> Router {
    let mut r = Router::new();
    r.get("/v1/system-info", Access::Open, system::system_info)
        .no_log("/v1/system-info");
    r.get("/v1/health", Access::Open, system::health)
        .no_log("/v1/health");
    r.get("/v1/changes", Access::Read, changes::list);
    r.get("/v1/changes/{id}", Access::Read, changes::get)
        .post("/v1/changes/{id}", Access::Admin, changes::abort)
        .no_log("/v1/changes/{id}");
    r.get("/v1/changes/{id}/wait", Access::Read, changes::wait);
    r.get_sync("/v1/services", Access::Read, services::list)
        .post("/v1/services", Access::Admin, services::action);
    r.get(
        "/v1/services/{name}",
        Access::Read,
        services::not_implemented,
    )
    .post(
        "/v1/services/{name}",
        Access::Admin,
        services::not_implemented,
    );
    r.get("/v1/plan", Access::Admin, layers::plan);
    r.post("/v1/layers", Access::Admin, layers::add);
    r.get("/v1/logs", Access::Read, logs::logs);
    r.post("/v1/signals", Access::Admin, signals::signals);
    r.post("/v1/exec", Access::Admin, crate::exec::api::post_exec);
    r.get(
        "/v1/tasks/{task-id}/websocket/{websocket-id}",
        Access::Admin,
        crate::exec::api::websocket,
    );
    r.get("/v1/checks", Access::Read, crate::checks::api::get_checks)
        .post("/v1/checks", Access::Admin, crate::checks::api::post_checks);
    r.post(
        "/v1/checks/refresh",
        Access::Admin,
        crate::checks::api::refresh_check,
    );
    r.get("/v1/files", Access::Admin, crate::files::api::get_files)
        .post("/v1/files", Access::Admin, crate::files::api::post_files);
    r.get("/v1/notices", Access::Read, notices::list).post(
        "/v1/notices",
        Access::Read,
        notices::add,
    );
    r.get("/v1/notices/{id}", Access::Read, notices::get);
    r.get("/v1/metrics", Access::Metrics, metrics::metrics);
    r.get("/v1/identities", Access::Read, identities::list)
        .post("/v1/identities", Access::Admin, identities::post);
    r
}
