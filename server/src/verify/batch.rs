//! One batch of what verification calls recorded: counts per key and
//! request-log entries, whose text sits end to end in one string.

use super::code::Code;
use std::collections::HashMap;
use std::sync::Arc;

/// One key's counts in a batch.
#[derive(Clone, Debug, Default)]
pub(super) struct KeyCounts {
    pub(super) requests: i64,
    /// Unix seconds.
    pub(super) last_used: i64,
    /// (hour, code, count): a handful per key and batch.
    pub(super) outcomes: Vec<(i64, Code, i64)>,
}

impl KeyCounts {
    pub(super) fn add(&mut self, hour: i64, code: Code, n: i64) {
        match self.outcomes.iter_mut().find(|(h, c, _)| (*h, *c) == (hour, code)) {
            Some((.., count)) => *count += n,
            None => self.outcomes.push((hour, code, n)),
        }
    }
}

/// Where a log entry's text lies in its batch's [`Pending::text`].
pub(super) type Span = Option<(u32, u32)>;

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) key_id: Arc<str>,
    pub(super) org_id: Arc<str>,
    pub(super) code: Code,
    pub(super) at_ms: i64,
    pub(super) path: Span,
    pub(super) ip: Span,
    pub(super) user_agent: Span,
}

/// One batch: counts per key and the log entries, whose text fields sit
/// end to end in one string (no allocation per call).
#[derive(Default)]
pub(super) struct Pending {
    pub(super) keys: HashMap<Arc<str>, KeyCounts, foldhash::fast::RandomState>,
    pub(super) log: Vec<Entry>,
    pub(super) text: String,
    /// When a writer took this batch (a count): held batches go back in
    /// this order.
    pub(super) taken: u64,
}

impl Pending {
    pub(super) fn clear(&mut self) {
        self.keys.clear();
        self.log.clear();
        self.text.clear();
    }

    /// Appends `s` to the text, control characters (NUL included, which
    /// PostgreSQL refuses in text) stripped when `clean`, cut to `max`
    /// characters.
    pub(super) fn push_text(&mut self, s: Option<&str>, max: usize, clean: bool) -> Span {
        let s = s?;
        let start = self.text.len();
        if !clean {
            self.text.push_str(s);
        } else if s.len() <= max && !s.bytes().any(|b| b < 0x20 || b == 0x7f || b >= 0x80) {
            // Plain printable ASCII (nearly every call): copied as it is.
            self.text.push_str(s);
        } else {
            self.text.extend(s.chars().filter(|c| !c.is_control()).take(max));
        }
        Some((start as u32, self.text.len() as u32))
    }

    pub(super) fn text_of(&self, span: Span) -> Option<&str> {
        span.map(|(a, b)| &self.text[a as usize..b as usize])
    }
}
