"""Hub checkpoints: dry-run upload folder and card, the resolver, the offline fallback.

Everything here runs without network; the only untested lines are the real Hub calls in
``ecg_core.hub.push_folder`` and a successful ``snapshot_download``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard, constants
from huggingface_hub.errors import LocalEntryNotFoundError
from safetensors.numpy import save_file

from ecg_core.errors import ECGInputError
from ecg_core.hub import (
    HUB_ALLOW_PATTERNS,
    build_upload_folder,
    parse_hub_location,
    resolve_checkpoint,
    resolve_with_fallback,
    validate_checkpoint_dir,
)
from ecg_core.model_card import iter_evaluations

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import push_to_hub  # noqa: E402

#: A refused port: the Hub "cannot be reached" for real, at once, without touching the network.
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"


def _evaluation(beats: str, v_se: float, s_ppv: float, qrs: bool) -> dict:
    classes = {c: {"se": 0.9, "ppv": 0.8, "n": 100} for c in "NSVFQ"}
    classes["V"]["se"] = v_se
    classes["S"]["ppv"] = s_ppv
    out = {
        "database": "mitdb",
        "records": "DS2",
        "beats": beats,
        "mode": "diagnostic",
        "classes": classes,
        "accuracy": 0.95,
        "confusion": {"labels": list("NSVFQ"), "matrix": np.eye(5, dtype=int).tolist()},
    }
    if qrs:
        out["qrs"] = {"tp": 10, "fp": 1, "fn": 0, "se": 0.9987, "ppv": 0.9979}
    return out


def make_checkpoint(folder: Path, with_metrics: bool = True) -> Path:
    """A hand-made checkpoint in the PLAN.md format (tiny tensors, real safetensors files)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"mode": "diagnostic"}), encoding="utf-8")
    save_file({"w": np.ones((4, 3), dtype=np.float32)}, str(folder / "model.safetensors"))
    save_file({"w_int8": np.ones((4, 3), dtype=np.int8)}, str(folder / "model_int8.safetensors"))
    (folder / "loss_curve.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "val_confusion.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "train_log.json").write_text("{}")
    if with_metrics:
        metrics = {
            "reference": _evaluation("reference", 0.9612, 0.7534, qrs=False),
            "detected": _evaluation("detected", 0.9550, 0.7401, qrs=True),
        }
        (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return folder


def test_dry_run_builds_the_exact_folder_with_a_valid_card(tmp_path: Path) -> None:
    checkpoint = make_checkpoint(tmp_path / "ck")
    out = tmp_path / "upload"
    assert (
        push_to_hub.main(
            [str(checkpoint), "--repo-id", "someone/ecg-diag", "--dry-run", "--out", str(out)]
        )
        == 0
    )

    (checkpoint / "notes.txt").write_text("not part of the format: must not be uploaded")
    out2 = tmp_path / "upload2"
    build_upload_folder(checkpoint, out2, "someone/ecg-diag")
    shipped = sorted(p.name for p in checkpoint.iterdir() if p.name != "notes.txt")
    assert sorted(p.name for p in out.iterdir()) == sorted([*shipped, "README.md"])
    assert sorted(p.name for p in out2.iterdir()) == sorted(p.name for p in out.iterdir())
    assert set(shipped) < set(HUB_ALLOW_PATTERNS)
    for name in ("model.safetensors", "model_int8.safetensors", "metrics.json"):
        assert (out / name).read_bytes() == (checkpoint / name).read_bytes()

    card = ModelCard.load(out / "README.md")  # huggingface_hub's own parser, offline
    assert card.data.license == "mit"
    assert {"ecg", "arrhythmia"} <= set(card.data.tags)
    assert card.data.datasets and card.data.model_name == "ecg-diag"
    for section in (
        "## Intended use",
        "## Evaluation protocol",
        "## Limitations",
        "not a medical device",
        "DS2",
        "bibtex",
    ):
        assert section.lower() in card.text.lower(), section

    # Every Se/+P/accuracy/QRS value of metrics.json is in the model-index, unchanged.
    metrics = json.loads((checkpoint / "metrics.json").read_text())
    in_card = {(r.dataset_config, r.metric_type): r.metric_value for r in card.data.eval_results}
    expected = {}
    for key, evaluation in iter_evaluations(metrics):
        for label, scores in evaluation["classes"].items():
            expected[(key, f"{label.lower()}_se")] = scores["se"]
            expected[(key, f"{label.lower()}_ppv")] = scores["ppv"]
        expected[(key, "accuracy")] = evaluation["accuracy"]
        for field in ("se", "ppv"):
            if "qrs" in evaluation:
                expected[(key, f"qrs_{field}")] = evaluation["qrs"][field]
    assert in_card == expected
    assert in_card[("reference", "v_se")] == 0.9612 and in_card[("detected", "qrs_ppv")] == 0.9979
    assert "96.12" in card.text  # the human-readable table shows the same figure


def test_dry_run_without_metrics_and_bad_inputs(tmp_path: Path) -> None:
    checkpoint = make_checkpoint(tmp_path / "ck", with_metrics=False)
    out = build_upload_folder(checkpoint, tmp_path / "up", "someone/x")
    assert not (out / "metrics.json").exists()
    assert ModelCard.load(out / "README.md").data.eval_results is None
    with pytest.raises(ECGInputError, match="OWNER/NAME"):
        build_upload_folder(checkpoint, tmp_path / "up2", "not-a-repo-id")
    (tmp_path / "up" / "stale.bin").write_bytes(b"x")
    with pytest.raises(ECGInputError, match="stale.bin"):
        build_upload_folder(checkpoint, tmp_path / "up", "someone/x")
    assert (
        push_to_hub.main(
            [
                str(tmp_path / "missing"),
                "--repo-id",
                "a/b",
                "--dry-run",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )


def test_parse_hub_location() -> None:
    assert parse_hub_location("hf://a/b") == ("a/b", None)
    assert parse_hub_location("hf://a/b@main") == ("a/b", "main")
    assert parse_hub_location("diagnostic") is None
    for bad in ("hf://a", "hf://a/b@", "hf:///b"):
        with pytest.raises(ECGInputError):
            parse_hub_location(bad)


def test_resolve_local_folder_and_shipped_name(tmp_path: Path) -> None:
    checkpoint = make_checkpoint(tmp_path / "shipped" / "mymodel")
    assert resolve_checkpoint(checkpoint) == checkpoint.resolve()
    assert (
        resolve_checkpoint("mymodel", checkpoints_dir=tmp_path / "shipped") == checkpoint.resolve()
    )
    with pytest.raises(ECGInputError, match="shipped: mymodel"):
        resolve_checkpoint("nope", checkpoints_dir=tmp_path / "shipped")


def test_validation_rejects_pickles_and_fake_safetensors(tmp_path: Path) -> None:
    folder = tmp_path / "pickled"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ECGInputError, match="only safetensors"):
        validate_checkpoint_dir(folder)
    (folder / "model.safetensors").write_bytes(b"\x80\x04 not safetensors at all")
    with pytest.raises(ECGInputError, match="not a valid safetensors"):
        validate_checkpoint_dir(folder)
    good = make_checkpoint(tmp_path / "good")
    (good / "config.json").write_text(json.dumps({"mode": "turbo"}))
    with pytest.raises(ECGInputError, match="turbo"):
        validate_checkpoint_dir(good)
    (good / "config.json").write_text("[1, 2]")
    with pytest.raises(ECGInputError, match="JSON object"):
        validate_checkpoint_dir(good)


def test_hub_location_offline_with_empty_cache_raises_the_hub_error(tmp_path, monkeypatch) -> None:
    # HF_HUB_OFFLINE is read by huggingface_hub at import; set both the variable and its constant.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(LocalEntryNotFoundError):
        resolve_checkpoint("hf://someone/ecg-diag", cache_dir=tmp_path / "hf-cache")


@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE", "unreachable endpoint"])
def test_fallback_to_committed_checkpoint_when_hub_unreachable(
    tmp_path, monkeypatch, caplog, how
) -> None:
    shipped = tmp_path / "checkpoints"
    make_checkpoint(shipped / "diagnostic")
    kwargs = {"cache_dir": tmp_path / "hf-cache", "checkpoints_dir": shipped}
    if how == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    else:
        kwargs["endpoint"] = UNREACHABLE_ENDPOINT
    monkeypatch.setenv("ECG_MODEL_LOCATION", "hf://someone/ecg-diag@v2")
    with caplog.at_level("WARNING", logger="ecg_core.hub"):
        folder, message = resolve_with_fallback(**kwargs)
    assert folder == (shipped / "diagnostic").resolve()
    assert "hf://someone/ecg-diag@v2" in message and "committed checkpoint 'diagnostic'" in message
    assert "LocalEntryNotFoundError" in message
    assert message in caplog.text


def test_fallback_does_not_hide_a_bad_local_location(tmp_path) -> None:
    make_checkpoint(tmp_path / "checkpoints" / "diagnostic")
    with pytest.raises(ECGInputError):
        resolve_with_fallback(
            str(tmp_path / "no-such-folder"), checkpoints_dir=tmp_path / "checkpoints"
        )
    folder, message = resolve_with_fallback("diagnostic", checkpoints_dir=tmp_path / "checkpoints")
    assert folder.name == "diagnostic" and message == "Model: diagnostic."


def _real_checkpoint(folder: Path) -> Path:
    """A loadable checkpoint of the real model (fresh weights), as scripts/train.py writes it."""
    import torch
    from safetensors.torch import save_file as save_torch

    from ecg_core.models import HybridBeatNet, diagnostic_config
    from ecg_core.quantize import save_int8

    torch.manual_seed(0)
    model = HybridBeatNet(diagnostic_config())
    folder.mkdir(parents=True)
    model.cfg.to_json(folder / "config.json")
    save_torch(model.state_dict(), str(folder / "model.safetensors"))
    save_int8(model, folder / "model_int8.safetensors")
    return folder


def test_load_model_goes_through_the_hub_resolver_and_falls_back(tmp_path, monkeypatch) -> None:
    from ecg_core.classifier import load_model
    from ecg_core.hub import load_model_with_fallback

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(LocalEntryNotFoundError):
        load_model("hf://someone/ecg-diag@main")
    shipped = tmp_path / "checkpoints"
    _real_checkpoint(shipped / "diagnostic")
    model, message = load_model_with_fallback(
        "hf://someone/ecg-diag", checkpoints_dir=shipped, cache_dir=tmp_path / "hf-cache"
    )
    assert model.mode == "diagnostic" and model.name == "diagnostic"
    assert "using the committed checkpoint 'diagnostic'" in message
    quantized, _ = load_model_with_fallback(str(shipped / "diagnostic"), quantized=True)
    assert quantized.quantized
