//! USDC amounts, held exactly in base units.
//!
//! USDC has 6 decimals: 20 USDC is `20_000_000` base units. The amount wraps a `U256` like the
//! contracts' `uint256`, so every on-chain value converts without a failure path. Two text forms,
//! never mixed up:
//!
//! - `FromStr` / `Display` use whole USDC with up to 6 decimals (`"12.5"`), for people and for the
//!   API's `minReward` filter. Parsing is exact: an amount that would need rounding is an error.
//! - serde uses a decimal string of base units (`"12500000"`), as the REST API and the deployment
//!   manifest do, so JavaScript clients never meet a float. Deserialization also accepts a JSON
//!   integer of base units.

use std::{fmt, str::FromStr};

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

use crate::AmountError;

/// Base units in one USDC.
const UNIT: u64 = 1_000_000;

/// An amount of USDC in base units (6 decimals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usdc(U256);

impl Usdc {
    /// Number of decimals of USDC.
    pub const DECIMALS: u8 = 6;
    /// Zero.
    pub const ZERO: Self = Self(U256::ZERO);
    /// The denominator of basis points: 10 000 bps = 100%.
    pub const BPS_DENOMINATOR: u16 = 10_000;

    /// An amount of base units (`1_000_000` = 1 USDC).
    pub const fn from_base_units(units: U256) -> Self {
        Self(units)
    }

    /// An amount of whole USDC (`whole(20)` = 20 USDC = `20_000_000` base units).
    pub fn whole(usdc: u64) -> Self {
        // Cannot overflow: u64::MAX * 10^6 < 2^84.
        Self(U256::from(usdc) * U256::from(UNIT))
    }

    /// The amount in base units.
    pub const fn base_units(self) -> U256 {
        self.0
    }

    /// Parses a decimal string of base units (`"12500000"`), the serde and database form.
    pub fn from_base_units_str(s: &str) -> Result<Self, AmountError> {
        check_digits(s, s)?;
        parse_digits(s, s).map(Self)
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// `self - other`, or `None` if `other` is larger.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// `self - other`, or zero if `other` is larger.
    pub fn saturating_sub(self, other: Self) -> Self {
        Self(self.0.saturating_sub(other.0))
    }

    /// The smaller of `self` and `other` (e.g. a slash capped at what is staked).
    pub fn min(self, other: Self) -> Self {
        Ord::min(self, other)
    }

    /// The platform fee on this reward at `bps` basis points, rounded down exactly like the
    /// contract's `reward * feeBps / 10_000`.
    ///
    /// Computed as `(r / 10_000) * bps + (r % 10_000) * bps / 10_000`, which equals the contract's
    /// formula but cannot overflow for any reward while `bps <= 10_000`. Fees above 100% are outside
    /// the contract's range (it caps at 1 000 bps); for them the first product saturates.
    pub fn fee_for(self, bps: u16) -> Self {
        let denominator = U256::from(Self::BPS_DENOMINATOR);
        let bps = U256::from(bps);
        let whole = (self.0 / denominator).saturating_mul(bps);
        let rest = (self.0 % denominator) * bps / denominator;
        Self(whole.saturating_add(rest))
    }

    /// What a poster pays to fund a run: the reward plus [`Self::fee_for`], or `None` on overflow.
    pub fn checked_total_with_fee(self, bps: u16) -> Option<Self> {
        self.checked_add(self.fee_for(bps))
    }
}

impl FromStr for Usdc {
    type Err = AmountError;

    /// Parses whole USDC with up to 6 decimals: `"100"`, `"12.5"`, `"0.000001"`.
    ///
    /// Rejected: the empty string, a sign, whitespace, exponents, a leading or trailing bare `.`,
    /// more than 6 decimal places (even trailing zeros: the input should say what it means), and
    /// anything above `uint256` base units.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(AmountError::Empty);
        }
        if s.starts_with('-') {
            return Err(AmountError::Negative(s.to_owned()));
        }
        let (int, frac) = match s.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (s, None),
        };
        check_digits(int, s)?;
        let frac = match frac {
            Some(frac) => {
                check_digits(frac, s)?;
                if frac.len() > usize::from(Self::DECIMALS) {
                    return Err(AmountError::TooPrecise {
                        input: s.to_owned(),
                        decimals: frac.len(),
                    });
                }
                // At most 6 digits, so this fits; pad to exactly 6 (".5" is 500_000 base units).
                let digits: u64 = frac.parse().map_err(|_| AmountError::Invalid(s.to_owned()))?;
                digits * 10u64.pow(u32::from(Self::DECIMALS) - frac.len() as u32)
            }
            None => 0,
        };
        let overflow = || AmountError::Overflow(s.to_owned());
        parse_digits(int, s)?
            .checked_mul(U256::from(UNIT))
            .and_then(|units| units.checked_add(U256::from(frac)))
            .map(Self)
            .ok_or_else(overflow)
    }
}

