"""Kernel and bias initializers as users name them: a closed set with Keras 3 semantics.

Only the names and parameters live here (validated, never evaluated); the draws are in
`sweepd.initializers`. Part of the light client: imports pydantic only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from sweepd.spec_base import _bounded, _Strict


def _name(name: str) -> Any:
    return Field(..., description=f"The initializer: {name}.")


class Zeros(_Strict):
    """All zeros."""

    name: Literal["zeros"] = _name("zeros")


class Ones(_Strict):
    """All ones."""

    name: Literal["ones"] = _name("ones")


class Constant(_Strict):
    """Every weight set to `value`."""

    name: Literal["constant"] = _name("constant")
    value: float = _bounded(0.0, -1e6, 1e6, "The value of every weight, in [-1e6, 1e6].")


class RandomNormal(_Strict):
    """N(mean, stddev²)."""

    name: Literal["random_normal"] = _name("random_normal")
    mean: float = _bounded(0.0, -1e3, 1e3, "Mean of the normal distribution, in [-1e3, 1e3].")
    stddev: float = Field(0.05, gt=0, le=1e3,
                          description="Standard deviation, in (0, 1e3].")


class RandomUniform(_Strict):
    """U(minval, maxval)."""

    name: Literal["random_uniform"] = _name("random_uniform")
    minval: float = _bounded(-0.05, -1e3, 1e3, "Lower bound, in [-1e3, 1e3]; below maxval.")
    maxval: float = _bounded(0.05, -1e3, 1e3, "Upper bound, in [-1e3, 1e3]; above minval.")

    @model_validator(mode="after")
    def _ordered(self) -> RandomUniform:
        if not self.minval < self.maxval:
            raise ValueError("random_uniform needs minval < maxval")
        return self


class TruncatedNormal(_Strict):
    """N(mean, stddev²) redrawn beyond two standard deviations (Keras)."""

    name: Literal["truncated_normal"] = _name("truncated_normal")
    mean: float = _bounded(0.0, -1e3, 1e3, "Mean before truncation, in [-1e3, 1e3].")
    stddev: float = Field(0.05, gt=0, le=1e3,
                          description="Standard deviation before truncation, in (0, 1e3].")


class VarianceScaling(_Strict):
    """Variance `scale / n`, n the fan chosen by `mode` (Keras 3 semantics)."""

    name: Literal["variance_scaling"] = _name("variance_scaling")
    scale: float = Field(1.0, gt=0, le=1e6,
                         description="Variance numerator (scale / fan), in (0, 1e6].")
    mode: Literal["fan_in", "fan_out", "fan_avg"] = Field(
        "fan_in", description="Which fan divides the scale: inputs, outputs or their mean.")
    # Keras accepts "normal" as a synonym of "truncated_normal"; it is normalised here so that
    # the two spellings give the same cell key.
    distribution: Literal["truncated_normal", "untruncated_normal", "uniform", "normal"] = Field(
        "truncated_normal", description="The distribution drawn from; `normal` means "
        "`truncated_normal`, as in Keras.")

    @field_validator("distribution")
    @classmethod
    def _normal_is_truncated(cls, value: str) -> str:
        return "truncated_normal" if value == "normal" else value


class GlorotUniform(_Strict):
    """U(±√(6 / (fan_in + fan_out))), the Keras default."""

    name: Literal["glorot_uniform"] = _name("glorot_uniform")


class GlorotNormal(_Strict):
    """Truncated normal of variance 2 / (fan_in + fan_out)."""

    name: Literal["glorot_normal"] = _name("glorot_normal")


class LecunUniform(_Strict):
    """U(±√(3 / fan_in))."""

    name: Literal["lecun_uniform"] = _name("lecun_uniform")


class LecunNormal(_Strict):
    """Truncated normal of variance 1 / fan_in."""

    name: Literal["lecun_normal"] = _name("lecun_normal")


class HeUniform(_Strict):
    """U(±√(6 / fan_in))."""

    name: Literal["he_uniform"] = _name("he_uniform")


class HeNormal(_Strict):
    """Truncated normal of variance 2 / fan_in."""

    name: Literal["he_normal"] = _name("he_normal")


class Orthogonal(_Strict):
    """A random orthogonal matrix times `gain` (kernels only)."""

    name: Literal["orthogonal"] = _name("orthogonal")
    gain: float = _bounded(1.0, -1e3, 1e3, "Multiplier of the orthogonal matrix, in [-1e3, 1e3].")


class Identity(_Strict):
    """The identity matrix (padded or cut to the kernel's shape) times `gain` (kernels only)."""

    name: Literal["identity"] = _name("identity")
    gain: float = _bounded(1.0, -1e3, 1e3, "Multiplier of the identity matrix, in [-1e3, 1e3].")


class TorchDefault(_Strict):
    """PyTorch `nn.Linear`'s default: U(±1/√fan_in) for the kernel and the bias."""

    name: Literal["torch_default"] = _name("torch_default")


Initializer = Annotated[
    Union[
        Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
        GlorotUniform, GlorotNormal, LecunUniform, LecunNormal, HeUniform, HeNormal,
        Orthogonal, Identity, TorchDefault,
    ],
    Field(discriminator="name"),
]

INITIALIZER_NAMES: tuple[str, ...] = (
    "zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal",
    "he_uniform", "he_normal", "orthogonal", "identity", "torch_default",
)


def _name_to_mapping(value: Any) -> Any:
    """Accept the shorthand `"glorot_uniform"` for `{"name": "glorot_uniform"}`."""
    return {"name": value} if isinstance(value, str) else value


InitializerName = Literal[INITIALIZER_NAMES]  # type: ignore[valid-type]
# What a spec may write for an initializer: the object, or its name alone for the defaults.
# The JSON schema says both, so that clients generated from the OpenAPI document accept the
# string form the README uses.
InitializerInput = Annotated[
    Initializer,
    BeforeValidator(_name_to_mapping,
                    json_schema_input_type=Union[Initializer, InitializerName]),  # type: ignore[valid-type]
]


def initializer_label(init: BaseModel) -> str:
    """A short, stable display name: the name, plus the parameters that differ from defaults."""
    params = init.model_dump(exclude_defaults=True, exclude={"name"})
    if not params:
        return init.name  # type: ignore[attr-defined]
    inner = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(params.items()))
    return f"{init.name}({inner})"  # type: ignore[attr-defined]


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
