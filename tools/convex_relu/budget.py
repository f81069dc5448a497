"""The iterations, deadline and trace shared by the phases of a solve."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tools.group_lasso.prox import Certificate, Stop, TracePoint

UNCAPPED = 2**62
"""The iteration cap handed to ``tools.group_lasso.prox.fista`` when the caller set none: the
deadline stops it first."""


@dataclass
class Budget:
    """Iterations (``max_iter``; ``None``: no cap, the deadline decides), the deadline
    (``time.perf_counter()`` scale) and the trace (a point every ``trace_every`` iterations;
    0: none) shared by the phases of a solve."""

    max_iter: int | None
    deadline: float
    trace_every: int
    used: int = 0
    trace: list[TracePoint] = field(default_factory=list)

    def record(self, cert: Certificate) -> None:
        if self.trace_every and (
            not self.trace or self.used - self.trace[-1].iteration >= self.trace_every
        ):
            self.trace.append(TracePoint(self.used, cert.primal, cert.relative_gap))

    def finish(self, cert: Certificate) -> None:
        """Close the trace with the final point."""
        if self.trace_every and self.trace and self.trace[-1].iteration != self.used:
            self.trace.append(TracePoint(self.used, cert.primal, cert.relative_gap))

    def iterations_left(self) -> int:
        return UNCAPPED if self.max_iter is None else max(self.max_iter - self.used, 0)

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    def stop(self) -> Stop | None:
        if self.max_iter is not None and self.used >= self.max_iter:
            return "max_iter"
        if self.out_of_time():
            return "time_limit"
        return None
