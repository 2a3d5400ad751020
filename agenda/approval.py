"""The approval chain of a meeting's minutes, as a pure state machine.

    draft --submit(version, approvers)--> in_approval --approve x n--> final
                                           |
                                           +--reject(comment)--> draft
                                           +--withdraw---------> draft

The secretary submits one version with an ordered list of approvers; that version is then
frozen. Each approver in turn approves (signs) it, or rejects it with a comment, which
returns the minutes to draft: a new version starts a new chain. The last approval makes
the minutes final, and final minutes never change.

An approval names the version and the step (how many had signed when the approver looked)
it was made on, so an approval made on a stale view is refused, not applied to a document
that has changed under it. Who may act, and in which order, is decided here, so every rule
is tested without a database, HTTP or pyHanko.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class MinutesStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_APPROVAL = "in_approval"
    FINAL = "final"


class WorkflowError(Exception):
    """A step that does not apply now; ``code`` is stable, ``status`` the HTTP status."""

    status = 409

    def __init__(self, code: str, message: str, state: Workflow) -> None:
        super().__init__(f"{message} (minutes are {state.status.value})")
        self.code = code
        self.message = message
        self.state = state


class BadChain(WorkflowError):
    status = 422


@dataclass(frozen=True)
class Workflow:
    status: MinutesStatus = MinutesStatus.DRAFT
    latest_version: int = 0  # the newest version drafted (0: none yet)
    submitted_version: int | None = None  # frozen while in approval, and once final
    approvers: tuple[int, ...] = ()  # user ids, in the order they sign
    signed: int = 0  # how many of them have signed
    rejected_version: int | None = None  # a rejected version is not submitted again

    @property
    def next_approver(self) -> int | None:
        if self.status is not MinutesStatus.IN_APPROVAL:
            return None
        return self.approvers[self.signed]


@dataclass(frozen=True)
class Drafted:
    """A new version was saved by the secretary."""


@dataclass(frozen=True)
class Submitted:
    version: int
    approvers: tuple[int, ...]


@dataclass(frozen=True)
class Approved:
    approver: int
    version: int
    step: int  # 0 for the first signature
    final: bool


@dataclass(frozen=True)
class Rejected:
    approver: int
    version: int
    step: int
    comment: str


Event = Drafted | Submitted | Approved | Rejected


def draft(state: Workflow) -> tuple[Workflow, Drafted]:
    """A new version: allowed unless a chain is running or the minutes are final."""
    if state.status is not MinutesStatus.DRAFT:
        raise WorkflowError(
            "minutes_locked",
            "a new version can only be drafted while the minutes are a draft",
            state,
        )
    return replace(state, latest_version=state.latest_version + 1), Drafted()


def submit(state: Workflow, version: int, approvers: list[int]) -> tuple[Workflow, Submitted]:
    if state.status is not MinutesStatus.DRAFT:
        raise WorkflowError("minutes_locked", "the minutes are not a draft", state)
    if version != state.latest_version or version < 1:
        raise WorkflowError(
            "stale_version", f"version {version} is not the newest ({state.latest_version})", state
        )
    if version == state.rejected_version:
        raise WorkflowError(
            "version_rejected", f"version {version} was rejected; draft a new version", state
        )
    if not approvers:
        raise BadChain("no_approvers", "name at least one approver", state)
    if len(set(approvers)) != len(approvers):
        raise BadChain("duplicate_approver", "each approver signs once", state)
    chain = tuple(approvers)
    return (
        replace(
            state,
            status=MinutesStatus.IN_APPROVAL,
            submitted_version=version,
            approvers=chain,
            signed=0,
        ),
        Submitted(version, chain),
    )


def _check_turn(state: Workflow, approver: int, version: int, step: int) -> None:
    if state.status is MinutesStatus.FINAL:
        raise WorkflowError("minutes_final", "the minutes are already final", state)
    if state.status is not MinutesStatus.IN_APPROVAL:
        raise WorkflowError("not_in_approval", "the minutes have not been submitted", state)
    if version != state.submitted_version:
        raise WorkflowError(
            "stale_version",
            f"version {state.submitted_version} is in approval, not {version}",
            state,
        )
    if approver not in state.approvers:
        raise WorkflowError("not_an_approver", "you are not an approver of these minutes", state)
    position = state.approvers.index(approver)
    if position < state.signed:
        raise WorkflowError("already_signed", "you have already signed these minutes", state)
    if step != state.signed:
        raise WorkflowError(
            "stale_step", f"{state.signed} approvers have signed meanwhile; look again", state
        )
    if position != state.signed:
        raise WorkflowError("not_your_turn", "an earlier approver has not signed yet", state)


def approve(state: Workflow, approver: int, version: int, step: int) -> tuple[Workflow, Approved]:
    _check_turn(state, approver, version, step)
    signed = state.signed + 1
    final = signed == len(state.approvers)
    status = MinutesStatus.FINAL if final else MinutesStatus.IN_APPROVAL
    return replace(state, status=status, signed=signed), Approved(approver, version, step, final)


def reject(
    state: Workflow, approver: int, version: int, step: int, comment: str
) -> tuple[Workflow, Rejected]:
    _check_turn(state, approver, version, step)
    if not comment.strip():
        raise BadChain("comment_required", "say why the minutes are rejected", state)
    return (
        replace(
            state,
            status=MinutesStatus.DRAFT,
            submitted_version=None,
            approvers=(),
            signed=0,
            rejected_version=version,
        ),
        Rejected(approver, version, step, comment.strip()),
    )


@dataclass(frozen=True)
class Withdrawn:
    version: int
    signed: int  # signatures dropped with the withdrawn chain


def withdraw(state: Workflow) -> tuple[Workflow, Withdrawn]:
    """The secretary takes the minutes back from a chain that cannot finish (an approver
    who left or cannot see them): back to draft; the version may be submitted again."""
    if state.status is not MinutesStatus.IN_APPROVAL or state.submitted_version is None:
        raise WorkflowError("not_in_approval", "the minutes are not in approval", state)
    event = Withdrawn(state.submitted_version, state.signed)
    return (
        replace(state, status=MinutesStatus.DRAFT, submitted_version=None, approvers=(), signed=0),
        event,
    )
