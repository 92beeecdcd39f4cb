//! Notices: records of events (`change-update`, `custom`, `warning`) kept in the state.
//!
//! A notice is unique per (owner uid or public, type, key). A new occurrence of an existing
//! notice bumps `occurrences`, `last-occurred` and `last-data`; it moves `last-repeated` (what
//! lists are sorted by and what long-polling waiters wake on) only when the new occurrence's
//! `repeat-after` is zero or has elapsed since the last repeat. Notices expire `expire-after`
//! (7 days) after their last occurrence: expired notices are hidden from lists at once and
//! deleted when the state is pruned.
//!
//! The functions here take `now` explicitly so the model is testable with a fake clock.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long a notice lives after its last occurrence (7 days).
pub const DEFAULT_EXPIRE_AFTER: SignedDuration = SignedDuration::from_hours(7 * 24);
/// `repeat-after` of warnings (24 hours).
pub const WARNING_REPEAT_AFTER: SignedDuration = SignedDuration::from_hours(24);
/// Maximum length of a notice key, in bytes.
pub const MAX_KEY_LEN: usize = 256;

/// The type of a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeType {
    /// A change was created or changed status (key: the change id).
    ChangeUpdate,
    /// Added by a client through the API.
    Custom,
    /// A warning (key: the message).
    Warning,
}

impl NoticeType {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeType::ChangeUpdate => "change-update",
            NoticeType::Custom => "custom",
            NoticeType::Warning => "warning",
        }
    }

    /// Parse an API string (`None` for unknown types).
    pub fn parse(s: &str) -> Option<NoticeType> {
        match s {
            "change-update" => Some(NoticeType::ChangeUpdate),
            "custom" => Some(NoticeType::Custom),
            "warning" => Some(NoticeType::Warning),
            _ => None,
        }
    }
}

/// One notice, as stored in the state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Notice id (sequential per state).
    pub id: u64,
    /// Owner uid; `None` for public notices.
    #[serde(rename = "user-id", default)]
    pub user_id: Option<u32>,
    /// Type.
    #[serde(rename = "type")]
    pub notice_type: NoticeType,
    /// Key.
    pub key: String,
    /// First occurrence.
    #[serde(rename = "first-occurred")]
    pub first_occurred: Timestamp,
    /// Latest occurrence.
    #[serde(rename = "last-occurred")]
    pub last_occurred: Timestamp,
    /// Latest repeat (an occurrence after `repeat-after` elapsed).
    #[serde(rename = "last-repeated")]
    pub last_repeated: Timestamp,
    /// Number of occurrences.
    pub occurrences: u64,
    /// Data of the latest occurrence.
    #[serde(
        rename = "last-data",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub last_data: BTreeMap<String, String>,
    /// Minimum time between repeats (of the latest occurrence); zero repeats always.
    #[serde(
        rename = "repeat-after",
        default,
        skip_serializing_if = "SignedDuration::is_zero"
    )]
    pub repeat_after: SignedDuration,
    /// Lifetime after the last occurrence.
    #[serde(rename = "expire-after", default = "default_expire")]
    pub expire_after: SignedDuration,
}

fn default_expire() -> SignedDuration {
    DEFAULT_EXPIRE_AFTER
}

impl Notice {
    /// Whether the notice has expired at `now`.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.last_occurred + self.expire_after < now
    }

    /// Whether the caller `uid` (admin or not) may see this notice.
    pub fn visible_to(&self, uid: u32, admin: bool) -> bool {
        admin || self.user_id.is_none_or(|u| u == uid)
    }

    /// The API view.
    pub fn info(&self) -> pebble_api::Notice {
        let fmt = |ns: SignedDuration| {
            if ns.is_zero() {
                String::new()
            } else {
                let n = i64::try_from(ns.as_nanos()).unwrap_or(i64::MAX);
                pebble_plan::go_duration::format_nanos(n)
            }
        };
        pebble_api::Notice {
            id: self.id.to_string(),
            user_id: self.user_id,
            type_: self.notice_type.as_str().to_string(),
            key: self.key.clone(),
            first_occurred: crate::timefmt::rfc3339_nano_utc(self.first_occurred),
            last_occurred: crate::timefmt::rfc3339_nano_utc(self.last_occurred),
            last_repeated: crate::timefmt::rfc3339_nano_utc(self.last_repeated),
            occurrences: i64::try_from(self.occurrences).unwrap_or(i64::MAX),
            last_data: self.last_data.clone(),
            repeat_after: fmt(self.repeat_after),
            expire_after: fmt(self.expire_after),
        }
    }
}

