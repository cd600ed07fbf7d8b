"""The spec's models in `/openapi.json` (issue 13, item 10): every field described, an example
that validates, the initializer shorthand declared."""

from __future__ import annotations

from sweepd.spec import INITIALIZER_NAMES, SweepSpec

SPEC_MODELS = ("SweepSpec", "DatasetSpec", "ModelSpec", "TrainingSpec", "SeedRange", "StoreSpec",
               "Constant", "RandomNormal", "VarianceScaling", "GlorotUniform", "TorchDefault")


def test_every_field_of_the_spec_models_has_a_description(anonymous):
    schemas = anonymous.get("/openapi.json").json()["components"]["schemas"]
    assert set(SPEC_MODELS) <= set(schemas)
    spec_models = [name for name, body in schemas.items()
                   if name in SPEC_MODELS or body.get("properties", {}).get("name", {})
                   .get("const") in INITIALIZER_NAMES]
    missing = [f"{model}.{field}" for model in spec_models
               for field, prop in schemas[model].get("properties", {}).items()
               if not prop.get("description")]
    assert missing == []
    assert sum(len(schemas[m].get("properties", {})) for m in spec_models) > 60


def test_the_spec_schema_has_an_example_that_validates(anonymous):
    schema = anonymous.get("/openapi.json").json()["components"]["schemas"]["SweepSpec"]
    [example] = schema["examples"]
    assert SweepSpec.model_validate(example).n_trials == 24


def test_the_initializer_shorthand_is_declared(anonymous):
    schema = anonymous.get("/openapi.json").json()["components"]["schemas"]["SweepSpec"]
    items = schema["properties"]["initializers"]["items"]
    names = [alt for alt in items["anyOf"] if alt.get("enum")]
    assert names and set(names[0]["enum"]) == set(INITIALIZER_NAMES)
