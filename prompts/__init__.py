"""Versioned prompt templates shipped as package files (prompts/*.md).

A template starts with a ``version: NAME`` line; its body is split into parts by
``=== part ===`` lines and holds ``{{placeholder}}`` slots.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

VERSION_LINE = re.compile(r"^version:\s*(\S+)\s*$")
PART_LINE = re.compile(r"^=== (\w+) ===$", re.MULTILINE)
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class PromptError(ValueError):
    """A prompt file that is missing, has no version line, or is rendered without a value."""


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt template: `version` is recorded with every proposal it produced."""

    version: str
    text: str

    def parts(self) -> dict[str, str]:
        """The named parts (system, user, ...) of the template body."""
        pieces = PART_LINE.split(self.text)
        if len(pieces) < 3:
            return {"main": self.text.strip()}
        names, bodies = pieces[1::2], pieces[2::2]
        return {name: body.strip() for name, body in zip(names, bodies, strict=True)}

    def render(self, part: str, values: dict[str, str]) -> str:
        """Fill one part's placeholders in a single pass.

        One pass matters: a value (chart text) that itself contains ``{{chart}}`` is never
        expanded again, so chart text cannot pull other values into the prompt."""
        template = self.parts()[part]

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                raise PromptError(f"prompt {self.version}: no value for {{{{{name}}}}}")
            return values[name]

        return PLACEHOLDER.sub(fill, template)


@functools.cache
def load_prompt(name: str) -> Prompt:
    """Read ``prompts/<name>.md`` from the installed package."""
    filename = name if name.endswith(".md") else f"{name}.md"
    resource = resources.files(__package__ or "prompts").joinpath(filename)
    if not resource.is_file():
        raise PromptError(f"no prompt template named {filename!r}")
    first, _, body = resource.read_text(encoding="utf-8").partition("\n")
    version = VERSION_LINE.match(first.strip())
    if version is None:
        raise PromptError(f"{filename}: the first line must be 'version: NAME'")
    return Prompt(version=version.group(1), text=body)
