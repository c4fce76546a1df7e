"""A report built from hostile sweep files and records is safe to share: every string a user controls shows as
text (never markup) in report.html and report.ipynb, the page runs only its own scripts, and it names no path
of the machine that built it.

One report is built for the module (building is slow): two sweeps, one a W&B file, with a payload in every
field a user controls, under a folder whose name is a payload, with a failed run and damaged records.
"""

import html
import json
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

import nbformat
import pytest

from benchmarks.synthetic import Outcome, write_sweep
from lib.core.pagescripts import script_hashes
from lib.core.records import write_json

# Each payload sets document.title when it runs; its Markdown parts (*x*, [x](javascript:), $x$) must show as
# written. The field each is planted in is its key.
PAYLOADS = {
    "description": "desc <script>document.title+='|DESC-SCRIPT'</script> <img src=x "
                   "onerror=\"document.title+='|DESC-IMG'\"> *DESC-MD* [DESC-LINK](javascript:document.title+='|L') "
                   "$DESC-MATH$",
    "fixed value": "<img src=x onerror=\"document.title+='|FIXED'\"> **FIXED-MD**",
    "linked axis label": "<img src=x onerror=\"document.title+='|LINKED'\">*LINKED-MD*",
    "W&B description": "<script>document.title+='|WB-SCRIPT'</script><img src=x onerror=\"document.title+='|WB-IMG'\">"
                       " _WB-MD_",
    "W&B project": "<img src=x onerror=\"document.title+='|WB-PROJECT'\">",
    "failure message": "DatasetError: class folder <img src=x onerror=\"document.title+='|FAIL'\"> `FAIL-MD`",
    "folder name": "f<img src=x onerror=document.title+='|FOLDER'>",
    "sweep file name": "inj<svg onload=document.title+='|FILE'>",
}
MARKS = ("DESC", "FIXED", "LINKED", "WB-", "FAIL", "FOLDER", "FILE")  # what a payload's text holds
MARKDOWN = ("DESC-MD", "DESC-LINK", "DESC-MATH", "FIXED-MD", "LINKED-MD", "WB-MD", "FAIL-MD")  # inside its Markdown
TITLE = "inj + wb: sweep report"

GRID = f"""name: inj
description: {json.dumps(PAYLOADS["description"])}
fixed: {{dataset: digits, epochs: 3, model: mlp, wandb_project: {json.dumps(PAYLOADS["fixed value"])}}}
grid:
  {json.dumps(PAYLOADS["linked axis label"])}: [{{lr: 0.1, optimizer: sgd}}, {{lr: 0.01, optimizer: adam}}]
  batch_size: [32, 64]
  weight_decay: [0.0, 0.0005]
seeds: [0, 1, 2, 3]
"""
WANDB = f"""name: wb
description: {json.dumps(PAYLOADS["W&B description"])}
project: {json.dumps(PAYLOADS["W&B project"])}
method: grid
metric: {{name: val_acc, goal: maximize}}
parameters:
  dataset: {{value: digits}}
  model: {{value: mlp}}
  epochs: {{value: 3}}
  optimizer: {{value: adam}}
  lr: {{values: [0.01, 0.02]}}
"""
DAMAGED = {"metrics.json": "[1, 2]", "history.csv": "epoch,val_acc\n1," + "9" * 200_000 + "\n"}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The built report's folder, and the folder everything was written under."""
    from lib.sweep.publish import build_report

    base = tmp_path_factory.mktemp("hostile")
    home = base / PAYLOADS["folder name"]
    grid = write_sweep(home / f"{PAYLOADS['sweep file name']}.yaml", GRID, home / "inj",
                       lambda p: Outcome(0.8 if p["lr"] == 0.1 else 0.9, best_epoch=2))
    write_sweep(home / "wb.yaml", WANDB, home / "wb", lambda p: Outcome(0.91, best_epoch=2))
    failed = home / "inj" / "runs" / grid.runs[0].name
    (failed / "metrics.json").unlink()
    write_json(failed / "failure.json", {"error": PAYLOADS["failure message"], "seconds": 1.0})
    for run, (file, text) in zip(grid.runs[1:], DAMAGED.items()):
        (home / "inj" / "runs" / run.name / file).write_text(text)
    out = base / "out"
    build_report([home / "inj", home / "wb"], out)
    return out, base


