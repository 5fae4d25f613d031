"""A minimal XML tree that remembers the line of every element (for the PCS files), so a
malformed element is reported at its line; expat parses the 3 MB Tables file in well under a
second this way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from retrieval.errors import SourceError

# ---------------------------------------------------------------------------------------------
# A minimal XML tree with line numbers
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Node:
    """One XML element: its own character data excludes the text of nested elements."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def own_text(self) -> str:
        return " ".join("".join(self.parts).split())

    def all(self, tag: str) -> list[_Node]:
        return [child for child in self.children if child.tag == tag]

    def first(self, tag: str) -> _Node | None:
        return next((child for child in self.children if child.tag == tag), None)

    def text_of(self, tag: str) -> str | None:
        child = self.first(tag)
        return child.own_text if child is not None else None


class _WrongRoot(Exception):
    def __init__(self, found: str, line: int) -> None:
        self.found = found
        self.line = line


def _load_xml(path: Path, root_tag: str) -> _Node:
    """Parse `path` whole; corrupt, truncated or foreign files become a SourceError."""
    stack: list[_Node] = []
    roots: list[_Node] = []
    parser = expat.ParserCreate()
    parser.buffer_text = True  # one data event per text run instead of one per line

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = _Node(tag, attrs, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        elif tag != root_tag:
            # Stop at once: a wrong file may be large, and its errors would only confuse.
            raise _WrongRoot(tag, parser.CurrentLineNumber)
        else:
            roots.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def data(text: str) -> None:
        if stack:
            stack[-1].parts.append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    try:
        with path.open("rb") as handle:
            parser.ParseFile(handle)
    except FileNotFoundError:
        raise SourceError(path, "file not found") from None
    except OSError as exc:
        raise SourceError(path, f"cannot read file: {exc.strerror or exc}") from exc
    except expat.ExpatError as exc:
        message = f"corrupt or truncated XML: {expat.ErrorString(exc.code)}"
        raise SourceError(path, message, line=exc.lineno) from exc
    except _WrongRoot as exc:
        message = f"expected root element <{root_tag}>, found <{exc.found}>"
        raise SourceError(path, message, line=exc.line) from None
    if not roots:
        raise SourceError(path, f"no <{root_tag}> element found")
    return roots[0]


def _required_attr(node: _Node, name: str, path: Path) -> str:
    value = node.attrs.get(name, "").strip()
    if not value:
        raise SourceError(path, f"<{node.tag}> lacks its '{name}' attribute", line=node.line)
    return value


def _required_text(node: _Node, tag: str, path: Path) -> str:
    text = node.text_of(tag)
    if not text:
        raise SourceError(path, f"<{node.tag}> lacks a non-empty <{tag}>", line=node.line)
    return text


# ---------------------------------------------------------------------------------------------
# Tables
