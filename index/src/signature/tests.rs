use super::*;

fn t(body: &str) -> String {
    signature(Some(500), body).template
}

fn same(a: &str, b: &str) {
    let (x, y) = (signature(Some(500), a), signature(Some(500), b));
    assert_eq!(x.template, y.template, "\n{a}\n{b}");
    assert_eq!(x.id, y.id);
}

#[test]
fn placeholders() {
    let cases: &[(&str, &str, &str)] = &[
        ("error 42 here", "error 977 here", "<num>"),
        (
            "id 3f2b1c9a-1d2e-4f5a-9b8c-7d6e5f4a3b2c",
            "id 00000000-1111-2222-3333-444444444444",
            "<uuid>",
        ),
        ("request 8f3a9b2c1d4e", "request a1b2c3d4e5f6", "<hex>"),
        ("from 10.0.0.1:5060", "from 192.168.200.17", "<ip>"),
        ("from fe80::1", "from 2001:db8:85a3::8a2e:370:7334", "<ip>"),
        ("at api.example.com", "at ip-10-0-0-1.ec2.internal", "<host>"),
        (
            "mail bob@example.com",
            "mail alice.smith+x@corp.example.org",
            "<email>",
        ),
        (
            "at 2026-12-01T10:00:00Z",
            "at 2025-01-31T23:59:59.123+01:00",
            "<time>",
        ),
        (
            "at Tue, 01 Dec 2026 10:00:00 GMT",
            "at Wed, 15 Jan 2025 08:01:02 GMT",
            "<time>",
        ),
        ("at 2026-12-01 10:00:00", "at 2024-02-29 01:02:03", "<time>"),
        (
            "at [01/Dec/2026:10:00:00 +0000]",
            "at [15/Jan/2025:08:01:02 -0500]",
            "<time>",
        ),
        ("at 1733047200", "at 1700000000123", "<time>"),
        ("took 250ms", "took 1.5s", "<duration>"),
        ("retry in 30 seconds", "retry in 5 minutes", "<duration>"),
        (
            "GET /users/12345/calls",
            "GET /users/abc123def456/calls",
            "/users/<id>/calls",
        ),
        ("at Foo.java:123", "at Foo.java:7", "Foo.java:<line>"),
        ("on line 42", "on line 7", "<line>"),
        ("File \"app.py\", line 17", "File \"app.py\", line 170", "<line>"),
        ("at /srv/app.js:10:5", "at /srv/app.js:210:15", "app.js:<line>"),
        ("call +14155550100", "call +442079460958", "<phone>"),
        ("call (415) 555-0100", "call 650-555-0199", "<phone>"),
        (
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
            "token eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.xyz",
            "<b64>",
        ),
    ];
    for (a, b, placeholder) in cases {
        same(a, b);
        assert!(t(a).contains(placeholder), "{a} -> {} lacks {placeholder}", t(a));
    }
}

#[test]
fn structure_is_kept() {
    let html = "<html><head><title>502 Bad Gateway</title><style>body{x:1}</style>\
                <script>var a = 1;</script></head><body><h1 class=\"x\">502 Bad Gateway</h1>\
                <p>nginx/1.18.0</p></body></html>";
    assert_eq!(t(html), "<num> Bad Gateway <num> Bad Gateway nginx/<num>");
    assert_eq!(
        t("{\"error\": \"not_found\", \"retry\": 30}"),
        "{\"error\":\"not_found\",\"retry\":<num>}"
    );
    assert_eq!(
        t("<?xml version=\"1.0\"?><Response><Say voice=\"a\">Hi 12</Say><Hangup/></Response>"),
        "<Response> <Say> Hi <num> <Hangup>"
    );
    assert_eq!(t(""), "<empty>");
    assert_eq!(t(" \n\t "), "<empty>");
}

#[test]
fn whitespace_does_not_matter() {
    same(
        "{\"a\":1,\"b\":{\"c\":\"x y\"}}",
        "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": \"x y\"\n  }\n}",
    );
    same("<p>Hello   world</p>", "<p>\n  Hello\n  world\n</p>");
    same("Error:  something\n\tat x", "Error: something at x");
}

