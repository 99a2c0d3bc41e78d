//! Web-server, proxy and CDN error pages, maintenance pages and leaked access logs.

use super::{pivot_path, reason};
use crate::rng::Rng;

pub(super) fn apache(r: &mut Rng, status: u32) -> String {
    let (title, text) = match status {
        404 => ("Not Found".to_owned(), format!("<p>The requested URL {} was not found on this server.</p>", pivot_path(r, 0))),
        403 => ("Forbidden".to_owned(), "<p>You don't have permission to access this resource.</p>".to_owned()),
        500 => (
            "Internal Server Error".to_owned(),
            format!(
                "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n<p>Please contact the server administrator at \n {} to inform them of the time this error occurred,\n and the actions you performed just before this error.</p>\n<p>More information about this error may be available\nin the server error log.</p>",
                r.email()
            ),
        ),
        _ => (
            "Service Unavailable".to_owned(),
            "<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.</p>".to_owned(),
        ),
    };
    format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} {title}</title>\n</head><body>\n<h1>{title}</h1>\n{text}\n<hr>\n<address>Apache/2.4.{} (Ubuntu) Server at {} Port {}</address>\n</body></html>\n",
        r.int(29, 62),
        r.host(),
        r.pick(&["80", "443", "8080"])
    )
}

pub(super) fn nginx(r: &mut Rng, status: u32) -> String {
    let version = format!("nginx/1.{}.{}", r.int(14, 27), r.int(0, 3));
    let nl = if r.chance(50) { "\r\n" } else { "\n" };
    format!(
        "<html>{nl}<head><title>{status} {reason}</title></head>{nl}<body>{nl}<center><h1>{status} {reason}</h1></center>{nl}<hr><center>{version}</center>{nl}</body>{nl}</html>{nl}",
        reason = reason(status)
    )
}

pub(super) fn aws_alb(_: &mut Rng, status: u32) -> String {
    format!(
        "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n",
        reason = reason(status)
    )
}

pub(super) fn iis(r: &mut Rng, status: u32) -> String {
    let id = r.int(1, 9999);
    let (sub, text, code) = match status {
        404 => ("0", "The resource you are looking for has been removed, had its name changed, or is temporarily unavailable.", "0x80070002"),
        _ => ("0", "The page cannot be displayed because an internal server error has occurred.", "0x8007000d"),
    };
    format!(
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\r\n<title>IIS 10.0 Detailed Error - {status}.{sub} - {reason}</title>\r\n<style type=\"text/css\">\r\n<!--\r\nbody{{margin:0;font-size:.7em;font-family:Verdana,Arial,Helvetica,sans-serif;}}\r\n-->\r\n</style>\r\n</head>\r\n<body>\r\n<div id=\"content\">\r\n<div class=\"content-container\">\r\n<h3>HTTP Error {status}.{sub} - {reason}</h3>\r\n<h4>{text}</h4>\r\n</div>\r\n<div class=\"content-container\">\r\n<fieldset><h4>Detailed Error Information:</h4>\r\n<div id=\"details-left\">\r\n<table border=\"0\" cellpadding=\"0\" cellspacing=\"0\">\r\n<tr class=\"alt\"><th>Module</th><td>&nbsp;&nbsp;&nbsp;IIS Web Core</td></tr>\r\n<tr><th>Notification</th><td>&nbsp;&nbsp;&nbsp;MapRequestHandler</td></tr>\r\n<tr class=\"alt\"><th>Handler</th><td>&nbsp;&nbsp;&nbsp;StaticFile</td></tr>\r\n<tr><th>Error Code</th><td>&nbsp;&nbsp;&nbsp;{code}</td></tr>\r\n</table>\r\n</div>\r\n<div id=\"details-right\">\r\n<table border=\"0\" cellpadding=\"0\" cellspacing=\"0\">\r\n<tr class=\"alt\"><th>Requested URL</th><td>&nbsp;&nbsp;&nbsp;http://{host}:80/pivot/{id}/callflow.aspx</td></tr>\r\n<tr><th>Physical Path</th><td>&nbsp;&nbsp;&nbsp;C:\\inetpub\\wwwroot\\pivot\\{id}\\callflow.aspx</td></tr>\r\n<tr class=\"alt\"><th>Logon Method</th><td>&nbsp;&nbsp;&nbsp;Anonymous</td></tr>\r\n<tr><th>Logon User</th><td>&nbsp;&nbsp;&nbsp;Anonymous</td></tr>\r\n</table>\r\n<div class=\"clear\"></div>\r\n</div>\r\n</fieldset>\r\n</div>\r\n</div>\r\n</body>\r\n</html>\r\n",
        reason = reason(status),
        host = r.host(),
    )
}

