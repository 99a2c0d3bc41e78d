//! How the request and answer model travels as JSON (the shard API): records as their
//! exact protobuf bytes in base64 (unknown fields kept), and maps whose keys JSON
//! cannot name as lists of pairs.

/// One [`DebugEvent`](pivotlog_proto::DebugEvent) as base64 protobuf.
pub mod event {
    use base64::Engine;
    use prost::Message;
    use serde::{Deserialize, Deserializer, Serializer};

    use pivotlog_proto::DebugEvent;

    pub fn serialize<S: Serializer>(event: &DebugEvent, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(event.encode_to_vec()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DebugEvent, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        decode(&text).map_err(serde::de::Error::custom)
    }

    pub(super) fn decode(text: &str) -> Result<DebugEvent, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|err| format!("event is not base64: {err}"))?;
        DebugEvent::decode(bytes.as_slice()).map_err(|err| format!("event is not protobuf: {err}"))
    }
}

/// A list of [`DebugEvent`](pivotlog_proto::DebugEvent)s, each as in [`event`].
pub mod events {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    use pivotlog_proto::DebugEvent;

    struct One<'a>(&'a DebugEvent);

    impl serde::Serialize for One<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::event::serialize(self.0, serializer)
        }
    }

    pub fn serialize<S: Serializer>(events: &[DebugEvent], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(events.len()))?;
        for event in events {
            seq.serialize_element(&One(event))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<DebugEvent>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| super::event::decode(text).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// A `BTreeMap` as a list of `[key, value]` pairs.
pub mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use pivotlog_proto::DebugEvent;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Carrier {
        #[serde(with = "super::events")]
        events: Vec<DebugEvent>,
    }

    #[test]
    fn events_travel_exactly() {
        let carrier = Carrier {
            events: vec![DebugEvent {
                event_id: "e1".into(),
                call_id: "c1".into(),
                iteration: 2,
                ..Default::default()
            }],
        };
        let json = serde_json::to_string(&carrier).unwrap();
        assert_eq!(serde_json::from_str::<Carrier>(&json).unwrap(), carrier);
        assert!(serde_json::from_str::<Carrier>(r#"{"events":["%%"]}"#).is_err());
    }
}
