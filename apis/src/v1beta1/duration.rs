//! Go `time.Duration` text, as `metav1.Duration` fields (`holdTime`, `keepaliveTime`,
//! `connectTime`) carry it.
//!
//! MetalLB's BGPPeer conversion decodes these strings with Go's `time.ParseDuration` and
//! re-encodes them with `Duration.String`, so `"90s"` becomes `"1m30s"`. [`GoDuration`]
//! reproduces both directions exactly, including Go's overflow errors, so conversions and
//! the configuration parser agree with MetalLB on every input.

use std::fmt;

use thiserror::Error;

const NANOSECOND: u64 = 1;
const MICROSECOND: u64 = 1_000 * NANOSECOND;
const MILLISECOND: u64 = 1_000 * MICROSECOND;
const SECOND: u64 = 1_000 * MILLISECOND;
const MINUTE: u64 = 60 * SECOND;
const HOUR: u64 = 60 * MINUTE;
/// 1<<63: the magnitude of Go's most negative duration.
const LIMIT: u64 = 1 << 63;

/// A signed duration in nanoseconds with Go's text syntax (`1h2m3.5s`, `300ms`, `-2µs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GoDuration {
    nanos: i64,
}

/// Why a duration string was rejected (the wording follows Go's errors).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GoDurationError {
    /// Not of the form `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or out of range.
    #[error("invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit, such as `90`.
    #[error("missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit other than ns, us, µs, ms, s, m, h.
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit {
        /// The offending unit.
        unit: String,
        /// The whole input.
        input: String,
    },
}

impl GoDuration {
    /// The zero duration, written `0s`.
    pub const ZERO: GoDuration = GoDuration { nanos: 0 };

    /// A duration of `nanos` nanoseconds.
    pub const fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// A duration of `secs` whole seconds (saturating at Go's range).
    pub const fn from_secs(secs: i64) -> Self {
        Self {
            nanos: secs.saturating_mul(SECOND as i64),
        }
    }

    /// The duration in nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.nanos
    }

    /// Whole seconds, truncated toward zero (Go's `Duration.Seconds` without the fraction).
    pub const fn whole_seconds(self) -> i64 {
        self.nanos / SECOND as i64
    }

    /// Whether the duration is below zero.
    pub const fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// Parses Go duration text exactly as Go's `time.ParseDuration` does.
    pub fn parse(input: &str) -> Result<Self, GoDurationError> {
        let invalid = || GoDurationError::Invalid(input.to_owned());
        let mut s = input.as_bytes();
        let mut neg = false;
        if let Some(&c) = s.first()
            && (c == b'-' || c == b'+')
        {
            neg = c == b'-';
            s = &s[1..];
        }
        if s == b"0" {
            return Ok(Self::ZERO);
        }
        if s.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !s.is_empty() {
            if !(s[0] == b'.' || s[0].is_ascii_digit()) {
                return Err(invalid());
            }
            let before = s.len();
            let (mut value, rest) = leading_int(s).ok_or_else(invalid)?;
            s = rest;
            let pre = before != s.len();
            let mut post = false;
            let (mut frac, mut scale) = (0_u64, 1_f64);
            if s.first() == Some(&b'.') {
                s = &s[1..];
                let before = s.len();
                let (f, sc, rest) = leading_fraction(s);
                frac = f;
                scale = sc;
                s = rest;
                post = before != s.len();
            }
            if !pre && !post {
                return Err(invalid());
            }
            let unit_len = s
                .iter()
                .position(|&c| c == b'.' || c.is_ascii_digit())
                .unwrap_or(s.len());
            if unit_len == 0 {
                return Err(GoDurationError::MissingUnit(input.to_owned()));
            }
            let (unit_text, rest) = s.split_at(unit_len);
            s = rest;
            let unit = unit_value(unit_text).ok_or_else(|| GoDurationError::UnknownUnit {
                unit: String::from_utf8_lossy(unit_text).into_owned(),
                input: input.to_owned(),
            })?;
            if value > LIMIT / unit {
                return Err(invalid());
            }
            value *= unit;
            if frac > 0 {
                // Go computes the fractional part in float64 (exact to the nanosecond for
                // hours); the cast truncates like Go's uint64 conversion.
                value += (frac as f64 * (unit as f64 / scale)) as u64;
                if value > LIMIT {
                    return Err(invalid());
                }
            }
            // Both are at most 1<<63, so only 1<<63 + 1<<63 can overflow; Go's uint64
            // addition wraps to 0 there, and so does this.
            total = total.wrapping_add(value);
            if total > LIMIT {
                return Err(invalid());
            }
        }
        if neg {
            // total <= 1<<63, so the negation fits (1<<63 is i64::MIN).
            return Ok(Self {
                nanos: (total as i64).wrapping_neg(),
            });
        }
        if total > LIMIT - 1 {
            return Err(invalid());
        }
        Ok(Self {
            nanos: total as i64,
        })
    }
}

impl std::str::FromStr for GoDuration {
    type Err = GoDurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Consumes leading ASCII digits; `None` on overflow past 1<<63 (Go's `errLeadingInt`).
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > LIMIT {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Consumes leading fraction digits, keeping precision until it would overflow.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1_f64;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            if x > (LIMIT - 1) / 10 {
                overflow = true;
            } else {
                let y = x * 10 + u64::from(s[i] - b'0');
                if y > LIMIT {
                    overflow = true;
                } else {
                    x = y;
                    scale *= 10.0;
                }
            }
        }
        i += 1;
    }
    (x, scale, &s[i..])
}

