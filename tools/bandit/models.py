"""The bandit tools' JSON inputs and outputs (pydantic models; bounds from ``store``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tools.bandit.store import (
    MAX_EXPERIMENT_ARMS,
    MAX_HISTORY,
)
from tools.patterns import NAME_PATTERN, REQUEST_ID_PATTERN
from tools.schema import ToolInput, ToolOutput
from tools.ucb import C_FIELD, SEED_FIELD, TIE_BREAK_FIELD, Reason, Reward, TieBreak

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
RequestId = Annotated[str, Field(pattern=REQUEST_ID_PATTERN)]

NAME_FIELD_DOC = "experiment name: 1–64 of A–Z a–z 0–9 _ . -"


class HistoryRecord(ToolInput):
    arm: int | Name = Field(description="arm index, or its label")
    reward: Reward
    request_id: RequestId = Field(description="unique id of this observation")


class CreateInput(ToolInput):
    name: Name = Field(description=NAME_FIELD_DOC)
    arms: (
        Annotated[int, Field(ge=1, le=MAX_EXPERIMENT_ARMS)]
        | Annotated[
            list[Name],
            Field(
                min_length=1,
                max_length=MAX_EXPERIMENT_ARMS,
                json_schema_extra={"uniqueItems": True},
            ),
        ]
    ) = Field(
        description="the number of arms (labelled '0', '1', …) or the list of distinct arm labels"
    )
    c: float = C_FIELD
    history: list[HistoryRecord] = Field(
        default_factory=list,
        max_length=MAX_HISTORY,
        description="past observations to record now, each with a request_id (skipped if "
        "already recorded)",
    )


class ExperimentOutput(ToolOutput):
    name: str
    arms: list[str] = Field(description="arm labels; arm i is arms[i]")
    c: float
    counts: list[int] = Field(description="pulls per arm")
    means: list[float] = Field(description="mean reward per arm (0 while untried)")
    t: int = Field(description="total pulls recorded")
    best_arm: int | None = Field(description="the tried arm with the highest mean, if any")
    upper_bounds: list[float | None] = Field(
        description="upper confidence bound per arm, mean + c·sqrt(ln t / n); null while untried"
    )


class NameInput(ToolInput):
    name: Name = Field(description=NAME_FIELD_DOC)


class NextInput(NameInput):
    tie_break: TieBreak = TIE_BREAK_FIELD
    seed: int | None = SEED_FIELD


class NextOutput(ToolOutput):
    name: str
    arm: int = Field(description="the arm to pull next")
    label: str = Field(description="its label")
    scores: list[float | None] = Field(description="UCB score per arm; null while any is untried")
    counts: list[int]
    means: list[float]
    t: int
    reason: Reason
    tied_arms: list[int]


class RecordInput(NameInput):
    arm: int | Name = Field(description="the arm that was pulled: index, or label")
    reward: Reward = Field(description="the reward it gave")
    request_id: RequestId | None = Field(
        None,
        description="unique id of this observation; a retry with the same id is not counted "
        "twice (use one to make retries safe)",
    )


class RecordOutput(ExperimentOutput):
    arm: int = Field(description="index of the arm that was recorded")
    duplicate: bool = Field(description="the request_id was already recorded: nothing changed")