/// Options of one occurrence.
#[derive(Debug, Clone, Default)]
pub struct AddNoticeOptions {
    /// Data of this occurrence.
    pub data: BTreeMap<String, String>,
    /// Minimum time since the last repeat for this occurrence to count as a repeat.
    pub repeat_after: SignedDuration,
}

/// Which notices a list or wait returns.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    /// Only this user's notices and public ones (`None`: everyone's).
    pub user_id: Option<u32>,
    /// Only these types (empty: all).
    pub types: Vec<NoticeType>,
    /// Only these keys (empty: all).
    pub keys: Vec<String>,
    /// Only notices last repeated strictly after this time.
    pub after: Option<Timestamp>,
}

impl NoticeFilter {
    /// Whether `n` passes the filter (expiry aside).
    pub fn matches(&self, n: &Notice) -> bool {
        if let Some(uid) = self.user_id
            && n.user_id.is_some_and(|u| u != uid)
        {
            return false;
        }
        if !self.types.is_empty() && !self.types.contains(&n.notice_type) {
            return false;
        }
        if !self.keys.is_empty() && !self.keys.contains(&n.key) {
            return false;
        }
        if let Some(after) = self.after
            && n.last_repeated <= after
        {
            return false;
        }
        true
    }
}

/// The notices of a state and the bookkeeping of their times.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Notices {
    /// Every notice, in no particular order.
    #[serde(default)]
    pub list: Vec<Notice>,
    /// The latest time handed to a notice (times are strictly increasing).
    #[serde(default, rename = "last-time", skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Timestamp>,
}

impl Notices {
    /// A notice time: `now`, or just after the previous one so times strictly increase.
    fn next_time(&mut self, now: Timestamp) -> Timestamp {
        let t = match self.last_time {
            Some(last) if now <= last => last + SignedDuration::from_nanos(1),
            _ => now,
        };
        self.last_time = Some(t);
        t
    }

    /// Record an occurrence; `last_id` is the state's notice id counter. Returns the notice id
    /// and whether the occurrence was new or a repeat (what wakes waiters).
    pub fn add(
        &mut self,
        last_id: &mut u64,
        user_id: Option<u32>,
        notice_type: NoticeType,
        key: &str,
        opts: AddNoticeOptions,
        now: Timestamp,
    ) -> (u64, bool) {
        let now = self.next_time(now);
        if let Some(n) = self
            .list
            .iter_mut()
            .find(|n| n.user_id == user_id && n.notice_type == notice_type && n.key == key)
        {
            n.occurrences += 1;
            n.last_occurred = now;
            n.last_data = opts.data;
            let repeated = opts.repeat_after.is_zero() || now > n.last_repeated + opts.repeat_after;
            if repeated {
                n.last_repeated = now;
            }
            n.repeat_after = opts.repeat_after;
            return (n.id, repeated);
        }
        *last_id += 1;
        self.list.push(Notice {
            id: *last_id,
            user_id,
            notice_type,
            key: key.to_string(),
            first_occurred: now,
            last_occurred: now,
            last_repeated: now,
            occurrences: 1,
            last_data: opts.data,
            repeat_after: opts.repeat_after,
            expire_after: DEFAULT_EXPIRE_AFTER,
        });
        (*last_id, true)
    }

    /// The unexpired notices matching `filter`, sorted by last-repeated time.
    pub fn list(&self, filter: &NoticeFilter, now: Timestamp) -> Vec<&Notice> {
        let mut out: Vec<&Notice> = self
            .list
            .iter()
            .filter(|n| !n.expired(now) && filter.matches(n))
            .collect();
        out.sort_by_key(|n| (n.last_repeated, n.id));
        out
    }

    /// A notice by id (expired or not, as Pebble).
    pub fn get(&self, id: u64) -> Option<&Notice> {
        self.list.iter().find(|n| n.id == id)
    }

    /// Find a notice by owner, type and key.
    pub fn find(
        &self,
        user_id: Option<u32>,
        notice_type: NoticeType,
        key: &str,
    ) -> Option<&Notice> {
        self.list
            .iter()
            .find(|n| n.user_id == user_id && n.notice_type == notice_type && n.key == key)
    }

