//! Framework error pages and stack traces (Java, PHP, Python, Node, .NET, Go).

use serde_json::{json, Value};

use super::{pivot_path, reason};
use crate::rng::Rng;

pub(super) fn spring_whitelabel(r: &mut Rng, status: u32) -> String {
    let ws = r.ws();
    format!(
        "<html><body><h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error, so you are seeing this as a fallback.</p>{ws}<div id='created'>{}</div><div>There was an unexpected error (type={}, status={status}).</div><div>Cannot invoke &quot;com.acme.pivot.model.Caller.getNumber()&quot; because the return value of &quot;com.acme.pivot.CallService.lookup(java.lang.String)&quot; is null</div></body></html>",
        r.time().ctime(),
        reason(status)
    )
}

pub(super) fn java_frames(r: &mut Rng) -> String {
    format!(
        "\tat com.acme.pivot.CallController.callflow(CallController.java:{})\n\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke(DirectMethodHandleAccessor.java:103)\n\tat java.base/java.lang.reflect.Method.invoke(Method.java:580)\n\tat org.springframework.web.method.support.InvocableHandlerMethod.doInvoke(InvocableHandlerMethod.java:{})\n\tat org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:{})\n\tat org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:{})\n\tat org.apache.coyote.http11.Http11Processor.service(Http11Processor.java:{})\n\tat java.base/java.lang.Thread.run(Thread.java:1583)\n",
        r.line(), r.line(), r.line(), r.line(), r.line()
    )
}

pub(super) fn spring_json(r: &mut Rng, status: u32) -> String {
    let mut value = json!({
        "timestamp": r.time().iso_ms(),
        "status": status,
        "error": reason(status),
        "path": pivot_path(r, 1),
    });
    value["message"] = Value::String(format!("No callflow for account {}", r.account()));
    r.json(&value)
}

pub(super) fn spring_json_trace(r: &mut Rng, status: u32) -> String {
    let value = json!({
        "timestamp": r.time().iso_ms(),
        "status": status,
        "error": reason(status),
        "trace": format!("java.lang.IllegalStateException: Call {} is already bridged\n{}", r.uuid(), java_frames(r)),
        "message": format!("Call {} is already bridged", r.uuid()),
        "path": pivot_path(r, 3),
    });
    r.json(&value)
}

pub(super) fn tomcat(r: &mut Rng, status: u32) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><title>HTTP Status {status} – {reason}</title><style type=\"text/css\">body {{font-family:Tahoma,Arial,sans-serif;}} h1, h2, h3, b {{color:white;background-color:#525D76;}}</style></head><body><h1>HTTP Status {status} – {reason}</h1><hr class=\"line\" /><p><b>Type</b> Exception Report</p><p><b>Message</b> Request processing failed: java.net.SocketTimeoutException: Read timed out after {}ms</p><p><b>Description</b> The server encountered an unexpected condition that prevented it from fulfilling the request.</p><p><b>Exception</b></p><pre>java.net.SocketTimeoutException: Read timed out\n\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)\n{}</pre><p><b>Note</b> The full stack trace of the root cause is available in the server logs.</p><hr class=\"line\" /><h3>Apache Tomcat/10.1.{}</h3></body></html>",
        r.int(1000, 30_000),
        java_frames(r),
        r.int(5, 34),
        reason = reason(status)
    )
}

pub(super) fn java_plain(r: &mut Rng, _: u32) -> String {
    format!(
        "org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection; nested exception is org.hibernate.exception.JDBCConnectionException: Unable to acquire JDBC Connection\n{}Caused by: java.sql.SQLTransientConnectionException: HikariPool-{} - Connection is not available, request timed out after {}ms.\n\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n\t... {} more\n",
        java_frames(r), r.int(1, 4), r.int(1000, 60_000), r.int(20, 90)
    )
}

pub(super) fn php_fatal(r: &mut Rng, _: u32) -> String {
    let dir = "/var/www/html/pivot";
    let line = r.line();
    format!(
        "<br />\n<b>Fatal error</b>:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in {dir}/db.php:{line}\nStack trace:\n#0 {dir}/db.php({line}): PDO-&gt;__construct('mysql:host={};dbname=pivot', 'pivot', Object(SensitiveParameterValue))\n#1 {dir}/callflow.php({}): connect()\n#2 {{main}}\n  thrown in <b>{dir}/db.php</b> on line <b>{line}</b><br />\n",
        r.ipv4(), r.int(1, 300)
    )
}

pub(super) fn php_warning_json(r: &mut Rng, _: u32) -> String {
    let dir = "/srv/kazoo-ivr";
    format!(
        "<br />\n<b>Warning</b>:  Undefined array key \"Caller-ID-Number\" in <b>{dir}/index.php</b> on line <b>{}</b><br />\n{{\"module\":\"tts\",\"data\":{{\"text\":\"Hello caller {}\"}}}}",
        r.line(), r.int(1, 99_999)
    )
}

