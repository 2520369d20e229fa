"""The connectors document: which back-office systems exist, how to reach them, and which lookup each
answers. Read with :func:`load_connectors_file`; every problem comes back as ``file:line:column`` + fix.

    connectors:
      shop:          {kind: rest, base_url: ..., auth: ..., lookups: {...}, breaker: {...}}
      claims_portal: {kind: rpa, base_url: ..., robot: robots/claims_portal.yaml, pool: {...}}
      backoffice_db: {kind: provided}        # an adapter the application builds (the SQL back office)
    routes:
      order_status: shop
      claim_status: claims_portal
    fallback: backoffice_db                  # every lookup without a route
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from knowledge.backoffice.breaker import BreakerConfig
from knowledge.backoffice.catalog import LookupName
from knowledge.backoffice.rest_config import RestConnector
from knowledge.backoffice.rest_reader import REST_FIELDS, RestReader, SecretRef, check_base_url
from knowledge.backoffice.robot import SCREENSHOT_GRACE_SECONDS, PoolConfig, RpaConnector
from knowledge.backoffice.robot_reader import load_robot_file
from knowledge.backoffice.yamlnodes import MAX_BYTES, NodeReader, Pairs, compose, join, suggest
from knowledge.errors import ConfigProblem, ConnectorConfigInvalid

__all__ = [
    "ConnectorEntry",
    "ConnectorKind",
    "ConnectorsConfig",
    "ProvidedConnector",
    "load_connectors",
    "load_connectors_file",
]

_NAME = re.compile(r"[a-z][a-z0-9_-]{0,40}")
_COMMON = ("kind", "breaker")
_RPA_FIELDS = ("base_url", "robot", "budget_seconds", "step_timeout_seconds", "pool", "keep_screenshots")
_PROVIDED_FIELDS = ("budget_seconds",)


@enum.unique
class ConnectorKind(enum.StrEnum):
    REST = "rest"
    RPA = "rpa"
    PROVIDED = "provided"


class ProvidedConnector(BaseModel):
    """An adapter the application builds itself and passes in by this name (e.g. ``SqlBackOffice``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    budget_seconds: float | None = None


class ConnectorEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    breaker: BreakerConfig
    spec: RestConnector | RpaConnector | ProvidedConnector

    @property
    def kind(self) -> ConnectorKind:
        if isinstance(self.spec, RestConnector):
            return ConnectorKind.REST
        return ConnectorKind.RPA if isinstance(self.spec, RpaConnector) else ConnectorKind.PROVIDED


class ConnectorsConfig(BaseModel):
    """``routes`` names a connector for every lookup (the fallback already applied)."""

    model_config = ConfigDict(frozen=True)

    source: str
    connectors: dict[str, ConnectorEntry]
    routes: dict[LookupName, str]
    secrets: tuple[SecretRef, ...]

    @property
    def longest_budget_seconds(self) -> float | None:
        """The longest one routed lookup may take before its connector gives up (None: a provided connector
        without a budget). ``Lookups`` must allow at least this per attempt, or it cancels lookups the
        connector would have finished or failed cleanly."""
        budgets: list[float] = []
        for name in set(self.routes.values()):
            spec = self.connectors[name].spec
            if isinstance(spec, RpaConnector):
                budgets.append(spec.budget_seconds + SCREENSHOT_GRACE_SECONDS)
            elif isinstance(spec, RestConnector):
                budgets.append(spec.budget_seconds)
            elif spec.budget_seconds is None:
                return None
            else:
                budgets.append(spec.budget_seconds)
        return max(budgets)


def load_connectors(
    text: str, *, source: str = "<connectors>", base_dir: Path | None = None, secrets: Mapping[str, str] | None = None
) -> ConnectorsConfig:
    """Parse and check the document. Robot paths are relative to ``base_dir`` (default: the working
    directory). With ``secrets``, every secret name used must be one of its keys (values are not kept)."""
    root = compose(text, source=source)
    if root is None:
        raise ConnectorConfigInvalid(
            [ConfigProblem(source, 1, 1, "", "the connectors file is empty", "write 'connectors:' and 'routes:'")]
        )
    reader = _DocumentReader(source, base_dir or Path.cwd())
    config = reader.document(root)
    if secrets is not None:
        for ref in reader.secrets:
            if not secrets.get(ref.name):
                reader.r.problems.append(
                    ConfigProblem(
                        ref.source,
                        ref.line,
                        ref.column,
                        ref.path,
                        f"secret '{ref.name}' is not provided",
                        f"set it in the settings that map secrets to connectors (known: {', '.join(sorted(secrets)) or 'none'})",
                    )
                )
    reader.r.finish()
    assert config is not None
    return config


def load_connectors_file(path: str | os.PathLike[str], *, secrets: Mapping[str, str] | None = None) -> ConnectorsConfig:
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()[: MAX_BYTES + 1]
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ConnectorConfigInvalid(
            [ConfigProblem(source, 1, 1, "", f"cannot read the file ({exc.strerror})", "check the path")]
        ) from None
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
    return load_connectors(text, source=source, base_dir=Path(path).parent, secrets=secrets)


class _DocumentReader:
    def __init__(self, source: str, base_dir: Path) -> None:
        self.r = NodeReader(source)
        self.base_dir = base_dir
        self.secrets: list[SecretRef] = []
        self.rest = RestReader(self.r, self.secrets)

    def document(self, root: yaml.Node) -> ConnectorsConfig | None:
        pairs = self.r.fields(
            root, "", allowed=("connectors", "routes", "fallback"), required=("connectors",), what="the connectors file"
        )
        if pairs is None or "connectors" not in pairs:
            return None
        connectors = self._connectors(pairs["connectors"][1])
        routes = self._routes(pairs, connectors)
        if routes is None:
            return None
        return ConnectorsConfig(source=self.r.source, connectors=connectors, routes=routes, secrets=tuple(self.secrets))

    def _connectors(self, node: yaml.Node) -> dict[str, ConnectorEntry]:
        pairs = self.r.pairs(node, "connectors", what="'connectors'", fix="write one 'name: {kind: ...}' per system")
        out: dict[str, ConnectorEntry] = {}
        for name, (key, value) in (pairs or {}).items():
            path = join("connectors", name)
            if not _NAME.fullmatch(name):
                self.r.problem(
                    key,
                    path,
                    f"'{name}' is not a connector name",
                    "use lowercase letters, digits, '_' and '-', starting with a letter",
                )
                continue
            entry = self._connector(name, value, path)
            if entry is not None:
                out[name] = entry
        return out

    def _connector(self, name: str, node: yaml.Node, path: str) -> ConnectorEntry | None:
        raw = self.r.pairs(node, path, what=f"connector '{name}'", fix="write 'kind: rest', 'rpa' or 'provided'")
        if raw is None:
            return None
        if "kind" not in raw:
            self.r.problem(
                node,
                join(path, "kind"),
                f"connector '{name}' has no 'kind'",
                f"add 'kind: ' with one of: {', '.join(ConnectorKind)}",
            )
            return None
        kind_text = self.r.text(raw["kind"][1], join(path, "kind"), what="'kind'")
        if kind_text not in set(ConnectorKind):
            self.r.problem(
                raw["kind"][1],
                join(path, "kind"),
                f"unknown connector kind '{kind_text}'",
                f"{suggest(str(kind_text), list(ConnectorKind))}use one of: {', '.join(ConnectorKind)}",
            )
            return None
        kind = ConnectorKind(kind_text)
        allowed = {
            ConnectorKind.REST: REST_FIELDS,
            ConnectorKind.RPA: _RPA_FIELDS,
            ConnectorKind.PROVIDED: _PROVIDED_FIELDS,
        }[kind]
        required = {
            ConnectorKind.REST: ("base_url", "lookups"),
            ConnectorKind.RPA: ("base_url", "robot"),
            ConnectorKind.PROVIDED: (),
        }[kind]
        pairs = self.r.fields(
            node, path, allowed=(*_COMMON, *allowed), required=required, what=f"connector '{name}' ({kind})"
        )
        if pairs is None:
            return None
        breaker = self._breaker(pairs["breaker"][1], join(path, "breaker")) if "breaker" in pairs else BreakerConfig()
        spec: RestConnector | RpaConnector | ProvidedConnector | None
        if kind is ConnectorKind.REST:
            spec = self.rest.connector(name, node, pairs, path)
        elif kind is ConnectorKind.RPA:
            spec = self._rpa(name, pairs, path)
        else:
            budget = None
            if "budget_seconds" in pairs:
                budget = self.r.number(
                    pairs["budget_seconds"][1],
                    join(path, "budget_seconds"),
                    what="'budget_seconds'",
                    minimum=0.05,
                    maximum=600,
                )
            spec = ProvidedConnector(name=name, budget_seconds=budget)
        return None if spec is None else ConnectorEntry(name=name, breaker=breaker, spec=spec)

    def _breaker(self, node: yaml.Node, path: str) -> BreakerConfig:
        pairs = self.r.fields(node, path, allowed=("failure_threshold", "open_seconds"), what="'breaker'") or {}
        values: dict[str, float | int] = {}
        if "failure_threshold" in pairs:
            threshold = self.r.integer(
                pairs["failure_threshold"][1],
                join(path, "failure_threshold"),
                what="'failure_threshold'",
                minimum=1,
                maximum=1000,
            )
            if threshold is not None:
                values["failure_threshold"] = threshold
        if "open_seconds" in pairs:
            seconds = self.r.number(
                pairs["open_seconds"][1], join(path, "open_seconds"), what="'open_seconds'", minimum=0.01, maximum=3600
            )
            if seconds is not None:
                values["open_seconds"] = seconds
        return BreakerConfig.model_validate(values)

    def _rpa(self, name: str, pairs: Pairs, path: str) -> RpaConnector | None:
        base_url = check_base_url(self.r, pairs["base_url"][1], join(path, "base_url")) if "base_url" in pairs else None
        robot = None
        if "robot" in pairs:
            node = pairs["robot"][1]
            relative = self.r.text(node, join(path, "robot"), what="'robot'", max_len=500)
            if relative is not None and not (self.base_dir / relative).is_file():
                self.r.problem(
                    node,
                    join(path, "robot"),
                    f"robot file '{relative}' does not exist",
                    f"check the path; it is relative to {self.base_dir}",
                )
            elif relative is not None:
                try:
                    robot = load_robot_file(self.base_dir / relative, secrets=self.secrets)
                except ConnectorConfigInvalid as exc:
                    self.r.problems.extend(exc.problems)
        numbers: dict[str, float] = {}
        for key, low, high in (("budget_seconds", 0.5, 600.0), ("step_timeout_seconds", 0.1, 120.0)):
            if key in pairs:
                number = self.r.number(pairs[key][1], join(path, key), what=f"'{key}'", minimum=low, maximum=high)
                if number is not None:
                    numbers[key] = number
        values: dict[str, object] = dict(numbers)
        budget = numbers.get("budget_seconds", float(RpaConnector.model_fields["budget_seconds"].default))
        if numbers.get("step_timeout_seconds", 0.0) > budget:
            self.r.problem(
                pairs["step_timeout_seconds"][1],
                join(path, "step_timeout_seconds"),
                f"'step_timeout_seconds' is longer than the whole budget ({budget:g}s)",
                "make the step timeout a part of 'budget_seconds'",
            )
        if "keep_screenshots" in pairs:
            keep = self.r.integer(
                pairs["keep_screenshots"][1],
                join(path, "keep_screenshots"),
                what="'keep_screenshots'",
                minimum=0,
                maximum=100_000,
            )
            if keep is not None:
                values["keep_screenshots"] = keep
        if "pool" in pairs:
            values["pool"] = self._pool(pairs["pool"][1], join(path, "pool"))
        if base_url is None or robot is None:
            return None
        return RpaConnector.model_validate({"name": name, "base_url": base_url, "robot": robot, **values})

    def _pool(self, node: yaml.Node, path: str) -> PoolConfig:
        pairs = self.r.fields(node, path, allowed=("max_browsers", "max_contexts"), what="'pool'") or {}
        values: dict[str, int] = {}
        for key, high in (("max_browsers", 8), ("max_contexts", 32)):
            if key in pairs:
                number = self.r.integer(pairs[key][1], join(path, key), what=f"'{key}'", minimum=1, maximum=high)
                if number is not None:
                    values[key] = number
        return PoolConfig.model_validate(values)

    def _routes(self, pairs: Pairs, connectors: dict[str, ConnectorEntry]) -> dict[LookupName, str] | None:
        routes: dict[LookupName, str] = {}
        if "routes" in pairs:
            found = self.r.pairs(
                pairs["routes"][1], "routes", what="'routes'", fix="write one 'lookup: connector' line per lookup"
            )
            for lookup, (key, value) in (found or {}).items():
                where = join("routes", lookup)
                if lookup not in set(LookupName):
                    self.r.problem(
                        key,
                        where,
                        f"unknown lookup '{lookup}'",
                        f"{suggest(lookup, list(LookupName))}lookups are: {', '.join(LookupName)}",
                    )
                    continue
                target = self._target(value, where, connectors, LookupName(lookup))
                if target is not None:
                    routes[LookupName(lookup)] = target
        fallback = None
        if "fallback" in pairs:
            fallback = self._target(pairs["fallback"][1], "fallback", connectors, None)
        unrouted = [n for n in LookupName if n not in routes]
        if fallback is not None:
            for name in unrouted:
                if self._serves(connectors[fallback], name):
                    routes[name] = fallback
                else:
                    self.r.problem(
                        pairs["fallback"][1],
                        "fallback",
                        f"fallback connector '{fallback}' does not answer '{name}'",
                        f"route '{name}' to a connector that declares it",
                    )
        elif unrouted and "fallback" not in pairs:
            self.r.problem(
                pairs.get("routes", pairs["connectors"])[0],
                "routes",
                f"no connector answers: {', '.join(unrouted)}",
                "route each of them, or add 'fallback: <connector>' for every lookup without a route",
            )
        return routes if len(routes) == len(LookupName) else None

    def _target(
        self, node: yaml.Node, path: str, connectors: dict[str, ConnectorEntry], lookup: LookupName | None
    ) -> str | None:
        name = self.r.text(node, path, what="a connector name", max_len=100)
        if name is None:
            return None
        if name not in connectors:
            self.r.problem(
                node,
                path,
                f"no connector named '{name}' (or it has problems listed here)",
                f"{suggest(name, list(connectors))}connectors are: {', '.join(connectors) or 'none'}",
            )
            return None
        if lookup is not None and not self._serves(connectors[name], lookup):
            self.r.problem(
                node,
                path,
                f"connector '{name}' does not declare '{lookup}'",
                f"add '{lookup}' to its lookups (or robot), or route it to another connector",
            )
            return None
        return name

    @staticmethod
    def _serves(entry: ConnectorEntry, lookup: LookupName) -> bool:
        spec = entry.spec
        if isinstance(spec, RestConnector):
            return lookup in spec.lookups
        if isinstance(spec, RpaConnector):
            return lookup in spec.robot.lookups
        return True
