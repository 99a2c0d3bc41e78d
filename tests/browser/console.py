#!/usr/bin/env python3
"""Browser test of the pivotlog console (services/query/console), Playwright sync API.

Run with the Playwright venv against a running query service:

    /work/main/.tools/browser/bin/python tests/browser/console.py \
        --base-url http://127.0.0.1:PORT --token TOKEN --account ACCOUNT_ID \
        --wrong-token WRONG --expect expect.json [--screenshots DIR]

The expect file (written by the Rust test from the same data):
    {"calls": [{"debug_id", "call_id", "iterations": [{"iteration", "status_code", "body_contains"}]}],
     "search": {"q", "hit_debug_id", "total_hits"},
     "hostile_debug_id": "...", "hostile_markers": ["<script>...", ...],
     "signatures": {"count_at_least": N}}
"signatures" is optional: without it the landing Signatures view is still checked (rows,
sparklines, sorting, a row opening its search), only the row count is not.

Exit 0 when every check passes; otherwise print each failed check and exit 1.
"""
import argparse
import json
import os
import re
import shutil
import sys
import time
import urllib.parse

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

TIMEOUT_MS = 15000  # the machine may be busy building: be patient, but bounded
SLOW_TIMEOUT_MS = 60000  # the hostile call carries a 5 MB body
PAGE_SIZE = 50  # the console's listing page size


class CheckFailed(Exception):
    pass


def norm(text):
    """Whitespace removed: pretty-printing only adds or changes whitespace."""
    return re.sub(r"\s+", "", text)


