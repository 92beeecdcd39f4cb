//! The layer stack: adding layers (append, combine, sub-directories) and layer-directory names.

use crate::combine::combine_to_layer;
use crate::error::PlanError;
use crate::quote::go_quote;
use crate::types::Layer;

/// Adds `new` to the stack `layers` as `POST /v1/layers` does, returning the new stack
/// (the caller then runs [`crate::combine_layers`] on it to get and validate the plan).
///
/// * `combine` with an existing label: the two layers are combined (merge/replace per entry)
///   and replace the existing one in place, keeping its order.
/// * otherwise the label must be new (`layer "x" already exists`); the layer is appended with
///   order `((last/1000)+1)*1000` (+1 for a `dir/name` label), or inserted right after the
///   last layer of its `dir/` with order `last+1`, which needs `inner` unless that is the end.
pub fn add_layer(
    layers: &[Layer],
    new: Layer,
    combine: bool,
    inner: bool,
) -> Result<Vec<Layer>, PlanError> {
    let found = layers.iter().position(|l| l.label == new.label);
    if let Some(index) = found {
        if !combine {
            return Err(PlanError::LabelExists(new.label));
        }
        let existing = &layers[index];
        let mut combined = combine_to_layer(&[existing.clone(), new])?;
        combined.order = existing.order;
        combined.label = existing.label.clone();
        let mut out = layers.to_vec();
        out[index] = combined;
        return Ok(out);
    }
    let mut new = new;
    let count = layers.len();
    let mut new_index = 0usize;
    let mut new_order: i64 = 1000;
    if count > 0 {
        let (new_sub, has_sub) = match new.label.split_once('/') {
            Some((d, _)) => (d, true),
            None => (new.label.as_str(), false),
        };
        for i in (0..count).rev() {
            let l = &layers[i];
            let sub = l.label.split_once('/').map_or(l.label.as_str(), |(d, _)| d);
            if sub == new_sub {
                new_order = l.order + 1;
                new_index = i + 1;
                break;
            }
        }
        if new_index == 0 {
            new_index = count;
            new_order = ((layers[count - 1].order / 1000) + 1) * 1000;
            if has_sub {
                new_order += 1;
            }
        }
    }
    if new_index != count && !inner {
        return Err(PlanError::Other(
            "cannot insert sub-directory layer without 'inner' attribute set".into(),
        ));
    }
    new.order = new_order;
    let mut out = layers.to_vec();
    out.insert(new_index, new);
    Ok(out)
}

fn valid_label(label: &str) -> bool {
    let b = label.as_bytes();
    if b.is_empty() || !b[0].is_ascii_lowercase() {
        return false;
    }
    let mut groups = 0;
    let mut i = 1;
    while i < b.len() {
        if b[i] == b'-' {
            i += 1;
        }
        if i >= b.len() || !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
            return false;
        }
        groups += 1;
        i += 1;
    }
    groups >= 2
}

fn match_entry(name: &str) -> Option<(u32, String)> {
    let stem = name
        .strip_suffix(".yaml")
        .or_else(|| name.strip_suffix(".d"))?;
    let b = stem.as_bytes();
    if b.len() < 5 || !b[..3].iter().all(u8::is_ascii_digit) || b[3] != b'-' {
        return None;
    }
    let label = &stem[4..];
    if !valid_label(label) {
        return None;
    }
    let order: u32 = stem[..3].parse().ok()?;
    Some((order, label.to_string()))
}

/// Parses the name of a regular file in a layers directory (`NNN-label.yaml`).
/// `Ok(None)`: not a layer name (neither `.yaml` nor `.d`), to be ignored silently.
pub fn parse_layer_file_name(name: &str) -> Result<Option<(u32, String)>, PlanError> {
    if !name.ends_with(".yaml") && !name.ends_with(".d") {
        return Ok(None);
    }
    match match_entry(name) {
        Some(x) => Ok(Some(x)),
        None => Err(PlanError::FileName(format!(
            "invalid layer filename: {} (must look like \"123-some-label.yaml\")",
            go_quote(name)
        ))),
    }
}

