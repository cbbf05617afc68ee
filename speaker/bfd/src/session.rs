//! The RFC 5880 session state machine, sans IO.
//!
//! ```text
//!            ┌────────── Down ◄─────────────┐ detection timeout / peer Down / AdminDown
//!  recv Down │             │ recv Init      │
//!            ▼             ▼                │
//!          Init ──recv Init/Up──► Up ───────┘
//! ```
//!
//! [`Session::process`] takes `now` and one [`Input`] and returns [`Output`]s: packets to send,
//! timers to (re)arm or cancel, and state changes. It owns no socket and reads no clock; the
//! random source for transmit jitter is injected ([`RandomSource`]).
//!
//! Timing (RFC 5880 §6.8.2–6.8.4, §6.8.7):
//! - Desired Min TX is at least 1 s while not Up; reaching Up starts a Poll sequence to the
//!   profile's rate. Every change of Desired Min TX or Required Min RX starts a Poll sequence;
//!   an increased TX interval and a reduced RX interval take effect only on the Final.
//! - Transmit interval = max(our Desired Min TX, remote Required Min RX), reduced by a random
//!   0–25 % (10–25 % with detect multiplier 1).
//! - Detection time = remote multiplier × max(our Required Min RX, remote Desired Min TX). On
//!   expiry the session goes Down and forgets the remote discriminator.

use std::time::{Duration, Instant};

use crate::echo::EchoPacket;
use crate::packet::{ControlPacket, Diagnostic, State};
use crate::profile::Profile;

/// Transmission interval while the session is not Up (RFC 5880 §6.8.3).
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// Source of randomness for jitter. Injected so that tests are deterministic.
pub trait RandomSource: Send {
    fn next_u32(&mut self) -> u32;
}

/// A small xorshift generator; jitter needs spread, not secrecy.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }
}

impl RandomSource for XorShift {
    fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 32) as u32
    }
}

/// The timers a session asks its driver to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    Transmit,
    Detection,
    EchoTransmit,
    EchoDetection,
}

/// What happens to a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A decoded control packet addressed to this session (TTL already checked).
    Control(ControlPacket),
    /// One of our echo packets came back.
    EchoReturned,
    TimerExpired(TimerKind),
    /// New parameters (a BFDProfile change).
    SetProfile(Profile),
    /// Administratively disable the session (sent to the peer as AdminDown).
    AdminDown,
    /// Leave AdminDown.
    AdminUp,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send(ControlPacket),
    SendEcho(EchoPacket),
    ArmTimer(TimerKind, Instant),
    CancelTimer(TimerKind),
    StateChanged {
        from: State,
        to: State,
        diagnostic: Diagnostic,
    },
}

/// Why a packet that reached a session was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Your Discriminator is set and is not ours.
    DiscriminatorMismatch,
    /// The A bit is set; we configure no authentication (RFC 5880 §6.8.6).
    AuthenticationNotConfigured,
    /// We are AdminDown.
    LocalAdminDown,
}

