"""Plain values shared by the dashboard tests (imported by name, unlike conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from offchain.settings import Settings
from offchain.web.scenario import Scenario
from offchain.web.service import Dashboard


@dataclass
class Served:
    """A dashboard served by uvicorn on loopback over a played network."""

    dashboard: Dashboard
    scenario: Scenario
    settings: Settings
    url: str
    data_dir: Path
