//! Combining layers into a plan (merge/replace per field), defaults, and plan validation.

use crate::error::{PlanError, invalid};
use crate::quote::go_quote;
use crate::types::*;

/// Default `backoff-delay`.
pub const DEFAULT_BACKOFF_DELAY: GoDuration = GoDuration::from_millis(500);
/// Default `backoff-factor`.
pub const DEFAULT_BACKOFF_FACTOR: f64 = 2.0;
/// Default `backoff-limit`.
pub const DEFAULT_BACKOFF_LIMIT: GoDuration = GoDuration::from_secs(30);
/// Default `kill-delay` (applied at runtime).
pub const DEFAULT_KILL_DELAY: GoDuration = GoDuration::from_secs(5);
/// Default check `period`.
pub const DEFAULT_CHECK_PERIOD: GoDuration = GoDuration::from_secs(10);
/// Default check `timeout` (capped to the period).
pub const DEFAULT_CHECK_TIMEOUT: GoDuration = GoDuration::from_secs(3);
/// Default check `threshold` (written into the plan).
pub const DEFAULT_CHECK_THRESHOLD: u32 = 3;

fn set_str(dst: &mut String, src: &str) {
    if !src.is_empty() {
        *dst = src.to_string();
    }
}

fn set_opt<T: Copy>(dst: &mut Option<T>, src: Option<T>) {
    if src.is_some() {
        *dst = src;
    }
}

impl Service {
    /// Merges `other` onto `self` (`override: merge`): scalars replaced when set, lists
    /// appended, maps merged by key. The override of `self` is kept.
    pub fn merge(&mut self, other: &Service) {
        set_str(&mut self.summary, &other.summary);
        set_str(&mut self.description, &other.description);
        set_str(&mut self.startup, &other.startup);
        set_str(&mut self.command, &other.command);
        set_opt(&mut self.kill_delay, other.kill_delay);
        set_opt(&mut self.user_id, other.user_id);
        set_str(&mut self.user, &other.user);
        set_opt(&mut self.group_id, other.group_id);
        set_str(&mut self.group, &other.group);
        set_str(&mut self.working_dir, &other.working_dir);
        set_str(&mut self.workload, &other.workload);
        set_opt(&mut self.on_success, other.on_success);
        set_opt(&mut self.on_failure, other.on_failure);
        self.after.extend(other.after.iter().cloned());
        self.before.extend(other.before.iter().cloned());
        self.requires.extend(other.requires.iter().cloned());
        for (k, v) in &other.environment {
            self.environment.insert(k.clone(), v.clone());
        }
        for (k, v) in &other.on_check_failure {
            self.on_check_failure.insert(k.clone(), *v);
        }
        set_opt(&mut self.backoff_delay, other.backoff_delay);
        set_opt(&mut self.backoff_factor, other.backoff_factor);
        set_opt(&mut self.backoff_limit, other.backoff_limit);
    }

    /// `backoff-delay` or its default (500ms).
    pub fn effective_backoff_delay(&self) -> GoDuration {
        self.backoff_delay.unwrap_or(DEFAULT_BACKOFF_DELAY)
    }

    /// `backoff-factor` or its default (2.0).
    pub fn effective_backoff_factor(&self) -> f64 {
        self.backoff_factor.unwrap_or(DEFAULT_BACKOFF_FACTOR)
    }

    /// `backoff-limit` or its default (30s).
    pub fn effective_backoff_limit(&self) -> GoDuration {
        self.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT)
    }

    /// `kill-delay` or its runtime default (5s).
    pub fn effective_kill_delay(&self) -> GoDuration {
        self.kill_delay.unwrap_or(DEFAULT_KILL_DELAY)
    }

    /// `on-success` (unset means restart).
    pub fn effective_on_success(&self) -> ServiceAction {
        self.on_success.unwrap_or(ServiceAction::Restart)
    }

    /// `on-failure` (unset means restart).
    pub fn effective_on_failure(&self) -> ServiceAction {
        self.on_failure.unwrap_or(ServiceAction::Restart)
    }

    /// True if `startup: enabled`.
    pub fn is_startup_enabled(&self) -> bool {
        self.startup == "enabled"
    }

    /// Whether this service's logs go to `target` (scan its `services` from the end:
    /// `name`/`all` forward, `-name`/`-all` do not; no match does not).
    pub fn logs_to(&self, target: &LogTarget) -> bool {
        for s in target.services.iter().rev() {
            if *s == self.name || s == "all" {
                return true;
            }
            if s.strip_prefix('-') == Some(self.name.as_str()) || s == "-all" {
                return false;
            }
        }
        false
    }
}

