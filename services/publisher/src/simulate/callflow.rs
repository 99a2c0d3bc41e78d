//! Kazoo callflow JSON grown to a size goal: the body of most successful replies, and the
//! raw material of the invalid-JSON and schema-error replies.

use std::collections::VecDeque;

use rand::Rng;
use serde_json::{json, Map, Value};

use super::random::{pick, weighted, Synth};
use super::render::{render_json, JsonStyle};
use super::tables::LANGUAGES;

/// serde_json refuses to parse nesting deeper than 128 and each callflow level nests two objects.
const MAX_CALLFLOW_DEPTH: usize = 12;
const MAX_CALLFLOW_NODES: usize = 4_000;

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
const MENU_KEYS: &[&str] = &["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "_", "timeout"];
const CHAIN_KEYS: &[&str] = &["_"];

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

impl Synth {
    pub(super) fn callflow_value(&mut self, target: usize, style: JsonStyle) -> Value {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{SimulateConfig, Simulator};

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
}
