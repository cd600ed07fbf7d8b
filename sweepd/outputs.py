"""Which output layer and loss a model gets on a dataset: the rule both the engine's heads and
the submission check apply, in plain Python (checking a submission imports no torch).
"""

from __future__ import annotations

from sweepd.errors import InvalidSpec


def resolve_output(output: str, loss: str, n_classes: int) -> tuple[str, str]:
    """The (output, loss) pair a model trains with on `n_classes` classes.

    Args:
        output: "auto", "sigmoid", "softmax" or "linear" (auto: sigmoid for 2 classes, linear
            for a regression target, else softmax).
        loss: "auto", "bce", "ce" or "mse" (auto: bce for sigmoid, ce for softmax, mse for
            linear; ce on a sigmoid output is bce).
        n_classes: classes of the dataset; 0 for a regression target.

    Returns:
        ("sigmoid", "bce" | "mse"), ("softmax", "ce" | "mse") or ("linear", "mse").

    Raises:
        InvalidSpec: sigmoid output on more than two classes, bce with a softmax output, a
            linear output on classes, or a regression target with a classifier's output or
            loss.
    """
    if n_classes == 0:  # a regression target (an uploaded data set with task regression)
        if output not in ("auto", "linear"):
            raise InvalidSpec(f"model.output: the data set has a regression target, which "
                              f"takes a linear output (or auto), not {output}")
        if loss not in ("auto", "mse"):
            raise InvalidSpec(f"training.loss: the data set has a regression target, which "
                              f"trains with mse (or auto), not {loss}")
        return "linear", "mse"
    if output == "linear":
        raise InvalidSpec("model.output: a linear output is for a regression target; this data "
                          f"set has {n_classes} classes (use sigmoid, softmax or auto)")
    if output == "auto":
        output = "sigmoid" if n_classes == 2 else "softmax"
    if output == "sigmoid" and n_classes != 2:
        raise InvalidSpec(f"model.output: a sigmoid output needs 2 classes, the dataset has "
                          f"{n_classes}; use softmax")
    if output == "sigmoid":
        return output, "mse" if loss == "mse" else "bce"
    if loss == "bce":
        raise InvalidSpec("training.loss: bce needs a sigmoid output; use ce with softmax")
    return output, "mse" if loss == "mse" else "ce"


def output_units(output: str, n_classes: int) -> int:
    """Units of a resolved output layer: one for sigmoid and linear, one per class for
    softmax."""
    return n_classes if output == "softmax" else 1
