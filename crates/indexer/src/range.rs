//! Adaptive `eth_getLogs` range sizing: providers cap the block span or the result size of a
//! query, so a range that fails with a "too large" error is halved and retried, and successes
//! grow it back, up to the configured maximum.

/// The block span of the next `eth_getLogs` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSizer {
    current: u64,
    min: u64,
    max: u64,
}

impl RangeSizer {
    /// Starts at `start` blocks per query, never going below `min` or above `max` (all at least 1).
    pub fn new(start: u64, min: u64, max: u64) -> Self {
        let min = min.max(1);
        let max = max.max(min);
        Self { current: start.clamp(min, max), min, max }
    }

    /// The span to ask for next.
    pub const fn current(&self) -> u64 {
        self.current
    }

    /// The inclusive range `[from, min(from + span - 1, head)]`, or `None` when `from > head`.
    pub fn next_range(&self, from: u64, head: u64) -> Option<(u64, u64)> {
        (from <= head).then(|| (from, from.saturating_add(self.current - 1).min(head)))
    }

    /// A query failed because it asked for too much: halve the span. Returns false when the span
    /// is already at the minimum (the caller then backs off and retries the same range).
    pub fn shrink(&mut self) -> bool {
        let shrunk = (self.current / 2).max(self.min);
        let changed = shrunk != self.current;
        self.current = shrunk;
        changed
    }

    /// A query succeeded: double the span, up to the maximum.
    pub fn grow(&mut self) {
        self.current = self.current.saturating_mul(2).min(self.max);
    }
}

/// Whether an `eth_getLogs` error says the range or its result is too large (rather than a
/// transient failure). Providers word this differently; these fragments cover geth, erigon,
/// Alchemy, Infura, QuickNode, Ankr and anvil's own limit.
pub fn is_range_too_large(message: &str) -> bool {
    const FRAGMENTS: &[&str] = &[
        "query returned more than",
        "range too large",
        "range is too large",
        "too many",
        "limit exceeded",
        "response size",
        "-32005",
        "block range",
        "exceed maximum block range",
        "response is too big",
        "query timeout exceeded",
    ];
    let message = message.to_ascii_lowercase();
    FRAGMENTS.iter().any(|fragment| message.contains(fragment))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_down_to_the_minimum_and_grows_back_to_the_maximum() {
        let mut sizer = RangeSizer::new(2_000, 1, 50_000);
        assert_eq!(sizer.current(), 2_000);
        let mut spans = Vec::new();
        while sizer.shrink() {
            spans.push(sizer.current());
        }
        assert_eq!(spans, [1_000, 500, 250, 125, 62, 31, 15, 7, 3, 1]);
        assert!(!sizer.shrink(), "already at the minimum");
        assert_eq!(sizer.current(), 1);
        for _ in 0..20 {
            sizer.grow();
        }
        assert_eq!(sizer.current(), 50_000);
        sizer.grow();
        assert_eq!(sizer.current(), 50_000);
    }

    #[test]
    fn start_is_clamped_and_ranges_stop_at_the_head() {
        let sizer = RangeSizer::new(0, 0, 10);
        assert_eq!(sizer.current(), 1);
        let sizer = RangeSizer::new(100, 1, 10);
        assert_eq!(sizer.current(), 10);
        assert_eq!(sizer.next_range(5, 100), Some((5, 14)));
        assert_eq!(sizer.next_range(95, 100), Some((95, 100)));
        assert_eq!(sizer.next_range(100, 100), Some((100, 100)));
        assert_eq!(sizer.next_range(101, 100), None);
        assert_eq!(
            RangeSizer::new(10, 1, 10).next_range(u64::MAX - 2, u64::MAX),
            Some((u64::MAX - 2, u64::MAX))
        );
    }

    #[test]
    fn classifies_provider_errors() {
        for message in [
            "server returned an error response: error code -32005: query returned more than 10000 results",
            "eth_getLogs block range too large, range: 100000, max: 10000",
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
            "query exceeds max block range 5000",
            "error code -32602: Too many blocks",
            "limit exceeded",
            "exceed maximum block range: 50000",
        ] {
            assert!(is_range_too_large(message), "{message}");
        }
        for message in [
            "error sending request for url (http://127.0.0.1:8545/)",
            "HTTP error 500 with body: internal error",
            "connection reset by peer",
            "deserialization error: expected value at line 1 column 1",
        ] {
            assert!(!is_range_too_large(message), "{message}");
        }
    }
}
