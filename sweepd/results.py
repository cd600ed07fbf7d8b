"""What a trained trial gives back: `TrialResult`, produced by the engine and stored as is."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TailMetrics(BaseModel):
    """The final metrics averaged over the parameters after each of the last `steps` steps.

    At the edge of stability the last step lands on one phase of a 2-cycle whose phases differ
    in accuracy by more than the seed spread; the mean over an even number of consecutive
    steps weighs both phases alike, so comparisons rank on these values (issue 11).
    `oscillating` is a period-2 cycle of the training cost told from consecutive steps;
    `cost_gap` and `accuracy_gap` are |mean(even steps) − mean(odd steps)| of the training
    cost and of the accuracy on the evaluation set (test, else train).
    """

    model_config = ConfigDict(extra="forbid")

    steps: int = Field(ge=1)
    train_cost: float | None
    train_accuracy: float | None
    test_cost: float | None = None
    test_accuracy: float | None = None
    oscillating: bool = False
    cost_gap: float | None = None
    accuracy_gap: float | None = None


class ResultFields(BaseModel):
    """What every view of a trial's result shows: the engine's `TrialResult`, the store's
    `ResultRecord` and the API's `ResultPublic` extend this one field list (a new result column
    is added here, in the ORM row and in a migration).

    Costs and accuracies are `None` when they are not finite (a diverged trial) or when there
    is no test set. `curve[i]` is the training cost before step `i * curve_every`; the last
    entry is the cost after the final step. `train_cost_tail` is the mean training cost over
    the last 5 % of steps; `tail` holds every final metric averaged over the last few steps
    (at the edge of stability the final value oscillates, so comparisons use these).
    """

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok", "diverged"]
    train_cost: float | None
    train_accuracy: float | None
    test_cost: float | None
    test_accuracy: float | None
    train_cost_tail: float | None
    steps: int = Field(ge=0)
    diverged_step: int | None = None
    wall_seconds: float = Field(ge=0)
    curve_every: int = Field(ge=1)
    curve: list[float | None]
    final_sha256: str
    initial_sha256: str | None = None
    environment: dict[str, Any] = Field(default_factory=dict)
    tail: TailMetrics | None = None  # None for diverged trials and results stored before it


class TrialResult(ResultFields):
    """The outcome of one trial, as the engine returns it and the store keeps it: the result
    fields plus the cell it belongs to and the weights. Weights are safetensors bytes in Keras
    layout (`layers.{i}.kernel` of shape (fan_in, fan_out), `layers.{i}.bias`), with their
    sha256."""

    cell_key: str
    final_weights: bytes
    initial_weights: bytes | None = None
