//! `lodestone-ccm run` flags and their in-cluster defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Where the service account's namespace is mounted in a pod.
pub const SERVICEACCOUNT_NAMESPACE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// `lodestone-ccm run --kubeconfig PATH --namespace NS [--lb-class CLASS ...]
/// [--no-default-class] [--metrics-addr ADDR] [--lease-duration SECS]`
#[derive(Clone, Debug, Parser, PartialEq, Eq)]
#[command(name = "lodestone-ccm run", about = "Run the cloud-controller-manager")]
pub struct RunArgs {
    /// Kubeconfig to use; without it, the in-cluster configuration (or the usual kubeconfig
    /// search when not in a pod).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Namespace of the configuration and the Lease; defaults to the pod's namespace
    /// (POD_NAMESPACE, then the service account's namespace file).
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// A loadBalancerClass to serve (repeatable).
    #[arg(long = "lb-class", value_name = "CLASS")]
    pub lb_classes: Vec<String>,
    /// Do not serve Services without a loadBalancerClass.
    #[arg(long)]
    pub no_default_class: bool,
    /// Address of the /metrics, /healthz and /readyz endpoint.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:7472")]
    pub metrics_addr: SocketAddr,
    /// Validity of the leader Lease in seconds (renewed at a third of it).
    #[arg(long, value_name = "SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub lease_duration: u64,
    #[command(flatten)]
    pub node: crate::node::NodeArgs,
}

impl RunArgs {
    pub fn lease_duration(&self) -> Duration {
        Duration::from_secs(self.lease_duration)
    }
}

/// Errors of resolving the flags' defaults.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error(
        "no namespace: pass --namespace, or set POD_NAMESPACE, or run in a pod with a service account"
    )]
    NoNamespace,
}

/// The namespace from the flag, else `pod_namespace_env`, else the service-account file.
pub fn resolve_namespace(
    flag: Option<&str>,
    pod_namespace_env: Option<&str>,
    serviceaccount_file: Option<&str>,
) -> Result<String, ArgsError> {
    [flag, pod_namespace_env, serviceaccount_file]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or(ArgsError::NoNamespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        RunArgs::try_parse_from(std::iter::once("run").chain(args.iter().copied()))
    }

    #[test]
    fn parses_the_documented_invocation() -> Result<(), clap::Error> {
        let a = parse(&[
            "--kubeconfig",
            "/k",
            "--namespace",
            "metallb-system",
            "--lb-class",
            "metallb.io/internal",
            "--lb-class",
            "metallb.io/external",
            "--no-default-class",
            "--metrics-addr",
            "127.0.0.1:9000",
            "--lease-duration",
            "6",
        ])?;
        assert_eq!(a.kubeconfig, Some(PathBuf::from("/k")));
        assert_eq!(a.namespace.as_deref(), Some("metallb-system"));
        assert_eq!(a.lb_classes, ["metallb.io/internal", "metallb.io/external"]);
        assert!(a.no_default_class);
        assert_eq!(a.metrics_addr.to_string(), "127.0.0.1:9000");
        assert_eq!(a.lease_duration(), Duration::from_secs(6));
        let d = parse(&[])?;
        assert_eq!(d.metrics_addr.to_string(), "0.0.0.0:7472");
        assert_eq!(d.lease_duration, 15);
        assert!(!d.no_default_class && d.lb_classes.is_empty());
        Ok(())
    }

    #[test]
    fn rejects_bad_values() {
        assert!(parse(&["--lease-duration", "0"]).is_err());
        assert!(parse(&["--lease-duration", "-3"]).is_err());
        assert!(parse(&["--metrics-addr", "nowhere"]).is_err());
        assert!(parse(&["--frobnicate"]).is_err());
    }

    #[test]
    fn namespace_defaults_in_order() {
        assert_eq!(
            resolve_namespace(Some("a"), Some("b"), Some("c")),
            Ok("a".into())
        );
        assert_eq!(
            resolve_namespace(None, Some("b"), Some("c")),
            Ok("b".into())
        );
        assert_eq!(
            resolve_namespace(None, Some(""), Some("c\n")),
            Ok("c".into())
        );
        assert_eq!(
            resolve_namespace(None, None, None),
            Err(ArgsError::NoNamespace)
        );
    }
}
