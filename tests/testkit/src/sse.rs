//! A Server-Sent Events client for live tails (tests and the pipeline bench): one thread per stream reads
//! its events into a channel, and stops reading (closing the connection) once told to,
//! at the next line (the servers under test send a heartbeat every second), or once
//! the server ends the stream.

use std::io::{BufRead, BufReader};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One event of a stream (`kind`: `message` for records, else the named kind).
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub kind: String,
    pub id: Option<String>,
    pub data: Value,
}

/// An open stream.
pub struct Stream {
    events: Receiver<SseEvent>,
    stop: Arc<AtomicBool>,
    /// Heartbeat comments seen so far.
    pub heartbeats: Arc<std::sync::atomic::AtomicUsize>,
    /// The last event id received (what a browser sends back on reconnecting).
    pub last_id: Option<String>,
}

/// What opening a stream gave: the stream, or the status and envelope of a refusal.
pub enum Opened {
    Stream(Stream),
    Refused {
        status: u16,
        retry_after: Option<String>,
        body: Value,
    },
}

impl Opened {
    pub fn stream(self) -> Stream {
        match self {
            Opened::Stream(stream) => stream,
            Opened::Refused { status, body, .. } => panic!("the stream was refused: {status} {body}"),
        }
    }
}

/// Opens `url` with `token` and, if given, `Last-Event-ID`.
pub fn open(url: &str, token: &str, last_event_id: Option<&str>) -> Opened {
    // The server's heartbeats (a second apart in the tests) wake the reading thread
    // to see whether to stop; ureq's chunked decoding does not survive a read timeout.
    let agent = ureq::AgentBuilder::new()
        .timeout_read(Duration::from_secs(30))
        .build();
    let mut request = agent
        .get(url)
        .set("X-Auth-Token", token)
        .set("Accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.set("Last-Event-ID", id);
    }
    let response = match request.call() {
        Ok(response) => response,
        Err(ureq::Error::Status(status, response)) => {
            let retry_after = response.header("retry-after").map(str::to_owned);
            let body = serde_json::from_str(&response.into_string().unwrap()).unwrap();
            return Opened::Refused {
                status,
                retry_after,
                body,
            };
        }
        Err(err) => panic!("GET {url}: {err}"),
    };
    assert_eq!(response.content_type(), "text/event-stream");
    let (sender, events) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeats = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (stopping, beats) = (stop.clone(), heartbeats.clone());
    std::thread::spawn(move || {
        let mut reader = BufReader::new(response.into_reader());
        let (mut kind, mut id, mut data) = (None::<String>, None::<String>, String::new());
        let mut line = String::new();
        while !stopping.load(Ordering::SeqCst) {
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let taken = std::mem::take(&mut line);
            let line = taken.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !data.is_empty() {
                    let event = SseEvent {
                        kind: kind.take().unwrap_or_else(|| "message".into()),
                        id: id.take(),
                        data: serde_json::from_str(&data).expect("event data is JSON"),
                    };
                    data.clear();
                    if sender.send(event).is_err() {
                        return;
                    }
                }
            } else if line.starts_with(':') {
                beats.fetch_add(1, Ordering::SeqCst);
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push_str(value.trim_start());
            } else if let Some(value) = line.strip_prefix("id:") {
                id = Some(value.trim_start().to_owned());
            } else if let Some(value) = line.strip_prefix("event:") {
                kind = Some(value.trim_start().to_owned());
            }
        }
    });
    Opened::Stream(Stream {
        events,
        stop,
        heartbeats,
        last_id: None,
    })
}

impl Stream {
    /// The next event within `timeout`, if any.
    pub fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => {
                if event.id.is_some() {
                    self.last_id = event.id.clone();
                }
                Some(event)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Events until `done` says the ones so far are enough, or `timeout` passes.
    pub fn collect_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&[SseEvent]) -> bool,
    ) -> Vec<SseEvent> {
        let deadline = Instant::now() + timeout;
        let mut events = Vec::new();
        while !done(&events) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if let Some(event) = self.next(left.min(Duration::from_millis(200))) {
                events.push(event);
            }
        }
        events
    }

    /// Stops reading: the connection closes within the read timeout.
    pub fn close(mut self) -> Option<String> {
        self.stop.store(true, Ordering::SeqCst);
        self.last_id.take()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The records among `events`.
pub fn records(events: &[SseEvent]) -> Vec<&Value> {
    events
        .iter()
        .filter(|event| event.kind == "message")
        .map(|event| &event.data)
        .collect()
}
