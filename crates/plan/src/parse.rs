//! `parse_layer`: strict decoding of a layer's YAML with Pebble's messages, then layer validation.

use crate::command::parse_command;
use crate::error::{PlanError, invalid, parse_err};
use crate::go_duration::parse_nanos;
use crate::quote::go_quote;
use crate::types::*;
use crate::yaml::emit::go_format_float;
use crate::yaml::node::{self, Kind, Node};
use crate::yaml::resolve::{Resolved, resolve_plain};
use std::collections::BTreeMap;
use std::time::Duration;

/// Decoding state for one section: collected go-yaml "unmarshal errors" and the line base.
///
/// Pebble decodes each section from a re-marshalled copy of it, so go-yaml's line numbers count
/// from the section's first line and skip blank lines; `nonblank[l]` is the number of
/// non-blank lines among lines `1..=l` of the input, used to mimic that.
struct Dec<'a> {
    errors: Vec<String>,
    base_line: usize,
    nonblank: &'a [usize],
}

/// An error that aborts decoding of a section (from a custom unmarshaler, like go-yaml's).
type Abort = String;

impl Dec<'_> {
    fn line(&self, n: &Node) -> usize {
        let at = |l: usize| self.nonblank.get(l).copied();
        match (at(n.line), at(self.base_line.saturating_sub(1))) {
            (Some(a), Some(b)) => a.saturating_sub(b).max(1),
            _ => (n.line + 1).saturating_sub(self.base_line).max(1),
        }
    }

    fn terror(&mut self, n: &Node, ty: &str) {
        let tag = n.short_tag();
        let value = match (&n.kind, tag.as_str()) {
            (_, "!!seq") | (_, "!!map") => String::new(),
            (Kind::Scalar { value, .. }, _) => {
                if value.len() > 10 {
                    let mut cut = 7;
                    while !value.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    format!(" `{}...`", &value[..cut])
                } else {
                    format!(" `{value}`")
                }
            }
            _ => String::new(),
        };
        self.errors.push(format!(
            "line {}: cannot unmarshal {}{} into {}",
            self.line(n),
            tag,
            value,
            ty
        ));
    }

    /// Mapping pairs, or None (after recording an error) if `n` is not a mapping or has
    /// duplicate keys. A null node yields an empty list.
    fn pairs<'a>(&mut self, n: &'a Node, ty: &str) -> Option<&'a [(Node, Node)]> {
        match &n.kind {
            Kind::Map(pairs) => {
                let before = self.errors.len();
                for (i, (ki, _)) in pairs.iter().enumerate() {
                    for (kj, _) in &pairs[i + 1..] {
                        if ki.scalar().is_some() && ki.scalar() == kj.scalar() {
                            self.errors.push(format!(
                                "line {}: mapping key {} already defined at line {}",
                                self.line(kj),
                                go_quote(kj.scalar().unwrap_or_default()),
                                self.line(ki)
                            ));
                        }
                    }
                }
                if self.errors.len() > before {
                    None
                } else {
                    Some(pairs)
                }
            }
            _ if n.is_null() => Some(&[]),
            _ => {
                self.terror(n, ty);
                None
            }
        }
    }

    fn string(&mut self, n: &Node, ty: &str) -> String {
        match &n.kind {
            Kind::Scalar { value, .. } => {
                if n.is_null() {
                    String::new()
                } else {
                    value.clone()
                }
            }
            _ => {
                self.terror(n, ty);
                String::new()
            }
        }
    }

    fn strings(&mut self, n: &Node) -> Vec<String> {
        match &n.kind {
            Kind::Seq(items) => items.iter().map(|i| self.string(i, "string")).collect(),
            _ if n.is_null() => Vec::new(),
            _ => {
                self.terror(n, "[]string");
                Vec::new()
            }
        }
    }

    fn str_map(&mut self, n: &Node, ty: &str, vty: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(pairs) = self.pairs(n, ty) {
            for (k, v) in pairs {
                let key = self.string(k, "string");
                let val = self.string(v, vty);
                out.insert(key, val);
            }
        }
        out
    }

    fn int(&mut self, n: &Node, ty: &str) -> Option<i64> {
        if n.is_null() {
            return None;
        }
        let resolved = match (&n.kind, n.tag.as_deref()) {
            (Kind::Scalar { value, plain: true }, None | Some("!!int") | Some("!!float")) => {
                resolve_plain(value)
            }
            _ => Resolved::Str,
        };
        match resolved {
            Resolved::Int(i) if i64::try_from(i).is_ok() => i64::try_from(i).ok(),
            Resolved::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Some(f as i64),
            _ => {
                self.terror(n, ty);
                None
            }
        }
    }

    fn u32_opt(&mut self, n: &Node) -> Option<u32> {
        let v = self.int(n, "int")?;
        match u32::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => {
                self.terror(n, "int");
                None
            }
        }
    }

    fn duration(&mut self, n: &Node) -> Result<Option<GoDuration>, Abort> {
        if n.is_null() {
            return Ok(None);
        }
        let Kind::Scalar { value, .. } = &n.kind else {
            return Err("duration must be a YAML string".into());
        };
        match parse_nanos(value) {
            Ok(ns) if ns >= 0 => Ok(Some(GoDuration(Duration::from_nanos(ns as u64)))),
            _ => Err(format!("invalid duration {}", go_quote(value))),
        }
    }

    fn float(&mut self, n: &Node) -> Result<Option<f64>, Abort> {
        if n.is_null() {
            return Ok(None);
        }
        let Kind::Scalar { value, .. } = &n.kind else {
            return Err("value must be a YAML number".into());
        };
        match crate::yaml::resolve::go_parse_float(value) {
            Some(f) => Ok(Some(f)),
            None => Err(format!("invalid floating-point number {}", go_quote(value))),
        }
    }

    fn unknown_field(&mut self, k: &Node, name: &str, ty: &str) {
        self.errors.push(format!(
            "line {}: field {} not found in type {}",
            self.line(k),
            name,
            ty
        ));
    }

    fn finish(self) -> Result<(), String> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "yaml: unmarshal errors:\n  {}",
                self.errors.join("\n  ")
            ))
        }
    }
}

