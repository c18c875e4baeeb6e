"""The target profile: where the target is and what the suite may assume about it.

A profile is a YAML file (see ``examples/target-profile.yaml``) checked against
``profile.schema.json``. Every value but ``url`` has a default; the agent ids and the
fixtures default to the values the doc samples use, read from :mod:`conformance.spec`,
so a target seeded like the docs needs no profile at all. Header values may name
environment variables as ``${NAME}``; what comes from the environment is a secret, kept
in :attr:`Profile.secrets` so logs and reports can redact it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import jsonschema
import yaml

from .protocol import DEFAULT_SOURCE, Redactor
from .spec import Api, Spec, load_spec

SCHEMA_PATH = Path(__file__).with_name("profile.schema.json")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ProfileError(ValueError):
    """A profile is unusable; ``key`` is the dotted path of the offending value (or None)."""

    def __init__(self, key: str | None, message: str, origin: str | None = None) -> None:
        self.key = key
        self.origin = origin
        where = ": ".join(p for p in (origin, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed to open a connection, to answer one request, and for the whole run."""

    connect: float = 5.0
    response: float = 5.0
    run: float = 600.0


@dataclass(frozen=True)
class Fixtures:
    """Values the suite cannot create on the target. Ids are kept as text; each case
    converts them to the JSON type its API's table (or sample) gives."""

    call_id: str
    account_number: str
    telephony_outcome_id: str
    business_outcome_id: str
    phone_number: str


@dataclass(frozen=True)
class Profile:
    """A validated target profile. Headers and secrets stay out of ``repr``."""

    url: str
    timeouts: Timeouts
    agents: tuple[str, ...]
    source: str
    fixtures: Fixtures
    campaign_manager_version: int | None
    apis: tuple[str, ...]
    ca_file: Path | None = None
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    secrets: frozenset[str] = field(default=frozenset(), repr=False)
    origin: Path | None = None

    @property
    def agent(self) -> str:
        return self.agents[0]

    @property
    def distinct_agents(self) -> tuple[str, ...]:
        """The agents, each once: a name given twice is one agent."""
        return tuple(dict.fromkeys(self.agents))

    @property
    def second_agent(self) -> str | None:
        """The other agent of multi-agent cases, or None when the profile names only one."""
        return self.distinct_agents[1] if len(self.distinct_agents) > 1 else None

    def offers(self, api: str) -> bool:
        """Whether the target is expected to offer this API (else a case is UNIMPLEMENTED)."""
        return api in self.apis

    def withholds(self, api: Api) -> str | None:
        """Why the target is not expected to offer an API (profile list, version), or None."""
        if not self.offers(api.name):
            return f"the target profile does not list {api.name} among the offered APIs"
        version = self.campaign_manager_version
        if api.max_cm_version is not None and version is not None and version > api.max_cm_version:
            return f"{api.name} is offered up to Campaign Manager {api.max_cm_version}; the target runs {version}"
        return None

    def redactor(self) -> Redactor:
        return Redactor(self.secrets)

    def describe(self) -> dict[str, Any]:
        """The profile as data for reports, secrets redacted."""
        redact = self.redactor()
        return {
            "url": redact(self.url),
            "headers": {k: redact(v) for k, v in self.headers.items()},
            "ca_file": str(self.ca_file) if self.ca_file else None,
            "timeouts": dict(vars(self.timeouts)),
            "agents": list(self.agents),
            "source": self.source,
            "fixtures": dict(vars(self.fixtures)),
            "campaign_manager_version": self.campaign_manager_version,
            "apis": list(self.apis),
        }


# Where each default comes from: (API, request data row by its table name). The value is
# read from that page's sample request, under the table name or a registered spelling.
_FIXTURE_SAMPLES: dict[str, tuple[str, str]] = {
    "call_id": ("SetCallOutcomeWithComments", "callid"),
    "account_number": ("SetCallOutcomeWithComments", "AccountNumber"),  # the contact of that call
    "telephony_outcome_id": ("SetCallOutcomeWithComments", "OutcomeID"),
    "business_outcome_id": ("SkipManualDialContact", "OutcomeId"),  # a page taking either kind
    "phone_number": ("ManualDialCall", "PhoneNumber"),
}
_AGENT_SAMPLES: tuple[tuple[str, str], ...] = (
    ("GetReservedManualDialContact", "AgentID"),
    ("SkipManualDialContact", "UserId"),
    ("SkipNonPEWCContact", "UserId"),
    ("SetCallOutcomeWithComments", "UserID"),
)


def sample_value(spec: Spec, api_name: str, row: str) -> Any:
    """The value a page's sample request gives for a Data Parameters row."""
    path = f"request.data.{row}"
    spec.api(api_name).field(path)  # the row must be in the table
    names = (row, *(n for e in spec.effects(api_name, path, "name") for n in e.also))
    for sample in spec.api(api_name).sample_requests:
        data = sample.message.get("data") or {}
        for name in names:
            if name in data:
                return data[name]
    raise LookupError(f"no sample request of {api_name} has {row}")