fn unit_value(unit: &[u8]) -> Option<u64> {
    match unit {
        b"ns" => Some(NANOSECOND),
        // "µs" is U+00B5 (micro sign), "μs" is U+03BC (Greek mu); Go accepts both.
        b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => Some(MICROSECOND),
        b"ms" => Some(MILLISECOND),
        b"s" => Some(SECOND),
        b"m" => Some(MINUTE),
        b"h" => Some(HOUR),
        _ => None,
    }
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String`: `1h2m3.5s`, `1m30s`, `300ms`, `1.5µs`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.nanos < 0;
        let mut u = self.nanos.unsigned_abs();
        let mut out = String::new();
        if u < SECOND {
            let (prec, unit) = match u {
                0 => return f.write_str("0s"),
                u if u < MICROSECOND => (0, "ns"),
                u if u < MILLISECOND => (3, "\u{b5}s"),
                _ => (6, "ms"),
            };
            let frac = fraction(&mut u, prec);
            out.push_str(&u.to_string());
            out.push_str(&frac);
            out.push_str(unit);
        } else {
            let frac = fraction(&mut u, 9);
            // u is now whole seconds.
            let secs = u % 60;
            let minutes_total = u / 60;
            if minutes_total > 0 {
                let hours = minutes_total / 60;
                if hours > 0 {
                    out.push_str(&format!("{hours}h"));
                }
                out.push_str(&format!("{}m", minutes_total % 60));
            }
            out.push_str(&format!("{secs}{frac}s"));
        }
        if neg {
            f.write_str("-")?;
        }
        f.write_str(&out)
    }
}

/// Splits `prec` decimal digits off `v` (Go's `fmtFrac`): returns `.ddd` without trailing
/// zeros (empty when they are all zero) and leaves the integer part in `v`.
fn fraction(v: &mut u64, prec: u32) -> String {
    let mut digits = Vec::new();
    let mut print = false;
    for _ in 0..prec {
        let digit = *v % 10;
        print = print || digit != 0;
        if print {
            digits.push(char::from(b'0' + digit as u8));
        }
        *v /= 10;
    }
    if digits.is_empty() {
        return String::new();
    }
    digits.push('.');
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go() {
        let ok: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("0s", 0),
            ("90s", 90 * SECOND as i64),
            ("1m30s", 90 * SECOND as i64),
            ("1.5h", 90 * MINUTE as i64),
            ("300ms", 300 * MILLISECOND as i64),
            ("1\u{b5}s", 1_000),
            ("1\u{3bc}s", 1_000),
            ("1us", 1_000),
            ("-1.5s", -1_500_000_000),
            (".5s", 500_000_000),
            ("5.s", 5 * SECOND as i64),
            ("1h1m1s1ms1us1ns", 3_661_001_001_001),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("2562047h47m16.854775807s", i64::MAX),
            ("0.3333333333333333333h", 1_200_000_000_000),
        ];
        for (text, nanos) in ok {
            assert_eq!(
                GoDuration::parse(text).map(|d| d.as_nanos()),
                Ok(*nanos),
                "{text}"
            );
        }
        let bad = [
            "",
            "-",
            "+",
            "s",
            ".s",
            "-.s",
            "90",
            "1.5",
            "3x",
            "1d",
            "1s2",
            "9223372036854775808ns",
            "2562048h",
            "99999999999999999999s",
            " 1s",
            "1s ",
            "1e3s",
            "0x10s",
        ];
        for text in bad {
            assert!(
                GoDuration::parse(text).is_err(),
                "{text:?} must be rejected"
            );
        }
        assert!(matches!(
            GoDuration::parse("90"),
            Err(GoDurationError::MissingUnit(_))
        ));
        assert!(matches!(
            GoDuration::parse("1d"),
            Err(GoDurationError::UnknownUnit { ref unit, .. }) if unit == "d"
        ));
    }

    #[test]
    fn formats_like_go() {
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1\u{b5}s"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (90 * SECOND as i64, "1m30s"),
            (180 * SECOND as i64, "3m0s"),
            (3_600 * SECOND as i64, "1h0m0s"),
            (4 * MINUTE as i64 + 5 * SECOND as i64, "4m5s"),
            (-(90 * SECOND as i64), "-1m30s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(GoDuration::from_nanos(*nanos).to_string(), *text);
        }
    }

    proptest::proptest! {
        /// Go's text form of every duration parses back to the same duration.
        #[test]
        fn every_duration_round_trips(nanos in proptest::num::i64::ANY) {
            let d = GoDuration::from_nanos(nanos);
            proptest::prop_assert_eq!(GoDuration::parse(&d.to_string()), Ok(d));
        }

        /// Arbitrary text is answered with a value or an error, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "[-+0-9.a-z\\u{b5}\\u{3bc} ]{0,24}") {
            let _ = GoDuration::parse(&text);
        }
    }

    #[test]
    fn text_round_trips_through_canonical_form() {
        for text in [
            "90s",
            "1m30s",
            "0",
            "250ms",
            "1.5h",
            "-3s",
            "1h1m1.000000001s",
        ] {
            let parsed = GoDuration::parse(text).unwrap();
            let canonical = parsed.to_string();
            assert_eq!(GoDuration::parse(&canonical).unwrap(), parsed, "{text}");
        }
    }
}