fn override_of(dec: &mut Dec<'_>, v: &Node, raw: &mut Option<String>) -> Option<Override> {
    let s = dec.string(v, "plan.Override");
    match s.as_str() {
        "merge" => Some(Override::Merge),
        "replace" => Some(Override::Replace),
        "" => None,
        _ => {
            *raw = Some(s);
            None
        }
    }
}

/// Parses a service action value; unknown values are kept for layer validation.
fn action_of(s: &str) -> Result<Option<ServiceAction>, String> {
    Ok(Some(match s {
        "" => return Ok(None),
        "restart" => ServiceAction::Restart,
        "shutdown" => ServiceAction::Shutdown,
        "failure-shutdown" => ServiceAction::FailureShutdown,
        "success-shutdown" => ServiceAction::SuccessShutdown,
        "ignore" => ServiceAction::Ignore,
        other => return Err(other.to_string()),
    }))
}

/// What the decoder found but the typed model cannot hold; checked by layer validation.
#[derive(Default)]
struct Pending {
    bad_override: Option<String>,
    on_success: Option<String>,
    on_failure: Option<String>,
    on_check_failure: Option<String>,
}

fn decode_service(dec: &mut Dec<'_>, name: &str, n: &Node) -> Result<(Service, Pending), Abort> {
    const TY: &str = "plan.Service";
    let mut s = Service {
        name: name.to_string(),
        ..Service::default()
    };
    let mut p = Pending::default();
    let Some(pairs) = dec.pairs(n, TY) else {
        return Ok((s, p));
    };
    for (k, v) in pairs {
        let key = k.scalar().unwrap_or_default();
        match key {
            "summary" => s.summary = dec.string(v, "string"),
            "description" => s.description = dec.string(v, "string"),
            "startup" => s.startup = dec.string(v, "plan.ServiceStartup"),
            "override" => s.override_ = override_of(dec, v, &mut p.bad_override),
            "command" => s.command = dec.string(v, "string"),
            "after" => s.after = dec.strings(v),
            "before" => s.before = dec.strings(v),
            "requires" => s.requires = dec.strings(v),
            "workload" => s.workload = dec.string(v, "string"),
            "environment" => s.environment = dec.str_map(v, "map[string]string", "string"),
            "user-id" => s.user_id = dec.u32_opt(v),
            "user" => s.user = dec.string(v, "string"),
            "group-id" => s.group_id = dec.u32_opt(v),
            "group" => s.group = dec.string(v, "string"),
            "working-dir" => s.working_dir = dec.string(v, "string"),
            "on-success" => match action_of(&dec.string(v, "plan.ServiceAction")) {
                Ok(a) => s.on_success = a,
                Err(bad) => p.on_success = Some(bad),
            },
            "on-failure" => match action_of(&dec.string(v, "plan.ServiceAction")) {
                Ok(a) => s.on_failure = a,
                Err(bad) => p.on_failure = Some(bad),
            },
            "on-check-failure" => {
                let m = dec.str_map(v, "map[string]plan.ServiceAction", "plan.ServiceAction");
                for (check, action) in m {
                    match action_of(&action) {
                        Ok(Some(a)) => {
                            s.on_check_failure.insert(check, a);
                        }
                        Ok(None) => {
                            // An empty action is valid in Pebble and means "unset".
                        }
                        Err(bad) => {
                            p.on_check_failure.get_or_insert(bad);
                        }
                    }
                }
            }
            "backoff-delay" => s.backoff_delay = dec.duration(v)?,
            "backoff-factor" => s.backoff_factor = dec.float(v)?,
            "backoff-limit" => s.backoff_limit = dec.duration(v)?,
            "kill-delay" => s.kill_delay = dec.duration(v)?,
            other => dec.unknown_field(k, other, TY),
        }
    }
    Ok((s, p))
}