impl fmt::Display for Usdc {
    /// Whole USDC with only the decimals needed: `"20"`, `"12.5"`, `"0.000001"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = U256::from(UNIT);
        let (int, frac) = (self.0 / unit, self.0 % unit);
        if frac.is_zero() {
            return write!(f, "{int}");
        }
        let frac = format!("{:06}", frac.to::<u64>());
        write!(f, "{int}.{}", frac.trim_end_matches('0'))
    }
}

impl From<U256> for Usdc {
    fn from(units: U256) -> Self {
        Self(units)
    }
}

impl From<u64> for Usdc {
    /// From base units.
    fn from(units: u64) -> Self {
        Self(U256::from(units))
    }
}

impl From<u128> for Usdc {
    /// From base units.
    fn from(units: u128) -> Self {
        Self(U256::from(units))
    }
}

impl From<Usdc> for U256 {
    fn from(amount: Usdc) -> Self {
        amount.0
    }
}

impl Serialize for Usdc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Usdc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BaseUnits;

        impl de::Visitor<'_> for BaseUnits {
            type Value = Usdc;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string or integer of USDC base units")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Usdc, E> {
                Usdc::from_base_units_str(v).map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Usdc, E> {
                Ok(Usdc::from(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Usdc, E> {
                u64::try_from(v)
                    .map(Usdc::from)
                    .map_err(|_| E::custom(AmountError::Negative(v.to_string())))
            }
        }

        deserializer.deserialize_any(BaseUnits)
    }
}

/// Checks that `part` of `input` is one or more ASCII digits.
fn check_digits(part: &str, input: &str) -> Result<(), AmountError> {
    if input.is_empty() {
        return Err(AmountError::Empty);
    }
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AmountError::Invalid(input.to_owned()));
    }
    Ok(())
}

