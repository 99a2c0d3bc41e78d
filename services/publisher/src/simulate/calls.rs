//! A call as the `pivot_debug` documents Kazoo writes for it: one request document per
//! iteration, the response document, and an error document when the reply was rejected.

use pivotlog_proto::time::{gregorian_s_to_unix_ms, http_date};
use rand::Rng;
use serde_json::{json, Map, Value};

use super::accounts::{Account, RequestFormat, Transport};
use super::encoding::{form_encode, json_encode, with_query};
use super::random::{pick, weighted, Synth};
use super::replies::Reply;
use super::tables::{
    AREA_CODES, FIRST_NAMES, ITERATION_WEIGHTS, LAST_NAMES, NODES, RESPONSE_WEIGHTS, TIMEOUT_SHARE,
};

pub(super) struct Call {
    pub(super) id: String,
    pub(super) node: &'static str,
    pub(super) caller_name: String,
    pub(super) caller_number: String,
    pub(super) callee: String,
}

/// One HTTP exchange of a call: what every document of it shares.
pub(super) struct Exchange<'a> {
    pub(super) account: &'a Account,
    pub(super) call: &'a Call,
    pub(super) iteration: u32,
}

impl Synth {
    pub(super) fn call(&mut self, account: &Account, start: i64) -> Vec<Value> {
        let call = self.new_call();
        let planned = weighted(&mut self.rng, &ITERATION_WEIGHTS);
        let times_out = self.rng.random_bool(TIMEOUT_SHARE);
        let mut docs = Vec::new();
        let mut clock = start;
        let mut next_url = None;
        for iteration in 1..=planned {
            let kind = weighted(&mut self.rng, &RESPONSE_WEIGHTS);
            let last = iteration == planned || kind.ends_call();
            let exchange = Exchange {
                account,
                call: &call,
                iteration,
            };
            docs.push(self.request_doc(&exchange, clock, next_url.take()));
            // Kazoo saves nothing on a transport error or timeout, and the call goes on without pivot.
            if times_out && last {
                break;
            }
            clock = clock.saturating_add(self.rng.random_range(0..=2));
            let reply = self.reply(kind, &exchange);
            next_url = reply.next_url.clone();
            docs.extend(self.response_docs(&exchange, clock, reply));
            if last {
                break;
            }
            clock = clock.saturating_add(self.rng.random_range(2..=9));
        }
        docs
    }

    fn new_call(&mut self) -> Call {
        let id = if self.rng.random_bool(0.6) {
            self.uuid()
        } else {
            self.sip_call_id()
        };
        let caller_number = self.phone_number();
        let caller_name = if self.rng.random_bool(0.1) {
            caller_number.clone()
        } else {
            format!(
                "{} {}",
                pick(&mut self.rng, &FIRST_NAMES),
                pick(&mut self.rng, &LAST_NAMES)
            )
        };
        let callee = if self.rng.random_bool(0.6) {
            format!(
                "+1{}{:07}",
                pick(&mut self.rng, &AREA_CODES),
                self.rng.random_range(0..10_000_000)
            )
        } else {
            self.rng.random_range(1000..10_000).to_string()
        };
        Call {
            id,
            node: pick(&mut self.rng, &NODES),
            caller_name,
            caller_number,
            callee,
        }
    }

    fn base_doc(&mut self, exchange: &Exchange, created: i64) -> Map<String, Value> {
        let account = exchange.account;
        let mut doc = Map::new();
        doc.insert("_id".into(), self.hex32().into());
        doc.insert("_rev".into(), format!("1-{}", self.hex32()).into());
        doc.insert("call_id".into(), exchange.call.id.clone().into());
        doc.insert("iteration".into(), exchange.iteration.into());
        doc.insert("pvt_type".into(), "pivot_debug".into());
        doc.insert("pvt_account_id".into(), account.id.clone().into());
        doc.insert("pvt_account_db".into(), account_db(&account.id, created).into());
        doc.insert("pvt_created".into(), created.into());
        doc.insert("pvt_modified".into(), created.into());
        doc.insert("pvt_node".into(), exchange.call.node.into());
        if !account.ancestors.is_empty() {
            doc.insert("pvt_tree".into(), json!(account.ancestors));
        }
        doc
    }

    fn request_doc(&mut self, exchange: &Exchange, created: i64, action_url: Option<String>) -> Value {
        let params = self.request_params(exchange);
        let (url, transport) = match action_url {
            Some(url) => (url, exchange.account.transport.for_action()),
            None => (exchange.account.voice_url.clone(), exchange.account.transport),
        };
        let (uri, method, headers, body) = match transport {
            Transport::Get => (
                with_query(&url, &form_encode(&params)),
                "get",
                json!({}),
                String::new(),
            ),
            Transport::PostForm => (
                url,
                "post",
                json!({"content-type": "application/x-www-form-urlencoded"}),
                form_encode(&params),
            ),
            Transport::PostJson => (
                url,
                "post",
                json!({"content-type": "application/json"}),
                json_encode(&params),
            ),
        };
        let mut doc = self.base_doc(exchange, created);
        doc.insert("uri".into(), uri.into());
        doc.insert("method".into(), method.into());
        doc.insert("req_headers".into(), headers);
        doc.insert("req_body".into(), body.into());
        Value::Object(doc)
    }

