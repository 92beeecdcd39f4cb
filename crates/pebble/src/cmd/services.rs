//! `pebble services`.

use std::collections::BTreeMap;

use clap::Args;
use pebble_api::ServiceInfo;

use crate::ctx::{self, Ctx};
use crate::error::CliError;
use crate::format::times::TimeFmt;
use crate::format::yaml::Yaml;
use crate::format::{OutputFormat, json_line, tabwriter};

/// Arguments of `pebble services`.
#[derive(Debug, Args)]
pub struct ServicesArgs {
    /// Display absolute times (in RFC 3339 format). Otherwise, display relative times up to
    /// 60 days, then YYYY-MM-DD.
    #[arg(long)]
    pub abs_time: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
    /// Services to show (default: all).
    #[arg(value_name = "service")]
    pub services: Vec<String>,
}

/// The text table of services.
pub fn services_table(services: &[ServiceInfo], tf: &TimeFmt) -> String {
    let mut rows = vec![[
        "Service".to_string(),
        "Startup".to_string(),
        "Current".to_string(),
        "Since".to_string(),
    ]];
    for s in services {
        let since = match &s.current_since {
            Some(t) if !t.is_empty() => tf.fmt(t),
            _ => "-".to_string(),
        };
        rows.push([s.name.clone(), s.startup.clone(), s.current.clone(), since]);
    }
    tabwriter::table(rows)
}

/// The YAML document of `--format yaml`.
pub fn services_yaml(services: &[ServiceInfo]) -> String {
    let entries = services
        .iter()
        .map(|s| {
            let mut m = vec![
                ("name".to_string(), Yaml::Str(s.name.clone())),
                ("startup".to_string(), Yaml::Str(s.startup.clone())),
                ("current".to_string(), Yaml::Str(s.current.clone())),
            ];
            if let Some(t) = &s.current_since {
                m.push(("current-since".to_string(), Yaml::Raw(t.clone())));
            }
            (s.name.clone(), Yaml::Map(m))
        })
        .collect();
    Yaml::Map(vec![("services".to_string(), Yaml::Map(entries))]).render()
}

/// Lists services.
pub async fn run(ctx: &Ctx, args: ServicesArgs) -> Result<(), CliError> {
    let services = ctx.client.services(&args.services).await?;
    match args.format {
        OutputFormat::Json => {
            let map: BTreeMap<&str, &ServiceInfo> =
                services.iter().map(|s| (s.name.as_str(), s)).collect();
            let mut wrapper = BTreeMap::new();
            wrapper.insert("services", map);
            ctx::out(&json_line(&wrapper));
            return Ok(());
        }
        OutputFormat::Yaml => {
            ctx::out(&services_yaml(&services));
            return Ok(());
        }
        OutputFormat::Text => {}
    }
    if services.is_empty() {
        if args.services.is_empty() {
            ctx::err("Plan has no services.\n");
        } else {
            ctx::err("No matching services.\n");
        }
        return Ok(());
    }
    ctx::out(&services_table(&services, &TimeFmt::new(args.abs_time)));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiff::tz::TimeZone;

    fn svc(name: &str, startup: &str, current: &str, since: Option<&str>) -> ServiceInfo {
        ServiceInfo {
            name: name.into(),
            startup: startup.into(),
            current: current.into(),
            current_since: since.map(String::from),
        }
    }

    fn tf(abs: bool) -> TimeFmt {
        TimeFmt {
            abs,
            now: "2026-11-26T22:30:00Z".parse().unwrap(),
            tz: TimeZone::UTC,
        }
    }

    #[test]
    fn golden_15_before_autostart() {
        let s = vec![
            svc("alpha", "enabled", "inactive", None),
            svc("beta", "enabled", "inactive", None),
            svc("gamma", "disabled", "inactive", None),
            svc("ignorefail", "disabled", "inactive", None),
            svc("quickfail", "disabled", "inactive", None),
            svc("www", "enabled", "inactive", None),
        ];
        let got = services_table(&s, &tf(false));
        assert_eq!(got.len(), 242);
        assert_eq!(
            got,
            "Service     Startup   Current   Since\n\
alpha       enabled   inactive  -\n\
beta        enabled   inactive  -\n\
gamma       disabled  inactive  -\n\
ignorefail  disabled  inactive  -\n\
quickfail   disabled  inactive  -\n\
www         enabled   inactive  -\n"
        );
    }

    #[test]
    fn golden_27_and_31() {
        let s = vec![
            svc(
                "alpha",
                "enabled",
                "active",
                Some("2026-11-26T22:23:44.617853505Z"),
            ),
            svc(
                "quickfail",
                "disabled",
                "backoff",
                Some("2026-11-26T22:23:47.826519889Z"),
            ),
        ];
        assert_eq!(
            services_table(&s, &tf(false)),
            "Service    Startup   Current  Since\n\
alpha      enabled   active   today at 22:23 UTC\n\
quickfail  disabled  backoff  today at 22:23 UTC\n"
        );
        assert_eq!(
            services_table(&s[..1], &tf(true)),
            "Service  Startup  Current  Since\nalpha    enabled  active   2026-11-26T22:23:44Z\n"
        );
    }

    #[test]
    fn golden_29_json() {
        let s = [svc(
            "alpha",
            "enabled",
            "active",
            Some("2026-11-26T22:23:44.617853505Z"),
        )];
        let map: BTreeMap<&str, &ServiceInfo> = s.iter().map(|s| (s.name.as_str(), s)).collect();
        let mut w = BTreeMap::new();
        w.insert("services", map);
        assert_eq!(
            json_line(&w),
            "{\"services\":{\"alpha\":{\"name\":\"alpha\",\"startup\":\"enabled\",\"current\":\"active\",\"current-since\":\"2026-11-26T22:23:44.617853505Z\"}}}\n"
        );
    }
}
