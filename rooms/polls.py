"""Votes (biểu quyết): who may vote in a poll, and the result, as pure functions.

A live poll is open to the participants present when it opened: one ballot per conference
point, or one per person (officials and leaders). The first option is the motion's "agree"
(by default: Tán thành / Không tán thành / Không biểu quyết), and the rule says what share
of agree votes passes it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from rooms.state import Member, Role

DEFAULT_OPTIONS = ("Tán thành", "Không tán thành", "Không biểu quyết")
PEOPLE_ROLES = frozenset({Role.OFFICIAL, Role.CHAIR, Role.SECRETARY})


class Voters(enum.StrEnum):
    POINTS = "points"  # one ballot per conference point
    PEOPLE = "people"  # one ballot per official present


class Rule(enum.StrEnum):
    """What passes the motion (Vietnamese councils decide by more than half of all their
    members, not of those who voted)."""

    MAJORITY_OF_ELIGIBLE = "majority_of_eligible"
    MAJORITY_OF_CAST = "majority_of_cast"
    TWO_THIRDS_OF_ELIGIBLE = "two_thirds_of_eligible"


def eligible(members: Iterable[Member], voters: Voters) -> frozenset[str]:
    """The keys of the members who may vote, from those present now."""
    if voters is Voters.POINTS:
        return frozenset(m.key for m in members if m.kind == "point")
    return frozenset(m.key for m in members if m.kind == "user" and m.role in PEOPLE_ROLES)


@dataclass(frozen=True)
class Result:
    options: tuple[str, ...]
    counts: tuple[int, ...]
    eligible: int
    cast: int
    rule: Rule
    passed: bool

    @property
    def pct_of_eligible(self) -> tuple[float, ...]:
        return tuple(_pct(c, self.eligible) for c in self.counts)

    @property
    def pct_of_cast(self) -> tuple[float, ...]:
        return tuple(_pct(c, self.cast) for c in self.counts)

    def as_dict(self) -> dict[str, object]:
        return {
            "options": list(self.options),
            "counts": list(self.counts),
            "pct_of_eligible": list(self.pct_of_eligible),
            "pct_of_cast": list(self.pct_of_cast),
            "eligible": self.eligible,
            "cast": self.cast,
            "not_voted": self.eligible - self.cast,
            "rule": self.rule.value,
            "passed": self.passed,
        }


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def tally(options: tuple[str, ...], counts: Iterable[int], eligible: int, rule: Rule) -> Result:
    """The result from the count of each option (ballots are counted elsewhere: in the
    room for open polls, in the secret ballot box for secret ones)."""
    counted = tuple(counts)
    if len(counted) != len(options):
        raise ValueError("one count per option")
    cast = sum(counted)
    if cast > eligible:
        raise ValueError(f"{cast} ballots for {eligible} voters")
    agree = counted[0]
    if rule is Rule.MAJORITY_OF_ELIGIBLE:
        passed = 2 * agree > eligible
    elif rule is Rule.MAJORITY_OF_CAST:
        passed = cast > 0 and 2 * agree > cast
    else:
        passed = 3 * agree >= 2 * eligible and eligible > 0
    return Result(options, counted, eligible, cast, rule, passed)


def count_choices(options: tuple[str, ...], choices: Iterable[int]) -> list[int]:
    counts = [0] * len(options)
    for choice in choices:
        counts[choice] += 1
    return counts
