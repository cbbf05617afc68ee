//! Prometheus metrics of the CCM, with MetalLB's names where MetalLB has one.
//!
//! ```text
//!   controller ──► Metrics (gauges, counters, histograms) ──► Registry ──► GET /metrics
//! ```

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Every metric the CCM exports, registered in one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// `metallb_allocator_addresses_total{pool}`: usable addresses per pool.
    pub addresses_total: GaugeVec,
    /// `metallb_allocator_addresses_in_use_total{pool}`.
    pub addresses_in_use: GaugeVec,
    pub ipv4_addresses_total: GaugeVec,
    pub ipv4_addresses_in_use: GaugeVec,
    pub ipv6_addresses_total: GaugeVec,
    pub ipv6_addresses_in_use: GaugeVec,
    /// `metallb_k8s_client_config_loaded_bool`: a configuration was loaded at least once.
    pub config_loaded: IntGauge,
    /// `metallb_k8s_client_config_stale_bool`: the latest configuration failed to load.
    pub config_stale: IntGauge,
    /// `metallb_k8s_client_updates_total`: object updates processed.
    pub updates: IntCounter,
    /// `metallb_k8s_client_update_errors_total`: object updates that failed.
    pub update_errors: IntCounter,
    /// `lodestone_ccm_reconciles_total{kind}`.
    pub reconciles: IntCounterVec,
    /// `lodestone_ccm_reconcile_errors_total{kind,reason}`.
    pub reconcile_errors: IntCounterVec,
    /// `lodestone_ccm_reconcile_duration_seconds`.
    pub reconcile_duration: Histogram,
    /// `lodestone_ccm_api_writes_total{kind,result}`: writes sent, skipped as unchanged, refused.
    pub api_writes: IntCounterVec,
    /// `lodestone_ccm_leader`: 1 while this replica leads.
    pub leader: IntGauge,
}

/// Registering a metric failed (a duplicate name: a programming error, reported not panicked).
#[derive(Debug, thiserror::Error)]
#[error("registering metric: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

impl Metrics {
    pub fn new() -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let pool_gauge = |name: &str, help: &str| -> Result<GaugeVec, MetricsError> {
            let g = GaugeVec::new(Opts::new(name, help), &["pool"])?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let addresses_total = pool_gauge(
            "metallb_allocator_addresses_total",
            "Number of usable IP addresses, per pool",
        )?;
        let addresses_in_use = pool_gauge(
            "metallb_allocator_addresses_in_use_total",
            "Number of IP addresses in use, per pool",
        )?;
        let ipv4_addresses_total = pool_gauge(
            "metallb_allocator_ipv4_addresses_total",
            "Number of usable IPv4 addresses, per pool",
        )?;
        let ipv4_addresses_in_use = pool_gauge(
            "metallb_allocator_ipv4_addresses_in_use_total",
            "Number of IPv4 addresses in use, per pool",
        )?;
        let ipv6_addresses_total = pool_gauge(
            "metallb_allocator_ipv6_addresses_total",
            "Number of usable IPv6 addresses, per pool",
        )?;
        let ipv6_addresses_in_use = pool_gauge(
            "metallb_allocator_ipv6_addresses_in_use_total",
            "Number of IPv6 addresses in use, per pool",
        )?;
        let int_gauge = |name: &str, help: &str| -> Result<IntGauge, MetricsError> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let config_loaded = int_gauge(
            "metallb_k8s_client_config_loaded_bool",
            "1 if the MetalLB configuration was successfully loaded at least once",
        )?;
        let config_stale = int_gauge(
            "metallb_k8s_client_config_stale_bool",
            "1 if running on a stale configuration, because the latest config failed to load",
        )?;
        let leader = int_gauge("lodestone_ccm_leader", "1 while this replica is the leader")?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, MetricsError> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let updates = counter(
            "metallb_k8s_client_updates_total",
            "Number of k8s object updates that have been processed",
        )?;
        let update_errors = counter(
            "metallb_k8s_client_update_errors_total",
            "Number of k8s object updates that failed for some reason",
        )?;
        let reconciles = IntCounterVec::new(
            Opts::new("lodestone_ccm_reconciles_total", "Reconciles run, by kind"),
            &["kind"],
        )?;
        registry.register(Box::new(reconciles.clone()))?;
        let reconcile_errors = IntCounterVec::new(
            Opts::new(
                "lodestone_ccm_reconcile_errors_total",
                "Reconciles that failed, by kind and reason",
            ),
            &["kind", "reason"],
        )?;
        registry.register(Box::new(reconcile_errors.clone()))?;
        let reconcile_duration = Histogram::with_opts(
            HistogramOpts::new(
                "lodestone_ccm_reconcile_duration_seconds",
                "Time to reconcile one object",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        )?;
        registry.register(Box::new(reconcile_duration.clone()))?;
        let api_writes = IntCounterVec::new(
            Opts::new(
                "lodestone_ccm_api_writes_total",
                "API writes by kind and result (sent, unchanged, failed, not_leader)",
            ),
            &["kind", "result"],
        )?;
        registry.register(Box::new(api_writes.clone()))?;
        Ok(Metrics {
            registry,
            addresses_total,
            addresses_in_use,
            ipv4_addresses_total,
            ipv4_addresses_in_use,
            ipv6_addresses_total,
            ipv6_addresses_in_use,
            config_loaded,
            config_stale,
            updates,
            update_errors,
            reconciles,
            reconcile_errors,
            reconcile_duration,
            api_writes,
            leader,
        })
    }

    /// The text exposition format of every metric.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let families = self.registry.gather();
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        out
    }

