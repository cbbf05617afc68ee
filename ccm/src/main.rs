//! lodestone-ccm: the cloud-controller-manager binary.

use std::process::ExitCode;

const USAGE: &str = "\
usage: lodestone-ccm <command> [options]

commands:
  validate -f PATH [-f PATH ...]   check metallb.io configuration offline
  run --kubeconfig PATH --namespace NS [...]   run the controllers
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("validate") => ExitCode::from(lodestone_ccm::validate::run(
            &args[1..],
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        )),
        Some("run") => lodestone_ccm::run::main(args[1..].iter().cloned()),
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
