"""A second, deliberately simple reader of iCalendar text, written from RFC 5545 §3.1 and §3.4-3.6.

The renderings are produced by the icalendar library; reading them back only
with the same library would let one library's mistake agree with itself. This
reader shares no code with it: it checks the content-line grammar (CRLF line
ends, folding at 75 octets, ``name *(";" param) ":" value``) and the
BEGIN/END nesting, and returns the components as plain data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = r"[A-Za-z0-9-]+"
_PARAM_VALUE = r'(?:"[^"\x00-\x08\x0a-\x1f\x7f]*"|[^";:,\x00-\x08\x0a-\x1f\x7f]*)'
_PARAM = rf"{_NAME}={_PARAM_VALUE}(?:,{_PARAM_VALUE})*"
_CONTENT_LINE = re.compile(rf"(?P<name>{_NAME})(?P<params>(?:;{_PARAM})*):(?P<value>.*)", re.DOTALL)


@dataclass
class Property:
    name: str
    params: str
    value: str


@dataclass
class Component:
    name: str
    properties: list[Property] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [p.value for p in self.properties if p.name == name.upper()]

    def walk(self) -> list[Component]:
        return [self, *(c for child in self.children for c in child.walk())]


def content_lines(raw: bytes) -> list[Property]:
    """The unfolded content lines of ``raw``; fails on anything §3.1 does not allow."""
    text = raw.decode("utf-8")  # a fold inside a multi-byte character would fail here
    assert text.endswith("\r\n"), "content lines end in CRLF"
    lines: list[str] = []
    for physical in text[:-2].split("\r\n"):
        assert "\n" not in physical and "\r" not in physical, f"bare line break in {physical!r}"
        assert len(physical.encode()) <= 75, f"line longer than 75 octets: {physical!r}"
        if physical[:1] in (" ", "\t"):
            assert lines, "a continuation line with nothing to continue"
            lines[-1] += physical[1:]
        else:
            lines.append(physical)
    properties = []
    for line in lines:
        match = _CONTENT_LINE.fullmatch(line)
        assert match is not None, f"not a content line: {line!r}"
        properties.append(Property(match["name"].upper(), match["params"], match["value"]))
    return properties


def parse(raw: bytes) -> Component:
    """The one top-level component of ``raw`` (a VCALENDAR), with BEGIN/END nesting checked."""
    stack: list[Component] = []
    top: list[Component] = []
    for prop in content_lines(raw):
        if prop.name == "BEGIN":
            component = Component(prop.value.upper())
            (stack[-1].children if stack else top).append(component)
            stack.append(component)
        elif prop.name == "END":
            assert stack and stack[-1].name == prop.value.upper(), f"END:{prop.value} closes nothing open"
            stack.pop()
        else:
            assert stack, f"{prop.name} outside any component"
            stack[-1].properties.append(prop)
    assert not stack, f"{stack[-1].name} never ends"
    [calendar] = top
    return calendar
