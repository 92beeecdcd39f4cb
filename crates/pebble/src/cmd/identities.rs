//! `pebble identities`, `identity`, `add-identities`, `update-identities` and
//! `remove-identities`.

use std::collections::BTreeMap;

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::ctx::{self, Ctx};
use crate::error::CliError;
use crate::format::yaml::Yaml;
use crate::format::{OutputFormat, json_line, tabwriter};

/// Arguments of `pebble identities`.
#[derive(Debug, Args)]
pub struct IdentitiesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: OutputFormat,
}

/// Arguments of `pebble identity`.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// Identity name.
    #[arg(value_name = "name")]
    pub name: String,
}

/// Arguments of `pebble add-identities` and `pebble remove-identities`.
#[derive(Debug, Args)]
pub struct FromArgs {
    /// Path of YAML file to read identities from (required).
    #[arg(long, value_name = "from", required = true)]
    pub from: String,
}

/// Arguments of `pebble update-identities`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Path of YAML file to read identities from (required).
    #[arg(long, value_name = "from", required = true)]
    pub from: String,
    /// Replace (add or update) identities; remove null identities.
    #[arg(long)]
    pub replace: bool,
}

/// An identity as the API shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// Access level.
    #[serde(default)]
    pub access: String,
    /// Local part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Local>,
    /// Basic part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<Basic>,
    /// Cert part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<Cert>,
}

/// `local` part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Local {
    /// The uid.
    #[serde(rename = "user-id")]
    pub user_id: u32,
}

/// `basic` part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Basic {
    /// Password hash (masked by the API).
    #[serde(default)]
    pub password: String,
}

/// `cert` part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cert {
    /// PEM (masked by the API).
    #[serde(default)]
    pub pem: String,
}

fn identity_yaml(i: &Identity) -> Yaml {
    let mut m = vec![("access".to_string(), Yaml::Str(i.access.clone()))];
    if let Some(l) = &i.local {
        m.push((
            "local".into(),
            Yaml::Map(vec![("user-id".into(), Yaml::Int(i64::from(l.user_id)))]),
        ));
    }
    if let Some(b) = &i.basic {
        m.push((
            "basic".into(),
            Yaml::Map(vec![("password".into(), Yaml::Str(b.password.clone()))]),
        ));
    }
    if let Some(c) = &i.cert {
        m.push((
            "cert".into(),
            Yaml::Map(vec![("pem".into(), Yaml::Str(c.pem.clone()))]),
        ));
    }
    Yaml::Map(m)
}

/// The `pebble identities` table.
pub fn identities_table(ids: &BTreeMap<String, Identity>) -> String {
    let mut rows = vec![["Name", "Access", "Types"].map(String::from)];
    for (name, i) in ids {
        let mut types = Vec::new();
        if i.local.is_some() {
            types.push("local");
        }
        if i.basic.is_some() {
            types.push("basic");
        }
        types.sort_unstable();
        if types.is_empty() {
            types.push("unknown");
        }
        rows.push([name.clone(), i.access.clone(), types.join(",")]);
    }
    tabwriter::table(rows)
}

async fn fetch(ctx: &Ctx) -> Result<BTreeMap<String, Identity>, CliError> {
    Ok(ctx
        .client
        .get("/v1/identities", &pebble_client::Query::new())
        .await?)
}

/// `pebble identities`.
pub async fn run_identities(ctx: &Ctx, a: IdentitiesArgs) -> Result<(), CliError> {
    let ids = fetch(ctx).await?;
    if ids.is_empty() {
        ctx::err("No identities.\n");
        return Ok(());
    }
    match a.format {
        OutputFormat::Text => ctx::out(&identities_table(&ids)),
        OutputFormat::Json => {
            #[derive(Serialize)]
            struct Wrap<'a> {
                identities: &'a BTreeMap<String, Identity>,
            }
            ctx::out(&json_line(&Wrap { identities: &ids }));
        }
        OutputFormat::Yaml => {
            let doc = Yaml::Map(vec![(
                "identities".into(),
                Yaml::Map(
                    ids.iter()
                        .map(|(n, i)| (n.clone(), identity_yaml(i)))
                        .collect(),
                ),
            )]);
            ctx::out(&doc.render());
        }
    }
    Ok(())
}

