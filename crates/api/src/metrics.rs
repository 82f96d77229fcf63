//! Prometheus metrics through the `metrics` facade and its Prometheus exporter: request counts
//! and a latency histogram per method, route template and status, plus the indexed block, the
//! chain head and the lag. Each app keeps a recorder of its own rather than the process-wide one,
//! so that apps in one process (the tests) count apart.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use crate::cache::CacheStats;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

const REQUESTS: &str = "runs_http_requests_total";
const LATENCY: &str = "runs_http_request_duration_seconds";
const INDEXED: &str = "runs_indexed_block";
const HEAD: &str = "runs_chain_head_block";
const LAG: &str = "runs_indexer_lag_blocks";
const CACHE_HITS: &str = "runs_api_cache_hits_total";
const CACHE_MISSES: &str = "runs_api_cache_misses_total";
const CACHE_NOT_MODIFIED: &str = "runs_api_cache_not_modified_total";
const CACHE_EVICTIONS: &str = "runs_api_cache_evictions_total";
const CACHE_BYTES: &str = "runs_api_cache_bytes";
const CACHE_ENTRIES: &str = "runs_api_cache_entries";

/// The recorder keeps each latency sample until the next render folds it into the buckets: fold
/// them every this many requests too, so memory stays bounded when nothing scrapes.
const UPKEEP_EVERY: u64 = 4_096;

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// The process's request metrics.
#[derive(Debug)]
pub(crate) struct Metrics {
    recorder: PrometheusRecorder,
    observed: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        for (name, help) in [
            (REQUESTS, "HTTP requests by method, route and status."),
            (LATENCY, "HTTP request latency by method, route and status."),
            (INDEXED, "The last fully indexed block."),
            (HEAD, "The chain head last seen over RPC."),
            (LAG, "Blocks between the head and the index."),
            (CACHE_HITS, "Read requests answered from the response cache."),
            (CACHE_MISSES, "Cacheable read requests the handler answered."),
            (CACHE_NOT_MODIFIED, "304 answers to a current If-None-Match."),
            (CACHE_EVICTIONS, "Responses evicted to stay under the cache's byte budget."),
            (CACHE_BYTES, "Bytes of responses in the cache."),
            (CACHE_ENTRIES, "Keys in the cache (stored answers and ones being computed)."),
        ] {
            // The exporter keeps one description per name, whatever the metric's kind.
            recorder.describe_counter(name.into(), None, help.into());
        }
        Self { recorder, observed: AtomicU64::new(0) }
    }
}

impl Metrics {
    /// Record one finished request.
    pub(crate) fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let labels = vec![
            Label::new("method", method.to_owned()),
            Label::new("route", route.to_owned()),
            Label::new("status", status.to_string()),
        ];
        let requests = Key::from_parts(REQUESTS, labels.clone());
        self.recorder.register_counter(&requests, &METADATA).increment(1);
        let latency = Key::from_parts(LATENCY, labels);
        self.recorder.register_histogram(&latency, &METADATA).record(elapsed.as_secs_f64());
        if self.observed.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.recorder.handle().run_upkeep();
        }
    }

    /// The exposition text, with the freshness gauges and the response cache's counts set first
    /// (each only once known).
    pub(crate) fn render(
        &self,
        indexed_block: Option<u64>,
        chain_head: Option<u64>,
        cache: Option<&CacheStats>,
    ) -> String {
        let gauge = |name: &'static str, value: u64| {
            self.recorder.register_gauge(&Key::from_name(name), &METADATA).set(value as f64);
        };
        if let Some(stats) = cache {
            let count = |name: &'static str, value: &AtomicU64| {
                let counter = self.recorder.register_counter(&Key::from_name(name), &METADATA);
                counter.absolute(value.load(Ordering::Relaxed));
            };
            count(CACHE_HITS, &stats.hits);
            count(CACHE_MISSES, &stats.misses);
            count(CACHE_NOT_MODIFIED, &stats.not_modified);
            count(CACHE_EVICTIONS, &stats.evictions);
            gauge(CACHE_BYTES, stats.bytes.load(Ordering::Relaxed));
            gauge(CACHE_ENTRIES, stats.entries.load(Ordering::Relaxed));
        }
        if let Some(block) = indexed_block {
            gauge(INDEXED, block);
        }
        if let Some(head) = chain_head {
            gauge(HEAD, head);
            if let Some(block) = indexed_block {
                gauge(LAG, head.saturating_sub(block));
            }
        }
        self.recorder.handle().render()
    }
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
        let text = m.render(Some(10), Some(15), None);
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
