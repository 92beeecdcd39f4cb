//! Wire types of the files API (`GET /v1/files`, `POST /v1/files`).

use crate::{ErrorResult, null_default};
use serde::{Deserialize, Serialize};

/// One entry of `GET /v1/files?action=list`.
///
/// Field order on the wire: `path`, `name`, `type`, `size` (regular files only), `permissions`,
/// `last-modified`, `user-id`, `user`, `group-id`, `group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FileInfo {
    /// Full path (the listed directory joined with `name`).
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    /// Base name (`/` for the root itself).
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// `file`, `directory`, `symlink`, `socket`, `named-pipe`, `device` or `unknown`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub type_: String,
    /// Size in bytes, present only for regular files.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub size: Option<i64>,
    /// Permission bits as 3 octal digits, e.g. `644`.
    #[serde(default, deserialize_with = "null_default")]
    pub permissions: String,
    /// Modification time, Go `time.RFC3339` in the daemon's local zone (seconds only).
    #[serde(rename = "last-modified", default, deserialize_with = "null_default")]
    pub last_modified: String,
    /// Owner's user id.
    #[serde(rename = "user-id", default)]
    pub user_id: Option<u32>,
    /// Owner's user name (`""` when unknown).
    #[serde(default, deserialize_with = "null_default")]
    pub user: String,
    /// Owner's group id.
    #[serde(rename = "group-id", default)]
    pub group_id: Option<u32>,
    /// Owner's group name (`""` when unknown).
    #[serde(default, deserialize_with = "null_default")]
    pub group: String,
}

/// One per-path item of a files result (`read`, `write`, `make-dirs`, `remove`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FileResult {
    /// The path exactly as requested.
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    /// The error for this path, if any.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub error: Option<ErrorResult>,
}

/// Ownership fields shared by `make-dirs` and `write` items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Ownership {
    /// Numeric user id.
    #[serde(
        rename = "user-id",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_id: Option<i64>,
    /// User name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    /// Numeric group id.
    #[serde(
        rename = "group-id",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Option::is_none"
    )]
    pub group_id: Option<i64>,
    /// Group name.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub group: String,
}

/// One item of a `make-dirs` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MakeDirsItem {
    /// Absolute path of the directory.
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    /// Create missing parents too (and accept an existing directory).
    #[serde(
        rename = "make-parents",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub make_parents: bool,
    /// 3 octal digits; empty means `755`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub permissions: String,
    /// Owner of the created directories.
    #[serde(flatten)]
    pub owner: Ownership,
}

/// One item of a `remove` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RemovePathsItem {
    /// Absolute path to remove.
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    /// Remove a directory and its contents (a missing path is then not an error).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub recursive: bool,
}

/// One item of the `request` part of a multipart `write`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WriteFilesItem {
    /// Absolute path of the file.
    #[serde(default, deserialize_with = "null_default")]
    pub path: String,
    /// Create missing parent directories (mode 755).
    #[serde(
        rename = "make-dirs",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub make_dirs: bool,
    /// 3 octal digits; empty means `644`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub permissions: String,
    /// Owner of the file (and of created parents).
    #[serde(flatten)]
    pub owner: Ownership,
}

/// Body of `POST /v1/files`: the JSON form (`make-dirs`, `remove`) or the multipart `request`
/// part (`write`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct FilesRequest {
    /// `make-dirs`, `remove` or `write`.
    #[serde(default, deserialize_with = "null_default")]
    pub action: String,
    /// Items of `make-dirs`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dirs: Vec<MakeDirsItem>,
    /// Items of `remove`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub paths: Vec<RemovePathsItem>,
    /// Items of `write`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub files: Vec<WriteFilesItem>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn file_info_order_and_size_omission() {
        let fi = FileInfo {
            path: "/a".into(),
            name: "a".into(),
            type_: "directory".into(),
            size: None,
            permissions: "755".into(),
            last_modified: "2026-01-01T00:00:00Z".into(),
            user_id: Some(0),
            user: "root".into(),
            group_id: Some(0),
            group: "root".into(),
        };
        assert_eq!(
            serde_json::to_string(&fi).unwrap(),
            r#"{"path":"/a","name":"a","type":"directory","permissions":"755","last-modified":"2026-01-01T00:00:00Z","user-id":0,"user":"root","group-id":0,"group":"root"}"#
        );
    }

    #[test]
    fn request_accepts_nulls_and_flattened_owner() {
        let r: FilesRequest = serde_json::from_str(
            r#"{"action":"write","files":[{"path":"/x","permissions":null,"user-id":5,"group":"g","make-dirs":null,"extra":1}]}"#,
        )
        .unwrap();
        assert_eq!(r.files[0].owner.user_id, Some(5));
        assert_eq!(r.files[0].owner.group, "g");
        assert!(!r.files[0].make_dirs);
        assert_eq!(r.files[0].permissions, "");
    }
}