impl Check {
    /// Merges `other` onto `self` (`override: merge`); sub-objects are merged too.
    pub fn merge(&mut self, other: &Check) {
        set_str(&mut self.level, &other.level);
        set_str(&mut self.startup, &other.startup);
        set_opt(&mut self.period, other.period);
        set_opt(&mut self.timeout, other.timeout);
        if other.threshold != 0 {
            self.threshold = other.threshold;
        }
        if let Some(o) = &other.http {
            let h = self.http.get_or_insert_with(HttpCheck::default);
            set_str(&mut h.url, &o.url);
            for (k, v) in &o.headers {
                h.headers.insert(k.clone(), v.clone());
            }
        }
        if let Some(o) = &other.tcp {
            let t = self.tcp.get_or_insert_with(TcpCheck::default);
            if o.port != 0 {
                t.port = o.port;
            }
            set_str(&mut t.host, &o.host);
        }
        if let Some(o) = &other.exec {
            let e = self.exec.get_or_insert_with(ExecCheck::default);
            set_str(&mut e.command, &o.command);
            set_str(&mut e.service_context, &o.service_context);
            for (k, v) in &o.environment {
                e.environment.insert(k.clone(), v.clone());
            }
            set_opt(&mut e.user_id, o.user_id);
            set_str(&mut e.user, &o.user);
            set_opt(&mut e.group_id, o.group_id);
            set_str(&mut e.group, &o.group);
            set_str(&mut e.working_dir, &o.working_dir);
        }
    }

    /// `period` or its default (10s).
    pub fn effective_period(&self) -> GoDuration {
        self.period.unwrap_or(DEFAULT_CHECK_PERIOD)
    }

    /// `timeout` or its default (3s), capped to the effective period.
    pub fn effective_timeout(&self) -> GoDuration {
        let t = self.timeout.unwrap_or(DEFAULT_CHECK_TIMEOUT);
        t.min(self.effective_period())
    }

    /// `threshold` or its default (3).
    pub fn effective_threshold(&self) -> u32 {
        if self.threshold == 0 {
            DEFAULT_CHECK_THRESHOLD
        } else {
            self.threshold
        }
    }

    /// True unless `startup: disabled`.
    pub fn is_startup_enabled(&self) -> bool {
        self.startup != "disabled"
    }
}

impl LogTarget {
    /// Merges `other` onto `self` (`override: merge`).
    pub fn merge(&mut self, other: &LogTarget) {
        set_str(&mut self.type_, &other.type_);
        set_str(&mut self.location, &other.location);
        self.services.extend(other.services.iter().cloned());
        for (k, v) in &other.labels {
            self.labels.insert(k.clone(), v.clone());
        }
    }
}

impl Workload {
    /// Merges `other` onto `self` (`override: merge`): environment merged by key, user and
    /// group fields replaced when set. The override of `self` is kept.
    pub fn merge(&mut self, other: &Workload) {
        for (k, v) in &other.environment {
            self.environment.insert(k.clone(), v.clone());
        }
        set_opt(&mut self.user_id, other.user_id);
        set_str(&mut self.user, &other.user);
        set_opt(&mut self.group_id, other.group_id);
        set_str(&mut self.group, &other.group);
    }
}

fn override_err(label: &str, kind: &str, name: &str) -> PlanError {
    invalid(format!(
        "layer {} must define \"override\" for {kind} {}",
        go_quote(label),
        go_quote(name)
    ))
}

