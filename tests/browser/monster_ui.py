"""Monster UI against pivotlog, in a real browser: a page served from another loopback
origin lists an account's calls and opens one with the Kazoo SDK's jQuery calls.

Run by services/pivotlog/tests/browser.rs:
  python monster_ui.py --api http://127.0.0.1:P --token T --account A --expect FILE
                       [--api-without-cors http://127.0.0.1:Q]
where FILE holds {"call_ids": [...newest first...], "records": {call_id: n}}.
Exits 1, saying what failed, when anything does.
"""
import argparse
import functools
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading

from playwright.sync_api import sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
JQUERY = os.path.join(HERE, "..", "..", ".tools", "browser", "node_modules", "jquery", "dist", "jquery.min.js")


def serve_page():
    """The test page, jQuery beside it, on a free loopback port (another origin)."""
    root = tempfile.mkdtemp(prefix="monster-ui-")
    for name in ("monster_ui.html", "monster_ui.js"):
        shutil.copy(os.path.join(HERE, name), root)
    shutil.copy(JQUERY, root)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--expect", required=True)
    parser.add_argument("--api-without-cors", help="the same data served with --cors-origins none")
    args = parser.parse_args()
    expect = json.load(open(args.expect))
    failures = []

    def check(condition, what):
        if not condition:
            failures.append(what)

    server = serve_page()
    page_url = "http://127.0.0.1:%d/monster_ui.html" % server.server_address[1]
    assert not page_url.startswith(args.api), "the page must be on another origin"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page()
        console_errors = []
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.goto(page_url)
        call = lambda fn, *a: page.evaluate("([fn, a]) => window[fn](...a)", [fn, list(a)])

        for version in ("v2", "v1"):
            listed = call("listDebug", args.api, version, args.token, args.account)
            check(listed["ok"] and listed["status"] == 200, "%s listing: %r" % (version, listed.get("status")))
            if listed["ok"]:
                ids = [c["call_id"] for c in listed["body"]["data"]]
                check(ids == expect["call_ids"][: len(ids)] and ids, "%s listing order: %r" % (version, ids[:3]))
                check(listed["requestId"], "X-Request-ID readable cross-origin")
        shown = page.locator("#calls li").count()
        check(shown > 0, "calls shown on the page")

        for call_id, records in expect["records"].items():
            opened = call("getDebug", args.api, "v2", args.token, args.account, call_id)
            check(opened["ok"], "detail of %s: %r" % (call_id, opened.get("status")))
            if opened["ok"]:
                check(len(opened["body"]["data"]) == records,
                      "%s has %d records, expected %d" % (call_id, len(opened["body"]["data"]), records))
                check(all(r["call_id"] == call_id for r in opened["body"]["data"]), "records of %s" % call_id)

        refused = call("listDebug", args.api, "v2", "not-a-token", args.account)
        check(not refused["ok"] and refused["status"] == 401, "a wrong token: %r" % refused.get("status"))
        check(refused["body"] is not None and refused["body"].get("status") == "error",
              "the 401's envelope is parsed (Content-Type exactly application/json)")
        check(page.locator("#error").inner_text().startswith("401"), "the 401 shown")
        # The same calls to a service that allows no other origin fail in the browser
        # (status 0): the preflight is what lets them through.
        if args.api_without_cors:
            blocked = call("listDebug", args.api_without_cors, "v2", args.token, args.account)
            check(not blocked["ok"] and blocked["status"] == 0, "without CORS: %r" % blocked.get("status"))
        # A refused request logs one network error line in Chromium's console; nothing else may.
        unexpected = [e for e in console_errors
                      if "401" not in e and not (args.api_without_cors and "CORS" in e)
                      and "net::ERR_FAILED" not in e]
        check(not unexpected, "browser console errors: %r" % unexpected)
        browser.close()
    server.shutdown()
    if failures:
        print("monster_ui.py: FAILED\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("monster_ui.py: ok (%d calls listed, %d opened)" % (shown, len(expect["records"])))


if __name__ == "__main__":
    main()
