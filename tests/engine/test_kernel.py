"""The engine in a real IPython kernel (nbclient), and the terminal demo."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from _nb import execute_notebook
from livescan.callbacks import DocumentCollector
from livescan.plans import baseline_wrapper, count
from livescan.sim import det, motor1, motor2

CELLS = [
    "from livescan import RunEngine\n"
    "from livescan.plans import count\n"
    "from livescan.sim import det\n"
    "from livescan.callbacks import LiveTable, in_kernel\n"
    "RE = RunEngine(display=False)\n"
    "order = []\n"
    "track = lambda name, doc: order.append((name, doc.get('scan_id')))",
    "h1 = RE(count([det], num=50, delay=0.002), track)\n"
    "print(type(h1).__name__, h1.state in ('queued', 'running'))",
    "h2 = RE(count([det], num=5), track)\nprint(h2.state)",
    "result = await h2\n"
    "print(json.dumps({'h1': h1.done(), 'status': result.exit_status,\n"
    "                  'order': [o for o in order if o[0] in ('start', 'stop')],\n"
    "                  'ids': [h1.scan_id, h2.scan_id], 'kernel': in_kernel()}))",
]


@pytest.mark.notebook
def test_runs_queue_in_order_in_a_kernel_and_await_blocks_the_cell(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import json")] + [
        nbformat.v4.new_code_cell(c) for c in CELLS
    ]
    path = tmp_path / "kernel.ipynb"
    nbformat.write(nb, path)
    out = execute_notebook(path, timeout=120)
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in out.cells]
    assert texts[2].strip() == "RunHandle True"  # returned at once, did not block the cell
    assert texts[3].strip() == "queued"
    final = json.loads(texts[4])
    assert final["h1"] is True and final["status"] == "success" and final["kernel"] is True
    assert final["ids"] == [1, 2]
    assert final["order"] == [["start", 1], ["stop", None], ["start", 2], ["stop", None]]


def test_baseline_stream_through_the_engine(RE) -> None:
    docs = DocumentCollector()
    RE(baseline_wrapper(count([det], num=2), [motor1, motor2]), docs)
    names = [d["name"] for d in docs["descriptor"]]
    assert names == ["baseline", "primary"]
    assert docs.stop["num_events"] == {"baseline": 2, "primary": 2}


def test_terminal_demo_prints_a_table() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "livescan", "demo", "--num", "3", "--delay", "0.001"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "|   seq_num |       time |        det |      motor | motor_setpoint |" in lines
    assert any(line.startswith("generator scan ['") for line in lines)
    assert "exit_status: success" in proc.stdout
