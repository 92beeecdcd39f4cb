//! Parse YAML text into a tree of [`Node`]s (first document only, aliases expanded).

use granit_parser::{Event, Options, Parser, ScalarStyle};
use std::collections::HashMap;

/// One YAML node with its 1-based source line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub line: usize,
    /// Explicit tag in go-yaml short form (`!!str`), if any.
    pub tag: Option<String>,
}

/// The node's content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A scalar with its value after escape processing.
    Scalar { value: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, pairs in document order (duplicates kept).
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// go-yaml's short tag of the node (`!!str`, `!!int`, `!!null`, `!!map`, ...).
    pub fn short_tag(&self) -> String {
        if let Some(t) = &self.tag {
            return t.clone();
        }
        match &self.kind {
            Kind::Seq(_) => "!!seq".into(),
            Kind::Map(_) => "!!map".into(),
            Kind::Scalar { value, plain } => {
                if !*plain {
                    return "!!str".into();
                }
                super::resolve::resolve_plain(value).short_tag().into()
            }
        }
    }

    /// True for a null scalar (`~`, `null`, empty plain, or `!!null`).
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Scalar { .. }) && self.short_tag() == "!!null"
    }

    /// The scalar value, if this is a scalar.
    pub fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }
}

enum Frame {
    Seq {
        line: usize,
        anchor: usize,
        tag: Option<String>,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        tag: Option<String>,
        items: Vec<Node>,
    },
}

fn short_tag(tag: Option<&granit_parser::Tag>) -> Option<String> {
    let t = tag?;
    if t.handle() == "tag:yaml.org,2002:" {
        Some(format!("!!{}", t.suffix()))
    } else {
        Some(format!("{}{}", t.handle(), t.suffix()))
    }
}

/// Parses the first YAML document of `text`. `Ok(None)` for an empty stream.
/// Errors read like go-yaml's: `yaml: line N: <problem>`.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, String> {
    let mut options = Options::default();
    options.block_scalar_eof_without_line_feed = true;
    let parser = Parser::new_from_str_with_options(text, options);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    for item in parser {
        let (event, span) = match item {
            Ok(x) => x,
            Err(e) => {
                return Err(format!("yaml: line {}: {}", e.marker().line(), e.info()));
            }
        };
        let line = span.start.line();
        let done: Option<(Node, usize)> = match event {
            Event::Scalar(value, style, anchor, tag) => Some((
                Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        plain: matches!(style, ScalarStyle::Plain),
                    },
                    line,
                    tag: short_tag(tag.as_deref()),
                },
                anchor,
            )),
            Event::SequenceStart(_, anchor, tag) => {
                stack.push(Frame::Seq {
                    line,
                    anchor,
                    tag: short_tag(tag.as_deref()),
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(_, anchor, tag) => {
                stack.push(Frame::Map {
                    line,
                    anchor,
                    tag: short_tag(tag.as_deref()),
                    items: Vec::new(),
                });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    line,
                    anchor,
                    tag,
                    items,
                }) => Some((
                    Node {
                        kind: Kind::Seq(items),
                        line,
                        tag,
                    },
                    anchor,
                )),
                Some(Frame::Map {
                    line,
                    anchor,
                    tag,
                    items,
                }) => {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Some((
                        Node {
                            kind: Kind::Map(pairs),
                            line,
                            tag,
                        },
                        anchor,
                    ))
                }
                None => return Err("yaml: internal error: unbalanced events".into()),
            },
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => {
                    let mut n = n.clone();
                    n.line = line;
                    Some((n, 0))
                }
                None => return Err(format!("yaml: line {line}: unknown anchor referenced")),
            },
            Event::DocumentEnd => {
                if root.is_some() {
                    break;
                }
                None
            }
            _ => None,
        };
        if let Some((node, anchor)) = done {
            if anchor != 0 {
                anchors.insert(anchor, node.clone());
            }
            match stack.last_mut() {
                Some(Frame::Seq { items, .. }) | Some(Frame::Map { items, .. }) => items.push(node),
                None => root = Some(node),
            }
        }
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_lines_and_kinds() {
        let n = parse("a: 1\nb:\n  - x\n  - 'y'\nc: &z {k: v}\nd: *z\n")
            .unwrap()
            .unwrap();
        let Kind::Map(pairs) = &n.kind else { panic!() };
        assert_eq!(pairs.len(), 4);
        assert_eq!(pairs[0].0.scalar(), Some("a"));
        assert_eq!(pairs[0].1.short_tag(), "!!int");
        assert_eq!(pairs[1].0.line, 2);
        let Kind::Seq(items) = &pairs[1].1.kind else {
            panic!()
        };
        assert_eq!(items[1].short_tag(), "!!str");
        assert_eq!(items[1].line, 4);
        assert_eq!(pairs[3].1.short_tag(), "!!map");
        assert!(parse("").unwrap().is_none());
        assert!(parse("a: [x\n").unwrap_err().starts_with("yaml: line "));
    }
}
