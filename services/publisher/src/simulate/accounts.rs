//! Simulated customer accounts: reseller trees, and each account's web stack, request
//! format and URLs, fixed when the simulator is built so all calls of an account agree.

use rand::Rng;

use super::random::{pick, weighted, Synth};
use super::render::JsonStyle;
use super::tables::LANGUAGES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestFormat {
    Kazoo,
    Twiml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transport {
    Get,
    PostForm,
    PostJson,
}

impl Transport {
    /// TwiML `<Gather>`/`<Redirect>` actions are fetched with POST.
    pub(super) fn for_action(self) -> Self {
        match self {
            Transport::Get => Transport::PostForm,
            other => other,
        }
    }
}

/// The customer's web stack decides its server header, error pages and stack traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stack {
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

    pub(super) fn powered_by(self) -> Option<&'static str> {
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

pub(super) struct Account {
    pub(super) id: String,
    pub(super) ancestors: Vec<String>,
    pub(super) format: RequestFormat,
    pub(super) transport: Transport,
    pub(super) stack: Stack,
    pub(super) server: &'static str,
    pub(super) host: String,
    pub(super) path: &'static str,
    pub(super) voice_url: String,
    pub(super) action_base: String,
    pub(super) realm: String,
    pub(super) language: &'static str,
    pub(super) json_style: JsonStyle,
}

impl Synth {
    pub(super) fn accounts(&mut self, count: usize) -> Vec<Account> {
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

pub(super) fn cumulative_popularity(count: usize) -> Vec<f64> {
    let mut total = 0.0;
    (0..count)
        .map(|i| {
            total += 1.0 / ((i + 1) as f64).powf(0.7);
            total
        })
        .collect()
}
