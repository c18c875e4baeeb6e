"""What a handler decides, before a dialect puts it into words on the wire."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    """A documented answer, with the names and shapes the tables give it."""

    api: str
    message: Mapping[str, Any]


@dataclass(frozen=True)
class Failure:
    """A request the server could not serve: one error reply.

    ``api`` is the request subtopic once recognised, so the reply can carry that API's
    response subtopic; ``echo`` holds response fields that repeat the request (a call id).
    """

    api: str | None
    text: str
    echo: Mapping[str, Any] = field(default_factory=dict)


Outcome = Answer | Failure