    fn request_params(&mut self, exchange: &Exchange) -> Vec<(&'static str, String)> {
        let digits = (exchange.iteration > 1).then(|| self.digits());
        let status = if exchange.iteration == 1 {
            "ringing"
        } else {
            "in-progress"
        };
        match exchange.account.format {
            RequestFormat::Kazoo => kazoo_params(exchange, status, digits),
            RequestFormat::Twiml => twiml_params(exchange, status, digits),
        }
    }

    fn response_docs(&mut self, exchange: &Exchange, created: i64, reply: Reply) -> Vec<Value> {
        let headers = self.response_headers(&reply, created);
        let mut doc = self.base_doc(exchange, created);
        doc.insert("resp_status_code".into(), reply.status.to_string().into());
        doc.insert("resp_headers".into(), headers);
        doc.insert("resp_body".into(), reply.body.clone().into());
        let mut docs = vec![Value::Object(doc)];
        if let Some((field, detail)) = reply.error {
            let mut error_doc = self.base_doc(exchange, created);
            error_doc.insert("resp_body".into(), reply.body.into());
            error_doc.insert(field.into(), detail);
            docs.push(Value::Object(error_doc));
        }
        docs
    }

    /// Kazoo lower-cases header names and values (`fix_value/1`).
    fn response_headers(&mut self, reply: &Reply, created: i64) -> Value {
        let mut headers = vec![("content-type", reply.content_type.to_owned())];
        if let Some(server) = reply.server {
            headers.push(("server", server.to_owned()));
        }
        if let Some(powered_by) = reply.powered_by {
            headers.push(("x-powered-by", powered_by.to_owned()));
        }
        if self.rng.random_bool(0.85) {
            headers.push(("date", http_date(created)));
        }
        if reply.status == 200 && self.rng.random_bool(0.15) {
            headers.push(("transfer-encoding", "chunked".to_owned()));
        } else {
            headers.push(("content-length", reply.body.len().to_string()));
        }
        if self.rng.random_bool(0.5) {
            headers.push((
                "connection",
                (pick(&mut self.rng, &["keep-alive", "close"])).to_owned(),
            ));
        }
        if self.rng.random_bool(0.2) {
            headers.push(("cache-control", "no-cache, private".to_owned()));
        }
        let map: Map<String, Value> = headers
            .into_iter()
            .map(|(name, value)| (name.to_lowercase(), value.to_lowercase().into()))
            .collect();
        Value::Object(map)
    }
}

fn kazoo_params(exchange: &Exchange, status: &str, digits: Option<String>) -> Vec<(&'static str, String)> {
    let (account, call) = (exchange.account, exchange.call);
    let mut params = vec![
        ("Account-ID", account.id.clone()),
        ("Api-Version", "4.x".to_owned()),
        ("Call-ID", call.id.clone()),
        ("Call-Status", status.to_owned()),
        ("Caller-ID-Name", call.caller_name.clone()),
        ("Caller-ID-Number", call.caller_number.clone()),
    ];
    if let Some(digits) = digits {
        params.push(("Digits", digits));
    }
    params.extend([
        ("Direction", "inbound".to_owned()),
        ("From", call.caller_number.clone()),
        ("From-Realm", account.realm.clone()),
        ("Language", account.language.to_owned()),
        ("Request", format!("{}@{}", call.callee, account.realm)),
        ("To", call.callee.clone()),
        ("To-Realm", account.realm.clone()),
    ]);
    params
}

fn twiml_params(exchange: &Exchange, status: &str, digits: Option<String>) -> Vec<(&'static str, String)> {
    let (account, call) = (exchange.account, exchange.call);
    let mut params = vec![
        ("CallSid", call.id.clone()),
        ("AccountSid", account.id.clone()),
        ("From", call.caller_number.clone()),
        ("To", call.callee.clone()),
        ("CallStatus", status.to_owned()),
        ("ApiVersion", "2010-04-01".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("CallerName", call.caller_name.clone()),
    ];
    if let Some(digits) = digits {
        params.push(("Digits", digits));
    }
    params
}

/// The MODb of the UTC month of `created` (`kzs_util:format_account_mod_id/1`), URL-encoded.
pub(super) fn account_db(account_id: &str, created: i64) -> String {
    pivotlog_proto::kazoo::account_db(account_id, gregorian_s_to_unix_ms(created))
}
