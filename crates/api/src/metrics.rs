//! Prometheus metrics in the text exposition format: request counts and a latency histogram per
//! method, route template and status, plus the indexed block, the chain head and the lag. Kept in
//! a mutex-guarded map: a handful of routes, so contention is negligible next to a query.

use std::{collections::BTreeMap, fmt::Write as _, sync::Mutex, time::Duration};

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Debug, Default, Clone)]
struct Series {
    count: u64,
    sum: f64,
    /// Non-cumulative counts per bucket; the last slot is +Inf.
    buckets: [u64; BUCKETS.len() + 1],
}

/// The process's request metrics.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

impl Metrics {
    /// Record one finished request.
    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS.iter().position(|b| secs <= *b).unwrap_or(BUCKETS.len());
        let mut series = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = series.entry((method.to_owned(), route.to_owned(), status)).or_default();
        entry.count += 1;
        entry.sum += secs;
        entry.buckets[slot] += 1;
    }

    /// The exposition text, with the freshness gauges appended.
    pub(crate) fn render(&self, indexed_block: Option<u64>, chain_head: Option<u64>) -> String {
        let series = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let mut out = String::new();
        out.push_str(
            "# HELP runs_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE runs_http_requests_total counter\n");
        for ((method, route, status), s) in &series {
            let _ = writeln!(
                out,
                "runs_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                s.count
            );
        }
        out.push_str(
            "# HELP runs_http_request_duration_seconds HTTP request latency by method, route and status.\n",
        );
        out.push_str("# TYPE runs_http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in &series {
            let labels =
                format!("method=\"{method}\",route=\"{}\",status=\"{status}\"", escape(route));
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "runs_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "runs_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "runs_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ =
                writeln!(out, "runs_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        if let Some(block) = indexed_block {
            out.push_str("# HELP runs_indexed_block The last fully indexed block.\n");
            out.push_str("# TYPE runs_indexed_block gauge\n");
            let _ = writeln!(out, "runs_indexed_block {block}");
        }
        if let Some(head) = chain_head {
            out.push_str("# HELP runs_chain_head_block The chain head last seen over RPC.\n");
            out.push_str("# TYPE runs_chain_head_block gauge\n");
            let _ = writeln!(out, "runs_chain_head_block {head}");
            if let Some(block) = indexed_block {
                out.push_str(
                    "# HELP runs_indexer_lag_blocks Blocks between the head and the index.\n",
                );
                out.push_str("# TYPE runs_indexer_lag_blocks gauge\n");
                let _ = writeln!(out, "runs_indexer_lag_blocks {}", head.saturating_sub(block));
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("GET", "/api/runs", 200, Duration::from_micros(300));
        m.observe("GET", "/api/runs", 200, Duration::from_millis(20));
        m.observe("GET", "/api/runs/{id}", 404, Duration::from_secs(9));
        let text = m.render(Some(10), Some(15));
        assert!(text.contains(
            "runs_http_requests_total{method=\"GET\",route=\"/api/runs\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "runs_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/runs\",status=\"200\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "runs_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/runs\",status=\"200\",le=\"0.025\"} 2"
        ));
        assert!(text.contains(
            "runs_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/runs/{id}\",status=\"404\",le=\"2.5\"} 0"
        ));
        assert!(text.contains("runs_indexer_lag_blocks 5"));
    }
}
