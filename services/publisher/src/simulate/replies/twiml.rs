//! TwiML replies: a `<Gather>` or `<Redirect>` whose action URL is the next request.

use rand::Rng;

use super::Reply;
use crate::simulate::accounts::Account;
use crate::simulate::calls::Exchange;
use crate::simulate::random::{pick, Synth};

impl Synth {
    pub(super) fn twiml_reply(&mut self, target: usize, exchange: &Exchange) -> Reply {
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
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
