//! Hostile text never panics the two parsers every client-supplied or server-supplied
//! string goes through: the search query language (`q=`) and the error-signature
//! templater (every response body). Property tests, in CI; the same properties run
//! under libFuzzer with `./scripts/fuzz N all` (`fuzz-index/`).

use pivotlog_index::signature::{signature, MAX_TEMPLATE_BYTES, TEMPLATE_PREFIX_BYTES};
use pivotlog_index::PivotIndex;
use proptest::prelude::*;

/// Text made of the pieces both parsers look for, in any order.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[ -~]{0,12}",
        "\\PC{0,6}",
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just(":".to_owned()),
        Just("[1 TO".to_owned()),
        Just(" AND ".to_owned()),
        Just("-".to_owned()),
        Just("*".to_owned()),
        Just("signature:".to_owned()),
        Just("status_code:>=".to_owned()),
        Just("<html><title>".to_owned()),
        Just("</".to_owned()),
        Just("<!--".to_owned()),
        Just("{\"a\":[".to_owned()),
        Just("&#x".to_owned()),
        Just("2026-12-01T10:00:00.123+01:00".to_owned()),
        Just("10.0.0.1:5432".to_owned()),
        Just("::ffff:".to_owned()),
        Just("0x".to_owned()),
        Just("+1 (415) 555-0100".to_owned()),
        Just("at Foo.java:".to_owned()),
        Just("é\u{200b}\u{10ffff}".to_owned()),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_query_is_parsed_or_refused_with_a_position_inside_it(text in hostile()) {
        let index = PivotIndex::create_in_ram().unwrap();
        if let Err(err) = index.parse_query(&text) {
            prop_assert!(err.position.is_none_or(|position| position <= text.len()), "{err:?}");
        }
    }

    #[test]
    fn a_body_always_has_one_bounded_signature(body in hostile(), status in prop::option::of(100u32..600)) {
        let first = signature(status, &body);
        prop_assert!(first.template.len() <= MAX_TEMPLATE_BYTES + 64, "{}", first.template.len());
        prop_assert_eq!(&first, &signature(status, &body));
        // Only the prefix counts: what follows it changes nothing.
        let long = format!("{body}{}", "x".repeat(TEMPLATE_PREFIX_BYTES + 10));
        let longer = format!("{long}{}", "<b>more</b> 12345 ".repeat(50));
        prop_assert_eq!(signature(status, &long), signature(status, &longer));
    }
}