pub(super) fn cloudflare(r: &mut Rng, status: u32) -> String {
    let what = match status {
        520 => "Web server is returning an unknown error",
        521 => "Web server is down",
        522 => "Connection timed out",
        523 => "Origin is unreachable",
        _ => "A timeout occurred",
    };
    let ip = if r.chance(70) { r.ipv4() } else { r.ipv6() };
    let host = r.host();
    let t = r.time();
    format!(
        "<!DOCTYPE html>\n<!--[if lt IE 7]> <html class=\"no-js ie6 oldie\" lang=\"en-US\"> <![endif]-->\n<!--[if gt IE 8]><!--> <html class=\"no-js\" lang=\"en-US\"> <!--<![endif]-->\n<head>\n<title>{host} | {status}: {what}</title>\n<meta charset=\"UTF-8\" />\n<meta name=\"robots\" content=\"noindex, nofollow\" />\n<link rel=\"stylesheet\" id=\"cf_styles-css\" href=\"/cdn-cgi/styles/main.css\" />\n<script>(function(){{window._cf_chl_opt={{cRay: '{ray}',cHash: '{hash}'}};}})();</script>\n</head>\n<body>\n<div id=\"cf-wrapper\">\n<div id=\"cf-error-details\" class=\"p-0\">\n<header class=\"mx-auto pt-10 lg:pt-6 lg:px-8 w-240 lg:w-full mb-8\">\n<h1 class=\"inline-block sm:block sm:mb-2 font-light text-60 lg:text-4xl text-black-dark leading-tight mr-2\">\n<span class=\"inline-block\">{what}</span>\n<span class=\"code-label\">Error code {status}</span>\n</h1>\n<div>\nVisit <a href=\"https://www.cloudflare.com/5xx-error-landing?utm_source=errorcode_{status}&utm_campaign={host}\" target=\"_blank\" rel=\"noopener noreferrer\">cloudflare.com</a> for more information.\n</div>\n<div class=\"mt-3\">{time}</div>\n</header>\n<div class=\"my-8 bg-gradient-gray\">\n<div class=\"w-240 lg:w-full mx-auto\">\n<div id=\"cf-host-status\" class=\"cf-error-source\">\n<span class=\"cf-icon-error-container\"></span>\n<span class=\"md:block w-full truncate\">{host}</span>\n<h3 class=\"md:inline-block mt-3 md:mt-0 text-2xl text-gray-600 font-light leading-1.3\">Host</h3>\n<span class=\"leading-1.3 text-2xl text-red-error\">Error</span>\n</div>\n</div>\n</div>\n<div class=\"cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto text-center sm:text-left border-solid border-0 border-t border-gray-300\">\n<p class=\"text-13\">\n<span class=\"cf-footer-item sm:block sm:mb-1\">Cloudflare Ray ID: <strong class=\"font-semibold\">{ray}</strong></span>\n<span class=\"cf-footer-separator sm:hidden\">&bull;</span>\n<span id=\"cf-footer-item-ip\" class=\"cf-footer-item hidden sm:block sm:mb-1\">Your IP: <span class=\"hidden\" id=\"cf-footer-ip\">{ip}</span></span>\n</p>\n</div>\n</div>\n</body>\n</html>\n",
        ray = r.hex(16),
        hash = r.hex(32),
        time = format_args!("{} UTC", t.sql()),
    )
}

pub(super) fn akamai(r: &mut Rng, _: u32) -> String {
    format!(
        "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \nYou don't have permission to access \"http&#58;&#47;&#47;{}&#47;pivot&#47;{}&#47;\" on this server.<P>\nReference&#32;&#35;18&#46;{}&#46;{}&#46;{}\n<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18&#46;{}&#46;{}&#46;{}</P>\n</BODY>\n</HTML>\n",
        r.host(), r.int(1, 99_999), r.hex(8), r.epoch(), r.hex(8), r.hex(8), r.epoch(), r.hex(8)
    )
}

pub(super) fn haproxy(_: &mut Rng, status: u32) -> String {
    let text = match status {
        503 => "No server is available to handle this request.",
        504 => "The server didn't respond in time.",
        _ => "The server returned an invalid or incomplete response.",
    };
    format!(
        "<html><body><h1>{status} {}</h1>\n{text}\n</body></html>\n",
        reason(status)
    )
}

pub(super) fn heroku(_: &mut Rng, _: u32) -> String {
    "<!DOCTYPE html>\n\t<html>\n\t  <head>\n\t\t<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\t\t<meta charset=\"utf-8\">\n\t\t<title>Application Error</title>\n\t\t<style media=\"screen\">\n\t\t  html,body,iframe {\n\t\t\tmargin: 0;\n\t\t\tpadding: 0;\n\t\t  }\n\t\t</style>\n\t  </head>\n\t  <body>\n\t\t<iframe src=\"//www.herokucdn.com/error-pages/application-error.html\"></iframe>\n\t  </body>\n\t</html>".to_owned()
}

pub(super) fn envoy(_: &mut Rng, _: u32) -> String {
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: delayed connect error: 111".to_owned()
}

pub(super) fn gateway_timeout_text(r: &mut Rng, _: u32) -> String {
    let host = r.host();
    match r.int(0, 1) {
        0 => format!(
            "Gateway Timeout: upstream {host} did not respond within {}s",
            r.int(5, 60)
        ),
        _ => format!(
            "Gateway Timeout: upstream {host} did not respond within {}.{}s",
            r.int(0, 59),
            r.int(1, 9)
        ),
    }
}

pub(super) fn maintenance(r: &mut Rng, _: u32) -> String {
    let t = r.time();
    format!(
        "<!DOCTYPE html>\n<html>\n<head><title>Down for maintenance</title></head>\n<body>\n<h1>We&rsquo;ll be back soon!</h1>\n<p>Our IVR platform is undergoing scheduled maintenance until {}. Questions? Write to {} or call {}.</p>\n</body>\n</html>\n",
        t.http(), r.email(), r.phone(1)
    )
}

pub(super) fn access_log_leak(r: &mut Rng, _: u32) -> String {
    let t = r.time();
    format!(
        "{} - - [{}] \"POST {} HTTP/1.1\" 500 {} \"-\" \"Kazoo-Pivot/4.3\"\n{} [error] {}#{}: *{} upstream timed out (110: Connection timed out) while reading response header from upstream, client: {}, server: {}, request: \"POST /pivot HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"{}\"\n",
        r.ipv4(), t.clf(), pivot_path(r, 2), r.int(100, 900), t.nginx(), r.int(100, 9999), r.int(0, 3), r.int(1, 999_999), r.ipv4(), r.host(), r.host()
    )
}