#[test]
fn different_structures_and_statuses_differ() {
    assert_ne!(signature(Some(500), "a b").id, signature(Some(502), "a b").id);
    assert_ne!(signature(Some(500), "a b").id, signature(None, "a b").id);
    assert_ne!(
        signature(Some(500), "Not Found").id,
        signature(Some(500), "Bad Gateway").id
    );
    assert_ne!(t("{\"a\":1}"), t("{\"b\":1}"));
}

#[test]
fn deterministic() {
    let body = "Error 500 at 2026-12-01T10:00:00Z request 8f3a9b2c1d4e";
    let a = signature(Some(500), body);
    assert_eq!(a, signature(Some(500), body));
    // FNV-1a 64 of "500\n" + template: fixed across builds and machines.
    let mut h: u64 = 0xcbf29ce484222325;
    for byte in format!("500\n{}", a.template).bytes() {
        h = (h ^ u64::from(byte)).wrapping_mul(0x100000001b3);
    }
    assert_eq!(a.id, h);
    assert_eq!(signature(None, "").id, signature(None, "").id);
}

#[test]
fn id_format_roundtrip() {
    for id in [0, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
        let text = format_id(id);
        assert_eq!(text.len(), 16);
        assert_eq!(parse_id(&text), Some(id));
        assert_eq!(parse_id(&text.to_uppercase()), Some(id));
    }
    for bad in [
        "",
        "123",
        "0123456789abcdeg",
        "+123456789abcdef",
        "0123456789abcdef0",
        " 123456789abcdef",
    ] {
        assert_eq!(parse_id(bad), None, "{bad}");
    }
}

#[test]
fn bounded_prefix() {
    let head = "<html><title>Oops</title><body>".to_owned();
    let mut big = head.clone() + &"word ".repeat(2_000_000);
    big.truncate(10 << 20);
    let prefix = cut(&big, TEMPLATE_PREFIX_BYTES).to_owned();
    assert_eq!(signature(Some(500), &big), signature(Some(500), &prefix));
    assert!(signature(Some(500), &big).template.len() <= MAX_TEMPLATE_BYTES);
}

#[test]
fn odd_inputs_do_not_panic() {
    let mut inputs: Vec<String> = vec![
        "é".repeat(3000),
        format!("{}€", "a".repeat(TEMPLATE_PREFIX_BYTES - 1)),
        format!("{}€", "a".repeat(TEMPLATE_PREFIX_BYTES - 2)),
        "!@#$%^&*()_+-=[]{};':\",./<>?\\|`~".repeat(10),
        "x".repeat(100_000),
        "9".repeat(100_000),
        "[".repeat(50_000),
        "{\"a\":".repeat(20_000),
        "<div><span".into(),
        "<a href=\"x".into(),
        "<script>never closed".into(),
        "<!-- never closed".into(),
        "<".into(),
        "</".into(),
        "&#99999999; &#x110000; &; &amp".into(),
        "\"\\".into(),
        "{\"a\":\"\\".into(),
        "{\"a\":\"\\é\"}".into(),
        "+".into(),
        "(".into(),
        "1-".into(),
        "Tue,".into(),
        "Dec 1,".into(),
        "12:".into(),
        "2026-12-".into(),
        "::".into(),
        "[::1".into(),
        "a@".into(),
        "@b.com".into(),
        "http://".into(),
        "file:///".into(),
        "x:1".into(),
        ":12:34".into(),
        "0x".into(),
        "1e".into(),
        "1.2.3.4.5.6".into(),
        "\u{0}\u{1}\u{7f}\u{feff}".into(),
        "µs 5µs".into(),
    ];
    inputs.push(format!("<p>{}</p>", "<b>".repeat(5000)));
    for input in &inputs {
        let s = signature(Some(500), input);
        assert!(s.template.len() <= MAX_TEMPLATE_BYTES, "{input:.40}");
        assert!(!s.template.is_empty());
        signature(None, input);
    }
}
