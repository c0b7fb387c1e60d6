"""int8 checkpoints: size, safetensors-only storage, agreement with fp32 on real beats."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import wfdb
from safetensors import safe_open

from ecg_core.aami import symbols_to_classes
from ecg_core.classifier import CHECKPOINTS_DIR, INT8_WEIGHTS, load_model
from ecg_core.models import HybridBeatNet, diagnostic_config
from ecg_core.quantize import load_int8_state_dict, quantize_tensor, save_int8

SHIPPED = [
    name for name in ("realtime", "diagnostic") if (CHECKPOINTS_DIR / name / INT8_WEIGHTS).exists()
]


def test_per_channel_int8_error_is_small():
    w = torch.randn(48, 32, 5) * torch.logspace(-2, 0, 48)[:, None, None]  # channels differ
    q, scale = quantize_tensor(w)
    assert q.dtype == torch.int8 and scale.shape == (48,)
    err = (q.float() * scale[:, None, None] - w).abs().amax(dim=(1, 2))
    assert torch.all(err <= scale / 2 + 1e-7)  # half a step, per channel


def test_int8_file_round_trip(tmp_path):
    torch.manual_seed(0)
    model = HybridBeatNet(diagnostic_config())
    size = save_int8(model, tmp_path / INT8_WEIGHTS)
    assert size <= 150 * 1024
    with safe_open(str(tmp_path / INT8_WEIGHTS), "pt") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}
    assert torch.int8 in dtypes
    state = load_int8_state_dict(tmp_path / INT8_WEIGHTS)
    fresh = HybridBeatNet(diagnostic_config())
    fresh.load_state_dict(state, strict=True)
    w = model.encoder.stem[0].weight.detach()
    assert torch.allclose(fresh.encoder.stem[0].weight, w, atol=float(w.abs().max()) / 127)


@pytest.mark.skipif(not SHIPPED, reason="no shipped checkpoints under checkpoints/ yet")
@pytest.mark.parametrize("name", SHIPPED)
def test_int8_agrees_with_fp32_on_record_208(mitdb_dir, name):
    assert (CHECKPOINTS_DIR / name / INT8_WEIGHTS).stat().st_size <= 150 * 1024
    ten_min = 360 * 600  # ~1000 beats, ~300 of them PVCs, keeps the test fast
    rec = wfdb.rdrecord(str(mitdb_dir / "208"), sampto=ten_min)
    ann = wfdb.rdann(str(mitdb_dir / "208"), "atr", sampto=ten_min)
    labels = symbols_to_classes(ann.symbol)
    r = ann.sample[labels >= 0]
    x = rec.p_signal[:, rec.sig_name.index("MLII")]
    fp32 = load_model(name).classify(x, 360.0, r)
    int8 = load_model(name, quantized=True).classify(x, 360.0, r)
    assert np.mean(fp32.labels == int8.labels) >= 0.98
    assert np.abs(fp32.probs - int8.probs).max() < 0.5
    # and the model is not trivial on this PVC-rich record
    assert np.mean(fp32.labels[labels[labels >= 0] == 2] == 2) > 0.5
