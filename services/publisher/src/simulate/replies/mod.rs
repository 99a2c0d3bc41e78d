//! What the customer's app answers, by kind (one submodule per family of kinds). Each reply
//! first draws a log-normal size goal around the configured median; the body generators then
//! grow their text until they reach it.

mod json;
mod pages;
mod sip;
mod traces;
mod twiml;

use rand::Rng;
use serde_json::Value;

use super::accounts::Account;
use super::calls::Exchange;
use super::random::Synth;
use super::render::render_json;
use super::tables::{BODY_CAP_BYTES, BODY_SIGMA};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResponseKind {
    Callflow,
    Twiml,
    NotFound,
    ServerError,
    Gateway,
    ErrorReply,
    SipTrace,
    InvalidJson,
    SchemaError,
}

impl ResponseKind {
    /// Only replies the translator accepts lead to another request; failures make callflow move on.
    pub(super) fn ends_call(self) -> bool {
        !matches!(self, ResponseKind::Callflow | ResponseKind::Twiml)
    }
}

pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) content_type: &'static str,
    pub(super) server: Option<&'static str>,
    pub(super) powered_by: Option<&'static str>,
    pub(super) body: String,
    /// The field and value of the error doc Kazoo writes after the response doc.
    pub(super) error: Option<(&'static str, Value)>,
    /// Where the next iteration goes (TwiML `<Gather action>` / `<Redirect>`).
    pub(super) next_url: Option<String>,
}

impl Reply {
    fn new(account: &Account, status: u16, content_type: &'static str, body: String) -> Self {
        Self {
            status,
            content_type,
            server: Some(account.server),
            powered_by: account.stack.powered_by(),
            body,
            error: None,
            next_url: None,
        }
    }
}

impl Synth {
    pub(super) fn reply(&mut self, kind: ResponseKind, exchange: &Exchange) -> Reply {
        let target = self.body_target();
        let account = exchange.account;
        match kind {
            ResponseKind::Callflow => {
                let body = render_json(
                    &self.callflow_value(target, account.json_style),
                    account.json_style,
                );
                Reply::new(account, 200, "application/json", body)
            }
            ResponseKind::Twiml => self.twiml_reply(target, exchange),
            ResponseKind::NotFound => self.not_found_reply(target, account),
            ResponseKind::ServerError => self.server_error_reply(target, account),
            ResponseKind::Gateway => self.gateway_reply(account),
            ResponseKind::ErrorReply => self.error_reply(target, exchange),
            ResponseKind::SipTrace => self.sip_trace_reply(target, exchange),
            ResponseKind::InvalidJson => self.invalid_json_reply(target, account),
            ResponseKind::SchemaError => self.schema_error_reply(target, account),
        }
    }

    /// Log-normal around the configured median (Box-Muller), capped so one body stays modest.
    fn body_target(&mut self) -> usize {
        let u1 = 1.0 - self.rng.random::<f64>();
        let u2 = self.rng.random::<f64>();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let median = self.median_body_bytes as f64;
        let cap = (BODY_CAP_BYTES as f64).max(median * 4.0);
        (median * (BODY_SIGMA * z).exp()).clamp(0.0, cap) as usize
    }
}