/// Combines layers into one layer (as Pebble's `CombineLayers`): entries merged or replaced
/// per their `override`, summary/description of the last layer, check thresholds defaulted.
/// Order and label are those of the first layer. No plan validation.
pub fn combine_to_layer(layers: &[Layer]) -> Result<Layer, PlanError> {
    let mut out = Layer::default();
    let Some(last) = layers.last() else {
        return Ok(out);
    };
    out.summary = last.summary.clone();
    out.description = last.description.clone();
    if let Some(first) = layers.first() {
        out.order = first.order;
        out.label = first.label.clone();
    }
    for layer in layers {
        set_str(&mut out.pairing_mode, &layer.pairing_mode);
        for (name, svc) in &layer.services {
            match svc.override_ {
                Some(Override::Merge) => {
                    if let Some(old) = out.services.get_mut(name) {
                        old.merge(svc);
                    } else {
                        out.services.insert(name.clone(), svc.clone());
                    }
                }
                Some(Override::Replace) => {
                    out.services.insert(name.clone(), svc.clone());
                }
                None => return Err(override_err(&layer.label, "service", name)),
            }
        }
        for (name, chk) in &layer.checks {
            match chk.override_ {
                Some(Override::Merge) => {
                    if let Some(old) = out.checks.get_mut(name) {
                        old.merge(chk);
                    } else {
                        out.checks.insert(name.clone(), chk.clone());
                    }
                }
                Some(Override::Replace) => {
                    out.checks.insert(name.clone(), chk.clone());
                }
                None => return Err(override_err(&layer.label, "check", name)),
            }
        }
        for (name, tgt) in &layer.log_targets {
            match tgt.override_ {
                Some(Override::Merge) => {
                    if let Some(old) = out.log_targets.get_mut(name) {
                        old.merge(tgt);
                    } else {
                        out.log_targets.insert(name.clone(), tgt.clone());
                    }
                }
                Some(Override::Replace) => {
                    out.log_targets.insert(name.clone(), tgt.clone());
                }
                None => return Err(override_err(&layer.label, "log target", name)),
            }
        }
    }
    for layer in layers {
        for (name, w) in &layer.workloads {
            match w.override_ {
                Some(Override::Merge) => {
                    if let Some(old) = out.workloads.get_mut(name) {
                        old.merge(w);
                    } else {
                        out.workloads.insert(name.clone(), w.clone());
                    }
                }
                Some(Override::Replace) => {
                    out.workloads.insert(name.clone(), w.clone());
                }
                None => {
                    return Err(invalid(format!(
                        "workload {}: must define an \"override\" policy",
                        go_quote(name)
                    )));
                }
            }
        }
    }
    for (name, w) in out.workloads.iter_mut() {
        w.name.clone_from(name);
    }
    out.workloads.sort_unstable_keys();
    for (name, svc) in out.services.iter_mut() {
        svc.name.clone_from(name);
    }
    for (name, tgt) in out.log_targets.iter_mut() {
        tgt.name.clone_from(name);
    }
    for (name, chk) in out.checks.iter_mut() {
        chk.name.clone_from(name);
        if chk.threshold == 0 {
            chk.threshold = DEFAULT_CHECK_THRESHOLD;
        }
    }
    out.services.sort_unstable_keys();
    out.checks.sort_unstable_keys();
    out.log_targets.sort_unstable_keys();
    Ok(out)
}

/// Combines `layers` (in order) into a plan and validates it ([`Plan::validate`]).
/// `Plan::layers` holds the given layers.
pub fn combine_layers(layers: &[Layer]) -> Result<Plan, PlanError> {
    let combined = combine_to_layer(layers)?;
    let plan = Plan {
        layers: layers.to_vec(),
        services: combined.services,
        checks: combined.checks,
        log_targets: combined.log_targets,
        workloads: combined.workloads,
        pairing_mode: combined.pairing_mode,
    };
    plan.validate()?;
    Ok(plan)
}

