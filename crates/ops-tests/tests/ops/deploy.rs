//! The deployment files under `deploy/` (container image, Kubernetes manifests, compose demo
//! stack). This project's CI has no container engine, so none of them can be run here; they are
//! checked instead: every YAML and JSON file parses, the Dockerfile builds in stages and runs
//! as a non-root user, every exporter flag exists, every port is the exporter's 9866 (or
//! Prometheus's 9090, Grafana's 3000), every repository path they mount exists, the probes use
//! the exporter's endpoints, the ConfigMap's configuration passes `--check-config`, and
//! `deploy/kubernetes/prometheusrule.yaml` is what `alerts/*.yml` generates.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ops_tests::{read, repo_file, repo_root, run_tool, workspace_binary};
use serde_json::Value;

use crate::systemd::{assert_flags_exist, flags_in};

const EXPORTER_PORT: u64 = 9866;
const PROMETHEUS_PORT: u64 = 9090;
const GRAFANA_PORT: u64 = 3000;
const PROMETHEUS_RULE: &str = "deploy/kubernetes/prometheusrule.yaml";

/// Every file under `deploy/`, as paths from the repository root, sorted.
fn deploy_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = repo_root();
    let mut files = Vec::new();
    walk(&repo_file("deploy"), &mut files);
    let mut names: Vec<String> = files
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).expect("under the repository");
            rel.to_str().expect("UTF-8 path").to_owned()
        })
        .collect();
    names.sort();
    names
}

/// The documents of a YAML file (empty ones, e.g. after a trailing `---`, left out).
fn yaml_documents(path: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(&read(path))
        .unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The single document of a YAML file.
fn yaml(path: &str) -> Value {
    let mut docs = yaml_documents(path);
    assert_eq!(docs.len(), 1, "{path}: expected one YAML document");
    docs.remove(0)
}

fn str_at<'a>(value: &'a Value, pointer: &str, path: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{path}: no string at {pointer}"))
}

fn array_at<'a>(value: &'a Value, pointer: &str, path: &str) -> &'a Vec<Value> {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{path}: no list at {pointer}"))
}

fn strings(values: &[Value]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// The Kubernetes objects of `deploy/kubernetes/`, with their file.
fn kubernetes_objects() -> Vec<(String, Value)> {
    deploy_files()
        .into_iter()
        .filter(|f| f.starts_with("deploy/kubernetes/") && f.ends_with(".yaml"))
        .flat_map(|f| yaml_documents(&f).into_iter().map(move |d| (f.clone(), d)))
        .collect()
}

/// The dms_exporter containers of every workload (Deployment, sidecar example), with their
/// pod spec and file.
fn exporter_containers() -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    for (file, object) in kubernetes_objects() {
        let Some(pod) = object.pointer("/spec/template/spec") else {
            continue;
        };
        for container in array_at(pod, "/containers", &file) {
            if str_at(container, "/image", &file).contains("dms_exporter") {
                out.push((file.clone(), pod.clone(), container.clone()));
            }
        }
    }
    assert!(
        out.len() >= 2,
        "expected the Deployment's and the sidecar example's containers"
    );
    out
}

#[test]
fn deploy_every_file_parses() {
    let files = deploy_files();
    assert!(!files.is_empty());
    for file in &files {
        if file.ends_with(".yaml") || file.ends_with(".yml") {
            let docs = yaml_documents(file);
            assert!(!docs.is_empty(), "{file} has no YAML document");
            if file.starts_with("deploy/kubernetes/") {
                for doc in &docs {
                    str_at(doc, "/apiVersion", file);
                    str_at(doc, "/kind", file);
                    // Namespace-agnostic: applied with `kubectl apply -n <namespace>`.
                    assert!(
                        doc.pointer("/metadata/namespace").is_none(),
                        "{file} sets a namespace"
                    );
                }
            }
        } else if file.ends_with(".json") {
            serde_json::from_str::<Value>(&read(file))
                .unwrap_or_else(|e| panic!("{file} is not valid JSON: {e}"));
        }
    }
}

#[test]
fn deploy_readme_describes_every_file() {
    let readme = read("deploy/README.md");
    for file in deploy_files() {
        let rel = file.trim_start_matches("deploy/");
        if rel != "README.md" {
            assert!(
                readme.contains(&format!("`{rel}`")),
                "deploy/README.md does not describe `{rel}`"
            );
        }
    }
    assert!(
        readme.contains("container engine"),
        "deploy/README.md says why nothing runs in CI"
    );
}