    /// Delete expired notices; returns how many were deleted.
    pub fn prune(&mut self, now: Timestamp) -> usize {
        let before = self.list.len();
        self.list.retain(|n| !n.expired(now));
        before - self.list.len()
    }
}

/// Whether a custom notice key has the `example.com/path` form (the length, at most
/// [`MAX_KEY_LEN`] bytes, is checked separately).
pub fn valid_custom_key(key: &str) -> bool {
    // ^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+(/[a-z0-9]+(-[a-z0-9]+)*)+$
    let Some((domain, path)) = key.split_once('/') else {
        return false;
    };
    let word = |w: &str| {
        !w.is_empty()
            && w.split('-').all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
    };
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2 && labels.iter().all(|l| word(l)) && path.split('/').all(word)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t0() -> Timestamp {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn secs(n: i64) -> SignedDuration {
        SignedDuration::from_secs(n)
    }

    fn data(k: &str, v: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(k.to_string(), v.to_string())])
    }

    #[test]
    fn new_and_repeated_occurrences() {
        let mut ns = Notices::default();
        let mut last = 0;
        let opts = AddNoticeOptions {
            data: data("k", "v"),
            ..Default::default()
        };
        let (id, new) = ns.add(
            &mut last,
            Some(0),
            NoticeType::Custom,
            "a.com/x",
            opts,
            t0(),
        );
        assert_eq!((id, new), (1, true));
        let (id2, rep) = ns.add(
            &mut last,
            Some(0),
            NoticeType::Custom,
            "a.com/x",
            AddNoticeOptions::default(),
            t0() + secs(1),
        );
        assert_eq!((id2, rep), (1, true));
        let n = ns.get(1).unwrap();
        assert_eq!(n.occurrences, 2);
        assert_eq!(n.first_occurred, t0());
        assert_eq!(n.last_repeated, t0() + secs(1));
        assert!(n.last_data.is_empty(), "data is replaced, not merged");
        // Another owner, type or key is another notice.
        let (id3, _) = ns.add(
            &mut last,
            None,
            NoticeType::Custom,
            "a.com/x",
            AddNoticeOptions::default(),
            t0() + secs(2),
        );
        assert_eq!(id3, 2);
        let (id4, _) = ns.add(
            &mut last,
            Some(0),
            NoticeType::Warning,
            "a.com/x",
            AddNoticeOptions::default(),
            t0() + secs(3),
        );
        assert_eq!(id4, 3);
    }

    #[test]
    fn repeat_after_holds_back_last_repeated() {
        let mut ns = Notices::default();
        let mut last = 0;
        let ra = AddNoticeOptions {
            repeat_after: secs(60),
            ..Default::default()
        };
        ns.add(
            &mut last,
            None,
            NoticeType::Custom,
            "a.com/x",
            ra.clone(),
            t0(),
        );
        let (_, rep) = ns.add(
            &mut last,
            None,
            NoticeType::Custom,
            "a.com/x",
            ra.clone(),
            t0() + secs(30),
        );
        assert!(!rep);
        let n = ns.get(1).unwrap();
        assert_eq!(n.last_repeated, t0());
        assert_eq!(n.last_occurred, t0() + secs(30));
        assert_eq!(n.occurrences, 2);
        let (_, rep) = ns.add(
            &mut last,
            None,
            NoticeType::Custom,
            "a.com/x",
            ra,
            t0() + secs(61),
        );
        assert!(rep);
        assert_eq!(ns.get(1).unwrap().last_repeated, t0() + secs(61));
        assert_eq!(ns.get(1).unwrap().info().repeat_after, "1m0s");
    }

    #[test]
    fn expiry_hides_then_prunes() {
        let mut ns = Notices::default();
        let mut last = 0;
        ns.add(
            &mut last,
            None,
            NoticeType::Custom,
            "a.com/x",
            AddNoticeOptions::default(),
            t0(),
        );
        ns.add(
            &mut last,
            None,
            NoticeType::Custom,
            "a.com/y",
            AddNoticeOptions::default(),
            t0() + secs(3600),
        );
        let f = NoticeFilter::default();
        let week = DEFAULT_EXPIRE_AFTER;
        assert_eq!(ns.list(&f, t0() + week).len(), 2);
        let later = t0() + week + secs(1);
        let keys: Vec<_> = ns.list(&f, later).iter().map(|n| n.key.clone()).collect();
        assert_eq!(keys, vec!["a.com/y"]);
        // Still fetchable by id until pruned.
        assert!(ns.get(1).is_some());
        assert_eq!(ns.prune(later), 1);
        assert!(ns.get(1).is_none());
        assert_eq!(ns.get(2).unwrap().info().expire_after, "168h0m0s");
    }

    #[test]
    fn times_strictly_increase_and_order_by_last_repeated() {
        let mut ns = Notices::default();
        let mut last = 0;
        for k in ["a.com/1", "a.com/2", "a.com/3"] {
            ns.add(
                &mut last,
                None,
                NoticeType::Custom,
                k,
                AddNoticeOptions::default(),
                t0(),
            );
        }
        ns.add(
            &mut last,
            None,
            NoticeType::Custom,
            "a.com/1",
            AddNoticeOptions::default(),
            t0(),
        );
        let list = ns.list(&NoticeFilter::default(), t0());
        let keys: Vec<_> = list.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, vec!["a.com/2", "a.com/3", "a.com/1"]);
        assert!(list[0].last_repeated < list[1].last_repeated);
        assert_eq!(
            list[2].info().last_repeated,
            "2026-01-01T00:00:00.000000003Z"
        );
    }

    #[test]
    fn filters() {
        let mut ns = Notices::default();
        let mut last = 0;
        ns.add(
            &mut last,
            None,
            NoticeType::ChangeUpdate,
            "1",
            AddNoticeOptions::default(),
            t0(),
        );
        ns.add(
            &mut last,
            Some(1000),
            NoticeType::Custom,
            "a.com/x",
            AddNoticeOptions::default(),
            t0() + secs(1),
        );
        ns.add(
            &mut last,
            Some(0),
            NoticeType::Custom,
            "a.com/y",
            AddNoticeOptions::default(),
            t0() + secs(2),
        );
        let ids =
            |f: NoticeFilter| -> Vec<u64> { ns.list(&f, t0()).iter().map(|n| n.id).collect() };
        assert_eq!(ids(NoticeFilter::default()), vec![1, 2, 3]);
        assert_eq!(
            ids(NoticeFilter {
                user_id: Some(1000),
                ..Default::default()
            }),
            vec![1, 2]
        );
        assert_eq!(
            ids(NoticeFilter {
                user_id: Some(0),
                ..Default::default()
            }),
            vec![1, 3]
        );
        assert_eq!(
            ids(NoticeFilter {
                types: vec![NoticeType::Custom],
                ..Default::default()
            }),
            vec![2, 3]
        );
        assert_eq!(
            ids(NoticeFilter {
                keys: vec!["a.com/y".into(), "1".into()],
                ..Default::default()
            }),
            vec![1, 3]
        );
        assert_eq!(
            ids(NoticeFilter {
                after: Some(t0() + secs(1)),
                ..Default::default()
            }),
            vec![3]
        );
        assert!(ns.get(2).unwrap().visible_to(1000, false));
        assert!(!ns.get(2).unwrap().visible_to(5, false));
        assert!(ns.get(2).unwrap().visible_to(5, true));
        assert!(ns.get(1).unwrap().visible_to(5, false));
    }

    #[test]
    fn state_without_notices_loads_empty() {
        let d: crate::state::StateData = serde_json::from_str(r#"{"last-change-id":3}"#).unwrap();
        assert!(d.notices.list.is_empty());
        let mut d = d;
        d.add_notice(None, NoticeType::Warning, "w", AddNoticeOptions::default());
        let back: crate::state::StateData =
            serde_json::from_slice(&serde_json::to_vec(&d).unwrap()).unwrap();
        assert_eq!(back.notices.list, d.notices.list);
        assert_eq!(back.last_notice_id, 1);
    }

    #[test]
    fn custom_keys() {
        for ok in ["example.com/path", "a-b.c1.d/x/y-z", "a.b/c"] {
            assert!(valid_custom_key(ok), "{ok}");
        }
        for bad in [
            "nodomain",
            "example.com",
            "Example.com/x",
            "a.b/",
            "a..b/c",
            "-a.b/c",
            "a.b/c-",
            "a.b//c",
            "a/b",
        ] {
            assert!(!valid_custom_key(bad), "{bad}");
        }
    }
}
