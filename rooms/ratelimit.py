"""A token bucket per connection: what a client may send, and when it is flooding."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``rate`` messages a second on average, bursts of up to ``burst``.

    A message over the limit is refused (``allow`` is False). Refusals in a row are counted;
    a client that keeps sending while refused ``burst`` times is flooding (``flooding``).
    """

    rate: float
    burst: int
    tokens: float = -1.0
    last: float | None = None
    refused_in_a_row: int = 0

    def allow(self, now: float) -> bool:
        if self.last is None:
            self.tokens = float(self.burst)
        else:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False

    @property
    def flooding(self) -> bool:
        return self.refused_in_a_row >= self.burst
