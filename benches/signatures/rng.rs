//! A deterministic PRNG (splitmix64) and the values it fills in.

use serde_json::Value;

pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// In `low..=high`.
    pub(crate) fn int(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub(crate) fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b"0123456789abcdef"[self.next() as usize % 16]))
            .collect()
    }
    pub(crate) fn alnum(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(CHARS[self.next() as usize % CHARS.len()]))
            .collect()
    }
    pub(crate) fn lower_alnum(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| char::from(CHARS[self.next() as usize % CHARS.len()]))
            .collect()
    }
    pub(crate) fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-{}{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.pick(&["8", "9", "a", "b"]),
            self.hex(3),
            self.hex(12)
        )
    }
    pub(crate) fn ipv4(&mut self) -> String {
        match self.int(0, 3) {
            0 => format!(
                "10.{}.{}.{}",
                self.int(0, 255),
                self.int(0, 255),
                self.int(1, 254)
            ),
            1 => format!("192.168.{}.{}", self.int(0, 255), self.int(1, 254)),
            2 => format!(
                "172.{}.{}.{}",
                self.int(16, 31),
                self.int(0, 255),
                self.int(1, 254)
            ),
            _ => format!(
                "{}.{}.{}.{}",
                self.int(23, 223),
                self.int(0, 255),
                self.int(0, 255),
                self.int(1, 254)
            ),
        }
    }
    pub(crate) fn ipv6(&mut self) -> String {
        format!("2001:db8:{}:{}::{}", self.hex(4), self.hex(4), self.hex(3))
    }
    pub(crate) fn host(&mut self) -> String {
        let company = self.pick(&[
            "acme", "globex", "initech", "umbrella", "hooli", "voipco", "callhero", "telnova",
        ]);
        match self.int(0, 4) {
            0 => format!("api.{company}.com"),
            1 => format!("pivot.{company}.io"),
            2 => format!(
                "ip-10-{}-{}-{}.ec2.internal",
                self.int(0, 255),
                self.int(0, 255),
                self.int(1, 254)
            ),
            3 => format!(
                "{}{}.{company}.net",
                self.pick(&["web", "app", "ivr"]),
                self.int(1, 40)
            ),
            _ => format!("callflow-{}.{company}.co.uk", self.lower_alnum(5)),
        }
    }
    pub(crate) fn email(&mut self) -> String {
        let user = self.pick(&[
            "webmaster",
            "admin",
            "ops",
            "support",
            "noc",
            "j.smith",
            "alice",
            "bob.jones",
        ]);
        format!(
            "{user}{}@{}",
            if self.chance(50) {
                self.int(1, 99).to_string()
            } else {
                String::new()
            },
            self.host()
        )
    }
    /// E.164 and the common national formats, one format per template (`style`).
    pub(crate) fn phone(&mut self, style: u8) -> String {
        let (a, b, c) = (self.int(201, 989), self.int(200, 999), self.int(0, 9999));
        match style {
            0 => format!("+1{a}{b}{c:04}"),
            1 => format!("+1 {a} {b} {c:04}"),
            2 => format!("({a}) {b}-{c:04}"),
            3 => format!("{a}-{b}-{c:04}"),
            _ => format!("1{a}{b}{c:04}"),
        }
    }
    pub(crate) fn epoch(&mut self) -> i64 {
        1_700_000_000 + self.int(0, 100_000_000) as i64
    }
    pub(crate) fn time(&mut self) -> Civil {
        civil(self.epoch(), self.int(0, 999) as u32)
    }
    pub(crate) fn account(&mut self) -> String {
        self.hex(32)
    }
    pub(crate) fn line(&mut self) -> u64 {
        self.int(1, 2400)
    }
    /// Whitespace between elements: none, a newline, or a newline and indentation.
    pub(crate) fn ws(&mut self) -> &'static str {
        self.pick(&["", "\n", "\n  ", "\r\n", "\n    "])
    }
    /// JSON, compact or pretty (servers differ).
    pub(crate) fn json(&mut self, value: &Value) -> String {
        if self.chance(50) {
            value.to_string()
        } else {
            serde_json::to_string_pretty(value).unwrap()
        }
    }
}

pub(crate) struct Civil {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    ms: u32,
    wd: usize,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

fn civil(epoch: i64, ms: u32) -> Civil {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400) as u32;
    let (y, mo, d) = pivotlog_proto::time::civil_from_days(days);
    Civil {
        y,
        mo,
        d,
        h: secs / 3600,
        mi: secs / 60 % 60,
        s: secs % 60,
        ms,
        wd: days.rem_euclid(7) as usize,
    }
}

impl Civil {
    pub(crate) fn iso(&self) -> String {
        format!(
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.y, self.mo, self.d, self.h, self.mi, self.s
        )
    }
    pub(crate) fn iso_ms(&self) -> String {
        format!(
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+00:00",
            self.y, self.mo, self.d, self.h, self.mi, self.s, self.ms
        )
    }
    pub(crate) fn sql(&self) -> String {
        format!(
            "{}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.y, self.mo, self.d, self.h, self.mi, self.s
        )
    }
    pub(crate) fn http(&self) -> String {
        format!(
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            DAYS[self.wd],
            self.d,
            MONTHS[self.mo as usize - 1],
            self.y,
            self.h,
            self.mi,
            self.s
        )
    }
    pub(crate) fn ctime(&self) -> String {
        format!(
            "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
            DAYS[self.wd],
            MONTHS[self.mo as usize - 1],
            self.d,
            self.h,
            self.mi,
            self.s,
            self.y
        )
    }
    pub(crate) fn clf(&self) -> String {
        format!(
            "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
            self.d,
            MONTHS[self.mo as usize - 1],
            self.y,
            self.h,
            self.mi,
            self.s
        )
    }
    pub(crate) fn nginx(&self) -> String {
        format!(
            "{}/{:02}/{:02} {:02}:{:02}:{:02}",
            self.y, self.mo, self.d, self.h, self.mi, self.s
        )
    }
}
