"""Where knowledge-base versions live under MEDCODER_HOME, and the atomic `current` switch."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from retrieval.errors import NoKnowledgeBaseError

KEEP_VERSIONS = 2


def year_lexical_dir(version_dir: Path, year: int) -> Path:
    """Where a later fiscal year's lexical indexes live (beside the base year's `lexical/`)."""
    return version_dir / f"lexical-fy{year}"


class KBLayout:
    """``<home>/kb/versions/<id>/`` holds one build each; ``<home>/kb/current`` points to one."""

    def __init__(self, home: Path) -> None:
        self.root = home / "kb"
        self.versions = self.root / "versions"
        self.current_link = self.root / "current"
        self.embedding_cache = self.root / "embedding-cache.sqlite"
        self.lock_file = self.root / ".build.lock"

    def current(self) -> Path:
        if not self.current_link.exists():
            raise NoKnowledgeBaseError(
                f"no knowledge base under {self.root}; run `medcoder kb build` first"
            )
        return self.current_link.resolve()

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.current() / "manifest.json").read_text())

    def switch_to(self, version_dir: Path) -> None:
        """Point `current` at `version_dir` in one rename, so readers see old or new, never half."""
        temporary = self.root / f".current.{os.getpid()}"
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        temporary.symlink_to(version_dir.relative_to(self.root))
        os.replace(temporary, self.current_link)

    def prune(self) -> None:
        """Keep the current version and the one before it; drop older and abandoned builds."""
        current = self.current_link.resolve() if self.current_link.exists() else None
        complete = sorted(p for p in self.versions.iterdir() if (p / "manifest.json").exists())
        keep = set(complete[-KEEP_VERSIONS:]) | ({current} if current else set())
        for path in self.versions.iterdir():
            if path not in keep:
                shutil.rmtree(path, ignore_errors=True)
