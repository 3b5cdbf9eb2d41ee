"""Node specs: detection on this machine, the schema, and the compute-unit rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from offchain.specs import NodeSpecs, SpecsError, detect, load_specs, units_for

Run = Callable[..., Result]
Refusal = Callable[[Result, str], None]


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "specs.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("specs", "units"),
    [
        ({"gpu": "RTX 4090", "vram_gb": 24}, 24),
        ({"gpu": "H200", "gpu_count": 8, "vram_gb": 141}, 8 * 141),
        ({"gpu": "A10", "vram_gb": 23.9}, 23),
        ({"cpu": "EPYC", "cpu_cores": 16, "ram_gb": 128}, 1),
        ({}, 1),
    ],
)
def test_compute_units_follow_gpu_memory(specs: dict[str, object], units: int) -> None:
    assert NodeSpecs.model_validate(specs).max_units == units


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ({"gpu": "RTX 4090", "vram_gb": 24, "units": -5}, "'units' Input should be greater"),
        ({"gpu": "RTX 4090", "vram_gb": 24, "units": 30}, "allows at most 24"),
        ({"gpu": "RTX 4090"}, "'vram_gb' is needed with 'gpu'"),
        ({"gpu": "RTX 4090", "vram_gb": -1}, "'vram_gb' Input should be greater"),
        ({"gpu": "x", "vram_gb": 8, "vramgb": 8}, "'vramgb' unknown key"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_hand_written_specs_are_validated(tmp_path: Path, data: object, sentence: str) -> None:
    with pytest.raises(SpecsError) as caught:
        load_specs(write(tmp_path, data))
    assert sentence in str(caught.value)


def test_units_must_agree_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"gpu": "RTX 4090", "vram_gb": 24, "units": 20})
    specs = load_specs(path)
    assert units_for(specs, None, path=path) == 20
    assert units_for(specs, 20, path=path) == 20
    with pytest.raises(SpecsError, match="--units 21 disagrees with 'units': 20"):
        units_for(specs, 21, path=path)
    bare = NodeSpecs(gpu="RTX 4090", vram_gb=24)
    assert units_for(bare, None, path=path) == 24
    assert units_for(bare, 10, path=path) == 10  # fewer than the hardware allows is fine
    with pytest.raises(SpecsError, match="more than the hardware"):
        units_for(bare, 25, path=path)


def test_detect_reads_this_machine(tmp_path: Path) -> None:
    found = detect(tmp_path)
    assert found.cpu_cores is not None and found.cpu_cores >= 1
    assert found.ram_gb is not None and found.ram_gb > 0
    assert found.disk_gb is not None and found.disk_gb >= 0
    assert found.units == found.max_units >= 1
    NodeSpecs.model_validate(found.as_json())  # what it writes passes its own schema


def test_node_specs_writes_a_file_node_add_accepts(
    run_cli: Run, assert_refusal: Refusal, loranet_env: Path, tmp_path: Path
) -> None:
    out = tmp_path / "node-specs.json"
    shown = json.loads(run_cli("node", "specs", "--output", str(out), "--json", ok=True).stdout)
    written = load_specs(out)
    assert written.units == shown["units"] >= 1
    assert_refusal(run_cli("node", "specs", "--output", str(out)), "exists: pass --force")
    run_cli("node", "specs", "--output", str(out), "--force", ok=True)


def test_detect_reads_gpus_through_nvml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: a stand-in for the NVML module (the one part that needs a driver)."""
    import sys
    import types

    h200 = 150_754_820_096  # what NVML reports for an H200 ("141 GB")
    fake = types.ModuleType("pynvml")
    calls: list[str] = []
    fake.nvmlInit = lambda: calls.append("init")  # type: ignore[attr-defined]
    fake.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    fake.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    fake.nvmlDeviceGetName = lambda h: b"NVIDIA H200"  # type: ignore[attr-defined]
    fake.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=h200)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    found = detect(tmp_path)
    assert (found.gpu, found.gpu_count, found.vram_gb) == ("NVIDIA H200", 2, 140.4)
    assert found.units == found.max_units == 2 * 140
    assert calls == ["init", "shutdown"]