/// The Dockerfile's instructions (continuation lines joined, comments left out) by stage.
fn dockerfile_stages() -> Vec<Vec<(String, String)>> {
    let text = read("deploy/Dockerfile");
    let mut stages: Vec<Vec<(String, String)>> = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && logical.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            logical.push_str(head);
            logical.push(' ');
            continue;
        }
        logical.push_str(trimmed);
        let (instruction, args) = logical.split_once(' ').unwrap_or((&logical, ""));
        let instruction = instruction.to_uppercase();
        if instruction == "FROM" {
            stages.push(Vec::new());
        }
        let stage = stages.last_mut().expect("the Dockerfile starts with FROM");
        stage.push((instruction, args.trim().to_owned()));
        logical.clear();
    }
    stages
}

#[test]
fn deploy_dockerfile_is_multi_stage_non_root_and_exposes_9866() {
    let stages = dockerfile_stages();
    assert!(stages.len() >= 2, "deploy/Dockerfile: a multi-stage build");
    let find = |stage: &[(String, String)], instruction: &str| -> Vec<String> {
        stage
            .iter()
            .filter(|(i, _)| i == instruction)
            .map(|(_, a)| a.clone())
            .collect()
    };
    let builder = &stages[0];
    let from = &find(builder, "FROM")[0];
    assert!(
        from.starts_with("rust:") && from.ends_with(" AS builder"),
        "builder stage: {from}"
    );
    assert!(
        find(builder, "RUN")
            .iter()
            .any(|r| r.contains("cargo build --release -p dms_exporter --locked")),
        "the builder runs cargo build --release -p dms_exporter --locked"
    );
    let last = stages.last().expect("a final stage");
    let base = &find(last, "FROM")[0];
    assert!(
        find(last, "COPY")
            .iter()
            .any(|c| c.starts_with("--from=builder ")),
        "the final stage copies the binary from the builder"
    );
    // HTTPS to Huawei Cloud needs CA certificates: distroless includes them, Debian installs them.
    let distroless = base.starts_with("gcr.io/distroless/");
    assert!(
        distroless
            || find(last, "RUN")
                .iter()
                .any(|r| r.contains("ca-certificates")),
        "the final stage ({base}) has CA certificates"
    );
    let user = find(last, "USER");
    let user = user.last().map(String::as_str).unwrap_or("root");
    let name = user.split(':').next().unwrap_or(user);
    assert!(
        name != "root" && name != "0",
        "the final stage runs as {user}, not a non-root user"
    );
    assert_eq!(
        find(last, "EXPOSE"),
        ["9866"],
        "the final stage exposes 9866 only"
    );
    let entrypoint: Vec<String> =
        serde_json::from_str(&find(last, "ENTRYPOINT")[0]).expect("ENTRYPOINT in JSON (exec) form");
    assert_eq!(entrypoint, ["/usr/local/bin/dms_exporter"]);
    for cmd in find(last, "CMD") {
        let cmd: Vec<String> = serde_json::from_str(&cmd).expect("CMD in JSON (exec) form");
        assert_flags_exist(&flags_in(&cmd.join(" ")), "deploy/Dockerfile CMD");
    }
    // The build context (repository root) leaves out target/ through the Dockerfile's own
    // ignore file, which BuildKit reads next to it.
    assert!(
        read("deploy/Dockerfile.dockerignore")
            .lines()
            .any(|l| l.trim() == "target/")
    );
}

/// The compose file's services.
fn compose_services() -> serde_json::Map<String, Value> {
    let compose = yaml("deploy/compose/compose.yaml");
    compose
        .get("services")
        .and_then(Value::as_object)
        .cloned()
        .expect("compose.yaml has services")
}

