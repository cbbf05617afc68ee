//! Create, update, patch and delete: the write path shared by every kind.

use std::sync::Arc;

use serde_json::{Value, json};

use super::meta::{generated_name, now, str_at, uid, validate_labels, validate_name};
use super::{Cluster, ListOptions, Target};
use crate::admission::{self, Operation};
use crate::catalog::ResourceType;
use crate::error::{ApiError, ApiResult, Cause};
use crate::patch::apply::Apply;
use crate::patch::fields::{Part, record_update};
use crate::patch::{self, PatchType};
use crate::{conversion, crd, schema, service};

/// Who writes and how.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub manager: String,
    pub dry_run: bool,
    pub force: bool,
    /// Writes by the emulator's own controllers skip admission.
    pub system: bool,
    pub user: String,
    pub groups: Vec<String>,
    /// `fieldValidation=Strict`: unknown fields of custom resources are a 400, not pruned.
    pub strict: bool,
}

/// The parts of `DeleteOptions` the emulator honours.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub propagation: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
}

impl DeleteOptions {
    pub fn from_body(v: &Value) -> Self {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(String::from);
        let mut d = DeleteOptions {
            propagation: s("/propagationPolicy"),
            precondition_uid: s("/preconditions/uid"),
            precondition_rv: s("/preconditions/resourceVersion"),
        };
        if d.propagation.is_none()
            && v.get("orphanDependents").and_then(Value::as_bool) == Some(true)
        {
            d.propagation = Some("Orphan".into());
        }
        d
    }
}

enum Commit {
    Done(u16, Arc<Value>),
    /// The object changed since it was read: read again and retry.
    Retry,
}

fn spec_of(o: &Value) -> Value {
    let mut c = o.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
        m.remove("apiVersion");
        m.remove("kind");
    }
    c
}

/// The object minus what changes on every write (resourceVersion, managedFields timestamps).
fn without_volatile(o: &Value) -> Value {
    let mut c = o.clone();
    if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        if let Some(list) = m.get_mut("managedFields").and_then(Value::as_array_mut) {
            for e in list.iter_mut().filter_map(Value::as_object_mut) {
                e.remove("time");
            }
        }
    }
    c
}

fn finalizers(o: &Value) -> Vec<String> {
    o.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(String::from))
        .collect()
}

fn check_type(rt: &ResourceType, body: &Value) -> ApiResult<()> {
    if !body.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): expected an object",
            rt.kind
        )));
    }
    if let Some(av) = body.get("apiVersion").and_then(Value::as_str)
        && av != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if let Some(k) = body.get("kind").and_then(Value::as_str)
        && k != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): kind {k} does not match",
            rt.kind
        )));
    }
    Ok(())
}

impl Cluster {
    fn storage_type(&self, rt: &ResourceType) -> ResourceType {
        if rt.version == rt.storage_version {
            return rt.clone();
        }
        self.catalog()
            .get(&rt.group, &rt.storage_version, &rt.plural)
            .cloned()
            .unwrap_or_else(|| rt.clone())
    }

