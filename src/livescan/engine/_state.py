"""The RunEngine's states and the transitions between them."""

from __future__ import annotations

from enum import StrEnum

from livescan.errors import IllegalStateTransition

__all__ = ["RunEngineState", "check_transition"]


class RunEngineState(StrEnum):
    """The states of a RunEngine (a ``str`` enum: ``RE.state == "idle"`` works)."""

    IDLE = "idle"
    RUNNING = "running"
    PAUSING = "pausing"  # a pause was asked for; it happens at the next checkpoint
    PAUSED = "paused"
    STOPPING = "stopping"  # ending the run cleanly, exit_status 'success'
    ABORTING = "aborting"  # ending the run cleanly, exit_status 'abort'
    HALTING = "halting"  # ending the run without the plan's own cleanup
    #: as bluesky: a suspender tripped and the engine has not yet taken it up (brief:
    #: back to ``running`` while the suspension waits for its condition)
    SUSPENDING = "suspending"

    # bluesky's state machine answers these (its suspenders ask ``RE.state.is_running``)
    @property
    def is_idle(self) -> bool:
        """Nothing runs."""
        return self is RunEngineState.IDLE

    @property
    def is_running(self) -> bool:
        """A run goes on."""
        return self is RunEngineState.RUNNING

    @property
    def is_pausing(self) -> bool:
        """A pause waits for the next checkpoint."""
        return self is RunEngineState.PAUSING

    @property
    def is_paused(self) -> bool:
        """The run is paused."""
        return self is RunEngineState.PAUSED

    @property
    def can_pause(self) -> bool:
        """A pause may be asked for now."""
        return self in (RunEngineState.RUNNING, RunEngineState.PAUSING, RunEngineState.SUSPENDING)


S = RunEngineState
_ENDING = {S.STOPPING, S.ABORTING, S.HALTING}
_ALLOWED: dict[RunEngineState, set[RunEngineState]] = {
    S.IDLE: {S.RUNNING},
    S.RUNNING: {S.PAUSING, S.PAUSED, S.SUSPENDING, *_ENDING, S.IDLE},
    # (bluesky refuses a pause here; livescan takes Ctrl-C's pause in this brief state)
    S.SUSPENDING: {S.RUNNING, S.PAUSING, S.PAUSED, *_ENDING, S.IDLE},
    S.PAUSING: {S.PAUSED, S.RUNNING, *_ENDING, S.IDLE},
    S.PAUSED: {S.RUNNING, *_ENDING},
    S.STOPPING: {S.ABORTING, S.HALTING, S.IDLE},
    S.ABORTING: {S.HALTING, S.IDLE},
    S.HALTING: {S.IDLE},
}

_VERB = {
    S.RUNNING: "resume",
    S.PAUSING: "pause",
    S.PAUSED: "pause",
    S.STOPPING: "stop",
    S.ABORTING: "abort",
    S.HALTING: "halt",
    S.SUSPENDING: "suspend",
    S.IDLE: "finish",
}

_HINT = {
    S.IDLE: "nothing is running; start a plan with RE(plan)",
    S.RUNNING: "the run is going; RE.pause(), RE.stop(), RE.abort() or RE.halt() it",
    S.PAUSING: "a pause is pending (it happens at the next checkpoint); RE.resume() cancels it",
    S.PAUSED: "the run is paused; RE.resume(), RE.stop(), RE.abort() or RE.halt() it",
    S.STOPPING: "the run is being stopped already",
    S.ABORTING: "the run is being aborted already",
    S.HALTING: "the run is being halted already",
    S.SUSPENDING: "a suspender tripped; the run suspends before its next message",
}


def check_transition(old: RunEngineState, new: RunEngineState) -> None:
    if new not in _ALLOWED[old]:
        raise IllegalStateTransition(
            f"cannot {_VERB[new]} while the RunEngine is {old.value}: {_HINT[old]}"
        )
