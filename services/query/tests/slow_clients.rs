//! The HTTP server on a real loopback socket: a client that stalls in its request
//! headers is disconnected, an oversized request head is refused, and a normal
//! request still works on the same server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use pivotlog_query::{router, AppState, Authenticator};
use pivotlog_serve::{serve_with, MAX_REQUEST_HEAD_BYTES};

async fn start(header_timeout: Duration) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router(AppState::new(Authenticator::default()));
    tokio::spawn(serve_with(
        listener,
        app,
        async move {
            let _ = stopped.await;
        },
        header_timeout,
    ));
    (address, stop)
}

fn exchange(address: std::net::SocketAddr, request: &[u8]) -> (String, Duration) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_oversized_request_heads_are_cut_off() {
    let (address, _stop) = start(Duration::from_millis(500)).await;
    let (answer, took) = tokio::task::spawn_blocking(move || {
        exchange(address, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    })
    .await
    .unwrap();
    assert!(
        took < Duration::from_secs(5),
        "a stalled client held its connection for {took:?}"
    );
    assert!(!answer.contains("200 OK"), "{answer}");

    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(MAX_REQUEST_HEAD_BYTES + 1)
    );
    let (answer, _) = tokio::task::spawn_blocking(move || exchange(address, huge.as_bytes()))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    let (answer, _) = tokio::task::spawn_blocking(move || {
        exchange(
            address,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
