"""Votes as pure functions: who may vote, and results under each rule, by table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rooms.polls import DEFAULT_OPTIONS, Rule, Voters, count_choices, eligible, tally
from rooms.state import Member, Role

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def member(key: str, role: Role) -> Member:
    kind = "point" if role is Role.POINT else "user"
    return Member(key, kind, int(key[2:]), key, role, None, T0)


ROOM = [
    member("p:1", Role.POINT),
    member("p:2", Role.POINT),
    member("u:10", Role.CHAIR),
    member("u:11", Role.SECRETARY),
    member("u:12", Role.OFFICIAL),
    member("u:13", Role.ADMIN),
]


def test_one_ballot_per_point_or_per_official_present() -> None:
    assert eligible(ROOM, Voters.POINTS) == {"p:1", "p:2"}
    assert eligible(ROOM, Voters.PEOPLE) == {"u:10", "u:11", "u:12"}  # not IT staff


@pytest.mark.parametrize(
    ("counts", "eligible_", "rule", "passed"),
    [
        ((101, 50, 49), 200, Rule.MAJORITY_OF_ELIGIBLE, True),
        ((100, 50, 50), 200, Rule.MAJORITY_OF_ELIGIBLE, False),  # exactly half is not more
        ((90, 10, 0), 200, Rule.MAJORITY_OF_ELIGIBLE, False),  # most did not vote
        ((90, 10, 0), 200, Rule.MAJORITY_OF_CAST, True),
        ((50, 50, 0), 200, Rule.MAJORITY_OF_CAST, False),
        ((0, 0, 0), 200, Rule.MAJORITY_OF_CAST, False),
        ((134, 0, 0), 200, Rule.TWO_THIRDS_OF_ELIGIBLE, True),
        ((133, 67, 0), 200, Rule.TWO_THIRDS_OF_ELIGIBLE, False),
        ((0, 0, 0), 0, Rule.TWO_THIRDS_OF_ELIGIBLE, False),
    ],
)
def test_results_by_rule(
    counts: tuple[int, int, int], eligible_: int, rule: Rule, passed: bool
) -> None:
    result = tally(DEFAULT_OPTIONS, counts, eligible_, rule)
    assert result.passed is passed
    assert result.cast == sum(counts)


def test_percentages_of_eligible_and_of_cast() -> None:
    result = tally(DEFAULT_OPTIONS, (150, 30, 20), 204, Rule.MAJORITY_OF_ELIGIBLE)
    as_dict = result.as_dict()
    assert as_dict["pct_of_eligible"] == [73.53, 14.71, 9.8]
    assert as_dict["pct_of_cast"] == [75.0, 15.0, 10.0]
    assert as_dict["not_voted"] == 4


def test_impossible_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        tally(DEFAULT_OPTIONS, (3, 0, 0), 2, Rule.MAJORITY_OF_CAST)
    with pytest.raises(ValueError):
        tally(DEFAULT_OPTIONS, (1, 0), 2, Rule.MAJORITY_OF_CAST)
    assert count_choices(DEFAULT_OPTIONS, [0, 0, 2]) == [2, 0, 1]
