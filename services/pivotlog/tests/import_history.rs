//! Issue 18 at CI size: importing history as a MODb export delivers it, out of time order
//! and over many days, through the real `pivotlog publish` → `pivotlog indexer` →
//! `pivotlog query` processes and a tansu broker. Checked: every record is served exactly
//! once (search totals and ids, the listing's calls, every call's detail), the number of
//! segments per day slice stays bounded, and documents whose bodies exceed Kafka's default
//! 1 MB record limit are not refused: a 1.2 MB HTML page (which compresses) arrives whole
//! and is found by a word in its body; a 3 MB body that stays over the limit compressed is
//! cut to fit, found by search, and both the hit and the detail item say it was cut and
//! how big it was. Once caught up, the indexer settles every day slice into one segment,
//! and all of the above is read from the settled index.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

use pivotlog_proto::kazoo::event_from_doc;
use pivotlog_proto::time::{now_unix_ms, unix_ms_to_gregorian_s};
use pivotlog_proto::DebugEvent;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::*;

const DAY_MS: i64 = 86_400_000;
/// Days the history spans, within the indexer's and the API's 31-day windows.
const DAYS: i64 = 10;
/// Segments a day slice may hold after the import. tantivy's merge policy keeps a
/// settled index at a few dozen segments whatever its size (log-merge levels of 8 or
/// more segments each); a slice with one segment per record or per commit (what a
/// writer that reopens a slice for every out-of-order record produces) is far above
/// that with a few hundred records per slice.
const MAX_SEGMENTS_PER_SLICE: usize = 40;
/// Words in the big bodies, within the first 256 KiB (the indexed prefix).
const WHOLE_WORD: &str = "zebrafinch";
const CUT_WORD: &str = "marmoset";
const WHOLE_BODY_BYTES: usize = 1_200_000;
const CUT_BODY_BYTES: usize = 3_000_000;

/// A valid HTML page of `bytes` bytes that compresses well, as error pages do.
fn html_page(bytes: usize) -> String {
    let mut page = format!("<html><body><h1>Internal Server Error</h1><p>{WHOLE_WORD} failed</p><table>\n");
    let mut row = 0u64;
    while page.len() < bytes {
        row += 1;
        page.push_str(&format!(
            "<tr><td>{row}</td><td>callflow/{}</td><td>timeout</td></tr>\n",
            row % 97
        ));
    }
    page.truncate(bytes);
    page
}

/// Text no codec brings under 1 MB from 3 MB: random base64 symbols (6 bits a byte).
fn incompressible(rng: &mut impl Rng, bytes: usize) -> String {
    const SYMBOLS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = format!("traceback {CUT_WORD} ");
    while text.len() < bytes {
        text.push(char::from(SYMBOLS[rng.random_range(0..64)]));
    }
    text
}

/// A response document of `template`'s call shape, with its own ids and `body`.
fn big_response(template: &Value, id: &str, body: String) -> Value {
    let mut doc = template.clone();
    let fields = doc.as_object_mut().unwrap();
    fields.retain(|name, _| {
        !matches!(
            name.as_str(),
            "uri" | "method" | "req_headers" | "req_body" | "json_errors" | "schema_errors"
        )
    });
    fields.insert("_id".into(), id.into());
    fields.insert("call_id".into(), format!("{id}@192.0.2.1").into());
    fields.insert("iteration".into(), 1.into());
    fields.insert("resp_status_code".into(), "500".into());
    fields.insert("resp_headers".into(), json!({"content-type": "text/html"}));
    fields.insert("resp_body".into(), body.into());
    doc
}

