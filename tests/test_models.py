"""Model shapes, causality, the safetensors round trip and config validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import wfdb
from safetensors.torch import save_file

from ecg_core.aami import symbols_to_classes
from ecg_core.classifier import BeatClassifier, load_model, predict_beats
from ecg_core.features import ALIGN_MAX_SHIFT_S
from ecg_core.models import (
    HybridBeatNet,
    ModelConfig,
    count_parameters,
    diagnostic_config,
    realtime_config,
)


def _model(cfg: ModelConfig, seed: int = 0) -> HybridBeatNet:
    torch.manual_seed(seed)
    model = HybridBeatNet(cfg).eval()
    # random BatchNorm statistics so that every layer does something
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    with torch.no_grad():  # a confident head, so that input changes visibly move the output
        model.head[1].weight.mul_(30.0)
    return model


def _inputs(cfg: ModelConfig, n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    morph = rng.normal(size=(n, cfg.in_channels, cfg.window_pre + cfg.window_post)).astype(
        np.float32
    )
    rr = rng.normal(scale=0.2, size=(n, cfg.n_rr)).astype(np.float32)
    return morph, rr


@pytest.mark.parametrize("make", [realtime_config, diagnostic_config])
def test_shapes_and_size(make):
    cfg = make()
    model = _model(cfg)
    assert count_parameters(model) <= 120_000
    morph = torch.randn(3, cfg.context_len, 2, 96)
    rr = torch.randn(3, cfg.context_len, cfg.n_rr)
    logits, attention = model(morph, rr)
    assert logits.shape == (3, 5)
    assert attention.shape == (3, 96 // cfg.attention_stride)
    torch.testing.assert_close(attention.sum(-1), torch.ones(3))
    # adaptive pooling: a longer window works too
    logits, attention = model(torch.randn(2, cfg.context_len, 2, 128), rr[:2])
    assert logits.shape == (2, 5) and attention.shape[1] == 128 // cfg.attention_stride


def test_realtime_output_ignores_later_beats():
    cfg = realtime_config()
    model = _model(cfg)
    morph, rr = _inputs(cfg, 40)
    probs, att = predict_beats(model, morph, rr)
    k = 25
    morph2, rr2 = morph.copy(), rr.copy()
    morph2[k + 1 :] = np.random.default_rng(7).normal(size=morph2[k + 1 :].shape)
    rr2[k + 1 :] += 1.0
    probs2, att2 = predict_beats(model, morph2, rr2)
    np.testing.assert_allclose(probs2[: k + 1], probs[: k + 1], atol=1e-6)
    np.testing.assert_allclose(att2[: k + 1], att[: k + 1], atol=1e-6)
    assert not np.allclose(probs2[k + 1 :], probs[k + 1 :], atol=1e-4)  # the test can fail


def test_diagnostic_sees_exactly_one_beat_ahead():
    cfg = diagnostic_config()
    model = _model(cfg)
    morph, rr = _inputs(cfg, 40)
    probs, _ = predict_beats(model, morph, rr)
    k = 25
    next_beat = morph.copy()
    next_beat[k + 1] *= -3.0
    assert not np.allclose(predict_beats(model, next_beat, rr)[0][k], probs[k], atol=1e-4)
    two_ahead = morph.copy()
    two_ahead[k + 2 :] *= -3.0
    np.testing.assert_allclose(predict_beats(model, two_ahead, rr)[0][k], probs[k], atol=1e-6)


@pytest.mark.parametrize(
    "cfg, beats_ahead",
    [
        (realtime_config(), 0),
        # a diagnostic model on the real-time inputs reads the next beat and nothing further
        (diagnostic_config(causal=True, n_rr=4), 1),
    ],
    ids=["realtime", "diagnostic-causal-features"],
)
def test_classify_sees_no_further_than_its_lookahead(mitdb_dir, cfg, beats_ahead):
    """Altering the signal after the window of the last beat a model may see (which the
    template alignment may move by up to ALIGN_MAX_SHIFT_S; + 0.1 s for the resampling
    filter), and moving the later beats, leaves the prediction unchanged: causal filtering,
    past-only template and running means; the real-time model stops at the beat itself, the
    diagnostic one at the next beat."""
    rec = wfdb.rdrecord(str(mitdb_dir / "208"), sampto=360 * 60)
    ann = wfdb.rdann(str(mitdb_dir / "208"), "atr", sampto=360 * 60)
    r = ann.sample[symbols_to_classes(ann.symbol) >= 0]
    x = rec.p_signal[:, rec.sig_name.index("MLII")]
    clf = BeatClassifier(_model(cfg), name="test")
    before = clf.classify(x, 360.0, r)
    k = 40
    cut = r[k + beats_ahead] + int((0.47 + ALIGN_MAX_SHIFT_S + 0.1) * 360)
    altered = x.copy()
    altered[cut:] = np.random.default_rng(3).normal(scale=2.0, size=altered[cut:].size)
    r_altered = np.concatenate([r[r < cut], r[r >= cut] + 11])
    after = clf.classify(altered, 360.0, r_altered)
    np.testing.assert_allclose(after.probs[: k + 1], before.probs[: k + 1], atol=1e-5)
    assert np.abs(after.probs[k + 5 :] - before.probs[k + 5 :]).max() > 1e-4
    if beats_ahead:  # the diagnostic model does read the next beat
        nxt = slice(r[k + 1] - int(0.1 * 360), r[k + 1] + int(0.3 * 360))
        next_altered = x.copy()
        next_altered[nxt] = -next_altered[nxt]
        changed = clf.classify(next_altered, 360.0, r)
        assert np.abs(changed.probs[k] - before.probs[k]).max() > 1e-4


def test_safetensors_round_trip(tmp_path):
    cfg = diagnostic_config()
    model = _model(cfg)
    cfg.to_json(tmp_path / "config.json")
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()},
        str(tmp_path / "model.safetensors"),
    )
    loaded = load_model(tmp_path)
    assert loaded.mode == "diagnostic" and loaded.config == cfg
    morph, rr = _inputs(cfg, 20)
    np.testing.assert_array_equal(
        predict_beats(loaded.model, morph, rr)[0], predict_beats(model, morph, rr)[0]
    )


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "offline"},
        {"bidirectional": True},
        {"lookahead": 1},
        {"n_rr": 5},
        {"classes": ["N", "S", "V"]},
        {"window_pre": 0},
        {"dropout_rate": 0.3},
    ],
)
def test_config_validation_rejects_bad_configs(tmp_path, change):
    data = json.loads(json.dumps(realtime_config().__dict__))
    data.update(change)
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="Invalid model config"):
        ModelConfig.from_json(tmp_path / "config.json")
    with pytest.raises(ValueError):
        load_model(tmp_path)


def test_unknown_checkpoint_names_the_choices():
    with pytest.raises(FileNotFoundError, match="No model checkpoint"):
        load_model("no-such-model")


def test_classify_averages_leads_by_their_weights():
    from ecg_core.classifier import mean_over_leads

    probs = np.zeros((3, 2, 5), np.float32)
    probs[:, 0, 0] = 1.0  # lead 0 says N
    probs[:, 1, 2] = 1.0  # lead 1 says V
    np.testing.assert_allclose(mean_over_leads(probs)[:, [0, 2]], 0.5)
    weights = np.array([[1.0, 0.0], [1.0, 3.0], [0.0, 0.0]])  # last beat: no usable lead
    mixed = mean_over_leads(probs, weights)
    np.testing.assert_allclose(mixed[:, 0], [1.0, 0.25, 0.5])
    np.testing.assert_allclose(mixed[:, 2], [0.0, 0.75, 0.5])
    with pytest.raises(ValueError, match="lead_weights"):
        mean_over_leads(probs, np.ones((3, 3)))
    with pytest.raises(ValueError, match="lead_weights"):
        mean_over_leads(probs, -np.ones((3, 2)))


def test_two_lead_classify_is_the_mean_of_each_lead(mitdb_dir):
    model = load_model("diagnostic")
    rec = wfdb.rdrecord(str(mitdb_dir / "208"), sampfrom=0, sampto=60 * 360)
    ann = wfdb.rdann(str(mitdb_dir / "208"), "atr", sampfrom=0, sampto=60 * 360)
    keep = symbols_to_classes(ann.symbol) >= 0
    r_peaks = ann.sample[keep]
    leads = rec.p_signal
    # Lead 0's windows are moved onto its templates; lead 1's sit where lead 0's went.
    first_lead, _, centres = model.network_probabilities(leads[:, 0], 360.0, r_peaks)
    second_lead = model.network_probabilities(leads[:, 1], 360.0, r_peaks, centres)[0]
    each = [first_lead, second_lead]
    both = model.classify(leads, 360.0, r_peaks, svt_step=False)
    first = model.classify(leads[:, 0], 360.0, r_peaks, svt_step=False)
    # No AF in this minute, so the probabilities are the plain mean of the two leads'.
    assert not both.in_af.any()
    np.testing.assert_allclose(both.probs, (each[0] + each[1]) / 2, atol=1e-6)
    np.testing.assert_array_equal(both.attention, first.attention)  # attention: column 0


def test_classify_refuses_non_finite_samples():
    from ecg_core.errors import ECGInputError

    model = load_model("realtime")
    leads = np.zeros((20 * 360, 2))
    leads[100, 1] = np.nan
    with pytest.raises(ECGInputError, match="NaN"):
        model.classify(leads, 360.0, np.arange(200, 7000, 300))
