//! lodestone-speaker: the node agent binary.

use std::process::ExitCode;

const USAGE: &str = "\
usage: lodestone-speaker <command> [options]

commands:
  run --kubeconfig PATH --namespace NS --node-name NODE [--metrics-addr ADDR]   (not built yet)
";

fn main() -> ExitCode {
    eprint!("{USAGE}");
    ExitCode::from(2)
}