/// A compose `command`, as a list whether written as a list or a string.
fn compose_command(service: &Value) -> Vec<String> {
    match service.get("command") {
        Some(Value::Array(items)) => strings(items),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn deploy_exporter_flags_exist() {
    for (file, _, container) in exporter_containers() {
        let args = strings(array_at(&container, "/args", &file));
        let flags = flags_in(&args.join(" "));
        assert!(flags.contains("--config.file"), "{file}: args {args:?}");
        assert_flags_exist(&flags, &file);
    }
    let services = compose_services();
    let exporter = services
        .get("dms_exporter")
        .expect("compose service dms_exporter");
    let command = compose_command(exporter);
    assert!(
        command.contains(&"--demo".to_owned()),
        "the compose exporter runs --demo"
    );
    assert_flags_exist(&flags_in(&command.join(" ")), "deploy/compose/compose.yaml");
    // Prometheus's own flags, when its binary is here to ask (scripts/test installs it).
    if let Ok(output) = std::process::Command::new("prometheus")
        .arg("--help")
        .output()
    {
        let help = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let known = flags_in(&help);
        let prometheus = services
            .get("prometheus")
            .expect("compose service prometheus");
        for flag in flags_in(&compose_command(prometheus).join(" ")) {
            assert!(
                known.contains(&flag),
                "compose prometheus: prometheus has no {flag}"
            );
        }
    }
}

/// The port of an address such as `:9866`, `host:9866` or `http://host:9866/path`.
fn port_of(address: &str) -> u64 {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let (_, port) = host_port
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("no port in {address}"));
    port.parse()
        .unwrap_or_else(|e| panic!("port of {address}: {e}"))
}

#[test]
fn deploy_ports_are_the_exporters() {
    // Kubernetes: the exporter's container port, its probes, the Service, the ServiceMonitor.
    for (file, _, container) in exporter_containers() {
        let ports = array_at(&container, "/ports", &file);
        assert_eq!(ports.len(), 1, "{file}: one port");
        assert_eq!(str_at(&ports[0], "/name", &file), "metrics");
        assert_eq!(
            ports[0].pointer("/containerPort").and_then(Value::as_u64),
            Some(EXPORTER_PORT)
        );
        let args = strings(array_at(&container, "/args", &file));
        for arg in args
            .iter()
            .filter_map(|a| a.strip_prefix("--web.listen-address="))
        {
            assert_eq!(port_of(arg), EXPORTER_PORT, "{file}: {arg}");
        }
        for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if let Some(port) = container.pointer(&format!("/{probe}/httpGet/port")) {
                assert!(
                    port == "metrics" || port.as_u64() == Some(EXPORTER_PORT),
                    "{file}: {probe} port {port}"
                );
            }
        }
    }
    for (file, object) in kubernetes_objects() {
        match str_at(&object, "/kind", &file) {
            "Service" => {
                let ports = array_at(&object, "/spec/ports", &file);
                assert_eq!(ports.len(), 1, "{file}: one port");
                assert_eq!(str_at(&ports[0], "/name", &file), "metrics");
                assert_eq!(
                    ports[0].pointer("/port").and_then(Value::as_u64),
                    Some(EXPORTER_PORT)
                );
                let target = ports[0].pointer("/targetPort").expect("targetPort");
                assert!(target == "metrics" || target.as_u64() == Some(EXPORTER_PORT));
            }
            "ServiceMonitor" => {
                for endpoint in array_at(&object, "/spec/endpoints", &file) {
                    assert_eq!(str_at(endpoint, "/port", &file), "metrics");
                    assert_eq!(str_at(endpoint, "/path", &file), "/metrics");
                }
            }
            _ => {}
        }
    }
    // Compose: each service publishes its own port, unchanged.
    let services = compose_services();
    for (name, port) in [
        ("dms_exporter", EXPORTER_PORT),
        ("prometheus", PROMETHEUS_PORT),
        ("grafana", GRAFANA_PORT),
    ] {
        let service = services
            .get(name)
            .unwrap_or_else(|| panic!("compose service {name}"));
        let published = strings(array_at(service, "/ports", name));
        assert_eq!(
            published,
            [format!("{port}:{port}")],
            "compose {name} ports"
        );
        for flag in compose_command(service) {
            if let Some(address) = flag.strip_prefix("--web.listen-address=") {
                assert_eq!(port_of(address), port, "compose {name}: {flag}");
            }
        }
    }
    // Prometheus scrapes the exporter (and itself); Grafana reads Prometheus.
    let prometheus = yaml("deploy/compose/prometheus.yml");
    let mut targets = BTreeSet::new();
    for job in array_at(&prometheus, "/scrape_configs", "prometheus.yml") {
        for config in array_at(job, "/static_configs", "prometheus.yml") {
            for target in strings(array_at(config, "/targets", "prometheus.yml")) {
                targets.insert(target);
            }
        }
    }
    assert!(
        targets.contains("dms_exporter:9866"),
        "prometheus.yml scrapes dms_exporter:9866"
    );
    for target in &targets {
        assert!(
            [EXPORTER_PORT, PROMETHEUS_PORT].contains(&port_of(target)),
            "target {target}"
        );
    }
    let datasources = yaml("deploy/compose/grafana/provisioning/datasources/prometheus.yml");
    for source in array_at(&datasources, "/datasources", "datasources") {
        assert_eq!(
            str_at(source, "/url", "datasources"),
            "http://prometheus:9090"
        );
    }
}

#[test]
fn deploy_probes_use_the_exporters_endpoints() {
    for (file, _, container) in exporter_containers() {
        assert_eq!(
            str_at(&container, "/livenessProbe/httpGet/path", &file),
            "/-/healthy"
        );
        assert_eq!(
            str_at(&container, "/readinessProbe/httpGet/path", &file),
            "/-/ready"
        );
        if let Some(path) = container.pointer("/startupProbe/httpGet/path") {
            assert_eq!(
                path, "/-/healthy",
                "{file}: the startup probe must not wait for readiness"
            );
        }
    }
}