impl Ignored {
    pub fn metric_label(self) -> &'static str {
        match self {
            Ignored::DiscriminatorMismatch => "discriminator_mismatch",
            Ignored::AuthenticationNotConfigured => "auth_not_configured",
            Ignored::LocalAdminDown => "local_admin_down",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Poll {
    Idle,
    Active,
    /// Parameters changed again while a Poll was outstanding: poll once more after the Final.
    ActiveThenAgain,
}

/// One BFD session.
pub struct Session {
    profile: Profile,
    state: State,
    remote_state: State,
    local_discr: u32,
    remote_discr: u32,
    local_diag: Diagnostic,
    // What we advertise.
    adv_tx: Duration,
    adv_rx: Duration,
    // What is in effect for our transmit interval and for the detection time.
    eff_tx: Duration,
    eff_rx: Duration,
    remote_min_rx: Duration,
    remote_desired_tx: Duration,
    remote_min_echo_rx: Duration,
    remote_mult: u8,
    poll: Poll,
    /// Transmitting is allowed (false for a passive session until the peer speaks).
    transmitting: bool,
    echo_active: bool,
    echo_seq: u64,
    last_ignored: Option<Ignored>,
    random: Box<dyn RandomSource>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state)
            .field("local_discr", &self.local_discr)
            .field("remote_discr", &self.remote_discr)
            .field("adv_tx", &self.adv_tx)
            .field("adv_rx", &self.adv_rx)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn from_us(v: u32) -> Duration {
    Duration::from_micros(u64::from(v))
}

impl Session {
    /// A new session in Down. `local_discr` must be non-zero and unique on this system.
    pub fn new(local_discr: u32, profile: Profile, random: Box<dyn RandomSource>) -> Session {
        let tx = profile.transmit_interval.max(SLOW_TX);
        Session {
            profile,
            state: State::Down,
            remote_state: State::Down,
            local_discr,
            remote_discr: 0,
            local_diag: Diagnostic::None,
            adv_tx: tx,
            adv_rx: profile.receive_interval,
            eff_tx: tx,
            eff_rx: profile.receive_interval,
            // RFC 5880 §6.8.1: bfd.RemoteMinRxInterval starts at 1 (µs).
            remote_min_rx: Duration::from_micros(1),
            remote_desired_tx: Duration::ZERO,
            remote_min_echo_rx: Duration::ZERO,
            remote_mult: 0,
            poll: Poll::Idle,
            transmitting: !profile.passive_mode,
            echo_active: false,
            echo_seq: 0,
            last_ignored: None,
            random,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }
    pub fn diagnostic(&self) -> Diagnostic {
        self.local_diag
    }
    pub fn profile(&self) -> &Profile {
        &self.profile
    }
    /// Why the last packet given to [`Session::process`] was ignored, if it was.
    pub fn last_ignored(&self) -> Option<Ignored> {
        self.last_ignored
    }
    pub fn echo_active(&self) -> bool {
        self.echo_active
    }

    /// Detection time in effect (zero until a packet was received).
    pub fn detection_time(&self) -> Duration {
        self.eff_rx.max(self.remote_desired_tx) * u32::from(self.remote_mult)
    }

    /// Base transmit interval before jitter.
    pub fn transmit_interval(&self) -> Duration {
        self.eff_tx.max(self.remote_min_rx)
    }

    /// Arm the first transmission (nothing for a passive session).
    pub fn start(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        if self.transmitting {
            // First packet soon (jittered within one slow interval would delay Up by up to 1 s).
            out.push(Output::ArmTimer(TimerKind::Transmit, now));
        }
        out
    }

    /// Feed one input.
    pub fn process(&mut self, now: Instant, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        self.last_ignored = None;
        match input {
            Input::Control(p) => self.receive(now, p, &mut out),
            Input::TimerExpired(TimerKind::Transmit) => {
                if self.may_transmit() {
                    out.push(Output::Send(self.control(false)));
                    self.arm_transmit(now, &mut out);
                }
            }
            Input::TimerExpired(TimerKind::Detection) => self.detection_expired(now, &mut out),
            Input::TimerExpired(TimerKind::EchoTransmit) => {
                if self.echo_active {
                    self.echo_seq += 1;
                    out.push(Output::SendEcho(EchoPacket {
                        my_discriminator: self.local_discr,
                        sent_sec: self.echo_seq,
                        sent_usec: 0,
                    }));
                    out.push(Output::ArmTimer(
                        TimerKind::EchoTransmit,
                        now + self.echo_interval(),
                    ));
                }
            }
            Input::TimerExpired(TimerKind::EchoDetection) => {
                if self.echo_active && self.state == State::Up {
                    self.stop_echo(&mut out);
                    self.go(now, State::Down, Diagnostic::EchoFunctionFailed, &mut out);
                }
            }
            Input::EchoReturned => {
                if self.echo_active {
                    out.push(Output::ArmTimer(
                        TimerKind::EchoDetection,
                        now + self.echo_interval() * u32::from(self.remote_mult.max(1)),
                    ));
                }
            }
            Input::SetProfile(p) => {
                self.profile = p;
                if p.passive_mode && self.remote_discr == 0 {
                    self.transmitting = false;
                } else if !self.transmitting {
                    self.transmitting = true;
                    out.push(Output::ArmTimer(TimerKind::Transmit, now));
                }
                self.retime();
                self.update_echo(now, &mut out);
            }
            Input::AdminDown => {
                if self.state != State::AdminDown {
                    self.stop_echo(&mut out);
                    self.go(
                        now,
                        State::AdminDown,
                        Diagnostic::AdministrativelyDown,
                        &mut out,
                    );
                    out.push(Output::CancelTimer(TimerKind::Detection));
                }
            }
            Input::AdminUp => {
                if self.state == State::AdminDown {
                    self.go(now, State::Down, Diagnostic::None, &mut out);
                }
            }
        }
        out
    }

    fn may_transmit(&self) -> bool {
        // RFC 5880 §6.8.7: never when the peer asked for no packets (Required Min RX 0).
        self.transmitting && !(self.remote_min_rx.is_zero() && self.remote_discr != 0)
    }

    /// RFC 5880 §6.8.6, after the packet-only checks already done by `decode`.
    fn receive(&mut self, now: Instant, p: ControlPacket, out: &mut Vec<Output>) {
        if p.your_discriminator != 0 && p.your_discriminator != self.local_discr {
            self.last_ignored = Some(Ignored::DiscriminatorMismatch);
            return;
        }
        if p.auth.is_some() {
            self.last_ignored = Some(Ignored::AuthenticationNotConfigured);
            return;
        }
        if self.state == State::AdminDown {
            self.last_ignored = Some(Ignored::LocalAdminDown);
            return;
        }
        self.remote_discr = p.my_discriminator;
        self.remote_state = p.state;
        self.remote_min_rx = from_us(p.required_min_rx_us);
        self.remote_desired_tx = from_us(p.desired_min_tx_us);
        self.remote_min_echo_rx = from_us(p.required_min_echo_rx_us);
        self.remote_mult = p.detect_mult;

        if p.final_ && self.poll != Poll::Idle {
            self.finish_poll(now, out);
        }

        let was_transmitting = self.transmitting;
        self.transmitting = true;

        match (self.state, p.state) {
            (State::AdminDown, _) => {}
            (State::Down, State::AdminDown) | (State::Down, State::Up) => {}
            (_, State::AdminDown) => {
                self.go(
                    now,
                    State::Down,
                    Diagnostic::NeighborSignaledSessionDown,
                    out,
                );
            }
            (State::Down, State::Down) => self.go(now, State::Init, Diagnostic::None, out),
            (State::Down, State::Init) => self.go(now, State::Up, Diagnostic::None, out),
            (State::Init, State::Init | State::Up) => {
                self.go(now, State::Up, Diagnostic::None, out)
            }
            (State::Init, State::Down) => {}
            (State::Up, State::Down) => {
                self.go(
                    now,
                    State::Down,
                    Diagnostic::NeighborSignaledSessionDown,
                    out,
                );
            }
            (State::Up, State::Init | State::Up) => {}
        }

        if p.poll {
            // Answer at once, outside the transmit schedule (RFC 5880 §6.5).
            out.push(Output::Send(self.control(true)));
        }
        let armed = out
            .iter()
            .any(|o| matches!(o, Output::ArmTimer(TimerKind::Transmit, _)));
        if !was_transmitting && !armed {
            self.arm_transmit(now, out);
        }
        if self.remote_mult > 0 && self.state != State::AdminDown {
            out.push(Output::ArmTimer(
                TimerKind::Detection,
                now + self.detection_time(),
            ));
        }
        self.update_echo(now, out);
    }

    fn detection_expired(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.stop_echo(out);
        if matches!(self.state, State::Init | State::Up) {
            self.go(
                now,
                State::Down,
                Diagnostic::ControlDetectionTimeExpired,
                out,
            );
        }
        // RFC 5880 §6.8.1: forget the peer after a detection time without packets.
        self.remote_discr = 0;
        self.remote_state = State::Down;
        self.remote_min_rx = Duration::from_micros(1);
        self.remote_desired_tx = Duration::ZERO;
        self.remote_min_echo_rx = Duration::ZERO;
        self.remote_mult = 0;
        if self.profile.passive_mode {
            self.transmitting = false;
            out.push(Output::CancelTimer(TimerKind::Transmit));
        }
    }

    /// Change state, emit the change, send at once and re-time.
    fn go(&mut self, now: Instant, to: State, diagnostic: Diagnostic, out: &mut Vec<Output>) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.local_diag = diagnostic;
        out.push(Output::StateChanged {
            from,
            to,
            diagnostic,
        });
        if to != State::Up {
            self.stop_echo(out);
        }
        self.retime();
        // Tell the peer now rather than at the next (up to 1 s away) transmission.
        if self.may_transmit() || to == State::AdminDown {
            out.push(Output::Send(self.control(false)));
            self.arm_transmit(now, out);
        }
    }

    /// Recompute the advertised intervals; start a Poll sequence when they change.
    fn retime(&mut self) {
        let tx = if self.state == State::Up {
            self.profile.transmit_interval
        } else {
            self.profile.transmit_interval.max(SLOW_TX)
        };
        let rx = self.profile.receive_interval;
        if tx == self.adv_tx && rx == self.adv_rx {
            return;
        }
        // A faster TX and a slower RX are safe at once; the others wait for the Final.
        if tx < self.eff_tx {
            self.eff_tx = tx;
        }
        if rx > self.eff_rx {
            self.eff_rx = rx;
        }
        self.adv_tx = tx;
        self.adv_rx = rx;
        self.poll = match self.poll {
            Poll::Idle => Poll::Active,
            Poll::Active | Poll::ActiveThenAgain => Poll::ActiveThenAgain,
        };
    }

    fn finish_poll(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.eff_tx = self.adv_tx;
        self.eff_rx = self.adv_rx;
        self.poll = match self.poll {
            Poll::ActiveThenAgain => Poll::Active,
            _ => Poll::Idle,
        };
        // The transmit timer is re-armed by the caller's next transmission; a slower schedule
        // must not wait out an old, longer deadline, so re-arm now.
        if self.may_transmit() {
            self.arm_transmit(now, out);
        }
    }

    fn arm_transmit(&mut self, now: Instant, out: &mut Vec<Output>) {
        let base = self.transmit_interval();
        // Jitter: reduce by 0–25 %, or 10–25 % with a multiplier of 1 (RFC 5880 §6.8.7).
        let r = self.random.next_u32() % 1000;
        let permille = if self.profile.detect_multiplier == 1 {
            100 + r % 151
        } else {
            r % 251
        };
        let interval = base - base * permille / 1000;
        out.push(Output::ArmTimer(TimerKind::Transmit, now + interval));
    }

    /// Build a control packet from the current state.
    fn control(&self, final_: bool) -> ControlPacket {
        let echo_rx = if self.profile.echo_mode {
            us(self.profile.echo_interval)
        } else {
            0
        };
        ControlPacket {
            diagnostic: self.local_diag,
            state: self.state,
            poll: !final_ && self.poll != Poll::Idle,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.profile.detect_multiplier,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx_us: us(self.adv_tx),
            required_min_rx_us: us(self.adv_rx),
            required_min_echo_rx_us: echo_rx,
            auth: None,
        }
    }

    fn echo_interval(&self) -> Duration {
        self.profile.echo_interval.max(self.remote_min_echo_rx)
    }

    /// Start or stop our echo: only when Up, asked for by the profile and looped by the peer.
    fn update_echo(&mut self, now: Instant, out: &mut Vec<Output>) {
        let want =
            self.state == State::Up && self.profile.echo_mode && !self.remote_min_echo_rx.is_zero();
        if want && !self.echo_active {
            self.echo_active = true;
            out.push(Output::ArmTimer(TimerKind::EchoTransmit, now));
            out.push(Output::ArmTimer(
                TimerKind::EchoDetection,
                now + self.echo_interval() * u32::from(self.remote_mult.max(1)),
            ));
        } else if !want {
            self.stop_echo(out);
        }
    }

    fn stop_echo(&mut self, out: &mut Vec<Output>) {
        if self.echo_active {
            self.echo_active = false;
            out.push(Output::CancelTimer(TimerKind::EchoTransmit));
            out.push(Output::CancelTimer(TimerKind::EchoDetection));
        }
    }
}
