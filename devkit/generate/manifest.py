"""The generator's manifest: what was generated, and what a first run must find.

`source_dir/manifest.json` is written last by `generate` and is byte-identical for the same (seed, scale,
anchor): keys are sorted and nothing in it depends on the machine, the clock or the directory. The
pipeline never reads it (the source tables alone are its input); tests and demos do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


class Manifest(Mapping[str, Any]):
    """Read-only view of the manifest data: `manifest["cases"]["rule1_same_schedule"]["visits"]`."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def cases(self) -> dict[str, dict[str, Any]]:
        return self.data["cases"]

    @property
    def counts(self) -> dict[str, int]:
        """Rows per source table, as counted in the emulation after writing."""
        return self.data["counts"]

    def case(self, name: str) -> dict[str, Any]:
        try:
            return self.cases[name]
        except KeyError:
            raise KeyError(f"no planted case {name!r}; known: {', '.join(sorted(self.cases))}") from None

    def to_json(self) -> str:
        return json.dumps(self.data, indent=1, sort_keys=True, ensure_ascii=True) + "\n"

    def write(self, source_dir: Path) -> Path:
        path = Path(source_dir) / MANIFEST_NAME
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, source_dir: Path) -> Manifest:
        path = Path(source_dir) / MANIFEST_NAME
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist; run `generate --source-dir {source_dir}` first")
        return cls(json.loads(path.read_text()))
