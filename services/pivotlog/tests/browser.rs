//! In a real browser (headless Chromium, driven by Playwright; both installed by
//! `scripts/install-test-deps`), against records that went the real way (simulate and
//! publish → tansu → indexer → on-disk index → `pivotlog query` on loopback):
//!
//! - Monster UI's calls, cross-origin: a page on another loopback origin lists an
//!   account's calls and opens them with the Kazoo SDK's jQuery requests
//!   (`tests/browser/monster_ui.py`); the same page against a service with CORS off
//!   is blocked, so the preflight is what lets it through.
//! - The console (`tests/browser/console.py`): log in, the signatures, list, page, a call's timeline,
//!   search and its chart, hostile bodies inert, a wrong token refused, the token
//!   never in a URL or `localStorage`. Screenshots go to `$PIVOTLOG_SCREENSHOTS`
//!   when set (the README's come from there).
//! - The console's Live view (`tests/browser/live.py`): records published while it is
//!   open appear once each, newest on top, hostile text inert; Pause holds them back.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use pivotlog_proto::time::{now_unix_ms, unix_ms_to_gregorian_s};
use serde_json::{json, Value};
use support::*;

const TOKEN: &str = "tok-browser";

/// The Python that has Playwright.
fn python() -> PathBuf {
    let python = pivotlog_testkit::workspace().join(".tools/browser/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-test-deps",
        python.display()
    );
    python
}

fn script(name: &str) -> PathBuf {
    pivotlog_testkit::workspace().join("tests/browser").join(name)
}

/// A call of `account`, `minutes_ago`, one request and one response per body.
fn call_docs(account: &str, call_id: &str, minutes_ago: i64, bodies: &[(u16, &str, String)]) -> Vec<Value> {
    let start_ms = now_unix_ms() - minutes_ago * 60_000;
    let mut docs = Vec::new();
    for (i, (status, content_type, body)) in bodies.iter().enumerate() {
        let iteration = i as i64 + 1;
        let at = unix_ms_to_gregorian_s(start_ms + iteration * 2_000);
        let base = json!({
            "call_id": call_id, "iteration": iteration, "pvt_type": "pivot_debug",
            "pvt_account_id": account, "pvt_created": at, "pvt_modified": at,
            "pvt_node": "kazoo_apps@apps001.example.com",
        });
        let mut request = base.clone();
        request["_id"] = format!("{call_id}-req-{iteration}").into();
        request["uri"] =
            format!("http://pivot.example.com/callflow.php?Call-ID={call_id}&Iteration={iteration}").into();
        request["method"] = "post".into();
        request["req_headers"] = json!({"content-type": "application/x-www-form-urlencoded"});
        request["req_body"] = "Caller-ID-Number=%2B14155550100".into();
        let mut response = base;
        response["_id"] = format!("{call_id}-resp-{iteration}").into();
        response["pvt_created"] = (at + 1).into();
        response["pvt_modified"] = (at + 1).into();
        response["resp_status_code"] = status.to_string().into();
        response["resp_headers"] = json!({"content-type": content_type});
        response["resp_body"] = body.clone().into();
        docs.push(request);
        docs.push(response);
    }
    docs
}

/// Bodies that would run, load or break out of their element if inserted as markup.
fn hostile_bodies() -> Vec<(u16, &'static str, String)> {
    vec![
        (200, "text/html", "<script>window.__pwned=1</script>".into()),
        (
            500,
            "text/html",
            "<img src=x onerror=\"window.__pwned=1\">".into(),
        ),
        (
            200,
            "text/html",
            "<a href=\"javascript:window.__pwned=1\">click</a>".into(),
        ),
        (
            200,
            "text/plain",
            "</textarea><script>window.__pwned=1</script>".into(),
        ),
        (
            400,
            "application/json",
            r#"{"error": "<b onclick=\"window.__pwned=1\">bold</b>"}"#.into(),
        ),
        (
            502,
            "text/html",
            "<div onmouseover=\"window.__pwned=1\">5 MB of markup</div>\n".repeat(5 << 20 >> 6),
        ),
    ]
}

fn markers() -> Vec<&'static str> {
    vec![
        "<script>window.__pwned=1</script>",
        "<img src=x onerror=\"window.__pwned=1\">",
        "<a href=\"javascript:window.__pwned=1\">click</a>",
        "</textarea><script>window.__pwned=1</script>",
        "<b onclick=",
        "<div onmouseover=",
    ]
}

/// The first word-like run of a body: survives pretty-printing and escaping.
fn body_word(body: &str) -> Option<String> {
    body.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|word| word.len() >= 6)
        .map(str::to_owned)
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn run_script(mut command: Command, what: &str) {
    let output = command.output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{what} failed: {text}");
}

