//! Issue: error signatures. A labelled corpus (bodies of a few templates, each filled
//! with varied values) goes the real way (publish → tansu → indexers → on-disk
//! indexes) and `pivotlog query` processes answer `/pivot/signatures`: on one node and
//! over 3 shards alike, the same after a replay and a `reindex`, `signature:ID` finds
//! exactly the records counted, and tokens and parameters are checked.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pivotlog_proto::time::{now_unix_ms, unix_ms_to_gregorian_s};
use serde_json::{json, Value};
use support::*;

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const OTHER: &str = "0badc0de0badc0de0badc0de0badc0de";
const TOPIC: &str = "pivot-debug";
const SHARD_TOKEN: &str = "shard-secret-for-signatures";

/// A template of what servers answer: its status and a body from a number `n`.
struct Template {
    name: &'static str,
    status: u16,
    body: fn(u64) -> String,
}

fn templates() -> Vec<Template> {
    vec![
        Template {
            name: "nginx 502",
            status: 502,
            body: |n| {
                format!(
                    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>\
                     <hr><center>nginx/1.{}.{}</center></body></html>\n<!-- upstream 10.0.{}.{}:{} -->",
                    18 + n % 7,
                    n % 10,
                    n % 250,
                    n * 7 % 250,
                    8000 + n % 1000
                )
            },
        },
        Template {
            name: "json invalid number",
            status: 400,
            body: |n| {
                format!(
                    r#"{{"error":"invalid_number","message":"Caller-ID-Number +1415555{:04} is not valid","request_id":"{:08x}-1b2c-4d5e-8f90-{:012x}","at":"2026-11-{:02}T{:02}:{:02}:00Z"}}"#,
                    n % 10_000,
                    n * 2_654_435_761 % 0xffff_ffff,
                    n * 97,
                    1 + n % 28,
                    n % 24,
                    n % 60
                )
            },
        },
        Template {
            name: "java npe",
            status: 500,
            body: |n| {
                format!(
                    "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"callerId\" is null\n\
                     \tat com.example.pivot.CallflowController.answer(CallflowController.java:{})\n\
                     \tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:{})\n",
                    40 + n % 200,
                    800 + n % 300
                )
            },
        },
        Template {
            name: "rate limit",
            status: 429,
            body: |n| format!("Too Many Requests: retry after {} seconds", 1 + n % 120),
        },
        Template {
            name: "empty 503",
            status: 503,
            body: |_| String::new(),
        },
    ]
}

/// Kazoo documents: `calls` calls of `account`, each a request and a response per
/// iteration, the responses' bodies from templates in turn. Returns the documents
/// and, per template name, its response ids.
fn corpus(
    account: &str,
    calls: u64,
    start_ms: i64,
) -> (Vec<Value>, BTreeMap<&'static str, BTreeSet<String>>) {
    let templates = templates();
    let mut docs = Vec::new();
    let mut by_template: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    let mut n = 0u64;
    for call in 0..calls {
        let call_id = format!("sig-{account:.6}-{call}@10.1.{}.{}", call % 250, call / 250);
        for iteration in 1..=(1 + call % 3) {
            n += 1;
            let template = &templates[n as usize % templates.len()];
            let at = unix_ms_to_gregorian_s(start_ms + (n as i64) * 9_000);
            let base = json!({
                "call_id": call_id, "iteration": iteration, "pvt_type": "pivot_debug",
                "pvt_account_id": account, "pvt_created": at, "pvt_modified": at,
                "pvt_node": "kazoo_apps@apps001.example.com",
            });
            let mut request = base.clone();
            request["_id"] = format!("{account:.8}{n:024}").into();
            request["uri"] = format!("http://pivot.example.com/answer?Call-ID={call_id}").into();
            request["method"] = "post".into();
            let mut response = base;
            let id = format!("{account:.8}{:024}", n + 1_000_000);
            response["_id"] = id.clone().into();
            response["resp_status_code"] = template.status.to_string().into();
            response["resp_headers"] = json!({"content-type": "text/html"});
            response["resp_body"] = (template.body)(n).into();
            by_template.entry(template.name).or_default().insert(id);
            docs.push(request);
            docs.push(response);
        }
    }
    (docs, by_template)
}

