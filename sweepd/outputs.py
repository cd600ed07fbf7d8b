"""Which output layer and loss a model gets on a dataset: the rule both the engine's heads and
the submission check apply, in plain Python (checking a submission imports no torch).
"""

from __future__ import annotations

from sweepd.errors import InvalidSpec


def resolve_output(output: str, loss: str, n_classes: int) -> tuple[str, str]:
    """The (output, loss) pair a model trains with on `n_classes` classes.

    Args:
        output: "auto", "sigmoid" or "softmax" (auto: sigmoid for 2 classes, else softmax).
        loss: "auto", "bce", "ce" or "mse" (auto: bce for sigmoid, ce for softmax; ce on a
            sigmoid output is bce).

    Returns:
        ("sigmoid", "bce" | "mse") or ("softmax", "ce" | "mse").

    Raises:
        InvalidSpec: sigmoid output on more than two classes, or bce with a softmax output.
    """
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
