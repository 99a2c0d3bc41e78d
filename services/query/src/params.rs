//! Crossbar's query parameters, parsed strictly: a malformed value is a 400 that says
//! which parameter and why, never a silent fallback.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use pivotlog_proto::time::{gregorian_s_to_unix_ms, unix_ms_to_gregorian_s};

use crate::envelope::ApiError;

/// Crossbar's default page size.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Crossbar's `maximum_range`: 31 days and an hour, in seconds.
pub const MAX_RANGE_S: i64 = 2_682_000;
/// Longest accepted `start_key`.
const MAX_START_KEY_LEN: usize = 2048;

/// Crossbar parameters this API does not implement; refusing them beats ignoring a
/// filter and answering with unfiltered data.
const UNSUPPORTED_PREFIXES: [&str; 7] = [
    "filter_",
    "has_key",
    "key_missing",
    "has_value",
    "value_missing",
    "modified_from",
    "modified_to",
];

pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(query: Option<&str>) -> Result<Params, ApiError> {
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            if UNSUPPORTED_PREFIXES.iter().any(|prefix| name.starts_with(prefix)) {
                return Err(ApiError::invalid_parameter(
                    &name,
                    "not_supported",
                    format!("{name} is not supported by pivotlog"),
                    &value,
                ));
            }
            if params.insert(name.to_string(), value.to_string()).is_some() {
                return Err(ApiError::invalid_parameter(
                    &name,
                    "repeated",
                    format!("{name} is given more than once"),
                    "",
                ));
            }
        }
        Ok(Params(params))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// An integer within `range`, or `default` when absent.
    pub fn integer(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<usize>,
        default: usize,
    ) -> Result<usize, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => match text.parse::<usize>() {
                Ok(value) if range.contains(&value) => Ok(value),
                _ => Err(ApiError::invalid_parameter(
                    name,
                    "range",
                    format!(
                        "{name} must be an integer from {} to {}",
                        range.start(),
                        range.end()
                    ),
                    text,
                )),
            },
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid_parameter(
                name,
                "type",
                format!("{name} must be true or false"),
                other,
            )),
        }
    }

    /// `None` with `paginate=false`, else the page size (default 50). A malformed
    /// `page_size` is an error even when `paginate=false` makes it moot.
    pub fn page_size(&self) -> Result<Option<usize>, ApiError> {
        let page_size = self.integer("page_size", 1..=MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?;
        if self.boolean("paginate")? == Some(false) {
            return Ok(None);
        }
        Ok(Some(page_size))
    }

    /// `ascending=true` or `descending=false` reverse the endpoint's default order.
    pub fn ascending(&self, default: bool) -> Result<bool, ApiError> {
        let ascending = self.boolean("ascending")?;
        let descending = self.boolean("descending")?;
        match (ascending, descending) {
            (Some(a), Some(d)) if a == d => Err(ApiError::invalid_parameter(
                "ascending",
                "conflict",
                "ascending and descending contradict each other".into(),
                "",
            )),
            (Some(a), _) => Ok(a),
            (None, Some(d)) => Ok(!d),
            (None, None) => Ok(default),
        }
    }

    /// The `created_from`..=`created_to` window in Unix ms, with Crossbar's defaults
    /// (to = now, from = to - maximum range) and its `date_range` validation.
    /// `None` when `only_if_given` and neither bound is given.
    pub fn time_range(&self, now_ms: i64, only_if_given: bool) -> Result<Option<(i64, i64)>, ApiError> {
        let from = self.gregorian("created_from")?;
        let to = self.gregorian("created_to")?;
        if only_if_given && from.is_none() && to.is_none() {
            return Ok(None);
        }
        let to = to.unwrap_or_else(|| unix_ms_to_gregorian_s(now_ms));
        let from = from.unwrap_or(to - MAX_RANGE_S);
        if to < from {
            return Err(date_range(
                format!("created_to {to} is prior to created_from {from}"),
                to,
            ));
        }
        if to - from > MAX_RANGE_S {
            return Err(date_range(
                format!("created_to {to} is more than {MAX_RANGE_S} seconds from created_from {from}"),
                to,
            ));
        }
        // `to` is a whole second: include every millisecond of it.
        Ok(Some((
            gregorian_s_to_unix_ms(from),
            gregorian_s_to_unix_ms(to) + 999,
        )))
    }

    fn gregorian(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        match text.parse::<i64>() {
            // Before 1970 or after year 9999 is no debug record's time.
            Ok(seconds)
                if (pivotlog_proto::time::UNIX_EPOCH_IN_GREGORIAN_S
                    ..=pivotlog_proto::time::MAX_GREGORIAN_S)
                    .contains(&seconds) =>
            {
                Ok(Some(seconds))
            }
            _ => Err(ApiError::invalid_parameter(
                name,
                "type",
                format!("{name} must be Gregorian seconds (e.g. 63877472674)"),
                text,
            )),
        }
    }

    /// The decoded `start_key`, and its raw text (echoed in the envelope).
    pub fn start_key<T: DeserializeOwned>(&self) -> Result<Option<(String, T)>, ApiError> {
        let Some(text) = self.get("start_key") else {
            return Ok(None);
        };
        let invalid = || {
            ApiError::invalid_parameter(
                "start_key",
                "type",
                "start_key is not a key this API issued".into(),
                text,
            )
        };
        if text.len() > MAX_START_KEY_LEN {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let key = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        Ok(Some((text.to_owned(), key)))
    }
}

/// An opaque cursor: base64url of the key's JSON.
pub fn encode_key<T: Serialize>(key: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("keys always serialize"))
}

