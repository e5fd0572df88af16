"""What the console tests seed: a project on the session collector with known content."""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import ServerHandle
from tests.console.eval_seed import EvalSeed
from tests.console.otel_seed import Seeded


@dataclass
class SeededProject:
    """A project on the session collector with known content."""

    name: str
    evals_project: str
    server: ServerHandle
    traces: Seeded
    evals: EvalSeed

    def url(self, path: str, project: str | None = None) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.server.url}{path}{sep}project={project or self.name}"
