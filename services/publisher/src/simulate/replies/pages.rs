//! HTML error pages: 404s from the app or its web server, and 502/503 from the proxy in
//! front of it.

use rand::Rng;

use super::Reply;
use crate::simulate::accounts::{Account, Stack};
use crate::simulate::random::{capitalize, Synth};

impl Synth {
    pub(super) fn not_found_reply(&mut self, target: usize, account: &Account) -> Reply {
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

    /// Gateway pages come from the proxy in front of the customer's app, so they stay small.
    pub(super) fn gateway_reply(&mut self, account: &Account) -> Reply {
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
}

fn nginx_page(title: &str) -> String {
    format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n\
         <hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
    )
}