#[test]
fn deploy_kubernetes_containers_are_locked_down() {
    for (file, pod, container) in exporter_containers() {
        let nonroot = |p: &str| container.pointer(p).or_else(|| pod.pointer(p));
        assert_eq!(
            nonroot("/securityContext/runAsNonRoot").and_then(Value::as_bool),
            Some(true),
            "{file}: runAsNonRoot"
        );
        let uid = container
            .pointer("/securityContext/runAsUser")
            .or_else(|| pod.pointer("/securityContext/runAsUser"));
        assert!(
            uid.and_then(Value::as_u64).is_some_and(|u| u > 0),
            "{file}: a non-root runAsUser"
        );
        let context = container
            .pointer("/securityContext")
            .expect("container securityContext");
        assert_eq!(
            context.pointer("/readOnlyRootFilesystem"),
            Some(&Value::Bool(true)),
            "{file}"
        );
        assert_eq!(
            context.pointer("/allowPrivilegeEscalation"),
            Some(&Value::Bool(false)),
            "{file}"
        );
        assert_eq!(
            context.pointer("/capabilities/drop"),
            Some(&serde_json::json!(["ALL"])),
            "{file}: drop ALL capabilities"
        );
        assert!(
            container.pointer("/resources/requests/memory").is_some(),
            "{file}: requests"
        );
        assert!(
            container.pointer("/resources/limits/memory").is_some(),
            "{file}: memory limit"
        );
        assert_eq!(
            pod.pointer("/automountServiceAccountToken"),
            Some(&Value::Bool(false)),
            "{file}"
        );
        // Credentials never on the command line.
        let args = strings(array_at(&container, "/args", &file)).join(" ");
        assert!(
            !args.contains("key"),
            "{file}: credentials on the command line: {args}"
        );
    }
    let secret = yaml("deploy/kubernetes/secret.yaml");
    assert!(secret.get("data").is_none(), "secret.yaml uses stringData");
    let data = secret
        .pointer("/stringData")
        .and_then(Value::as_object)
        .expect("stringData");
    for (key, value) in data {
        assert!(
            value.as_str().is_some_and(|v| v.starts_with("REPLACE")),
            "secret.yaml {key}: a placeholder"
        );
    }
}

/// The path of the file a volume mount of `container` exposes at `path`, as
/// (volume, path inside the volume).
fn mounted<'a>(container: &'a Value, path: &str) -> Option<(&'a str, String)> {
    container
        .get("volumeMounts")?
        .as_array()?
        .iter()
        .find_map(|mount| {
            let at = mount.get("mountPath")?.as_str()?;
            let rest = path.strip_prefix(at)?.strip_prefix('/')?;
            Some((mount.get("name")?.as_str()?, rest.to_owned()))
        })
}

/// The ConfigMap named `name` that the workload of `file` mounts: the one of its own
/// directory, else `deploy/kubernetes/`'s (the sharded set and the sidecar example use it).
fn configmap_for(file: &str, name: &str) -> Value {
    let dir = |f: &str| Path::new(f).parent().map(Path::to_path_buf);
    let named: Vec<(String, Value)> = kubernetes_objects()
        .into_iter()
        .filter(|(_, o)| {
            o.get("kind").and_then(Value::as_str) == Some("ConfigMap")
                && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
        })
        .collect();
    named
        .iter()
        .find(|(f, _)| dir(f) == dir(file))
        .or_else(|| {
            named
                .iter()
                .find(|(f, _)| f == "deploy/kubernetes/configmap.yaml")
        })
        .map(|(_, o)| o.clone())
        .unwrap_or_else(|| panic!("{file}: no ConfigMap {name}"))
}