def contains_text(haystack, needle):
    return needle in haystack or norm(needle) in norm(haystack)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:18080")
    ap.add_argument("--token", required=True)
    ap.add_argument("--account", required=True)
    ap.add_argument("--wrong-token", required=True)
    ap.add_argument("--expect", required=True, help="JSON file of expected data")
    ap.add_argument("--screenshots", help="directory for signatures.png, calls.png, timeline.png, search.png, login.png, hostile.png")
    ap.add_argument("--headed", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    with open(args.expect, encoding="utf-8") as f:
        exp = json.load(f)
    base = args.base_url.rstrip("/")
    acct = args.account
    token = args.token
    failures = []
    console_errors = []
    requested = []
    # Network-error log lines the browser itself prints for responses we provoke on
    # purpose (the wrong token's 401, the malformed query's 400): allowed only while
    # the step that provokes them runs.
    allowed = {"statuses": set()}
    sandbox_frame_msgs = []

    def fail(msg):
        failures.append(msg)
        print(f"FAIL: {msg}", flush=True)

    def ok(msg):
        print(f"ok: {msg}", flush=True)

    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)

    def shot(page, name):
        if args.screenshots:
            page.screenshot(path=os.path.join(args.screenshots, name), full_page=False)

    def on_console(msg):
        if msg.type not in ("error", "assert"):
            return
        text = msg.text
        loc = msg.location or {}
        m = re.match(r"Failed to load resource: the server responded with a status of (\d+)", text)
        if m and int(m.group(1)) in allowed["statuses"]:
            return
        # Messages from inside the sandboxed rendering of a hostile HTML body (the browser
        # refusing its scripts and images) prove the sandbox works; they are not the console's.
        if loc.get("url", "") == "about:srcdoc" or "about:srcdoc" in text:
            sandbox_frame_msgs.append(text)
            return
        console_errors.append(f"console {msg.type}: {text} ({loc.get('url', '')}:{loc.get('lineNumber', '')})")

    def hash_url(fragment):
        return f"{base}/ui/#{fragment}"

    def enc(x):
        return urllib.parse.quote(x, safe="")

    def hash_query(page):
        """The view path and the query of the page's URL hash."""
        frag = urllib.parse.urlsplit(page.url).fragment
        path, _, qs = frag.partition("?")
        return path, {k: v[0] for k, v in urllib.parse.parse_qs(qs).items()}

    def fresh_signatures(page):
        """Waits for a signatures table drawn after the stale mark (set by mark_stale)."""
        page.wait_for_function(
            "() => { const t = document.querySelector('#signatures-table'); return (t && !t.dataset.stale && t.querySelector('tr[data-test=signature-row]')) || document.querySelector('#view [data-test=error]') || document.querySelector('#view [data-test=empty]'); }")
        if page.locator("#view [data-test=error]").count():
            raise CheckFailed("signatures: " + page.locator("#view [data-test=error]").first.inner_text())
        if not page.locator("tr[data-test=signature-row]").count():
            raise CheckFailed("the signatures view shows no row")

    def mark_stale(page):
        page.evaluate("() => { const t = document.querySelector('#signatures-table'); if (t) t.dataset.stale = '1'; }")

    def sig_rows(page):
        return page.eval_on_selector_all(
            "tr[data-test=signature-row]",
            "els => els.map(e => ({sig: e.dataset.signature, records: e.querySelector('[data-test=sig-records]').textContent, last_seen: Number(e.dataset.lastSeen), spark: e.querySelectorAll('svg[data-test=sparkline]').length}))")

    def row_ids(page):
        return page.eval_on_selector_all("tr[data-test=call-row]", "els => els.map(e => e.dataset.debugId)")

    def wait_first_row(page, debug_id, what):
        try:
            page.wait_for_function(
                "id => { const r = document.querySelector('tr[data-test=call-row]'); return r && r.dataset.debugId === id; }",
                arg=debug_id, timeout=TIMEOUT_MS)
        except PlaywrightTimeout:
            ids = row_ids(page)
            raise CheckFailed(f"{what}: expected first row {debug_id}, got {ids[:3]}")

    def step(name, fn, fatal=False):
        try:
            fn()
            ok(name)
            return True
        except (CheckFailed, PlaywrightTimeout, PlaywrightError, AssertionError) as e:
            fail(f"{name}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            if fatal:
                raise
            return False

    calls = exp.get("calls") or []
    search = exp.get("search") or {}
    sigs = exp.get("signatures") or {}
    hostile_id = exp.get("hostile_debug_id")
    markers = exp.get("hostile_markers") or []
    if len(calls) < PAGE_SIZE + 1:
        fail(f"expect file: {len(calls)} calls, need at least {PAGE_SIZE + 1} for paging")
    if not hostile_id:
        fail("expect file: hostile_debug_id is missing")
    if not markers:
        fail("expect file: hostile_markers is missing or empty")
    if not search.get("q") or not search.get("hit_debug_id"):
        fail("expect file: search.q / search.hit_debug_id missing")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"], headless=not args.headed)
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page.on("console", on_console)
        page.on("pageerror", lambda e: console_errors.append(f"page error: {e}"))
        page.on("request", lambda r: requested.append(r.url))
        content = page.locator("#view")

        # --- login screen, wrong token -------------------------------------------------
        def login_wrong():
            page.goto(hash_url(f"/accounts/{acct}"))
            expect(page.locator("#login-view")).to_be_visible()
            got = page.input_value("#login-account")
            if got != acct:
                raise CheckFailed(f"account not prefilled from the URL hash: {got!r}")
            allowed["statuses"].add(401)
            page.fill("#login-token", args.wrong_token)
            page.click("#login-submit")
            err = page.locator("#login-error")
            expect(err).to_be_visible()
            expect(err).not_to_have_text("")
            page.wait_for_timeout(300)
            allowed["statuses"].discard(401)
            if not page.locator("#login-view").is_visible() or page.locator("#view").is_visible():
                raise CheckFailed("left the login screen with a wrong token")
            if page.evaluate("() => sessionStorage.getItem('pivotlog.token')") is not None:
                raise CheckFailed("a refused token was stored")
            shot(page, "login.png")
        step("wrong token refused with a message, stays on login", login_wrong)

        # --- login -------------------------------------------------------------------
        def login():
            page.fill("#login-token", token)
            page.fill("#login-account", acct)
            page.click("#login-submit")
            expect(page.locator("tr[data-test=signature-row], #view [data-test=empty], #view [data-test=error]").first).to_be_visible()
        try:
            step("log in", login, fatal=True)
        except Exception:
            return finish(failures, console_errors)

        # --- signatures (the landing view) ------------------------------------------------
        def landing():
            path, _ = hash_query(page)
            if path != f"/accounts/{acct}/signatures":
                raise CheckFailed(f"landed on #{path}, not the signatures view")
            expect(page.locator("#view h1").first).to_have_text("Signatures")
            first_nav = page.eval_on_selector("#nav", "n => n.querySelector('a').id")
            if first_nav != "nav-signatures":
                raise CheckFailed(f"first navigation link is {first_nav}")
            expect(page.locator("#nav-signatures")).to_have_attribute("aria-current", "page")
            fresh_signatures(page)
            rows = sig_rows(page)
            if "count_at_least" in sigs and len(rows) < int(sigs["count_at_least"]):
                raise CheckFailed(f"{len(rows)} signature rows, expected at least {sigs['count_at_least']}")
            no_spark = [r["sig"] for r in rows if r["spark"] != 1]
            if no_spark:
                raise CheckFailed(f"rows without a sparkline svg: {no_spark[:3]}")
            if page.locator("tr[data-test=signature-row] svg[data-test=sparkline] rect").count() < 1:
                raise CheckFailed("no sparkline has a bar")
            bad = [r["sig"] for r in rows if not re.fullmatch(r"[0-9a-f]{16}", r["sig"] or "")]
            if bad:
                raise CheckFailed(f"signature ids not 16 hex: {bad[:3]}")
            recs = [int(r["records"]) for r in rows]
            if recs != sorted(recs, reverse=True):
                raise CheckFailed(f"default sort is not by records: {recs[:10]}")
            sample = page.locator("tr[data-test=signature-row] a[data-test=sig-sample]").first
            if "/calls/" not in (sample.get_attribute("href") or ""):
                raise CheckFailed("the sample link does not open a call's timeline")
            shot(page, "signatures.png")
        step("landing view: signatures with sparklines, most records first", landing)

        def sig_sort():
            mark_stale(page)
            page.select_option("#sig-sort", "last_seen")
            page.wait_for_function("() => location.hash.includes('sort=last_seen')")
            fresh_signatures(page)
            seen = [r["last_seen"] for r in sig_rows(page)]
            if seen != sorted(seen, reverse=True):
                raise CheckFailed(f"sort=last_seen rows are not newest first: {seen[:10]}")
            if page.input_value("#sig-sort") != "last_seen":
                raise CheckFailed("the sort selector does not show last_seen")
            mark_stale(page)
            page.select_option("#sig-sort", "records")
            page.wait_for_function("() => !location.hash.includes('sort=')")
            fresh_signatures(page)
        step("signatures: sort by last seen, then back to records", sig_sort)

        def sig_opens_search():
            row = page.locator("tr[data-test=signature-row]").first
            sig = row.get_attribute("data-signature")
            records = row.locator("[data-test=sig-records]").inner_text().strip()
            row.locator("td").nth(2).click()  # the row, not a link in it
            page.wait_for_function("() => location.hash.includes('/search')")
            path, q = hash_query(page)
            if path != f"/accounts/{acct}/search" or q.get("q") != f"signature:{sig}":
                raise CheckFailed(f"opened #{path} q={q.get('q')!r}, expected q=signature:{sig}")
            total = page.locator("#search-total")
            expect(total).to_have_text(re.compile(rf"^{re.escape(records)} hits? "))
            expect(page.locator("li[data-test=search-hit]").first).to_be_visible()
            other = page.eval_on_selector_all("li[data-test=search-hit]", "(els, s) => els.filter(e => e.dataset.signature !== s).length", sig)
            if other:
                raise CheckFailed(f"{other} hits of another signature")
        step("a signature row opens its search: q=signature:ID, hit count = the row's records", sig_opens_search)

        def sig_keyboard():
            page.click("#nav-signatures")
            fresh_signatures(page)
            first = page.locator("tr[data-test=signature-row]").first.get_attribute("data-signature")
            page.locator("#view h1").first.click()
            page.keyboard.press("j")
            page.keyboard.press("j")
            page.keyboard.press("k")
            expect(page.locator("tr[data-test=signature-row]").first).to_have_class(re.compile(r"\bselected\b"))
            page.keyboard.press("Enter")
            page.wait_for_function("() => location.hash.includes('/search')")
            _, q = hash_query(page)
            if q.get("q") != f"signature:{first}":
                raise CheckFailed(f"Enter opened q={q.get('q')!r}, expected signature:{first}")
            expect(page.locator("#search-total")).to_contain_text("hit")
        step("signatures keyboard: j/k select, Enter opens the search", sig_keyboard)

        # --- listing, paging ------------------------------------------------------------
        def listing():
            page.goto(hash_url(f"/accounts/{acct}/calls"))
            wait_first_row(page, calls[0]["debug_id"], "newest call first")
            ids = row_ids(page)
            want = [c["debug_id"] for c in calls[:PAGE_SIZE]]
            if len(ids) != len(want):
                raise CheckFailed(f"first page has {len(ids)} rows, expected {len(want)}")
            if ids != want:
                bad = next(i for i, (a, b) in enumerate(zip(ids, want)) if a != b)
                raise CheckFailed(f"row {bad} is {ids[bad]}, expected {want[bad]}")
            shot(page, "calls.png")
        step("listing: newest call first, a full page in order", listing)

        def paging():
            page.click("#next-page")
            wait_first_row(page, calls[PAGE_SIZE]["debug_id"], "next page")
            ids = row_ids(page)
            want = [c["debug_id"] for c in calls[PAGE_SIZE:2 * PAGE_SIZE]]
            if ids[:len(want)] != want:
                raise CheckFailed(f"next page rows differ from the expected calls {PAGE_SIZE}..")
            expect(page.locator("#prev-page")).to_be_enabled()
            page.click("#prev-page")
            wait_first_row(page, calls[0]["debug_id"], "previous page")
            expect(page.locator("#prev-page")).to_be_disabled()
        step("next page then previous page", paging)

        def keyboard_list():
            page.locator("#view h1").first.click()  # focus out of any control
            page.keyboard.press("j")
            page.keyboard.press("j")
            expect(page.locator("tr[data-test=call-row].selected")).to_have_count(1)
            page.keyboard.press("k")
            page.keyboard.press("k")  # at the top whatever the start: row 0
            expect(page.locator("tr[data-test=call-row]").first).to_have_class(re.compile(r"\bselected\b"))
            page.keyboard.press("Enter")
            expect(page.locator("[data-test=timeline-id]")).to_have_text(calls[0]["debug_id"])
            page.keyboard.press("Escape")
            expect(page.locator("tr[data-test=call-row]").first).to_be_visible()
            wait_first_row(page, calls[0]["debug_id"], "back to the listing with Escape")
        step("keyboard: j selects, Enter opens, Escape goes back", keyboard_list)

        def status_filter():
            auto = page.locator("#auto-refresh")
            if auto.is_checked():
                raise CheckFailed("auto-refresh is on by default")
            page.select_option("#status-filter", "ge400")
            expect(page.locator("[data-test=filter-note]")).to_be_visible()
            page.wait_for_function("() => document.querySelector('tr[data-test=call-row]') || document.querySelector('[data-test=empty]') || document.querySelector('#view [data-test=error]')")
            if page.locator("#view [data-test=error]").count():
                raise CheckFailed("status filter: " + page.locator("#view [data-test=error]").first.inner_text())
            codes = page.eval_on_selector_all("tr[data-test=call-row] td:nth-child(3) .status", "els => els.map(e => e.textContent)")
            bad = [c for c in codes if not (c.isdigit() and int(c) >= 400)]
            if bad:
                raise CheckFailed(f"status filter >= 400 shows rows with status {bad[:5]}")
            page.select_option("#status-filter", "")
            wait_first_row(page, calls[0]["debug_id"], "filter removed")
        step("status filter (search-backed): only matching calls, then back to all", status_filter)

        # --- timelines -------------------------------------------------------------------
        def open_timeline(debug_id, timeout=TIMEOUT_MS):
            page.goto(hash_url(f"/accounts/{acct}/calls/{enc(debug_id)}"))
            expect(page.locator("[data-test=timeline-id]")).to_have_text(debug_id)
            expect(page.locator("section[data-test=iteration]").first).to_be_visible(timeout=timeout)

        checked = 0
        first_shot = True
        for c in calls:
            its = c.get("iterations") or []
            if not its:
                continue
            checked += 1

            def check_call(c=c, its=its):
                nonlocal first_shot
                open_timeline(c["debug_id"])
                for it in its:
                    sec = page.locator(f"section[data-test=iteration][data-iteration='{it['iteration']}']")
                    expect(sec).to_be_visible()
                    statuses = [s.strip() for s in sec.locator("[data-test=resp-status]").all_inner_texts()]
                    if str(it["status_code"]) not in statuses:
                        raise CheckFailed(f"iteration {it['iteration']}: status {it['status_code']} not shown (shown: {statuses})")
                    want = it.get("body_contains")
                    if want and not contains_text(sec.inner_text(), want):
                        raise CheckFailed(f"iteration {it['iteration']}: body text {want[:60]!r} not shown")
                if first_shot:
                    shot(page, "timeline.png")
                    first_shot = False
            step(f"timeline of {c['debug_id']}: {len(its)} iteration(s), statuses and bodies", check_call)
        if checked == 0:
            fail("expect file: no call has iterations to check")

        def timeline_signature():
            c = next(c for c in calls if c.get("iterations"))
            open_timeline(c["debug_id"])
            link = page.locator("section[data-test=iteration] a[data-test=signature-link]").first
            expect(link).to_be_visible()
            sig = link.inner_text().split()[-1]
            link.click()
            page.wait_for_function("() => location.hash.includes('/search')")
            _, q = hash_query(page)
            if q.get("q") != f"signature:{sig}":
                raise CheckFailed(f"the signature link opened q={q.get('q')!r}")
            expect(page.locator("li[data-test=search-hit]").first).to_be_visible()
            other = page.eval_on_selector_all("li[data-test=search-hit]", "(els, s) => els.filter(e => e.dataset.signature !== s).length", sig)
            if other:
                raise CheckFailed(f"{other} hits of another signature")
        step("a response's signature in the timeline opens its records' search", timeline_signature)

        # --- search ---------------------------------------------------------------------
        def slash_focuses_search():
            page.locator("#view h1").first.click()
            page.keyboard.press("/")
            page.wait_for_function("() => document.activeElement && document.activeElement.id === 'search-q'")
        step("keyboard: / focuses the search box", slash_focuses_search)

        def do_search():
            q = search["q"]
            page.fill("#search-q", q)
            page.press("#search-q", "Enter")
            total = page.locator("#search-total")
            expect(total).to_contain_text("hit")
            if "total_hits" in search:
                expect(total).to_contain_text(f"{search['total_hits']} hit")
            hits = page.locator("li[data-test=search-hit]")
            expect(hits.first).to_be_visible()
            n = hits.count()
            if n < 1 or n > PAGE_SIZE:
                raise CheckFailed(f"{n} hits shown")
            marks = page.locator("li[data-test=search-hit] mark")
            if marks.count() < 1:
                raise CheckFailed("no <mark> in the snippets")
            words = [w.lower() for w in re.findall(r"[A-Za-z0-9]+", q)]
            mt = marks.first.inner_text().lower()
            if words and not any(w in mt for w in words):
                raise CheckFailed(f"first <mark> is {mt!r}, not a query word")
            expect(page.locator(f"li[data-test=search-hit][data-debug-id='{search['hit_debug_id']}']").first).to_be_visible()
            if page.locator("li[data-test=search-hit] a[data-test=hit-signature]").count() < 1:
                raise CheckFailed("no hit shows its signature")
            chart = page.locator("svg[data-test=search-chart]")
            expect(chart).to_be_visible()
            bars = chart.locator("rect.bar")
            expect(bars.first).to_be_attached()
            if chart.locator("text").count() < 3:
                raise CheckFailed("chart has no axis labels")
            expect(page.locator("[data-test=chart-legend] li").first).to_be_visible()
            shot(page, "search.png")
        step(f"search {search.get('q')!r}: hit count, hits with <mark>, chart with bars", do_search)

        def follow_hit():
            hid = search["hit_debug_id"]
            page.locator(f"li[data-test=search-hit][data-debug-id='{hid}'] a[data-test=hit-link]").first.click()
            expect(page.locator("[data-test=timeline-id]")).to_have_text(hid)
            expect(page.locator("section[data-test=iteration]").first).to_be_visible()
            if search.get("q") and not contains_text(content.inner_text().lower(), search["q"].lower().strip('"')):
                raise CheckFailed("the hit's call does not show the searched text")
        step("a hit opens its call's timeline", follow_hit)

        def syntax_error():
            allowed["statuses"].add(400)
            bad = "error account_id:x"
            page.goto(hash_url(f"/accounts/{acct}/search?q={enc(bad)}"))
            box = page.locator("#search-error")
            expect(box).to_be_visible()
            expect(box.locator("[data-test=search-error-message]")).not_to_have_text("")
            caret = box.locator("[data-test=search-error-caret]")
            expect(caret).to_be_visible()
            lines = caret.inner_text().split("\n")
            if len(lines) < 2 or lines[1].rstrip() != " " * 6 + "^":
                raise CheckFailed(f"caret not under byte 6: {lines!r}")
            page.wait_for_timeout(200)
            allowed["statuses"].discard(400)
        step("malformed query: message and caret under the position", syntax_error)

        # --- hostile bodies -----------------------------------------------------------
        def hostile():
            if not hostile_id:
                raise CheckFailed("no hostile_debug_id in the expect file")
            open_timeline(hostile_id, timeout=SLOW_TIMEOUT_MS)
            content.locator("details").evaluate_all("els => els.forEach(d => { d.open = true; })")  # headers too
            text = content.inner_text()
            missing = [m for m in markers if not contains_text(text, m)]
            if missing:
                raise CheckFailed(f"markers not shown as text: {missing}")
            if page.evaluate("() => typeof window.__pwned") != "undefined":
                raise CheckFailed("window.__pwned is set: a body ran")
            n = content.locator("script, img, [onerror], iframe:not([sandbox=''])").count()
            if n:
                raise CheckFailed(f"{n} script/img/onerror/unsandboxed iframe elements in the content area")
            n = page.locator("a[href^='javascript:' i], a[href^='data:' i], a[href^='vbscript:' i]").count()
            if n:
                raise CheckFailed(f"{n} links with a dangerous scheme")
            expect(content.locator("[data-test=body-truncated]").first).to_be_visible()
            t0 = time.monotonic()
            page.evaluate("() => document.querySelectorAll('*').length")
            dt = time.monotonic() - t0
            if dt > 2:
                raise CheckFailed(f"page unresponsive: evaluate took {dt:.1f} s")
            longest = page.evaluate("() => Math.max(...[...document.querySelectorAll('#view pre')].map(p => p.textContent.length))")
            if longest > 1024 * 1024:
                raise CheckFailed(f"a body of {longest} characters was put in the page untruncated")
            shot(page, "hostile.png")
            # copy as curl: to the clipboard, or a selected textarea holding the command as text
            page.locator("[data-test=copy-curl]").first.click()
            page.wait_for_selector("[data-test=curl-copied], [data-test=curl-text]")
            ta = content.locator("[data-test=curl-text]")
            if ta.count():
                val = ta.first.input_value()
                if not val.startswith("curl ") or "hostile" not in val and "http" not in val:
                    raise CheckFailed(f"curl fallback text is {val[:80]!r}")
        step("hostile call: markers inert as text, nothing ran, 5 MB body truncated, page responsive", hostile)

        def hostile_render():
            btn = content.locator("[data-test=render-html]")
            if btn.count() == 0:
                raise CheckFailed("no HTML body with a render button in the hostile call")
            btn.first.click()
            frame = content.locator("iframe[data-test=html-frame]").first
            expect(frame).to_be_attached()
            sb = frame.get_attribute("sandbox")
            if sb != "":
                raise CheckFailed(f"frame sandbox is {sb!r}, not ''")
            page.wait_for_timeout(500)
            if page.evaluate("() => typeof window.__pwned") != "undefined":
                raise CheckFailed("window.__pwned is set after rendering")
            t0 = time.monotonic()
            page.evaluate("() => 1")
            if time.monotonic() - t0 > 2:
                raise CheckFailed("page unresponsive after rendering")
        step("hostile HTML rendered only in a sandbox='' frame, nothing ran", hostile_render)

        # --- token hygiene ---------------------------------------------------------------
        def token_hygiene():
            if token in page.url:
                raise CheckFailed("token in page.url")
            leaked = [u for u in requested if token in u or enc(token) in u]
            if leaked:
                raise CheckFailed(f"token in {len(leaked)} requested URL(s), e.g. {leaked[0][:80]}")
            ls = page.evaluate("() => Object.keys(localStorage).map(k => localStorage.getItem(k))")
            if any(token in (v or "") for v in ls):
                raise CheckFailed("token in localStorage")
            ss = page.evaluate("() => Object.keys(sessionStorage).map(k => sessionStorage.getItem(k))")
            if token not in ss:
                raise CheckFailed("token not in sessionStorage")
        step("token only in sessionStorage: not in URLs, requests or localStorage", token_hygiene)

        def theme():
            before = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            page.click("#theme-toggle")  # auto -> light
            page.click("#theme-toggle")  # light -> dark
            if page.evaluate("() => document.documentElement.dataset.theme") != "dark":
                raise CheckFailed("theme toggle did not select dark")
            dark = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            page.click("#theme-toggle")  # dark -> auto
            page.click("#theme-toggle")  # auto -> light
            light = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            if dark == light:
                raise CheckFailed(f"dark and light backgrounds are the same ({dark}, was {before})")
            if page.evaluate("() => sessionStorage.getItem('pivotlog.theme')") != "light":
                raise CheckFailed("theme not kept in sessionStorage")
        step("light/dark toggle", theme)

        def sign_out():
            page.click("#sign-out")
            expect(page.locator("#login-view")).to_be_visible()
            if page.evaluate("() => sessionStorage.getItem('pivotlog.token')") is not None:
                raise CheckFailed("token still in sessionStorage after sign out")
            if page.locator("tr[data-test=call-row]").count():
                raise CheckFailed("data still shown after sign out")
        step("sign out clears the token", sign_out)

        browser.close()
    if sandbox_frame_msgs:
        print(f"note: {len(sandbox_frame_msgs)} message(s) from inside the sandboxed frame (expected: it blocks the hostile body):", flush=True)
        for m in sandbox_frame_msgs:
            print(f"  {m[:200]}", flush=True)
    return finish(failures, console_errors)


def finish(failures, console_errors):
    for e in console_errors:
        failures.append(e)
        print(f"FAIL: {e}", flush=True)
    if failures:
        print(f"\n{len(failures)} check(s) failed", flush=True)
        return 1
    print("\nall console checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
