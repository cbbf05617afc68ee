//! Writes the `metallb.io` CRDs and their `kustomization.yaml` into a directory.
//!
//! ```text
//!   lodestone-gen-crds DIR   ──►  DIR/metallb.io_<plural>.yaml (one per CRD)
//!                                 DIR/kustomization.yaml
//! ```
//!
//! `hack/gen-crds.sh` runs it into `manifests/crds/`.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

fn run(dir: PathBuf) -> anyhow::Result<()> {
    let files = lodestone_apis::crdgen::manifest_files().context("generating the CRDs")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, contents) in files {
        let path = dir.join(&name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: lodestone-gen-crds OUTPUT_DIR");
        return ExitCode::from(2);
    };
    if dir == "-h" || dir == "--help" {
        eprintln!("usage: lodestone-gen-crds OUTPUT_DIR");
        return ExitCode::from(2);
    }
    match run(PathBuf::from(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lodestone-gen-crds: {err:#}");
            ExitCode::FAILURE
        }
    }
}
