//! Reproducible synthetic Kazoo Pivot traffic: [`Simulator`] produces `pivot_debug` documents
//! (request, response, JSON-error and schema-error docs) shaped exactly as Kazoo stores them in
//! CouchDB, so demos, tests and benchmarks can run without a Kazoo cluster. The mix of call-id
//! styles, request formats, reply kinds (callflow JSON, TwiML, error pages, stack traces) and
//! log-normally sized bodies mimics real traffic, and a seed makes every run byte-identical.

use std::collections::{HashMap, HashSet, VecDeque};

use pivotlog_proto::time::civil_from_days;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

/// Gregorian seconds at the Unix epoch; Kazoo stores `pvt_created` in Gregorian seconds.
const GREGORIAN_UNIX_OFFSET: i64 = 62_167_219_200;
const VOCABULARY_SIZE: usize = 3_000;
/// Spread of the log-normal body size: p10 is about a third of the median, p99 about 7x.
const BODY_SIGMA: f64 = 0.85;
const BODY_CAP_BYTES: usize = 64 * 1024;
/// Keeps an absurd median from making one call allocate gigabytes.
const MEDIAN_CAP_BYTES: usize = 256 * 1024;
const TIMEOUT_SHARE: f64 = 0.05;
/// serde_json refuses to parse nesting deeper than 128 and each callflow level nests two objects.
const MAX_CALLFLOW_DEPTH: usize = 12;
const MAX_CALLFLOW_NODES: usize = 4_000;

const NODES: [&str; 4] = [
    "kazoo_apps@apps001.example.com",
    "kazoo_apps@apps002.example.com",
    "kazoo_apps@apps003.example.com",
    "kazoo_apps@apps001.dc2.example.com",
];
const ITERATION_WEIGHTS: [(u32, u32); 5] = [(1, 45), (2, 30), (3, 12), (4, 7), (5, 6)];
const RESPONSE_WEIGHTS: [(ResponseKind, u32); 9] = [
    (ResponseKind::Callflow, 59),
    (ResponseKind::Twiml, 10),
    (ResponseKind::NotFound, 8),
    (ResponseKind::ServerError, 8),
    (ResponseKind::Gateway, 4),
    (ResponseKind::ErrorReply, 4),
    (ResponseKind::SipTrace, 2),
    (ResponseKind::InvalidJson, 3),
    (ResponseKind::SchemaError, 2),
];
const ANY_MODULES: [(&str, u32); 7] = [
    ("tts", 24),
    ("play", 18),
    ("menu", 22),
    ("collect_dtmf", 10),
    ("record_call", 6),
    ("transfer", 10),
    ("hangup", 10),
];
const ROOT_MODULES: [(&str, u32); 4] = [("tts", 30), ("play", 20), ("menu", 35), ("collect_dtmf", 15)];
/// Keys a JSON object shows first, in this order; readers expect `module`/`data`/`children`
/// and `error`/`message` at the top rather than serde_json's alphabetical order.
const KEY_ORDER: [&str; 9] = [
    "module",
    "data",
    "children",
    "error",
    "field",
    "code",
    "message",
    "request_id",
    "details",
];
const MENU_KEYS: &[&str] = &["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "_", "timeout"];
const CHAIN_KEYS: &[&str] = &["_"];

const FIRST_NAMES: [&str; 16] = [
    "Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj",
    "Olivia", "Peggy", "Rupert", "Sybil",
];
const LAST_NAMES: [&str; 12] = [
    "Smith", "Johnson", "Garcia", "Brown", "Nguyen", "Martin", "Lee", "Walker", "Young", "Lopez", "Clark",
    "Hill",
];
const AREA_CODES: [&str; 8] = ["415", "212", "312", "617", "303", "206", "512", "702"];
const LANGUAGES: [&str; 5] = ["en-us", "en-us", "en-gb", "fr-ca", "es-mx"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

const ONSETS: [&str; 22] = [
    "b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr", "ch", "sh",
    "pl", "gr",
];
const VOWELS: [&str; 9] = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"];
const CODAS: [&str; 7] = ["n", "r", "s", "l", "m", "x", "th"];

const PY_ERRORS: [&str; 2] = [
    "psycopg2.OperationalError: could not connect to server: Connection refused (ECONNREFUSED) 10.0.0.5:5432\n\
     \tIs the server running on host \"10.0.0.5\" and accepting\n\tTCP/IP connections on port 5432?\n",
    "redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.7:6379. Connection refused.\n",
];
const JAVA_EXCEPTIONS: [&str; 2] = [
    "java.lang.NullPointerException: Cannot invoke &quot;com.example.ivr.Menu.getPrompt()&quot; \
     because &quot;menu&quot; is null",
    "com.example.sip.SipException: outbound leg rejected: SIP/2.0 486 Busy Here",
];
const JAVA_FRAMEWORK_FRAMES: [&str; 6] = [
    "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1072)",
    "org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
    "javax.servlet.http.HttpServlet.service(HttpServlet.java:764)",
    "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:227)",
    "org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:197)",
    "org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1791)",
];
const NODE_FRAMEWORK_FRAMES: [&str; 3] = [
    "    at Layer.handle [as handle_request] (/usr/src/app/node_modules/express/lib/router/layer.js:95:5)\n",
    "    at Protocol._enqueue (/usr/src/app/node_modules/mysql/lib/protocol/Protocol.js:144:48)\n",
    "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n",
];

/// Knobs of the synthetic traffic.
#[derive(Debug, Clone)]
pub struct SimulateConfig {
    pub seed: u64,
    /// Number of distinct accounts (>=1). Some accounts are resellers whose sub-accounts carry them in `pvt_tree`.
    pub accounts: usize,
    /// Median response body size in bytes (bodies vary around it, from a few hundred bytes to tens of KB; rare bodies up to ~64 KB).
    pub median_body_bytes: usize,
}

impl Default for SimulateConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            accounts: 20,
            median_body_bytes: 2048,
        }
    }
}

/// Generates calls of `pivot_debug` documents; see the module documentation.
pub struct Simulator {
    synth: Synth,
    accounts: Vec<Account>,
    account_ids: Vec<String>,
    account_index: HashMap<String, usize>,
    /// Cumulative popularity, so a few accounts carry most of the traffic as in real clusters.
    popularity: Vec<f64>,
}

impl Simulator {
    pub fn new(config: SimulateConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let vocabulary = build_vocabulary(&mut rng);
        let median_body_bytes = config.median_body_bytes.min(MEDIAN_CAP_BYTES);
        let mut synth = Synth {
            rng,
            vocabulary,
            median_body_bytes,
        };
        let accounts = synth.accounts(config.accounts.max(1));
        let account_ids: Vec<String> = accounts.iter().map(|account| account.id.clone()).collect();
        let account_index = account_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let popularity = cumulative_popularity(accounts.len());
        Self {
            synth,
            accounts,
            account_ids,
            account_index,
            popularity,
        }
    }

    /// All records of one new call, in the order Kazoo writes them, with `pvt_created`
    /// (Gregorian seconds) at or a few seconds after `now_unix_ms` (converted: gregorian = unix_s + 62167219200).
    pub fn next_call(&mut self, now_unix_ms: i64) -> Vec<Value> {
        let index = self.synth.pick_cumulative(&self.popularity);
        let Some(account) = self.accounts.get(index) else {
            return Vec::new();
        };
        self.synth.call(account, gregorian_from_unix_ms(now_unix_ms))
    }