fn decode_check(dec: &mut Dec<'_>, name: &str, n: &Node) -> Result<(Check, Option<String>), Abort> {
    const TY: &str = "plan.Check";
    let mut c = Check {
        name: name.to_string(),
        ..Check::default()
    };
    let mut bad_override = None;
    let Some(pairs) = dec.pairs(n, TY) else {
        return Ok((c, None));
    };
    for (k, v) in pairs {
        let key = k.scalar().unwrap_or_default();
        match key {
            "override" => c.override_ = override_of(dec, v, &mut bad_override),
            "level" => c.level = dec.string(v, "plan.CheckLevel"),
            "startup" => c.startup = dec.string(v, "plan.CheckStartup"),
            "period" => c.period = dec.duration(v)?,
            "timeout" => c.timeout = dec.duration(v)?,
            "threshold" => {
                c.threshold = match dec.int(v, "int") {
                    Some(t) => u32::try_from(t).unwrap_or_else(|_| {
                        dec.terror(v, "int");
                        0
                    }),
                    None => 0,
                }
            }
            "http" => {
                if v.is_null() {
                    continue;
                }
                let mut h = HttpCheck::default();
                if let Some(pairs) = dec.pairs(v, "plan.HTTPCheck") {
                    for (k, v) in pairs {
                        match k.scalar().unwrap_or_default() {
                            "url" => h.url = dec.string(v, "string"),
                            "headers" => h.headers = dec.str_map(v, "map[string]string", "string"),
                            other => dec.unknown_field(k, other, "plan.HTTPCheck"),
                        }
                    }
                    c.http = Some(h);
                }
            }
            "tcp" => {
                if v.is_null() {
                    continue;
                }
                let mut t = TcpCheck::default();
                if let Some(pairs) = dec.pairs(v, "plan.TCPCheck") {
                    for (k, v) in pairs {
                        match k.scalar().unwrap_or_default() {
                            "port" => {
                                t.port = match dec.int(v, "int") {
                                    Some(p) => u32::try_from(p).unwrap_or_else(|_| {
                                        dec.terror(v, "int");
                                        0
                                    }),
                                    None => 0,
                                }
                            }
                            "host" => t.host = dec.string(v, "string"),
                            other => dec.unknown_field(k, other, "plan.TCPCheck"),
                        }
                    }
                    c.tcp = Some(t);
                }
            }
            "exec" => {
                if v.is_null() {
                    continue;
                }
                let mut e = ExecCheck::default();
                if let Some(pairs) = dec.pairs(v, "plan.ExecCheck") {
                    for (k, v) in pairs {
                        match k.scalar().unwrap_or_default() {
                            "command" => e.command = dec.string(v, "string"),
                            "service-context" => e.service_context = dec.string(v, "string"),
                            "environment" => {
                                e.environment = dec.str_map(v, "map[string]string", "string")
                            }
                            "user-id" => e.user_id = dec.u32_opt(v),
                            "user" => e.user = dec.string(v, "string"),
                            "group-id" => e.group_id = dec.u32_opt(v),
                            "group" => e.group = dec.string(v, "string"),
                            "working-dir" => e.working_dir = dec.string(v, "string"),
                            other => dec.unknown_field(k, other, "plan.ExecCheck"),
                        }
                    }
                    c.exec = Some(e);
                }
            }
            other => dec.unknown_field(k, other, TY),
        }
    }
    Ok((c, bad_override))
}

