"""Kernel and bias initializers as users name them: a closed set with Keras 3 semantics.

Only the names and parameters live here (validated, never evaluated); the draws are in
`sweepd.initializers`. Part of the light client: imports pydantic only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, Field, field_validator, model_validator

from sweepd.spec_base import _bounded, _Strict


class Zeros(_Strict):
    name: Literal["zeros"]


class Ones(_Strict):
    name: Literal["ones"]


class Constant(_Strict):
    name: Literal["constant"]
    value: float = _bounded(0.0, -1e6, 1e6)


class RandomNormal(_Strict):
    name: Literal["random_normal"]
    mean: float = _bounded(0.0, -1e3, 1e3)
    stddev: float = Field(0.05, gt=0, le=1e3)


class RandomUniform(_Strict):
    name: Literal["random_uniform"]
    minval: float = _bounded(-0.05, -1e3, 1e3)
    maxval: float = _bounded(0.05, -1e3, 1e3)

    @model_validator(mode="after")
    def _ordered(self) -> RandomUniform:
        if not self.minval < self.maxval:
            raise ValueError("random_uniform needs minval < maxval")
        return self


class TruncatedNormal(_Strict):
    name: Literal["truncated_normal"]
    mean: float = _bounded(0.0, -1e3, 1e3)
    stddev: float = Field(0.05, gt=0, le=1e3)


class VarianceScaling(_Strict):
    name: Literal["variance_scaling"]
    scale: float = Field(1.0, gt=0, le=1e6)
    mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_in"
    # Keras accepts "normal" as a synonym of "truncated_normal"; it is normalised here so that
    # the two spellings give the same cell key.
    distribution: Literal["truncated_normal", "untruncated_normal", "uniform", "normal"] = (
        "truncated_normal"
    )

    @field_validator("distribution")
    @classmethod
    def _normal_is_truncated(cls, value: str) -> str:
        return "truncated_normal" if value == "normal" else value


class GlorotUniform(_Strict):
    name: Literal["glorot_uniform"]


class GlorotNormal(_Strict):
    name: Literal["glorot_normal"]


class LecunUniform(_Strict):
    name: Literal["lecun_uniform"]


class LecunNormal(_Strict):
    name: Literal["lecun_normal"]


class HeUniform(_Strict):
    name: Literal["he_uniform"]


class HeNormal(_Strict):
    name: Literal["he_normal"]


class Orthogonal(_Strict):
    name: Literal["orthogonal"]
    gain: float = _bounded(1.0, -1e3, 1e3)


class Identity(_Strict):
    name: Literal["identity"]
    gain: float = _bounded(1.0, -1e3, 1e3)


class TorchDefault(_Strict):
    """PyTorch `nn.Linear`'s default: U(±1/√fan_in) for the kernel and the bias."""

    name: Literal["torch_default"]


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
