//! The template being written.

use super::{cut, LINE, MAX_LITERAL_BYTES, MAX_TEMPLATE_BYTES, NUM};

/// The template being written: collapses whitespace and runs of one placeholder.
#[derive(Default)]
pub(super) struct Out {
    pub(super) text: String,
    pub(super) space: bool,
}

impl Out {
    pub(super) fn full(&self) -> bool {
        self.text.len() >= MAX_TEMPLATE_BYTES
    }

    pub(super) fn space(&mut self) {
        self.space = true;
    }

    pub(super) fn separate(&mut self) {
        if self.space && !self.text.is_empty() {
            self.text.push(' ');
        }
        self.space = false;
    }

    pub(super) fn punct(&mut self, c: u8) {
        self.separate();
        self.text.push(c as char);
    }

    pub(super) fn literal(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        self.separate();
        self.text.push_str(cut(word, MAX_LITERAL_BYTES));
    }

    pub(super) fn placeholder(&mut self, kind: &'static str) {
        let kind = if kind == NUM && self.after_line_word() {
            LINE
        } else {
            kind
        };
        let kept = self.text.trim_end_matches([' ', ',']).len();
        if self.text[..kept].ends_with(kind) {
            self.text.truncate(kept);
            self.space = false;
            return;
        }
        self.separate();
        self.text.push_str(kind);
    }

    /// Whether the last word is `line` (`line 42`, `.cs:line 42`, `Line: 42`).
    pub(super) fn after_line_word(&self) -> bool {
        let t = self.text.trim_end_matches([' ', ':']).as_bytes();
        t.len() >= 4
            && t[t.len() - 4..].eq_ignore_ascii_case(b"line")
            && (t.len() == 4 || !t[t.len() - 5].is_ascii_alphabetic())
    }
}