/// The configuration file and the credentials reach the exporter: `--config.file` is a key of
/// the ConfigMap, mounted; the ConfigMap's configuration passes `--check-config`; its
/// credential files are keys of the Secret, mounted — or, with workload identity, its token
/// file is the projected service-account token for the identity provider, and the pod runs
/// as the ServiceAccount of its directory.
#[test]
fn deploy_kubernetes_config_and_credentials_are_wired() {
    let secret = yaml("deploy/kubernetes/secret.yaml");
    let secret_name = str_at(&secret, "/metadata/name", "secret.yaml");
    let mut by_source = (0, 0);
    for (file, pod, container) in exporter_containers() {
        let volumes = array_at(&pod, "/volumes", &file);
        let volume = |name: &str| {
            volumes
                .iter()
                .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
                .unwrap_or_else(|| panic!("{file}: no volume {name}"))
        };
        let args = strings(array_at(&container, "/args", &file));
        let config_path = args
            .iter()
            .find_map(|a| a.strip_prefix("--config.file="))
            .unwrap_or_else(|| panic!("{file}: --config.file=…"));
        let (name, key) = mounted(&container, config_path)
            .unwrap_or_else(|| panic!("{file}: {config_path} is not on a mounted volume"));
        let configmap = configmap_for(&file, str_at(volume(name), "/configMap/name", &file));
        let config = str_at(&configmap, &format!("/data/{key}"), "configmap.yaml");

        let credential_files: &[&str] = if config.contains("access_key_file:") {
            by_source.0 += 1;
            for credential in ["access_key_file", "secret_key_file"] {
                let path = config_value(config, credential);
                let (name, key) = mounted(&container, &path)
                    .unwrap_or_else(|| panic!("{file}: {path} is not on a mounted volume"));
                assert_eq!(
                    str_at(volume(name), "/secret/secretName", &file),
                    secret_name,
                    "{file}"
                );
                assert!(
                    secret.pointer(&format!("/stringData/{key}")).is_some(),
                    "secret.yaml has {key}"
                );
            }
            &["access_key_file", "secret_key_file"]
        } else {
            by_source.1 += 1;
            assert_eq!(config_value(config, "source"), "id_token", "{file}");
            let path = config_value(config, "token_file");
            let (name, key) = mounted(&container, &path)
                .unwrap_or_else(|| panic!("{file}: {path} is not on a mounted volume"));
            let token = array_at(volume(name), "/projected/sources", &file)
                .iter()
                .find_map(|source| source.get("serviceAccountToken"))
                .unwrap_or_else(|| panic!("{file}: {name} is no projected token"));
            assert_eq!(str_at(token, "/path", &file), key, "{file}");
            assert_eq!(
                str_at(token, "/audience", &file),
                config_value(config, "idp_id"),
                "{file}: the token's audience is the identity provider's"
            );
            let account = str_at(&pod, "/serviceAccountName", &file);
            let dir = Path::new(&file).parent().map(Path::to_path_buf);
            let service_account = kubernetes_objects()
                .into_iter()
                .find(|(f, o)| {
                    Path::new(f).parent().map(Path::to_path_buf) == dir
                        && o.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                        && o.pointer("/metadata/name").and_then(Value::as_str) == Some(account)
                })
                .unwrap_or_else(|| panic!("{file}: no ServiceAccount {account} beside it"));
            assert_eq!(
                service_account.1.get("automountServiceAccountToken"),
                Some(&Value::Bool(false)),
                "{file}: the ServiceAccount mounts no API token"
            );
            &["token_file"]
        };

        // `--check-config` reads the credential files: stand-ins for the mounted ones.
        let mut config = config.to_owned();
        let secrets =
            std::env::temp_dir().join(format!("dms_exporter-ops-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&secrets).expect("scratch secrets directory");
        for credential in credential_files {
            let path = config_value(&config, credential);
            let stand_in = secrets.join(credential);
            std::fs::write(&stand_in, "stand-in.id.token\n").expect("write a stand-in credential");
            config = config.replace(&path, stand_in.to_str().expect("UTF-8 path"));
        }
        let scratch =
            std::env::temp_dir().join(format!("dms_exporter-ops-cm-{}.yml", std::process::id()));
        std::fs::write(&scratch, &config).expect("write the ConfigMap's configuration");
        let output = run_tool(
            workspace_binary("dms_exporter")
                .to_str()
                .expect("UTF-8 path"),
            &[
                "--check-config",
                "--config.file",
                scratch.to_str().expect("UTF-8 path"),
            ],
        );
        let _ = std::fs::remove_file(&scratch);
        let _ = std::fs::remove_dir_all(&secrets);
        assert!(
            output.status.success(),
            "{file}'s configuration: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The Deployment, the sidecar example and the StatefulSet with keys; the workload
    // identity Deployment with a token.
    assert_eq!(by_source, (3, 1), "workloads by credential source");
}

/// Every workload passes `--state.file` (the Kafka log end histories) on a writable volume:
/// the root file system is read-only and the file is written beside itself, then renamed. A
/// StatefulSet's shards keep theirs in a claim template, one volume per shard that outlives
/// the pod; the Deployments may use an emptyDir, which outlives container restarts.
#[test]
fn deploy_kubernetes_state_file_is_on_a_writable_volume() {
    let mut checked = 0;
    for (file, object) in kubernetes_objects() {
        let Some(pod) = object.pointer("/spec/template/spec") else {
            continue;
        };
        let stateful = str_at(&object, "/kind", &file) == "StatefulSet";
        for container in array_at(pod, "/containers", &file) {
            if !str_at(container, "/image", &file).contains("dms_exporter") {
                continue;
            }
            let args = strings(array_at(container, "/args", &file));
            let path = args
                .iter()
                .find_map(|a| a.strip_prefix("--state.file="))
                .unwrap_or_else(|| panic!("{file}: no --state.file=… in {args:?}"));
            let (name, rest) = mounted(container, path)
                .unwrap_or_else(|| panic!("{file}: {path} is not on a mounted volume"));
            assert!(
                !rest.contains('/'),
                "{file}: {path} is not at the mount's top"
            );
            let mount = array_at(container, "/volumeMounts", &file)
                .iter()
                .find(|m| m.get("name").and_then(Value::as_str) == Some(name))
                .expect("the mount found above");
            assert_ne!(
                mount.get("readOnly").and_then(Value::as_bool),
                Some(true),
                "{file}: {name} is mounted read-only"
            );
            // A pod volume is named at `name`, a claim template at `metadata.name`.
            fn named<'a>(list: Option<&'a Value>, name: &str) -> Option<&'a Value> {
                list?.as_array()?.iter().find(|v| {
                    v.get("name").and_then(Value::as_str) == Some(name)
                        || v.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
                })
            }
            if stateful {
                let claim = named(object.pointer("/spec/volumeClaimTemplates"), name)
                    .unwrap_or_else(|| panic!("{file}: {name} is not a volumeClaimTemplate"));
                assert!(
                    claim.pointer("/spec/resources/requests/storage").is_some(),
                    "{file}: the claim {name} requests storage"
                );
            } else {
                let volume = named(pod.get("volumes"), name)
                    .unwrap_or_else(|| panic!("{file}: no volume {name}"));
                assert!(
                    volume.get("emptyDir").is_some()
                        || volume.get("persistentVolumeClaim").is_some(),
                    "{file}: {name} is neither an emptyDir nor a claim: {volume}"
                );
            }
            checked += 1;
        }
    }
    // The Deployment, the sidecar example, the StatefulSet and the workload identity
    // Deployment.
    assert_eq!(checked, 4, "exporter containers with --state.file");
}

/// A `key: value` of the configuration text, wherever it is nested.
fn config_value(config: &str, key: &str) -> String {
    config
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("configmap.yaml: no {key}"))
}

/// Compose volume sources relative to `deploy/compose/`, as (source, target) pairs.
fn compose_volumes(service: &Value) -> Vec<(String, String)> {
    let Some(Value::Array(volumes)) = service.get("volumes") else {
        return Vec::new();
    };
    strings(volumes)
        .into_iter()
        .map(|v| {
            let mut parts = v.splitn(3, ':');
            let source = parts.next().unwrap_or_default().to_owned();
            let target = parts
                .next()
                .unwrap_or_else(|| panic!("volume {v}"))
                .to_owned();
            (source, target)
        })
        .collect()
}

#[test]
fn deploy_repository_paths_exist() {
    let compose_dir = repo_file("deploy/compose");
    let services = compose_services();
    // Every bind mount's source, and the build's context and Dockerfile.
    let mut mounts: Vec<(String, String, String)> = Vec::new();
    for (name, service) in &services {
        for (source, target) in compose_volumes(service) {
            if source.starts_with('.') {
                let path = compose_dir.join(&source);
                assert!(
                    path.exists(),
                    "compose {name}: {source} ({}) does not exist",
                    path.display()
                );
                mounts.push((name.clone(), source, target));
            }
        }
        if let Some(build) = service.get("build") {
            let context = compose_dir.join(str_at(build, "/context", name));
            assert!(
                context.join("Cargo.toml").exists(),
                "compose {name}: build context"
            );
            assert!(
                context.join(str_at(build, "/dockerfile", name)).exists(),
                "compose {name}: Dockerfile"
            );
        }
    }
    let target_of = |service: &str, source: &str| -> String {
        mounts
            .iter()
            .find(|(s, src, _)| s == service && src == source)
            .map(|(_, _, t)| t.clone())
            .unwrap_or_else(|| panic!("compose {service} does not mount {source}"))
    };
    // Prometheus: its configuration and the repository's alert rules.
    let config_target = target_of("prometheus", "./prometheus.yml");
    let command = compose_command(&services["prometheus"]);
    assert!(
        command.contains(&format!("--config.file={config_target}")),
        "prometheus --config.file"
    );
    let alerts_target = target_of("prometheus", "../../alerts");
    let prometheus = yaml("deploy/compose/prometheus.yml");
    let rule_files = strings(array_at(&prometheus, "/rule_files", "prometheus.yml"));
    assert!(
        rule_files
            .iter()
            .any(|r| r.starts_with(&format!("{alerts_target}/"))),
        "prometheus.yml loads the mounted alerts: {rule_files:?}"
    );
    // Grafana: provisioning, and the repository's dashboards where the provider looks.
    let provisioning = target_of("grafana", "./grafana/provisioning");
    assert_eq!(provisioning, "/etc/grafana/provisioning");
    let dashboards_target = target_of("grafana", "../../dashboards");
    let providers = yaml("deploy/compose/grafana/provisioning/dashboards/dms.yml");
    for provider in array_at(&providers, "/providers", "dms.yml") {
        assert_eq!(
            str_at(provider, "/options/path", "dms.yml"),
            dashboards_target
        );
    }
    // Kustomize's resources, of every kustomization.
    for file in deploy_files()
        .into_iter()
        .filter(|f| f.ends_with("/kustomization.yaml"))
    {
        let dir = Path::new(&file).parent().expect("a directory");
        let kustomization = yaml(&file);
        for resource in strings(array_at(&kustomization, "/resources", &file)) {
            assert!(
                repo_file(dir.join(&resource).to_str().expect("UTF-8 path")).exists(),
                "{file}: {resource}"
            );
        }
    }
}

/// The alert rule files, `alerts/*.yml` and `alerts/*.yaml` (not the promtool tests in
/// `alerts/tests/`), sorted.
fn rule_files() -> Vec<String> {
    let dir = repo_file("alerts");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<String> = entries
        .map(|e| {
            e.expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".yml") || n.ends_with(".yaml"))
        .map(|n| format!("alerts/{n}"))
        .collect();
    files.sort();
    files
}

const PROMETHEUS_RULE_HEADER: &str = "\
# GENERATED from alerts/*.yml by crates/ops-tests/tests/ops/deploy.rs: do not edit. Regenerate:
#   UPDATE_GOLDEN=1 cargo test -p ops-tests --test ops deploy
# The project's alert rules for the Prometheus Operator. Its Prometheus selects rules by label
# (ruleSelector): add yours, e.g. `release: kube-prometheus-stack`.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: dms-exporter
  labels:
    app.kubernetes.io/name: dms-exporter
spec:
  groups:
";

/// `deploy/kubernetes/prometheusrule.yaml` as generated from the rule files: each file's
/// `groups:` list (comments included) re-indented under `spec.groups`.
fn generate_prometheus_rule() -> String {
    let mut out = PROMETHEUS_RULE_HEADER.to_owned();
    let mut any = false;
    for file in rule_files() {
        let text = read(&file);
        let lines: Vec<&str> = text.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.starts_with("groups:"))
            .unwrap_or_else(|| panic!("{file}: no top-level `groups:`"));
        assert_eq!(
            lines[start].split('#').next().map(str::trim_end),
            Some("groups:"),
            "{file}: write `groups:` as a block list"
        );
        let body = &lines[start + 1..];
        let indent = |l: &str| l.len() - l.trim_start().len();
        let Some(item) = body
            .iter()
            .find(|l| l.trim_start().starts_with("- "))
            .map(|l| indent(l))
        else {
            continue;
        };
        any = true;
        out.push_str(&format!("    # From {file}.\n"));
        for line in body {
            let content = line.trim_start();
            if content.is_empty() {
                out.push('\n');
                continue;
            }
            let depth = if content.starts_with('#') {
                indent(line).max(item) - item
            } else {
                assert!(
                    indent(line) >= item,
                    "{file}: line outside the groups list: {line}"
                );
                indent(line) - item
            };
            out.push_str(&" ".repeat(4 + depth));
            out.push_str(content);
            out.push('\n');
        }
    }
    if !any {
        out = out.replace("  groups:\n", "  groups: []\n");
    }
    format!("{}\n", out.trim_end())
}

