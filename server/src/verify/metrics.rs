//! Prometheus counters for verification, kept in atomics on the request path
//! and rendered in the text exposition format on `GET /metrics`.

use super::code::Code;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] =
    [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05, 0.25];

/// Counters for one process.
#[derive(Default)]
pub struct Metrics {
    by_code: [AtomicU64; Code::ALL.len()],
    /// Cumulative counts per bucket of [`BUCKETS`], then +Inf.
    latency: [AtomicU64; 11],
    latency_sum_ns: AtomicU64,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    /// Unix milliseconds of the last successful usage flush (0: none yet).
    pub last_flush_ms: AtomicI64,
    pub flush_failures: AtomicU64,
    pub log_entries_written: AtomicU64,
    /// Request-log entries the database refused (dropped, never retried).
    pub log_entries_rejected: AtomicU64,
}

impl Metrics {
    /// Counts one answer and how long it took.
    pub fn observe(&self, code: Code, took: Duration) {
        self.by_code[code.index()].fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let bucket = BUCKETS.iter().position(|&le| secs <= le).unwrap_or(BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ns.fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }

    /// How many answers carried `code`.
    pub fn count(&self, code: Code) -> u64 {
        self.by_code[code.index()].load(Ordering::Relaxed)
    }

    /// The exposition text; `gauges` are appended as they are.
    pub fn render(&self, now_ms: i64, started_ms: i64, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP keywarden_verifications_total Verification answers by outcome code.\n\
             # TYPE keywarden_verifications_total counter\n",
        );
        for code in Code::ALL {
            let _ = writeln!(
                out,
                "keywarden_verifications_total{{code=\"{}\"}} {}",
                code.as_str(),
                self.count(code)
            );
        }
        out.push_str(
            "# HELP keywarden_verification_duration_seconds Time to answer a verification.\n\
             # TYPE keywarden_verification_duration_seconds histogram\n",
        );
        let mut cumulative = 0;
        for (i, counter) in self.latency.iter().enumerate() {
            cumulative += counter.load(Ordering::Relaxed);
            let le = BUCKETS.get(i).map_or_else(|| "+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "keywarden_verification_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "keywarden_verification_duration_seconds_sum {sum}");
        let _ = writeln!(out, "keywarden_verification_duration_seconds_count {cumulative}");
        let last = self.last_flush_ms.load(Ordering::Relaxed);
        let lag = (now_ms - if last == 0 { started_ms } else { last }).max(0) as f64 / 1000.0;
        let counters = [
            (
                "keywarden_cache_hits_total",
                "Verifications answered from the in-memory cache.",
                self.cache_hits.load(Ordering::Relaxed),
            ),
            (
                "keywarden_cache_misses_total",
                "Verifications that read the database.",
                self.cache_misses.load(Ordering::Relaxed),
            ),
            (
                "keywarden_usage_flush_failures_total",
                "Usage flushes that failed (retried with the next).",
                self.flush_failures.load(Ordering::Relaxed),
            ),
            (
                "keywarden_request_log_entries_written_total",
                "Request-log entries written.",
                self.log_entries_written.load(Ordering::Relaxed),
            ),
            (
                "keywarden_request_log_rejected_total",
                "Request-log entries the database refused, dropped instead of retried.",
                self.log_entries_rejected.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        }
        let lag_gauge = (
            "keywarden_usage_flush_lag_seconds",
            "Seconds since usage was last written to the database.",
            lag,
        );
        for (name, help, value) in std::iter::once(lag_gauge).chain(gauges.iter().copied()) {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_land_in_their_code_and_bucket() {
        let m = Metrics::default();
        m.observe(Code::Valid, Duration::from_micros(80));
        m.observe(Code::Valid, Duration::from_micros(300));
        m.observe(Code::Revoked, Duration::from_secs(1));
        let text = m.render(5_000, 1_000, &[("x_gauge", "A gauge.", 2.0)]);
        assert!(text.contains("keywarden_verifications_total{code=\"VALID\"} 2\n"));
        assert!(text.contains("keywarden_verifications_total{code=\"REVOKED\"} 1\n"));
        assert!(text.contains("keywarden_verification_duration_seconds_bucket{le=\"0.0001\"} 1\n"));
        assert!(text.contains("keywarden_verification_duration_seconds_bucket{le=\"0.0005\"} 2\n"));
        assert!(text.contains("keywarden_verification_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("keywarden_verification_duration_seconds_count 3\n"));
        assert!(text.contains("keywarden_usage_flush_lag_seconds 4\n"));
        assert!(text.contains("x_gauge 2\n"));
    }
}
