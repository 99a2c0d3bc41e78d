//! Issue: scale-out. A real broker with 6 partitions, 3 `pivotlog indexer` processes
//! (replicas 0-2 of 3, each serving its slice on the shard API) and 2 `pivotlog query`
//! processes fanning out to them must answer every endpoint exactly as one indexer and
//! one query process over the same topic do. Then: a fourth indexer taking over
//! partitions that another still holds never makes a record count twice; a killed
//! indexer makes answers partial (and say which partitions they lack); restarted, it
//! makes them whole again.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

const CORPUS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/search-corpus.ndjson"
);
const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const TOPIC: &str = "pivot-debug";
const PARTITIONS: u32 = 6;
const SHARD_TOKEN: &str = "shard-secret-for-tests";
/// Covers the corpus (Gregorian seconds).
const CORPUS_RANGE: &str = "created_from=63877470000&created_to=63877489999";

fn shard_indexer(broker: &Broker, dir: &Path, port: u16, ownership: &[&str]) -> Process {
    let mut command = pivotlog(broker, TOPIC);
    command
        .args(["indexer", "--commit-interval-ms", "200", "--shard-listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--shard-token", SHARD_TOKEN])
        .args(ownership)
        .arg("--data-dir")
        .arg(dir);
    Process::spawn_logging(command, &dir.with_extension("log"))
}

