"""Jupyter's interrupt button and re-run cells, in a real ipykernel (jupyter_client).

The interrupt is what JupyterLab's button does: SIGINT to the kernel's process group
(``KernelManager.interrupt_kernel``). Documents are collected in the kernel and read back.
"""

from __future__ import annotations

import json
import time

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from traitlets import default

from _nb import _ThisPythonKernelSpecs

pytestmark = pytest.mark.notebook

SETUP = """\
import json
from livescan import RunEngine
from livescan.plans import count, scan
from livescan.sim import det, motor
RE = RunEngine(display=False)
docs = []
RE.subscribe_lossless(lambda name, doc: docs.append((name, dict(doc))))
motor.delay = 0.02
def report(h):
    stops = [d for n, d in docs if n == 'stop']
    return json.dumps({'done': h.done(), 'exit': h.exit_status, 'state': str(RE.state),
                       'stops': [(s['exit_status'], s.get('reason', '')) for s in stops],
                       'events': h.num_events})
"""


class _Manager(KernelManager):
    """A blocking kernel manager whose kernel is this interpreter (as in ``_nb``)."""

    @default("kernel_spec_manager")
    def _default_kernel_spec_manager(self) -> KernelSpecManager:
        return _ThisPythonKernelSpecs(parent=self)


@pytest.fixture
def kernel():
    km = _Manager(kernel_name="python3")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _execute(kc, code: str, timeout: float = 60) -> dict:
    """Run ``code``; its stdout/stderr, error outputs and display_data messages."""
    return _collect(kc, kc.execute(code), timeout)


def _execute_with(
    kc, code: str, metadata: dict, timeout: float = 60, *, allow_stdin: bool = False
) -> dict:
    """Run ``code`` with request metadata, as JupyterLab sends it (``cellId``), and
    ``allow_stdin`` (JupyterLab: true; nbclient: false)."""
    msg = kc.session.msg(
        "execute_request",
        {"code": code, "silent": False, "store_history": True, "user_expressions": {},
         "allow_stdin": allow_stdin, "stop_on_error": True},
        metadata=metadata,
    )  # fmt: skip
    kc.shell_channel.send(msg)
    return _collect(kc, msg["header"]["msg_id"], timeout)


def _collect(kc, msg_id: str, timeout: float) -> dict:
    out = {"stdout": "", "errors": [], "displays": [], "updates": [], "stderr": ""}
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out[content["name"]] += content["text"]
        elif kind == "error":
            out["errors"].append(content)
        elif kind == "display_data":
            out["displays"].append(content)
        elif kind == "update_display_data":
            out["updates"].append(content)
        elif kind == "status" and content["execution_state"] == "idle":
            return out


def _report(kc, name: str = "h") -> dict:
    out = _execute(kc, f"print(report({name}))")
    assert not out["errors"], out["errors"]
    return json.loads(out["stdout"].strip().splitlines()[-1])


def test_interrupt_button_aborts_a_background_run(kernel):
    km, kc = kernel
    assert not _execute(kc, SETUP)["errors"]
    out = _execute(kc, "h = RE(scan([det], motor, -1, 1, num=400))\nh2 = RE(count([det]))")
    assert not out["errors"]
    time.sleep(1.0)  # the cell has finished; the run goes on in the kernel's loop
    running = _report(kc)
    assert running["state"] == "running" and not running["done"]
    km.interrupt_kernel()
    deadline = time.monotonic() + 20
    while not (state := _report(kc))["done"]:
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state["exit"] == "abort"
    assert state["stops"] == [["abort", "interrupted (Jupyter interrupt)"]]  # one stop
    assert 0 < state["events"] < 400
    queued = _report(kc, "h2")
    assert queued["exit"] == "abort" and queued["done"]  # the queued run never started
    assert len(queued["stops"]) == 1
    # afterwards the kernel is as before: an idle interrupt is ignored, new runs work
    km.interrupt_kernel()
    time.sleep(0.3)
    out = _execute(kc, "r = await RE(count([det], num=3))\nprint(r.exit_status, len(docs))")
    assert not out["errors"], out["errors"]
    assert out["stdout"].split()[0] == "success"