/// Parses the name of a directory in the layers directory (`NNN-label.d`).
/// `Ok(None)`: ignored (neither `.yaml` nor `.d`). Directories inside a `.d` directory are an
/// error: see [`SUBDIR_NOT_ALLOWED`].
pub fn parse_layer_dir_name(name: &str) -> Result<Option<(u32, String)>, PlanError> {
    if !name.ends_with(".yaml") && !name.ends_with(".d") {
        return Ok(None);
    }
    match match_entry(name) {
        Some(x) => Ok(Some(x)),
        None => Err(PlanError::FileName(format!(
            "invalid layer sub-directory name: {} (must look like \"123-some-label.d\")",
            go_quote(name)
        ))),
    }
}

/// Message for a directory found inside a `NNN-label.d` directory.
pub const SUBDIR_NOT_ALLOWED: &str = "cannot have a layers sub-directory at this level";

/// Tracks the entries of one layers directory to reject duplicate orders or labels.
#[derive(Debug, Default, Clone)]
pub struct LayerNameSet {
    seen: Vec<(u32, String)>,
}

impl LayerNameSet {
    /// Records an entry; errors with `invalid layer filename: "<name>" not unique (have
    /// "NNN-label.yaml" already)` if its order or label was seen.
    pub fn insert(&mut self, name: &str, order: u32, label: &str) -> Result<(), PlanError> {
        let dup = self
            .seen
            .iter()
            .find(|(o, _)| *o == order)
            .map(|(_, l)| (order, l.clone()))
            .or_else(|| {
                self.seen
                    .iter()
                    .find(|(_, l)| l == label)
                    .map(|(o, _)| (*o, label.to_string()))
            });
        if let Some((o, l)) = dup {
            return Err(PlanError::FileName(format!(
                "invalid layer filename: {} not unique (have \"{o:03}-{l}.yaml\" already)",
                go_quote(name)
            )));
        }
        self.seen.push((order, label.to_string()));
        Ok(())
    }
}

/// Order and label of a layer file: `1000*NNN` and `label` at the top level, or
/// `1000*DDD + FFF` and `dir/name` inside `DDD-dir.d/`.
pub fn layer_order_label(top: (u32, &str), inner: Option<(u32, &str)>) -> (i64, String) {
    match inner {
        None => (1000 * i64::from(top.0), top.1.to_string()),
        Some((o, l)) => (
            1000 * i64::from(top.0) + i64::from(o),
            format!("{}/{}", top.1, l),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            parse_layer_file_name("001-base.yaml").unwrap(),
            Some((1, "base".into()))
        );
        assert_eq!(
            parse_layer_file_name("123-some-label.yaml").unwrap(),
            Some((123, "some-label".into()))
        );
        assert_eq!(
            parse_layer_dir_name("002-bar.d").unwrap(),
            Some((2, "bar".into()))
        );
        assert_eq!(parse_layer_file_name("README").unwrap(), None);
        assert_eq!(parse_layer_file_name("001-base.yml").unwrap(), None);
        for bad in [
            "001-l.yaml",
            "01-label.yaml",
            "0001-label.yaml",
            "001-label-.yaml",
            "001--label.yaml",
            "001-label--label.yaml",
            "001-Label.yaml",
            "001-1ab.yaml",
        ] {
            assert_eq!(
                parse_layer_file_name(bad).unwrap_err().to_string(),
                format!(
                    "invalid layer filename: \"{bad}\" (must look like \"123-some-label.yaml\")"
                )
            );
        }
        assert_eq!(
            parse_layer_dir_name("1-x.d").unwrap_err().to_string(),
            "invalid layer sub-directory name: \"1-x.d\" (must look like \"123-some-label.d\")"
        );
        let mut set = LayerNameSet::default();
        set.insert("001-foo.yaml", 1, "foo").unwrap();
        assert_eq!(
            set.insert("001-bar.yaml", 1, "bar")
                .unwrap_err()
                .to_string(),
            "invalid layer filename: \"001-bar.yaml\" not unique (have \"001-foo.yaml\" already)"
        );
        assert_eq!(
            set.insert("002-foo.d", 2, "foo").unwrap_err().to_string(),
            "invalid layer filename: \"002-foo.d\" not unique (have \"001-foo.yaml\" already)"
        );
        assert_eq!(
            layer_order_label((2, "bar"), Some((1, "aaa"))),
            (2001, "bar/aaa".into())
        );
    }
}
