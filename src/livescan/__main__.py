"""``python -m livescan demo``: a scan in the terminal with the text LiveTable."""

from __future__ import annotations

import argparse
import sys


def demo(num: int = 11, delay: float = 0.05) -> int:
    from livescan import RunEngine
    from livescan.callbacks import LiveTable
    from livescan.plans import count, scan
    from livescan.sim import det, det1, det2, det3, motor

    RE = RunEngine()
    motor.delay = delay
    print(f"A {num}-point scan of det over motor (Ctrl-C aborts it cleanly):\n")
    uids = RE(scan([det], motor, -2, 2, num=num), LiveTable([det, motor]))
    print(f"\nrun uids: {list(uids)}  exit_status: {uids.exit_status}\n")
    print("A count of det1, det2 and det3:\n")
    RE(count([det1, det2, det3], num=4), LiveTable([det1, det2, det3]))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="livescan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="run a scan in the terminal with a LiveTable")
    p.add_argument("--num", type=int, default=11, help="points in the scan (11)")
    p.add_argument("--delay", type=float, default=0.05, help="motor move time in s (0.05)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        try:
            return demo(args.num, args.delay)
        except KeyboardInterrupt:
            print("\ninterrupted: the run was aborted cleanly", file=sys.stderr)
            return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
