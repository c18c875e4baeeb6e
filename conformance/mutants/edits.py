"""In-place edits of a reply (a parsed JSON message), addressed by table names.

A fault states what it changes ("ContactID becomes a string") without knowing the
dialect: members are found whatever the case of their spelling (``ContactId``,
``channel``), and an array on the path stands for each of its items, so one edit
serves the sample's single object and the table's JSON Array alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Edit = Callable[[dict[str, Any]], None]


def spelled(node: dict[str, Any], name: str) -> str | None:
    """The key a node uses for a table name (any case), or None."""
    if name in node:
        return name
    folded = name.casefold()
    return next((k for k in node if k.casefold() == folded), None)


def nodes(reply: Any, path: str) -> list[dict[str, Any]]:
    """The objects a dotted path names ("" is the reply itself); arrays expand."""
    found = [reply]
    for part in filter(None, path.split(".")):
        step: list[Any] = []
        for node in found:
            key = spelled(node, part) if isinstance(node, dict) else None
            value = node[key] if key is not None else None
            step.extend(value if isinstance(value, list) else [value])
        found = step
    return [node for node in found if isinstance(node, dict)]


def convert(path: str, name: str, fn: Callable[[Any], Any]) -> Edit:
    """Replace a member's value by ``fn(value)`` wherever it is present."""
    def edit(reply: dict[str, Any]) -> None:
        for node in nodes(reply, path):
            if (key := spelled(node, name)) is not None:
                node[key] = fn(node[key])

    return edit


def rename(path: str, name: str, new: str) -> Edit:
    """Send a member under another spelling, keeping its place among the members."""
    def edit(reply: dict[str, Any]) -> None:
        for node in nodes(reply, path):
            if (key := spelled(node, name)) is not None:
                items = [(new if k == key else k, v) for k, v in node.items()]
                node.clear()
                node.update(items)

    return edit


def drop(path: str, name: str) -> Edit:
    """Leave a member out."""
    def edit(reply: dict[str, Any]) -> None:
        for node in nodes(reply, path):
            if (key := spelled(node, name)) is not None:
                del node[key]

    return edit


def _split(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition(".")
    return parent, name


def copy(source: str, target: str) -> Edit:
    """Give the member at dotted path ``target`` the value of the one at ``source``."""
    def edit(reply: dict[str, Any]) -> None:
        (parent, name), (to_parent, to_name) = _split(source), _split(target)
        values = [node[key] for node in nodes(reply, parent) if (key := spelled(node, name)) is not None]
        for node in nodes(reply, to_parent)[: len(values)]:
            node[spelled(node, to_name) or to_name] = values[0]

    return edit


def swap(path: str, first: str, second: str) -> Edit:
    """Exchange the values of two members."""
    def edit(reply: dict[str, Any]) -> None:
        for node in nodes(reply, path):
            a, b = spelled(node, first), spelled(node, second)
            if a is not None and b is not None:
                node[a], node[b] = node[b], node[a]

    return edit


def const(value: Any) -> Callable[[Any], Any]:
    """A conversion that ignores what was there."""
    return lambda _: value
