//! Plain-text SIP dialogs: the reply of apps that pass a failed outbound leg through.

use super::Reply;
use crate::simulate::calls::Exchange;
use crate::simulate::random::{pick, Synth};

impl Synth {
    /// Some customer apps echo the SIP dialog of a failed outbound leg as plain text.
    pub(super) fn sip_trace_reply(&mut self, target: usize, exchange: &Exchange) -> Reply {
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
}