fn decode_log_target(
    dec: &mut Dec,
    name: &str,
    n: &Node,
) -> Result<(LogTarget, Option<String>), Abort> {
    const TY: &str = "plan.LogTarget";
    let mut t = LogTarget {
        name: name.to_string(),
        ..LogTarget::default()
    };
    let mut bad_override = None;
    let Some(pairs) = dec.pairs(n, TY) else {
        return Ok((t, None));
    };
    for (k, v) in pairs {
        match k.scalar().unwrap_or_default() {
            "type" => t.type_ = dec.string(v, "plan.LogTargetType"),
            "location" => t.location = dec.string(v, "string"),
            "services" => t.services = dec.strings(v),
            "override" => t.override_ = override_of(dec, v, &mut bad_override),
            "labels" => t.labels = dec.str_map(v, "map[string]string", "string"),
            other => dec.unknown_field(k, other, TY),
        }
    }
    Ok((t, bad_override))
}

fn decode_workload(
    dec: &mut Dec,
    name: &str,
    n: &Node,
) -> Result<(Workload, Option<String>), Abort> {
    const TY: &str = "workloads.Workload";
    let mut w = Workload {
        name: name.to_string(),
        ..Workload::default()
    };
    let mut bad_override = None;
    let Some(pairs) = dec.pairs(n, TY) else {
        return Ok((w, None));
    };
    for (k, v) in pairs {
        match k.scalar().unwrap_or_default() {
            "override" => w.override_ = override_of(dec, v, &mut bad_override),
            "environment" => w.environment = dec.str_map(v, "map[string]string", "string"),
            "user-id" => w.user_id = dec.u32_opt(v),
            "user" => w.user = dec.string(v, "string"),
            "group-id" => w.group_id = dec.u32_opt(v),
            "group" => w.group = dec.string(v, "string"),
            other => dec.unknown_field(k, other, TY),
        }
    }
    Ok((w, bad_override))
}

/// Decoded entries of a section: name and (entry, pending checks), `None` for null entries.
type SectionEntries<T, P> = Vec<(String, Option<(T, P)>)>;

/// Decodes a `map[string]*T` section; `None` values are null entries.
fn decode_section<T, P>(
    dec: &mut Dec,
    n: &Node,
    ty: &str,
    mut one: impl FnMut(&mut Dec, &str, &Node) -> Result<(T, P), Abort>,
) -> Result<SectionEntries<T, P>, Abort> {
    let mut out = Vec::new();
    if let Some(pairs) = dec.pairs(n, ty) {
        for (k, v) in pairs {
            let name = dec.string(k, "string");
            if v.is_null() {
                out.push((name, None));
                continue;
            }
            if !matches!(v.kind, Kind::Map(_)) {
                dec.terror(v, ty.trim_start_matches("map[string]*"));
                continue;
            }
            out.push((name.clone(), Some(one(dec, &name, v)?)));
        }
    }
    Ok(out)
}

