//! Integration tests of the API emulator over real HTTPS.

mod crds;
mod kube_rs;
mod kubectl;
mod lifecycle;
mod status;
mod webhooks;

use lodestone_test::raw::{self, RawResponse};
use lodestone_test::{Emulator, Options};
use serde_json::Value;

pub async fn start() -> Emulator {
    start_with(Options::default()).await
}

pub async fn start_with(opts: Options) -> Emulator {
    match Emulator::start(opts).await {
        Ok(e) => e,
        Err(e) => panic!("emulator failed to start: {e}"),
    }
}

/// JSON request with the admin token.
pub async fn call(emu: &Emulator, method: &str, path: &str, body: Option<&Value>) -> RawResponse {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let ct = body.map(|_| "application/json");
    match raw::request(emu, method, path, ct, bytes, None).await {
        Ok(r) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

pub async fn call_ct(
    emu: &Emulator,
    method: &str,
    path: &str,
    ct: &str,
    body: &str,
) -> RawResponse {
    match raw::request(emu, method, path, Some(ct), body.as_bytes().to_vec(), None).await {
        Ok(r) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

/// `crate::shared()/reference/...`: the shared/ directory beside the repository.
pub fn shared() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}