impl Plan {
    /// Whole-plan validation: commands, check types and fields, log targets, and
    /// `requires`/`before`/`after` consistency (unknown required services, ordering loops).
    /// Entries are checked in name order.
    pub fn validate(&self) -> Result<(), PlanError> {
        let mut names: Vec<&String> = self.services.keys().collect();
        names.sort();
        for name in &names {
            if self.services[*name].command.is_empty() {
                return Err(invalid(format!(
                    "plan must define \"command\" for service {}",
                    go_quote(name)
                )));
            }
        }
        let mut checks: Vec<(&String, &Check)> = self.checks.iter().collect();
        checks.sort_by(|a, b| a.0.cmp(b.0));
        for (name, chk) in checks {
            let q = go_quote(name);
            let mut n = 0;
            if let Some(h) = &chk.http {
                if h.url.is_empty() {
                    return Err(invalid(format!("plan must set \"url\" for http check {q}")));
                }
                n += 1;
            }
            if let Some(t) = &chk.tcp {
                if t.port == 0 {
                    return Err(invalid(format!("plan must set \"port\" for tcp check {q}")));
                }
                n += 1;
            }
            if let Some(e) = &chk.exec {
                if e.command.is_empty() {
                    return Err(invalid(format!(
                        "plan must set \"command\" for exec check {q}"
                    )));
                }
                if !e.service_context.is_empty() && !self.services.contains_key(&e.service_context)
                {
                    return Err(invalid(format!(
                        "plan check {q} service context specifies non-existent service {}",
                        go_quote(&e.service_context)
                    )));
                }
                n += 1;
            }
            if n != 1 {
                return Err(invalid(format!(
                    "plan must specify one of \"http\", \"tcp\", or \"exec\" for check {q}"
                )));
            }
        }
        let mut targets: Vec<(&String, &LogTarget)> = self.log_targets.iter().collect();
        targets.sort_by(|a, b| a.0.cmp(b.0));
        for (name, tgt) in targets {
            let q = go_quote(name);
            if tgt.type_.is_empty() {
                return Err(invalid(format!(
                    "plan must define \"type\" (\"loki\", \"opentelemetry\" or \"syslog\") for log target {q}"
                )));
            }
            for s in &tgt.services {
                let s = s.strip_prefix('-').unwrap_or(s);
                if s == "all" || self.services.contains_key(s) {
                    continue;
                }
                return Err(invalid(format!(
                    "log target {q} specifies unknown service {}",
                    go_quote(s)
                )));
            }
            if tgt.location.is_empty() {
                return Err(invalid(format!(
                    "plan must define \"location\" for log target {q}"
                )));
            }
        }
        let all: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        crate::order::order(&self.services, &all, false).map_err(|e| match e {
            PlanError::Other(m) => invalid(m),
            other => other,
        })?;
        for name in &names {
            let svc = &self.services[*name];
            if svc.workload.is_empty() {
                continue;
            }
            if !self.workloads.contains_key(&svc.workload) {
                return Err(invalid(format!(
                    "workload {}: not defined for service {}",
                    go_quote(&svc.workload),
                    go_quote(name)
                )));
            }
            if svc.user_id.is_some() || !svc.user.is_empty() {
                return Err(invalid(format!(
                    "plan service {} cannot have user information and a workload at the same time",
                    go_quote(name)
                )));
            }
            if svc.group_id.is_some() || !svc.group.is_empty() {
                return Err(invalid(format!(
                    "plan service {} cannot have group information and a workload at the same time",
                    go_quote(name)
                )));
            }
        }
        Ok(())
    }

    /// Checks the user and group fields of every workload (in name order) with `normalize`
    /// (Pebble's uid/gid normalisation against the host's user database, which this crate
    /// cannot read); an error becomes `workload "<w>": <err>`. Part of Pebble's plan
    /// validation: run it after [`combine_layers`] wherever a plan is built.
    pub fn validate_workload_users(
        &self,
        normalize: impl Fn(&Workload) -> Result<(), String>,
    ) -> Result<(), PlanError> {
        let mut names: Vec<&String> = self.workloads.keys().collect();
        names.sort();
        for name in names {
            normalize(&self.workloads[name])
                .map_err(|e| invalid(format!("workload {}: {e}", go_quote(name))))?;
        }
        Ok(())
    }

    /// The service `name` as it runs: when it names a workload, the workload's environment
    /// under the service's own (the service's values win) and the workload's user and group
    /// fields (a valid plan has none on such a service). `None` if there is no such service.
    pub fn resolved_service(&self, name: &str) -> Option<Service> {
        let svc = self.services.get(name)?;
        let mut out = svc.clone();
        if svc.workload.is_empty() {
            return Some(out);
        }
        if let Some(w) = self.workloads.get(&svc.workload) {
            let mut env = w.environment.clone();
            env.extend(svc.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
            out.environment = env;
            out.user_id = w.user_id;
            out.user.clone_from(&w.user);
            out.group_id = w.group_id;
            out.group.clone_from(&w.group);
        }
        Some(out)
    }

    /// Names of services with `startup: enabled`, sorted.
    pub fn startup_enabled_services(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .services
            .values()
            .filter(|s| s.is_startup_enabled())
            .map(|s| s.name.clone())
            .collect();
        v.sort();
        v
    }

    /// Names of checks whose startup is not `disabled`, sorted.
    pub fn startup_enabled_checks(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .checks
            .values()
            .filter(|c| c.is_startup_enabled())
            .map(|c| c.name.clone())
            .collect();
        v.sort();
        v
    }
}
