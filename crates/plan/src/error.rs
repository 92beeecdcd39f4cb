//! The error type of this crate.

/// Every error the plan library returns. `Display` gives Pebble's exact message.
///
/// The variant tells where Pebble reports it: [`PlanError::Parse`] errors come from parsing a
/// layer (`POST /v1/layers` prefixes them with `cannot parse layer YAML: `), the others come from
/// combining or validating a plan (shown as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The layer could not be parsed or failed layer-level validation.
    #[error("{0}")]
    Parse(String),
    /// The layers do not combine into a valid plan (or a layer entry lacks a valid `override`).
    #[error("{0}")]
    Invalid(String),
    /// `layer "<label>" already exists` (append with an existing label).
    #[error("layer {} already exists", crate::quote::go_quote(.0))]
    LabelExists(String),
    /// Layer-directory entry names (`invalid layer filename: ...`).
    #[error("{0}")]
    FileName(String),
    /// Any other error (service ordering, user/group normalisation, `--args`).
    #[error("{0}")]
    Other(String),
}

impl PlanError {
    /// True for errors that Pebble reports as layer parse errors.
    pub fn is_parse(&self) -> bool {
        matches!(self, PlanError::Parse(_))
    }

    /// The bare message (same as `to_string()`).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

pub(crate) fn parse_err(msg: impl Into<String>) -> PlanError {
    PlanError::Parse(msg.into())
}

pub(crate) fn invalid(msg: impl Into<String>) -> PlanError {
    PlanError::Invalid(msg.into())
}