    /// The account ids this simulator uses (index 0..accounts), so tests can build auth tokens.
    pub fn account_ids(&self) -> &[String] {
        &self.account_ids
    }

    /// For each account, its ancestors (reseller chain, root first), empty for top-level accounts.
    pub fn ancestors_of(&self, account_id: &str) -> &[String] {
        self.account_index
            .get(account_id)
            .and_then(|&i| self.accounts.get(i))
            .map_or(&[], |account| account.ancestors.as_slice())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestFormat {
    Kazoo,
    Twiml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Get,
    PostForm,
    PostJson,
}

impl Transport {
    /// TwiML `<Gather>`/`<Redirect>` actions are fetched with POST.
    fn for_action(self) -> Self {
        match self {
            Transport::Get => Transport::PostForm,
            other => other,
        }
    }
}

/// The customer's web stack decides its server header, error pages and stack traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stack {
    PhpApache,
    PythonNginx,
    JavaTomcat,
    NodeExpress,
}

const STACKS: [Stack; 4] = [
    Stack::PhpApache,
    Stack::PythonNginx,
    Stack::JavaTomcat,
    Stack::NodeExpress,
];

impl Stack {
    fn servers(self) -> &'static [&'static str] {
        match self {
            Stack::PhpApache => &[
                "Apache/2.4.7 (Ubuntu)",
                "Apache/2.4.57 (Debian)",
                "Apache/2.4.41 (Ubuntu)",
            ],
            Stack::PythonNginx => &["nginx/1.24.0", "gunicorn", "nginx/1.18.0 (Ubuntu)"],
            Stack::JavaTomcat => &["nginx/1.22.1", "Apache-Coyote/1.1"],
            Stack::NodeExpress => &["nginx", "nginx/1.25.3"],
        }
    }

    fn powered_by(self) -> Option<&'static str> {
        match self {
            Stack::PhpApache => Some("PHP/8.1.2-1ubuntu2.14"),
            Stack::NodeExpress => Some("Express"),
            Stack::PythonNginx | Stack::JavaTomcat => None,
        }
    }

    fn paths(self) -> &'static [&'static str] {
        match self {
            Stack::PhpApache => &["/callflow.php", "/pivot/index.php", "/ivr/menu.php"],
            Stack::PythonNginx => &["/ivr/menu", "/pivot/callflow", "/api/v1/voice"],
            Stack::JavaTomcat => &["/ivr/voice", "/pivot-app/callflow"],
            Stack::NodeExpress => &["/twiml/voice", "/voice", "/ivr/menu"],
        }
    }
}

struct Account {
    id: String,
    ancestors: Vec<String>,
    format: RequestFormat,
    transport: Transport,
    stack: Stack,
    server: &'static str,
    host: String,
    path: &'static str,
    voice_url: String,
    action_base: String,
    realm: String,
    language: &'static str,
    json_style: JsonStyle,
}

struct Call {
    id: String,
    node: &'static str,
    caller_name: String,
    caller_number: String,
    callee: String,
}

/// One HTTP exchange of a call: what every document of it shares.
struct Exchange<'a> {
    account: &'a Account,
    call: &'a Call,
    iteration: u32,
}

/// How the customer's app serializes JSON: compact, or Python `json.dumps` defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonStyle {
    Compact,
    Spaced,
}