    /// Replaces the per-pool address gauges with `pools` (name, v4 total, v4 used, v6 total,
    /// v6 used); pools that disappeared lose their series.
    pub fn set_pools(&self, pools: &[PoolCounts]) {
        for g in [
            &self.addresses_total,
            &self.addresses_in_use,
            &self.ipv4_addresses_total,
            &self.ipv4_addresses_in_use,
            &self.ipv6_addresses_total,
            &self.ipv6_addresses_in_use,
        ] {
            g.reset();
        }
        for p in pools {
            let l = [p.pool.as_str()];
            self.addresses_total
                .with_label_values(&l)
                .set((p.v4_total + p.v6_total) as f64);
            self.addresses_in_use
                .with_label_values(&l)
                .set((p.v4_in_use + p.v6_in_use) as f64);
            self.ipv4_addresses_total
                .with_label_values(&l)
                .set(p.v4_total as f64);
            self.ipv4_addresses_in_use
                .with_label_values(&l)
                .set(p.v4_in_use as f64);
            self.ipv6_addresses_total
                .with_label_values(&l)
                .set(p.v6_total as f64);
            self.ipv6_addresses_in_use
                .with_label_values(&l)
                .set(p.v6_in_use as f64);
        }
    }
}

/// Address counts of one pool, as MetalLB computes them (capacities saturate at u64::MAX).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolCounts {
    pub pool: String,
    pub v4_total: u64,
    pub v4_in_use: u64,
    pub v6_total: u64,
    pub v6_in_use: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_metallb_names_and_drops_vanished_pools() -> Result<(), MetricsError> {
        let m = Metrics::new()?;
        m.config_loaded.set(1);
        m.updates.inc();
        m.set_pools(&[
            PoolCounts {
                pool: "a".into(),
                v4_total: 10,
                v4_in_use: 2,
                v6_total: 0,
                v6_in_use: 0,
            },
            PoolCounts {
                pool: "b".into(),
                v4_total: 4,
                v4_in_use: 1,
                v6_total: 16,
                v6_in_use: 3,
            },
        ]);
        let text = String::from_utf8_lossy(&m.render()).into_owned();
        for line in [
            "metallb_allocator_addresses_total{pool=\"a\"} 10",
            "metallb_allocator_addresses_in_use_total{pool=\"b\"} 4",
            "metallb_allocator_ipv6_addresses_total{pool=\"b\"} 16",
            "metallb_allocator_ipv4_addresses_in_use_total{pool=\"a\"} 2",
            "metallb_k8s_client_config_loaded_bool 1",
            "metallb_k8s_client_config_stale_bool 0",
            "metallb_k8s_client_updates_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        m.set_pools(&[]);
        let text = String::from_utf8_lossy(&m.render()).into_owned();
        assert!(!text.contains("pool=\"a\""), "{text}");
        Ok(())
    }
}
