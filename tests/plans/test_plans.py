"""Plans are inspected without an engine: messages, positions and metadata."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from livescan.plans import (
    Count,
    GridScan,
    Msg,
    Scan,
    baseline_wrapper,
    count,
    grid_scan,
    list_grid_scan,
    list_scan,
    log_scan,
    mv,
    mvr,
    rel_grid_scan,
    rel_scan,
    scan,
    subs_decorator,
)
from livescan.sim import det, det1, det2, det3, det4, motor, motor1, motor2


def commands(plan) -> list[str]:
    return [m.command for m in plan]


def positions(plan, motor_) -> list[float]:
    return [m.args[0] for m in plan if m.command == "set" and m.obj is motor_]


def open_md(plan) -> dict:
    return next(m.kwargs for m in plan if m.command == "open_run")


def test_msg_signature() -> None:
    m = Msg("set", motor, 1, group="g")
    assert (m.command, m.obj, m.args, m.kwargs, m.run) == ("set", motor, (1,), {"group": "g"}, None)
    assert "motor" in repr(m)


def test_count_messages_and_metadata() -> None:
    msgs = list(count([det1, det2], num=2))
    assert commands(msgs) == [
        "stage", "stage", "open_run",
        "checkpoint", "trigger", "trigger", "wait", "create", "read", "read", "save",
        "checkpoint", "trigger", "trigger", "wait", "create", "read", "read", "save",
        "close_run", "unstage", "unstage",
    ]  # fmt: skip
    md = open_md(count([det1, det2], num=2))
    assert md["plan_name"] == "count"
    assert md["detectors"] == ["det1", "det2"]
    assert md["num_points"] == 2 and md["num_intervals"] == 1
    assert md["hints"] == {"dimensions": [(["time"], "primary")]}


def test_count_delay_and_forever() -> None:
    msgs = list(count([det], num=3, delay=0.5))
    assert [m.args[0] for m in msgs if m.command == "sleep"] == [0.5, 0.5]
    with pytest.raises(ValueError, match="2 delays"):
        list(count([det], num=3, delay=[1]))
    forever = count([det], num=None)
    first = [next(forever) for _ in range(40)]
    assert commands(first).count("save") >= 5
    assert "num_points" not in next(m.kwargs for m in first if m.command == "open_run")


def test_scan_positions_and_hints() -> None:
    assert positions(scan([det], motor, -1, 1, num=5), motor) == [-1, -0.5, 0, 0.5, 1]
    md = open_md(scan([det], motor, -1, 1, num=5))
    assert md["motors"] == ["motor"]
    assert md["num_points"] == 5
    assert md["hints"]["dimensions"] == [(["motor"], "primary")]
    assert md["plan_pattern"] == "inner_product"


def test_inner_product_moves_motors_together() -> None:
    plan = list(scan([det], motor1, 0, 1, motor2, 10, 20, num=3))
    assert positions(plan, motor1) == [0, 0.5, 1]
    assert positions(plan, motor2) == [10, 15, 20]


def test_grid_scan_snaking_and_metadata() -> None:
    plan = list(grid_scan([det4], motor1, 0, 1, 2, motor2, 0, 2, 3, snake_axes=True))
    # motor2 runs 0,1,2 then back 2(no move),1,0
    assert positions(plan, motor2) == [0, 1, 2, 1, 0]
    assert positions(plan, motor1) == [0, 1]
    md = open_md(grid_scan([det4], motor1, 0, 1, 2, motor2, 0, 2, 3, snake_axes=True))
    assert md["shape"] == [2, 3]
    assert md["extents"] == [[0, 1], [0, 2]]
    assert md["snaking"] == [False, True]
    assert md["hints"]["gridding"] == "rectilinear"
    assert md["num_points"] == 6
    plain = list(grid_scan([det4], motor1, 0, 1, 2, motor2, 0, 2, 3))
    assert positions(plain, motor2) == [0, 1, 2, 0, 1, 2]


def test_three_axis_snake_order() -> None:
    from livescan.sim import motor3

    plan = list(
        grid_scan([det], motor1, 0, 1, 2, motor2, 0, 1, 2, motor3, 0, 2, 3, snake_axes=True)
    )
    saves = [i for i, m in enumerate(plan) if m.command == "save"]
    assert len(saves) == 12
    pos = {motor1: None, motor2: None, motor3: None}
    visited = []
    for m in plan:
        if m.command == "set":
            pos[m.obj] = m.args[0]
        if m.command == "save":
            visited.append((pos[motor1], pos[motor2], pos[motor3]))
    # every grid point once, neighbours differ in one motor by one step
    assert len(set(visited)) == 12
    for a, b in itertools.pairwise(visited):
        assert sum(x != y for x, y in zip(a, b, strict=True)) == 1


def test_list_scans_and_log_scan() -> None:
    assert positions(list_scan([det], motor, [3, 1, 2]), motor) == [3, 1, 2]
    with pytest.raises(ValueError, match="equal lengths"):
        list(list_scan([det], motor1, [1, 2], motor2, [1]))
    grid = list(list_grid_scan([det], motor1, [1, 2], motor2, [5, 6, 7]))
    assert sum(m.command == "save" for m in grid) == 6
    logs = positions(log_scan([det], motor, 1, 100, 3), motor)
    np.testing.assert_allclose(logs, [1, 10, 100])


def test_relative_plans_return_home() -> None:
    motor.set(5)
    plan = list(rel_scan([det], motor, -1, 1, num=3))
    moves = positions(plan, motor)
    assert moves[:3] == [4, 5, 6]
    assert moves[-1] == 5  # back where it started
    grid = list(rel_grid_scan([det4], motor1, -1, 1, 2, motor2, -1, 1, 2))
    assert positions(grid, motor1)[-1] == 0


def test_mv_and_mvr() -> None:
    assert commands(mv(motor1, 1, motor2, 2)) == ["set", "set", "wait"]
    motor.set(2)
    assert positions(mvr(motor, 0.5), motor) == [2.5]
    with pytest.raises(ValueError, match="pairs"):
        list(mv(motor1))


def test_plan_objects_carry_subs_and_follow_edits() -> None:
    plan = Count([det, det1, det2, det3], num=2)
    assert plan.subs == {"all": [], "descriptor": [], "event": [], "start": [], "stop": []}
    assert plan.sub_factories == plan.subs
    plan.detectors.remove(det3)
    md = open_md(plan)
    assert md["detectors"] == ["det", "det1", "det2"]
    # each iteration is a fresh run
    assert commands(plan) == commands(plan)
    s = Scan([det], motor, -1, 1, 3)
    assert positions(s, motor) == [-1, 0, 1]
    g = GridScan([det4], motor1, 0, 1, 2, motor2, 0, 1, 2)
    assert sum(m.command == "save" for m in g) == 4


def test_bad_plan_arguments_are_clear() -> None:
    with pytest.raises(TypeError, match="list of detectors"):
        list(count(det))
    with pytest.raises(TypeError, match="not a readable device"):
        list(count([object()]))
    with pytest.raises(ValueError, match="positive integer"):
        list(count([det], num=0))
    with pytest.raises(ValueError, match="num="):
        list(scan([det], motor, -1, 1))
    with pytest.raises(ValueError, match="triplets"):
        list(scan([det], motor, -1, num=3))
    with pytest.raises(TypeError, match="not a movable device"):
        list(scan([det], det, 0, 1, num=3))
    with pytest.raises(ValueError, match="quadruplets"):
        list(grid_scan([det4], motor1, 0, 1))
    with pytest.raises(ValueError, match="snake_axes"):
        list(grid_scan([det4], motor1, 0, 1, 2, motor2, 0, 1, 2, snake_axes=[motor1]))


def test_subs_decorator_and_baseline_wrapper() -> None:
    def cb(name, doc):
        pass

    @subs_decorator(cb)
    def plan():
        yield from count([det])

    msgs = list(plan())
    assert msgs[0].command == "subscribe" and msgs[0].args == (cb, "all")
    assert msgs[-1].command == "unsubscribe"

    wrapped = list(baseline_wrapper(count([det]), [motor1]))
    cmds = commands(wrapped)
    opened, closed = cmds.index("open_run"), cmds.index("close_run")
    creates = [m.kwargs.get("name") for m in wrapped if m.command == "create"]
    assert creates == ["baseline", "primary", "baseline"]
    assert cmds[opened + 1] != "close_run" and closed > opened
