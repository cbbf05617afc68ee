//! kubectl v1.32 against the emulator. Skipped (with a message) when kubectl is not on PATH,
//! unless LODESTONE_NETLAB=1, where a missing kubectl fails the test.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{call_ct, start};

struct Kubectl {
    kubeconfig: tempfile::NamedTempFile,
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut cmd = Command::new("kubectl");
        cmd.args(args)
            .env("KUBECONFIG", self.kubeconfig.path())
            .env("HOME", std::env::temp_dir());
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!("kubectl: {e}"),
        };
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let _ = pipe.write_all(input.as_bytes());
        }
        let out = match child.wait_with_output() {
            Ok(o) => o,
            Err(e) => panic!("kubectl: {e}"),
        };
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let o = self.run(args, stdin);
        assert!(o.ok, "kubectl {args:?} failed: {}", o.stderr);
        o.stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&a, None)).unwrap_or(Value::Null)
    }
}

fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("LODESTONE_NETLAB").as_deref() == Ok("1") {
            panic!("kubectl is required when LODESTONE_NETLAB=1");
        }
        eprintln!("skipped: kubectl not on PATH");
    }
    found
}

async fn setup() -> Option<(lodestone_test::Emulator, Kubectl)> {
    if !kubectl_available() {
        return None;
    }
    let emu = start().await;
    let kubeconfig = match tempfile::NamedTempFile::new() {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = emu.write_kubeconfig(kubeconfig.path()) {
        panic!("{e}");
    }
    Some((emu, Kubectl { kubeconfig }))
}

const MANIFEST: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {app: web, tier: front}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
  - {name: http, port: 80}
  - {name: https, port: 443}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: db
  namespace: shop
  labels: {app: db, tier: back}
data: {a: '1', b: '2'}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_list_label_annotate_patch_delete() {
    let Some((_emu, k)) = setup().await else {
        return;
    };
    let out = k.ok(&["create", "-f", "-"], Some(MANIFEST));
    assert!(out.contains("service/web created"), "{out}");
    let yaml = k.ok(&["-n", "shop", "get", "svc", "web", "-o", "yaml"], None);
    assert!(
        yaml.contains("kind: Service") && yaml.contains("nodePort: 30"),
        "{yaml}"
    );
    let svc = k.json(&["-n", "shop", "get", "svc", "web"]);
    assert_eq!(svc["spec"]["ports"][1]["port"], 443);
    // Server-side printing: the real Service columns.
    let table = k.ok(&["-n", "shop", "get", "svc"], None);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        vec![
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(&row[..2], &["web", "LoadBalancer"]);
    assert_eq!(row[3], "<pending>");
    assert!(
        row[4].starts_with("80:30") && row[4].contains(",443:30"),
        "{table}"
    );
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["metadata"]["name"].as_str().map(String::from))
            .collect()
    };
    assert_eq!(
        names(&k.json(&["-n", "shop", "get", "svc,cm", "-l", "tier in (front,back)"])),
        vec!["web", "db"]
    );
    assert_eq!(
        names(&k.json(&["-n", "shop", "get", "cm", "-l", "tier!=front,app"])),
        vec!["db"]
    );
    assert_eq!(
        names(&k.json(&[
            "get",
            "cm",
            "-A",
            "--field-selector",
            "metadata.namespace=shop"
        ])),
        vec!["db"]
    );

    k.ok(&["-n", "shop", "label", "svc", "web", "env=prod"], None);
    k.ok(
        &["-n", "shop", "annotate", "svc", "web", "owner=team-a"],
        None,
    );
    let svc = k.json(&["-n", "shop", "get", "svc", "web"]);
    assert_eq!(svc["metadata"]["labels"]["env"], "prod");
    assert_eq!(svc["metadata"]["annotations"]["owner"], "team-a");
    let dup = k.run(&["-n", "shop", "label", "svc", "web", "env=dev"], None);
    assert!(
        !dup.ok && dup.stderr.contains("already has a value"),
        "{}",
        dup.stderr
    );

    k.ok(
        &[
            "-n",
            "shop",
            "patch",
            "cm",
            "db",
            "--type",
            "merge",
            "-p",
            "{\"data\":{\"c\":\"3\",\"a\":null}}",
        ],
        None,
    );
    k.ok(
        &[
            "-n",
            "shop",
            "patch",
            "cm",
            "db",
            "--type",
            "json",
            "-p",
            "[{\"op\":\"replace\",\"path\":\"/data/b\",\"value\":\"20\"}]",
        ],
        None,
    );
    k.ok(
        &[
            "-n",
            "shop",
            "patch",
            "svc",
            "web",
            "--type",
            "strategic",
            "-p",
            "{\"spec\":{\"ports\":[{\"port\":443,\"targetPort\":8443}]}}",
        ],
        None,
    );
    let cm = k.json(&["-n", "shop", "get", "cm", "db"]);
    assert_eq!(cm["data"], serde_json::json!({"b": "20", "c": "3"}));
    let svc = k.json(&["-n", "shop", "get", "svc", "web"]);
    assert_eq!(svc["spec"]["ports"][1]["targetPort"], 8443);
    assert_eq!(svc["spec"]["ports"][0]["name"], "http");
    let bad = k.run(
        &[
            "-n",
            "shop",
            "patch",
            "svc",
            "web",
            "--type",
            "merge",
            "-p",
            "{\"spec\":{\"type\":\"Nope\"}}",
        ],
        None,
    );
    assert!(
        !bad.ok && bad.stderr.contains("Unsupported value: \"Nope\""),
        "{}",
        bad.stderr
    );

    k.ok(&["-n", "shop", "delete", "cm", "db"], None);
    let gone = k.run(&["-n", "shop", "get", "cm", "db"], None);
    assert!(
        !gone.ok && gone.stderr.contains("configmaps \"db\" not found"),
        "{}",
        gone.stderr
    );
    k.ok(
        &["delete", "ns", "shop", "--wait=true", "--timeout=20s"],
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_create_sends_protobuf() {
    let Some((_emu, k)) = setup().await else {
        return;
    };
    k.ok(&["create", "namespace", "imp"], None);
    k.ok(
        &[
            "-n",
            "imp",
            "create",
            "secret",
            "generic",
            "pw",
            "--from-literal=password=s3cret",
        ],
        None,
    );
    k.ok(
        &[
            "-n",
            "imp",
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=b",
        ],
        None,
    );
    k.ok(&["-n", "imp", "create", "serviceaccount", "bot"], None);
    k.ok(
        &[
            "-n",
            "imp",
            "create",
            "service",
            "loadbalancer",
            "lb",
            "--tcp=80:8080",
        ],
        None,
    );
    let secret = k.json(&["-n", "imp", "get", "secret", "pw"]);
    assert_eq!(secret["data"]["password"], "czNjcmV0");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(k.json(&["-n", "imp", "get", "cm", "cfg"])["data"]["a"], "b");
    let svc = k.json(&["-n", "imp", "get", "svc", "lb"]);
    assert_eq!(svc["spec"]["type"], "LoadBalancer");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(svc["spec"]["selector"]["app"], "lb");
    assert_eq!(k.json(&["get", "ns", "imp"])["status"]["phase"], "Active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_client_side_and_server_side() {
    let Some((_emu, k)) = setup().await else {
        return;
    };
    let v1 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  a: '1'\n  b: '2'\n";
    let v2 = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  a: '1'\n  c: '3'\n";
    assert!(
        k.ok(&["apply", "-f", "-"], Some(v1))
            .contains("configmap/app created")
    );
    assert!(
        k.ok(&["apply", "-f", "-"], Some(v2))
            .contains("configmap/app configured")
    );
    assert_eq!(
        k.json(&["get", "cm", "app"])["data"],
        serde_json::json!({"a": "1", "c": "3"})
    );
    assert!(k.ok(&["apply", "-f", "-"], Some(v2)).contains("unchanged"));
    // Built-in strategic merge through apply: ports keyed by port.
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec:\n  ports:\n  - {name: a, port: 80}\n  - {name: b, port: 81}\n";
    k.ok(&["apply", "-f", "-"], Some(svc));
    let svc2 = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec:\n  ports:\n  - {name: b, port: 81, targetPort: 9000}\n";
    k.ok(&["apply", "-f", "-"], Some(svc2));
    let s = k.json(&["get", "svc", "s"]);
    assert_eq!(s["spec"]["ports"].as_array().map(Vec::len), Some(1));
    assert_eq!(s["spec"]["ports"][0]["targetPort"], 9000);

    // Server-side apply: ownership, conflicts, force.
    let ssa = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata:\n  x: '1'\n  y: '2'\n";
    assert!(
        k.ok(
            &["apply", "--server-side", "--field-manager=alpha", "-f", "-"],
            Some(ssa)
        )
        .contains("serverside-applied")
    );
    let other = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata:\n  x: '9'\n";
    let c = k.run(
        &["apply", "--server-side", "--field-manager=beta", "-f", "-"],
        Some(other),
    );
    assert!(
        !c.ok
            && c.stderr.contains(
                "Apply failed with 1 conflict: conflict with \"alpha\" using v1: .data.x"
            ),
        "{}",
        c.stderr
    );
    k.ok(
        &[
            "apply",
            "--server-side",
            "--field-manager=beta",
            "--force-conflicts",
            "-f",
            "-",
        ],
        Some(other),
    );
    let cm = k.ok(
        &["get", "cm", "ssa", "-o", "json", "--show-managed-fields"],
        None,
    );
    let cm: Value = serde_json::from_str(&cm).unwrap_or(Value::Null);
    assert_eq!(cm["data"]["x"], "9");
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, vec!["alpha", "beta"]);
    // alpha drops y: it goes; x stays with beta.
    let alpha2 =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: default\ndata: {}\n";
    k.ok(
        &["apply", "--server-side", "--field-manager=alpha", "-f", "-"],
        Some(alpha2),
    );
    assert_eq!(
        k.json(&["get", "cm", "ssa"])["data"],
        serde_json::json!({"x": "9"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_condition_and_watch() {
    let Some((emu, k)) = setup().await else {
        return;
    };
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: default}\nspec:\n  containers:\n  - {name: c, image: example}\n";
    k.ok(&["create", "-f", "-"], Some(pod));
    let kc = k.kubeconfig.path().to_path_buf();
    let waiter = std::thread::spawn(move || {
        Command::new("kubectl")
            .args(["wait", "--for=condition=Ready", "pod/p", "--timeout=20s"])
            .env("KUBECONFIG", kc)
            .output()
    });
    let kc = k.kubeconfig.path().to_path_buf();
    let watcher = std::thread::spawn(move || {
        Command::new("kubectl")
            .args([
                "get",
                "pods",
                "--watch",
                "-o",
                "name",
                "--request-timeout=4s",
            ])
            .env("KUBECONFIG", kc)
            .output()
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = call_ct(
        &emu,
        "PATCH",
        "/api/v1/namespaces/default/pods/p/status",
        "application/merge-patch+json",
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
    )
    .await;
    assert_eq!(r.code, 200, "{}", String::from_utf8_lossy(&r.body));
    k.ok(&["create", "-f", "-"], Some("apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: default}\nspec:\n  containers:\n  - {name: c, image: example}\n"));
    let waited = waiter.join().ok().and_then(Result::ok);
    let waited = waited.map(|o| {
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    });
    assert_eq!(waited, Some((true, "pod/p condition met\n".to_string())));
    let watched = watcher
        .join()
        .ok()
        .and_then(Result::ok)
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let lines: Vec<String> = watched
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    assert!(
        lines.first().map(String::as_str) == Some("pod/p") && lines.contains(&"pod/q".to_string()),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_resources_with_metallb_crds() {
    let Some((_emu, k)) = setup().await else {
        return;
    };
    let dir = crate::shared().join("reference/metallb-v0.16.1-crds");
    let dir = dir.to_string_lossy().into_owned();
    k.ok(&["apply", "--server-side", "-f", &dir], None);
    k.ok(
        &[
            "wait",
            "--for=condition=Established",
            "crd/ipaddresspools.metallb.io",
            "--timeout=10s",
        ],
        None,
    );
    let pool = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p, namespace: default}\nspec:\n  addresses: [192.0.2.0/28]\n  bogus: 1\n";
    let r = k.run(&["apply", "-f", "-"], Some(pool));
    assert!(
        !r.ok
            && r.stderr
                .contains("strict decoding error: unknown field \"spec.bogus\""),
        "{}",
        r.stderr
    );
    let pool = pool.replace("  bogus: 1\n", "");
    k.ok(&["apply", "-f", "-"], Some(&pool));
    let table = k.ok(&["get", "ipaddresspools"], None);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        vec![
            "NAME",
            "AUTO",
            "ASSIGN",
            "AVOID",
            "BUGGY",
            "IPS",
            "ADDRESSES"
        ]
    );
    assert!(
        table.lines().nth(1).unwrap_or_default().contains("true"),
        "{table}"
    );
    let bad = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: q, namespace: default}\nspec: {}\n";
    let r = k.run(&["apply", "-f", "-"], Some(bad));
    assert!(
        !r.ok && r.stderr.contains("spec.addresses: Required value"),
        "{}",
        r.stderr
    );
    k.ok(
        &[
            "patch",
            "ipaddresspool",
            "p",
            "--type",
            "merge",
            "-p",
            "{\"spec\":{\"autoAssign\":false}}",
        ],
        None,
    );
    assert_eq!(
        k.json(&["get", "ipaddresspool", "p"])["spec"]["autoAssign"],
        false
    );
    k.ok(&["delete", "crd", "ipaddresspools.metallb.io"], None);
    let gone = k.run(&["get", "ipaddresspools"], None);
    assert!(!gone.ok, "{}", gone.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_manifests_apply_with_kustomize() {
    let Some((_emu, k)) = setup().await else {
        return;
    };
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../kustomize/base");
    let base = base.to_string_lossy().into_owned();
    let out = k.ok(&["apply", "-k", &base], None);
    assert!(out.contains("created"), "{out}");
    // Applying again changes nothing.
    let again = k.ok(&["apply", "-k", &base], None);
    assert!(again.lines().all(|l| l.ends_with("unchanged")), "{again}");
}
