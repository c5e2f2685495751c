//! Prometheus metrics in the text exposition format, written by hand: a few counters and one
//! histogram do not justify a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds, in seconds, of the upload-duration histogram's buckets.
const UPLOAD_BUCKETS: [f64; 9] = [0.05, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0];

/// What the registry counts.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, u64>>,
    pub(crate) received: Arc<AtomicU64>,
    pub(crate) sent: Arc<AtomicU64>,
    uploads: Histogram,
}

/// Requests are counted per route label, method and status: all bounded sets, so the number
/// of series stays small whatever clients send.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RequestKey {
    route: &'static str,
    method: String,
    status: u16,
}

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; UPLOAD_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record_request(&self, route: &'static str, method: &str, status: u16) {
        // Only the methods the API uses get a series of their own.
        let method = match method {
            "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE" => method,
            _ => "OTHER",
        };
        let key = RequestKey {
            route,
            method: method.to_owned(),
            status,
        };
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *requests.entry(key).or_default() += 1;
    }

    /// Counts body bytes sent that did not stream through a blob body (manifests, JSON).
    pub fn record_sent(&self, bytes: usize) {
        self.sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Records how long a finished upload took, from its start to its publication.
    pub fn record_upload(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.uploads.buckets.iter().zip(UPLOAD_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.uploads.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.uploads.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP hallmark_http_requests_total HTTP requests answered, by route, method and status.\n\
             # TYPE hallmark_http_requests_total counter\n",
        );
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        for (key, count) in requests.iter() {
            let _ = writeln!(
                out,
                "hallmark_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {count}",
                key.route, key.method, key.status
            );
        }
        drop(requests);
        for (name, help, counter) in [
            (
                "hallmark_http_received_bytes_total",
                "Request body bytes read.",
                &self.received,
            ),
            (
                "hallmark_http_sent_bytes_total",
                "Response body bytes sent.",
                &self.sent,
            ),
        ] {
            let value = counter.load(Ordering::Relaxed);
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
            );
        }
        out.push_str(
            "# HELP hallmark_upload_duration_seconds Time from an upload's start to its blob's publication.\n\
             # TYPE hallmark_upload_duration_seconds histogram\n",
        );
        for (bucket, bound) in self.uploads.buckets.iter().zip(UPLOAD_BUCKETS) {
            let _ = writeln!(
                out,
                "hallmark_upload_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.uploads.count.load(Ordering::Relaxed);
        let sum = self.uploads.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = write!(
            out,
            "hallmark_upload_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             hallmark_upload_duration_seconds_sum {sum}\n\
             hallmark_upload_duration_seconds_count {count}\n"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let metrics = Metrics::default();
        metrics.record_request("blob", "GET", 200);
        metrics.record_request("blob", "GET", 200);
        metrics.record_request("manifest", "BREW", 405);
        metrics.record_sent(10);
        metrics.record_upload(Duration::from_millis(500));
        let text = metrics.render();
        for line in [
            "hallmark_http_requests_total{route=\"blob\",method=\"GET\",status=\"200\"} 2",
            "hallmark_http_requests_total{route=\"manifest\",method=\"OTHER\",status=\"405\"} 1",
            "hallmark_http_sent_bytes_total 10",
            "hallmark_upload_duration_seconds_bucket{le=\"0.25\"} 0",
            "hallmark_upload_duration_seconds_bucket{le=\"1\"} 1",
            "hallmark_upload_duration_seconds_bucket{le=\"+Inf\"} 1",
            "hallmark_upload_duration_seconds_sum 0.5",
            "hallmark_upload_duration_seconds_count 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