/// `pebble identity`.
pub async fn run_identity(ctx: &Ctx, a: IdentityArgs) -> Result<(), CliError> {
    let ids = fetch(ctx).await?;
    let Some(i) = ids.get(&a.name) else {
        return Err(CliError::msg(format!(
            "cannot find identity {}",
            pebble_plan::quote::go_quote(&a.name)
        )));
    };
    ctx::out(&identity_yaml(i).render());
    Ok(())
}

/// Read the `identities:` map of a YAML file (values as JSON, null kept).
fn read_identities(path: &str) -> Result<serde_json::Map<String, serde_json::Value>, CliError> {
    let text = std::fs::read_to_string(path)?;
    pebble_daemon::identities::read_identities_yaml(&text).map_err(CliError::Msg)
}

fn num_items(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

async fn post(
    ctx: &Ctx,
    action: &str,
    ids: serde_json::Map<String, serde_json::Value>,
) -> Result<(), CliError> {
    Ok(ctx.client.identities_action(action, &ids).await?)
}

/// `pebble add-identities`.
pub async fn run_add(ctx: &Ctx, a: FromArgs) -> Result<(), CliError> {
    let ids = read_identities(&a.from)?;
    let n = ids.len();
    post(ctx, "add", ids).await?;
    ctx::out(&format!(
        "Added {}.\n",
        num_items(n, "new identity", "new identities")
    ));
    Ok(())
}

/// `pebble update-identities`.
pub async fn run_update(ctx: &Ctx, a: UpdateArgs) -> Result<(), CliError> {
    let ids = read_identities(&a.from)?;
    let n = ids.len();
    let (action, verb) = if a.replace {
        ("replace", "Replaced")
    } else {
        ("update", "Updated")
    };
    post(ctx, action, ids).await?;
    ctx::out(&format!(
        "{verb} {}.\n",
        num_items(n, "identity", "identities")
    ));
    Ok(())
}

/// `pebble remove-identities`.
pub async fn run_remove(ctx: &Ctx, a: FromArgs) -> Result<(), CliError> {
    let ids = read_identities(&a.from)?;
    if let Some((name, _)) = ids.iter().find(|(_, v)| !v.is_null()) {
        return Err(CliError::msg(format!(
            "value of identity {} must be null in YAML when removing",
            pebble_plan::quote::go_quote(name)
        )));
    }
    let n = ids.len();
    post(ctx, "remove", ids).await?;
    ctx::out(&format!(
        "Removed {}.\n",
        num_items(n, "identity", "identities")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ids() -> BTreeMap<String, Identity> {
        serde_json::from_str(
            r#"{"alice":{"access":"admin","local":{"user-id":1000}},"bob":{"access":"read","basic":{"password":"*****"}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn outputs_match_golden() {
        assert_eq!(
            identities_table(&ids()),
            "Name   Access  Types\nalice  admin   local\nbob    read    basic\n"
        );
        // A cert-only identity shows "unknown" (as Pebble's table does).
        let mut with_cert = ids();
        with_cert.insert(
            "carol".into(),
            Identity {
                access: "read".into(),
                cert: Some(Cert {
                    pem: "*****".into(),
                }),
                ..Default::default()
            },
        );
        assert!(identities_table(&with_cert).ends_with("carol  read    unknown\n"));
        let ids = ids();
        assert_eq!(
            identity_yaml(&ids["alice"]).render(),
            "access: admin\nlocal:\n    user-id: 1000\n"
        );
        assert_eq!(
            identity_yaml(&ids["bob"]).render(),
            "access: read\nbasic:\n    password: '*****'\n"
        );
        #[derive(Serialize)]
        struct Wrap<'a> {
            identities: &'a BTreeMap<String, Identity>,
        }
        assert_eq!(
            json_line(&Wrap { identities: &ids }),
            "{\"identities\":{\"alice\":{\"access\":\"admin\",\"local\":{\"user-id\":1000}},\"bob\":{\"access\":\"read\",\"basic\":{\"password\":\"*****\"}}}}\n"
        );
    }

    #[test]
    fn reads_identities_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ids.yaml");
        std::fs::write(
            &p,
            "identities:\n    alice:\n        access: admin\n        local:\n            user-id: 1000\n    bob: null\n",
        )
        .unwrap();
        let m = read_identities(p.to_str().unwrap()).unwrap();
        assert_eq!(m["alice"]["local"]["user-id"], 1000);
        assert!(m["bob"].is_null());
        std::fs::write(&p, "alice: {}\n").unwrap();
        assert!(read_identities(p.to_str().unwrap()).is_err());
    }
}
