//! Command line of `lodestone-speaker run`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use clap::Parser;

/// Where a pod finds its namespace.
pub const SERVICEACCOUNT_NAMESPACE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// `lodestone-speaker run --kubeconfig PATH --namespace NS --node-name NODE [--metrics-addr ADDR]`.
/// In a pod: in-cluster configuration, `POD_NAMESPACE` (or the service account's namespace
/// file) and `NODE_NAME`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "lodestone-speaker run",
    about = "Run the Lodestone speaker on this node"
)]
pub struct RunArgs {
    /// kubeconfig file; without it, the in-cluster configuration.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace of the configuration objects, Secrets, Leases and status objects.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// This node's name.
    #[arg(long, value_name = "NODE", env = "NODE_NAME")]
    pub node_name: String,
    /// Address of /metrics, /healthz and /readyz (MetalLB's speaker port).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:7472")]
    pub metrics_addr: SocketAddr,
}

/// `--namespace`, else `POD_NAMESPACE`, else the service account namespace file.
pub fn resolve_namespace(
    flag: Option<&str>,
    env: Option<&str>,
    sa_file: Option<&str>,
) -> anyhow::Result<String> {
    for candidate in [flag, env, sa_file].into_iter().flatten() {
        let c = candidate.trim();
        if !c.is_empty() {
            return Ok(c.to_string());
        }
    }
    bail!("no namespace: pass --namespace, set POD_NAMESPACE, or run in a pod")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_precedence() {
        let rows = [
            (Some("a"), Some("b"), Some("c"), Some("a")),
            (None, Some("b"), Some("c"), Some("b")),
            (None, Some(" "), Some("c\n"), Some("c")),
            (None, None, None, None),
        ];
        for (flag, env, file, want) in rows {
            let got = resolve_namespace(flag, env, file).ok();
            assert_eq!(got.as_deref(), want, "{flag:?} {env:?} {file:?}");
        }
    }

    #[test]
    fn parses_exact_invocation() {
        let a = RunArgs::try_parse_from([
            "run",
            "--kubeconfig",
            "/k",
            "--namespace",
            "ns",
            "--node-name",
            "n1",
            "--metrics-addr",
            "127.0.0.1:0",
        ]);
        let a = a.ok();
        assert_eq!(a.as_ref().map(|a| a.node_name.as_str()), Some("n1"));
        assert_eq!(a.as_ref().and_then(|a| a.namespace.as_deref()), Some("ns"));
        assert!(RunArgs::try_parse_from(["run", "--bogus"]).is_err());
    }
}
