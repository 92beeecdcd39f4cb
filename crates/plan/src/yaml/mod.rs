//! A small YAML layer over `granit-parser` that behaves like go-yaml v3 where Pebble relies on it:
//! a node tree with line numbers ([`node`]), go-yaml's plain-scalar resolution ([`resolve`]) and a
//! go-yaml-compatible block emitter with natural key order ([`emit`]).

pub(crate) mod emit;
pub(crate) mod node;
pub(crate) mod resolve;

pub use emit::go_yaml_key_less;

/// A plain YAML value (go-yaml v3 resolution of untagged scalars), for callers outside this
/// crate that read free-form YAML documents (the CLI's `--from` files).
#[derive(Debug, Clone, PartialEq)]
pub enum YamlValue {
    /// `null`, `~` or an empty value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<YamlValue>),
    /// A mapping (keys as their text, document order).
    Map(Vec<(String, YamlValue)>),
}

/// Parse the first document of `text` into a [`YamlValue`] (`Ok(None)` for an empty stream).
/// Errors read like go-yaml's (`yaml: line N: ...`).
pub fn parse_value(text: &str) -> Result<Option<YamlValue>, String> {
    Ok(node::parse(text)?.map(|n| to_value(&n)))
}

fn to_value(n: &node::Node) -> YamlValue {
    use resolve::Resolved;
    match &n.kind {
        node::Kind::Seq(items) => YamlValue::Seq(items.iter().map(to_value).collect()),
        node::Kind::Map(pairs) => YamlValue::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.scalar().unwrap_or_default().to_string(), to_value(v)))
                .collect(),
        ),
        node::Kind::Scalar { value, plain } => {
            if n.is_null() {
                return YamlValue::Null;
            }
            if !*plain || n.tag.as_deref() == Some("!!str") {
                return YamlValue::Str(value.clone());
            }
            match resolve::resolve_plain(value) {
                Resolved::Null => YamlValue::Null,
                Resolved::Bool(b) => YamlValue::Bool(b),
                Resolved::Int(i) => YamlValue::Int(i),
                Resolved::Float(f) => YamlValue::Float(f),
                _ => YamlValue::Str(value.clone()),
            }
        }
    }
}