#[test]
fn monster_ui_and_the_console_work_in_a_real_browser() {
    let python = python();
    let broker = Broker::start();
    let topic = "pivot-debug";
    broker.create_topic(topic, 3);
    let start_ms = an_hour_ago_unix_ms();
    let simulated = simulate(
        &broker,
        topic,
        &[
            "--count",
            "900",
            "--seed",
            "7",
            "--start-unix-ms",
            &start_ms,
            "--accounts",
            "2",
        ],
    );
    let account = simulated[0]["pvt_account_id"].as_str().unwrap().to_owned();
    let hostile = call_docs(&account, "hostile-call@10.9.9.9", 3, &hostile_bodies());
    let refused = call_docs(
        &account,
        "refused-call@10.9.9.8",
        5,
        &[(
            503,
            "text/plain",
            "connect ECONNREFUSED 10.0.0.5:5432 (upstream pivot server down)".into(),
        )],
    );
    let data = tempfile::tempdir().unwrap();
    let imported: Vec<Value> = hostile.iter().chain(&refused).cloned().collect();
    publish_docs(&broker, topic, data.path(), "import", &imported);

    let total = simulated.len() + hostile.len() + refused.len();
    let _indexer = start_indexer(&broker, topic, data.path(), 200);
    let index = open_index(data.path());
    wait_until("everything indexed", Duration::from_secs(180), || {
        indexed(&index) >= total
    });

    let tokens = json!({ TOKEN: {"account_id": account} });
    let (query, api) = query_command(&broker, topic, data.path(), &tokens);
    let _query = Process::spawn(query);
    let (mut closed, closed_api) = query_command(&broker, topic, data.path(), &tokens);
    closed.args(["--cors-origins", "none"]);
    let _closed = Process::spawn(closed);
    api.wait_ready();
    closed_api.wait_ready();

    // What the account holds, from the documents that went in.
    let docs: Vec<&Value> = simulated
        .iter()
        .chain(&hostile)
        .chain(&refused)
        .filter(|doc| doc["pvt_account_id"] == account.as_str())
        .collect();
    let mut records: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for doc in &docs {
        records
            .entry(doc["call_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(doc);
    }
    let listing = format!("/v2/accounts/{account}/pivot/debug?page_size=100");
    let calls: Vec<Value> = all_pages(&api, &listing, TOKEN)
        .into_iter()
        .flat_map(|page| page["body"]["data"].as_array().unwrap().clone())
        .collect();
    assert_eq!(
        calls.len(),
        records.len(),
        "every call of the account listed once"
    );
    assert!(calls.len() >= 60, "enough calls to page through: {}", calls.len());
    let debug_id = |call_id: &str| {
        calls.iter().find(|call| call["call_id"] == call_id).unwrap()["debug_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    // What compression saves on a real detail page: the simulated call with most records.
    let biggest = records
        .iter()
        .filter(|(id, _)| !id.ends_with("@10.9.9.9"))
        .max_by_key(|(_, docs)| docs.len())
        .unwrap()
        .0;
    let detail = format!(
        "{}/v2/accounts/{account}/pivot/debug/{}",
        api.base,
        encode(biggest)
    );
    let size = |encoding: &str| {
        let response = ureq::get(&detail)
            .set("X-Auth-Token", TOKEN)
            .set("Accept-Encoding", encoding)
            .call()
            .unwrap();
        assert_eq!(
            response.header("content-encoding").unwrap_or("identity"),
            encoding,
            "{encoding}"
        );
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut body).unwrap();
        body.len()
    };
    let (plain, gzip, br) = (size("identity"), size("gzip"), size("br"));
    eprintln!(
        "detail of a simulated call ({} records): {plain} bytes, gzip {gzip} ({:.1}x), br {br} ({:.1}x)",
        records[biggest].len(),
        plain as f64 / gzip as f64,
        plain as f64 / br as f64
    );
    assert!(gzip < plain && br < plain);

    let dir = tempfile::tempdir().unwrap();
    let monster_expect = dir.path().join("monster.json");
    let newest: Vec<&Value> = calls.iter().take(3).collect();
    let opened: BTreeMap<&str, usize> = newest
        .iter()
        .map(|call| call["call_id"].as_str().unwrap())
        .chain(["hostile-call@10.9.9.9", "refused-call@10.9.9.8"])
        .map(|id| (id, records[id].len()))
        .collect();
    std::fs::write(
        &monster_expect,
        json!({"call_ids": calls.iter().map(|c| &c["call_id"]).collect::<Vec<_>>(), "records": opened})
            .to_string(),
    )
    .unwrap();
    let mut monster = Command::new(&python);
    monster
        .arg(script("monster_ui.py"))
        .args(["--api", &api.base, "--token", TOKEN, "--account", &account])
        .args(["--api-without-cors", &closed_api.base])
        .arg("--expect")
        .arg(&monster_expect);
    run_script(monster, "the Monster-UI-shaped page");

    // The console, with the timelines of the newest calls checked iteration by iteration.
    let timeline = |call: &Value| {
        let call_id = call["call_id"].as_str().unwrap();
        let mut iterations: Vec<Value> = records[call_id]
            .iter()
            .filter(|doc| doc.get("resp_status_code").is_some())
            .map(|doc| {
                json!({
                    "iteration": doc["iteration"],
                    "status_code": doc["resp_status_code"].as_str().unwrap().parse::<u16>().unwrap(),
                    "body_contains": body_word(doc["resp_body"].as_str().unwrap_or_default()),
                })
            })
            .collect();
        iterations.sort_by_key(|it| it["iteration"].as_i64());
        json!({"debug_id": call["debug_id"], "call_id": call_id, "iterations": iterations})
    };
    let search = api.get(
        &format!("/v2/accounts/{account}/pivot/search?q=ECONNREFUSED&page_size=1"),
        Some(TOKEN),
    );
    assert_eq!(search.status, 200, "{}", search.body);
    let signatures = api.get(
        &format!("/v2/accounts/{account}/pivot/signatures?page_size=1"),
        Some(TOKEN),
    );
    assert_eq!(signatures.status, 200, "{}", signatures.body);
    let console_expect = dir.path().join("console.json");
    std::fs::write(
        &console_expect,
        json!({
            "calls": calls.iter().take(60).map(timeline).collect::<Vec<_>>(),
            "search": {
                "q": "ECONNREFUSED",
                "hit_debug_id": debug_id("refused-call@10.9.9.8"),
                "total_hits": search.body["total_hits"],
            },
            "hostile_debug_id": debug_id("hostile-call@10.9.9.9"),
            "signatures": {"count_at_least": signatures.body["total_hits"].as_u64().unwrap().min(25)},
            "hostile_markers": markers(),
        })
        .to_string(),
    )
    .unwrap();
    let screenshots = std::env::var_os("PIVOTLOG_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("screenshots"));
    std::fs::create_dir_all(&screenshots).unwrap();
    let mut console = Command::new(&python);
    console
        .arg(script("console.py"))
        .args(["--base-url", &api.base, "--token", TOKEN, "--account", &account])
        .args(["--wrong-token", "not-a-token"])
        .arg("--expect")
        .arg(&console_expect)
        .arg("--screenshots")
        .arg(&screenshots);
    run_script(console, "the console");
    live_view(&python, &broker, topic, &api, &account, dir.path(), &screenshots);
    for view in [
        "login",
        "signatures",
        "calls",
        "timeline",
        "search",
        "hostile",
        "live",
    ] {
        let shot = Path::new(&screenshots).join(format!("{view}.png"));
        assert!(
            shot.metadata().is_ok_and(|m| m.len() > 1_000),
            "{} made",
            shot.display()
        );
    }
}

/// The Live view, opened before new records are published: they appear in it.
fn live_view(
    python: &Path,
    broker: &Broker,
    topic: &str,
    api: &Api,
    account: &str,
    dir: &Path,
    screenshots: &Path,
) {
    let ready = dir.join("live-ready");
    let expect = dir.join("live.json");
    let mut live = Command::new(python);
    live.arg(script("live.py"))
        .args(["--base-url", &api.base, "--token", TOKEN, "--account", account])
        .arg("--ready")
        .arg(&ready)
        .arg("--expect")
        .arg(&expect)
        .arg("--screenshots")
        .arg(screenshots)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let live = live.spawn().unwrap();
    let said = |what: &str| std::fs::read_to_string(&ready).is_ok_and(|text| text.starts_with(what));
    wait_until("the Live view following", Duration::from_secs(90), || {
        said("following")
    });
    let marker = "live<img src=x onerror=alert(1)>";
    let mut docs = call_docs(
        account,
        &format!("{marker}@10.9.9.7"),
        0,
        &vec![(500, "text/plain", "db down".to_owned()); 2],
    );
    docs.extend(call_docs(
        account,
        "live-call@10.9.9.6",
        0,
        &vec![(200, "application/json", "{}".to_owned()); 3],
    ));
    publish_docs(broker, topic, dir, "live", &docs);
    let ids = |docs: &[Value]| -> Vec<Value> { docs.iter().map(|doc| doc["_id"].clone()).collect() };
    let expected = json!({"ids": ids(&docs), "hostile_markers": [marker]});
    std::fs::write(&expect, expected.to_string()).unwrap();
    wait_until("the Live view paused", Duration::from_secs(90), || said("paused"));
    let more = call_docs(
        account,
        "live-paused@10.9.9.5",
        0,
        &[(404, "text/plain", "no such route".into())],
    );
    publish_docs(broker, topic, dir, "live-more", &more);
    let more_expect = dir.join("live.json.more");
    std::fs::write(&more_expect, json!({"ids": ids(&more)}).to_string()).unwrap();
    let output = live.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the Live view failed: {text}");
}
