//! YAML output of plans and layers, byte for byte like Pebble (`pebble plan`, `GET /v1/plan`).

use crate::types::*;
use crate::yaml::emit::{Out, sort_keys, to_yaml, yaml_float};
use indexmap::IndexMap;
use std::collections::BTreeMap;

fn s(v: &str) -> Out {
    Out::Str(v.to_string())
}

fn push_str(m: &mut Vec<(String, Out)>, k: &str, v: &str) {
    if !v.is_empty() {
        m.push((k.into(), s(v)));
    }
}

fn push_list(m: &mut Vec<(String, Out)>, k: &str, v: &[String]) {
    if !v.is_empty() {
        m.push((k.into(), Out::Seq(v.iter().map(|x| s(x)).collect())));
    }
}

fn str_map<V>(v: &BTreeMap<String, V>, f: impl Fn(&V) -> Out) -> Out {
    let mut items: Vec<(String, Out)> = v.iter().map(|(k, x)| (k.clone(), f(x))).collect();
    sort_keys(&mut items);
    Out::Map(items)
}

fn push_map(m: &mut Vec<(String, Out)>, k: &str, v: &BTreeMap<String, String>) {
    if !v.is_empty() {
        m.push((k.into(), str_map(v, |x| s(x))));
    }
}

fn push_dur(m: &mut Vec<(String, Out)>, k: &str, v: Option<GoDuration>) {
    if let Some(d) = v {
        m.push((k.into(), Out::Str(d.to_string())));
    }
}

fn push_int(m: &mut Vec<(String, Out)>, k: &str, v: Option<u32>) {
    if let Some(i) = v {
        m.push((k.into(), Out::Raw(i.to_string())));
    }
}

fn override_str(o: Option<Override>) -> &'static str {
    match o {
        Some(Override::Merge) => "merge",
        Some(Override::Replace) => "replace",
        None => "",
    }
}

/// The YAML word for an action.
pub fn action_str(a: ServiceAction) -> &'static str {
    match a {
        ServiceAction::Restart => "restart",
        ServiceAction::Shutdown => "shutdown",
        ServiceAction::FailureShutdown => "failure-shutdown",
        ServiceAction::SuccessShutdown => "success-shutdown",
        ServiceAction::Ignore => "ignore",
    }
}

fn service_out(svc: &Service) -> Out {
    let mut m = Vec::new();
    push_str(&mut m, "summary", &svc.summary);
    push_str(&mut m, "description", &svc.description);
    push_str(&mut m, "startup", &svc.startup);
    push_str(&mut m, "override", override_str(svc.override_));
    push_str(&mut m, "command", &svc.command);
    push_list(&mut m, "after", &svc.after);
    push_list(&mut m, "before", &svc.before);
    push_list(&mut m, "requires", &svc.requires);
    push_str(&mut m, "workload", &svc.workload);
    push_map(&mut m, "environment", &svc.environment);
    push_int(&mut m, "user-id", svc.user_id);
    push_str(&mut m, "user", &svc.user);
    push_int(&mut m, "group-id", svc.group_id);
    push_str(&mut m, "group", &svc.group);
    push_str(&mut m, "working-dir", &svc.working_dir);
    if let Some(a) = svc.on_success {
        push_str(&mut m, "on-success", action_str(a));
    }
    if let Some(a) = svc.on_failure {
        push_str(&mut m, "on-failure", action_str(a));
    }
    if !svc.on_check_failure.is_empty() {
        m.push((
            "on-check-failure".into(),
            str_map(&svc.on_check_failure, |a| s(action_str(*a))),
        ));
    }
    push_dur(&mut m, "backoff-delay", svc.backoff_delay);
    if let Some(f) = svc.backoff_factor {
        m.push(("backoff-factor".into(), Out::Raw(yaml_float(f))));
    }
    push_dur(&mut m, "backoff-limit", svc.backoff_limit);
    push_dur(&mut m, "kill-delay", svc.kill_delay);
    Out::Map(m)
}