#[test]
fn deploy_prometheusrule_is_generated_from_the_alerts() {
    let generated = generate_prometheus_rule();
    // The generated object holds exactly the rule files' groups, in order.
    let object: Value =
        serde_saphyr::from_str(&generated).expect("the generated PrometheusRule parses");
    let mut groups = Vec::new();
    for file in rule_files() {
        let rules = yaml(&file);
        groups.extend(array_at(&rules, "/groups", &file).iter().cloned());
    }
    assert_eq!(
        object.pointer("/spec/groups"),
        Some(&Value::Array(groups)),
        "generated groups"
    );

    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(repo_file(PROMETHEUS_RULE), &generated).expect("write prometheusrule.yaml");
        return;
    }
    let current = std::fs::read_to_string(repo_file(PROMETHEUS_RULE)).unwrap_or_default();
    assert!(
        current == generated,
        "{PROMETHEUS_RULE} is not what alerts/*.yml generates; regenerate it with\n  \
         UPDATE_GOLDEN=1 cargo test -p ops-tests --test ops deploy"
    );
}

/// The kustomize patch docs/runbooks.md shows for changing a threshold in the PrometheusRule
/// points at the parameter it names: its `test` op holds, and the value it replaces is a
/// parameter's `vector(<number>)`.
#[test]
fn deploy_documented_threshold_patch_matches_the_prometheusrule() {
    let runbooks = read("docs/runbooks.md");
    let test_op = regex::Regex::new(
        r"(?m)^\s*- op: test\n\s*path: (/spec/groups/\d+/rules/\d+)/record\n\s*value: (\S+)\n\s*- op: replace\n\s*path: (\S+)\n\s*value: (\S+)",
    )
    .expect("regex");
    let patch = test_op
        .captures(&runbooks)
        .expect("docs/runbooks.md shows a kustomize patch of a parameter");
    let rule = yaml(PROMETHEUS_RULE);
    let record = rule
        .pointer(&format!("{}/record", &patch[1]))
        .and_then(Value::as_str);
    assert_eq!(
        record,
        Some(&patch[2]),
        "{PROMETHEUS_RULE}: {}/record",
        &patch[1]
    );
    assert!(
        patch[2].starts_with("dms:alert_threshold:"),
        "the patch changes {}, not a parameter",
        &patch[2]
    );
    assert_eq!(
        &patch[3],
        &format!("{}/expr", &patch[1]),
        "the replaced path"
    );
    let current = rule
        .pointer(&patch[3])
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        current.trim().starts_with("vector(") && patch[4].starts_with("vector("),
        "{}: {current} replaced by {}",
        &patch[3],
        &patch[4]
    );
}

