//! Issue: scale-out (production brokers need TLS and SASL).
//!
//! * A tansu broker that requires SASL/SCRAM-SHA-512 authentication: the credentials
//!   reach librdkafka through `PIVOTLOG_KAFKA_*` variables alone, for the producer and
//!   the indexer; wrong ones are refused and the indexer says so on `/readyz` instead of
//!   indexing nothing quietly.
//! * TLS: tansu 0.6.0 cannot serve TLS itself (its CLI makes `--cert` and `--key`
//!   mutually exclusive), so a TLS-terminating proxy runs in front of it, and the broker
//!   advertises the proxy. Producer and indexer connect with `security.protocol=SSL`,
//!   verify the certificate against the CA given in `ssl.ca.location`, and index
//!   everything; a client trusting another CA is refused.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls;

use support::*;

const TOPIC: &str = "pivot-debug";
const USER: &str = "pivotlog";
const PASSWORD: &str = "correct horse battery staple";

fn with_credentials(command: &mut Command, password: &str) {
    command
        .env("PIVOTLOG_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
        .env("PIVOTLOG_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        .env("PIVOTLOG_KAFKA_SASL_USERNAME", USER)
        .env("PIVOTLOG_KAFKA_SASL_PASSWORD", password)
        .env("PIVOTLOG_KAFKA_MESSAGE_TIMEOUT_MS", "5000");
}

fn indexer(broker: &Broker, dir: &std::path::Path, password: &str, health: u16) -> Process {
    let mut command = pivotlog(broker, TOPIC);
    command
        .args(["indexer", "--commit-interval-ms", "200", "--health-listen"])
        .arg(format!("127.0.0.1:{health}"))
        .arg("--data-dir")
        .arg(dir);
    with_credentials(&mut command, password);
    Process::spawn_logging(command, &dir.with_extension("log"))
}

#[test]
fn sasl_scram_credentials_reach_every_kafka_client() {
    let work = tempfile::tempdir().unwrap();
    // Users are created while the broker is open, then it restarts requiring them.
    let storage = format!("sqlite:///{}", work.path().join("tansu.db").display());
    let open = Broker::start_with_storage(storage);
    open.create_topic(TOPIC, 2);
    open.create_user(USER, PASSWORD);
    let (port, storage) = open.stop();
    let broker = Broker::start_on_with(port, storage, &["--authentication"]);

    let args = [
        "simulate",
        "--count",
        "300",
        "--seed",
        "5",
        "--start-unix-ms",
        "1710000000000",
    ];
    let mut refused = pivotlog(&broker, TOPIC);
    refused.args(args);
    with_credentials(&mut refused, "wrong password");
    let output = refused.output().unwrap();
    assert!(!output.status.success(), "a wrong password must not publish");

    let mut publish = pivotlog(&broker, TOPIC);
    publish.args(args);
    with_credentials(&mut publish, PASSWORD);
    run_ok(publish);

    // Wrong credentials: not ready, says why, indexes nothing.
    let (bad_health, good_health) = (free_port(), free_port());
    let bad_dir = work.path().join("bad");
    let _bad = indexer(&broker, &bad_dir, "wrong password", bad_health);
    let bad = Api {
        base: format!("http://127.0.0.1:{bad_health}"),
    };
    wait_until("the health endpoint", Duration::from_secs(30), || {
        bad.try_get("/readyz", None).is_ok()
    });
    std::thread::sleep(Duration::from_secs(3));
    let reply = bad.get("/readyz", None);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.body["stats"]["indexed"], 0);

    // The right ones: every record is indexed.
    let good_dir = work.path().join("good");
    let _good = indexer(&broker, &good_dir, PASSWORD, good_health);
    let index = open_index(&good_dir);
    wait_until("every record indexed over SASL", Duration::from_secs(60), || {
        indexed(&index) >= 300
    });
    assert_eq!(indexed(&index), 300);
    let good = Api {
        base: format!("http://127.0.0.1:{good_health}"),
    };
    assert_eq!(good.get("/readyz", None).status, 200);
}

/// Accepts TLS on a loopback port and forwards the plaintext to `upstream`, on its own
/// runtime, for as long as it lives.
struct TlsProxy {
    port: u16,
    _runtime: tokio::runtime::Runtime,
}

impl TlsProxy {
    fn start(certified: &rcgen::CertifiedKey, upstream: u16) -> TlsProxy {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = rustls::pki_types::PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key.into())
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut client) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut broker) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
                });
            }
        });
        TlsProxy {
            port,
            _runtime: runtime,
        }
    }
}

fn over_tls(command: &mut Command, proxy: &TlsProxy, ca: &Path) {
    command
        .env("PIVOTLOG_BROKERS", format!("127.0.0.1:{}", proxy.port))
        .env("PIVOTLOG_KAFKA_SECURITY_PROTOCOL", "SSL")
        .env("PIVOTLOG_KAFKA_SSL_CA_LOCATION", ca)
        .env("PIVOTLOG_KAFKA_MESSAGE_TIMEOUT_MS", "5000");
}

#[test]
fn tls_with_certificate_verification_reaches_every_kafka_client() {
    let work = tempfile::tempdir().unwrap();
    let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names.clone()).unwrap();
    let stranger = rcgen::generate_simple_self_signed(names).unwrap();
    let (ca, wrong_ca) = (work.path().join("ca.pem"), work.path().join("other-ca.pem"));
    std::fs::write(&ca, certified.cert.pem()).unwrap();
    std::fs::write(&wrong_ca, stranger.cert.pem()).unwrap();

    // The proxy needs the broker's port, the broker the proxy's: reserve the broker's.
    let broker_port = free_port();
    let proxy = TlsProxy::start(&certified, broker_port);
    let broker = Broker::start_advertising(broker_port, proxy.port, "memory://tansu/".into(), &[]);
    broker.create_topic(TOPIC, 2);

    let args = [
        "simulate",
        "--count",
        "300",
        "--seed",
        "6",
        "--start-unix-ms",
        "1710000000000",
    ];
    let mut untrusting = pivotlog(&broker, TOPIC);
    untrusting.args(args);
    over_tls(&mut untrusting, &proxy, &wrong_ca);
    let output = untrusting.output().unwrap();
    assert!(
        !output.status.success(),
        "a certificate from an unknown CA must be refused"
    );

    let mut publish = pivotlog(&broker, TOPIC);
    publish.args(args);
    over_tls(&mut publish, &proxy, &ca);
    run_ok(publish);

    let dir = work.path().join("index");
    let mut command = pivotlog(&broker, TOPIC);
    command
        .args(["indexer", "--commit-interval-ms", "200", "--data-dir"])
        .arg(&dir);
    over_tls(&mut command, &proxy, &ca);
    let _indexer = Process::spawn_logging(command, &work.path().join("indexer.log"));
    let index = open_index(&dir);
    // (The simulator ends on whole calls: a few records more than --count.)
    let expected = simulated_events(&broker, TOPIC, &args[1..]).len();
    wait_until("every record indexed over TLS", Duration::from_secs(60), || {
        indexed(&index) >= expected
    });
    assert_eq!(indexed(&index), expected);
}
