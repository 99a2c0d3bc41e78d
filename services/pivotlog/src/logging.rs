//! Logs: to stderr, one JSON object per line unless stderr is a terminal.
//!
//! * Level: `PIVOTLOG_LOG`, else `RUST_LOG` (tracing's `EnvFilter` syntax), else
//!   `info,librdkafka=warn`.
//! * Format: `PIVOTLOG_LOG_FORMAT=json` or `text`; by default JSON when stderr is not a
//!   terminal (a container, a file, a pipe), human text on a terminal.
//! * JSON lines carry `timestamp`, `level`, `target`, `message` and the event's fields at
//!   the top level, and the current span's fields under `span` (an API request's
//!   `request_id`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Text,
}

/// The format for `PIVOTLOG_LOG_FORMAT` = `setting`; an unknown value falls back to the
/// default, with a warning to log.
fn format(setting: Option<&str>, stderr_is_terminal: bool) -> (Format, Option<String>) {
    let default = if stderr_is_terminal {
        Format::Text
    } else {
        Format::Json
    };
    match setting.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") => (default, None),
        Some("json") => (Format::Json, None),
        Some("text") => (Format::Text, None),
        Some(other) => (
            default,
            Some(format!(
                "PIVOTLOG_LOG_FORMAT={other:?} is neither json nor text; using {default:?}"
            )),
        ),
    }
}

pub fn init_logging() {
    let filter = std::env::var("PIVOTLOG_LOG")
        .ok()
        .map(EnvFilter::new)
        .unwrap_or_else(|| {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,librdkafka=warn"))
        });
    let terminal = std::io::stderr().is_terminal();
    let setting = std::env::var("PIVOTLOG_LOG_FORMAT").ok();
    let (format, warning) = format(setting.as_deref(), terminal);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(terminal);
    match format {
        Format::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        Format::Text => builder.init(),
    }
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_unless_on_a_terminal_or_told() {
        assert_eq!(format(None, false).0, Format::Json);
        assert_eq!(format(None, true).0, Format::Text);
        assert_eq!(format(Some("text"), false).0, Format::Text);
        assert_eq!(format(Some("JSON"), true).0, Format::Json);
        let (chosen, warning) = format(Some("yaml"), true);
        assert_eq!(chosen, Format::Text);
        assert!(warning.unwrap().contains("yaml"));
    }
}