/// Parses one layer (a layer file or the `layer` of `POST /v1/layers`) and validates it.
///
/// Errors are [`PlanError::Parse`] with Pebble's texts (`cannot parse layer "x": ...`,
/// `cannot parse layer "x" section "services": ...`, layer validation messages), except an
/// invalid `override` value, which Pebble only reports when combining layers and which is
/// therefore a [`PlanError::Invalid`] (`layer "x" has invalid "override" value for service "s"`).
pub fn parse_layer(order: i64, label: &str, yaml: &[u8]) -> Result<Layer, PlanError> {
    let qlabel = go_quote(label);
    let text = String::from_utf8_lossy(yaml);
    let root =
        node::parse(&text).map_err(|e| parse_err(format!("cannot parse layer {qlabel}: {e}")))?;
    let mut layer = Layer {
        order,
        label: label.to_string(),
        ..Layer::default()
    };
    let Some(root) = root else {
        validate_layer(&layer)?;
        return Ok(layer);
    };
    // Top level: a map of sections (duplicate keys are errors, unknown sections too).
    let mut nonblank = vec![0usize];
    for line in text.split('\n') {
        let last = nonblank.last().copied().unwrap_or(0);
        nonblank.push(last + usize::from(!line.trim().is_empty()));
    }
    let mut top = Dec {
        errors: Vec::new(),
        base_line: 1,
        nonblank: &[],
    };
    let sections: Vec<(String, Node)> = match top.pairs(&root, "map[string]yaml.Node") {
        Some(pairs) => pairs
            .iter()
            .map(|(k, v)| (k.scalar().unwrap_or_default().to_string(), v.clone()))
            .collect(),
        None => Vec::new(),
    };
    top.finish()
        .map_err(|e| parse_err(format!("cannot parse layer {qlabel}: {e}")))?;

    let mut bad_overrides: Vec<String> = Vec::new();
    let mut pendings: Vec<(String, Pending)> = Vec::new();
    let mut nulls: Vec<String> = Vec::new();
    let mut null_workloads: Vec<String> = Vec::new();
    for (field, value) in &sections {
        let mut dec = Dec {
            errors: Vec::new(),
            base_line: value.line,
            nonblank: &nonblank,
        };
        let section_err = |e: String| {
            parse_err(format!(
                "cannot parse layer {qlabel} section {}: {e}",
                go_quote(field)
            ))
        };
        match field.as_str() {
            "summary" => layer.summary = dec.string(value, "string"),
            "description" => layer.description = dec.string(value, "string"),
            "services" => {
                let entries =
                    decode_section(&mut dec, value, "map[string]*plan.Service", decode_service)
                        .map_err(section_err)?;
                for (name, entry) in entries {
                    match entry {
                        Some((svc, pending)) => {
                            if let Some(bad) = &pending.bad_override {
                                let _ = bad;
                                bad_overrides.push(format!(
                                    "layer {qlabel} has invalid \"override\" value for service {}",
                                    go_quote(&name)
                                ));
                            }
                            pendings.push((name.clone(), pending));
                            layer.services.insert(name, svc);
                        }
                        None => {
                            nulls.push(format!(
                                "service object cannot be null for service {}",
                                go_quote(&name)
                            ));
                            // Keep the name so validation sees it (empty/reserved names first).
                            layer.services.insert(
                                name.clone(),
                                Service {
                                    name,
                                    ..Service::default()
                                },
                            );
                        }
                    }
                }
            }
            "checks" => {
                let entries =
                    decode_section(&mut dec, value, "map[string]*plan.Check", decode_check)
                        .map_err(section_err)?;
                for (name, entry) in entries {
                    match entry {
                        Some((chk, bad)) => {
                            if bad.is_some() {
                                bad_overrides.push(format!(
                                    "layer {qlabel} has invalid \"override\" value for check {}",
                                    go_quote(&name)
                                ));
                            }
                            layer.checks.insert(name, chk);
                        }
                        None => {
                            if name.is_empty() {
                                nulls.push("cannot use empty string as check name".into());
                            } else {
                                nulls.push(format!(
                                    "check object cannot be null for check {}",
                                    go_quote(&name)
                                ));
                            }
                        }
                    }
                }
            }
            "log-targets" => {
                let entries = decode_section(
                    &mut dec,
                    value,
                    "map[string]*plan.LogTarget",
                    decode_log_target,
                )
                .map_err(section_err)?;
                for (name, entry) in entries {
                    match entry {
                        Some((tgt, bad)) => {
                            if bad.is_some() {
                                bad_overrides.push(format!(
                                    "layer {qlabel} has invalid \"override\" value for log target {}",
                                    go_quote(&name)
                                ));
                            }
                            layer.log_targets.insert(name, tgt);
                        }
                        None => nulls.push(format!(
                            "log target object cannot be null for log target {}",
                            go_quote(&name)
                        )),
                    }
                }
            }
            "workloads" => {
                let workloads_err =
                    |e: String| parse_err(format!("cannot parse the \"workloads\" section: {e}"));
                if !value.is_null() && !matches!(value.kind, Kind::Map(_)) {
                    dec.terror(value, "workloads.WorkloadsSection");
                    dec.finish().map_err(workloads_err)?;
                    continue;
                }
                let entries = decode_section(
                    &mut dec,
                    value,
                    "map[string]*workloads.Workload",
                    decode_workload,
                )
                .map_err(workloads_err)?;
                dec.finish().map_err(workloads_err)?;
                for (name, entry) in entries {
                    match entry {
                        Some((w, bad)) => {
                            if let Some(bad) = bad {
                                bad_overrides.push(format!(
                                    "workload {}: has an invalid \"override\" policy: {}",
                                    go_quote(&name),
                                    go_quote(&bad)
                                ));
                            }
                            layer.workloads.insert(name, w);
                        }
                        None => null_workloads.push(name),
                    }
                }
                continue;
            }
            "pairing" => {
                if let Some(pairs) = dec.pairs(value, "pairingstate.PairingConfig") {
                    for (k, v) in pairs {
                        match k.scalar().unwrap_or_default() {
                            "mode" => layer.pairing_mode = dec.string(v, "string"),
                            other => dec.unknown_field(k, other, "pairingstate.PairingConfig"),
                        }
                    }
                }
            }
            other => {
                return Err(parse_err(format!(
                    "cannot parse layer {qlabel}: unknown section {}",
                    go_quote(other)
                )));
            }
        }
        dec.finish().map_err(section_err)?;
    }

    validate_layer_with(&layer, &pendings, &nulls)?;
    if let Some(name) = null_workloads.first() {
        return Err(parse_err(format!(
            "workload {}: cannot have a null value",
            go_quote(name)
        )));
    }
    validate_workloads(&layer)?;
    if let Some(first) = bad_overrides.into_iter().next() {
        return Err(invalid(first));
    }
    Ok(layer)
}

