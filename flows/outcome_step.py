"""The survey answer step of a turn: runs right after ``load``, before anything classifies the message.
Like the steps in ``flows/steps.py``, ``flows/turn.py`` wraps it in a retried task.

A customer who answers the resolution survey ("yes", "nein", "4", "ja 5") is not starting a new
request: the answer is recorded (``services.outcomes``) and the turn ends here. Anything else passes
through untouched (``work.outcome`` stays None)."""

from __future__ import annotations

from flows.turn_work import TurnDeps, TurnOutcome, TurnWork
from services.outcomes import AnswerTaken, Outcomes

__all__ = ["take_outcome_answer"]


async def take_outcome_answer(deps: TurnDeps, work: TurnWork) -> TurnWork:
    """Record a survey answer and set ``work.outcome``; leave any other message to the turn."""
    assert work.message is not None
    taken = await Outcomes(deps.services).take_answer(work.message)
    if taken is None:
        return work
    if taken.taken is AnswerTaken.NOT_SOLVED:
        work.outcome = TurnOutcome.HANDED_OFF
    elif taken.reply_queued:
        work.outcome = TurnOutcome.REPLY_QUEUED
    elif taken.taken is AnswerTaken.REPEAT:
        work.outcome = TurnOutcome.HUMAN_IN_CHARGE if work.human_in_charge else TurnOutcome.ALREADY_DONE
    else:
        work.outcome = TurnOutcome.AUTO_REPLIED  # the thanks went out (a system text)
    return work
