"""Adapter artifacts: canonical bytes, stable hash, content-addressed store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from trainer.artifacts import (
    ArtifactStore,
    adapter_hash,
    canonical_adapter_bytes,
    load_adapter_state,
    save_adapter,
)
from trainer.errors import ArtifactError, ArtifactHashMismatchError, ArtifactNotFoundError


def test_hash_is_stable_across_save_and_load(tmp_path: Path, trained_adapter: Path) -> None:
    digest = adapter_hash(trained_adapter)
    state = load_adapter_state(trained_adapter)
    assert save_adapter(state, tmp_path / "again.safetensors") == digest
    assert (tmp_path / "again.safetensors").read_bytes() == trained_adapter.read_bytes()


def test_bytes_do_not_depend_on_key_order_dtype_or_layout() -> None:
    a = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    b = torch.ones(4)
    reference = canonical_adapter_bytes({"a": a, "b": b})
    assert canonical_adapter_bytes({"b": b, "a": a}) == reference
    assert canonical_adapter_bytes({"a": a.t().contiguous().t(), "b": b.double()}) == reference
    assert canonical_adapter_bytes({"a": a, "b": b * 2}) != reference


def test_file_is_plain_safetensors(trained_adapter: Path) -> None:
    loaded = load_file(str(trained_adapter))
    assert list(loaded) == sorted(loaded)
    assert all(t.dtype == torch.float32 for t in loaded.values())


def test_hash_is_identical_in_another_process(trained_adapter: Path) -> None:
    code = (
        "import torch; from pathlib import Path; from trainer.config import ModelConfig;"
        "from trainer.models import *; from trainer.artifacts import save_adapter;"
        "cfg = ModelConfig(); m = attach_lora(build_base_model(cfg), cfg);"
        "g = torch.Generator().manual_seed(7)\n"
        "with torch.no_grad():\n"
        "    for _, p in lora_named_parameters(m):\n"
        "        p.copy_(torch.randn(p.shape, generator=g) * 0.5)\n"
        "print(save_adapter(m, Path(__import__('sys').argv[1])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(trained_adapter.parent / "other.safetensors")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip().splitlines()[-1] == adapter_hash(trained_adapter)


def test_store_put_get_and_verify(tmp_path: Path, trained_adapter: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    digest = store.put(trained_adapter)
    assert digest == adapter_hash(trained_adapter)
    assert store.put(trained_adapter.read_bytes()) == digest
    assert store.get(digest).read_bytes() == trained_adapter.read_bytes()
    assert store.get(digest.upper().replace("0X", "0x")) == store.get(digest)
    store.path_for(digest).write_bytes(b"tampered")
    with pytest.raises(ArtifactHashMismatchError, match="corrupt"):
        store.get(digest)
    with pytest.raises(ArtifactNotFoundError):
        store.get("0x" + "00" * 32)
    with pytest.raises(ArtifactError, match="not a SHA-256"):
        store.get("0x1234")


def test_load_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    with pytest.raises(ArtifactError):
        load_adapter_state(bad)
    with pytest.raises(ArtifactNotFoundError):
        load_adapter_state(tmp_path / "missing.safetensors")
