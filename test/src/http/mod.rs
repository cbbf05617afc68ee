//! HTTPS front: TLS accept, request parsing and routing to discovery or the REST verbs,
//! content negotiation, body limits, and Status bodies for every error.

mod watch;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use rand::Rng;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::authz::{self, Attributes, Auth, User};
use crate::catalog::ResourceType;
use crate::error::{ApiError, ApiResult};
use crate::patch::{self, PatchType};
use crate::rest::{Cluster, DeleteOptions, ListOptions, Target, WriteOptions};
use crate::selector::{FieldSelector, LabelSelector};
use crate::{discovery, table};

/// Largest request body the real server accepts (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Everything a request handler needs.
pub struct Frontend {
    pub cluster: Arc<Cluster>,
    pub auth: Auth,
    pub address: String,
    pub bookmark_interval: Duration,
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    let mut r = Response::new(full(v.to_string()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

/// Accepts TLS connections until the listener fails.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, fe: Arc<Frontend>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let fe = fe.clone();
        tokio::spawn(async move {
            let stream = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "tls handshake failed");
                    return;
                }
            };
            let svc = hyper::service::service_fn(move |req| {
                let fe = fe.clone();
                async move { Ok::<_, Infallible>(handle(fe, req).await) }
            });
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
}

async fn handle(fe: Arc<Frontend>, req: Request<Incoming>) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let resp = match route(&fe, req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    tracing::debug!(method = %method, uri = %uri, code = resp.status().as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    resp
}

fn query_map(q: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

async fn route(fe: &Frontend, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let Some(user) = fe.auth.authenticate(header("authorization").as_deref()) else {
        return Err(ApiError::new(401, "Unauthorized", "Unauthorized"));
    };
    let path = req.uri().path().to_string();
    let query = query_map(req.uri().query());
    let segs = segments(&path);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let get = req.method() == Method::GET;
    let cat = || fe.cluster.catalog().clone();
    match s.as_slice() {
        ["version"] if get => return Ok(json_response(200, &discovery::version())),
        ["healthz" | "livez" | "readyz"] if get => {
            let mut r = Response::new(full("ok"));
            r.headers_mut().insert(
                "content-type",
                hyper::header::HeaderValue::from_static("text/plain"),
            );
            return Ok(r);
        }
        ["api"] if get => return Ok(json_response(200, &discovery::core_versions(&fe.address))),
        ["apis"] if get => return Ok(json_response(200, &discovery::group_list(&cat()))),
        ["api", v] if get => {
            return discovery::resource_list(&cat(), "", v)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::path_not_found);
        }
        ["apis", g] if get => {
            return discovery::group(&cat(), g)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::path_not_found);
        }
        ["apis", g, v] if get => {
            return discovery::resource_list(&cat(), g, v)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::path_not_found);
        }
        ["openapi", "v3"] if get => {
            return Ok(json_response(200, &discovery::openapi_root(&cat())));
        }
        ["openapi", "v3", "api", v] if get => {
            return discovery::openapi_group_version(&cat(), "", v)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::path_not_found);
        }
        ["openapi", "v3", "apis", g, v] if get => {
            return discovery::openapi_group_version(&cat(), g, v)
                .map(|d| json_response(200, &d))
                .ok_or_else(ApiError::path_not_found);
        }
        _ => {}
    }
    let (group, version, rest) = match s.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => return Err(ApiError::path_not_found()),
    };
    let (legacy_watch, rest) = match rest {
        ["watch", r @ ..] if !r.is_empty() => (true, r),
        r => (false, r),
    };
    let catalog = cat();
    let lookup = |plural: &str| catalog.get(group, version, plural).cloned();
    let (rt, namespace, name, sub): (ResourceType, Option<String>, Option<String>, Option<String>) =
        match rest {
            ["namespaces", ns, plural, more @ ..]
                if lookup(plural).is_some_and(|t| t.namespaced) =>
            {
                let rt = lookup(plural).ok_or_else(ApiError::path_not_found)?;
                match more {
                    [] => (rt, Some(ns.to_string()), None, None),
                    [n] => (rt, Some(ns.to_string()), Some(n.to_string()), None),
                    [n, sr] => (
                        rt,
                        Some(ns.to_string()),
                        Some(n.to_string()),
                        Some(sr.to_string()),
                    ),
                    _ => return Err(ApiError::path_not_found()),
                }
            }
            [plural, more @ ..] => {
                let rt = lookup(plural).ok_or_else(ApiError::path_not_found)?;
                match more {
                    [] => (rt, None, None, None),
                    [n] => (rt, None, Some(n.to_string()), None),
                    [n, sr] => (rt, None, Some(n.to_string()), Some(sr.to_string())),
                    _ => return Err(ApiError::path_not_found()),
                }
            }
            [] => return Err(ApiError::path_not_found()),
        };
    if let Some(sr) = &sub
        && !(sr == "status" && rt.status)
    {
        return Err(ApiError::path_not_found());
    }
    // A namespaced resource requested without a namespace lists across all of them; a named
    // object needs one.
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::path_not_found());
    }
    let target = Target {
        rt,
        namespace,
        name,
        subresource: sub,
    };
    let watch =
        legacy_watch || matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    let method = req.method().clone();
    let verb = match (&method, target.name.is_some()) {
        (&Method::GET, _) if watch => "watch",
        (&Method::GET, true) => "get",
        (&Method::GET, false) => "list",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        _ => return Err(ApiError::method_not_allowed()),
    };
    authorize(fe, &user, verb, &target)?;
    let content_type = header("content-type").unwrap_or_default();
    let wo = write_options(&query, &user, header("user-agent").as_deref());
    let as_table = table::wanted(&header("accept").unwrap_or_default());
    let include_object = query.get("includeObject").is_some_and(|i| i == "Object");
    let present = |v: Value| {
        if as_table {
            table::render(&fe.cluster, &target.rt, &v, include_object, true)
        } else {
            v
        }
    };
    match verb {
        "get" => Ok(json_response(200, &present(fe.cluster.get(&target).await?))),
        "list" => Ok(json_response(
            200,
            &present(fe.cluster.list(&target, &list_options(&query)?).await?),
        )),
        "watch" => watch_response(fe, target, &query, as_table.then_some(include_object)),
        "create" => {
            let body = read_object(req, &content_type).await?;
            let (code, obj) = fe.cluster.create(&target, body, &wo).await?;
            Ok(json_response(code, &obj))
        }
        "update" => {
            let body = read_object(req, &content_type).await?;
            let (code, obj) = fe.cluster.update(&target, body, &wo).await?;
            Ok(json_response(code, &obj))
        }
        "patch" => {
            let kind = PatchType::from_content_type(&content_type)
                .ok_or_else(|| ApiError::unsupported_media_type(&content_type, patch::ACCEPTED))?;
            let body = read_body(req).await?;
            let (code, obj) = fe.cluster.patch(&target, kind, &body, &wo).await?;
            Ok(json_response(code, &obj))
        }
        "delete" => {
            let d = delete_options(req, &query).await?;
            let (code, obj) = fe.cluster.delete(&target, &d, &wo).await?;
            Ok(json_response(code, &obj))
        }
        _ => {
            let lo = list_options(&query)?;
            let d = delete_options(req, &query).await?;
            Ok(json_response(
                200,
                &fe.cluster.delete_collection(&target, &lo, &d, &wo).await?,
            ))
        }
    }
}

