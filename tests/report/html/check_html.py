#!/usr/bin/env python3
"""check_html.py - runs html_report, then opens the page it wrote in Debian's headless Chromium, driven
through the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, one JSON
message per NUL-terminated chunk), and checks what a reader sees: the page draws without script
errors, a plot per process with heap and RSS lines and the peak marked where the heap peaks, a flame
graph frame per function of the peak that zooms on click, the leak table with markup in names shown
as text, and no fetch beyond the file itself. Saves report.png beside the page.
With --tool and --no-summary TRACE it checks instead the page `ptmem-report --format html` makes of
a trace cut short (no summary line): duration, allocations and peak heap are unknown there, and the
summary cards must say so with a dash, not show 0.
Exit 77 (skip) when chromium is not installed."""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 60

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe"]


class Browser:
    """A Chromium process and one page session, spoken to over the DevTools pipe."""

    def __init__(self, chromium, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # The protocol's fds are 3 and 4 exactly: the shell moves our pipe ends there.
        redirect = 'exec "$0" "$@" 3<&%d 4>&%d' % (to_chrome_r, from_chrome_w)
        self.proc = subprocess.Popen(["sh", "-c", redirect, chromium] + CHROMIUM_FLAGS +
                                     ["--user-data-dir=" + profile, "about:blank"],
                                     pass_fds=(to_chrome_r, from_chrome_w),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s failed: %s" % (method, reply["error"]))
                return reply.get("result", {})

    def receive(self):
        """The next message; events are kept in self.events on the way."""
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise RuntimeError("no answer from chromium in %d s" % TIMEOUT_S)
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe: " + self.proc.stderr.read().decode()[-2000:])
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        msg = json.loads(raw)
        if "method" in msg:
            self.events.append(msg)
        return msg

    def close(self):
        try:
            self.send("Browser.close", session=False)
        except RuntimeError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# Runs in the page: everything the checks look at, as plain data.
PROBE = r"""(() => {
  const q = (sel, root) => [...(root || document).querySelectorAll(sel)];
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
  const points = (path) => (path.getAttribute('d').match(/-?[0-9.]+,-?[0-9.]+/g) || [])
      .map((p) => p.split(',').map(Number));
  const flameWidth = document.getElementById('flame').getBoundingClientRect().width;
  return {
    rendered: document.body.dataset.rendered === 'true',
    title: document.title,
    heading: text('#title'),
    subtitle: text('#subtitle'),
    gate: text('#gate'),
    gateClass: document.querySelector('#gate .gate').className,
    cards: q('.card').map((c) => c.textContent),
    processes: q('#process-table tbody tr').map((tr) => [...tr.cells].map((td) => td.textContent)),
    kinds: q('#kind-table tbody tr').map((tr) => [...tr.cells].map((td) => td.textContent)),
    plots: q('svg.plot').map((svg) => ({
      heap: q('path.heap', svg).map(points),
      rss: q('path.rss', svg).map(points),
      peak: q('.peak-marker circle', svg).map((c) => [+c.getAttribute('cx'), +c.getAttribute('cy')]),
      peakLabel: q('.peak-marker text', svg).map((t) => t.textContent),
      labels: q('text', svg).map((t) => t.textContent),
      heading: svg.parentNode.querySelector('h3').textContent,
    })),
    flame: q('#flame .frame').map((d) => ({name: d.textContent, title: d.title,
      width: d.getBoundingClientRect().width / flameWidth, ancestor: d.classList.contains('ancestor')})),
    leaks: q('#leak-table tbody tr.leak').map((tr) => ({
      cells: [...tr.cells].map((td) => td.textContent),
      suppressed: tr.classList.contains('suppressed'),
      top: q('.top-frames code', tr).map((c) => c.textContent),
      stack: q('ol.stack code', tr).map((c) => c.textContent),
    })),
    showAll: text('#leak-table button.show-all'),
    injected: q('img').length + q('script').length - 2 + (window.pwned ? 1 : 0),
  };
})()"""


def evaluate(browser, expression):
    result = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
    if "exceptionDetails" in result:
        raise RuntimeError("probe failed: %s" % result["exceptionDetails"])
    return result["result"].get("value")


def wait_loaded(browser, url):
    """Until the report (not the first about:blank) has loaded and its script has run."""
    ready = "document.URL === %s && document.readyState === 'complete'" % json.dumps(url)
    deadline = time.monotonic() + TIMEOUT_S
    while not evaluate(browser, ready):
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not load in %d s" % (url, TIMEOUT_S))
        time.sleep(0.05)


def click_frame(browser, name):
    return evaluate(browser, "(() => { const f = [...document.querySelectorAll('#flame .frame')]"
                    ".find((d) => d.textContent === %s && !d.classList.contains('ancestor'));"
                    " if (!f) return false; f.click(); return true; })()" % json.dumps(name))


failures = []


def expect(cond, what, got=None):
    if not cond:
        failures.append(what + ("" if got is None else ": got %r" % (got,)))


def check_plots(page):
    expect(len(page["plots"]) == 2, "one plot per process", len(page["plots"]))
    for plot, heading, peak in zip(page["plots"], ['srv<&>"q" (pid 101)', "worker (pid 102)"],
                                   ["peak 3.00 MiB at 1.20 s", "highest sample 768 KiB at 151.0 ms"]):
        expect(plot["heading"] == heading, "plot heading", plot["heading"])
        expect(len(plot["heap"]) == 1 and len(plot["heap"][0]) > 100, "a heap line", [len(p) for p in plot["heap"]])
        expect(len(plot["rss"]) == 1 and len(plot["rss"][0]) > 100, "an RSS line", [len(p) for p in plot["rss"]])
        expect(len(plot["peak"]) == 1, "one peak marker", plot["peak"])
        expect(plot["peakLabel"] == [peak], "peak label", plot["peakLabel"])
        if plot["heap"] and plot["peak"]:
            # The one-sample peak is drawn (not lost to merging) exactly where the marker is.
            top = min(plot["heap"][0], key=lambda p: p[1])
            px, py = plot["peak"][0]
            expect(abs(top[0] - px) < 1.5 and abs(top[1] - py) < 1.5, "heap line peaks at the marker",
                   (top, plot["peak"][0]))
        units = " ".join(plot["labels"])
        expect("MiB" in units or "KiB" in units, "byte units on the y axis", plot["labels"])
        expect(" s" in units or " ms" in units, "time units on the x axis", plot["labels"])
    if page["plots"]:
        expect(len(page["plots"][0]["heap"][0]) <= 2000, "the 5000-sample timeline merged for drawing",
               len(page["plots"][0]["heap"][0]))


FLAME_FUNCTIONS = ['srv<&>"q"[101]', "worker[102]", "main", "std::vector<int>::push_back(int const&)",
                   'a<b>&"c"</script>', "build_index", "operator<", "handle",
                   '<img src=x onerror="window.pwned=1">', "build_list", "make_node"]


def check_flame(page):
    names = [f["name"] for f in page["flame"]]
    for fn in FLAME_FUNCTIONS:
        expect(fn in names, "flame graph frame " + fn, names)
    root = [f for f in page["flame"] if f["name"] == "all"]
    expect(len(root) == 1 and root[0]["width"] > 0.99, "a full-width root frame", root)
    markup = [f for f in page["flame"] if f["name"] == 'a<b>&"c"</script>']
    if markup:  # 2 MiB of the 4 MiB live at the peaks
        expect(abs(markup[0]["width"] - 0.5) < 0.01, "frame width in proportion to bytes", markup[0]["width"])
        expect(markup[0]["title"] == 'a<b>&"c"</script>\n2.00 MiB (50.0% of the heap at the peak)',
               "frame hover title", markup[0]["title"])


def check_leaks(page):
    rows = page["leaks"]
    expect(len(rows) == 4, "four leak rows (one reachable, as --top is 1)", len(rows))
    if len(rows) != 4:
        return
    want = [
        (["definite", "2", "96 B", 'srv<&>"q" (pid 101)', ""],
         ['a<b>&"c"</script> (leak.c:12)', "std::vector<int>::push_back(int const&) (vec.h:50)", "main (main.c:30)"]),
        (["definite", "1", "40 B", 'srv<&>"q" (pid 101), worker (pid 102)', ""],
         ["operator< (cmp.cc:7)", "build_index (index.c:88)", "main (main.c:31)"]),
        (["indirect", "4", "128 B", 'srv<&>"q" (pid 101)', ""],
         ["make_node (list.c:20)", "build_list (list.c:40)", "main (main.c:32)"]),
        (["reachable", "1", "4.00 KiB", 'srv<&>"q" (pid 101)', "libplugin.so"],
         ["cache_init (cache.c:5)", "libplugin.so+0x4f2a", "main (main.c:33)"]),
    ]
    for row, (cells, top) in zip(rows, want):
        expect(row["cells"][:5] == cells, "leak row cells", row["cells"][:5])
        expect(row["top"] == top, "leak row top frames", row["top"])
        expect(len(row["stack"]) == 3, "full stack of 3 frames", row["stack"])
    expect(rows[0]["stack"][:1] == ['a<b>&"c"</script> (src/leak.c:12)'], "full stack with paths", rows[0]["stack"])
    expect([r["suppressed"] for r in rows] == [False, False, False, True], "the suppressed row flagged",
           [r["suppressed"] for r in rows])
    expect(page["showAll"] == "Show 1 more reachable leak", "a button for the reachable leaks beyond --top",
           page["showAll"])


def check_show_all(browser):
    evaluate(browser, "document.querySelector('#leak-table button.show-all').click()")
    page = evaluate(browser, PROBE)
    rows = page["leaks"]
    expect(page["injected"] == 0, "no element or script made from trace text", page["injected"])
    expect(len(rows) == 5 and rows[4]["top"][0] == '<img src=x onerror="window.pwned=1"> (req.c:9)',
           "the button shows the other reachable leak", [r["top"][:1] for r in rows])


def check_source(html):
    """The data block holds no '<' at all, so trace text cannot close the script or open a comment."""
    with open(html, encoding="utf-8") as f:
        source = f.read()
    opening = '<script type="application/json" id="ptmem-data">'
    start = source.index(opening) + len(opening)
    block = source[start:source.index("</script>", start)]
    expect("<" not in block, "no '<' inside the data block")
    expect('a\\u003cb>&\\"c\\"\\u003c/script>' in block, "markup in names escaped in the data block")
    flame = json.loads(block)["flame"]["name"]
    expect("main" in flame and "tiny_alloc" not in flame, "call paths under 1/100000 of the peak left out", flame)


def check_page(page):
    expect(page["rendered"], "the script ran to the end")
    expect(page["title"] == 'ptmem report: srv<&>"q", worker', "document title", page["title"])
    expect(page["heading"] == 'ptmem report: srv<&>"q", worker', "page heading", page["heading"])
    expect(page["subtitle"] == 'srv<&>"q", worker \u2014 from trace.101.json, trace.102.json', "subtitle",
           page["subtitle"])
    expect("failed" in page["gateClass"] and 'in a<b>&"c"</script> (limit 0 B)' in page["gate"],
           "the failed gate with its rule", page["gate"])
    cards = " | ".join(page["cards"])
    for part in ["Duration5.00 s", "Allocations5,7005,690 frees", "Peak heap3.00 MiBat 1.20 s in srv<&>\"q\" (pid 101)",
                 "Leaked, definite136 B3 blocks", "Reachable (not leaks)64 B1 block", "Suppressed4.00 KiB1 block"]:
        expect(part in cards, "summary card " + part, cards)
    expect(page["processes"] == [
        ["0", 'srv<&>"q"', "101", "5.00 s", "5,000", "4,990", "3.00 MiB", "1.20 s", "8.19 MiB", "complete"],
        ["1", "worker", "102", "\u2014", "\u2014", "\u2014", "\u2014", "\u2014", "4.01 MiB",
         "incomplete: the file ends inside a line, no leak scan"]], "process table", page["processes"])
    expect(page["kinds"] == [["definite", "3", "136 B", "0", "0 B"], ["indirect", "4", "128 B", "0", "0 B"],
                             ["reachable", "1", "64 B", "1", "4.00 KiB"]], "leaks by kind", page["kinds"])
    expect(page["injected"] == 0, "no element or script made from trace text", page["injected"])
    check_plots(page)
    check_flame(page)
    check_leaks(page)


def check_zoom(browser):
    expect(click_frame(browser, "build_index"), "a build_index frame to click")
    zoomed = evaluate(browser, PROBE)["flame"]
    focus = [f for f in zoomed if f["name"] == "build_index" and not f["ancestor"]]
    expect(len(focus) == 1 and focus[0]["width"] > 0.99, "the clicked frame fills the width", focus)
    expect(any(f["name"] == "operator<" and f["width"] > 0.99 for f in zoomed), "its callee fills it", zoomed)
    expect(not any(f["name"] == "make_node" for f in zoomed), "other branches hidden when zoomed")
    evaluate(browser, "document.getElementById('flame-reset').click()")
    expect(len(evaluate(browser, PROBE)["flame"]) >= len(FLAME_FUNCTIONS), "reset shows every frame again")


def check_no_summary(page):
    """Every trace cut short: the cards of what only a summary or a leak scan gives show the dash, not 0."""
    expect(page["rendered"], "the script ran to the end")
    cards = {}
    for text in page["cards"]:
        for label in ("Duration", "Allocations", "Peak heap", "Peak RSS", "Leaked, definite", "Leaked, indirect",
                      "Reachable (not leaks)"):
            if text.startswith(label):
                cards[label] = text[len(label):]
    for label in ("Duration", "Allocations", "Peak heap"):
        expect(cards.get(label) == "\u2014unknown: no trace has a summary", label + " card is unknown", cards.get(label))
    expect(cards.get("Peak RSS") == "2.93 MiB", "the Peak RSS card from the timeline", cards.get("Peak RSS"))
    # no leak records and no scan: the leak figures are unknown, not "0 B, 0 blocks"
    for label in ("Leaked, definite", "Leaked, indirect", "Reachable (not leaks)"):
        expect(cards.get(label) == "\u2014unknown: no leak scan ran", label + " card is unknown", cards.get(label))
    expect(page["processes"] and page["processes"][0][3:8] == ["\u2014"] * 5, "process row unknown",
           page["processes"])


def problems(events, page_url):
    out = []
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.exceptionThrown":
            out.append("script error: %s" % json.dumps(p["exceptionDetails"])[:600])
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            out.append("console %s: %s" % (p["type"], json.dumps(p.get("args"))[:600]))
        elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            out.append("log %s: %s" % (p["entry"]["level"], p["entry"]["text"]))
        elif m == "Network.requestWillBeSent" and p["request"]["url"] != page_url:
            out.append("fetched " + p["request"]["url"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--render", help="html_report: writes the page to its argument")
    ap.add_argument("--outdir", required=True, help="where report.html and report.png go")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--tool", help="ptmem-report, for --no-summary")
    ap.add_argument("--no-summary", metavar="TRACE", help="check ptmem-report's page of this cut trace instead")
    args = ap.parse_args()
    if not (args.render or (args.tool and args.no_summary)):
        ap.error("--render, or --tool with --no-summary, is needed")
    chromium = shutil.which(args.chromium)
    if not chromium:
        print("skipped: %s is not installed" % args.chromium)
        return 77
    os.makedirs(args.outdir, exist_ok=True)
    html = os.path.abspath(os.path.join(args.outdir, "report.html"))
    if args.no_summary:
        # The gate fails (a cut trace's leaks are unknown): exit 1, the page written all the same.
        r = subprocess.run([args.tool, "--format", "html", "-o", html, args.no_summary], capture_output=True,
                           text=True, timeout=60)
        if r.returncode not in (0, 1) or not os.path.exists(html):
            print("FAIL: ptmem-report exited %d: %s" % (r.returncode, r.stderr))
            return 1
    else:
        subprocess.run([args.render, html], check=True)
        check_source(html)
    url = "file://" + html
    with tempfile.TemporaryDirectory(prefix="ptmem-chromium-") as profile:
        browser = Browser(chromium, profile)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            browser.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                browser.send(domain + ".enable")
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})
            browser.send("Page.navigate", {"url": url})
            wait_loaded(browser, url)
            page = evaluate(browser, PROBE)
            if args.no_summary:
                check_no_summary(page)
            else:
                check_page(page)
                check_zoom(browser)
                check_show_all(browser)
            height = evaluate(browser, "document.documentElement.scrollHeight")
            shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                           "clip": {"x": 0, "y": 0, "width": 1280,
                                                                    "height": height, "scale": 1}})
            with open(os.path.join(os.path.dirname(html), "report.png"), "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            failures.extend(problems(browser.events, url))
        finally:
            browser.close()
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("ok: %s renders in %s without errors; screenshot report.png" % (html, chromium))
    return 0


if __name__ == "__main__":
    sys.exit(main())
