//! 500 replies: the stack trace or error page each web stack prints when the app crashes.

use rand::Rng;

use super::Reply;
use crate::simulate::accounts::{Account, Stack};
use crate::simulate::random::{pick, Synth};

const PY_ERRORS: [&str; 2] = [
    "psycopg2.OperationalError: could not connect to server: Connection refused (ECONNREFUSED) 10.0.0.5:5432\n\
     \tIs the server running on host \"10.0.0.5\" and accepting\n\tTCP/IP connections on port 5432?\n",
    "redis.exceptions.ConnectionError: Error 111 connecting to 10.0.0.7:6379. Connection refused.\n",
];
const JAVA_EXCEPTIONS: [&str; 2] = [
    "java.lang.NullPointerException: Cannot invoke &quot;com.example.ivr.Menu.getPrompt()&quot; \
     because &quot;menu&quot; is null",
    "com.example.sip.SipException: outbound leg rejected: SIP/2.0 486 Busy Here",
];
const JAVA_FRAMEWORK_FRAMES: [&str; 6] = [
    "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1072)",
    "org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
    "javax.servlet.http.HttpServlet.service(HttpServlet.java:764)",
    "org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:227)",
    "org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:197)",
    "org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1791)",
];
const NODE_FRAMEWORK_FRAMES: [&str; 3] = [
    "    at Layer.handle [as handle_request] (/usr/src/app/node_modules/express/lib/router/layer.js:95:5)\n",
    "    at Protocol._enqueue (/usr/src/app/node_modules/mysql/lib/protocol/Protocol.js:144:48)\n",
    "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n",
];

impl Synth {
    pub(super) fn server_error_reply(&mut self, target: usize, account: &Account) -> Reply {
        match account.stack {
            Stack::PythonNginx => Reply::new(
                account,
                500,
                "text/plain; charset=utf-8",
                self.python_trace(target),
            ),
            Stack::JavaTomcat => {
                Reply::new(account, 500, "text/html;charset=utf-8", self.tomcat_page(target))
            }
            Stack::NodeExpress => {
                Reply::new(account, 500, "text/plain; charset=utf-8", self.node_trace(target))
            }
            Stack::PhpApache => Reply::new(account, 500, "text/html; charset=UTF-8", self.php_fatal(target)),
        }
    }

    fn python_trace(&mut self, target: usize) -> String {
        let app = self.word();
        let site = format!("/srv/{app}/venv/lib/python3.11/site-packages");
        let mut text = format!(
            "Traceback (most recent call last):\n  File \"{site}/flask/app.py\", line 1455, in wsgi_app\n    \
             response = self.full_dispatch_request()\n"
        );
        let error = pick(&mut self.rng, &PY_ERRORS);
        let tail = format!(
            "  File \"{site}/psycopg2/__init__.py\", line 122, in connect\n    \
             conn = _connect(dsn, connection_factory=connection_factory, **kwasync)\n{error}"
        );
        while text.len() + tail.len() < target {
            let (dir, file, func) = (self.word(), self.word(), self.snake());
            let (result, callee, arg, key) = (self.word(), self.snake(), self.word(), self.word());
            text.push_str(&format!(
                "  File \"/srv/{app}/{dir}/{file}.py\", line {}, in {func}\n    {result} = {callee}({arg}, {key}=self.{key})\n",
                self.rng.random_range(10..900)
            ));
        }
        text.push_str(&tail);
        text
    }

    fn tomcat_page(&mut self, target: usize) -> String {
        let exception = pick(&mut self.rng, &JAVA_EXCEPTIONS);
        let mut html = format!(
            "<!doctype html><html lang=\"en\"><head><title>HTTP Status 500 \u{2013} Internal Server Error</title>\
             </head><body><h1>HTTP Status 500 \u{2013} Internal Server Error</h1><hr class=\"line\" />\
             <p><b>Type</b> Exception Report</p><p><b>Message</b> Request processing failed</p>\
             <p><b>Exception</b></p><pre>{exception}\n"
        );
        let tail = "</pre><p><b>Note</b> The full stack trace of the root cause is available in the server logs.</p>\
                    <hr class=\"line\" /><h3>Apache Tomcat/9.0.83</h3></body></html>";
        loop {
            html.push_str(&self.java_frame());
            if html.len() + tail.len() >= target {
                break;
            }
        }
        html.push_str(tail);
        html
    }

    fn java_frame(&mut self) -> String {
        if self.rng.random_bool(0.3) {
            return format!("\tat {}\n", pick(&mut self.rng, &JAVA_FRAMEWORK_FRAMES));
        }
        let (package, class, method) = (self.word(), self.camel(), self.lower_camel());
        format!(
            "\tat com.example.{package}.{class}.{method}({class}.java:{})\n",
            self.rng.random_range(10..600)
        )
    }

    fn node_trace(&mut self, target: usize) -> String {
        let mut text = String::from(
            "Error: connect ECONNREFUSED 127.0.0.1:3306\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\n    --------------------\n",
        );
        while text.len() < target {
            if self.rng.random_bool(0.25) {
                text.push_str(pick(&mut self.rng, &NODE_FRAMEWORK_FRAMES));
                continue;
            }
            let (object, method, dir, file) = (self.camel(), self.lower_camel(), self.word(), self.word());
            let (line, column) = (self.rng.random_range(5..400), self.rng.random_range(3..60));
            text.push_str(&format!(
                "    at {object}.{method} (/usr/src/app/src/{dir}/{file}.js:{line}:{column})\n"
            ));
        }
        text
    }

    fn php_fatal(&mut self, target: usize) -> String {
        let file = format!("{}.php", self.word());
        let line = self.rng.random_range(10..300);
        let (error, first_frame) = if self.rng.random_bool(0.6) {
            (
                "Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused".to_owned(),
                "PDO-&gt;__construct('mysql:host=10.0...', 'ivr', Object(SensitiveParameterValue))"
                    .to_owned(),
            )
        } else {
            let function = self.snake();
            (
                format!("Uncaught Error: Call to undefined function {function}()"),
                format!("{function}()"),
            )
        };
        let mut html = format!(
            "<br />\n<b>Fatal error</b>:  {error} in /var/www/html/{file}:{line}\nStack trace:\n\
             #0 /var/www/html/{file}({line}): {first_frame}\n"
        );
        let mut frame = 1;
        let tail_len = 80 + file.len();
        while html.len() + tail_len < target {
            let (dir, class, method) = (self.word(), self.camel(), self.lower_camel());
            let at = self.rng.random_range(5..500);
            html.push_str(&format!(
                "#{frame} /var/www/html/{dir}/{class}.php({at}): {class}-&gt;{method}(Array)\n"
            ));
            frame += 1;
        }
        html.push_str(&format!(
            "#{frame} {{main}}\n  thrown in <b>/var/www/html/{file}</b> on line <b>{line}</b><br />\n"
        ));
        html
    }
}
