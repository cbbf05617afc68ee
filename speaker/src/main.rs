#![forbid(unsafe_code)]
//! lodestone-speaker: the node agent binary. Wiring lives in `lodestone_speaker::run`.

use std::process::ExitCode;

const USAGE: &str = "\
usage: lodestone-speaker <command> [options]

commands:
  run --kubeconfig PATH --namespace NS --node-name NODE [--metrics-addr ADDR]
";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    match args.next() {
        Some(cmd) if cmd == "run" => lodestone_speaker::run::main(args),
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