/// Layer-level validation of an already built layer (what `parse_layer` runs).
pub fn validate_layer(layer: &Layer) -> Result<(), PlanError> {
    validate_layer_with(layer, &[], &[])?;
    validate_workloads(layer)
}

/// The `workloads` section's own layer checks (after the built-in sections', as Pebble).
fn validate_workloads(layer: &Layer) -> Result<(), PlanError> {
    if layer.workloads.contains_key("") {
        return Err(parse_err("workload \"\": cannot have an empty name"));
    }
    Ok(())
}

fn validate_layer_with(
    layer: &Layer,
    pendings: &[(String, Pending)],
    nulls: &[String],
) -> Result<(), PlanError> {
    if layer.label.starts_with("pebble-") {
        return Err(parse_err("cannot use reserved label prefix \"pebble-\""));
    }
    for (name, svc) in &layer.services {
        if name.is_empty() {
            return Err(parse_err("cannot use empty string as service name"));
        }
        if name == "pebble" {
            return Err(parse_err(format!(
                "cannot use reserved service name {}",
                go_quote(name)
            )));
        }
        if name.starts_with('-') {
            return Err(parse_err(format!(
                "cannot use service name {}: starting with \"-\" not allowed",
                go_quote(name)
            )));
        }
        let null_msg = format!(
            "service object cannot be null for service {}",
            go_quote(name)
        );
        if nulls.contains(&null_msg) {
            return Err(parse_err(null_msg));
        }
        if let Err(e) = parse_command(name, &svc.command) {
            return Err(parse_err(format!(
                "plan service {} command invalid: {e}",
                go_quote(name)
            )));
        }
        let pending = pendings.iter().find(|(n, _)| n == name).map(|(_, p)| p);
        let bad_success = pending.and_then(|p| p.on_success.clone()).or_else(|| {
            (svc.on_success == Some(ServiceAction::SuccessShutdown))
                .then(|| "success-shutdown".to_string())
        });
        if let Some(bad) = bad_success {
            return Err(parse_err(format!(
                "plan service {} on-success action {} invalid",
                go_quote(name),
                go_quote(&bad)
            )));
        }
        let bad_failure = pending.and_then(|p| p.on_failure.clone()).or_else(|| {
            (svc.on_failure == Some(ServiceAction::FailureShutdown))
                .then(|| "failure-shutdown".to_string())
        });
        if let Some(bad) = bad_failure {
            return Err(parse_err(format!(
                "plan service {} on-failure action {} invalid",
                go_quote(name),
                go_quote(&bad)
            )));
        }
        let bad_check = pending
            .and_then(|p| p.on_check_failure.clone())
            .or_else(|| {
                svc.on_check_failure
                    .values()
                    .any(|a| *a == ServiceAction::FailureShutdown)
                    .then(|| "failure-shutdown".to_string())
            });
        if let Some(bad) = bad_check {
            return Err(parse_err(format!(
                "plan service {} on-check-failure action {} invalid",
                go_quote(name),
                go_quote(&bad)
            )));
        }
        if let Some(f) = svc.backoff_factor
            && f < 1.0
        {
            return Err(parse_err(format!(
                "plan service {} backoff-factor must be 1.0 or greater, not {}",
                go_quote(name),
                go_format_float(f)
            )));
        }
    }
    for msg in nulls {
        if msg.starts_with("check object") || msg.starts_with("cannot use empty string as check") {
            return Err(parse_err(msg.clone()));
        }
    }
    for (name, chk) in &layer.checks {
        if name.is_empty() {
            return Err(parse_err("cannot use empty string as check name"));
        }
        if !matches!(chk.level.as_str(), "" | "alive" | "ready") {
            return Err(parse_err(format!(
                "plan check {} level must be \"alive\" or \"ready\"",
                go_quote(name)
            )));
        }
        if !matches!(chk.startup.as_str(), "" | "enabled" | "disabled") {
            return Err(parse_err(format!(
                "plan check {} startup must be \"enabled\" or \"disabled\"",
                go_quote(name)
            )));
        }
        if chk.period.is_some_and(|p| p.is_zero()) {
            return Err(parse_err(format!(
                "plan check {} period must not be zero",
                go_quote(name)
            )));
        }
        if chk.timeout.is_some_and(|p| p.is_zero()) {
            return Err(parse_err(format!(
                "plan check {} timeout must not be zero",
                go_quote(name)
            )));
        }
        if let Some(exec) = &chk.exec {
            if let Err(e) = crate::command::shlex_split(&exec.command) {
                return Err(parse_err(format!(
                    "plan check {} command invalid: {e}",
                    go_quote(name)
                )));
            }
            if (exec.group_id.is_some() || !exec.group.is_empty())
                && exec.user_id.is_none()
                && exec.user.is_empty()
            {
                return Err(parse_err(format!(
                    "plan check {} has invalid user/group: must specify user, not just group",
                    go_quote(name)
                )));
            }
        }
    }
    if !matches!(
        layer.pairing_mode.as_str(),
        "" | "disabled" | "single" | "multiple"
    ) {
        return Err(parse_err(format!(
            "invalid pairing mode {}: should be \"disabled\", \"single\" or \"multiple\"",
            go_quote(&layer.pairing_mode)
        )));
    }
    for msg in nulls {
        if msg.starts_with("log target object") {
            return Err(parse_err(msg.clone()));
        }
    }
    for (name, tgt) in &layer.log_targets {
        for label in tgt.labels.keys() {
            if label.starts_with("pebble_") {
                return Err(parse_err(format!(
                    "log target {}: label {} uses reserved prefix \"pebble_\"",
                    go_quote(name),
                    go_quote(label)
                )));
            }
        }
        if !matches!(tgt.type_.as_str(), "" | "loki" | "opentelemetry" | "syslog") {
            return Err(parse_err(format!(
                "log target {} has unsupported type {}, must be \"loki\", \"opentelemetry\" or \"syslog\"",
                go_quote(name),
                go_quote(&tgt.type_)
            )));
        }
    }
    Ok(())
}

impl Layer {
    /// Validates `exec` check user/group fields against the host's user database
    /// (Pebble does this when a layer is parsed: `plan check "c" has invalid user/group: ...`).
    pub fn validate_exec_users(&self, db: &crate::users::UserDb) -> Result<(), PlanError> {
        for (name, chk) in &self.checks {
            if let Some(e) = &chk.exec {
                crate::users::normalize_uid_gid(e.user_id, &e.user, e.group_id, &e.group, db)
                    .map_err(|err| {
                        parse_err(format!(
                            "plan check {} has invalid user/group: {err}",
                            go_quote(name)
                        ))
                    })?;
            }
        }
        Ok(())
    }
}