/// The shipped Alertmanager configuration (routing and inhibit rules) is valid; the alerts it
/// names are checked in alerts.rs.
#[test]
fn deploy_alertmanager_config_is_valid() {
    let file = "deploy/alertmanager/alertmanager.yml";
    let output = run_tool("amtool", &["check-config", file]);
    assert!(
        output.status.success(),
        "amtool check-config {file}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // amtool accepts an empty list: the inhibitions are what this file is for.
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("inhibit rules"),
        "amtool found no inhibit rules in {file}"
    );
}

#[test]
fn deploy_compose_prometheus_config_is_valid() {
    // The rule_files glob points inside the container, so it matches nothing here: promtool
    // checks the configuration itself (the rules are checked by the alerts tests).
    let output = run_tool(
        "promtool",
        &["check", "config", "deploy/compose/prometheus.yml"],
    );
    assert!(
        output.status.success(),
        "promtool check config deploy/compose/prometheus.yml:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The sharded StatefulSet runs as many shards as `--total-shards` says, each pod's shard is
/// its ordinal (the pod-index label through the downward API), its headless Service reaches
/// every pod, and both scrape configurations target that Service's metrics port.
#[test]
fn deploy_sharded_statefulset_is_consistent() {
    const DIR: &str = "deploy/kubernetes/sharded";
    let statefulset = yaml(&format!("{DIR}/statefulset.yaml"));
    let service = yaml(&format!("{DIR}/service.yaml"));
    let file = "statefulset.yaml";
    assert_eq!(str_at(&statefulset, "/kind", file), "StatefulSet");
    let replicas = statefulset
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .expect("statefulset.yaml: replicas");
    let container = &array_at(&statefulset, "/spec/template/spec/containers", file)[0];
    let args = strings(array_at(container, "/args", file));
    assert!(
        args.contains(&format!("--total-shards={replicas}")),
        "{file}: --total-shards equals replicas ({replicas}): {args:?}"
    );
    let shard_arg = args
        .iter()
        .find_map(|a| a.strip_prefix("--shard="))
        .unwrap_or_else(|| panic!("{file}: --shard=…"));
    let variable = shard_arg
        .strip_prefix("$(")
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{file}: --shard from an env var, not {shard_arg}"));
    let env = array_at(container, "/env", file)
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(variable))
        .unwrap_or_else(|| panic!("{file}: no env {variable}"));
    assert_eq!(
        str_at(env, "/valueFrom/fieldRef/fieldPath", file),
        "metadata.labels['apps.kubernetes.io/pod-index']"
    );

    let service_name = str_at(&service, "/metadata/name", "service.yaml");
    assert_eq!(
        str_at(&statefulset, "/spec/serviceName", file),
        service_name
    );
    assert_eq!(
        str_at(&service, "/spec/clusterIP", "service.yaml"),
        "None",
        "headless"
    );
    let pod_labels = statefulset
        .pointer("/spec/template/metadata/labels")
        .expect("pod labels");
    for (selector, source) in [
        (service.pointer("/spec/selector"), "service.yaml"),
        (
            statefulset.pointer("/spec/selector/matchLabels"),
            "statefulset.yaml",
        ),
    ] {
        let selector = selector.and_then(Value::as_object).expect("a selector");
        for (key, value) in selector {
            assert_eq!(
                pod_labels.get(key),
                Some(value),
                "{source} selects the pods"
            );
        }
    }

    let monitor = yaml(&format!("{DIR}/servicemonitor.yaml"));
    let service_labels = service.pointer("/metadata/labels").expect("Service labels");
    let selected = monitor
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .expect("ServiceMonitor selector");
    for (key, value) in selected {
        assert_eq!(
            service_labels.get(key),
            Some(value),
            "the ServiceMonitor selects the Service"
        );
    }

    let scrape = "deploy/prometheus/scrape-sharded.yml";
    let text = read(scrape);
    assert!(
        text.contains(&format!("_metrics._tcp.{service_name}.")),
        "{scrape} resolves the SRV record of the Service's metrics port"
    );
    let output = run_tool("promtool", &["check", "config", scrape]);
    assert!(
        output.status.success(),
        "promtool check config {scrape}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