BUSY_COMM = """\
import time
def _busy(comm, open_msg):
    @comm.on_msg
    def _on_msg(msg):  # a widget's handler: busy while the page talks to the kernel
        time.sleep(0.02)
get_ipython().kernel.comm_manager.register_target('busy', _busy)
"""


def _comm_traffic(kc, comm_id: str, seconds: float) -> None:
    """What a page with live widgets does: comm messages to the kernel, back to back."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {}})
        kc.shell_channel.send(msg)
        time.sleep(0.01)


def test_interrupt_button_aborts_a_background_run_while_widgets_talk(kernel):
    """ipykernel installs its KeyboardInterrupt handler around every shell message; with
    the page's comm messages in flight the button must still reach the run, every time."""
    km, kc = kernel
    assert not _execute(kc, SETUP + BUSY_COMM)["errors"]
    comm_id = "busy-comm"
    kc.shell_channel.send(
        kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "busy", "data": {}})
    )
    for round_ in range(3):
        out = _execute(kc, "docs.clear()\nh = RE(scan([det], motor, -1, 1, num=400))")
        assert not out["errors"], out["errors"]
        _comm_traffic(kc, comm_id, 1.0)
        km.interrupt_kernel()  # the kernel is inside the busy handler most of the time
        _comm_traffic(kc, comm_id, 0.5)
        deadline = time.monotonic() + 20
        while not (state := _report(kc))["done"]:
            assert time.monotonic() < deadline, (round_, state)
            time.sleep(0.2)
        assert state["exit"] == "abort", (round_, state)
        assert state["stops"] == [["abort", "interrupted (Jupyter interrupt)"]], (round_, state)
        assert 0 < state["events"] < 400, (round_, state)
    # with no run the kernel is ipykernel's again: SIGINT in a comm handler is dropped
    km.interrupt_kernel()
    _comm_traffic(kc, comm_id, 0.3)
    out = _execute(kc, "r = await RE(count([det], num=3))\nprint(r.exit_status)")
    assert not out["errors"], out["errors"]
    assert out["stdout"].split()[0] == "success"


def test_interrupt_button_pauses_an_awaited_run_as_ctrl_c_pauses_bluesky(kernel):
    """``await RE(plan)`` is the notebook's blocking ``RE()``: the interrupt button pauses
    it at the next checkpoint, the cell ends with one line, and RE.resume() / RE.abort()
    go on from there, as after Ctrl-C on bluesky's RunEngine."""
    km, kc = kernel
    assert not _execute(kc, SETUP)["errors"]
    msg_id = kc.execute("h = RE(scan([det], motor, -1, 1, num=400))\nresult = await h")
    time.sleep(1.5)
    km.interrupt_kernel()
    out = _collect(kc, msg_id, timeout=30)
    assert len(out["errors"]) == 1, out
    error = out["errors"][0]
    assert error["ename"] == "RunEngineInterrupted"
    assert len(error["traceback"]) == 1, error["traceback"]  # one line, no internals
    line = error["traceback"][0]
    assert "CancelledError" not in line and " paused after " in line, line
    assert "RE.resume()" in line and "RE.abort()" in line, line
    state = _report(kc)
    assert not state["done"] and state["state"] == "paused" and state["stops"] == [], state
    paused_at = state["events"]
    # RE.resume() continues where it paused: every point once, one stop
    out = _execute(kc, "RE.resume()\nr = await h\nprint(r.exit_status, h.num_events)")
    assert not out["errors"], out["errors"]
    assert out["stdout"].split() == ["success", "400"], (out, paused_at)
    assert _report(kc)["stops"] == [["success", ""]]
    # a second run: interrupt, then RE.abort() ends it with one stop
    _execute(kc, "docs.clear()")
    msg_id = kc.execute("h = RE(scan([det], motor, -1, 1, num=400))\nresult = await h")
    time.sleep(1.5)
    km.interrupt_kernel()
    out = _collect(kc, msg_id, timeout=30)
    assert [e["ename"] for e in out["errors"]] == ["RunEngineInterrupted"], out
    out = _execute(kc, "RE.abort()\nr = await h\nprint(r.exit_status)")
    assert not out["errors"], out["errors"]
    state = _report(kc)
    assert state["done"] and state["exit"] == "abort" and state["state"] == "idle", state
    assert len(state["stops"]) == 1 and state["stops"][0][0] == "abort", state
    # a plain interrupt of a sync cell is still ipykernel's KeyboardInterrupt
    msg_id = kc.execute("import time\ntime.sleep(30)")
    time.sleep(1.0)
    km.interrupt_kernel()
    out = _collect(kc, msg_id, timeout=20)
    assert [e["ename"] for e in out["errors"]] == ["KeyboardInterrupt"]


