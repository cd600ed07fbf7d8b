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

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    steps: int = Field(ge=1)
    """Last steps averaged over (an even number, so both phases of a 2-cycle weigh alike)."""
    train_cost: float | None
    """Mean training cost over those steps; null when not finite."""
    train_accuracy: float | None
    """Mean training accuracy over those steps, 0–1."""
    test_cost: float | None = None
    """Mean test cost over those steps; null without a test set."""
    test_accuracy: float | None = None
    """Mean test accuracy over those steps, 0–1; null without a test set."""
    oscillating: bool = False
    """The training cost alternates between two values at the end (a period-2 cycle)."""
    cost_gap: float | None = None
    """|mean over even steps − mean over odd steps| of the training cost."""
    accuracy_gap: float | None = None
    """The same gap for the accuracy on the evaluation set (test, else train); for a
    regression target, of its R²."""
    train_r2: float | None = None
    """Mean training R² over those steps; null unless the target is a regression target."""
    test_r2: float | None = None
    """Mean test R² over those steps; null without a test set or a regression target."""


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

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    status: Literal["ok", "diverged"]
    """`ok`, or `diverged` when the cost became infinite or NaN."""
    train_cost: float | None
    """Training cost after the last step; null when not finite."""
    train_accuracy: float | None
    """Training accuracy after the last step, 0–1."""
    test_cost: float | None
    """Test cost after the last step; null without a test set or when not finite."""
    test_accuracy: float | None
    """Test accuracy after the last step, 0–1; null without a test set."""
    train_r2: float | None = None
    """A regression target's training R² after the last step, 1 − cost / Var(y) (the cost is
    the mean squared error); null for classes, where the accuracy is given instead."""
    test_r2: float | None = None
    """The test R² after the last step (1 − test cost / Var(y_test)); null without a test set
    or a regression target."""
    train_cost_tail: float | None
    """Mean training cost over the last 5 % of the recorded curve."""
    steps: int = Field(ge=0)
    """Optimizer steps run (fewer than asked when the run diverged)."""
    diverged_step: int | None = None
    """The step at which the cost stopped being finite; null when it did not diverge."""
    wall_seconds: float = Field(ge=0)
    """The trial's share of its batch's wall time: batch seconds ÷ trials in the batch (see
    environment.batch_seconds)."""
    curve_every: int = Field(ge=1)
    """Steps between two recorded points of `curve`."""
    curve: list[float | None]
    """Training cost before step i × curve_every; the last entry is the cost after the final step;
    null where not finite."""
    final_sha256: str
    """SHA-256 of the final weights' safetensors file."""
    initial_sha256: str | None = None
    """SHA-256 of the initial weights' file, when they were stored (store.initial_weights)."""
    environment: dict[str, Any] = Field(default_factory=dict)
    """Where and how it ran: versions of Python and PyTorch, device, threads, batch_trials,
    batch_seconds."""
    tail: TailMetrics | None = None
    """The final metrics averaged over the last steps; null for diverged trials."""


class TrialResult(ResultFields):
    """The outcome of one trial, as the engine returns it and the store keeps it: the result
    fields plus the cell it belongs to and the weights. Weights are safetensors bytes in Keras
    layout (`layers.{i}.kernel` of shape (fan_in, fan_out), `layers.{i}.bias`), with their
    sha256."""

    cell_key: str
    final_weights: bytes
    initial_weights: bytes | None = None
