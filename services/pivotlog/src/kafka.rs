//! Kafka client settings shared by every subcommand.

use rdkafka::config::ClientConfig;

/// Where the topic lives, and any librdkafka property (TLS, SASL, tuning).
#[derive(clap::Args, Debug, Clone)]
pub struct KafkaArgs {
    /// Bootstrap brokers, comma-separated.
    #[arg(long, env = "PIVOTLOG_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// The debug-event topic.
    #[arg(long, env = "PIVOTLOG_TOPIC", default_value = "pivot-debug")]
    pub topic: String,
    /// Extra librdkafka property, `name=value` (repeatable), e.g.
    /// `security.protocol=SASL_SSL`. Environment variables `PIVOTLOG_KAFKA_<NAME>` do the
    /// same (`PIVOTLOG_KAFKA_SASL_MECHANISM=SCRAM-SHA-512` sets `sasl.mechanism`).
    #[arg(long = "kafka-property", value_name = "NAME=VALUE", value_parser = parse_property)]
    pub properties: Vec<(String, String)>,
}

impl KafkaArgs {
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (name, value) in properties_from_env(std::env::vars()) {
            config.set(name, value);
        }
        for (name, value) in &self.properties {
            config.set(name, value);
        }
        config
    }
}

fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {text:?}")),
    }
}

fn properties_from_env(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    vars.filter_map(|(name, value)| {
        let property = name.strip_prefix("PIVOTLOG_KAFKA_")?;
        Some((property.to_ascii_lowercase().replace('_', "."), value))
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_come_from_flags_and_environment() {
        assert_eq!(parse_property("a.b=c=d").unwrap(), ("a.b".into(), "c=d".into()));
        assert!(parse_property("novalue").is_err());
        let env = vec![
            ("PIVOTLOG_KAFKA_SASL_MECHANISM".to_owned(), "PLAIN".to_owned()),
            ("PIVOTLOG_TOPIC".to_owned(), "x".to_owned()),
        ];
        assert_eq!(
            properties_from_env(env.into_iter()),
            [("sasl.mechanism".to_owned(), "PLAIN".to_owned())]
        );
    }
}

#[cfg(test)]
mod security_tests {
    use rdkafka::consumer::BaseConsumer;

    use super::*;

    /// librdkafka refuses these settings at client creation when built without OpenSSL;
    /// production brokers need them.
    #[test]
    fn the_build_speaks_tls_and_sasl() {
        let settings = [
            ("ssl", None),
            ("sasl_ssl", Some("SCRAM-SHA-512")),
            ("sasl_ssl", Some("SCRAM-SHA-256")),
            ("sasl_plaintext", Some("PLAIN")),
        ];
        for (protocol, mechanism) in settings {
            let args = KafkaArgs {
                brokers: "127.0.0.1:1".into(),
                topic: "t".into(),
                properties: [("security.protocol".to_owned(), protocol.to_owned())]
                    .into_iter()
                    .chain(mechanism.map(|m| ("sasl.mechanism".to_owned(), m.to_owned())))
                    .chain(mechanism.map(|_| ("sasl.username".to_owned(), "u".to_owned())))
                    .chain(mechanism.map(|_| ("sasl.password".to_owned(), "p".to_owned())))
                    .collect(),
            };
            let created = args.client_config().create::<BaseConsumer>();
            assert!(created.is_ok(), "{protocol} {mechanism:?}: {:?}", created.err());
        }
    }
}
