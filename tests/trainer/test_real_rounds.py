"""A node's steps on a real-architecture folder and chat data replay exactly for a validator
that runs the same precision; ``loranet train`` flags and refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from offchain.cli.main import app
from trainer.cli import data_config, model_config
from trainer.config import DataConfig, ModelConfig, TrainConfig
from trainer.data import TrainingData
from trainer.models import build_tokenizer
from trainer.replay import ReplayChecker

runner = CliRunner()


def _chat_file(path: Path) -> Path:
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"{a}+1?"},
                {"role": "assistant", "content": str(a + 1)},
            ]
        }
        for a in range(24)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(("arch", "dtype"), [("gpt2", "fp32"), ("mistral", "bf16")])
def test_replay_of_real_model_steps_matches(
    tmp_path: Path, model_folders: dict[str, Path], local_steps: Any, arch: str, dtype: str
) -> None:
    cfg = TrainConfig(
        model=ModelConfig(source="pretrained", path=model_folders[arch], lora_r=4, dtype=dtype),
        data=DataConfig(source="jsonl", path=_chat_file(tmp_path / "chat.jsonl"), max_length=32),
        batch_size=4,
        learning_rate=1e-2,
    )
    data = TrainingData(cfg.data, build_tokenizer(cfg.model))
    shard = data.shard(1, 0, 0, 2)
    run = local_steps(cfg, shard, tmp_path, steps=4)  # one segment (checkpoint_every=4)
    checker = ReplayChecker(cfg)
    first = run.records[0]
    verdict = checker.check_segment(
        run.checkpoints[first.start], run.checkpoints[first.end], shard, run.records
    )
    assert verdict.accepted, verdict.reason
    # a validator replaying in another precision than the node's does not agree exactly
    flipped = "bf16" if dtype == "fp32" else "fp32"
    other = cfg.model_copy(update={"model": cfg.model.model_copy(update={"dtype": flipped})})
    mismatch = ReplayChecker(other).check(run.checkpoints[first.start], shard, 0, first)
    assert mismatch.loss_rel_diff > 0


def test_cli_flags_build_the_config(tmp_path: Path, model_folders: dict[str, Path]) -> None:
    cfg = model_config(
        model_folders["gpt2"],
        lora_targets="c_attn,c_proj",
        lora_r=16,
        lora_alpha=8,
        dtype="auto",
        quantization="auto",
        gradient_checkpointing=True,
    )
    assert cfg.lora_target_modules == ("c_attn", "c_proj")
    assert (cfg.lora_r, cfg.lora_alpha, cfg.gradient_checkpointing) == (16, 8, True)
    assert (cfg.dtype, cfg.quantization) == ("fp32", "none")  # no GPU here
    assert model_config(None).lora_target_modules is None
    data = data_config(tmp_path / "x.parquet", max_length=512)
    assert (data.source, data.max_length) == ("auto", 512)
    help_text = runner.invoke(app, ["train", "--help"]).output
    for flag in ("--lora-targets", "--lora-r", "--max-length", "--quantization", "--dtype"):
        assert flag in help_text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--quantization", "4bit"], "needs a CUDA GPU"),
        (["--dtype", "fp16"], "fp16, which needs a CUDA GPU"),
        (["--data-format", "xml"], "--data-format must be one of"),
    ],
)
def test_train_refuses_before_starting_peers(
    tmp_path: Path, model_folders: dict[str, Path], extra: list[str], message: str
) -> None:
    data = _chat_file(tmp_path / "chat.jsonl")
    args = ["train", "--model-path", str(model_folders["llama"]), "--data-file", str(data)]
    result = runner.invoke(app, [*args, *extra, "--out", str(tmp_path / "out")])
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_train_refuses_a_bad_data_file(tmp_path: Path, model_folders: dict[str, Path]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"title": "no"}\n')
    result = runner.invoke(
        app,
        ["train", "--model-path", str(model_folders["gpt2"]), "--data-file", str(bad)],
    )
    assert result.exit_code == 1
    assert "bad.jsonl line 2" in " ".join(result.output.split())


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_gpt2_folder_and_chat_jsonl_train_through_the_cli(
    tmp_path: Path, model_folders: dict[str, Path]
) -> None:
    """The reported failure: a GPT-2 folder (c_attn, Conv1D) with a chat JSONL file."""
    import os
    import shutil
    import signal
    import subprocess
    import sys

    exe = shutil.which("loranet", path=str(Path(sys.executable).parent)) or "loranet"
    data = _chat_file(tmp_path / "chat.jsonl")
    args = [exe, "train", "--model-path", str(model_folders["gpt2"]), "--data-file", str(data)]
    args += ["--peers", "2", "--epochs", "1", "--target-batch-size", "16", "--lora-r", "4"]
    args += ["--max-length", "48", "--out", str(tmp_path / "out"), "--json"]
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=220)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["eval_loss_after"] < summary["eval_loss_before"]
    assert [p["epochs"] for p in summary["peers"]] == [1, 1]