impl JsonStyle {
    fn item_separator(self) -> &'static str {
        match self {
            JsonStyle::Compact => ",",
            JsonStyle::Spaced => ", ",
        }
    }

    fn key_separator(self) -> &'static str {
        match self {
            JsonStyle::Compact => ":",
            JsonStyle::Spaced => ": ",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseKind {
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
    fn ends_call(self) -> bool {
        !matches!(self, ResponseKind::Callflow | ResponseKind::Twiml)
    }
}

struct Reply {
    status: u16,
    content_type: &'static str,
    server: Option<&'static str>,
    powered_by: Option<&'static str>,
    body: String,
    /// The field and value of the error doc Kazoo writes after the response doc.
    error: Option<(&'static str, Value)>,
    /// Where the next iteration goes (TwiML `<Gather action>` / `<Redirect>`).
    next_url: Option<String>,
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

struct ActionNode {
    fields: Map<String, Value>,
    keys: &'static [&'static str],
    children: Vec<(&'static str, usize)>,
    depth: usize,
    /// Rendered length without children.
    len: usize,
}

/// A callflow grown breadth-first until its serialized size reaches a goal.
struct CallflowTree {
    nodes: Vec<ActionNode>,
    frontier: VecDeque<usize>,
    style: JsonStyle,
    /// Exact rendered length of the whole tree in `style`.
    len: usize,
}

impl CallflowTree {
    fn new(synth: &mut Synth, style: JsonStyle) -> Self {
        let root = synth.action_node(&ROOT_MODULES, 0, style);
        let len = root.len;
        Self {
            nodes: vec![root],
            frontier: VecDeque::from([0]),
            style,
            len,
        }
    }

    fn grow(&mut self, synth: &mut Synth, goal: usize) {
        while self.len < goal && self.nodes.len() < MAX_CALLFLOW_NODES {
            let Some(&parent) = self.frontier.front() else {
                break;
            };
            let (keys, used, depth) = {
                let node = &self.nodes[parent];
                (node.keys, node.children.len(), node.depth + 1)
            };
            if used >= keys.len() || (used > 0 && synth.rng.random_bool(0.25)) {
                self.frontier.pop_front();
                continue;
            }
            // A lone frontier node gets a menu child so the tree can keep growing.
            let child = if self.frontier.len() < 2 {
                synth.action_node(&[("menu", 1)], depth, self.style)
            } else {
                synth.action_node(&ANY_MODULES, depth, self.style)
            };
            self.add_child(parent, keys[used], child);
        }
    }

    fn add_child(&mut self, parent: usize, key: &'static str, child: ActionNode) {
        let (items, keys) = (
            self.style.item_separator().len(),
            self.style.key_separator().len(),
        );
        // `,"children":{}` once, then `"key":` per child, after a `,` from the second child on.
        let overhead = if self.nodes[parent].children.is_empty() {
            items + 12 + keys
        } else {
            items
        };
        self.len += overhead + key.len() + 2 + keys + child.len;
        let index = self.nodes.len();
        if !child.keys.is_empty() && child.depth < MAX_CALLFLOW_DEPTH {
            self.frontier.push_back(index);
        }
        self.nodes[parent].children.push((key, index));
        self.nodes.push(child);
    }

    fn to_value(&self) -> Value {
        self.node_value(0)
    }

    fn node_value(&self, index: usize) -> Value {
        let Some(node) = self.nodes.get(index) else {
            return Value::Null;
        };
        let mut fields = node.fields.clone();
        if !node.children.is_empty() {
            let children: Map<String, Value> = node
                .children
                .iter()
                .map(|&(key, child)| (key.to_owned(), self.node_value(child)))
                .collect();
            fields.insert("children".into(), Value::Object(children));
        }
        Value::Object(fields)
    }
}

/// The random source and vocabulary; everything random goes through here so output is reproducible.
struct Synth {
    rng: ChaCha8Rng,
    vocabulary: Vec<String>,
    median_body_bytes: usize,
}

// ---------------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------------

impl Synth {
    fn accounts(&mut self, count: usize) -> Vec<Account> {
        let ids: Vec<String> = (0..count).map(|_| self.hex32()).collect();
        let parents = self.reseller_parents(count);
        let stack_offset = self.rng.random_range(0..STACKS.len());
        (0..count)
            .map(|i| {
                let stack = STACKS[(i + stack_offset) % STACKS.len()];
                self.account(i, ids[i].clone(), ancestry(&ids, &parents, i), stack)
            })
            .collect()
    }

    /// The first fifth of the accounts are resellers (sometimes nested); most others hang below one.
    fn reseller_parents(&mut self, count: usize) -> Vec<Option<usize>> {
        let resellers = if count < 2 { 0 } else { count.div_ceil(5) };
        (0..count)
            .map(|i| {
                if i == 0 || resellers == 0 {
                    None
                } else if i < resellers {
                    self.rng.random_bool(0.3).then(|| self.rng.random_range(0..i))
                } else {
                    self.rng
                        .random_bool(0.6)
                        .then(|| self.rng.random_range(0..resellers))
                }
            })
            .collect()
    }

    fn account(&mut self, index: usize, id: String, ancestors: Vec<String>, stack: Stack) -> Account {
        let format = if self.rng.random_bool(0.7) {
            RequestFormat::Kazoo
        } else {
            RequestFormat::Twiml
        };
        let transport = weighted(
            &mut self.rng,
            &[
                (Transport::Get, 55),
                (Transport::PostForm, 35),
                (Transport::PostJson, 10),
            ],
        );
        let scheme = if self.rng.random_bool(0.75) {
            "http"
        } else {
            "https"
        };
        let host = self.host(index);
        let path = if format == RequestFormat::Twiml && self.rng.random_bool(0.5) {
            "/twiml/voice"
        } else {
            pick(&mut self.rng, stack.paths())
        };
        let query = match self.rng.random_range(0..10) {
            0 => format!("?tenant={}", self.word()),
            1 => "?v=2".to_owned(),
            _ => String::new(),
        };
        let realm = if self.rng.random_bool(0.5) {
            format!("sip.customer{}.example.com", index + 1)
        } else {
            format!("{}.sip.example.net", self.word())
        };
        Account {
            id,
            ancestors,
            format,
            transport,
            stack,
            server: pick(&mut self.rng, stack.servers()),
            voice_url: format!("{scheme}://{host}{path}{query}"),
            action_base: format!("{scheme}://{host}/ivr/gather"),
            host,
            path,
            realm,
            language: pick(&mut self.rng, &LANGUAGES),
            json_style: self.json_style(stack),
        }
    }

    /// Python apps mostly reply with `json.dumps` defaults; other stacks mostly compact.
    fn json_style(&mut self, stack: Stack) -> JsonStyle {
        let spaced_share = if stack == Stack::PythonNginx { 0.8 } else { 0.1 };
        if self.rng.random_bool(spaced_share) {
            JsonStyle::Spaced
        } else {
            JsonStyle::Compact
        }
    }

    fn host(&mut self, index: usize) -> String {
        match self.rng.random_range(0..4) {
            0 | 1 => format!("pivot.customer{}.example.com", index + 1),
            2 => format!("ivr.{}.example.net", self.word()),
            _ => format!("{}.{}-telecom.example.org", self.word(), self.word()),
        }
    }
}

fn ancestry(ids: &[String], parents: &[Option<usize>], index: usize) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = parents.get(index).copied().flatten();
    while let Some(parent) = current {
        chain.push(ids[parent].clone());
        current = parents.get(parent).copied().flatten();
    }
    chain.reverse();
    chain
}

fn cumulative_popularity(count: usize) -> Vec<f64> {
    let mut total = 0.0;
    (0..count)
        .map(|i| {
            total += 1.0 / ((i + 1) as f64).powf(0.7);
            total
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Calls and documents
// ---------------------------------------------------------------------------------------------

impl Synth {
    fn call(&mut self, account: &Account, start: i64) -> Vec<Value> {
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

// ---------------------------------------------------------------------------------------------
// Reply bodies
// ---------------------------------------------------------------------------------------------

impl Synth {
    fn reply(&mut self, kind: ResponseKind, exchange: &Exchange) -> Reply {
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

    fn callflow_value(&mut self, target: usize, style: JsonStyle) -> Value {
        let mut tree = CallflowTree::new(self, style);
        tree.grow(self, target);
        tree.to_value()
    }

    fn action_node(&mut self, modules: &[(&'static str, u32)], depth: usize, style: JsonStyle) -> ActionNode {
        let module = weighted(&mut self.rng, modules);
        let data = self.action_data(module);
        let keys = match module {
            "menu" => MENU_KEYS,
            "transfer" | "hangup" => &[],
            _ => CHAIN_KEYS,
        };
        let mut fields = Map::new();
        fields.insert("module".into(), module.into());
        fields.insert("data".into(), data);
        let len = render_json(&Value::Object(fields.clone()), style).len();
        ActionNode {
            fields,
            keys,
            children: Vec::new(),
            depth,
            len,
        }
    }

    fn action_data(&mut self, module: &str) -> Value {
        match module {
            "tts" => json!({
                "text": self.sentence(),
                "language": pick(&mut self.rng, &LANGUAGES),
                "voice": pick(&mut self.rng, &["female", "male"]),
            }),
            "play" => {
                json!({"id": format!("http://media.example.com/prompts/{}_{}.mp3", self.word(), self.word())})
            }
            "menu" => json!({"id": self.hex32(), "retries": 3, "interdigit_timeout": 2000}),
            "collect_dtmf" => json!({
                "collection_name": self.word(),
                "max_digits": self.rng.random_range(1..=10),
                "timeout": 5000,
                "terminator": "#",
            }),
            "record_call" => json!({"action": "start", "format": "mp3", "time_limit": 3600}),
            "transfer" => json!({
                "target": self.rng.random_range(1000..10_000).to_string(),
                "ringback": "%(2000,4000,440,480)",
            }),
            _ => json!({}),
        }
    }

    fn twiml_reply(&mut self, target: usize, exchange: &Exchange) -> Reply {
        let account = exchange.account;
        let next = format!(
            "{}?step={}&menu={}",
            account.action_base,
            exchange.iteration + 1,
            self.word()
        );
        let redirect = self.rng.random_bool(0.2);
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response>\n");
        let (indent, tail) = if redirect {
            (
                "    ",
                format!(
                    "    <Redirect method=\"POST\">{}</Redirect>\n</Response>\n",
                    xml_escape(&next)
                ),
            )
        } else {
            xml.push_str(&format!(
                "    <Gather action=\"{}\" method=\"POST\" numDigits=\"1\" timeout=\"5\">\n",
                xml_escape(&next)
            ));
            let goodbye = "We did not receive any input. Goodbye.";
            let tail = format!(
                "    </Gather>\n    <Say voice=\"alice\" language=\"{}\">{goodbye}</Say>\n    <Hangup/>\n</Response>\n",
                account.language
            );
            ("        ", tail)
        };
        loop {
            xml.push_str(&self.twiml_prompt(indent, account));
            if xml.len() + tail.len() >= target {
                break;
            }
        }
        xml.push_str(&tail);
        let content_type = pick(
            &mut self.rng,
            &["text/xml", "application/xml", "text/xml; charset=utf-8"],
        );
        let mut reply = Reply::new(account, 200, content_type, xml);
        reply.next_url = Some(next);
        reply
    }

    fn twiml_prompt(&mut self, indent: &str, account: &Account) -> String {
        match self.rng.random_range(0..6) {
            0 => format!(
                "{indent}<Play>http://{}/prompts/{}.wav</Play>\n",
                account.host,
                self.word()
            ),
            1 => format!("{indent}<Pause length=\"1\"/>\n"),
            _ => format!(
                "{indent}<Say voice=\"alice\" language=\"{}\">{}</Say>\n",
                account.language,
                self.sentence()
            ),
        }
    }

    fn not_found_reply(&mut self, target: usize, account: &Account) -> Reply {
        if target > 1200 {
            let body = self.custom_not_found(target, account);
            return Reply::new(account, 404, "text/html; charset=utf-8", body);
        }
        if account.stack == Stack::PhpApache {
            let body = format!(
                "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>404 Not Found</title>\n\
                 </head><body>\n<h1>Not Found</h1>\n<p>The requested URL {} was not found on this server.</p>\n\
                 <hr>\n<address>{} Server at {} Port 80</address>\n</body></html>\n",
                account.path, account.server, account.host
            );
            return Reply::new(account, 404, "text/html; charset=iso-8859-1", body);
        }
        let mut reply = Reply::new(account, 404, "text/html", nginx_page("404 Not Found"));
        reply.server = Some("nginx/1.24.0");
        reply
    }

    /// Framework 404 pages are what make large 404 bodies: site chrome around the message.
    fn custom_not_found(&mut self, target: usize, account: &Account) -> String {
        let site = capitalize(&self.word());
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>404 Not Found | {site}</title>\n</head>\n<body>\n<header><nav><ul>\n"
        );
        for _ in 0..self.rng.random_range(3..8) {
            let word = self.word();
            html.push_str(&format!(
                "<li><a href=\"/{word}\">{}</a></li>\n",
                capitalize(&word)
            ));
        }
        html.push_str(&format!(
            "</ul></nav></header>\n<main>\n<h1>404 Not Found</h1>\n<p>The page {} could not be found on {}.</p>\n",
            account.path, account.host
        ));
        let footer =
            format!("</main>\n<footer>&copy; {site}. All rights reserved.</footer>\n</body>\n</html>\n");
        while html.len() + footer.len() < target {
            html.push_str(&format!("<p>{} {}</p>\n", self.sentence(), self.sentence()));
        }
        html.push_str(&footer);
        html
    }

    fn server_error_reply(&mut self, target: usize, account: &Account) -> Reply {
        match account.stack {
            Stack::PythonNginx => Reply::new(
                account,
                500,
                "text/plain; charset=utf-8",
                self.python_trace(target),
            ),
            Stack::JavaTomcat => {
                Reply::new(account, 500, "text/html;charset=utf-8", self.tomcat_page(target))
            }
            Stack::NodeExpress => {
                Reply::new(account, 500, "text/plain; charset=utf-8", self.node_trace(target))
            }
            Stack::PhpApache => Reply::new(account, 500, "text/html; charset=UTF-8", self.php_fatal(target)),
        }
    }

    fn python_trace(&mut self, target: usize) -> String {
        let app = self.word();
        let site = format!("/srv/{app}/venv/lib/python3.11/site-packages");
        let mut text = format!(
            "Traceback (most recent call last):\n  File \"{site}/flask/app.py\", line 1455, in wsgi_app\n    \
             response = self.full_dispatch_request()\n"
        );
        let error = pick(&mut self.rng, &PY_ERRORS);
        let tail = format!(
            "  File \"{site}/psycopg2/__init__.py\", line 122, in connect\n    \
             conn = _connect(dsn, connection_factory=connection_factory, **kwasync)\n{error}"
        );
        while text.len() + tail.len() < target {
            let (dir, file, func) = (self.word(), self.word(), self.snake());
            let (result, callee, arg, key) = (self.word(), self.snake(), self.word(), self.word());
            text.push_str(&format!(
                "  File \"/srv/{app}/{dir}/{file}.py\", line {}, in {func}\n    {result} = {callee}({arg}, {key}=self.{key})\n",
                self.rng.random_range(10..900)
            ));
        }
        text.push_str(&tail);
        text
    }

    fn tomcat_page(&mut self, target: usize) -> String {
        let exception = pick(&mut self.rng, &JAVA_EXCEPTIONS);
        let mut html = format!(
            "<!doctype html><html lang=\"en\"><head><title>HTTP Status 500 \u{2013} Internal Server Error</title>\
             </head><body><h1>HTTP Status 500 \u{2013} Internal Server Error</h1><hr class=\"line\" />\
             <p><b>Type</b> Exception Report</p><p><b>Message</b> Request processing failed</p>\
             <p><b>Exception</b></p><pre>{exception}\n"
        );
        let tail = "</pre><p><b>Note</b> The full stack trace of the root cause is available in the server logs.</p>\
                    <hr class=\"line\" /><h3>Apache Tomcat/9.0.83</h3></body></html>";
        loop {
            html.push_str(&self.java_frame());
            if html.len() + tail.len() >= target {
                break;
            }
        }
        html.push_str(tail);
        html
    }

    fn java_frame(&mut self) -> String {
        if self.rng.random_bool(0.3) {
            return format!("\tat {}\n", pick(&mut self.rng, &JAVA_FRAMEWORK_FRAMES));
        }
        let (package, class, method) = (self.word(), self.camel(), self.lower_camel());
        format!(
            "\tat com.example.{package}.{class}.{method}({class}.java:{})\n",
            self.rng.random_range(10..600)
        )
    }

    fn node_trace(&mut self, target: usize) -> String {
        let mut text = String::from(
            "Error: connect ECONNREFUSED 127.0.0.1:3306\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\n    --------------------\n",
        );
        while text.len() < target {
            if self.rng.random_bool(0.25) {
                text.push_str(pick(&mut self.rng, &NODE_FRAMEWORK_FRAMES));
                continue;
            }
            let (object, method, dir, file) = (self.camel(), self.lower_camel(), self.word(), self.word());
            let (line, column) = (self.rng.random_range(5..400), self.rng.random_range(3..60));
            text.push_str(&format!(
                "    at {object}.{method} (/usr/src/app/src/{dir}/{file}.js:{line}:{column})\n"
            ));
        }
        text
    }

    fn php_fatal(&mut self, target: usize) -> String {
        let file = format!("{}.php", self.word());
        let line = self.rng.random_range(10..300);
        let (error, first_frame) = if self.rng.random_bool(0.6) {
            (
                "Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused".to_owned(),
                "PDO-&gt;__construct('mysql:host=10.0...', 'ivr', Object(SensitiveParameterValue))"
                    .to_owned(),
            )
        } else {
            let function = self.snake();
            (
                format!("Uncaught Error: Call to undefined function {function}()"),
                format!("{function}()"),
            )
        };
        let mut html = format!(
            "<br />\n<b>Fatal error</b>:  {error} in /var/www/html/{file}:{line}\nStack trace:\n\
             #0 /var/www/html/{file}({line}): {first_frame}\n"
        );
        let mut frame = 1;
        let tail_len = 80 + file.len();
        while html.len() + tail_len < target {
            let (dir, class, method) = (self.word(), self.camel(), self.lower_camel());
            let at = self.rng.random_range(5..500);
            html.push_str(&format!(
                "#{frame} /var/www/html/{dir}/{class}.php({at}): {class}-&gt;{method}(Array)\n"
            ));
            frame += 1;
        }
        html.push_str(&format!(
            "#{frame} {{main}}\n  thrown in <b>/var/www/html/{file}</b> on line <b>{line}</b><br />\n"
        ));
        html
    }

    /// Gateway pages come from the proxy in front of the customer's app, so they stay small.
    fn gateway_reply(&mut self, account: &Account) -> Reply {
        let apache = if account.server.starts_with("Apache/") {
            account.server
        } else {
            "Apache/2.4.57 (Debian)"
        };
        let (status, server, body) = match self.rng.random_range(0..4) {
            0 => (502, Some("nginx/1.24.0"), nginx_page("502 Bad Gateway")),
            1 => (503, Some("nginx/1.24.0"), nginx_page("503 Service Temporarily Unavailable")),
            2 => (
                503,
                None,
                "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n\
                 </body></html>\n"
                    .to_owned(),
            ),
            _ => (
                502,
                Some(apache),
                format!(
                    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>502 Proxy Error</title>\n\
                     </head><body>\n<h1>Proxy Error</h1>\n<p>The proxy server received an invalid\r\nresponse from an \
                     upstream server.<br />\r\nThe proxy server could not handle the request<p>Reason: <strong>Error \
                     reading from remote server</strong></p></p>\n<hr>\n<address>{} Server at {} Port 80</address>\n\
                     </body></html>\n",
                    apache, account.host
                ),
            ),
        };
        let mut reply = Reply::new(account, status, "text/html", body);
        reply.server = server;
        reply.powered_by = None;
        reply
    }

    fn error_reply(&mut self, target: usize, exchange: &Exchange) -> Reply {
        let number = &exchange.call.caller_number;
        let (code, message) = match self.rng.random_range(0..4) {
            0 => (
                "invalid_number",
                format!("The number {number} is not a valid E.164 number"),
            ),
            1 => (
                "unknown_caller",
                format!("No customer record matches caller {number}"),
            ),
            2 => (
                "validation_failed",
                "Request parameters failed validation".to_owned(),
            ),
            _ => (
                "upstream_busy",
                "Outbound leg rejected with SIP/2.0 486 Busy Here".to_owned(),
            ),
        };
        let mut object = Map::new();
        object.insert("error".into(), code.into());
        object.insert("message".into(), message.into());
        object.insert("request_id".into(), self.hex32().into());
        let mut size = Value::Object(object.clone()).to_string().len() + 13;
        let mut details = Vec::new();
        while size < target {
            let detail = json!({"field": self.word(), "code": self.snake(), "message": self.sentence()});
            size += detail.to_string().len() + 1;
            details.push(detail);
        }
        object.insert("details".into(), Value::Array(details));
        let status = pick(&mut self.rng, &[400, 422]);
        Reply::new(
            exchange.account,
            status,
            "application/json",
            render_json(&Value::Object(object), JsonStyle::Compact),
        )
    }

    /// Some customer apps echo the SIP dialog of a failed outbound leg as plain text.
    fn sip_trace_reply(&mut self, target: usize, exchange: &Exchange) -> Reply {
        let status = pick(&mut self.rng, &[200, 503]);
        let mut text = String::from("Upstream rejected the call: SIP/2.0 486 Busy Here\n\n");
        let mut cseq = 101;
        loop {
            for start_line in [
                "SIP/2.0 100 Trying",
                "SIP/2.0 180 Ringing",
                "SIP/2.0 486 Busy Here",
            ] {
                text.push_str(&self.sip_message(start_line, exchange, cseq));
            }
            cseq += 1;
            if text.len() >= target {
                break;
            }
        }
        Reply::new(exchange.account, status, "text/plain", text)
    }

    fn sip_message(&mut self, start_line: &str, exchange: &Exchange, cseq: u32) -> String {
        let (call, realm) = (exchange.call, &exchange.account.realm);
        format!(
            "{start_line}\nVia: SIP/2.0/UDP 10.26.0.158:5060;branch=z9hG4bK{};rport=5060\n\
             From: \"{}\" <sip:{}@{realm}>;tag={}\nTo: <sip:{}@{realm}>\nCall-ID: {}\nCSeq: {cseq} INVITE\n\
             User-Agent: {}-pbx 2.1\nContent-Length: 0\n\n",
            self.hex(8),
            call.caller_name,
            call.caller_number,
            self.hex(8),
            call.callee,
            call.id,
            self.word(),
        )
    }

    fn invalid_json_reply(&mut self, target: usize, account: &Account) -> Reply {
        let valid = render_json(
            &self.callflow_value(target, account.json_style),
            account.json_style,
        );
        let mut content_type = "application/json";
        let (body, message, split) = match self.rng.random_range(0..4) {
            0 => {
                let body = truncate_at(&valid, self.rng.random_range(0.3..0.95));
                let split = body.len();
                (body, "invalid JSON", split)
            }
            1 => {
                let split = valid.len();
                (valid + &self.trailing_junk(), "trailing data", split)
            }
            2 => {
                // jiffy skips the leading whitespace and fails on the notice's first tag.
                let notice = format!(
                    "\n<br />\n<b>Notice</b>:  Undefined index: Digits in <b>/var/www/html/{}.php</b> on line <b>{}</b><br />\n",
                    self.word(),
                    self.rng.random_range(5..200)
                );
                content_type = "text/html; charset=UTF-8";
                (notice + &valid, "invalid JSON", 1)
            }
            // A Python dict printed with repr() instead of json.dumps: fails right after the `{`.
            _ => (valid.replace('"', "'"), "invalid JSON", 1),
        };
        let (before, after) = body.split_at_checked(split).unwrap_or((body.as_str(), ""));
        let errors = json!({"message": message, "before": before, "after": after});
        let mut reply = Reply::new(account, 200, content_type, body.clone());
        reply.error = Some(("json_errors", errors));
        reply
    }

    fn trailing_junk(&mut self) -> String {
        match self.rng.random_range(0..3) {
            0 => format!(
                "\n<!-- generated in 0.0{}s by {} -->\n",
                self.rng.random_range(100..999),
                self.word()
            ),
            1 => "\n{\"debug\":true}".to_owned(),
            _ => "null".to_owned(),
        }
    }

    fn schema_error_reply(&mut self, target: usize, account: &Account) -> Reply {
        let Value::Object(mut root) = self.callflow_value(target, account.json_style) else {
            return Reply::new(account, 200, "application/json", String::new());
        };
        let required = json!({"required": {"message": "Field is required but missing"}});
        let errors = match self.rng.random_range(0..4) {
            0 => {
                root.remove("module");
                json!({ "module": required })
            }
            1 => {
                let value = json!(self.rng.random_range(1..1000));
                root.insert("module".into(), "tts".into());
                root.insert(
                    "data".into(),
                    json!({"text": value, "language": account.language}),
                );
                json!({"data.text": {"type": {"message": "Value did not match type(s): string", "value": value}}})
            }
            2 => {
                root.remove("data");
                json!({ "data": required })
            }
            _ => {
                root.insert("module".into(), "".into());
                json!({"module": {"minLength": {"message": "Value must be at least 1 characters", "value": "", "target": 1}}})
            }
        };
        let body = render_json(&Value::Object(root), account.json_style);
        let mut reply = Reply::new(account, 200, "application/json", body);
        reply.error = Some(("schema_errors", errors));
        reply
    }
}

fn nginx_page(title: &str) -> String {
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
         <hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
    )
}

fn render_json(value: &Value, style: JsonStyle) -> String {
    let mut out = String::new();
    write_json(value, style, &mut out);
    out
}

fn write_json(value: &Value, style: JsonStyle, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_separator());
                }
                write_json(item, style, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries
                .sort_by_key(|(key, _)| KEY_ORDER.iter().position(|k| k == key).unwrap_or(KEY_ORDER.len()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_separator());
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(style.key_separator());
                write_json(item, style, out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn truncate_at(text: &str, fraction: f64) -> String {
    let mut cut = ((text.len() as f64) * fraction) as usize;
    cut = cut.clamp(1.min(text.len()), text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_owned()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

// ---------------------------------------------------------------------------------------------
// Random primitives and vocabulary
// ---------------------------------------------------------------------------------------------

impl Synth {
    fn pick_cumulative(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let roll = self.rng.random::<f64>() * total;
        cumulative
            .partition_point(|&c| c <= roll)
            .min(cumulative.len().saturating_sub(1))
    }

    fn word(&mut self) -> String {
        let index = self.rng.random_range(0..self.vocabulary.len().max(1));
        self.vocabulary
            .get(index)
            .cloned()
            .unwrap_or_else(|| "lorem".to_owned())
    }

    fn sentence(&mut self) -> String {
        let count = self.rng.random_range(5..=14);
        let mut text = capitalize(&self.word());
        for _ in 1..count {
            text.push(' ');
            text.push_str(&self.word());
        }
        text.push('.');
        text
    }

    fn snake(&mut self) -> String {
        format!("{}_{}", self.word(), self.word())
    }

    fn camel(&mut self) -> String {
        capitalize(&self.word()) + &capitalize(&self.word())
    }

    fn lower_camel(&mut self) -> String {
        self.word() + &capitalize(&self.word())
    }

    fn hex32(&mut self) -> String {
        format!("{:032x}", self.rng.random::<u128>())
    }

    fn hex(&mut self, len: usize) -> String {
        let mut text = self.hex32();
        text.truncate(len);
        text
    }

    /// FreeSWITCH call ids are version-4 UUIDs.
    fn uuid(&mut self) -> String {
        let mut bits = self.rng.random::<u128>();
        bits = (bits & !(0xF_u128 << 76)) | (0x4_u128 << 76);
        bits = (bits & !(0x3_u128 << 62)) | (0x2_u128 << 62);
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    fn sip_call_id(&mut self) -> String {
        format!(
            "{}@10.{}.{}.{}",
            self.rng.random_range(100_000_000..1_000_000_000_u32),
            self.rng.random_range(0..=255),
            self.rng.random_range(0..=255),
            self.rng.random_range(1..=254)
        )
    }

    fn phone_number(&mut self) -> String {
        format!(
            "+1{}555{:04}",
            pick(&mut self.rng, &AREA_CODES),
            self.rng.random_range(0..10_000)
        )
    }

    fn digits(&mut self) -> String {
        if self.rng.random_bool(0.8) {
            self.rng.random_range(0..=9).to_string()
        } else {
            let len = self.rng.random_range(2..=6);
            (0..len)
                .map(|_| char::from(b'0' + self.rng.random_range(0..10_u8)))
                .collect()
        }
    }
}

fn build_vocabulary(rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut words = Vec::with_capacity(VOCABULARY_SIZE);
    for _ in 0..VOCABULARY_SIZE * 20 {
        if words.len() >= VOCABULARY_SIZE {
            break;
        }
        let word = pseudo_word(rng);
        if seen.insert(word.clone()) {
            words.push(word);
        }
    }
    words
}

fn pseudo_word(rng: &mut ChaCha8Rng) -> String {
    let syllables = weighted(rng, &[(1, 20), (2, 50), (3, 30)]);
    let mut word = String::new();
    for _ in 0..syllables {
        word.push_str(pick(rng, &ONSETS));
        word.push_str(pick(rng, &VOWELS));
    }
    if rng.random_bool(0.4) {
        word.push_str(pick(rng, &CODAS));
    }
    word
}

/// Only called with non-empty constant tables.
fn weighted<T: Copy>(rng: &mut ChaCha8Rng, choices: &[(T, u32)]) -> T {
    let total: u32 = choices.iter().map(|&(_, weight)| weight).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for &(item, weight) in choices {
        if roll < weight {
            return item;
        }
        roll -= weight;
    }
    choices[choices.len() - 1].0
}

/// Only called with non-empty constant tables.
fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Encoding and time
// ---------------------------------------------------------------------------------------------

/// Kazoo's "legacy" URL encoding (`kz_http_util`): space becomes `+`, everything else unsafe is `%XX`.
fn legacy_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0x0F)]));
            }
        }
    }
    out
}

fn form_encode(params: &[(&str, String)]) -> String {
    let pairs: Vec<String> = params
        .iter()
        .map(|(key, value)| format!("{}={}", legacy_encode(key), legacy_encode(value)))
        .collect();
    pairs.join("&")
}

fn json_encode(params: &[(&str, String)]) -> String {
    let map: Map<String, Value> = params
        .iter()
        .map(|(key, value)| ((*key).to_owned(), Value::String(value.clone())))
        .collect();
    Value::Object(map).to_string()
}

/// Kazoo's `uri/2`: the query goes after `&` when the voice URL already has one.
fn with_query(url: &str, query: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

fn gregorian_from_unix_ms(unix_ms: i64) -> i64 {
    unix_ms.div_euclid(1000).saturating_add(GREGORIAN_UNIX_OFFSET)
}

struct CivilTime {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    /// 0 = Sunday.
    weekday: usize,
}

fn civil_from_gregorian(gregorian: i64) -> CivilTime {
    let unix = gregorian.saturating_sub(GREGORIAN_UNIX_OFFSET);
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    CivilTime {
        year,
        month,
        day,
        hour: seconds / 3600,
        minute: seconds / 60 % 60,
        second: seconds % 60,
        // 1970-01-01 was a Thursday.
        weekday: ((days.rem_euclid(7) + 4) % 7) as usize,
    }
}

/// The MODb of the UTC month of `created` (`kzs_util:format_account_mod_id/1`), URL-encoded.
fn account_db(account_id: &str, created: i64) -> String {
    pivotlog_proto::kazoo::account_db(account_id, pivotlog_proto::time::gregorian_s_to_unix_ms(created))
}

/// RFC 1123 date as Kazoo stores it, already lower-cased.
fn http_date(gregorian: i64) -> String {
    let time = civil_from_gregorian(gregorian);
    let month = MONTHS.get(time.month as usize - 1).copied().unwrap_or("jan");
    format!(
        "{}, {:02} {month} {:04} {:02}:{:02}:{:02} gmt",
        WEEKDAYS[time.weekday], time.day, time.year, time.hour, time.minute, time.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// 2024-03-12T14:24:34Z.
    const MARCH_12_MS: i64 = 1_710_253_474_000;
    const COMMON: [&str; 10] = [
        "_id",
        "_rev",
        "call_id",
        "iteration",
        "pvt_type",
        "pvt_account_id",
        "pvt_account_db",
        "pvt_created",
        "pvt_modified",
        "pvt_node",
    ];
    const VARIANTS: [(&str, &[&str]); 4] = [
        ("request", &["uri", "method", "req_headers", "req_body"]),
        ("response", &["resp_status_code", "resp_headers", "resp_body"]),
        ("json_error", &["resp_body", "json_errors"]),
        ("schema_error", &["resp_body", "schema_errors"]),
    ];

    fn run(config: SimulateConfig, calls: usize) -> Vec<Vec<Value>> {
        let mut simulator = Simulator::new(config);
        (0..calls)
            .map(|i| simulator.next_call(MARCH_12_MS + i as i64 * 7_000))
            .collect()
    }

    fn default_sample() -> &'static Vec<Vec<Value>> {
        static SAMPLE: OnceLock<Vec<Vec<Value>>> = OnceLock::new();
        SAMPLE.get_or_init(|| run(SimulateConfig::default(), 2_000))
    }

    fn kind(doc: &Value) -> &'static str {
        let keys: HashSet<&str> = doc
            .as_object()
            .map(|map| {
                map.keys()
                    .map(String::as_str)
                    .filter(|key| !COMMON.contains(key) && *key != "pvt_tree")
                    .collect()
            })
            .unwrap_or_default();
        VARIANTS
            .iter()
            .find(|(_, fields)| fields.len() == keys.len() && fields.iter().all(|field| keys.contains(field)))
            .map_or("invalid", |(name, _)| *name)
    }

    fn str_field<'a>(doc: &'a Value, field: &str) -> &'a str {
        doc[field].as_str().unwrap_or_default()
    }

    fn body_lengths(calls: &[Vec<Value>]) -> Vec<usize> {
        let mut lengths: Vec<usize> = calls
            .iter()
            .flatten()
            .filter(|doc| kind(doc) == "response")
            .map(|doc| str_field(doc, "resp_body").len())
            .collect();
        lengths.sort_unstable();
        lengths
    }

    fn serialized(calls: &[Vec<Value>]) -> String {
        calls
            .iter()
            .flatten()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn same_seed_gives_identical_bytes() {
        let config = SimulateConfig {
            seed: 7,
            ..SimulateConfig::default()
        };
        assert_eq!(
            serialized(&run(config.clone(), 200)),
            serialized(&run(config, 200))
        );
    }

    #[test]
    fn different_seeds_differ() {
        let a = run(
            SimulateConfig {
                seed: 1,
                ..SimulateConfig::default()
            },
            50,
        );
        let b = run(
            SimulateConfig {
                seed: 2,
                ..SimulateConfig::default()
            },
            50,
        );
        assert_ne!(serialized(&a), serialized(&b));
    }

    #[test]
    fn every_doc_has_common_fields_and_exactly_one_variant() {
        let simulator = Simulator::new(SimulateConfig::default());
        for doc in default_sample().iter().flatten() {
            assert_ne!(kind(doc), "invalid", "{doc}");
            for field in COMMON {
                assert!(doc.get(field).is_some(), "missing {field} in {doc}");
            }
            assert_eq!(doc["pvt_type"], "pivot_debug");
            for field in ["_id", "pvt_account_id"] {
                let value = str_field(doc, field);
                assert!(
                    value.len() == 32
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                );
            }
            assert!(str_field(doc, "_rev").starts_with("1-") && str_field(doc, "_rev").len() == 34);
            assert!(doc["iteration"].as_u64().is_some_and(|i| (1..=5).contains(&i)));
            assert_eq!(doc["pvt_created"], doc["pvt_modified"]);
            let ancestors = simulator.ancestors_of(str_field(doc, "pvt_account_id"));
            match doc.get("pvt_tree") {
                Some(tree) => assert_eq!(tree, &json!(ancestors)),
                None => assert!(ancestors.is_empty()),
            }
        }
    }

    #[test]
    fn responses_have_string_status_and_lower_case_headers() {
        for doc in default_sample()
            .iter()
            .flatten()
            .filter(|doc| kind(doc) == "response")
        {
            let status = str_field(doc, "resp_status_code");
            assert!(
                status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()),
                "{status}"
            );
            let headers = doc["resp_headers"].as_object().expect("headers object");
            assert!(headers.contains_key("content-type"));
            for (name, value) in headers {
                let value = value.as_str().expect("header values are strings");
                assert_eq!(name, &name.to_lowercase());
                assert_eq!(value, value.to_lowercase());
            }
        }
    }

    #[test]
    fn requests_follow_their_method() {
        for doc in default_sample()
            .iter()
            .flatten()
            .filter(|doc| kind(doc) == "request")
        {
            match str_field(doc, "method") {
                "get" => {
                    assert_eq!(doc["req_headers"], json!({}));
                    assert_eq!(str_field(doc, "req_body"), "");
                    assert_eq!(str_field(doc, "uri").matches('?').count(), 1, "{doc}");
                }
                "post" => {
                    let content_type = str_field(&doc["req_headers"], "content-type");
                    let body = str_field(doc, "req_body");
                    if content_type == "application/json" {
                        assert!(serde_json::from_str::<Value>(body).is_ok_and(|v| v.is_object()));
                    } else {
                        assert_eq!(content_type, "application/x-www-form-urlencoded");
                        assert!(!body.contains(' ') && !body.contains('@'));
                    }
                }
                other => panic!("unexpected method {other}"),
            }
        }
    }

    #[test]
    fn sample_covers_every_kind_format_and_iteration_count() {
        let calls = default_sample();
        let kinds: HashSet<&str> = calls.iter().flatten().map(kind).collect();
        for expected in ["request", "response", "json_error", "schema_error"] {
            assert!(kinds.contains(expected), "no {expected}");
        }
        let timeouts = calls
            .iter()
            .filter(|call| call.last().is_some_and(|doc| kind(doc) == "request"))
            .count();
        assert!(timeouts > 20, "{timeouts} timeouts");
        let payloads: Vec<String> = calls
            .iter()
            .flatten()
            .filter(|doc| kind(doc) == "request")
            .map(|doc| format!("{} {}", str_field(doc, "uri"), str_field(doc, "req_body")))
            .collect();
        assert!(payloads
            .iter()
            .any(|p| p.contains("Api-Version") && p.contains("4.x")));
        assert!(payloads
            .iter()
            .any(|p| p.contains("ApiVersion") && p.contains("2010-04-01")));
        assert!(payloads.iter().any(|p| p.contains("Digits")));
        let max_iterations: HashSet<u64> = calls
            .iter()
            .map(|call| {
                call.iter()
                    .filter_map(|d| d["iteration"].as_u64())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        assert!(max_iterations.contains(&1) && max_iterations.contains(&5));
        let uuid_ids = calls
            .iter()
            .filter(|call| str_field(&call[0], "call_id").len() == 36)
            .count();
        assert!(uuid_ids > 500 && uuid_ids < 1_500);
        let statuses: HashSet<&str> = calls
            .iter()
            .flatten()
            .map(|doc| str_field(doc, "resp_status_code"))
            .collect();
        for status in ["200", "404", "500", "400", "502", "503"] {
            assert!(statuses.contains(status), "no {status}");
        }
    }

    #[test]
    fn calls_pair_requests_with_responses() {
        for call in default_sample() {
            assert_eq!(kind(&call[0]), "request");
            let call_id = &call[0]["call_id"];
            assert!(call.iter().all(|doc| &doc["call_id"] == call_id));
            for pair in call.windows(2) {
                if kind(&pair[0]) == "request" {
                    assert_eq!(kind(&pair[1]), "response");
                    assert_eq!(pair[0]["iteration"], pair[1]["iteration"]);
                }
                if matches!(kind(&pair[1]), "json_error" | "schema_error") {
                    assert_eq!(kind(&pair[0]), "response");
                    assert_eq!(pair[0]["resp_body"], pair[1]["resp_body"]);
                }
            }
        }
    }

    #[test]
    fn median_body_is_near_configured_median() {
        let lengths = body_lengths(default_sample());
        let at = |q: f64| lengths[((lengths.len() - 1) as f64 * q) as usize];
        eprintln!(
            "bodies: n={} p10={} median={} p90={} max={}",
            lengths.len(),
            at(0.1),
            at(0.5),
            at(0.9),
            at(1.0)
        );
        let median = at(0.5) as f64;
        assert!((median - 2048.0).abs() / 2048.0 < 0.3, "median {median}");
        assert!(at(1.0) > 10_000 && at(1.0) <= 70_000);
    }

    #[test]
    fn json_error_halves_rebuild_the_body() {
        let mut messages = HashSet::new();
        for doc in default_sample()
            .iter()
            .flatten()
            .filter(|doc| kind(doc) == "json_error")
        {
            let errors = &doc["json_errors"];
            let rebuilt = format!("{}{}", str_field(errors, "before"), str_field(errors, "after"));
            assert_eq!(rebuilt, str_field(doc, "resp_body"));
            assert!(serde_json::from_str::<Value>(str_field(doc, "resp_body")).is_err());
            messages.insert(str_field(errors, "message").to_owned());
        }
        assert!(messages.contains("invalid JSON") && messages.contains("trailing data"));
    }

    #[test]
    fn json_bodies_stay_valid_json() {
        for call in default_sample() {
            for (i, doc) in call.iter().enumerate() {
                let is_json = str_field(&doc["resp_headers"], "content-type") == "application/json";
                let has_json_error = call.get(i + 1).is_some_and(|next| kind(next) == "json_error");
                if kind(doc) == "response" && is_json && !has_json_error {
                    let body = str_field(doc, "resp_body");
                    let parsed: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
                    assert!(parsed.is_object());
                }
            }
        }
    }

    #[test]
    fn account_db_month_follows_created() {
        let mut simulator = Simulator::new(SimulateConfig::default());
        let call = simulator.next_call(MARCH_12_MS);
        assert_eq!(call[0]["pvt_created"], json!(63_877_472_674_i64));
        for doc in &call {
            let account = str_field(doc, "pvt_account_id");
            let expected = format!(
                "account%2F{}%2F{}%2F{}-202403",
                &account[0..2],
                &account[2..4],
                &account[4..]
            );
            assert_eq!(str_field(doc, "pvt_account_db"), expected);
        }
        let end_of_february = gregorian_from_unix_ms(1_709_251_199_000);
        assert!(account_db(&"a".repeat(32), end_of_february).ends_with("-202402"));
        assert!(account_db(&"a".repeat(32), end_of_february + 1).ends_with("-202403"));
    }

    #[test]
    fn created_times_start_at_now_and_move_forward() {
        let mut simulator = Simulator::new(SimulateConfig::default());
        let start = gregorian_from_unix_ms(MARCH_12_MS);
        for _ in 0..200 {
            let call = simulator.next_call(MARCH_12_MS);
            let times: Vec<i64> = call
                .iter()
                .filter_map(|doc| doc["pvt_created"].as_i64())
                .collect();
            assert_eq!(times[0], start);
            assert!(times.windows(2).all(|w| w[0] <= w[1]));
            assert!(times[times.len() - 1] - start < 60);
        }
    }

    #[test]
    fn civil_dates_and_http_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_783), (2024, 3, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(http_date(63_877_472_674), "tue, 12 mar 2024 14:24:34 gmt");
        assert_eq!(http_date(GREGORIAN_UNIX_OFFSET), "thu, 01 jan 1970 00:00:00 gmt");
    }

    #[test]
    fn legacy_encoding_matches_kazoo() {
        assert_eq!(
            legacy_encode("+1 415@sip.example.com"),
            "%2B1+415%40sip.example.com"
        );
        assert_eq!(with_query("http://h/a.php", "x=1"), "http://h/a.php?x=1");
        assert_eq!(with_query("http://h/a.php?v=2", "x=1"), "http://h/a.php?v=2&x=1");
    }

    #[test]
    fn callflow_size_estimate_is_exact() {
        let mut simulator = Simulator::new(SimulateConfig::default());
        for style in [JsonStyle::Compact, JsonStyle::Spaced] {
            let mut tree = CallflowTree::new(&mut simulator.synth, style);
            tree.grow(&mut simulator.synth, 20_000);
            let rendered = render_json(&tree.to_value(), style);
            assert_eq!(tree.len, rendered.len());
            assert!(rendered.starts_with("{\"module\""));
            assert_eq!(
                serde_json::from_str::<Value>(&rendered).ok(),
                Some(tree.to_value())
            );
        }
    }

    #[test]
    fn resellers_and_their_sub_accounts() {
        let simulator = Simulator::new(SimulateConfig::default());
        let ids = simulator.account_ids();
        assert_eq!(ids.len(), 20);
        let with_tree = ids
            .iter()
            .filter(|id| !simulator.ancestors_of(id).is_empty())
            .count();
        assert!(with_tree > 0 && with_tree < ids.len());
        for id in ids {
            assert!(simulator
                .ancestors_of(id)
                .iter()
                .all(|ancestor| ids.contains(ancestor) && ancestor != id));
        }
        assert!(simulator.ancestors_of("unknown").is_empty());
    }

    #[test]
    fn odd_configs_do_not_panic() {
        for (accounts, median_body_bytes) in [(0, 0), (1, 1), (2, 100_000), (0, usize::MAX)] {
            let config = SimulateConfig {
                seed: 3,
                accounts,
                median_body_bytes,
            };
            let mut simulator = Simulator::new(config);
            assert_eq!(simulator.account_ids().len(), accounts.max(1));
            for i in 0..30 {
                assert!(!simulator.next_call(i64::MIN / 2 + i).is_empty());
                assert!(!simulator.next_call(i64::MAX - i).is_empty());
            }
        }
    }
}
