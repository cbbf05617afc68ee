//! Golden-file scenarios: `tests/golden/NAME.events` (inputs on a virtual clock) → the session's
//! outputs, compared with `tests/golden/NAME.expected`. `LODESTONE_BFD_REGEN=1` rewrites the
//! expected files (review the diff).
//!
//! Input lines: `@MS start`, `@MS timer transmit|detection|echo-transmit|echo-detection`,
//! `@MS rx STATE my=N your=N tx=US rx=US [echo=US] [mult=N] [P] [F]`,
//! `@MS profile tx=MS rx=MS [mult=N] [echo=MS] [passive]`, `@MS admin-down`, `@MS admin-up`,
//! `@MS echo-returned`. Jitter comes from a fixed random value (`# random N`, default 0).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use lodestone_bfd::packet::{ControlPacket, Diagnostic, State};
use lodestone_bfd::profile::Profile;
use lodestone_bfd::session::{Input, Output, RandomSource, Session, TimerKind};

struct Fixed(u32);
impl RandomSource for Fixed {
    fn next_u32(&mut self) -> u32 {
        self.0
    }
}

fn kv(words: &[&str], key: &str) -> Option<u32> {
    words.iter().find_map(|w| {
        w.strip_prefix(key)
            .and_then(|v| v.strip_prefix('='))
            .and_then(|v| v.parse().ok())
    })
}

fn state(s: &str) -> State {
    match s {
        "admin-down" => State::AdminDown,
        "down" => State::Down,
        "init" => State::Init,
        "up" => State::Up,
        other => panic!("unknown state {other}"),
    }
}

fn timer(s: &str) -> TimerKind {
    match s {
        "transmit" => TimerKind::Transmit,
        "detection" => TimerKind::Detection,
        "echo-transmit" => TimerKind::EchoTransmit,
        "echo-detection" => TimerKind::EchoDetection,
        other => panic!("unknown timer {other}"),
    }
}

fn timer_name(k: TimerKind) -> &'static str {
    match k {
        TimerKind::Transmit => "transmit",
        TimerKind::Detection => "detection",
        TimerKind::EchoTransmit => "echo-transmit",
        TimerKind::EchoDetection => "echo-detection",
    }
}

fn profile(words: &[&str]) -> Profile {
    let ms = |v: u32| Duration::from_millis(u64::from(v));
    Profile {
        transmit_interval: ms(kv(words, "tx").unwrap_or(300)),
        receive_interval: ms(kv(words, "rx").unwrap_or(300)),
        detect_multiplier: kv(words, "mult").unwrap_or(3) as u8,
        echo_mode: kv(words, "echo").is_some(),
        echo_interval: ms(kv(words, "echo").unwrap_or(50)),
        passive_mode: words.contains(&"passive"),
        minimum_ttl: 254,
    }
}

fn packet(p: &ControlPacket) -> String {
    let mut s = format!(
        "{} diag={:?} my={} your={} tx={} rx={} echo={} mult={}",
        p.state,
        p.diagnostic,
        p.my_discriminator,
        p.your_discriminator,
        p.desired_min_tx_us,
        p.required_min_rx_us,
        p.required_min_echo_rx_us,
        p.detect_mult
    );
    if p.poll {
        s.push_str(" P");
    }
    if p.final_ {
        s.push_str(" F");
    }
    s
}

fn run(events: &str) -> String {
    let t0 = Instant::now();
    let random = events
        .lines()
        .find_map(|l| l.strip_prefix("# random "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut session: Option<Session> = None;
    let mut out = String::new();
    for line in events
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let at_ms: u64 = words[0]
            .strip_prefix('@')
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("bad time in {line}"));
        let now = t0 + Duration::from_millis(at_ms);
        let s = session
            .get_or_insert_with(|| Session::new(1, Profile::default(), Box::new(Fixed(random))));
        let outputs = match words[1] {
            "session" => {
                *s = Session::new(1, profile(&words[2..]), Box::new(Fixed(random)));
                Vec::new()
            }
            "start" => s.start(now),
            "timer" => s.process(now, Input::TimerExpired(timer(words[2]))),
            "rx" => s.process(
                now,
                Input::Control(ControlPacket {
                    diagnostic: Diagnostic::None,
                    state: state(words[2]),
                    poll: words.contains(&"P"),
                    final_: words.contains(&"F"),
                    control_plane_independent: false,
                    demand: false,
                    detect_mult: kv(&words, "mult").unwrap_or(3) as u8,
                    my_discriminator: kv(&words, "my").unwrap_or(0),
                    your_discriminator: kv(&words, "your").unwrap_or(0),
                    desired_min_tx_us: kv(&words, "tx").unwrap_or(1_000_000),
                    required_min_rx_us: kv(&words, "rx").unwrap_or(1_000_000),
                    required_min_echo_rx_us: kv(&words, "echo").unwrap_or(0),
                    auth: None,
                }),
            ),
            "profile" => s.process(now, Input::SetProfile(profile(&words[2..]))),
            "admin-down" => s.process(now, Input::AdminDown),
            "admin-up" => s.process(now, Input::AdminUp),
            "echo-returned" => s.process(now, Input::EchoReturned),
            other => panic!("unknown input {other}"),
        };
        let _ = writeln!(out, "{line}");
        for o in outputs {
            let rel = |at: Instant| (at - t0).as_millis();
            let _ = match o {
                Output::Send(p) => writeln!(out, "  -> send {}", packet(&p)),
                Output::SendEcho(e) => writeln!(out, "  -> echo my={}", e.my_discriminator),
                Output::ArmTimer(k, at) => writeln!(out, "  -> arm {} @{}", timer_name(k), rel(at)),
                Output::CancelTimer(k) => writeln!(out, "  -> cancel {}", timer_name(k)),
                Output::StateChanged {
                    from,
                    to,
                    diagnostic,
                } => writeln!(out, "  -> state {from} -> {to} ({diagnostic:?})"),
            };
        }
    }
    out
}

#[test]
fn golden_scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let regen = std::env::var("LODESTONE_BFD_REGEN").as_deref() == Ok("1");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "events"))
    {
        let events = std::fs::read_to_string(&path).expect("read events");
        let got = run(&events);
        let expected_path = path.with_extension("expected");
        if regen {
            std::fs::write(&expected_path, &got).expect("write expected");
        } else {
            let want = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| {
                panic!("{expected_path:?}: {e} (LODESTONE_BFD_REGEN=1 creates it)")
            });
            assert_eq!(
                got, want,
                "scenario {path:?} differs (LODESTONE_BFD_REGEN=1 to accept)"
            );
        }
        seen += 1;
    }
    assert!(seen >= 3, "expected golden scenarios in {dir:?}");
}