/// Every signature of `account` (all pages), by id, without what varies between
/// processes and moments.
fn all_signatures(api: &Api, account: &str, token: &str, extra: &str) -> BTreeMap<String, Value> {
    let path = format!("/v2/accounts/{account}/pivot/signatures?page_size=2&interval=1h{extra}");
    let mut found = BTreeMap::new();
    for page in all_pages(api, &path, token) {
        assert_eq!(page["status"], 200, "{page}");
        for item in page["body"]["data"].as_array().unwrap() {
            let id = item["signature"].as_str().unwrap().to_owned();
            assert!(
                found.insert(id, item.clone()).is_none(),
                "a signature on two pages"
            );
        }
    }
    found
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[test]
fn signatures_count_templates_exactly_on_one_node_and_over_shards() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, 3);
    let work = tempfile::tempdir().unwrap();
    let start_ms = now_unix_ms() - 6 * 3_600_000;
    let (docs, by_template) = corpus(ACCOUNT, 60, start_ms);
    let (other_docs, _) = corpus(OTHER, 10, start_ms);
    let all: Vec<Value> = docs.iter().chain(&other_docs).cloned().collect();
    publish_docs(&broker, TOPIC, work.path(), "corpus", &all);

    let single_dir = work.path().join("single");
    let _single = start_indexer(&broker, TOPIC, &single_dir, 200);
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let shard_dirs: Vec<_> = (0..3).map(|i| work.path().join(format!("shard-{i}"))).collect();
    let _shards: Vec<Process> = (0..3)
        .map(|i| shard_indexer(&broker, TOPIC, &shard_dirs[i], ports[i], SHARD_TOKEN, 3, i))
        .collect();
    let single_index = open_index(&single_dir);
    let shard_indexes: Vec<_> = shard_dirs.iter().map(|dir| open_index(dir)).collect();
    wait_until("everything indexed", Duration::from_secs(120), || {
        indexed(&single_index) >= all.len() && shard_indexes.iter().map(indexed).sum::<usize>() >= all.len()
    });

    let tokens = json!({"tok-a": {"account_id": ACCOUNT}, "tok-b": {"account_id": OTHER}});
    let (single_query, single) = query_command(&broker, TOPIC, &single_dir, &tokens);
    let _single_query = Process::spawn(single_query);
    let cluster_dir = work.path().join("cluster");
    std::fs::create_dir_all(&cluster_dir).unwrap();
    let (mut cluster_query, cluster) = query_command(&broker, TOPIC, &cluster_dir, &tokens);
    let shards: Vec<String> = ports.iter().map(|port| format!("127.0.0.1:{port}")).collect();
    cluster_query
        .args(["--shards", &shards.join(","), "--shard-token", SHARD_TOKEN])
        .args(["--shard-refresh-ms", "200"]);
    let _cluster_query = Process::spawn(cluster_query);
    single.wait_ready();
    cluster.wait_ready();

    // One signature per template, counting exactly its records and calls.
    let signatures = all_signatures(&single, ACCOUNT, "tok-a", "");
    assert_eq!(signatures.len(), templates().len(), "{signatures:#?}");
    let responses: BTreeMap<&str, &Value> = docs
        .iter()
        .filter(|doc| doc.get("resp_status_code").is_some())
        .map(|doc| (doc["_id"].as_str().unwrap(), doc))
        .collect();
    let mut seen_templates = BTreeSet::new();
    for (id, item) in &signatures {
        let q = encode(&format!("signature:{id}"));
        let hits = all_pages(
            &single,
            &format!("/v2/accounts/{ACCOUNT}/pivot/search?q={q}&page_size=100"),
            "tok-a",
        );
        let hit_ids: BTreeSet<String> = hits
            .iter()
            .flat_map(|page| page["body"]["data"].as_array().unwrap().clone())
            .map(|hit| {
                assert_eq!(hit["signature"], id.as_str(), "every hit carries its signature");
                hit["id"].as_str().unwrap().to_owned()
            })
            .collect();
        let (template, ids) = by_template
            .iter()
            .find(|(_, ids)| ids.contains(hit_ids.iter().next().unwrap()))
            .unwrap();
        assert_eq!(
            &hit_ids, ids,
            "signature:{id} finds exactly the records of {template}"
        );
        assert!(seen_templates.insert(*template), "two signatures for {template}");
        assert_eq!(item["records"], ids.len(), "{template}: {item}");
        let calls: BTreeSet<&str> = ids
            .iter()
            .map(|i| responses[i.as_str()]["call_id"].as_str().unwrap())
            .collect();
        assert_eq!(item["calls"], calls.len(), "{template}");
        let times: Vec<i64> = ids
            .iter()
            .map(|i| responses[i.as_str()]["pvt_created"].as_i64().unwrap())
            .collect();
        assert_eq!(item["first_seen"], *times.iter().min().unwrap());
        assert_eq!(item["last_seen"], *times.iter().max().unwrap());
        let histogram: u64 = item["histogram"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|bucket| bucket["count"].as_u64().unwrap())
            .sum();
        assert_eq!(histogram, ids.len() as u64, "{template}: the histogram adds up");
        let sample = &item["sample"];
        assert!(ids
            .iter()
            .any(|i| responses[i.as_str()]["call_id"] == sample["call_id"]));
        assert!(item["template"].as_str().is_some_and(|t| !t.is_empty()), "{item}");
    }

    // Shards answer as the one node does, page by page.
    let volatile = |mut items: BTreeMap<String, Value>| {
        for item in items.values_mut() {
            // The sample is any newest record: equal times may pick either.
            item.as_object_mut().unwrap().remove("sample");
        }
        items
    };
    assert_eq!(
        volatile(all_signatures(&cluster, ACCOUNT, "tok-a", "")),
        volatile(signatures.clone()),
        "3 shards count as one node"
    );
    for sort in ["records", "last_seen", "growth"] {
        let path = format!("/v2/accounts/{ACCOUNT}/pivot/signatures?sort={sort}&page_size=3");
        let (one, many) = (
            single.get(&path, Some("tok-a")),
            cluster.get(&path, Some("tok-a")),
        );
        assert_eq!(one.status, 200, "{}", one.body);
        let ids = |reply: &Reply| -> Vec<Value> {
            reply.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["signature"].clone())
                .collect()
        };
        assert_eq!(ids(&one), ids(&many), "sort={sort}");
    }
    // q restricts what is counted.
    let only_5xx = all_signatures(
        &single,
        ACCOUNT,
        "tok-a",
        &format!("&q={}", encode("status_code:>=500")),
    );
    assert_eq!(only_5xx.len(), 3, "{:?}", only_5xx.keys());
    // The detail API carries each record's signature.
    let sample = signatures.values().next().unwrap()["sample"]["debug_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = single.get(
        &format!("/v2/accounts/{ACCOUNT}/pivot/debug/{}", encode(&sample)),
        Some("tok-a"),
    );
    assert!(detail.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|record| record.get("resp_status_code").is_some())
        .all(|record| signatures.contains_key(record["signature"].as_str().unwrap())));

    // Isolation and hostile parameters.
    let path = format!("/v2/accounts/{ACCOUNT}/pivot/signatures");
    assert_eq!(single.get(&path, Some("tok-b")).status, 403);
    assert_eq!(single.get(&path, None).status, 401);
    let theirs = all_signatures(&single, OTHER, "tok-b", "");
    assert!(!theirs.is_empty());
    for id in theirs.keys().filter(|id| !signatures.contains_key(*id)) {
        let q = encode(&format!("signature:{id}"));
        let reply = single.get(
            &format!("/v2/accounts/{ACCOUNT}/pivot/search?q={q}"),
            Some("tok-a"),
        );
        assert_eq!(
            reply.body["total_hits"], 0,
            "no query text reaches another account"
        );
    }
    for bad in [
        "sort=bogus",
        "interval=0h",
        "interval=1s&created_from=63000000000",
        "page_size=0",
        "start_key=garbage",
        "q=signature:xyz",
        "q=account_id:0badc0de",
        "paginate=false",
        "created_from=notanumber",
    ] {
        let reply = single.get(&format!("{path}?{bad}"), Some("tok-a"));
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
        assert_eq!(reply.body["status"], "error");
    }

    // A replay (a new indexer from offset 0) and a reindex give the same ids.
    let replay_dir = work.path().join("replay");
    let replay = start_indexer(&broker, TOPIC, &replay_dir, 200);
    let replay_index = open_index(&replay_dir);
    wait_until("the replay indexed everything", Duration::from_secs(120), || {
        indexed(&replay_index) >= all.len()
    });
    drop(replay);
    let mut reindex = pivotlog(&broker, TOPIC);
    reindex
        .args(["reindex", "--commit-interval-ms", "200", "--data-dir"])
        .arg(&replay_dir);
    run_ok(reindex);
    let (replay_query, replayed) = query_command(&broker, TOPIC, &replay_dir, &tokens);
    let _replay_query = Process::spawn(replay_query);
    replayed.wait_ready();
    let again = all_signatures(&replayed, ACCOUNT, "tok-a", "");
    assert_eq!(
        again.keys().collect::<Vec<_>>(),
        signatures.keys().collect::<Vec<_>>(),
        "a replay and a reindex give the same signature ids"
    );
}
