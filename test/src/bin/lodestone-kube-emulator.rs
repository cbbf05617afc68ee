//! `lodestone-kube-emulator --listen 127.0.0.1:PORT --kubeconfig PATH [--service-cidr CIDR ...]`
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use ipnet::IpNet;

/// A Kubernetes API server emulator serving HTTPS until killed.
#[derive(Parser, Debug)]
#[command(name = "lodestone-kube-emulator")]
struct Args {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long)]
    listen: SocketAddr,
    /// Where to write the admin kubeconfig once serving.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Service CIDR (repeat for dual-stack, primary first).
    #[arg(long = "service-cidr")]
    service_cidr: Vec<IpNet>,
    /// Enforce RBAC for ServiceAccount tokens.
    #[arg(long)]
    rbac: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,lodestone_test=debug")
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let mut opts = lodestone_test::Options {
        listen: args.listen,
        rbac: args.rbac,
        ..Default::default()
    };
    if !args.service_cidr.is_empty() {
        opts.service_cidrs = args.service_cidr;
    }
    let emu = lodestone_test::Emulator::start(opts)
        .await
        .context("starting the emulator")?;
    emu.write_kubeconfig(&args.kubeconfig)
        .with_context(|| format!("writing {}", args.kubeconfig.display()))?;
    tracing::info!(url = emu.url(), kubeconfig = %args.kubeconfig.display(), "ready");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for a signal")?;
    Ok(())
}