#[test]
fn a_shuffled_multi_day_export_is_served_exactly_once() {
    let broker = Broker::start();
    let topic = "history";
    // Default topic settings: whatever the broker's max.message.bytes is.
    broker.create_topic(topic, 3);
    let seed = faults_seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    // A few thousand simulated records, stamped 7 ms apart from 10.5 days ago ...
    let start_ms = (now_unix_ms() / 1000 - (DAYS * 86_400 + 43_200)) * 1000;
    // The shuffled import costs a commit per out-of-order record with the writer of
    // issue 18's time (about 7 records/s in a debug build): CI size stays under that.
    let count = if faults_full() { "20000" } else { "800" };
    let mut print = pivotlog(&broker, topic);
    print.args([
        "simulate",
        "--stdout",
        "--seed",
        &seed.to_string(),
        "--accounts",
        "4",
    ]);
    print.args(["--count", count, "--start-unix-ms", &start_ms.to_string()]);
    let docs: Vec<Value> = String::from_utf8(run_ok(print).stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // ... then each call moved to a random moment of the 10 days, calls in random order
    // (as a MODb export in document-id order gives them), each call's records in order.
    let mut calls: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for doc in docs {
        calls
            .entry(doc["call_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(doc);
    }
    let mut calls: Vec<Vec<Value>> = calls.into_values().collect();
    for call in &mut calls {
        let shift_s = rng.random_range(0..DAYS * 86_400);
        for doc in call.iter_mut() {
            let created = doc["pvt_created"].as_i64().unwrap() + shift_s;
            doc["pvt_created"] = created.into();
            doc["pvt_modified"] = created.into();
        }
    }
    calls.shuffle(&mut rng);
    let template = calls[0][0].clone();
    let account = template["pvt_account_id"].as_str().unwrap().to_owned();
    let whole = big_response(&template, "bigwhole", html_page(WHOLE_BODY_BYTES));
    let cut_body = incompressible(&mut rng, CUT_BODY_BYTES);
    let cut = big_response(&template, "bigcut", cut_body.clone());
    let middle = calls.len() / 2;
    calls.insert(middle, vec![whole.clone()]);
    calls.insert(middle + 1, vec![cut.clone()]);
    let docs: Vec<Value> = calls.into_iter().flatten().collect();
    let expected: BTreeMap<String, DebugEvent> = docs
        .iter()
        .map(|doc| event_from_doc(doc).unwrap())
        .map(|event| (event.event_id.clone(), event))
        .collect();
    assert_eq!(expected.len(), docs.len(), "event ids are unique");
    let days: BTreeSet<i64> = expected.values().map(|e| e.created_unix_ms / DAY_MS).collect();
    assert!(days.len() >= DAYS as usize, "spread over {} days", days.len());

    let data = tempfile::tempdir().unwrap();
    let export = data.path().join("export.ndjson");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&export).unwrap());
    for doc in &docs {
        serde_json::to_writer(&mut file, doc).unwrap();
        file.write_all(b"\n").unwrap();
    }
    file.flush().unwrap();
    drop(file);

    let index_dir = data.path().join("index");
    let started = std::time::Instant::now();
    // A cold slice settles 2 s after its last record instead of 30 (the flag operators
    // have), so the wait below is for the merges, not for the idle clock.
    let _indexer = start_indexer_with(&broker, topic, &index_dir, 200, &["--settle-after-idle-s", "2"]);
    let mut publish = pivotlog(&broker, topic);
    publish.arg("publish").arg(&export);
    let output = run_ok(publish);
    eprintln!("published {} records in {:?}", docs.len(), started.elapsed());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let n = docs.len();
    assert!(
        stderr.contains(&format!("published {n} of {n} documents (0 malformed, 0 not delivered); 1 with a body cut to fit the topic")),
        "{stderr}"
    );
    // The cut is logged with the event id, never with the body.
    assert!(stderr.contains("bigcut"), "{stderr}");
    assert!(!stderr.contains(CUT_WORD), "no body content in the log");

    let index = open_index(&index_dir);
    wait_until(
        "every record indexed",
        Duration::from_secs(if faults_full() { 1800 } else { 300 }),
        || indexed(&index) >= n,
    );
    assert_eq!(indexed(&index), n);
    eprintln!("indexed after {:?}", started.elapsed());

    // Segments per slice, read from the on-disk index.
    let info = index.info().unwrap();
    assert!(info.slices.len() >= DAYS as usize, "{} slices", info.slices.len());
    let crowded: Vec<(String, usize, u64)> = info
        .slices
        .iter()
        .filter(|slice| slice.segments > MAX_SEGMENTS_PER_SLICE)
        .map(|slice| (slice.name.clone(), slice.segments, slice.records))
        .collect();
    eprintln!(
        "segments per slice: {:?}",
        info.slices
            .iter()
            .map(|s| (s.records, s.segments))
            .collect::<Vec<_>>()
    );

    // Caught up, the indexer settles every slice (all are over an hour old) into one
    // segment, one slice at a time; what follows reads the settled index.
    wait_until(
        "every slice settled into one segment",
        Duration::from_secs(if faults_full() { 600 } else { 120 }),
        || {
            index.reload().unwrap();
            index
                .info()
                .unwrap()
                .slices
                .iter()
                .all(|slice| slice.segments == 1)
        },
    );
    eprintln!("settled after {:?}", started.elapsed());

    // Through the API: a superduper admin reads every account.
    let tokens = json!({"tok-admin": {"account_id": account, "superduper_admin": true}});
    let (query, api) = query_command(&broker, topic, &index_dir, &tokens);
    let _query = Process::spawn(query);
    api.wait_ready();
    let token = Some("tok-admin");
    let window = format!(
        "created_from={}&created_to={}",
        unix_ms_to_gregorian_s(start_ms - DAY_MS),
        unix_ms_to_gregorian_s(now_unix_ms()) + 3600
    );
    let mut by_account: BTreeMap<&str, Vec<&DebugEvent>> = BTreeMap::new();
    for event in expected.values() {
        by_account.entry(&event.account_id).or_default().push(event);
    }
    for (account, events) in &by_account {
        // Search `*`: the total and the ids, each once, across pages.
        let base = format!("/v2/accounts/{account}/pivot/search?q=*&page_size=500&snippet_chars=0&{window}");
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut next: Option<String> = None;
        loop {
            let path = match &next {
                Some(key) => format!("{base}&start_key={key}"),
                None => base.clone(),
            };
            let reply = api.get(&path, token);
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.body["total_hits"], events.len(), "total of {account}");
            for hit in reply.body["data"].as_array().unwrap() {
                *seen.entry(hit["id"].as_str().unwrap().to_owned()).or_default() += 1;
            }
            next = reply.body["next_start_key"].as_str().map(str::to_owned);
            if next.is_none() {
                break;
            }
        }
        let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "hits served twice: {twice:?}");
        let wanted: BTreeSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        assert_eq!(
            seen.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            wanted,
            "search ids of {account}"
        );

        // The listing: every call once; each call's detail: its records, each once.
        let pages = all_pages(
            &api,
            &format!("/v2/accounts/{account}/pivot/debug?page_size=100&{window}"),
            "tok-admin",
        );
        let listed: Vec<String> = pages
            .iter()
            .flat_map(|page| page["body"]["data"].as_array().unwrap().clone())
            .map(|item| item["call_id"].as_str().unwrap().to_owned())
            .collect();
        let listed_set: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
        assert_eq!(listed.len(), listed_set.len(), "a call listed twice");
        let mut per_call: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for event in events {
            per_call
                .entry(&event.call_id)
                .or_default()
                .insert(&event.event_id);
        }
        assert_eq!(
            listed_set,
            per_call.keys().copied().collect::<BTreeSet<_>>(),
            "calls of {account}"
        );
        for (call_id, ids) in &per_call {
            let encoded: String = form_urlencoded::byte_serialize(call_id.as_bytes()).collect();
            let reply = api.get(&format!("/v2/accounts/{account}/pivot/debug/{encoded}"), token);
            let items = reply.body["data"].as_array().unwrap();
            let got: Vec<&str> = items.iter().map(|item| item["id"].as_str().unwrap()).collect();
            assert_eq!(got.len(), ids.len(), "records of {call_id}: {got:?}");
            assert_eq!(
                got.into_iter().collect::<BTreeSet<_>>(),
                *ids,
                "records of {call_id}"
            );
        }
    }

    // The 1.2 MB page went whole (compressed under the limit), and is found.
    let search = |word: &str| {
        let reply = api.get(
            &format!("/v2/accounts/{account}/pivot/search?q={word}&{window}"),
            token,
        );
        assert_eq!(reply.body["total_hits"], 1, "{word}: {}", reply.body);
        reply.body["data"][0].clone()
    };
    let hit = search(WHOLE_WORD);
    assert_eq!(hit["id"], "bigwhole");
    assert_eq!(hit["body_bytes"], WHOLE_BODY_BYTES);
    assert_eq!(hit["body_truncated_at_publish"], false);
    assert!(hit.get("body_original_bytes").is_none());
    let detail = api.get(
        &format!("/v2/accounts/{account}/pivot/debug/bigwhole%40192.0.2.1"),
        token,
    );
    let item = &detail.body["data"][0];
    assert_eq!(item["resp_body"], whole["resp_body"], "the whole body is served");
    assert!(item.get("body_truncated_at_publish").is_none());

    // The 3 MB body was cut to fit, says so, and its start is kept and searchable.
    let hit = search(CUT_WORD);
    assert_eq!(hit["id"], "bigcut");
    assert_eq!(hit["body_truncated_at_publish"], true);
    assert_eq!(hit["body_original_bytes"], CUT_BODY_BYTES);
    let kept = hit["body_bytes"].as_u64().unwrap() as usize;
    // Kept: what compresses to just under the 1 MB default (zstd brings base64 text to
    // about 3/4), so more than a few hundred KB and less than the whole.
    assert!((500_000..CUT_BODY_BYTES).contains(&kept), "kept {kept} bytes");
    let detail = api.get(
        &format!("/v2/accounts/{account}/pivot/debug/bigcut%40192.0.2.1"),
        token,
    );
    let item = &detail.body["data"][0];
    assert_eq!(item["body_truncated_at_publish"], true);
    assert_eq!(item["body_original_bytes"], CUT_BODY_BYTES);
    let body = item["resp_body"].as_str().unwrap();
    assert_eq!(body.len(), kept);
    assert!(cut_body.starts_with(body), "the body's start is kept");

    eprintln!("API checks done after {:?}", started.elapsed());
    assert!(
        crowded.is_empty(),
        "slices over {MAX_SEGMENTS_PER_SLICE} segments (name, segments, records): {crowded:?}"
    );
}
