#!/usr/bin/env python3
"""Browser test of the console's Live view (services/query/console/live.js), Playwright sync API.

The Rust test (services/pivotlog/tests/browser.rs) starts it against a running query
service, waits for the READY file, publishes new records, then writes the expect file:

    .tools/browser/bin/python tests/browser/live.py --base-url http://127.0.0.1:PORT \
        --token TOKEN --account ACCOUNT_ID --ready READY --expect expect.json [--screenshots DIR]

The expect file: {"ids": [every new record's id], "hostile_markers": ["<script>...", ...]}.
Checks: the view follows the tail (status "Following"), every new record appears once,
newest on top, a hostile URI is shown as text, Pause holds rows back and Resume shows
them, the token is never in a URL. Exit 0 when every check passes.
"""
import argparse
import json
import os
import shutil
import sys
import time
import urllib.parse

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

TIMEOUT_MS = 15000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--expect", required=True)
    ap.add_argument("--screenshots")
    args = ap.parse_args()
    failures, requested, errors = [], [], []

    def check(name, ok, detail=""):
        print(("ok: " if ok else "FAIL: ") + name + (f" ({detail})" if detail and not ok else ""), flush=True)
        if not ok:
            failures.append(name)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page.on("request", lambda r: requested.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        acct = urllib.parse.quote(args.account)
        page.goto(f"{args.base_url}/ui/#/accounts/{acct}/live")
        page.fill("#login-token", args.token)
        page.fill("#login-account", args.account)
        page.click("#login-submit")
        page.goto(f"{args.base_url}/ui/#/accounts/{acct}/live?q=*")
        try:
            expect(page.locator("[data-test=live-status]")).to_contain_text("Following")
            check("the Live view follows the tail", True)
        except (PlaywrightTimeout, AssertionError, PlaywrightError) as e:
            check("the Live view follows the tail", False, str(e).splitlines()[0])
            return finish(browser, failures, errors)
        check("the Live view is in the navigation", page.locator("[data-test=nav-live][aria-current=page]").count() == 1)
        with open(args.ready, "w") as f:
            f.write("following\n")

        deadline = time.time() + 120
        while not os.path.exists(args.expect) and time.time() < deadline:
            time.sleep(0.1)
        with open(args.expect) as f:
            exp = json.load(f)
        ids = exp["ids"]

        def shown():
            return page.eval_on_selector_all("[data-test=live-row]", "rows => rows.map(r => r.dataset.id)")

        deadline = time.time() + 60
        while time.time() < deadline and not set(ids) <= set(shown()):
            time.sleep(0.2)
        rows = shown()
        check("every new record appears", set(ids) <= set(rows), f"missing {sorted(set(ids) - set(rows))[:5]}")
        check("each record once", len(rows) == len(set(rows)), f"{len(rows)} rows, {len(set(rows))} ids")
        check("nothing but the new records", set(rows) <= set(ids), f"unexpected {sorted(set(rows) - set(ids))[:5]}")
        order = [rows.index(i) for i in ids if i in rows]
        check("newest on top: the last record published is above the first",
              bool(order) and rows.index(ids[-1]) < rows.index(ids[0]))
        text = page.inner_text("[data-test=live-rows]")
        markers = exp.get("hostile_markers") or []
        check("a hostile URI is shown as text", any(m in text for m in markers), "no marker text in the rows")
        check("no element injected by a hostile URI",
              page.locator("[data-test=live-rows] script, [data-test=live-rows] img, [data-test=live-rows] iframe").count() == 0)
        check("the status counts what was shown", str(len(rows)) in page.inner_text("[data-test=live-status]"))
        if args.screenshots:
            os.makedirs(args.screenshots, exist_ok=True)
            page.screenshot(path=os.path.join(args.screenshots, "live.png"))

        # Pause holds new rows back; Resume shows them.
        page.click("[data-test=live-pause]")
        with open(args.ready, "w") as f:
            f.write("paused\n")
        deadline = time.time() + 60
        more_path = args.expect + ".more"
        while not os.path.exists(more_path) and time.time() < deadline:
            time.sleep(0.1)
        with open(more_path) as f:
            more = json.load(f)["ids"]
        deadline = time.time() + 30
        status = page.locator("[data-test=live-status]")
        while time.time() < deadline and f"{len(rows) + len(more)} records" not in status.inner_text():
            time.sleep(0.2)
        check("while paused, records are counted but not shown", set(more).isdisjoint(shown()),
              status.inner_text())
        page.click("[data-test=live-pause]")
        check("Resume shows the held records", set(more) <= set(shown()))

        leaked = [u for u in requested if args.token in urllib.parse.unquote(u)]
        check("the token is never in a URL", not leaked, leaked[:1])
    return finish(browser, failures, errors)


def finish(browser, failures, errors):
    try:
        browser.close()
    except PlaywrightError:
        pass  # the page's open stream may race the close; the checks are done
    for e in errors:
        print(f"FAIL: console error: {e}", flush=True)
    if failures or errors:
        print(f"\n{len(failures) + len(errors)} check(s) failed", flush=True)
        return 1
    print("\nall live checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
