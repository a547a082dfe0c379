"""Check that the asv dashboard renders a graph for every benchmark; take a screenshot.

Usage (repo root, after an asv run)::

    python tools/check_dashboard.py --publish --screenshot docs/_static/asv_dashboard.png

1. ``asv publish`` (with ``--publish``) builds the HTML into ``html_dir`` of asv.conf.json;
2. every benchmark of ``index.json`` must have graph data files that parse;
3. the HTML is served (``http.server`` on 127.0.0.1) and each benchmark's page
   (``index.html#<benchmark>``) is loaded in headless Chromium: the page must
   draw a flot plot (``canvas.flot-base`` in ``#main-graph``) and show no error;
4. ``--screenshot PATH`` saves a PNG of one benchmark page (``--shot-benchmark``).

Chromium: the Debian package (``apt-get install -y chromium``), or ``--chromium PATH``.

asv's ``index.html`` loads jQuery, flot, bootstrap ... from CDNs.  Machines without
web access (CI here) reach only package registries, so by default the page is
served with those URLs pointing at the same libraries installed from the npm
registry (``npm install`` into ``.asv/vendor``, once); ``--cdn`` keeps the CDN URLs.
Exit status 1 if any benchmark fails a check.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
]


def find_chromium(explicit: str | None) -> str:
    for cand in (explicit, "chromium", "chromium-browser", "google-chrome", "chrome"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    raise SystemExit("check_dashboard: no Chromium found (apt-get install -y chromium, or --chromium PATH)")


def html_dir_from_conf(conf: Path) -> Path:
    import json5  # asv's own dependency: asv.conf.json has comments

    data = json5.loads(conf.read_text(encoding="utf-8"))
    return (conf.parent / data.get("html_dir", "html")).resolve()


#: CDN file asv's index.html loads -> (npm package@version, file in the package)
VENDOR = {
    "jquery-3.3.1.min.js": ("jquery@3.3.1", "dist/jquery.min.js"),
    "jquery.flot.min.js": ("flot@0.8.3", "jquery.flot.js"),
    "jquery.flot.time.min.js": ("flot@0.8.3", "jquery.flot.time.js"),
    "jquery.flot.selection.min.js": ("flot@0.8.3", "jquery.flot.selection.js"),
    "jquery.flot.categories.min.js": ("flot@0.8.3", "jquery.flot.categories.js"),
    "jquery.flot.orderBars.js": ("flot-orderbars@1.0.0", "js/jquery.flot.orderBars.js"),
    "stupidtable.min.js": ("stupid-table-plugin@1.1.3", "stupidtable.min.js"),
    "md5.min.js": ("blueimp-md5@2.19.0", "js/md5.min.js"),
    "bootstrap.min.js": ("bootstrap@3.1.1", "dist/js/bootstrap.min.js"),
    "bootstrap.min.css": ("bootstrap@3.1.1", "dist/css/bootstrap.min.css"),
}
_CDN_TAG = re.compile(r'(src|href)="(https://[^"]+)"([^>]*)>')


def _pkg_dir(vendor: Path, spec: str) -> Path:
    return vendor / "node_modules" / spec.rsplit("@", 1)[0]


def ensure_vendor(vendor: Path) -> None:
    """Install the dashboard's JavaScript libraries from the npm registry (once)."""
    specs = sorted({spec for spec, _ in VENDOR.values()})
    missing = [s for s in specs if not _pkg_dir(vendor, s).is_dir()]
    if not missing:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("check_dashboard: npm is needed to fetch the dashboard's libraries (or use --cdn)")
    vendor.mkdir(parents=True, exist_ok=True)
    cmd = [npm, "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(vendor), *specs]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def localize(html_text: str) -> str:
    """index.html with the CDN URLs pointing at ``_vendor/`` (integrity attributes dropped)."""

    def repl(m: re.Match) -> str:
        name = m.group(2).rsplit("/", 1)[-1]
        if name not in VENDOR:
            return m.group(0)
        spec, path = VENDOR[name]
        rest = re.sub(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"', "", m.group(3))
        return f'{m.group(1)}="_vendor/{spec.rsplit("@", 1)[0]}/{path}"{rest}>'

    return _CDN_TAG.sub(repl, html_text)


def serve(directory: Path, vendor: Path | None) -> tuple[http.server.ThreadingHTTPServer, str]:
    index = localize((directory / "index.html").read_text(encoding="utf-8")).encode() if vendor else b""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if vendor is not None and path in ("/", "/index.html"):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(index)))
                self.end_headers()
                self.wfile.write(index)
                return
            if vendor is not None and path.startswith("/_vendor/"):
                rel = Path(path[len("/_vendor/") :])
                f = (vendor / "node_modules" / rel).resolve()
                if ".." in rel.parts or not f.is_file():
                    self.send_error(404)
                    return
                data = f.read_bytes()
                ctype = "text/css" if f.suffix == ".css" else "application/javascript"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            super().do_GET()

    handler = functools.partial(Quiet, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/"


def chromium(browser: str, args: list[str], url: str, budget_ms: int, timeout: float) -> str:
    with tempfile.TemporaryDirectory(prefix="asv-dash-chromium-") as profile:
        cmd = [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            *args,
            url,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=profile)
        if proc.returncode != 0:
            raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
        return proc.stdout


def graph_files(html: Path, benchmark: str) -> list[Path]:
    return sorted(html.glob(f"graphs/**/{benchmark}.json"))


def check_data(html: Path, benchmark: str) -> str | None:
    files = graph_files(html, benchmark)
    if not files:
        return "no graph data file"
    for f in files:
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except ValueError as e:
            return f"{f.relative_to(html)}: not JSON ({e})"
        if not data:
            return f"{f.relative_to(html)}: empty"
        # a point is [revision, value] (value a list for parametrized benchmarks)
        if not any(
            v is not None and (not isinstance(v, list) or any(x is not None for x in v)) for _, v in data
        ):
            return f"{f.relative_to(html)}: every value is null (the benchmark failed)"
    return None


def check_page(browser: str, base: str, benchmark: str, budget_ms: int) -> str | None:
    dom = chromium(browser, ["--dump-dom"], f"{base}index.html#{benchmark}", budget_ms, 120)
    main = re.search(r'id="main-graph".*', dom, re.S)
    if main is None:
        return "no #main-graph in the page"
    if "No graphs to load" in dom:
        return "asv: 'No graphs to load'"
    err = re.search(r'id="error-message"[^>]*>([^<]*)<', dom)
    if err and err.group(1).strip():
        return f"asv error: {err.group(1).strip()}"
    if "flot-base" not in main.group(0):
        return "no plot drawn (no canvas.flot-base in #main-graph)"
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--conf", type=Path, default=ROOT / "asv.conf.json")
    p.add_argument("--html", type=Path, help="the published HTML (default: html_dir of --conf)")
    p.add_argument("--publish", action="store_true", help="run `asv publish` first")
    p.add_argument("--chromium", help="browser executable")
    p.add_argument("--screenshot", type=Path, help="save a PNG of --shot-benchmark here")
    p.add_argument("--shot-benchmark", default="bench_fastrelu.Forward.time_forward")
    p.add_argument("--window-size", default="1400,950")
    p.add_argument("--budget-ms", type=int, default=20000, help="virtual time for the page's scripts")
    p.add_argument("--jobs", type=int, default=2, help="browsers at once")
    p.add_argument("--bench", default="", help="only benchmarks matching this regex")
    p.add_argument("--cdn", action="store_true", help="load the page's libraries from their CDNs")
    p.add_argument("--vendor", type=Path, default=ROOT / ".asv" / "vendor", help="npm prefix for them")
    args = p.parse_args(argv)

    if args.publish:
        subprocess.run(
            [sys.executable, "-m", "asv", "publish", "--config", str(args.conf)],
            check=True,
            cwd=args.conf.parent,
        )
    html = args.html.resolve() if args.html else html_dir_from_conf(args.conf)
    index = html / "index.json"
    if not index.is_file():
        raise SystemExit(f"check_dashboard: {index} not found: run `asv publish` (or pass --publish)")
    benchmarks = sorted(b for b in json.loads(index.read_text())["benchmarks"] if re.search(args.bench, b))
    if not benchmarks:
        raise SystemExit("check_dashboard: no benchmarks in index.json")
    browser = find_chromium(args.chromium)
    vendor = None
    if not args.cdn:
        vendor = args.vendor.resolve()
        ensure_vendor(vendor)
    httpd, base = serve(html, vendor)
    failures: dict[str, str] = {}
    try:
        for b in benchmarks:
            msg = check_data(html, b)
            if msg:
                failures[b] = msg
        todo = [b for b in benchmarks if b not in failures]
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = pool.map(lambda b: (b, check_page(browser, base, b, args.budget_ms)), todo)
            for b, msg in results:
                print(f"  {'ok  ' if msg is None else 'FAIL'} {b}" + (f": {msg}" if msg else ""), flush=True)
                if msg:
                    failures[b] = msg
        if args.screenshot:
            shot = args.screenshot.resolve()
            shot.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "shot.png"
                chromium(
                    browser,
                    [f"--screenshot={out}", f"--window-size={args.window_size}"],
                    f"{base}index.html#{args.shot_benchmark}",
                    args.budget_ms,
                    120,
                )
                shutil.copyfile(out, shot)
            print(f"wrote {os.path.relpath(shot)}")
    finally:
        httpd.shutdown()
    for b, msg in failures.items():
        print(f"FAIL {b}: {msg}", file=sys.stderr)
    print(f"check_dashboard: {len(benchmarks) - len(failures)}/{len(benchmarks)} benchmark graphs render")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
