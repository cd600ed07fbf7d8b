"""Reading a spec file's YAML: bounded before anything is built, numbers as YAML 1.2 reads them.

Two things about plain `yaml.safe_load` matter for specs (issue 14, items 5 and 17):

- Aliases make a document of a few hundred bytes stand for billions of values (nine aliases
  of nine aliases, eight deep: 43 million). Loading shares the objects, so it is quick, but
  everything that walks the result afterwards (validation, an error message's repr) pays for the
  expansion: a 460-byte file took 10 s to print its validation error. The document is therefore
  bounded in bytes before parsing and in expanded size (aliases counted as often as they are
  used) before it is constructed.
- YAML 1.1 reads `1e-3` as a string and `yes`, `on`, `010` and `1:30` as true, true, 8 and 90.
  The spec's types are strict (no strings for numbers, no booleans but true and false), so the
  file is read with the YAML 1.2 core schema instead: `1e-3` is a number, `yes` a string that
  validation then refuses, as JSON would. A key written twice is refused, as in request bodies.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_SPEC_BYTES = 1 << 20  # the service's default request-body limit: a larger file is not sent
MAX_SPEC_NODES = 250_000  # values after expanding aliases: 100 000 seeds fit more than twice

_INT, _FLOAT, _BOOL = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                       "tag:yaml.org,2002:bool")
# The YAML 1.2 core schema's booleans, integers and floats (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_CORE = [
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (_FLOAT, r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
             r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
]


class SpecYamlError(ValueError):
    """The file is too large, its aliases expand too far, or it nests too deeply."""


class _SpecLoader(yaml.SafeLoader):
    """`SafeLoader` with the YAML 1.2 core schema's scalars and a bound on alias expansion."""

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        """Refuse a key written twice (plain YAML keeps the last), as the JSON body parser does."""
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key.value[:80]!r}", key.start_mark)
                seen.add(key.value)
        return super().construct_mapping(node, deep=deep)


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT, _BOOL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in _CORE:
    _SpecLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    base = {"0o": 8, "0x": 16}.get(text[:2], 10)
    return int(text[2:] if base != 10 else text, base)


def _construct_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    return float(text.replace(".inf", "inf").replace(".nan", "nan"))


_SpecLoader.add_constructor(_INT, _construct_int)
_SpecLoader.add_constructor(_FLOAT, _construct_float)


def load_yaml(text: str) -> Any:
    """Parse a spec file's text, refusing documents that are too large once expanded.

    Args:
        text: the file's text (YAML, or JSON, which is YAML).

    Returns:
        The parsed document.

    Raises:
        SpecYamlError: over `MAX_SPEC_BYTES`, over `MAX_SPEC_NODES` values once aliases are
            expanded, a recursive alias, or nested too deeply to parse.
        yaml.YAMLError: the text is not YAML.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SPEC_BYTES:
        raise SpecYamlError(f"the spec file has {size} bytes, over the limit of "
                            f"{MAX_SPEC_BYTES}")
    try:
        return yaml.load(text, Loader=_SpecLoader)  # noqa: S506 (a SafeLoader subclass)
    except RecursionError:
        raise SpecYamlError("the spec file nests too deeply") from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Count the values the document stands for, each alias as often as it is used.

    One pass over the distinct nodes (an alias is the same node object as its anchor), so the
    count itself costs what the file's size allows, never what its expansion would.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the nodes on the path from the root: a cycle comes back
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_SPEC_NODES:
                raise SpecYamlError(
                    f"the spec file's aliases expand it to more than {MAX_SPEC_NODES} values "
                    f"(line {node.start_mark.line + 1}); write the values out instead")
        elif key in open_nodes:
            raise SpecYamlError(f"the spec file has a recursive alias "
                                f"(line {node.start_mark.line + 1})")
        elif key not in sizes:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))