fn date_range(message: String, cause: i64) -> ApiError {
    ApiError::Validation(json!({"created_from": {"date_range": {"message": message, "cause": cause}}}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(Some(query)).unwrap()
    }

    #[test]
    fn defaults_follow_crossbar() {
        let now = 1_710_253_474_000;
        assert_eq!(params("").page_size().unwrap(), Some(50));
        assert_eq!(params("paginate=false").page_size().unwrap(), None);
        assert!(!params("").ascending(false).unwrap());
        assert!(params("descending=false").ascending(false).unwrap());
        let (from, to) = params("").time_range(now, false).unwrap().unwrap();
        assert_eq!(to, 1_710_253_474_999);
        assert_eq!(to + 1 - from, (MAX_RANGE_S + 1) * 1000);
        assert_eq!(params("").time_range(now, true).unwrap(), None);
    }

    #[test]
    fn bad_values_are_400s_that_name_the_parameter() {
        for query in ["page_size=0", "page_size=abc", "page_size=1001", "page_size=-1"] {
            assert!(
                matches!(params(query).page_size(), Err(ApiError::Validation(data)) if data.get("page_size").is_some())
            );
        }
        assert!(params("ascending=yes").ascending(false).is_err());
        assert!(params("ascending=true&descending=true").ascending(false).is_err());
        assert!(params("created_from=abc").time_range(0, false).is_err());
        assert!(params("created_from=-5").time_range(0, false).is_err());
        assert!(params("start_key=!!").start_key::<String>().is_err());
        assert!(Params::parse(Some("page_size=1&page_size=2")).is_err());
        assert!(Params::parse(Some("filter_call_id=x")).is_err());
    }

    #[test]
    fn date_range_errors_match_kazoo() {
        let err = params("created_from=63877472674&created_to=63877472000")
            .time_range(0, false)
            .unwrap_err();
        let ApiError::Validation(data) = err else { panic!() };
        assert_eq!(
            data["created_from"]["date_range"]["message"],
            "created_to 63877472000 is prior to created_from 63877472674"
        );
        let err = params("created_from=63870000000&created_to=63877472674")
            .time_range(0, false)
            .unwrap_err();
        let ApiError::Validation(data) = err else { panic!() };
        assert_eq!(
            data["created_from"]["date_range"]["message"],
            "created_to 63877472674 is more than 2682000 seconds from created_from 63870000000"
        );
        assert_eq!(data["created_from"]["date_range"]["cause"], 63877472674i64);
    }

    #[test]
    fn keys_round_trip() {
        let key = encode_key(&("a", 1));
        let (raw, back): (String, (String, i32)) =
            params(&format!("start_key={key}")).start_key().unwrap().unwrap();
        assert_eq!(raw, key);
        assert_eq!(back, ("a".to_owned(), 1));
    }
}