pub(super) fn laravel_json(r: &mut Rng, status: u32) -> String {
    let value = json!({
        "message": "SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock; try restarting transaction",
        "exception": "Illuminate\\Database\\QueryException",
        "file": "/var/www/app/vendor/laravel/framework/src/Illuminate/Database/Connection.php",
        "line": r.line(),
        "status": status,
    });
    r.json(&value)
}

pub(super) fn django(r: &mut Rng, _: u32) -> String {
    let path = format!("/pivot/{}/", r.int(1, 99_999));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\">\n  <meta name=\"robots\" content=\"NONE,NOARCHIVE\">\n  <title>KeyError\n          at {path}</title>\n  <style>\n    html * {{ padding:0; margin:0; }}\n    body * {{ padding:10px 20px; }}\n    table.vars {{ margin:5px 10px 2px 40px; }}\n  </style>\n  <script>\n    function hideAll(elems) {{ for (var e = 0; e < elems.length; e++) {{ elems[e].style.display = 'none'; }} }}\n  </script>\n</head>\n<body>\n<div id=\"summary\">\n  <h1>KeyError\n       at {path}</h1>\n  <pre class=\"exception_value\">&#x27;Caller-ID-Number&#x27;</pre>\n  <table class=\"meta\">\n    <tr><th>Request Method:</th><td>POST</td></tr>\n    <tr><th>Request URL:</th><td>http://{host}{path}</td></tr>\n    <tr><th>Django Version:</th><td>4.2.{}</td></tr>\n    <tr><th>Exception Type:</th><td>KeyError</td></tr>\n    <tr><th>Exception Value:</th><td><pre>&#x27;Caller-ID-Number&#x27;</pre></td></tr>\n    <tr><th>Exception Location:</th><td><span class=\"fname\">/usr/local/lib/python3.11/site-packages/django/utils/datastructures.py</span>, line {}, in __getitem__</td></tr>\n    <tr><th>Raised during:</th><td>pivot.views.callflow</td></tr>\n    <tr><th>Python Executable:</th><td>/usr/local/bin/python3</td></tr>\n    <tr><th>Python Version:</th><td>3.11.{}</td></tr>\n    <tr><th>Server time:</th><td>{}</td></tr>\n  </table>\n</div>\n</body>\n</html>\n",
        r.int(0, 16), r.line(), r.int(1, 9),
        r.time().http().replace(" GMT", " +0000"),
        host = r.host(),
    )
}

pub(super) fn python_traceback(r: &mut Rng, _: u32) -> String {
    format!(
        "Traceback (most recent call last):\n  File \"/app/venv/lib/python3.11/site-packages/flask/app.py\", line {}, in full_dispatch_request\n    rv = self.dispatch_request()\n  File \"/app/venv/lib/python3.11/site-packages/flask/app.py\", line {}, in dispatch_request\n    return self.ensure_sync(self.view_functions[rule.endpoint])(**view_args)\n  File \"/app/pivot/views.py\", line {}, in callflow\n    number = request.form[\"Caller-ID-Number\"]\n  File \"/app/venv/lib/python3.11/site-packages/werkzeug/datastructures/structures.py\", line {}, in __getitem__\n    raise exceptions.BadRequestKeyError(key)\nwerkzeug.exceptions.BadRequestKeyError: 400 Bad Request: The browser (or proxy) sent a request that this server could not understand.\nKeyError: 'Caller-ID-Number'\n",
        r.line(), r.line(), r.line(), r.line()
    )
}

pub(super) fn flask_500(_: &mut Rng, _: u32) -> String {
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n".to_owned()
}

pub(super) fn fastapi(r: &mut Rng, _: u32) -> String {
    let field = "Caller-ID-Number";
    let value = json!({"detail": [{"type": "missing", "loc": ["body", field], "msg": "Field required", "input": {"Call-ID": format!("{}@{}", r.hex(16), r.ipv4()), "Request": r.phone(0)}}]});
    r.json(&value)
}

pub(super) fn express(r: &mut Rng, _: u32) -> String {
    let nbsp = " &nbsp; &nbsp;";
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>TypeError: Cannot read properties of undefined (reading &#39;number&#39;)<br>{nbsp}at /srv/pivot/routes/callflow.js:{}:{}<br>{nbsp}at Layer.handle [as handle_request] (/srv/pivot/node_modules/express/lib/router/layer.js:95:5)<br>{nbsp}at next (/srv/pivot/node_modules/express/lib/router/route.js:149:13)<br>{nbsp}at Route.dispatch (/srv/pivot/node_modules/express/lib/router/route.js:119:3)<br>{nbsp}at Function.process_params (/srv/pivot/node_modules/express/lib/router/index.js:346:12)</pre>\n</body>\n</html>\n",
        r.line(), r.int(1, 80)
    )
}

pub(super) fn node_json(r: &mut Rng, _: u32) -> String {
    let ip = r.ipv4();
    let port = r.pick(&["5432", "3306", "6379"]);
    let value = json!({"error": {"message": format!("connect ECONNREFUSED {ip}:{port}"), "code": "ECONNREFUSED", "errno": -111, "syscall": "connect", "address": ip, "port": port.parse::<u32>().unwrap()}});
    r.json(&value)
}

