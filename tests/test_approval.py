"""The minutes approval chain as a pure state machine: every rule by table."""

from __future__ import annotations

import pytest

from agenda.approval import (
    Approved,
    BadChain,
    MinutesStatus,
    Rejected,
    Workflow,
    WorkflowError,
    approve,
    draft,
    reject,
    submit,
)

SECRETARY, DEPUTY, CHAIR, OUTSIDER = 11, 12, 13, 99


def drafted(versions: int = 1) -> Workflow:
    state = Workflow()
    for _ in range(versions):
        state, _ = draft(state)
    return state


def in_approval(signed: int = 0) -> Workflow:
    state, _ = submit(drafted(), 1, [SECRETARY, DEPUTY, CHAIR])
    for step in range(signed):
        state, _ = approve(state, state.approvers[step], 1, step)
    return state


def test_three_leaders_sign_in_order_and_the_last_makes_it_final() -> None:
    state = in_approval()
    assert state.status is MinutesStatus.IN_APPROVAL and state.next_approver == SECRETARY
    state, event = approve(state, SECRETARY, 1, 0)
    assert event == Approved(SECRETARY, 1, 0, final=False)
    state, event = approve(state, DEPUTY, 1, 1)
    assert state.next_approver == CHAIR
    state, event = approve(state, CHAIR, 1, 2)
    assert event.final and state.status is MinutesStatus.FINAL and state.next_approver is None


@pytest.mark.parametrize(
    ("signed", "approver", "version", "step", "code"),
    [
        (0, DEPUTY, 1, 0, "not_your_turn"),
        (0, CHAIR, 1, 0, "not_your_turn"),
        (1, SECRETARY, 1, 1, "already_signed"),
        (1, SECRETARY, 1, 0, "already_signed"),
        (1, DEPUTY, 1, 0, "stale_step"),  # someone signed while the deputy was reading
        (2, CHAIR, 1, 1, "stale_step"),
        (0, OUTSIDER, 1, 0, "not_an_approver"),
        (0, SECRETARY, 2, 0, "stale_version"),
        (3, CHAIR, 1, 2, "minutes_final"),
    ],
)
def test_out_of_order_duplicate_and_stale_approvals_are_refused(
    signed: int, approver: int, version: int, step: int, code: str
) -> None:
    state = in_approval(signed)
    with pytest.raises(WorkflowError) as refused:
        approve(state, approver, version, step)
    assert refused.value.code == code
    assert refused.value.status == 409
    with pytest.raises(WorkflowError):
        reject(state, approver, version, step, "sai số liệu")


def test_a_rejection_returns_to_draft_and_a_new_version_starts_the_chain_again() -> None:
    state = in_approval(signed=1)
    state, event = reject(state, DEPUTY, 1, 1, "  Sửa số liệu mục 2  ")
    assert event == Rejected(DEPUTY, 1, 1, "Sửa số liệu mục 2")
    assert state.status is MinutesStatus.DRAFT and state.signed == 0 and state.approvers == ()
    with pytest.raises(WorkflowError) as again:
        submit(state, 1, [SECRETARY])
    assert again.value.code == "version_rejected"
    state, _ = draft(state)
    state, _ = submit(state, 2, [SECRETARY, CHAIR])
    assert state.submitted_version == 2 and state.next_approver == SECRETARY
    with pytest.raises(WorkflowError) as old:
        approve(state, SECRETARY, 1, 0)
    assert old.value.code == "stale_version"


def test_a_rejection_needs_a_comment() -> None:
    with pytest.raises(BadChain) as refused:
        reject(in_approval(), SECRETARY, 1, 0, "   ")
    assert refused.value.code == "comment_required" and refused.value.status == 422


@pytest.mark.parametrize(
    ("version", "approvers", "code", "status"),
    [
        (1, [], "no_approvers", 422),
        (1, [SECRETARY, SECRETARY], "duplicate_approver", 422),
        (2, [SECRETARY], "stale_version", 409),
        (0, [SECRETARY], "stale_version", 409),
    ],
)
def test_bad_submissions(version: int, approvers: list[int], code: str, status: int) -> None:
    with pytest.raises(WorkflowError) as refused:
        submit(drafted(), version, approvers)
    assert (refused.value.code, refused.value.status) == (code, status)


def test_nothing_changes_while_in_approval_or_once_final() -> None:
    for state in (in_approval(1), in_approval(3)):
        with pytest.raises(WorkflowError) as locked:
            draft(state)
        assert locked.value.code == "minutes_locked"
        with pytest.raises(WorkflowError):
            submit(state, state.latest_version, [CHAIR])


def test_submitting_an_older_draft_is_refused() -> None:
    with pytest.raises(WorkflowError) as stale:
        submit(drafted(3), 2, [CHAIR])
    assert stale.value.code == "stale_version"


def test_the_secretary_withdraws_a_chain_that_cannot_finish() -> None:
    from agenda.approval import Withdrawn, withdraw

    state, event = withdraw(in_approval(signed=1))
    assert event == Withdrawn(1, 1)
    assert state.status is MinutesStatus.DRAFT and state.signed == 0
    state, _ = submit(state, 1, [CHAIR])  # the same version, a new chain
    assert state.next_approver == CHAIR
    for stuck in (drafted(), in_approval(3)):
        with pytest.raises(WorkflowError) as refused:
            withdraw(stuck)
        assert refused.value.code == "not_in_approval"
