//! lodestone-ccm: the cloud-controller-manager binary.

use std::process::ExitCode;

const USAGE: &str = "\
usage: lodestone-ccm <command> [options]

commands:
  validate -f PATH [-f PATH ...]   check metallb.io configuration offline (not built yet)
  run --kubeconfig PATH --namespace NS [...]   run the controllers (not built yet)
";

fn main() -> ExitCode {
    eprint!("{USAGE}");
    ExitCode::from(2)
}