def _defaults(spec: Spec) -> dict[str, Any]:
    # The samples spell the test agent two ways (D-26): one person, so one default agent.
    agent = str(sample_value(spec, *_AGENT_SAMPLES[0]))
    return {
        "source": DEFAULT_SOURCE,
        "agents": [agent],
        "fixtures": {k: sample_value(spec, a, r) for k, (a, r) in _FIXTURE_SAMPLES.items()},
        "campaign_manager_version": None,
    }


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _key(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(parent: str, child: str) -> str:
    return f"{parent}.{child}" if parent else child


def _validate(doc: Any, origin: str | None) -> None:
    errors = sorted(
        _validator().iter_errors(doc), key=lambda e: (len(e.absolute_path), _key(e.absolute_path))
    )
    if not errors:
        return
    err = errors[0]
    key = _key(err.absolute_path)
    # iter_errors sets instance, schema and validator_value on every error it yields
    instance, schema = cast("dict[str, Any]", err.instance), cast("Mapping[str, Any]", err.schema)
    if err.validator == "additionalProperties":
        extra = sorted(str(k) for k in instance if k not in schema.get("properties", {}))
        raise ProfileError(_join(key, extra[0]), "unknown key", origin)
    if err.validator == "required":
        missing = [k for k in cast("list[str]", err.validator_value) if k not in instance]
        raise ProfileError(_join(key, missing[0]), "required", origin)
    hint = err.schema.get("x-message") if isinstance(err.schema, dict) else None
    if "propertyNames" in err.relative_schema_path:
        raise ProfileError(_join(key, str(err.instance)), hint or err.message, origin)
    raise ProfileError(key or None, f"{err.instance!r}: {hint}" if hint else err.message, origin)


def _interpolate(
    headers: Mapping[str, str], env: Mapping[str, str], origin: str | None
) -> tuple[dict[str, str], set[str]]:
    """Headers with ``${NAME}`` filled from env, and the (non-empty) values filled in."""
    secrets: set[str] = set()
    out = {}
    for name, value in headers.items():
        def sub(m: re.Match[str]) -> str:
            var = m.group(1)
            if var not in env:
                message = f"environment variable {var} is not set"
                raise ProfileError(f"headers.{name}", message, origin)  # noqa: B023 -- sub runs in this iteration
            secrets.add(env[var])
            return env[var]

        out[name] = _ENV_REF.sub(sub, value)
    return out, {s for s in secrets if s}


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge overrides into base; a dotted key ("timeouts.response") names a nested one.

    A None override means "not given" (an unset command-line option) and changes nothing.
    """
    out = dict(base)
    for key, value in overrides.items():
        if value is None:
            continue
        head, _, rest = str(key).partition(".")
        if rest:
            value = {rest: value}
        if isinstance(value, Mapping) and isinstance(out.get(head), Mapping):
            out[head] = _merge(dict(out[head]), value)
        elif isinstance(value, Mapping):
            out[head] = _merge({}, value)
        else:
            out[head] = value
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(None, f"cannot read profile: {exc.strerror or exc}", str(path)) from None
    except yaml.YAMLError as exc:
        raise ProfileError(None, f"not valid YAML: {exc}", str(path)) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ProfileError(None, "a profile is a YAML mapping", str(path))
    return doc


def load_profile(
    path: str | Path | None,
    overrides: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    spec: Spec | None = None,
) -> Profile:
    """Read, merge, validate and complete a profile; raises :class:`ProfileError`.

    ``overrides`` (e.g. ``{"url": ...}`` from ``--target``) win over the file; a dotted
    key names a nested value. ``env`` defaults to ``os.environ``.
    """
    spec = spec or load_spec()
    env = os.environ if env is None else env
    origin = str(path) if path is not None else None
    doc = _merge(_read(Path(path)) if path is not None else {}, overrides or {})
    _validate(doc, origin)

    known = tuple(spec.apis)
    for i, name in enumerate(doc.get("apis", ())):
        if name not in known:
            message = f"unknown API {name!r}; documented: {', '.join(known)}"
            raise ProfileError(f"apis[{i}]", message, origin)
    defaults = _defaults(spec)
    cm_version = doc.get("campaign_manager_version", defaults["campaign_manager_version"])
    apis = tuple(doc["apis"]) if "apis" in doc else tuple(
        a.name for a in spec.apis.values()
        if cm_version is None or a.max_cm_version is None or cm_version <= a.max_cm_version
    )

    ca_file = None
    if "ca_file" in doc.get("tls", {}):
        base = Path(path).parent if path is not None else Path.cwd()
        ca_file = (base / doc["tls"]["ca_file"]).resolve()
        if not ca_file.is_file():
            raise ProfileError("tls.ca_file", f"no such file: {ca_file}", origin)

    headers, secrets = _interpolate(doc.get("headers", {}), env, origin)
    fixtures = {k: str(v) for k, v in {**defaults["fixtures"], **doc.get("fixtures", {})}.items()}
    return Profile(
        url=doc["url"],
        timeouts=Timeouts(**{k: float(v) for k, v in doc.get("timeouts", {}).items()}),
        agents=tuple(doc.get("agents", defaults["agents"])),
        source=doc.get("source", defaults["source"]),
        fixtures=Fixtures(**fixtures),
        campaign_manager_version=cm_version,
        apis=apis,
        ca_file=ca_file,
        headers=MappingProxyType(headers),
        secrets=frozenset(secrets),
        origin=Path(path) if path is not None else None,
    )


def default_profile(url: str) -> Profile:
    """The profile of a target seeded like the docs (e.g. the embedded reference server)."""
    return load_profile(None, {"url": url}, env={})
