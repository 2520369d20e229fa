"""Reading the response mapping of a lookup (``fields:``) against the model it fills: selectors, value
rules, constants, nested records and lists. Every required model field must be mapped."""

from __future__ import annotations

import yaml
from pydantic import BaseModel

from knowledge.backoffice.catalog import FieldKind, FieldShape, field_shapes
from knowledge.backoffice.mapping import Const, Each, FieldSpec, Nested, Pick
from knowledge.backoffice.rule_reader import RULE_KEYS, check_value, read_rule
from knowledge.backoffice.selector import Selector, SelectorSyntaxError, parse_selector
from knowledge.backoffice.yamlnodes import NodeReader, join, kind_name, suggest

__all__ = ["FieldReader"]

_SELECTOR_FIX = "write a selector such as $.data.status, $.items[0].carrier or $.lines[*]"


class FieldReader:
    def __init__(self, reader: NodeReader) -> None:
        self.r = reader

    def selector(self, node: yaml.Node, path: str, *, single: bool) -> Selector | None:
        text = self.r.text(node, path, what="a selector", max_len=300)
        if text is None:
            return None
        try:
            selector = parse_selector(text)
        except SelectorSyntaxError as exc:
            self.r.problem(node, path, f"invalid selector '{text}': {exc.message}", _SELECTOR_FIX, offset=exc.offset)
            return None
        if single and selector.many:
            self.r.problem(
                node,
                path,
                f"selector '{text}' selects many values ([*]) where one is needed",
                "pick one element with an index such as [0]",
                offset=text.index("[*]"),
            )
            return None
        return selector

    def fields(self, node: yaml.Node, path: str, model: type[BaseModel]) -> dict[str, FieldSpec] | None:
        shapes = field_shapes(model)
        pairs = self.r.pairs(
            node, path, what=f"'fields' of {model.__name__}", fix=f"map {model.__name__}'s fields: {', '.join(shapes)}"
        )
        if pairs is None:
            return None
        out: dict[str, FieldSpec] = {}
        for name, (key, value) in pairs.items():
            where = join(path, name)
            if name == "source_id":
                self.r.problem(key, where, "'source_id' is set by Glassdesk", "remove it")
                continue
            shape = shapes.get(name)
            if shape is None:
                self.r.problem(
                    key,
                    where,
                    f"{model.__name__} has no field '{name}'",
                    f"{suggest(name, list(shapes))}fields are: {', '.join(shapes)}",
                )
                continue
            spec = self._spec(value, where, model, shape)
            if spec is not None:
                out[name] = spec
        missing = [n for n, s in shapes.items() if not s.nullable and n not in pairs]
        if missing:
            self.r.problem(
                node,
                path,
                f"{model.__name__} needs {', '.join(missing)}, which 'fields' does not map",
                f"map each, e.g. '{missing[0]}: $.{missing[0]}', or give a constant with "
                f"'{missing[0]}: {{const: ...}}'",
            )
            return None
        return out

    def _spec(self, node: yaml.Node, path: str, model: type[BaseModel], shape: FieldShape) -> FieldSpec | None:
        if shape.kind in (FieldKind.RECORD, FieldKind.RECORDS):
            return self._record_spec(node, path, shape)
        if isinstance(node, yaml.ScalarNode):
            selector = self.selector(node, path, single=shape.kind is FieldKind.VALUE)
            if selector is None:
                return None
            return Pick(selector=selector) if shape.kind is FieldKind.VALUE else Each(each=selector)
        head = "select" if shape.kind is FieldKind.VALUE else "each"
        allowed = (head, "const", *RULE_KEYS) if shape.kind is FieldKind.VALUE else (head, *RULE_KEYS)
        pairs = self.r.fields(node, path, allowed=allowed, what=f"field '{shape.name}'")
        if pairs is None:
            return None
        if "const" in pairs:
            for key in pairs:
                if key != "const":
                    self.r.problem(pairs[key][0], join(path, key), "a constant has no other settings", "remove it")
            value_node = pairs["const"][1]
            value = self.r.text(value_node, join(path, "const"), what="'const'")
            if value is None or not check_value(
                self.r, value_node, join(path, "const"), model=model, name=shape.name, value=value
            ):
                return None
            return Const(value=value)
        if head not in pairs:
            self.r.problem(
                node, join(path, head), f"field '{shape.name}' has no '{head}'", f"add '{head}: $.{shape.name}'"
            )
            return None
        selector = self.selector(pairs[head][1], join(path, head), single=shape.kind is FieldKind.VALUE)
        rule = read_rule(self.r, pairs, path, model=model, name=shape.name)
        if selector is None:
            return None
        return Pick(selector=selector, rule=rule) if shape.kind is FieldKind.VALUE else Each(each=selector, rule=rule)

    def _record_spec(self, node: yaml.Node, path: str, shape: FieldShape) -> FieldSpec | None:
        assert shape.record is not None
        head = "at" if shape.kind is FieldKind.RECORD else "each"
        example = f"'{head}: $.{shape.name}{'' if head == 'at' else '[*]'}' and 'fields:'"
        if not isinstance(node, yaml.MappingNode):
            self.r.problem(
                node,
                path,
                f"'{shape.name}' holds {shape.record.__name__} record(s), not {kind_name(node)}",
                f"write {example}",
            )
            return None
        pairs = self.r.fields(
            node, path, allowed=(head, "fields"), required=(head, "fields"), what=f"field '{shape.name}'"
        )
        if pairs is None or head not in pairs or "fields" not in pairs:
            return None
        selector = self.selector(pairs[head][1], join(path, head), single=head == "at")
        fields = self.fields(pairs["fields"][1], join(path, "fields"), shape.record)
        if selector is None or fields is None:
            return None
        if head == "at":
            return Nested(at=selector, fields=fields)
        return Each(each=selector, fields=fields)
