//! Prometheus metrics with MetalLB's names. Protocol counters live in the drivers (atomics /
//! snapshots); [`Metrics::sync_counter`] copies them into the registry before each scrape.
//!
//! ```text
//!   bgp PeerMetrics ─┐
//!   bfd snapshot ────┼── refresh (on scrape) ──► Registry ──► /metrics (text format)
//!   l2 counters ─────┘
//!   planner / config ─────── set directly ──────┘
//! ```

use prometheus::{
    Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// All speaker metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub bgp_session_up: IntGaugeVec,
    pub bgp_updates_total: IntCounterVec,
    pub bgp_announced_prefixes: IntGaugeVec,
    pub bgp_pending_prefixes: IntGaugeVec,
    pub speaker_announced: IntGaugeVec,
    pub bfd_session_up: IntGaugeVec,
    pub bfd_control_in: IntCounterVec,
    pub bfd_control_out: IntCounterVec,
    pub bfd_echo_in: IntCounterVec,
    pub bfd_echo_out: IntCounterVec,
    pub bfd_up_events: IntCounterVec,
    pub bfd_down_events: IntCounterVec,
    pub l2_requests: IntCounterVec,
    pub l2_responses: IntCounterVec,
    pub l2_gratuitous: IntCounterVec,
    pub config_loaded: IntGauge,
    pub config_stale: IntGauge,
    pub updates: IntCounter,
    pub update_errors: IntCounter,
    pub lease_renewals: IntCounterVec,
    pub status_writes: IntCounterVec,
}

fn gauge_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn counter_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        let gauge = |name: &str, help: &str| -> prometheus::Result<IntGauge> {
            let g = IntGauge::new(name, help)?;
            r.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counter = |name: &str, help: &str| -> prometheus::Result<IntCounter> {
            let c = IntCounter::new(name, help)?;
            r.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let config_loaded = gauge(
            "metallb_k8s_client_config_loaded_bool",
            "1 if the configuration was ever loaded successfully",
        )?;
        let config_stale = gauge(
            "metallb_k8s_client_config_stale_bool",
            "1 if running on a stale configuration, because the latest one is invalid",
        )?;
        let updates = counter(
            "metallb_k8s_client_updates_total",
            "Number of Kubernetes object updates processed",
        )?;
        let update_errors = counter(
            "metallb_k8s_client_update_errors_total",
            "Number of Kubernetes watch errors",
        )?;
        Ok(Metrics {
            bgp_session_up: gauge_vec(
                &r,
                "metallb_bgp_session_up",
                "BGP session state (1 is up, 0 is down)",
                &["peer"],
            )?,
            bgp_updates_total: counter_vec(
                &r,
                "metallb_bgp_updates_total",
                "Number of BGP UPDATE messages sent",
                &["peer"],
            )?,
            bgp_announced_prefixes: gauge_vec(
                &r,
                "metallb_bgp_announced_prefixes_total",
                "Number of prefixes currently being advertised on the BGP session",
                &["peer"],
            )?,
            bgp_pending_prefixes: gauge_vec(
                &r,
                "metallb_bgp_pending_prefixes_total",
                "Number of prefixes that should be advertised on the BGP session",
                &["peer"],
            )?,
            speaker_announced: gauge_vec(
                &r,
                "metallb_speaker_announced",
                "Services being announced from this node. This is desired state, it does not guarantee that the routing protocols have converged.",
                &["ip", "node", "protocol", "service"],
            )?,
            bfd_session_up: gauge_vec(
                &r,
                "metallb_bfd_session_up",
                "BFD session state (1 is up, 0 is down)",
                &["peer"],
            )?,
            bfd_control_in: counter_vec(
                &r,
                "metallb_bfd_control_packet_input",
                "Number of received BFD control packets",
                &["peer"],
            )?,
            bfd_control_out: counter_vec(
                &r,
                "metallb_bfd_control_packet_output",
                "Number of sent BFD control packets",
                &["peer"],
            )?,
            bfd_echo_in: counter_vec(
                &r,
                "metallb_bfd_echo_packet_input",
                "Number of received BFD echo packets",
                &["peer"],
            )?,
            bfd_echo_out: counter_vec(
                &r,
                "metallb_bfd_echo_packet_output",
                "Number of sent BFD echo packets",
                &["peer"],
            )?,
            bfd_up_events: counter_vec(
                &r,
                "metallb_bfd_session_up_events",
                "Number of times the BFD session went up",
                &["peer"],
            )?,
            bfd_down_events: counter_vec(
                &r,
                "metallb_bfd_session_down_events",
                "Number of times the BFD session went down",
                &["peer"],
            )?,
            l2_requests: counter_vec(
                &r,
                "metallb_layer2_requests_received",
                "Number of layer2 requests received for owned IPs",
                &["ip"],
            )?,
            l2_responses: counter_vec(
                &r,
                "metallb_layer2_responses_sent",
                "Number of layer2 responses sent for owned IPs",
                &["ip"],
            )?,
            l2_gratuitous: counter_vec(
                &r,
                "metallb_layer2_gratuitous_sent",
                "Number of gratuitous layer2 packets sent for owned IPs",
                &["ip"],
            )?,
            config_loaded,
            config_stale,
            updates,
            update_errors,
            lease_renewals: counter_vec(
                &r,
                "lodestone_speaker_l2_lease_renewals_total",
                "Renewals of this node's L2 Lease by result",
                &["result"],
            )?,
            status_writes: counter_vec(
                &r,
                "lodestone_speaker_status_writes_total",
                "ServiceL2Status/ServiceBGPStatus writes by kind and result",
                &["kind", "result"],
            )?,
            registry: r,
        })
    }

    /// Brings a counter fed from a driver's running total up to `value`. A total below the
    /// exported one means the driver restarted: the series is recreated from `value`.
    pub fn sync_counter(vec: &IntCounterVec, labels: &[&str], value: u64) {
        let Ok(c) = vec.get_metric_with_label_values(labels) else {
            return;
        };
        let current = c.get();
        if value >= current {
            c.inc_by(value - current);
        } else {
            let _ = vec.remove_label_values(labels);
            if let Ok(c) = vec.get_metric_with_label_values(labels) {
                c.inc_by(value);
            }
        }
    }

    /// Text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_follow_driver_totals_and_resets() {
        let m = Metrics::new().unwrap_or_else(|e| panic!("registry: {e}"));
        Metrics::sync_counter(&m.bgp_updates_total, &["192.0.2.1"], 5);
        Metrics::sync_counter(&m.bgp_updates_total, &["192.0.2.1"], 7);
        assert!(
            m.render()
                .contains("metallb_bgp_updates_total{peer=\"192.0.2.1\"} 7")
        );
        Metrics::sync_counter(&m.bgp_updates_total, &["192.0.2.1"], 2);
        assert!(
            m.render()
                .contains("metallb_bgp_updates_total{peer=\"192.0.2.1\"} 2")
        );
    }
}