fn cluster_query(broker: &Broker, dir: &Path, tokens: &Value, shard_ports: &[u16]) -> (Process, Api) {
    let (mut command, api) = query_command(broker, TOPIC, dir, tokens);
    let shards: Vec<String> = shard_ports
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    command.args(["--shards", &shards.join(",")]).args([
        "--shard-token",
        SHARD_TOKEN,
        "--shard-refresh-ms",
        "200",
        "--shard-timeout-ms",
        "1000",
    ]);
    let process = Process::spawn_logging(command, &dir.join("query.log"));
    api.wait_ready();
    (process, api)
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The requests compared between the single node and the cluster.
fn requests(single: &Api, account: &str) -> (Vec<String>, Vec<String>) {
    let base = format!("/v2/accounts/{account}/pivot");
    let mut paged = vec![
        format!("{base}/debug?page_size=7"),
        format!("{base}/debug?page_size=5&ascending=true"),
        format!("/v2/accounts/{ACCOUNT}/pivot/debug?page_size=3&{CORPUS_RANGE}"),
    ];
    for q in ["*", "status_code:500", "timeout OR refused", "-method:get"] {
        paged.push(format!("{base}/search?q={}&page_size=9", encode(q)));
        paged.push(format!("{base}/search?q={}&page_size=9&sort=oldest", encode(q)));
    }
    for q in ["ECONNREFUSED", "psycopg2.OperationalError", "\"404 Not Found\""] {
        paged.push(format!(
            "/v2/accounts/{ACCOUNT}/pivot/search?q={}&page_size=2&{CORPUS_RANGE}",
            encode(q)
        ));
    }
    let mut single_shot = vec![
        format!("{base}/debug?paginate=false"),
        format!("{base}/search/stats?q=*&interval=5m"),
        format!(
            "{base}/search/stats?q={}&interval=1m",
            encode("status_code:[500 TO 599]")
        ),
        format!("/v2/accounts/{ACCOUNT}/pivot/search/stats?q=*&interval=1d&{CORPUS_RANGE}"),
        // Client mistakes are refused the same way.
        format!("{base}/search?q={}", encode("account_id:x")),
        format!("{base}/search?q=*&page_size=20&sort=relevance&start_key=bm90LWEta2V5"),
        format!("{base}/debug/no-such-call"),
    ];
    // Details of the first calls, by call id and by debug_id, whole and paged.
    let listing = single.get(&format!("{base}/debug?page_size=6"), Some("admin"));
    for call in listing.body["data"].as_array().unwrap() {
        let call_id = encode(call["call_id"].as_str().unwrap());
        let debug_id = encode(call["debug_id"].as_str().unwrap());
        single_shot.push(format!("{base}/debug/{call_id}"));
        single_shot.push(format!("{base}/debug/{debug_id}?ascending=false"));
        paged.push(format!("{base}/debug/{call_id}?page_size=2"));
    }
    (paged, single_shot)
}

/// Asserts that `cluster` answers every request exactly as `single` does.
fn assert_same_answers(single: &Api, cluster: &Api, account: &str) {
    let (paged, single_shot) = requests(single, account);
    for path in &paged {
        let expected = all_pages(single, path, "admin");
        assert_eq!(expected[0]["status"], 200, "{path}: {}", expected[0]);
        assert_eq!(all_pages(cluster, path, "admin"), expected, "{path}");
    }
    for path in &single_shot {
        let expected = comparable(&single.get(path, Some("admin")));
        assert_eq!(comparable(&cluster.get(path, Some("admin"))), expected, "{path}");
    }
    // Relevance: scores use each shard's statistics (as Elasticsearch's default), so
    // the order may differ; every page together holds the same hits, each once.
    let path = format!("/v2/accounts/{account}/pivot/search?q=timeout&sort=relevance&page_size=40");
    let ids = |api: &Api| {
        let pages = all_pages(api, &path, "admin");
        let mut ids: Vec<String> = pages
            .iter()
            .flat_map(|page| page["body"]["data"].as_array().unwrap().clone())
            .map(|hit| hit["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        (ids, pages[0]["body"]["total_hits"].clone(), pages.len())
    };
    let (expected, cluster_ids) = (ids(single), ids(cluster));
    assert!(expected.1.as_u64().unwrap() > 40, "several pages");
    assert_eq!(expected.0.len() as u64, expected.1.as_u64().unwrap());
    assert_eq!(cluster_ids, expected);
    // Each account sees only itself, through the cluster too.
    let reply = cluster.get(&format!("/v2/accounts/{ACCOUNT}/pivot/debug"), Some("sim"));
    assert_eq!(reply.status, 403, "{}", reply.body);
}

fn total_hits(api: &Api, account: &str) -> Reply {
    api.get(
        &format!("/v2/accounts/{account}/pivot/search?q=*&page_size=1"),
        Some("admin"),
    )
}

/// Records of `account` an index directory holds, read from disk.
fn records_in(dir: &Path, account: &str) -> u64 {
    let index = open_index(dir);
    index.reload().unwrap();
    let all = index.all_records().unwrap();
    all.iter().filter(|event| event.account_id == account).count() as u64
}

#[test]
fn three_indexers_and_two_query_processes_answer_as_one_node() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, PARTITIONS);
    let mut publish = pivotlog(&broker, TOPIC);
    publish.args(["publish", CORPUS_PATH]);
    run_ok(publish);
    let start_ms = an_hour_ago_unix_ms();
    let simulated = simulate(
        &broker,
        TOPIC,
        &[
            "--count",
            "900",
            "--seed",
            "31",
            "--accounts",
            "3",
            "--start-unix-ms",
            &start_ms,
        ],
    );
    let account = simulated[0]["pvt_account_id"].as_str().unwrap().to_owned();
    let total = simulated.len() + std::fs::read_to_string(CORPUS_PATH).unwrap().lines().count();
    // A reseller reading a sub-account: the access check asks the shards for ancestors.
    let child = simulated
        .iter()
        .find(|doc| doc["pvt_tree"].as_array().is_some_and(|tree| !tree.is_empty()))
        .expect("the simulator makes sub-accounts");
    let child_account = child["pvt_account_id"].as_str().unwrap().to_owned();
    let reseller = child["pvt_tree"][0].as_str().unwrap().to_owned();
    let tokens = json!({
        "admin": {"account_id": "00000000000000000000000000000000", "superduper_admin": true},
        "sim": {"account_id": account},
        "reseller": {"account_id": reseller, "descendants": true},
    });

    // The reference: one indexer over every partition, one query process on its disk.
    let reference = tempfile::tempdir().unwrap();
    let single_dir = reference.path().join("single");
    let _single_indexer = start_indexer(&broker, TOPIC, &single_dir, 200);
    let single_index = open_index(&single_dir);
    wait_until(
        "the single node indexed everything",
        Duration::from_secs(120),
        || indexed(&single_index) >= total,
    );
    let (single_query, single) = query_command(&broker, TOPIC, &single_dir, &tokens);
    let _single_query = Process::spawn_logging(single_query, &reference.path().join("single-query.log"));
    single.wait_ready();

    // The cluster: replicas 0-2 of 3, and a spare port for a fourth indexer later.
    let cluster = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let dirs: Vec<_> = (0..4)
        .map(|i| cluster.path().join(format!("indexer-{i}")))
        .collect();
    let mut indexers: Vec<Option<Process>> = (0..3)
        .map(|i| {
            let ordinal = i.to_string();
            Some(shard_indexer(
                &broker,
                &dirs[i],
                ports[i],
                &["--replicas", "3", "--ordinal", &ordinal],
            ))
        })
        .collect();
    let indexes: Vec<_> = dirs[..3].iter().map(|dir| open_index(dir)).collect();
    wait_until("the shards indexed everything", Duration::from_secs(120), || {
        indexes.iter().map(indexed).sum::<usize>() >= total
    });
    for (i, index) in indexes.iter().enumerate() {
        let checkpoint = index.checkpoint().unwrap();
        let owned: Vec<i32> = checkpoint.offsets.keys().copied().collect();
        assert_eq!(owned, [i as i32, i as i32 + 3], "replica {i} owns p % 3 == {i}");
    }
    let query_dirs: Vec<_> = (0..2)
        .map(|i| cluster.path().join(format!("query-{i}")))
        .collect();
    let queries: Vec<(Process, Api)> = query_dirs
        .iter()
        .map(|dir| {
            std::fs::create_dir_all(dir).unwrap();
            cluster_query(&broker, dir, &tokens, &ports)
        })
        .collect();
    for (_, api) in &queries {
        wait_until("the cluster answers completely", Duration::from_secs(30), || {
            let reply = total_hits(api, &account);
            reply.status == 200 && reply.body.get("partial").is_none()
        });
        assert_same_answers(&single, api, &account);
    }
    let child_listing = format!("/v2/accounts/{child_account}/pivot/debug?page_size=5");
    let expected = comparable(&single.get(&child_listing, Some("reseller")));
    assert_eq!(expected["status"], 200, "{expected}");
    for (_, api) in &queries {
        assert_eq!(comparable(&api.get(&child_listing, Some("reseller"))), expected);
    }
    let (_, api) = &queries[0];

    // Hand-over: a fourth indexer takes partitions 0 and 3 while replica 0 still holds
    // them. It replays them from the start; at no moment does a record count twice.
    let full = total_hits(&single, &account).body["total_hits"].clone();
    indexers.push(Some(shard_indexer(
        &broker,
        &dirs[3],
        ports[3],
        &["--partitions", "0,3"],
    )));
    let newcomer = open_index(&dirs[3]);
    let replica_0 = indexed(&indexes[0]);
    let mut checks = 0;
    wait_until("the newcomer caught up", Duration::from_secs(120), || {
        let reply = total_hits(api, &account);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.body["total_hits"], full,
            "during the hand-over: {}",
            reply.body
        );
        checks += 1;
        indexed(&newcomer) >= replica_0
    });
    assert!(checks > 0);
    // Replica 0 goes: the newcomer answers for its partitions, and nothing is missing.
    indexers[0].take().unwrap().kill();
    wait_until(
        "the newcomer serves partitions 0 and 3",
        Duration::from_secs(30),
        || {
            let reply = total_hits(api, &account);
            reply.status == 200 && reply.body.get("partial").is_none() && reply.body["total_hits"] == full
        },
    );
    assert_same_answers(&single, api, &account);

    // Replica 1 goes too: its partitions (1 and 4) are missing, and answers say so.
    indexers[1].take().unwrap().kill();
    let lost = records_in(&dirs[1], &account);
    assert!(lost > 0);
    wait_until("answers say they are partial", Duration::from_secs(30), || {
        total_hits(api, &account).body.get("partial").is_some()
    });
    for (_, api) in &queries {
        let reply = total_hits(api, &account);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body["partial"], true);
        assert_eq!(reply.body["missing_partitions"], json!([1, 4]), "{}", reply.body);
        let reasons = reply.body["partial_reasons"].to_string();
        assert!(reasons.contains("partitions [1, 4]"), "{reasons}");
        assert_eq!(
            reply.body["total_hits"].as_u64().unwrap(),
            full.as_u64().unwrap() - lost
        );
        let listing = api.get(&format!("/v2/accounts/{account}/pivot/debug"), Some("sim"));
        assert_eq!((listing.status, &listing.body["partial"]), (200, &json!(true)));
    }

    // Restarted on its disk, it resumes from its checkpoint and answers are whole again.
    indexers[1] = Some(shard_indexer(
        &broker,
        &dirs[1],
        ports[1],
        &["--replicas", "3", "--ordinal", "1"],
    ));
    for (_, api) in &queries {
        wait_until("answers are whole again", Duration::from_secs(60), || {
            let reply = total_hits(api, &account);
            reply.status == 200 && reply.body.get("partial").is_none()
        });
        assert_same_answers(&single, api, &account);
    }

    // A shard that hangs (SIGSTOP) costs at most the per-shard timeout (1 s here); its
    // partitions are reported missing, the rest is answered.
    let stopped = indexers[2].as_ref().unwrap().0.id().to_string();
    signal("-STOP", &stopped);
    let (_, api) = &queries[1];
    let started = std::time::Instant::now();
    let reply = total_hits(api, &account);
    let took = started.elapsed();
    signal("-CONT", &stopped);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["partial"], true, "{}", reply.body);
    assert_eq!(reply.body["missing_partitions"], json!([2, 5]), "{}", reply.body);
    assert!(
        took < Duration::from_secs(4),
        "a hung shard held the answer {took:?}"
    );
    wait_until("the resumed shard answers again", Duration::from_secs(30), || {
        total_hits(api, &account).body.get("partial").is_none()
    });
    assert_eq!(total_hits(api, &account).body["total_hits"], full);
}

