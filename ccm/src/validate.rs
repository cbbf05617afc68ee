//! `lodestone-ccm validate -f PATH [-f PATH ...]`: offline check of a metallb.io configuration.
//!
//! ```text
//!   -f file.yaml / -f dir/ ──► load_str (per file) ──► Resources ──► Config::from_resources
//!        │ unreadable: exit 2             │ unknown fields: warnings     │ ok: summary, exit 0
//!        └ (bad YAML, apiVersion, types)  └ (stderr)                     └ problems: exit 1
//! ```
//!
//! Directories are read one level deep, `.yaml`, `.yml` and `.json` files in name order.
//! Kinds other than metallb.io ones, Secrets, Nodes and Namespaces are ignored. Pending
//! references (objects not created yet) are warnings and do not fail validation.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use lodestone_apis::config::{Config, Family, LoadWarning, Pending, Resources, load_str};

/// Exit status: configuration valid.
pub const EXIT_VALID: u8 = 0;
/// Exit status: configuration invalid.
pub const EXIT_INVALID: u8 = 1;
/// Exit status: input unreadable or bad usage.
pub const EXIT_UNREADABLE: u8 = 2;

/// Usage of the subcommand.
pub const USAGE: &str = "usage: lodestone-ccm validate -f PATH [-f PATH ...]\n  PATH: a (multi-document) YAML or JSON file, or a directory of .yaml/.yml/.json files\n";

/// Outcome of reading and validating.
#[derive(Debug)]
pub enum Outcome {
    /// Valid: the summary line, pending references and load warnings.
    Valid {
        /// One-line summary.
        summary: String,
        /// References to objects not created yet.
        pending: Vec<Pending>,
        /// Unknown fields and similar.
        warnings: Vec<LoadWarning>,
    },
    /// Invalid: one line per problem, plus pending references and load warnings.
    Invalid {
        /// Problems, one line each.
        problems: Vec<String>,
        /// References to objects not created yet.
        pending: Vec<Pending>,
        /// Unknown fields and similar.
        warnings: Vec<LoadWarning>,
    },
}

/// Runs the subcommand with `args` (everything after `validate`), writing results to `out`
/// and diagnostics to `err`. Returns the exit status.
pub fn run(args: &[String], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let paths = match parse_args(args) {
        Ok(p) => p,
        Err(e) => {
            let _ = write!(err, "error: {e:#}\n{USAGE}");
            return EXIT_UNREADABLE;
        }
    };
    match validate_paths(&paths) {
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            EXIT_UNREADABLE
        }
        Ok(Outcome::Valid {
            summary,
            pending,
            warnings,
        }) => {
            for w in &warnings {
                let _ = writeln!(err, "warning: {w}");
            }
            for p in &pending {
                let _ = writeln!(err, "warning: pending: {p}");
            }
            let _ = writeln!(out, "{summary}");
            EXIT_VALID
        }
        Ok(Outcome::Invalid {
            problems,
            pending,
            warnings,
        }) => {
            for w in &warnings {
                let _ = writeln!(err, "warning: {w}");
            }
            for p in &pending {
                let _ = writeln!(err, "warning: pending: {p}");
            }
            for p in &problems {
                let _ = writeln!(out, "{p}");
            }
            let _ = writeln!(err, "invalid: {} problem(s)", problems.len());
            EXIT_INVALID
        }
    }
}

fn parse_args(args: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" | "--filename" => match it.next() {
                Some(p) => paths.push(PathBuf::from(p)),
                None => bail!("{a} needs a path"),
            },
            _ if a.starts_with("--filename=") => {
                paths.push(PathBuf::from(&a["--filename=".len()..]))
            }
            _ if a.starts_with("-f") && a.len() > 2 => {
                paths.push(PathBuf::from(a[2..].trim_start_matches('=')))
            }
            _ => bail!("unexpected argument {a:?}"),
        }
    }
    if paths.is_empty() {
        bail!("no input: give at least one -f PATH");
    }
    Ok(paths)
}

/// The files behind `paths`: files as given, directories expanded one level.
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("cannot read {}", p.display()))?;
        if meta.is_dir() {
            let mut in_dir = Vec::new();
            for entry in
                std::fs::read_dir(p).with_context(|| format!("cannot list {}", p.display()))?
            {
                let path = entry
                    .with_context(|| format!("cannot list {}", p.display()))?
                    .path();
                let manifest = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
                if manifest && path.is_file() {
                    in_dir.push(path);
                }
            }
            in_dir.sort();
            files.extend(in_dir);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Reads and validates `paths`. `Err` means unreadable input (exit 2).
pub fn validate_paths(paths: &[PathBuf]) -> anyhow::Result<Outcome> {
    let mut resources = Resources::default();
    let mut warnings = Vec::new();
    for file in expand(paths)? {
        let text = read_text(&file)?;
        let w = load_str(&file.display().to_string(), &text, &mut resources)?;
        warnings.extend(w);
    }
    Ok(match Config::from_resources(&resources) {
        Ok((config, pending)) => Outcome::Valid {
            summary: summary(&config, &pending),
            pending,
            warnings,
        },
        Err(e) => Outcome::Invalid {
            problems: e.problems.iter().map(ToString::to_string).collect(),
            pending: e.pending,
            warnings,
        },
    })
}

fn read_text(file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", file.display()))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The one-line summary of a valid configuration.
pub fn summary(config: &Config, pending: &[Pending]) -> String {
    let mut s = String::from("valid: ");
    s.push_str(&plural(config.pools.len(), "pool", "pools"));
    if !config.pools.is_empty() {
        let per_pool: Vec<String> = config
            .pools
            .values()
            .map(|p| {
                format!(
                    "{} {} IPv4 + {} IPv6",
                    p.name,
                    p.address_count(Family::V4),
                    p.address_count(Family::V6)
                )
            })
            .collect();
        let _ = write!(s, " ({})", per_pool.join(", "));
    }
    let _ = write!(
        s,
        ", {}, {}, {}, {}, {}",
        plural(config.peers.len(), "BGP peer", "BGP peers"),
        plural(
            config.bgp_advertisements.len(),
            "BGP advertisement",
            "BGP advertisements"
        ),
        plural(
            config.l2_advertisements.len(),
            "L2 advertisement",
            "L2 advertisements"
        ),
        plural(config.bfd_profiles.len(), "BFD profile", "BFD profiles"),
        plural(
            config.communities.len(),
            "community alias",
            "community aliases"
        ),
    );
    if !pending.is_empty() {
        let _ = write!(
            s,
            "; {} (see warnings)",
            plural(pending.len(), "pending reference", "pending references")
        );
    }
    s
}
