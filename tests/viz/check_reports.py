"""Each lesson's report in headless Chromium: it loads with no console message (the page has no
script, so any message is an error), every image decodes in the browser, every formula is MathML that the browser lays out (a superscript
raised and smaller), nothing is fetched (the page
is self-contained), and a screenshot is kept.

Usage: check_reports.py LLM_JOURNEY CHROMIUM OUT_DIR [--quick] LESSON...
(--quick is passed on to every lesson: those that train take a few steps.)
Leaves OUT_DIR/lesson_NN.html (the report), OUT_DIR/lesson_NN.png (its screenshot) and
OUT_DIR/lesson_NN.stdout (what the lesson printed).
"""
import json
import os
import re
import subprocess
import sys

tool, chromium, out = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
lessons = [a for a in sys.argv[4:] if a != "--quick"]
quick = ["--quick"] if "--quick" in sys.argv[4:] else []
os.makedirs(out, exist_ok=True)
BASE = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
        "--user-data-dir=" + os.path.join(out, "chromium-profile")]

CHECKER = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><pre id="result">pending</pre>
<iframe id="f" src="%s" width="1200" height="800"></iframe>
<script>
// window's load waits for the frame and for its images: each is then decoded or broken.
window.addEventListener('load', () => {
  const f = document.getElementById('f');
  const r = {images: 0, decoded: 0, failed: [], fetched: []};
  try {
    const imgs = Array.from(f.contentDocument.images);
    r.images = imgs.length;
    for (const img of imgs) {
      if (img.complete && img.naturalWidth > 0 && img.naturalHeight > 0) r.decoded++; else r.failed.push(img.alt);
    }
    // Formulas: MathML elements, laid out by the browser: a superscript sits above its base's
    // baseline in a smaller font (as plain text it would share the line and the size). The font size,
    // not the box's height: a script with a slash or a descender ("2i/d") is as tall as its base.
    const maths = Array.from(f.contentDocument.getElementsByTagNameNS('http://www.w3.org/1998/Math/MathML', 'math'));
    r.formulas = maths.length;
    r.scripted = 0;
    r.raised = 0;
    for (const m of maths) {
      const sup = m.querySelector('msup, msubsup');
      if (!sup) continue;
      r.scripted++;
      const base = sup.firstElementChild.getBoundingClientRect(), script = sup.lastElementChild.getBoundingClientRect();
      const size = e => parseFloat(getComputedStyle(e).fontSize);
      if (m.getBoundingClientRect().height > 0 && script.bottom < base.bottom &&
          size(sup.lastElementChild) < size(sup.firstElementChild)) r.raised++;
    }
    r.fetched = f.contentWindow.performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:'));
  } catch (e) { r.error = String(e); }
  document.getElementById('result').textContent = 'RESULT ' + JSON.stringify(r);
});
</script></body></html>
"""

failures = []
for n in lessons:
    n = n.zfill(2)
    html = os.path.join(out, f"lesson_{n}.html")
    with open(os.path.join(out, f"lesson_{n}.stdout"), "w") as log:
        rc = subprocess.run([tool, "lesson", n, "--report", out, *quick], stdout=log, stderr=subprocess.STDOUT).returncode
    if rc != 0 or not os.path.exists(html):
        failures.append(f"lesson {n}: exit code {rc}, report written: {os.path.exists(html)}")
        continue
    page = open(html, encoding="utf-8").read()
    data_uris = len(re.findall(r'src="data:image/png;base64,', page))
    if re.search(r'(src|href)="(?!data:)', page):
        failures.append(f"lesson {n}: the report refers to an outside resource")

    # 1. Load the page itself: no console message; keep a screenshot.
    shot = os.path.join(out, f"lesson_{n}.png")
    if os.path.exists(shot):
        os.remove(shot)
    p = subprocess.run(BASE + ["--enable-logging=stderr", "--v=0", "--window-size=1280,3000",
                               f"--screenshot={shot}", "file://" + html],
                       capture_output=True, text=True, timeout=120)
    console = [l for l in p.stderr.splitlines() if ":CONSOLE" in l]
    if console:
        failures.append(f"lesson {n}: console messages:\n  " + "\n  ".join(console))
    if not os.path.exists(shot) or os.path.getsize(shot) < 10000:
        failures.append(f"lesson {n}: no screenshot at {shot}")

    # 2. A checker page loads the report in a frame and decodes every image in the browser.
    checker = os.path.join(out, f"check_{n}.html")
    with open(checker, "w") as f:
        f.write(CHECKER % os.path.basename(html))
    p = subprocess.run(BASE + ["--allow-file-access-from-files", "--virtual-time-budget=20000", "--dump-dom",
                               "file://" + checker], capture_output=True, text=True, timeout=120)
    m = re.search(r"RESULT (\{.*?\})</pre>", p.stdout)
    if not m:
        failures.append(f"lesson {n}: the checker page gave no result:\n{p.stdout[-500:]}")
        continue
    r = json.loads(m.group(1).replace("&quot;", '"'))
    print(f"lesson {n}: {r['images']} images ({data_uris} in the HTML), {r['decoded']} decoded, "
          f"fetched {r['fetched']}, screenshot {shot}")
    if r.get("error") or r["failed"] or r["decoded"] != r["images"] or r["images"] != data_uris or data_uris == 0:
        failures.append(f"lesson {n}: images: {r}")
    math_in_html = len(re.findall(r"<math ", page))
    formulas_in_source = len(re.findall(r"<div class=\"formula\">", page))
    print(f"lesson {n}: {r.get('formulas')} formulas ({math_in_html} in the HTML), {r.get('raised')} of "
          f"{r.get('scripted')} with a superscript laid out as one")
    if r.get("formulas") != math_in_html or math_in_html != formulas_in_source or r.get("raised") != r.get("scripted"):
        failures.append(f"lesson {n}: formulas not rendered as mathematics: {r}")
    if r["fetched"]:
        failures.append(f"lesson {n}: the page fetched {r['fetched']}")

if failures:
    print("FAILED:\n" + "\n".join(failures))
    sys.exit(1)
print("all reports load cleanly")