fn authorize(fe: &Frontend, user: &User, verb: &str, t: &Target) -> ApiResult<()> {
    if !fe.auth.rbac {
        return Ok(());
    }
    let a = Attributes {
        verb,
        group: &t.rt.group,
        resource: &t.rt.plural,
        subresource: t.subresource.as_deref(),
        namespace: t.ns(),
        name: t.name(),
    };
    if authz::allowed(&fe.cluster, user, &a) {
        return Ok(());
    }
    Err(ApiError::forbidden(
        &t.rt.group,
        &t.rt.plural,
        t.name(),
        &authz::forbidden_reason(user, &a),
    ))
}

fn write_options(q: &HashMap<String, String>, user: &User, agent: Option<&str>) -> WriteOptions {
    // Without fieldManager the real server names the manager after the user agent's first word.
    let manager = match q.get("fieldManager") {
        Some(m) => m.clone(),
        None => agent
            .and_then(|a| a.split('/').next())
            .unwrap_or("unknown")
            .to_string(),
    };
    WriteOptions {
        manager,
        dry_run: q.get("dryRun").is_some_and(|d| d == "All"),
        force: q.get("force").is_some_and(|f| f == "true"),
        strict: q.get("fieldValidation").is_some_and(|f| f == "Strict"),
        system: false,
        user: user.name.clone(),
        groups: user.groups.clone(),
    }
}

