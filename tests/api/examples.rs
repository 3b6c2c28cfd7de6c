//! The README's integrator examples (`examples/node`), run as a reader runs them, against the
//! real server. They need Node 20+ and their packages: `scripts/test.sh` installs them
//! (`npm ci`) where npm is present; on a machine without Node these tests say so and pass.

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::support::TestApp;

/// `examples/node`, ready to run; `None` where Node is not installed.
fn node_examples() -> Option<PathBuf> {
    let installed = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !installed {
        eprintln!("Node.js is not installed: the README's Node examples were not run");
        return None;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/node");
    assert!(
        dir.join("node_modules").is_dir(),
        "run `npm ci --prefix examples/node` (scripts/test.sh does)"
    );
    Some(dir)
}

/// Starts `node <script>` in `dir` with `env`; its stdout, line by line.
fn start(
    dir: &PathBuf,
    script: &str,
    env: &[(&str, String)],
) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut command = Command::new("node");
    command
        .arg(script)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("node starts");
    let stdout = child.stdout.take().unwrap();
    (child, BufReader::new(stdout).lines())
}

/// The first line `wanted` accepts, within 15 s.
async fn line_where(
    lines: &mut Lines<BufReader<ChildStdout>>,
    wanted: impl Fn(&str) -> bool,
) -> String {
    tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if wanted(&line) {
                return line;
            }
        }
        panic!("the example ended without the expected line");
    })
    .await
    .expect("the expected line in time")
}

#[tokio::test]
async fn the_subscription_example_prints_each_new_lead_event() {
    let Some(dir) = node_examples() else { return };
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (_, key) = acme.api_key(&app, &["READ"]).await;
    let (_child, mut lines) = start(
        &dir,
        "subscribe.mjs",
        &[
            ("LEADGRAPH_API_KEY", key),
            ("LEADGRAPH_WS_URL", format!("ws://{}/graphql/ws", app.addr)),
        ],
    );
    tokio::time::timeout(Duration::from_secs(15), async {
        while app.events.subscriber_count() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the example subscribes");
    let lead = acme.create_lead(&app, json!({})).await;
    let line = line_where(&mut lines, |line| line.contains(&lead)).await;
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["kind"], "CREATED");
    assert!(event["cursor"].as_str().is_some_and(|c| !c.is_empty()));
}

#[tokio::test]
async fn the_webhook_receiver_example_verifies_real_deliveries() {
    let Some(dir) = node_examples() else { return };
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let port = {
        let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        unused.local_addr().unwrap().port()
    };
    let created = app
        .gql(
            acme.token(),
            "mutation($url: String!) { createWebhookEndpoint(input: { url: $url, eventKinds: [CREATED] }) { signingSecret } }",
            json!({ "url": format!("http://127.0.0.1:{port}/hook") }),
        )
        .await;
    let secret = created
        .at("/createWebhookEndpoint/signingSecret")
        .as_str()
        .unwrap()
        .to_owned();
    let (_child, mut lines) = start(
        &dir,
        "webhook-receiver.mjs",
        &[("WEBHOOK_SECRET", secret), ("PORT", port.to_string())],
    );
    line_where(&mut lines, |line| line.starts_with("listening on")).await;
    let lead = acme.create_lead(&app, json!({})).await;
    let line = line_where(&mut lines, |line| line.contains(&lead)).await;
    assert!(line.starts_with("verified lead.created "), "{line}");
}
