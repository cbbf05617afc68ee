//! The `BFDProfile` parameters (metallb.io/v1beta1), with MetalLB's defaults and CRD ranges.
//!
//! ```text
//!  BFDProfile.spec ──(lodestone_apis::config, later a From impl)──► Profile ──► Session timers
//! ```
//!
//! | field            | default | range      | unit |
//! |------------------|---------|------------|------|
//! | receiveInterval  | 300     | 10..=60000 | ms   |
//! | transmitInterval | 300     | 10..=60000 | ms   |
//! | detectMultiplier | 3       | 2..=255    |      |
//! | echoMode         | false   |            |      |
//! | echoInterval     | 50      | 10..=60000 | ms   |
//! | passiveMode      | false   |            |      |
//! | minimumTtl       | 254     | 1..=254    | hops (multihop only) |

use std::time::Duration;
use thiserror::Error;

/// Validated session parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Required Min RX Interval: the fastest rate we accept packets at.
    pub receive_interval: Duration,
    /// Desired Min TX Interval once Up.
    pub transmit_interval: Duration,
    pub detect_multiplier: u8,
    /// Send our own (FRR-format) echo packets when the peer loops them.
    pub echo_mode: bool,
    /// Echo transmit interval, and the Required Min Echo RX we advertise when echo is on.
    pub echo_interval: Duration,
    /// Do not transmit until the peer's first packet.
    pub passive_mode: bool,
    /// Lowest TTL accepted on multihop sessions.
    pub minimum_ttl: u8,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            receive_interval: Duration::from_millis(300),
            transmit_interval: Duration::from_millis(300),
            detect_multiplier: 3,
            echo_mode: false,
            echo_interval: Duration::from_millis(50),
            passive_mode: false,
            minimum_ttl: 254,
        }
    }
}

/// A profile value outside MetalLB's CRD range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProfileError {
    #[error("{field} {value} out of range {min}..={max}")]
    OutOfRange {
        field: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
}

/// The raw optional fields of a `BFDProfile.spec`, milliseconds as in the CRD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSpec {
    pub receive_interval: Option<u32>,
    pub transmit_interval: Option<u32>,
    pub detect_multiplier: Option<u32>,
    pub echo_mode: Option<bool>,
    pub echo_interval: Option<u32>,
    pub passive_mode: Option<bool>,
    pub minimum_ttl: Option<u32>,
}

fn ranged(
    field: &'static str,
    value: Option<u32>,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ProfileError> {
    let v = value.unwrap_or(default);
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(ProfileError::OutOfRange {
            field,
            value: u64::from(v),
            min: u64::from(min),
            max: u64::from(max),
        })
    }
}

impl Profile {
    /// Apply MetalLB's defaults and ranges to a spec.
    pub fn from_spec(spec: &ProfileSpec) -> Result<Profile, ProfileError> {
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let rx = ranged("receiveInterval", spec.receive_interval, 300, 10, 60_000)?;
        let tx = ranged("transmitInterval", spec.transmit_interval, 300, 10, 60_000)?;
        let mult = ranged("detectMultiplier", spec.detect_multiplier, 3, 2, 255)?;
        let echo = ranged("echoInterval", spec.echo_interval, 50, 10, 60_000)?;
        let ttl = ranged("minimumTtl", spec.minimum_ttl, 254, 1, 254)?;
        Ok(Profile {
            receive_interval: ms(rx),
            transmit_interval: ms(tx),
            detect_multiplier: u8::try_from(mult).unwrap_or(u8::MAX),
            echo_mode: spec.echo_mode.unwrap_or(false),
            echo_interval: ms(echo),
            passive_mode: spec.passive_mode.unwrap_or(false),
            minimum_ttl: u8::try_from(ttl).unwrap_or(254),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_metallb() {
        assert_eq!(
            Profile::from_spec(&ProfileSpec::default()),
            Ok(Profile::default())
        );
        let p = Profile::default();
        assert_eq!(p.receive_interval, Duration::from_millis(300));
        assert_eq!(p.transmit_interval, Duration::from_millis(300));
        assert_eq!(p.detect_multiplier, 3);
        assert_eq!(p.echo_interval, Duration::from_millis(50));
        assert_eq!(p.minimum_ttl, 254);
        assert!(!p.echo_mode && !p.passive_mode);
    }

    #[test]
    fn ranges() {
        let bad = [
            ProfileSpec {
                receive_interval: Some(9),
                ..Default::default()
            },
            ProfileSpec {
                transmit_interval: Some(60_001),
                ..Default::default()
            },
            ProfileSpec {
                detect_multiplier: Some(1),
                ..Default::default()
            },
            ProfileSpec {
                detect_multiplier: Some(256),
                ..Default::default()
            },
            ProfileSpec {
                echo_interval: Some(5),
                ..Default::default()
            },
            ProfileSpec {
                minimum_ttl: Some(0),
                ..Default::default()
            },
            ProfileSpec {
                minimum_ttl: Some(255),
                ..Default::default()
            },
        ];
        for spec in bad {
            assert!(Profile::from_spec(&spec).is_err(), "{spec:?}");
        }
        let edge = ProfileSpec {
            receive_interval: Some(10),
            transmit_interval: Some(60_000),
            detect_multiplier: Some(255),
            echo_mode: Some(true),
            echo_interval: Some(10),
            passive_mode: Some(true),
            minimum_ttl: Some(1),
        };
        let p = Profile::from_spec(&edge).expect("edges are in range");
        assert_eq!(p.detect_multiplier, 255);
        assert_eq!(p.minimum_ttl, 1);
        assert!(p.echo_mode && p.passive_mode);
    }
}