fn signal(signal: &str, pid: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, pid])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_shard_api_requires_its_token() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, 2);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _indexer = shard_indexer(&broker, &dir.path().join("index"), port, &[]);
    let shard = Api {
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_until("the shard API listens", Duration::from_secs(30), || {
        shard.try_get("/internal/v1/status", None).is_ok()
    });
    for header in [None, Some("Bearer wrong"), Some("shard-secret-for-tests")] {
        let headers: Vec<(&str, &str)> = header.iter().map(|value| ("Authorization", *value)).collect();
        let reply = shard.request("GET", "/internal/v1/status", None, &headers);
        assert_eq!(reply.status, 401, "{header:?}");
    }
    let bearer = format!("Bearer {SHARD_TOKEN}");
    let reply = shard.request("GET", "/internal/v1/status", None, &[("Authorization", &bearer)]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["topic"], TOPIC);

    // A query process finds the shard through DNS, as through a headless Service
    // (`localhost` may also resolve to ::1, where nothing listens: that address is
    // unreachable, and every partition is still served).
    let tokens =
        json!({"admin": {"account_id": "00000000000000000000000000000000", "superduper_admin": true}});
    let (mut query, api) = query_command(&broker, TOPIC, dir.path(), &tokens);
    query
        .args(["--shard-dns", &format!("localhost:{port}")])
        .args(["--shard-token", SHARD_TOKEN]);
    let _query = Process::spawn_logging(query, &dir.path().join("query.log"));
    api.wait_ready();
    // Complete once the indexer has read its partitions' ends (until then it is
    // catching up, and answers say so).
    wait_until(
        "a complete answer through DNS discovery",
        Duration::from_secs(30),
        || {
            let reply = api.get(
                "/v2/accounts/4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60/pivot/debug",
                Some("admin"),
            );
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.body.get("partial").is_none()
        },
    );

    // An indexer never serves its shard without a token.
    let mut open = pivotlog(&broker, TOPIC);
    open.args(["indexer", "--shard-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("other"))
        .env_remove("PIVOTLOG_SHARD_TOKEN");
    let output = open.output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--shard-token"));
}