def test_a_cell_run_again_shows_its_unfinished_runs_again(kernel):
    _, kc = kernel
    setup = SETUP.replace("RunEngine(display=False)", "RunEngine()")
    assert not _execute(kc, setup)["errors"]
    cell = {"cellId": "cell-twice"}
    code = "h = RE(scan([det], motor, -1, 1, num=150))\nhs = globals().setdefault('hs', [])\n"
    code += "hs.append(h)"
    first = _execute_with(kc, code, cell)
    second = _execute_with(kc, code, cell)
    assert not first["errors"] and not second["errors"]

    def ids(out):
        return [d["transient"].get("display_id") for d in out["displays"]]

    shown = len(ids(first))  # the run's live box (and its fallback's slot)
    assert shown >= 1 and None not in ids(first)
    # the second execution cleared the cell: it shows the first run again, then its own
    assert len(ids(second)) == 2 * shown and ids(second)[:shown] == ids(first)
    assert not set(ids(second)[shown:]) & set(ids(first))
    other = _execute_with(kc, "h3 = RE(count([det]))", {"cellId": "another-cell"})
    assert len(ids(other)) == shown  # another cell shows only its own run
    out = _execute(kc, "for x in hs + [h3]: await x\nprint([x.exit_status for x in hs])")
    assert not out["errors"], out["errors"]
    third = _execute_with(kc, code, cell)  # the earlier runs have finished: not shown again
    assert len(ids(third)) == shown


@pytest.mark.parametrize("allow_stdin", [True, False])
def test_an_awaited_run_waits_for_its_fallback_only_in_batch_execution(kernel, allow_stdin):
    # nbclient (no stdin) stops listening at idle: the fallback and the finished table
    # must be in place before the cell ends. An interactive client gets them moments
    # later, and the cell (the next scan) does not wait for them (a finished table's
    # grid is shown 0.5 s after the run).
    _, kc = kernel
    setup = "from livescan import RunEngine\nfrom livescan.plans import count\n"
    setup += "from livescan.sim import det\nfrom livescan.callbacks import LiveTable\n"
    setup += "import time\nRE = RunEngine()\n"
    assert not _execute(kc, setup)["errors"]
    warm = _execute(kc, "await RE(count([det], 10), LiveTable([det]))")  # (imports)
    assert not warm["errors"], warm["errors"]
    code = "t0 = time.perf_counter()\nawait RE(count([det], 10), LiveTable([det]))\n"
    code += "print('TOOK', time.perf_counter() - t0)"
    out = _execute_with(kc, code, {}, allow_stdin=allow_stdin)
    assert not out["errors"], out["errors"]
    took = float(out["stdout"].split("TOOK")[1].split()[0])
    fallback = [u for u in out["updates"] if "text/plain" in u.get("data", {})]
    if allow_stdin:
        assert took < 0.4, f"an interactive cell waited {took:.2f} s for output work"
    else:
        assert took >= 0.45, "a batch cell returned before the finished table was shown"
        assert fallback, "the fallback reached the notebook before the cell ended"