fn list_options(q: &HashMap<String, String>) -> ApiResult<ListOptions> {
    Ok(ListOptions {
        label_selector: q
            .get("labelSelector")
            .filter(|s| !s.is_empty())
            .map(|s| LabelSelector::parse(s))
            .transpose()?,
        field_selector: q
            .get("fieldSelector")
            .filter(|s| !s.is_empty())
            .map(|s| FieldSelector::parse(s))
            .transpose()?,
        limit: match q.get("limit") {
            Some(l) => Some(
                l.parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?,
            ),
            None => None,
        },
        continue_token: q.get("continue").cloned(),
    })
}

/// Reads the body up to [`MAX_BODY`]. A larger body is drained (up to 8× the limit) before the
/// 413, so the client finishes sending and reads the Status instead of a reset connection.
async fn read_body(req: Request<Incoming>) -> ApiResult<Bytes> {
    let mut body = req.into_body();
    let mut buf = bytes::BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("error reading request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            total += data.len();
            if total <= MAX_BODY {
                buf.extend_from_slice(&data);
            } else if total > 8 * MAX_BODY {
                break;
            }
        }
    }
    if total > MAX_BODY {
        return Err(ApiError::too_large(MAX_BODY));
    }
    Ok(buf.freeze())
}

async fn read_object(req: Request<Incoming>, content_type: &str) -> ApiResult<Value> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let accepted = [
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ];
    if !matches!(
        media.as_str(),
        "application/json" | "application/yaml" | "application/vnd.kubernetes.protobuf" | ""
    ) {
        return Err(ApiError::unsupported_media_type(&media, &accepted));
    }
    let body = read_body(req).await?;
    let v: Value = if media == "application/vnd.kubernetes.protobuf" {
        crate::protobuf::decode(&body)?
    } else if media == "application/yaml" {
        serde_yaml::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))?
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?
    };
    Ok(v)
}

async fn delete_options(
    req: Request<Incoming>,
    q: &HashMap<String, String>,
) -> ApiResult<DeleteOptions> {
    let body = read_body(req).await?;
    let mut d = if body.is_empty() {
        DeleteOptions::default()
    } else {
        let v: Value = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?;
        DeleteOptions::from_body(&v)
    };
    if let Some(p) = q.get("propagationPolicy") {
        d.propagation = Some(p.clone());
    }
    if let Some(p) = d.propagation.as_deref()
        && !["Orphan", "Background", "Foreground"].contains(&p)
    {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "DeleteOptions",
            "",
            vec![crate::error::Cause::unsupported(
                "propagationPolicy",
                &Value::String(p.into()),
                &["Background".into(), "Foreground".into(), "Orphan".into()],
            )],
        ));
    }
    Ok(d)
}

/// `table`: Some(include_object) when the client asked for Table rows.
fn watch_response(
    fe: &Frontend,
    mut target: Target,
    q: &HashMap<String, String>,
    table: Option<bool>,
) -> ApiResult<Response<Body>> {
    let mut list = list_options(q)?;
    // Watching one named object is a collection watch on metadata.name.
    if let Some(name) = target.name.take() {
        list.field_selector = Some(FieldSelector::parse(&format!("metadata.name={name}"))?);
    }
    let resource_version = match q.get("resourceVersion").filter(|s| !s.is_empty()) {
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?,
        ),
        None => None,
    };
    let timeout = match q.get("timeoutSeconds") {
        Some(t) => Duration::from_secs(
            t.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t:?}")))?,
        ),
        None => Duration::from_secs(rand::rng().random_range(1800..3600)),
    };
    let req = watch::WatchRequest {
        target,
        list,
        resource_version,
        bookmarks: q.get("allowWatchBookmarks").is_some_and(|b| b == "true"),
        send_initial_events: q.get("sendInitialEvents").is_some_and(|b| b == "true"),
        timeout,
        bookmark_interval: fe.bookmark_interval,
        table,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    tokio::spawn(watch::run(fe.cluster.clone(), req, tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok(Frame::data(b)), rx))
    });
    let mut r = Response::new(BodyExt::boxed_unsync(StreamBody::new(stream.boxed())));
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(r)
}