fn check_out(chk: &Check) -> Out {
    let mut m = Vec::new();
    push_str(&mut m, "override", override_str(chk.override_));
    push_str(&mut m, "level", &chk.level);
    push_str(&mut m, "startup", &chk.startup);
    push_dur(&mut m, "period", chk.period);
    push_dur(&mut m, "timeout", chk.timeout);
    if chk.threshold != 0 {
        m.push(("threshold".into(), Out::Raw(chk.threshold.to_string())));
    }
    if let Some(h) = &chk.http {
        let mut hm = Vec::new();
        push_str(&mut hm, "url", &h.url);
        push_map(&mut hm, "headers", &h.headers);
        m.push(("http".into(), Out::Map(hm)));
    }
    if let Some(t) = &chk.tcp {
        let mut tm = Vec::new();
        if t.port != 0 {
            tm.push(("port".into(), Out::Raw(t.port.to_string())));
        }
        push_str(&mut tm, "host", &t.host);
        m.push(("tcp".into(), Out::Map(tm)));
    }
    if let Some(e) = &chk.exec {
        let mut em = Vec::new();
        push_str(&mut em, "command", &e.command);
        push_str(&mut em, "service-context", &e.service_context);
        push_map(&mut em, "environment", &e.environment);
        push_int(&mut em, "user-id", e.user_id);
        push_str(&mut em, "user", &e.user);
        push_int(&mut em, "group-id", e.group_id);
        push_str(&mut em, "group", &e.group);
        push_str(&mut em, "working-dir", &e.working_dir);
        m.push(("exec".into(), Out::Map(em)));
    }
    Out::Map(m)
}

fn log_target_out(t: &LogTarget) -> Out {
    let mut m = Vec::new();
    push_str(&mut m, "type", &t.type_);
    push_str(&mut m, "location", &t.location);
    m.push((
        "services".into(),
        Out::Seq(t.services.iter().map(|x| s(x)).collect()),
    ));
    push_str(&mut m, "override", override_str(t.override_));
    push_map(&mut m, "labels", &t.labels);
    Out::Map(m)
}

fn workload_out(w: &Workload) -> Out {
    let mut m = Vec::new();
    push_str(&mut m, "override", override_str(w.override_));
    push_map(&mut m, "environment", &w.environment);
    push_int(&mut m, "user-id", w.user_id);
    push_str(&mut m, "user", &w.user);
    push_int(&mut m, "group-id", w.group_id);
    push_str(&mut m, "group", &w.group);
    Out::Map(m)
}

fn section<T>(m: &mut Vec<(String, Out)>, key: &str, v: &IndexMap<String, T>, f: fn(&T) -> Out) {
    if v.is_empty() {
        return;
    }
    let mut items: Vec<(String, Out)> = v.iter().map(|(k, x)| (k.clone(), f(x))).collect();
    sort_keys(&mut items);
    m.push((key.into(), Out::Map(items)));
}

impl Plan {
    /// The plan as Pebble prints it (`pebble plan`, `GET /v1/plan?format=yaml`): services,
    /// checks, log-targets, then the extension sections workloads and pairing (empty ones
    /// omitted, names in go-yaml order), `{}\n` if empty.
    pub fn to_yaml(&self) -> String {
        let mut m = Vec::new();
        section(&mut m, "services", &self.services, service_out);
        section(&mut m, "checks", &self.checks, check_out);
        section(&mut m, "log-targets", &self.log_targets, log_target_out);
        section(&mut m, "workloads", &self.workloads, workload_out);
        pairing(&mut m, &self.pairing_mode);
        to_yaml(&Out::Map(m))
    }
}

fn pairing(m: &mut Vec<(String, Out)>, mode: &str) {
    if !mode.is_empty() {
        m.push(("pairing".into(), Out::Map(vec![("mode".into(), s(mode))])));
    }
}

impl Layer {
    /// The layer as Pebble marshals it (summary, description, then the sections).
    pub fn to_yaml(&self) -> String {
        let mut m = Vec::new();
        push_str(&mut m, "summary", &self.summary);
        push_str(&mut m, "description", &self.description);
        section(&mut m, "services", &self.services, service_out);
        section(&mut m, "checks", &self.checks, check_out);
        section(&mut m, "log-targets", &self.log_targets, log_target_out);
        section(&mut m, "workloads", &self.workloads, workload_out);
        pairing(&mut m, &self.pairing_mode);
        to_yaml(&Out::Map(m))
    }
}
