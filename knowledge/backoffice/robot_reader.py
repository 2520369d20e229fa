"""Reading a robot file (YAML) into a :class:`Robot`, or every problem as ``file:line:column`` with the fix.

name: claims_portal
mask: ["#customer-name"]          # blanked on failure screenshots, besides filled and read elements
login:
  - goto: /login
  - fill: {selector: "input[name=username]", secret: portal_user}
  - click: "input[type=submit]"
lookups:
  claim_status:
    - goto: /search
    - fill: {selector: "input[name=claim_number]", value: "{claim_number}"}
    - click: "#claim-search input[type=submit]"
    - wait_for: {selector: "table#claim", missing: "#no-result"}
    - read: {field: customer_id, selector: "#claim-customer"}
    - read: {field: status, selector: "#claim-status", map: {"In review": in_review}}
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from knowledge.backoffice.catalog import CUSTOMER_ID, SHAPES, FieldKind, LookupName, LookupShape, field_shapes
from knowledge.backoffice.mapping import ValueRule
from knowledge.backoffice.models import Customer
from knowledge.backoffice.rest_reader import SecretRef, read_secret_name
from knowledge.backoffice.robot import Click, Fill, Goto, Read, Robot, RobotLookup, Step, StepKind, WaitFor
from knowledge.backoffice.rule_reader import RULE_KEYS, read_rule
from knowledge.backoffice.template import Template, TemplateSyntaxError, parse_template
from knowledge.backoffice.yamlnodes import MAX_BYTES, NodeReader, Pairs, compose, join, suggest
from knowledge.errors import ConfigProblem, ConnectorConfigInvalid

__all__ = ["MAX_STEPS", "load_robot", "load_robot_file"]

MAX_STEPS = 60
_ROBOT_FIELDS = ("name", "login", "mask", "lookups")
_STEP_FIELDS = {
    StepKind.GOTO: ("path",),
    StepKind.FILL: ("selector", "value", "secret"),
    StepKind.CLICK: ("selector",),
    StepKind.WAIT_FOR: ("selector", "missing"),
    StepKind.READ: ("field", "selector", "all", *RULE_KEYS),
}
_SHORTHAND = {StepKind.GOTO: "path", StepKind.CLICK: "selector", StepKind.WAIT_FOR: "selector"}
_UNSUPPORTED = {
    LookupName.FILE_CLAIM: "robots do not file claims: a half-submitted portal form cannot be retried safely",
}


def load_robot(text: str, *, source: str, secrets: list[SecretRef] | None = None) -> Robot:
    """Parse and check a robot. Secret names it uses are appended to ``secrets``."""
    root = compose(text, source=source)
    reader = _RobotReader(source, secrets if secrets is not None else [])
    if root is None:
        raise ConnectorConfigInvalid(
            [ConfigProblem(source, 1, 1, "", "the robot file is empty", "write 'name:', 'login:' and 'lookups:'")]
        )
    robot = reader.robot(root)
    reader.r.finish()
    assert robot is not None
    return robot


def load_robot_file(path: str | os.PathLike[str], *, secrets: list[SecretRef] | None = None) -> Robot:
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()[: MAX_BYTES + 1]
    except OSError as exc:
        raise ConnectorConfigInvalid(
            [
                ConfigProblem(
                    source,
                    1,
                    1,
                    "",
                    f"cannot read the robot file ({exc.strerror})",
                    "check the path (relative paths start at the config file)",
                )
            ]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConnectorConfigInvalid(
            [
                ConfigProblem(
                    source,
                    raw[: exc.start].count(b"\n") + 1,
                    1,
                    "",
                    "the file is not valid UTF-8",
                    "save it as UTF-8 text",
                )
            ]
        ) from None
    return load_robot(text, source=source, secrets=secrets)


class _RobotReader:
    def __init__(self, source: str, secrets: list[SecretRef]) -> None:
        self.r = NodeReader(source)
        self.secrets = secrets

    def robot(self, root: yaml.Node) -> Robot | None:
        pairs = self.r.fields(root, "", allowed=_ROBOT_FIELDS, required=("name", "lookups"), what="the robot")
        if pairs is None:
            return None
        name = self.r.text(pairs["name"][1], "name", what="'name'", max_len=100) if "name" in pairs else None
        login: tuple[Step, ...] = ()
        if "login" in pairs:
            login = self._steps(pairs["login"][1], "login", shape=None)
        mask: tuple[str, ...] = ()
        if "mask" in pairs:
            items = self.r.items(pairs["mask"][1], "mask", what="'mask'", fix="write a list of selectors") or []
            mask = tuple(s for i, n in enumerate(items) if (s := self._selector(n, join("mask", i))) is not None)
        lookups: dict[LookupName, RobotLookup] = {}
        if "lookups" in pairs:
            lookups = self._lookups(pairs["lookups"][1], "lookups")
        if name is None or not lookups:
            return None
        return Robot(name=name, source=self.r.source, login=login, mask=mask, lookups=lookups)

    def _lookups(self, node: yaml.Node, path: str) -> dict[LookupName, RobotLookup]:
        pairs = self.r.pairs(node, path, what="'lookups'", fix="write one 'claim_status:' (etc.) list per lookup")
        out: dict[LookupName, RobotLookup] = {}
        for name, (key, value) in (pairs or {}).items():
            where = join(path, name)
            if name not in set(LookupName):
                self.r.problem(
                    key,
                    where,
                    f"unknown lookup '{name}'",
                    f"{suggest(name, list(LookupName))}lookups are: {', '.join(LookupName)}",
                )
                continue
            lookup = LookupName(name)
            shape = SHAPES[lookup]
            if lookup in _UNSUPPORTED or shape.many:
                reason = _UNSUPPORTED.get(lookup, "robots read one record; list lookups need a REST or SQL connector")
                self.r.problem(key, where, reason, f"route '{name}' to a REST or provided connector instead")
                continue
            steps = self._steps(value, where, shape=shape)
            if self._complete(key, where, shape, steps):
                out[lookup] = RobotLookup(name=lookup, steps=steps)
        return out

    def _complete(self, key: yaml.Node, path: str, shape: LookupShape, steps: tuple[Step, ...]) -> bool:
        read = {s.field for s in steps if isinstance(s, Read)}
        shapes = field_shapes(shape.model)
        missing = [n for n, s in shapes.items() if not s.nullable and n not in read]
        if missing:
            nested = [n for n in missing if shapes[n].kind in (FieldKind.RECORD, FieldKind.RECORDS)]
            fix = (
                f"'{nested[0]}' holds records, which robots cannot read; route '{shape.name}' to a REST or SQL "
                "connector"
                if nested
                else f"add '- read: {{field: {missing[0]}, selector: ...}}'"
            )
            self.r.problem(key, path, f"the steps never read {', '.join(missing)} ({shape.model.__name__})", fix)
            return False
        used = {v for s in steps for v in _variables(s)}
        if shape.scoped and CUSTOMER_ID not in read and CUSTOMER_ID not in used:
            self.r.problem(
                key,
                path,
                f"lookup '{shape.name}' is not scoped to the customer",
                "read the record's customer ('- read: {field: customer_id, selector: ...}') or search "
                "with {customer_id} so the portal itself scopes the answer",
            )
            return False
        return True

    def _steps(self, node: yaml.Node, path: str, *, shape: LookupShape | None) -> tuple[Step, ...]:
        items = self.r.items(node, path, what="the steps", fix="write a list: '- goto: /search'") or []
        if len(items) > MAX_STEPS:
            self.r.problem(node, path, f"more than {MAX_STEPS} steps", "split the work or simplify the robot")
            return ()
        steps: list[Step] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(items):
            step = self._step(item, join(path, index), shape=shape)
            if isinstance(step, Read):
                if step.field in seen:
                    self.r.problem(
                        item,
                        join(path, index),
                        f"'{step.field}' is already read by step {seen[step.field]}",
                        "read each field once",
                    )
                seen[step.field] = index + 1
            if step is not None:
                steps.append(step)
        return tuple(steps)

    def _step(self, node: yaml.Node, path: str, *, shape: LookupShape | None) -> Step | None:
        kinds = ", ".join(StepKind)
        pairs = self.r.pairs(node, path, what="a step", fix=f"write one of: {kinds}, e.g. '- click: \"#search\"'")
        if pairs is None:
            return None
        if len(pairs) != 1:
            self.r.problem(node, path, "a step has exactly one kind", f"split it into one step per line ({kinds})")
            return None
        ((kind_text, (key, body)),) = pairs.items()
        if kind_text not in set(StepKind):
            self.r.problem(
                key,
                path,
                f"unknown step '{kind_text}'",
                f"{suggest(kind_text, list(StepKind))}steps are: {kinds} (no code)",
            )
            return None
        kind = StepKind(kind_text)
        where = join(path, kind)
        line = node.start_mark.line + 1
        args: Pairs
        if isinstance(body, yaml.ScalarNode) and kind in _SHORTHAND:
            args = {_SHORTHAND[kind]: (key, body)}
        else:
            found = self.r.fields(body, where, allowed=_STEP_FIELDS[kind], what=f"'{kind}'")
            if found is None:
                return None
            args = found
        if kind is StepKind.GOTO:
            return self._goto(args, node, where, shape, line)
        if "selector" not in args:
            self.r.problem(body, join(where, "selector"), f"'{kind}' has no 'selector'", "add 'selector: ...'")
            return None
        selector = self._selector(args["selector"][1], join(where, "selector"))
        if selector is None:
            return None
        if kind is StepKind.CLICK:
            return Click(line=line, selector=selector)
        if kind is StepKind.WAIT_FOR:
            missing = self._selector(args["missing"][1], join(where, "missing")) if "missing" in args else None
            if missing is not None and shape is None:
                self.r.problem(
                    args["missing"][1],
                    join(where, "missing"),
                    "login steps cannot end in 'not found'",
                    "remove 'missing'",
                )
            return WaitFor(line=line, selector=selector, missing=missing)
        if kind is StepKind.FILL:
            return self._fill(args, body, where, shape, line, selector)
        return self._read(args, body, where, shape, line, selector)

    def _goto(self, args: Pairs, node: yaml.Node, path: str, shape: LookupShape | None, line: int) -> Goto | None:
        if "path" not in args:
            self.r.problem(node, join(path, "path"), "'goto' has no 'path'", "write '- goto: /search'")
            return None
        target = self._template(args["path"][1], join(path, "path"), shape, what="'goto'")
        if target is None:
            return None
        text = target.text
        if not text.startswith("/") or text.startswith("//") or "\\" in text:
            self.r.problem(
                args["path"][1],
                join(path, "path"),
                f"'goto' must stay on the portal, not go to '{text}'",
                "write a path such as /search; the portal's address is the connector's base_url",
            )
            return None
        return Goto(line=line, path=target)

    def _fill(
        self, args: Pairs, body: yaml.Node, path: str, shape: LookupShape | None, line: int, selector: str
    ) -> Fill | None:
        if ("value" in args) == ("secret" in args):
            self.r.problem(
                body,
                path,
                "'fill' needs exactly one of 'value' and 'secret'",
                "write 'value: \"{claim_number}\"' or 'secret: portal_password'",
            )
            return None
        if "secret" in args:
            secret = read_secret_name(self.r, args["secret"][1], join(path, "secret"), self.secrets)
            return None if secret is None else Fill(line=line, selector=selector, secret=secret)
        value = self._template(args["value"][1], join(path, "value"), shape, what="'value'")
        return None if value is None else Fill(line=line, selector=selector, value=value)

    def _read(
        self, args: Pairs, body: yaml.Node, path: str, shape: LookupShape | None, line: int, selector: str
    ) -> Read | None:
        if shape is None:
            self.r.problem(body, path, "login steps cannot read fields", "move the read into a lookup")
            return None
        if "field" not in args:
            self.r.problem(body, join(path, "field"), "'read' has no 'field'", "add 'field: status' (etc.)")
            return None
        field_node = args["field"][1]
        field = self.r.text(field_node, join(path, "field"), what="'field'", max_len=100)
        if field is None:
            return None
        every = bool(self.r.boolean(args["all"][1], join(path, "all"), what="'all'")) if "all" in args else False
        if field == CUSTOMER_ID:  # whose record this is: compared with the asking customer, never returned
            if every:
                self.r.problem(args["all"][1], join(path, "all"), "a record has one customer", "remove 'all'")
            rule = read_rule(self.r, args, path, model=Customer, name=CUSTOMER_ID)
            return Read(line=line, field=field, selector=selector, rule=rule)
        shapes = field_shapes(shape.model)
        target = shapes.get(field)
        if target is None:
            choices = [*shapes, CUSTOMER_ID]
            self.r.problem(
                field_node,
                join(path, "field"),
                f"{shape.model.__name__} has no field '{field}'",
                f"{suggest(field, choices)}fields are: {', '.join(choices)}",
            )
            return None
        if target.kind in (FieldKind.RECORD, FieldKind.RECORDS):
            self.r.problem(
                field_node,
                join(path, "field"),
                f"'{field}' holds records, which robots cannot read",
                f"route '{shape.name}' to a REST or SQL connector",
            )
            return None
        if every != (target.kind is FieldKind.VALUES):
            fix = "add 'all: true'" if target.kind is FieldKind.VALUES else "remove 'all' (the field holds one value)"
            self.r.problem(
                field_node,
                join(path, "field"),
                f"'{field}' holds {'a list of texts' if target.kind is FieldKind.VALUES else 'one value'}",
                fix,
            )
            return None
        rule = (
            read_rule(self.r, args, path, model=shape.model, name=field) if set(args) & set(RULE_KEYS) else ValueRule()
        )
        return Read(line=line, field=field, selector=selector, all=every, rule=rule)

    def _selector(self, node: yaml.Node, path: str) -> str | None:
        text = self.r.text(node, path, what="a selector", max_len=300)
        if text is not None and "\n" in text:
            self.r.problem(node, path, "a selector is one line", "write it on one line")
            return None
        return text.strip() if text is not None else None

    def _template(self, node: yaml.Node, path: str, shape: LookupShape | None, *, what: str) -> Template | None:
        text = self.r.text(node, path, what=what, max_len=500)
        if text is None:
            return None
        try:
            return parse_template(text, allowed=shape.variables if shape is not None else ())
        except TemplateSyntaxError as exc:
            fix = "login steps use no placeholders; fill secrets with 'secret:'" if shape is None else exc.fix
            self.r.problem(node, path, f"{what}: {exc.message}", fix, offset=exc.offset)
            return None


def _variables(step: Step) -> tuple[str, ...]:
    if isinstance(step, Goto):
        return step.path.variables
    if isinstance(step, Fill) and step.value is not None:
        return step.value.variables
    return ()
