"""scripts/train.py end to end: a few real steps of the shipped recipe on MIT-BIH DS1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from _scripts import load_script

from ecg_core.classifier import load_model

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mode", ["diagnostic", "realtime"])
def test_defaults_are_the_shipped_recipe(mode):
    args = load_script("train").parse_args(["--mode", mode, "--out", "x"])
    # what checkpoints/*/train_log.json records for the shipped models
    shipped = json.loads((REPO / f"checkpoints/{mode}/train_log.json").read_text())
    keys = ("epochs", "other_lead", "recorder_aug", "lead_mix", "rr_cv", "ema", "early_stop")
    for key in (*keys, "ensemble", "false_detections", "hold_out_val"):
        assert getattr(args, key) == shipped["args"].get(key, False), key
    # an explicit flag wins over the mode's default
    explicit = load_script("train").parse_args(["--mode", mode, "--out", "x", "--rr-cv"])
    assert explicit.rr_cv is True


def test_an_unknown_device_is_refused_when_parsed(capsys):
    with pytest.raises(SystemExit):
        load_script("train").parse_args(["--mode", "diagnostic", "--out", "x", "--device", "gpu0"])
    assert "'gpu0' is not a torch device" in capsys.readouterr().err


def test_train_writes_a_loadable_checkpoint(mitdb_dir, tmp_path):
    out = tmp_path / "run"
    argv = ["--mode", "realtime", "--out", str(out), "--data-dir", str(mitdb_dir)]
    argv += ["--epochs", "1", "--steps-per-epoch", "3", "--batch-size", "32", "--noise-dir", ""]
    argv += ["--ensemble", "2", "--seed", "5", "--cross-lead-targets", "--aberrate-s", "0.5"]
    assert load_script("train").main(argv) == 0
    # the ensemble: two teachers with consecutive seeds, trained without distillation
    log = json.loads((out / "train_log.json").read_text())
    teachers = [out / "teachers" / "seed5", out / "teachers" / "seed6"]
    assert log["teachers"] == [str(t) for t in teachers]
    for seed, teacher in zip((5, 6), teachers, strict=True):
        teacher_log = json.loads((teacher / "train_log.json").read_text())
        assert teacher_log["args"]["seed"] == seed and teacher_log["teachers"] == []
        assert teacher_log["args"]["cross_lead_targets"] is False  # the student's option
        assert load_model(teacher).config == load_model(out).config
    for name in ("config.json", "model.safetensors", "model_int8.safetensors", "train_log.json"):
        assert (out / name).is_file(), name
    for name in ("loss_curve.png", "val_confusion.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    # all of DS1, both leads: the validation records are trained on and the log says so
    assert log["val_records_trained_on"] is True
    assert "201" in log["train_records"] and "201:other" in log["train_records"]
    assert log["args"]["lead_mix"] == 0.5 and log["args"]["cross_lead_targets"] is True
    model = load_model(out)
    assert model.config.n_rr == 4 and model.config.causal
    rng = np.random.default_rng(0)
    signal = np.sin(np.arange(20 * 360) / 360 * 2 * np.pi) + 0.01 * rng.standard_normal(20 * 360)
    predictions = model.classify(signal, 360.0, np.arange(200, 7000, 300))
    assert predictions.probs.shape == (23, 5)
    np.testing.assert_allclose(predictions.probs.sum(axis=1), 1.0, rtol=1e-5)


def test_distillation_loss_is_cross_entropy_against_soft_targets():
    from ecg_core.training import distillation_loss

    logits = torch.tensor([[2.0, 0.0, -1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 3.0]])
    one_hot = torch.nn.functional.one_hot(torch.tensor([0, 4]), 5).float()
    expected = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 4]))
    assert torch.isclose(distillation_loss(logits, one_hot), expected)
    # minimal where the student's probabilities are the teachers': zero gradient there
    soft = torch.tensor([[0.7, 0.1, 0.1, 0.05, 0.05]])
    student = soft.log().clone().requires_grad_(True)
    distillation_loss(student, soft).backward()
    assert student.grad.abs().max() < 1e-6


def test_hold_out_val_never_trains_on_the_validation_records(mitdb_dir, tmp_path):
    from ecg_core.aami import DS1_VAL_RECORDS

    train = load_script("train")
    out = tmp_path / "held_out"
    argv = ["--mode", "realtime", "--data-dir", str(mitdb_dir), "--noise-dir", ""]
    argv += ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "32", "--ensemble", "0"]
    assert train.main([*argv, "--hold-out-val", "--out", str(out)]) == 0
    log = json.loads((out / "train_log.json").read_text())
    assert log["val_records_trained_on"] is False and log["args"]["early_stop"] is False
    trained = {name.split(":")[0] for name in log["train_records"]}
    assert trained and not trained & set(DS1_VAL_RECORDS)
    # a teacher that saw the validation records cannot teach a held-out student
    log["val_records_trained_on"] = True
    (out / "train_log.json").write_text(json.dumps(log))
    student = [*argv, "--hold-out-val", "--teacher", str(out), "--out", str(tmp_path / "s")]
    with pytest.raises(SystemExit, match="trained on the DS1 validation records"):
        train.main(student)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--no-other-lead"], "--lead-mix needs --other-lead"),
        (["--cross-lead-targets", "--ensemble", "0"], "--cross-lead-targets needs"),
    ],
)
def test_option_conflicts_stop_before_any_teacher_trains(tmp_path, options, message):
    # --ensemble 3 (the default) would train three teachers first: the error must come before.
    argv = ["--mode", "diagnostic", "--out", str(tmp_path / "run"), *options]
    with pytest.raises(SystemExit, match=message):
        load_script("train").main(argv)
    assert not (tmp_path / "run").exists()
