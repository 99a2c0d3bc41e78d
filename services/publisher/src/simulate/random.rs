//! The one random source, [`Synth`], and the primitives built on it: pseudo-words, ids,
//! numbers and weighted picks. Every random value of a simulation is drawn here, in call
//! order, which is what makes a seed reproduce its output byte for byte.

use std::collections::HashSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tables::AREA_CODES;

const VOCABULARY_SIZE: usize = 3_000;
const ONSETS: [&str; 22] = [
    "b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "tr", "ch", "sh",
    "pl", "gr",
];
const VOWELS: [&str; 9] = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"];
const CODAS: [&str; 7] = ["n", "r", "s", "l", "m", "x", "th"];

/// The random source and vocabulary; everything random goes through here so output is reproducible.
pub(super) struct Synth {
    pub(super) rng: ChaCha8Rng,
    vocabulary: Vec<String>,
    pub(super) median_body_bytes: usize,
}

impl Synth {
    /// The vocabulary is drawn first, before any account or call, so it is the same for a
    /// seed whatever is generated afterwards.
    pub(super) fn new(seed: u64, median_body_bytes: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let vocabulary = build_vocabulary(&mut rng);
        Self {
            rng,
            vocabulary,
            median_body_bytes,
        }
    }

    pub(super) fn pick_cumulative(&mut self, cumulative: &[f64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0.0);
        let roll = self.rng.random::<f64>() * total;
        cumulative
            .partition_point(|&c| c <= roll)
            .min(cumulative.len().saturating_sub(1))
    }

    pub(super) fn word(&mut self) -> String {
        let index = self.rng.random_range(0..self.vocabulary.len().max(1));
        self.vocabulary
            .get(index)
            .cloned()
            .unwrap_or_else(|| "lorem".to_owned())
    }

    pub(super) fn sentence(&mut self) -> String {
        let count = self.rng.random_range(5..=14);
        let mut text = capitalize(&self.word());
        for _ in 1..count {
            text.push(' ');
            text.push_str(&self.word());
        }
        text.push('.');
        text
    }

    pub(super) fn snake(&mut self) -> String {
        format!("{}_{}", self.word(), self.word())
    }

    pub(super) fn camel(&mut self) -> String {
        capitalize(&self.word()) + &capitalize(&self.word())
    }

    pub(super) fn lower_camel(&mut self) -> String {
        self.word() + &capitalize(&self.word())
    }

    pub(super) fn hex32(&mut self) -> String {
        format!("{:032x}", self.rng.random::<u128>())
    }

    pub(super) fn hex(&mut self, len: usize) -> String {
        let mut text = self.hex32();
        text.truncate(len);
        text
    }

    /// FreeSWITCH call ids are version-4 UUIDs.
    pub(super) fn uuid(&mut self) -> String {
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

    pub(super) fn sip_call_id(&mut self) -> String {
        format!(
            "{}@10.{}.{}.{}",
            self.rng.random_range(100_000_000..1_000_000_000_u32),
            self.rng.random_range(0..=255),
            self.rng.random_range(0..=255),
            self.rng.random_range(1..=254)
        )
    }

    pub(super) fn phone_number(&mut self) -> String {
        format!(
            "+1{}555{:04}",
            pick(&mut self.rng, &AREA_CODES),
            self.rng.random_range(0..10_000)
        )
    }

    pub(super) fn digits(&mut self) -> String {
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
pub(super) fn weighted<T: Copy>(rng: &mut ChaCha8Rng, choices: &[(T, u32)]) -> T {
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
pub(super) fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

pub(super) fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}