    /// Defaults, validates and stamps `new` (in the storage version) for a write over `old`.
    async fn prepare(
        &self,
        t: &Target,
        old: Option<&Value>,
        new: Value,
        o: &WriteOptions,
        applied: bool,
    ) -> ApiResult<Value> {
        let rt = self.storage_type(&t.rt);
        let part = if t.is_status() {
            Part::Status
        } else {
            Part::Main
        };
        let mut obj = match (t.is_status(), old) {
            (true, Some(old)) => {
                let mut base = old.clone();
                match new.get("status") {
                    Some(s) => base["status"] = s.clone(),
                    None => {
                        if let Some(m) = base.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                if let Some(mf) = new.pointer("/metadata/managedFields") {
                    base["metadata"]["managedFields"] = mf.clone();
                }
                base
            }
            _ => new,
        };
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let mut causes = vec![];
        match old {
            Some(old) => {
                for f in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                    "generation",
                    "name",
                    "namespace",
                ] {
                    match old.pointer(&format!("/metadata/{f}")) {
                        Some(v) => obj["metadata"][f] = v.clone(),
                        None => {
                            if let Some(m) = obj["metadata"].as_object_mut() {
                                m.remove(f);
                            }
                        }
                    }
                }
                if part == Part::Main && rt.status {
                    match old.get("status") {
                        Some(s) => obj["status"] = s.clone(),
                        None => {
                            if let Some(m) = obj.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
            }
            None => {
                let mut name = str_at(&obj, "/metadata/name").to_string();
                if name.is_empty() {
                    let prefix = str_at(&obj, "/metadata/generateName").to_string();
                    if prefix.is_empty() {
                        causes.push(Cause::required(
                            "metadata.name",
                            "name or generateName is required",
                        ));
                    } else {
                        name = generated_name(&prefix);
                    }
                }
                if !name.is_empty() {
                    causes.extend(validate_name(&rt.kind, &name));
                }
                let m = &mut obj["metadata"];
                m["name"] = json!(name);
                if rt.namespaced {
                    m["namespace"] = json!(t.ns());
                } else if let Some(mm) = m.as_object_mut() {
                    mm.remove("namespace");
                }
                m["uid"] = json!(uid());
                m["creationTimestamp"] = json!(now());
                if let Some(mm) = m.as_object_mut() {
                    for f in [
                        "deletionTimestamp",
                        "deletionGracePeriodSeconds",
                        "generation",
                        "selfLink",
                    ] {
                        mm.remove(f);
                    }
                }
                if rt.behaviour.generation || rt.crd.is_some() {
                    obj["metadata"]["generation"] = json!(1);
                }
                if rt.status
                    && (rt.behaviour.reset_status_on_create || rt.crd.is_some())
                    && let Some(m) = obj.as_object_mut()
                {
                    m.remove("status");
                }
            }
        }
        if !o.system {
            let op = if old.is_some() {
                Operation::Update
            } else {
                Operation::Create
            };
            admission::mutate(self, t, op, old, &mut obj, o).await?;
        }
        causes.extend(validate_labels(&obj));
        match rt.kind.as_str() {
            "Namespace" if rt.group.is_empty() => {
                let name = str_at(&obj, "/metadata/name").to_string();
                obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
                if obj.pointer("/spec/finalizers").is_none() {
                    obj["spec"]["finalizers"] = json!(["kubernetes"]);
                }
                if obj.pointer("/status/phase").is_none() {
                    obj["status"]["phase"] = json!("Active");
                }
            }
            "Service" if rt.group.is_empty() && old.is_none() => {
                obj["status"] = json!({"loadBalancer": {}})
            }
            "Service" if rt.group.is_empty() && part == Part::Status => {
                causes.extend(service::validate_status(&obj))
            }
            "Secret" if rt.group.is_empty() => secret_defaults(&mut obj),
            "CustomResourceDefinition" if rt.group == "apiextensions.k8s.io" => {
                causes.extend(crd::validate(&mut obj, old, part == Part::Main))
            }
            _ => {}
        }
        if let Some(schema) = &rt.schema {
            let mut pruned = vec![];
            causes.extend(schema::admit(schema, &mut obj, &mut pruned));
            // Only fields the client sent count (old status on a main write was checked before).
            pruned
                .retain(|p| (part == Part::Status) == (p == "status" || p.starts_with("status.")));
            if o.strict && !pruned.is_empty() {
                let list: Vec<String> = pruned
                    .iter()
                    .map(|p| format!("unknown field \"{p}\""))
                    .collect();
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                    list.join(", "),
                    kind = rt.kind,
                    v = t.rt.version,
                )));
            }
        }
        if !causes.is_empty() {
            let name = str_at(&obj, "/metadata/name").to_string();
            return Err(ApiError::invalid(&rt.group, &rt.kind, &name, causes));
        }
        if let Some(old) = old
            && (rt.behaviour.generation || rt.crd.is_some())
            && spec_of(old) != spec_of(&obj)
        {
            let g = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            obj["metadata"]["generation"] = json!(g + 1);
        }
        if !applied {
            // Managed fields the client rewrote explicitly (kubectl's client-side to
            // server-side apply migration does) replace the stored ones.
            let given = obj.pointer("/metadata/managedFields").cloned();
            let stored = old
                .and_then(|o| o.pointer("/metadata/managedFields"))
                .cloned();
            let base = match (given, old) {
                (Some(g), Some(o)) if Some(&g) != stored.as_ref() => {
                    let mut b = o.clone();
                    b["metadata"]["managedFields"] = g;
                    Some(b)
                }
                _ => old.cloned(),
            };
            record_update(&rt, old, base.as_ref(), &mut obj, &o.manager, part, &now());
        }
        if !o.system {
            let op = if old.is_some() {
                Operation::Update
            } else {
                Operation::Create
            };
            admission::validate(self, t, op, old, &obj, o).await?;
        }
        Ok(obj)
    }

    /// Stores a prepared object if `expected_rv` still matches; runs allocation and finalization.
    fn commit(
        &self,
        t: &Target,
        old: Option<&Value>,
        mut obj: Value,
        dry_run: bool,
    ) -> ApiResult<Commit> {
        let key = t.rt.storage_key();
        let ns = t.ns().to_string();
        let name = str_at(&obj, "/metadata/name").to_string();
        let mut st = self.store.lock();
        let cur = st.get(&key, &ns, &name);
        match (old, &cur) {
            (None, Some(_)) => {
                return Err(ApiError::already_exists(&t.rt.group, &t.rt.plural, &name));
            }
            (Some(_), None) => return Ok(Commit::Retry),
            (Some(o), Some(c))
                if str_at(o, "/metadata/resourceVersion")
                    != str_at(c, "/metadata/resourceVersion") =>
            {
                return Ok(Commit::Retry);
            }
            _ => {}
        }
        if t.rt.namespaced && old.is_none() {
            match st.get("/namespaces", "", &ns) {
                None => return Err(ApiError::not_found("", "namespaces", &ns)),
                Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                    let mut e = ApiError::forbidden(
                        &t.rt.group,
                        &t.rt.plural,
                        &name,
                        &format!(
                            "unable to create new content in namespace {ns} because it is being terminated"
                        ),
                    );
                    if let Some(d) = e.details.as_mut() {
                        d["causes"] = json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]);
                    }
                    return Err(e);
                }
                Some(_) => {}
            }
        }
        let is_service = t.rt.group.is_empty() && t.rt.kind == "Service";
        if is_service && !t.is_status() && !dry_run {
            let mut alloc = self.services.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(causes) = alloc.admit(old, &mut obj) {
                return Err(ApiError::invalid("", "Service", &name, causes));
            }
        }
        if let Some(o) = old
            && without_volatile(o) == without_volatile(&obj)
        {
            return Ok(Commit::Done(200, Arc::new(o.clone())));
        }
        if dry_run {
            return Ok(Commit::Done(
                if old.is_some() { 200 } else { 201 },
                Arc::new(obj),
            ));
        }
        if obj.pointer("/metadata/deletionTimestamp").is_some()
            && finalizers(&obj).is_empty()
            && t.rt.kind != "Namespace"
        {
            let gone = st.remove(&key, &ns, &name);
            if is_service && let Some(g) = &gone {
                self.services
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .release(g);
            }
            return Ok(Commit::Done(200, gone.unwrap_or_else(|| Arc::new(obj))));
        }
        let code = if old.is_some() { 200 } else { 201 };
        let stored = st.put(&key, &ns, &name, obj);
        drop(st);
        if t.rt.group == "apiextensions.k8s.io" && t.rt.kind == "CustomResourceDefinition" {
            crd::sync_catalog(self, &stored);
        }
        Ok(Commit::Done(code, stored))
    }

    async fn finish(&self, t: &Target, code: u16, obj: Arc<Value>) -> ApiResult<(u16, Value)> {
        Ok((
            code,
            conversion::to_version(self, &t.rt, (*obj).clone()).await?,
        ))
    }

    pub async fn create(
        &self,
        t: &Target,
        body: Value,
        o: &WriteOptions,
    ) -> ApiResult<(u16, Value)> {
        check_type(&t.rt, &body)?;
        if t.rt.namespaced {
            let body_ns = str_at(&body, "/metadata/namespace");
            if !body_ns.is_empty() && body_ns != t.ns() {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
        let body = conversion::to_storage(self, &t.rt, body).await?;
        let obj = self.prepare(t, None, body, o, false).await?;
        match self.commit(t, None, obj, o.dry_run)? {
            Commit::Done(code, stored) => self.finish(t, code, stored).await,
            Commit::Retry => Err(ApiError::internal("object vanished during create")),
        }
    }

    pub async fn update(
        &self,
        t: &Target,
        body: Value,
        o: &WriteOptions,
    ) -> ApiResult<(u16, Value)> {
        check_type(&t.rt, &body)?;
        let body_name = str_at(&body, "/metadata/name");
        if body_name != t.name() {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({})",
                t.name()
            )));
        }
        let wanted_rv = str_at(&body, "/metadata/resourceVersion").to_string();
        let body = conversion::to_storage(self, &t.rt, body).await?;
        let cur = self.store.lock().get(&t.rt.storage_key(), t.ns(), t.name());
        let Some(cur) = cur else {
            if t.rt.behaviour.create_on_update && !t.is_status() {
                let obj = self.prepare(t, None, body, o, false).await?;
                return match self.commit(t, None, obj, o.dry_run)? {
                    Commit::Done(code, stored) => self.finish(t, code, stored).await,
                    Commit::Retry => Err(ApiError::stale(&t.rt.group, &t.rt.plural, t.name())),
                };
            }
            return Err(ApiError::not_found(&t.rt.group, &t.rt.plural, t.name()));
        };
        if wanted_rv.is_empty() && !(t.rt.behaviour.unconditional_update && t.rt.crd.is_none()) {
            return Err(ApiError::invalid(
                &t.rt.group,
                &t.rt.kind,
                t.name(),
                vec![Cause::invalid(
                    "metadata.resourceVersion",
                    &json!("0x0"),
                    "must be specified for an update",
                )],
            ));
        }
        if !wanted_rv.is_empty() && wanted_rv != str_at(&cur, "/metadata/resourceVersion") {
            return Err(ApiError::stale(&t.rt.group, &t.rt.plural, t.name()));
        }
        let obj = self.prepare(t, Some(&cur), body, o, false).await?;
        match self.commit(t, Some(&cur), obj, o.dry_run)? {
            Commit::Done(code, stored) => self.finish(t, code, stored).await,
            Commit::Retry => Err(ApiError::stale(&t.rt.group, &t.rt.plural, t.name())),
        }
    }

    pub async fn patch(
        &self,
        t: &Target,
        kind: PatchType,
        body: &[u8],
        o: &WriteOptions,
    ) -> ApiResult<(u16, Value)> {
        for _ in 0..8 {
            let cur = self.store.lock().get(&t.rt.storage_key(), t.ns(), t.name());
            let (old, new, applied) = match (kind, cur) {
                (PatchType::Apply, cur) => {
                    let config = parse_apply(&t.rt, t.name(), body)?;
                    if o.manager.is_empty() {
                        return Err(ApiError::bad_request(
                            "PATCH requests with apply patch type must provide fieldManager",
                        ));
                    }
                    let live = match &cur {
                        Some(c) => conversion::to_version(self, &t.rt, (**c).clone()).await?,
                        None => {
                            json!({"apiVersion": t.rt.api_version(), "kind": t.rt.kind, "metadata": {"name": t.name()}})
                        }
                    };
                    let part = if t.is_status() {
                        Part::Status
                    } else {
                        Part::Main
                    };
                    let now = now();
                    let ap = Apply {
                        rt: &t.rt,
                        manager: &o.manager,
                        force: o.force,
                        part,
                        now: &now,
                    };
                    let merged = ap.run(&live, &config)?;
                    (
                        cur,
                        conversion::to_storage(self, &t.rt, merged).await?,
                        true,
                    )
                }
                (_, None) => return Err(ApiError::not_found(&t.rt.group, &t.rt.plural, t.name())),
                (_, Some(cur)) => {
                    let live = conversion::to_version(self, &t.rt, (*cur).clone()).await?;
                    let patched = patch::apply_simple(&t.rt, kind, &live, body)?;
                    let wanted = str_at(&patched, "/metadata/resourceVersion");
                    if !wanted.is_empty() && wanted != str_at(&cur, "/metadata/resourceVersion") {
                        return Err(ApiError::stale(&t.rt.group, &t.rt.plural, t.name()));
                    }
                    check_type(&t.rt, &patched)?;
                    if str_at(&patched, "/metadata/name") != t.name() {
                        return Err(ApiError::bad_request(
                            "metadata.name: the name of the object may not be changed by a patch",
                        ));
                    }
                    (
                        Some(cur),
                        conversion::to_storage(self, &t.rt, patched).await?,
                        false,
                    )
                }
            };
            let old = old.map(|a| (*a).clone());
            if old.is_none() && t.is_status() {
                return Err(ApiError::not_found(&t.rt.group, &t.rt.plural, t.name()));
            }
            let obj = self.prepare(t, old.as_ref(), new, o, applied).await?;
            if let Commit::Done(code, stored) = self.commit(t, old.as_ref(), obj, o.dry_run)? {
                return self.finish(t, code, stored).await;
            }
        }
        Err(ApiError::stale(&t.rt.group, &t.rt.plural, t.name()))
    }

    pub async fn delete(
        &self,
        t: &Target,
        d: &DeleteOptions,
        o: &WriteOptions,
    ) -> ApiResult<(u16, Value)> {
        for _ in 0..8 {
            let cur = self.store.lock().get(&t.rt.storage_key(), t.ns(), t.name());
            let Some(cur) = cur else {
                return Err(ApiError::not_found(&t.rt.group, &t.rt.plural, t.name()));
            };
            if let Some(u) = &d.precondition_uid
                && u != str_at(&cur, "/metadata/uid")
            {
                return Err(ApiError::conflict(
                    &t.rt.group,
                    &t.rt.plural,
                    t.name(),
                    &format!(
                        "Precondition failed: UID in precondition: {u}, UID in object meta: {}",
                        str_at(&cur, "/metadata/uid")
                    ),
                ));
            }
            if let Some(rv) = &d.precondition_rv
                && rv != str_at(&cur, "/metadata/resourceVersion")
            {
                return Err(ApiError::conflict(
                    &t.rt.group,
                    &t.rt.plural,
                    t.name(),
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        str_at(&cur, "/metadata/resourceVersion")
                    ),
                ));
            }
            if !o.system {
                admission::validate(self, t, Operation::Delete, Some(&cur), &cur, o).await?;
            }
            if o.dry_run {
                return self.finish(t, 200, cur).await;
            }
            let uid = str_at(&cur, "/metadata/uid").to_string();
            if d.propagation.as_deref() == Some("Orphan") {
                crate::controllers::orphan_dependents(self, &uid).await;
            }
            let mut next = (*cur).clone();
            let mut fins = finalizers(&next);
            if d.propagation.as_deref() == Some("Foreground")
                && !fins.iter().any(|f| f == "foregroundDeletion")
                && crate::controllers::has_dependents(self, &uid)
            {
                fins.push("foregroundDeletion".into());
                next["metadata"]["finalizers"] = json!(fins);
            }
            let is_namespace = t.rt.group.is_empty() && t.rt.kind == "Namespace";
            if is_namespace {
                if next.pointer("/metadata/deletionTimestamp").is_none() {
                    next["metadata"]["deletionTimestamp"] = json!(now());
                    next["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                }
                next["status"]["phase"] = json!("Terminating");
            } else if !fins.is_empty() {
                if next.pointer("/metadata/deletionTimestamp").is_none() {
                    next["metadata"]["deletionTimestamp"] = json!(now());
                    next["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                }
            } else {
                let gone = {
                    let mut st = self.store.lock();
                    let still = st.get(&t.rt.storage_key(), t.ns(), t.name());
                    if still
                        .as_ref()
                        .map(|s| str_at(s, "/metadata/resourceVersion"))
                        != Some(str_at(&cur, "/metadata/resourceVersion"))
                    {
                        continue;
                    }
                    st.remove(&t.rt.storage_key(), t.ns(), t.name())
                };
                let Some(gone) = gone else { continue };
                if t.rt.group.is_empty() && t.rt.kind == "Service" {
                    self.services
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .release(&gone);
                }
                if t.rt.kind == "CustomResourceDefinition" && t.rt.group == "apiextensions.k8s.io" {
                    crd::remove(self, &gone);
                }
                return self.finish(t, 200, gone).await;
            }
            if without_volatile(&next) == without_volatile(&cur) {
                return self.finish(t, 200, cur).await;
            }
            let stored = {
                let mut st = self.store.lock();
                let still = st.get(&t.rt.storage_key(), t.ns(), t.name());
                if still
                    .as_ref()
                    .map(|s| str_at(s, "/metadata/resourceVersion"))
                    != Some(str_at(&cur, "/metadata/resourceVersion"))
                {
                    None
                } else {
                    Some(st.put(&t.rt.storage_key(), t.ns(), t.name(), next))
                }
            };
            let Some(stored) = stored else { continue };
            return self.finish(t, 200, stored).await;
        }
        Err(ApiError::stale(&t.rt.group, &t.rt.plural, t.name()))
    }

    pub async fn delete_collection(
        &self,
        t: &Target,
        lo: &ListOptions,
        d: &DeleteOptions,
        o: &WriteOptions,
    ) -> ApiResult<Value> {
        let objs = {
            let st = self.store.lock();
            let ns = if t.rt.namespaced {
                t.namespace.as_deref()
            } else {
                None
            };
            st.list(&t.rt.storage_key(), ns)
        };
        let mut items = vec![];
        for obj in objs.iter().filter(|x| lo.matches(x)) {
            let mut one = t.clone();
            one.name = Some(str_at(obj, "/metadata/name").to_string());
            one.namespace = Some(str_at(obj, "/metadata/namespace").to_string());
            match self.delete(&one, d, o).await {
                Ok((_, v)) => items.push(v),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let rv = self.store.lock().current_rv();
        Ok(
            json!({"kind": t.rt.list_kind(), "apiVersion": t.rt.api_version(),
            "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
        )
    }
}

/// `type` defaults to Opaque; `stringData` is folded into `data` (base64) and dropped.
fn secret_defaults(obj: &mut Value) {
    use base64::Engine;
    if obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .is_empty()
    {
        obj["type"] = json!("Opaque");
    }
    let Some(string_data) = obj.as_object_mut().and_then(|m| m.remove("stringData")) else {
        return;
    };
    for (k, v) in string_data.as_object().into_iter().flatten() {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
        obj["data"][k] = json!(encoded);
    }
}

fn parse_apply(rt: &ResourceType, name: &str, body: &[u8]) -> ApiResult<Value> {
    let config: Value = serde_yaml::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: expected an object",
        ));
    }
    let av = str_at(&config, "/apiVersion");
    let kind = str_at(&config, "/kind");
    if av.is_empty() || kind.is_empty() {
        return Err(ApiError::bad_request(
            "error decoding patch: Object 'Kind' is missing in apply configuration",
        ));
    }
    if av != rt.api_version() || kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    let n = str_at(&config, "/metadata/name");
    if !n.is_empty() && n != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({name})"
        )));
    }
    Ok(config)
}
