//! How values look on the wire: ISO 8601 UTC times, EIP-55 addresses, amounts as base-unit
//! strings, and the opaque keyset cursor.

use std::cell::RefCell;

use alloy_primitives::map::AddressHashMap;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use runs_db::read::{RunSort, SortOrder, SortValue};
use runs_primitives::{Address, RunId, Usdc};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

/// The last second of year 9999, where RFC 3339 (and the `time` crate's default range) ends.
const LAST_SECOND: i64 = 253_402_300_799;

/// Unix seconds as ISO 8601 UTC, e.g. `2023-11-14T22:13:20Z`. A later time (a "never" deadline)
/// shows as the calendar's last second.
pub fn iso(unix: u64) -> String {
    let unix = i64::try_from(unix).unwrap_or(i64::MAX).min(LAST_SECOND);
    // Neither step can fail for a time in years 1970..=9999.
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Addresses each worker thread keeps in EIP-55 form before it starts over.
const CHECKSUMS_KEPT: usize = 4_096;

thread_local! {
    /// EIP-55 costs a keccak per address, and pages of runs name the same few addresses again
    /// and again (the arbitrator on every run, repeat posters, the agents): each thread keeps
    /// the ones it wrote. Without it, checksums were 5% of all CPU under a no-cache listing
    /// load (bench/api.sh --profile).
    static CHECKSUMS: RefCell<AddressHashMap<Box<str>>> = RefCell::default();
}

/// An address in EIP-55 mixed case.
pub(crate) fn checksum(address: Address) -> String {
    CHECKSUMS.with_borrow_mut(|kept| {
        if let Some(text) = kept.get(&address) {
            return String::from(&**text);
        }
        let text = address.to_checksum(None);
        if kept.len() >= CHECKSUMS_KEPT {
            kept.clear();
        }
        kept.insert(address, text.as_str().into());
        text
    })
}

/// An amount as a decimal string of base units.
pub(crate) fn units(amount: Usdc) -> String {
    amount.base_units().to_string()
}

/// Where the next keyset page starts, bound to the sort it was made for and to the page number it
/// leads to (so a client following cursors still sees the right `pagination.page`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) sort: RunSort,
    pub(crate) order: SortOrder,
    pub(crate) value: SortValue,
    pub(crate) run_id: RunId,
    pub(crate) page: u64,
}

impl Cursor {
    const VERSION: &'static str = "v1";

    /// The opaque token: base64url of `v1|sort|order|value|runId|page`.
    pub(crate) fn encode(&self) -> String {
        let value = match self.value {
            SortValue::Time(t) => t.to_string(),
            SortValue::Amount(a) => units(a),
        };
        let text = format!(
            "{}|{}|{}|{value}|{}|{}",
            Self::VERSION,
            sort_name(self.sort),
            order_name(self.order),
            self.run_id,
            self.page
        );
        URL_SAFE_NO_PAD.encode(text)
    }

    /// Parse a token made by [`Cursor::encode`]; `None` for anything else.
    pub(crate) fn decode(token: &str) -> Option<Self> {
        if token.len() > 256 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.split('|');
        if parts.next()? != Self::VERSION {
            return None;
        }
        let sort = parse_sort(parts.next()?)?;
        let order = parse_order(parts.next()?)?;
        let raw_value = parts.next()?;
        let value = match sort {
            RunSort::Reward => SortValue::Amount(Usdc::from_base_units_str(raw_value).ok()?),
            RunSort::CreatedAt | RunSort::Deadline => SortValue::Time(digits(raw_value)?),
        };
        let run_id = RunId(digits(parts.next()?)?);
        let page = digits(parts.next()?)?;
        if parts.next().is_some() || page < 2 || i64::try_from(run_id.get()).is_err() {
            return None;
        }
        // Values that do not fit the columns cannot come from a row.
        if let SortValue::Time(t) = value
            && i64::try_from(t).is_err()
        {
            return None;
        }
        Some(Self { sort, order, value, run_id, page })
    }
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) const fn sort_name(sort: RunSort) -> &'static str {
    match sort {
        RunSort::CreatedAt => "createdAt",
        RunSort::Reward => "reward",
        RunSort::Deadline => "deadline",
    }
}

pub(crate) const fn order_name(order: SortOrder) -> &'static str {
    match order {
        SortOrder::Asc => "asc",
        SortOrder::Desc => "desc",
    }
}

pub(crate) fn parse_sort(s: &str) -> Option<RunSort> {
    match s {
        "createdAt" => Some(RunSort::CreatedAt),
        "reward" => Some(RunSort::Reward),
        "deadline" => Some(RunSort::Deadline),
        _ => None,
    }
}

pub(crate) fn parse_order(s: &str) -> Option<SortOrder> {
    match s {
        "asc" => Some(SortOrder::Asc),
        "desc" => Some(SortOrder::Desc),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso(4_102_444_799), "2099-12-31T23:59:59Z");
        // The CLI's JSON writes times through this function too.
        assert_eq!(iso(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(iso(4_102_444_800), "2100-01-01T00:00:00Z");
        assert_eq!(iso(u64::MAX), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn checksummed_addresses() {
        let a: Address = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8".parse().unwrap();
        assert_eq!(checksum(a), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        // Asked again (from the thread's kept forms), and past the bound, when they start over.
        assert_eq!(checksum(a), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
        let many: Vec<Address> = (0..CHECKSUMS_KEPT as u64 + 10)
            .map(|i| {
                Address::left_padding_from(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes())
            })
            .collect();
        for round in 0..2 {
            for address in &many {
                assert_eq!(checksum(*address), address.to_checksum(None), "round {round}");
            }
        }
        CHECKSUMS.with_borrow(|kept| assert!(kept.len() <= CHECKSUMS_KEPT));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            sort: RunSort::Reward,
            order: SortOrder::Asc,
            value: SortValue::Amount(Usdc::from(123_000_000u64)),
            run_id: RunId(42),
            page: 3,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        let time = Cursor { sort: RunSort::Deadline, value: SortValue::Time(99), ..cursor };
        assert_eq!(Cursor::decode(&time.encode()), Some(time));
        for bad in ["", "x", "!!!", "djE", &URL_SAFE_NO_PAD.encode("v1|reward|asc|1|2|1")] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v1|reward|asc|-1|2|2")), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("v1|createdAt|up|1|2|2")), None);
    }
}
