//! The corpus: what customers' servers send back to Kazoo, as labelled templates whose
//! generators fill in varied values from a seeded PRNG.

mod api;
mod frameworks;
mod kazoo;
mod web;

use api::*;
use frameworks::*;
use kazoo::*;
use web::*;

use crate::rng::Rng;

const SEED: u64 = 0x5167_2026;

pub(crate) struct Template {
    pub(crate) name: &'static str,
    pub(crate) statuses: &'static [u32],
    pub(crate) make: fn(&mut Rng, u32) -> String,
}

fn reason(status: u32) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// A Pivot path on the customer's server, with ids in it: each server has its routes
/// (`route`), the ids in them vary.
fn pivot_path(r: &mut Rng, route: u8) -> String {
    match route {
        0 => format!("/pivot/{}/callflow", r.account()),
        1 => format!(
            "/api/v2/accounts/{}/calls/{}",
            r.int(1, 99_999),
            r.lower_alnum(12)
        ),
        2 => format!("/ivr/menu/{}.php", r.int(1, 500)),
        _ => format!("/kazoo/pivot/{}", r.uuid()),
    }
}

pub(crate) const TEMPLATES: &[Template] = &[
    Template {
        name: "apache error page",
        statuses: &[403, 404, 500, 503],
        make: apache,
    },
    Template {
        name: "nginx error page",
        statuses: &[404, 413, 502, 504],
        make: nginx,
    },
    Template {
        name: "aws alb error page",
        statuses: &[502, 503],
        make: aws_alb,
    },
    Template {
        name: "iis detailed error",
        statuses: &[404, 500],
        make: iis,
    },
    Template {
        name: "cloudflare 52x",
        statuses: &[520, 521, 522, 524],
        make: cloudflare,
    },
    Template {
        name: "akamai access denied",
        statuses: &[403],
        make: akamai,
    },
    Template {
        name: "haproxy error",
        statuses: &[502, 503, 504],
        make: haproxy,
    },
    Template {
        name: "heroku application error",
        statuses: &[503],
        make: heroku,
    },
    Template {
        name: "maintenance page",
        statuses: &[503],
        make: maintenance,
    },
    Template {
        name: "spring whitelabel",
        statuses: &[500],
        make: spring_whitelabel,
    },
    Template {
        name: "spring json error",
        statuses: &[500],
        make: spring_json,
    },
    Template {
        name: "spring json + trace",
        statuses: &[500],
        make: spring_json_trace,
    },
    Template {
        name: "tomcat exception report",
        statuses: &[500],
        make: tomcat,
    },
    Template {
        name: "java stack trace (text)",
        statuses: &[500],
        make: java_plain,
    },
    Template {
        name: "php fatal error",
        statuses: &[500, 200],
        make: php_fatal,
    },
    Template {
        name: "php warning + kazoo json",
        statuses: &[200],
        make: php_warning_json,
    },
    Template {
        name: "laravel json exception",
        statuses: &[500],
        make: laravel_json,
    },
    Template {
        name: "django debug page",
        statuses: &[500],
        make: django,
    },
    Template {
        name: "python traceback (text)",
        statuses: &[500],
        make: python_traceback,
    },
    Template {
        name: "flask 500 page",
        statuses: &[500],
        make: flask_500,
    },
    Template {
        name: "fastapi validation",
        statuses: &[422],
        make: fastapi,
    },
    Template {
        name: "express stack",
        statuses: &[500],
        make: express,
    },
    Template {
        name: "node ECONNREFUSED json",
        statuses: &[500, 503],
        make: node_json,
    },
    Template {
        name: "node fetch timeout",
        statuses: &[504],
        make: node_timeout,
    },
    Template {
        name: ".net ysod",
        statuses: &[500],
        make: dotnet_ysod,
    },
    Template {
        name: "go panic",
        statuses: &[500],
        make: go_panic,
    },
    Template {
        name: "envoy upstream reset",
        statuses: &[503],
        make: envoy,
    },
    Template {
        name: "gateway timeout text",
        statuses: &[504],
        make: gateway_timeout_text,
    },
    Template {
        name: "api error + request id",
        statuses: &[500, 502],
        make: api_error_request_id,
    },
    Template {
        name: "validation error + trace id",
        statuses: &[400, 422],
        make: validation_error,
    },
    Template {
        name: "oauth token expired",
        statuses: &[401],
        make: auth_error,
    },
    Template {
        name: "api gateway message",
        statuses: &[502, 504],
        make: api_gateway,
    },
    Template {
        name: "rate limit json",
        statuses: &[429],
        make: rate_limit_json,
    },
    Template {
        name: "rate limit text",
        statuses: &[429],
        make: rate_limit_text,
    },
    Template {
        name: "rate limit retry ms",
        statuses: &[429],
        make: rate_limit_retry,
    },
    Template {
        name: "nginx log leaked in body",
        statuses: &[500],
        make: access_log_leak,
    },
    Template {
        name: "empty body",
        statuses: &[500, 502, 503],
        make: empty,
    },
    Template {
        name: "kazoo crossbar error",
        statuses: &[404],
        make: kazoo_crossbar_error,
    },
    Template {
        name: "kazoo json bad field",
        statuses: &[200],
        make: kazoo_bad_field,
    },
    Template {
        name: "kazoo dial bad number",
        statuses: &[200],
        make: kazoo_bad_number,
    },
    Template {
        name: "twiml bad element",
        statuses: &[200],
        make: twiml_bad,
    },
    Template {
        name: "ok: kazoo play",
        statuses: &[200],
        make: kazoo_play,
    },
    Template {
        name: "ok: kazoo menu",
        statuses: &[200],
        make: kazoo_menu,
    },
    Template {
        name: "ok: kazoo tts",
        statuses: &[200],
        make: kazoo_tts,
    },
    Template {
        name: "ok: twiml say",
        statuses: &[200],
        make: twiml_say,
    },
    Template {
        name: "ok: twiml gather",
        statuses: &[200],
        make: twiml_gather,
    },
    Template {
        name: "ok: twiml dial",
        statuses: &[200],
        make: twiml_dial,
    },
];

/// One labelled body: which (template, status) made it.
pub(crate) struct Body {
    pub(crate) label: usize,
    pub(crate) status: u32,
    pub(crate) text: String,
}

pub(crate) fn corpus(per_label: usize) -> (Vec<(usize, u32)>, Vec<Body>) {
    let mut rng = Rng(SEED);
    let mut labels = Vec::new();
    let mut bodies = Vec::new();
    for (t, template) in TEMPLATES.iter().enumerate() {
        for &status in template.statuses {
            let label = labels.len();
            labels.push((t, status));
            for _ in 0..per_label {
                bodies.push(Body {
                    label,
                    status,
                    text: (template.make)(&mut rng, status),
                });
            }
        }
    }
    (labels, bodies)
}