pub(super) fn node_timeout(r: &mut Rng, _: u32) -> String {
    format!(
        "FetchError: request to https://{}/v1/lookup?number=%2B1{} failed, reason: connect ETIMEDOUT {}:443 after {}ms",
        r.host(), r.int(2_000_000_000, 9_999_999_999), r.ipv4(), r.int(1000, 30_000)
    )
}

pub(super) fn dotnet_ysod(r: &mut Rng, _: u32) -> String {
    let line = r.line();
    format!(
        "<!DOCTYPE html>\r\n<html>\r\n    <head>\r\n        <title>Object reference not set to an instance of an object.</title>\r\n        <meta name=\"viewport\" content=\"width=device-width\" />\r\n        <style>\r\n         body {{font-family:\"Verdana\";font-weight:normal;font-size: .7em;color:black;}} \r\n        </style>\r\n    </head>\r\n\r\n    <body bgcolor=\"white\">\r\n\r\n            <span><H1>Server Error in '/' Application.<hr width=100% size=1 color=silver></H1>\r\n\r\n            <h2> <i>Object reference not set to an instance of an object.</i> </h2></span>\r\n\r\n            <font face=\"Arial, Helvetica, Geneva, SunSans-Regular, sans-serif \">\r\n\r\n            <b> Description: </b>An unhandled exception occurred during the execution of the current web request. Please review the stack trace for more information about the error and where it originated in the code.\r\n\r\n            <br><br>\r\n\r\n            <b> Exception Details: </b>System.NullReferenceException: Object reference not set to an instance of an object.<br><br>\r\n\r\n            <b>Source Error:</b> <br><br>\r\n\r\n            <table width=100% bgcolor=\"#ffffcc\">\r\n               <tr>\r\n                  <td>\r\n                      <code><pre>\r\n\r\nLine {}:         var number = Request.Form[&quot;Caller-ID-Number&quot;].Trim();\r\nLine {line}:         return Content(CallflowBuilder.Build(number), &quot;application/json&quot;);</pre></code>\r\n                  </td>\r\n               </tr>\r\n            </table>\r\n\r\n            <br>\r\n\r\n            <b> Source File: </b> C:\\inetpub\\wwwroot\\Pivot\\Controllers\\CallflowController.cs<b> &nbsp;&nbsp; Line: </b> {line}\r\n            <br><br>\r\n\r\n            <b>Stack Trace:</b> <br><br>\r\n\r\n            <table width=100% bgcolor=\"#ffffcc\">\r\n               <tr>\r\n                  <td>\r\n                      <code><pre>\r\n\r\n[NullReferenceException: Object reference not set to an instance of an object.]\r\n   Pivot.Controllers.CallflowController.Index() in C:\\inetpub\\wwwroot\\Pivot\\Controllers\\CallflowController.cs:{line}\r\n   lambda_method(Closure , ControllerBase , Object[] ) +{}\r\n   System.Web.Mvc.ActionMethodDispatcher.Execute(ControllerBase controller, Object[] parameters) +{}\r\n   System.Web.Mvc.Async.AsyncControllerActionInvoker.EndInvokeActionMethod(IAsyncResult asyncResult) +{}\r\n</pre></code>\r\n                  </td>\r\n               </tr>\r\n            </table>\r\n\r\n            <br>\r\n\r\n            <hr width=100% size=1 color=silver>\r\n\r\n            <b>Version Information:</b>&nbsp;Microsoft .NET Framework Version:4.0.30319; ASP.NET Version:4.8.{}\r\n\r\n            </font>\r\n\r\n    </body>\r\n</html>\r\n",
        line - 1, r.int(10, 200), r.int(10, 200), r.int(10, 200), r.int(4000, 4700)
    )
}

pub(super) fn go_panic(r: &mut Rng, _: u32) -> String {
    format!(
        "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x{:x} pc=0x{}]\n\ngoroutine {} [running]:\nmain.(*Server).callflow(0xc000{}, {{0x7f{}, 0xc000{}}}, 0xc000{})\n\t/app/server.go:{} +0x{:x}\nnet/http.HandlerFunc.ServeHTTP(0xc000{}, {{0x7f{}, 0xc000{}}}, 0xc000{})\n\t/usr/local/go/src/net/http/server.go:2166 +0x29\nnet/http.serverHandler.ServeHTTP({{0xc000{}}}, {{0x7f{}, 0xc000{}}}, 0xc000{})\n\t/usr/local/go/src/net/http/server.go:3210 +0x8e\nnet/http.(*conn).serve(0xc000{}, {{0x7f{}, 0xc000{}}})\n\t/usr/local/go/src/net/http/server.go:2092 +0x5d0\ncreated by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:3360 +0x485\n",
        r.int(8, 255), r.hex(6), r.int(2, 50_000),
        r.hex(6), r.hex(4), r.hex(6), r.hex(6), r.line(), r.int(16, 4000),
        r.hex(6), r.hex(4), r.hex(6), r.hex(6),
        r.hex(6), r.hex(4), r.hex(6), r.hex(6),
        r.hex(6), r.hex(4), r.hex(6),
    )
}
