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

/// Ids are stored in the index (format 6) and must match across replays: these bodies'
/// templates and ids were recorded from the templater before it was optimized.
#[test]
fn ids_are_pinned() {
    let pinned: &[(Option<u32>, &str, &str, u64)] = &[
        (Some(418), " 1wd5xsHUiuqmr8FHL\u{1e3c2}\u{a0}app@host.example.com <empty> 10:00:00.123 +14155550100  \u{16d9c}NaNykrSV6dSUcL2026/12/01 fe80::1%eth0\r\n tnNYdQkRABulAVEMGlPiLS8Vn91iAVljHyi 3hrs::8863508aa55ffa752bf4a", "1wd5xsHUiuqmr8FHL\u{1e3c2}\u{a0}app@<host> <empty> <time> <phone> \u{16d9c}NaNykrSV6dSUcL2026/<id>/<id> fe80::<num>%eth0 <b64> <duration>::<hex>", 0xfa35258eb42711b0),
        (None, "<html> 𓋉_ #21965605p~1.5s 26error  30 seconds 1.5s 10.0.0.1\"k\":\"v\"aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ3hrs.cs:line 42Line: 7 z08YnqzAzu a5c5bf\"call\": \"k3x9a2b1c\"", "𓋉_ #<num>p~<duration> <num>error <duration> <ip>\"k\":\"v\"<b64>.cs:line <line>Line: <line> <id>\"call\": \"<id>\"", 0xc00d65f33fd835e7),
        (Some(500), "{\n1.2.3.4.5  \"error\": \"a@b.coinvalid<num>_token\",\n  \"error_description\": \"The access token expired at 2025-09-10T17:21:15Z\",\n  \"request14155550100_id\": \"152208eb-4414-4fe2-a83f-8bfe5debdaab\"\n}", "{<num>\"error\":\"<email><num>_token\",\"error_description\":\"The access token expired at <time>\",\"<id>_id\":\"<uuid>\"}", 0x22493ba0b1ba7882),
        (Some(404), "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.15.0</center>\r\n</body>\r\n</html>\r\n", "<num> Not Found <num> Not Found nginx/<num>", 0x1a8bee65291a55e8),
        (Some(422), "{\"detail\":[{\"input\":{\"Call-ID\":\"6956eecaddfb3f86@143.76.236.133\",\"Request\":\"+18877591950\"},\"loc\":[\"body\",\"Caller-ID-Number\"],\"msg\":\"Field required\",\"type\":\"missing\"}]}", "{\"detail\":[{\"input\":{\"Call-ID\":\"<hex>@<ip>\",\"Request\":\"<phone>\"},\"loc\":[\"body\",\"Caller-ID-Number\"],\"msg\":\"Field required\",\"type\":\"missing\"}]}", 0x4d58f04f4d0f889c),
        (Some(504), "FetchError: request to https://web3.umbrella.net/v1/lookup?number=%2B12195046020 failed, reason: connect ETIMEDOUT 172.27.142.153:443 after 8661ms", "FetchError: request to https://<host>/v1/lookup?number=%<hex> failed, reason: connect ETIMEDOUT <ip> after <duration>", 0xa1b4cf2b45706eb5),
        (Some(504), "FetchError: request to https://pivot.callhero.io/v1/lookup?number=%2B13987208526 failed, reason: connect ETIMEDOUT 119.205.87.196:443 after 3774ms", "FetchError: request to https://<host>/v1/lookup?number=%<hex> failed, reason: connect ETIMEDOUT <ip> after <duration>", 0xa1b4cf2b45706eb5),
        (None, "&#x1F600;<?xml version=\"1.0\"?>5F 10:00f.5<Response> 9c4W25VkUPf83TGJMoBqUHPwyrz677VEkTPuvKTbfDec  1 10:00:00\u{0}12345678 ABCDEF01231764583200<script>x<y</script>", "&#<id>;<?xml version=\"<num>\"?><num>F <num>:<num>f.<num><Response> <b64> <num> <time> <num> <hex><script>x<y</script>", 0xdd3943cc99f0e48e),
        (Some(238), " \t\u{eeb0} =2026-12-01T10:00:00Z http://10.0.0.1:80/a/b2a3QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=", "\u{eeb0} =<time> http://<ip>/a/<id>=", 0x3c82218a1f3d2690),
        (Some(504), "FetchError: request to https://callflow-8ipfx.voipco.co.uk/v1/lookup?number=%2B12259565613 failed, reason: connect ETIMEDOUT 192.168.156.83:443 after 9746ms", "FetchError: request to https://<host>/v1/lookup?number=%<hex> failed, reason: connect ETIMEDOUT <ip> after <duration>", 0xa1b4cf2b45706eb5),
        (None, "<html><body>๯1e+atDec 1, 2026qAdoKYoXsm01dH8WsBR6HNOzJCTGage\"😀 𛆘5.룯../x31J7RVfQ9nY2Dji3SFq3xnjoZFNip-10-0-0-1.ec2.internal5277775 _  kazoo_apps@apps001", "๯1e+atDec <num>, <b64>\"😀 𛆘5.룯../<b64>-<num>-<num>-<num>-<num>.ec2.<id> _ kazoo_apps@<id>", 0x66525a7840a25b0b),
        (Some(504), "FetchError: request to https://ip-10-139-251-177.ec2.internal/v1/lookup?number=%2B14668880158 failed, reason: connect ETIMEDOUT 192.168.19.199:443 after 17366ms", "FetchError: request to https://<host>/v1/lookup?number=%<hex> failed, reason: connect ETIMEDOUT <ip> after <duration>", 0xa1b4cf2b45706eb5),
        (Some(429), "Rate limit exceeded: 4822 requests in the last 10 minutes from 192.168.199.130. Try again in 174 seconds.", "Rate limit exceeded: <num> requests in the last <duration> from <ip>. Try again in <duration>.", 0x9edf215e316205d5),
        (Some(101), "410848982026-12-01 10:00:00 250ms0.5Tue, 01 Dec 2026 10:00:00 GMT3hrs 2026/12/01<br/>쯲10:00:00.123Http11Processor", "<hex> <time> <id>.<num>Tue, <num> Dec <num> <num>:<num>:<num> GMT3hrs <time> 쯲10:<num>:<num>.<id>", 0x06df79e6ee1dcd8e),
        (Some(500), "{\"error\":{\"address\":\"10.194.203.114\",\"codeapi.ehttp://10.0.0.1:80/a/bxample.com\":\"ECONNREFUSED\",\"errno\":-111,\"message\":\"connect ECONNREFUSED 10.194.203.114:6379\",\"port\":6379,\"syscall\":\"connect\"}}", "{\"error\":{\"address\":\"<ip>\",\"codeapi.ehttp://<ip>/a/<host>\":\"ECONNREFUSED\",\"errno\":<num>,\"message\":\"connect ECONNREFUSED <ip>\",\"port\":<num>,\"syscall\":\"connect\"}}", 0xa69c59365d7f38a7),
        (Some(413), "   \u{feff} 43948154bc2aec8q 40<body>42 error1,234e ./a/b\\u00e9䪈B(415) 555-0100-1.5e3", "<id> <num> error1,<num>e ./a/b\\u00e9䪈B<phone><num>", 0xc5faeddfb02095c0),
        (Some(136), "{ ::1cd61ef7c559a20b04bef774../x\u{1ba0c}22466630\u{7f}%Line: 7<!DOCTYPE html><!-- c -->1764583200", "{::<hex>../x\u{1ba0c}22466630 %Line:<line><!DOCTYPEhtml><!--c--><time>", 0xf7e2024b4df18bbe),
        (Some(422), "{\"detail\":[{\"input\":{\"Call-ID\":\"e5794e3de5d404fb@192.168.243.206\",\"Request\":\"+18477126018\"},\"loc\":[\"body\",\"Caller-ID-Number\"],\"msg\":\"Field required\",\"type\":\"missing\"}]}", "{\"detail\":[{\"input\":{\"Call-ID\":\"<hex>@<ip>\",\"Request\":\"<phone>\"},\"loc\":[\"body\",\"Caller-ID-Number\"],\"msg\":\"Field required\",\"type\":\"missing\"}]}", 0x4d58f04f4d0f889c),
        (Some(326), " lineilable, request timed out after 11994ms.\n\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool. [</html>:ꪀ\"k\":\"v\"true1.5 s3hrs@𒿃2026-12-01 10:00:00", "lineilable, request timed out after <duration>. at com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool. [</html>:ꪀ\"k\":\"v\"true1.<num> s3hrs@𒿃2026-<num>-<num> <time>", 0x902e1414bf64b79a),
        (Some(504), "FetchError: request to https://api.callhero.com/v1/lookup?number=%2B12005018790 failed, reason: connect ETIMEDOUT 180.4.144.37:443 after 20209ms", "FetchError: request to https://<host>/v1/lookup?number=%<hex> failed, reason: connect ETIMEDOUT <ip> after <duration>", 0xa1b4cf2b45706eb5),
        (Some(400), "{\"errors\":[{\"field\":\"caller_id_number\",\"message\":\"must be a valid E.164 number\",\"value\":\"216-620-3805\"}],\"span_id\":\"587c342d269b96a6\",\"trace_id\":\"461566563cf40dcb640b5842f13214dd\"}", "{\"errors\":[{\"field\":\"caller_id_number\",\"message\":\"must be a valid E.<num> number\",\"value\":\"<phone>\"}],\"span_id\":\"<hex>\",\"trace_id\":\"<hex>\"}", 0x831f03133286b609),
        (Some(429), "Rate limit exceeded: 2309 requests in the last 8 minutes from 111.66.130.240. Try again in 126 seconds.", "Rate limit exceeded: <num> requests in the last <duration> from <ip>. Try again in <duration>.", 0x9edf215e316205d5),
        (Some(500), "{\"detail\":[{\"input\":{\"Call-+14155550100ID\":a.b.c.d\"8b115edc708ad0fa@192.168.199.149\",\"Request\":\"+13794260262\"},\"loc\":[\"1body\",\"Caller-ID-Numlineber\"],\"msg\":\"Field required\",\"type\":\"missing\"}]}", "{\"detail\":[{\"input\":{\"Call-+<num>ID\":a.b.c.d\"<hex>@<ip>\",\"Request\":\"<phone>\"},\"loc\":[\"<num>body\",\"Caller-ID-Numlineber\"],\"msg\":\"Field required\",\"type\":\"missing\"}]}", 0x75145f4e97a369da),
        (Some(429), "{\"error\":\"rate_limit_exceeded\",\"message\":\"Too many requests: limit is 1000 per 60 seconds.\",\"reset_at\":1762844304,\"retry_after\":62}", "{\"error\":\"rate_limit_exceeded\",\"message\":\"Too many requests: limit is <num> per <duration>.\",\"reset_at\":<time>,\"retry_after\":<num>}", 0x0d66c93ad834ffe3),
    ];
    for &(status, body, template, id) in pinned {
        let s = signature(status, body);
        assert_eq!(s.template, template, "{body:?}");
        assert_eq!(s.id, id, "{body:?}");
    }
}