/// Parses ASCII digits (already checked) into a `U256`; the only possible failure is overflow.
fn parse_digits(digits: &str, input: &str) -> Result<U256, AmountError> {
    U256::from_str_radix(digits, 10).map_err(|_| AmountError::Overflow(input.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usdc(s: &str) -> Usdc {
        s.parse().unwrap()
    }

    #[test]
    fn parses_decimal_usdc_exactly() {
        for (input, base_units) in [
            ("12.5", 12_500_000u64),
            ("100", 100_000_000),
            ("0.000001", 1),
            ("0", 0),
            ("20.000000", 20_000_000),
            ("007.25", 7_250_000),
            ("1.123456", 1_123_456),
        ] {
            assert_eq!(usdc(input), Usdc::from(base_units), "{input}");
        }
    }

    #[test]
    fn parses_the_largest_amount() {
        let max = U256::MAX / U256::from(UNIT) * U256::from(UNIT);
        let text = (U256::MAX / U256::from(UNIT)).to_string();
        assert_eq!(usdc(&text).base_units(), max);
        assert_eq!(Usdc::from_base_units(max).to_string(), text);
    }

    #[test]
    fn rejects_malformed_amounts_naming_the_problem() {
        let too_big = format!("{}0", U256::MAX);
        let cases: [(&str, AmountError); 14] = [
            ("", AmountError::Empty),
            ("-1", AmountError::Negative("-1".into())),
            ("-0.5", AmountError::Negative("-0.5".into())),
            ("abc", AmountError::Invalid("abc".into())),
            ("+1", AmountError::Invalid("+1".into())),
            (" 1", AmountError::Invalid(" 1".into())),
            ("1 ", AmountError::Invalid("1 ".into())),
            ("1e6", AmountError::Invalid("1e6".into())),
            (".5", AmountError::Invalid(".5".into())),
            ("5.", AmountError::Invalid("5.".into())),
            ("1.2.3", AmountError::Invalid("1.2.3".into())),
            ("1_000", AmountError::Invalid("1_000".into())),
            ("1.0000001", AmountError::TooPrecise { input: "1.0000001".into(), decimals: 7 }),
            (&too_big, AmountError::Overflow(too_big.clone())),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<Usdc>().unwrap_err(), expected, "{input:?}");
        }
        // Fits in U256 as whole USDC digits, but not once scaled to base units.
        let scaled_too_big = U256::MAX.to_string();
        assert_eq!(
            scaled_too_big.parse::<Usdc>().unwrap_err(),
            AmountError::Overflow(scaled_too_big.clone())
        );
        assert_eq!(
            "1.0000001".parse::<Usdc>().unwrap_err().to_string(),
            r#"amount "1.0000001" has 7 decimal places, USDC has at most 6"#
        );
    }

    #[test]
    fn displays_with_only_the_needed_decimals() {
        for (base_units, text) in [
            (12_500_000u64, "12.5"),
            (1, "0.000001"),
            (20_000_000, "20"),
            (0, "0"),
            (1_000_010, "1.00001"),
            (123_456_789, "123.456789"),
        ] {
            assert_eq!(Usdc::from(base_units).to_string(), text);
            assert_eq!(usdc(text), Usdc::from(base_units), "round trip {text}");
        }
    }

    #[test]
    fn fee_rounds_down_like_the_contract() {
        assert_eq!(Usdc::whole(100).fee_for(500), Usdc::whole(5));
        assert_eq!(Usdc::from(19u64).fee_for(500), Usdc::ZERO); // 0.95 base units
        assert_eq!(Usdc::from(12_345_679u64).fee_for(250), Usdc::from(308_641u64)); // 308_641.975
        assert_eq!(Usdc::whole(7).fee_for(0), Usdc::ZERO);
        assert_eq!(Usdc::whole(7).fee_for(10_000), Usdc::whole(7));
        // Matches the naive formula wherever the naive formula does not overflow.
        for units in [0u64, 1, 9_999, 10_000, 10_001, 123_456_789, u64::MAX] {
            for bps in [0u16, 1, 333, 500, 1_000, 9_999, 10_000] {
                let naive = U256::from(units) * U256::from(bps) / U256::from(10_000);
                assert_eq!(Usdc::from(units).fee_for(bps).base_units(), naive, "{units} @ {bps}");
            }
        }
        // The split form cannot overflow even on the largest reward.
        let max = Usdc::from_base_units(U256::MAX);
        assert_eq!(max.fee_for(10_000), max);
        assert_eq!(Usdc::whole(20).checked_total_with_fee(500), Some(Usdc::whole(21)));
        assert_eq!(max.checked_total_with_fee(1), None);
    }

    #[test]
    fn checked_arithmetic() {
        let (a, b) = (Usdc::whole(3), Usdc::whole(2));
        assert_eq!(a.checked_add(b), Some(Usdc::whole(5)));
        assert_eq!(b.checked_sub(a), None);
        assert_eq!(b.saturating_sub(a), Usdc::ZERO);
        assert_eq!(a.min(b), b);
        assert_eq!(Usdc::from_base_units(U256::MAX).checked_add(Usdc::from(1u64)), None);
    }

    #[test]
    fn serializes_as_a_string_of_base_units() {
        assert_eq!(serde_json::to_string(&Usdc::whole(20)).unwrap(), r#""20000000""#);
        assert_eq!(serde_json::from_str::<Usdc>(r#""12500000""#).unwrap(), usdc("12.5"));
        assert_eq!(serde_json::from_str::<Usdc>("12500000").unwrap(), usdc("12.5"));
        for bad in [r#""12.5""#, r#""""#, r#""-1""#, "-1", "1.5", "null"] {
            assert!(serde_json::from_str::<Usdc>(bad).is_err(), "{bad}");
        }
        assert_eq!(Usdc::from_base_units_str("1").unwrap(), Usdc::from(1u64));
    }
}