class Elements(HTMLParser):
    """Every element of a page: (tag, attributes, the text directly inside it), and all its text."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[list] = []
        self.open: list[list] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        element = [tag, dict(attrs), ""]
        self.found.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        if self.open:
            self.open[-1][2] += data


def elements(page: str) -> Elements:
    parsed = Elements()
    parsed.feed(page)
    return parsed


def from_payload(parsed: Elements) -> list:
    """The elements and attributes a payload made: a handler, a script or link of its own, its image, its svg, or
    Markdown that its */_/`/[] turned into emphasis, code or a link."""
    made = []
    for tag, attrs, text in parsed.found:
        if any(name.startswith("on") for name in attrs) or any("document.title" in (v or "") for v in attrs.values()):
            made.append((tag, attrs))
        if tag in ("script", "img", "svg") and ("document.title" in text or attrs.get("src") == "x"):
            made.append((tag, attrs))
        if tag in ("em", "strong", "code", "a", "span") and any(m in text for m in MARKDOWN):
            made.append((tag, text))
        if (attrs.get("href") or "").lower().startswith("javascript:"):
            made.append((tag, attrs))
    return made


def test_no_payload_becomes_markup_in_report_html(hostile):
    out, _ = hostile
    page = (out / "report.html").read_text()
    parsed = elements(page)
    assert from_payload(parsed) == []
    text = "".join(parsed.text)
    for field in ("description", "fixed value", "linked axis label", "W&B description", "W&B project",
                  "failure message"):  # each shows, as written
        assert " ".join(PAYLOADS[field].split()) in " ".join(text.split()) or PAYLOADS[field].split("'")[0] in text, \
            field
    assert "*DESC-MD* [DESC-LINK](javascript:" in text and "$DESC-MATH$" in text  # Markdown shows literally
    assert PAYLOADS["folder name"] in text  # the records' folder, relative to the report


def test_no_payload_becomes_markup_in_the_notebook_outputs(hostile):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    out, _ = hostile
    notebook = nbformat.read(out / "report.ipynb", as_version=4)
    shown = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for page in (data.get("text/html"), markdown2html_mistune(data["text/markdown"])
                         if "text/markdown" in data else None):
                if page:
                    assert from_payload(elements(page)) == [], page[:300]
                    shown += any(m in page for m in MARKS)
            assert output.get("output_type") != "error", output
    assert shown >= 6


def test_the_page_runs_only_its_own_scripts(hostile):
    out, _ = hostile
    page = (out / "report.html").read_text()
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy and page.index(policy.group(0)) < page.index("<script")  # before any script
    allowed = set(re.findall(r"'sha256-([^']+)'", policy.group(1)))
    assert "'unsafe-inline'" not in policy.group(1) and "script-src" in policy.group(1)
    assert set(script_hashes(page)) <= allowed and len(allowed) >= 3  # the template's and itables' scripts
    injected = "<script>document.title+='|X'</script>"
    assert not set(script_hashes(injected)) & allowed


def test_damaged_runs_are_named_on_the_page_and_left_out(hostile):
    out, _ = hostile
    text = " ".join("".join(elements((out / "report.html").read_text()).text).split())
    assert "holds a JSON list, not an object of metrics" in text
    assert "field larger than field limit" in text
    assert "statistics rest on 31 of 34 runs" in text and "left out: 2 damaged, 1 failed" in text


def test_nothing_shared_names_a_path_of_the_building_machine(hostile):
    out, base = hostile
    for name in ("report.html", "best.yaml"):
        assert str(base) not in (out / name).read_text(), name
    assert "sweeplab train --config best.yaml" in (out / "report.html").read_text()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs headless Chromium (/usr/bin/chromium)")
def test_in_a_real_browser_no_payload_runs_and_the_tables_sort(hostile):
    out, _ = hostile
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={profile}", "--virtual-time-budget=8000", "--dump-dom",
                              str(out / "report.html")], capture_output=True, text=True, timeout=120).stdout
    assert re.search(r"<title>(.*?)</title>", dom).group(1) == html.escape(TITLE)  # no payload added to it
    assert "dt-container" in dom and "dt-orderable-asc" in dom  # itables' scripts ran: the long table sorts


STUDY_PAYLOAD = "<img src=x onerror=\"document.title+='|STUDY'\">*STUDY-MD*"


def test_study_and_trial_attributes_and_sampled_values_are_text(tmp_path, monkeypatch):
    """A search's study attributes (its method, the sweep's study name), a trial's run attribute and a sampled
    categorical value, each a payload, reach the Search section as text."""
    import IPython.display
    import optuna
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from studies import write_search

    from lib.report import links, search_section
    from lib.report.load import load_report

    choice = CategoricalDistribution([STUDY_PAYLOAD, "plain"])
    trials = [({"lr": 0.01 * (i + 1), "data_dir": STUDY_PAYLOAD if i % 2 else "plain"}, [0.5, 0.6 + 0.01 * i],
               "complete", None) for i in range(4)]
    root = write_search(tmp_path / "srch", "srch", trials, {"lr": FloatDistribution(1e-3, 1.0), "data_dir": choice},
                        search={"method": STUDY_PAYLOAD, "trials": 4, "seed": 0})
    study = optuna.load_study(study_name="srch", storage=JournalStorage(JournalFileBackend(str(root / "study.journal"))))
    trial = study.ask()
    trial.set_user_attr("run", STUDY_PAYLOAD)  # a trial whose run attribute is a payload, never run
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    report = load_report(root)
    links.set_output(report, root)
    search_section.show_search(report)
    pages = [markdown2html_mistune(item.data) if isinstance(item, IPython.display.Markdown) else item.data
             for item in shown if hasattr(item, "data") and isinstance(item.data, str)]
    assert sum("|STUDY" in page for page in pages) >= 2  # it shows (as text), in the trials and how it searched
    for page in pages:
        assert from_payload(elements(page)) == [] and "STUDY-MD</em>" not in page, page[:300]


def test_a_sortable_table_escapes_every_cell_but_run_links():
    from lib.report.render import Markup, interactive

    import pandas as pd

    table = pd.DataFrame({"run": [Markup('<a href="runs/a/train.ipynb">a</a>'), Markup("b")],
                          "error": [PAYLOADS["failure message"], "plain"], "n": [1, 2]})
    page = interactive(table).data
    assert '<a href=\\"runs/a/train.ipynb\\">a</a>' in page or '<a href="runs/a/train.ipynb">a</a>' in page
    assert "<img src=x" not in page and html.escape("<img src=x", quote=False) in page


@pytest.mark.parametrize("path", ["a```b`<img src=x onerror=alert(1)>`c.yaml", "`<img src=x onerror=alert(1)>`",
                                  "x``<svg onload=alert(1)>``y"])
def test_a_path_with_backticks_stays_inside_its_code_span(path):
    """A code span made by `code` ends where Markdown ends it (CommonMark pairs backtick runs of one length), so a
    path full of backticks cannot step out of it and put a tag on the page; Markdown as nbconvert renders it."""
    import mistune

    from lib.report.render import code, literal, sentence

    page = mistune.html(sentence(f"Each line is one rule of {code(path)}; {literal(path)}."))
    found = Elements()
    found.feed(page)
    assert [tag for tag, _, _ in found.found if tag not in ("p", "code")] == []
    assert html.unescape(re.search(r"<code>(.*?)</code>", page).group(1)).strip() == path


def test_a_list_in_a_sortable_table_is_escaped_text():
    from lib.report.render import interactive

    import pandas as pd

    page = str(interactive(pd.DataFrame({"arch": [["<img src=x onerror=alert(1)>"], {"m": "<b>x</b>"}]})).data)
    assert "<img" not in page and "<b>" not in page
