"""int8 weights with per-output-channel scales, stored as plain tensors in safetensors.

Why this format (and not torch.ao.quantization): in torch 2.13 ``torch.ao.quantization``
prints a deprecation notice (slated for removal in favour of torchao), its dynamic int8
modules cover Linear/LSTM but not Conv1d, and neither its packed params nor torchao's int8
tensor subclasses can be written to safetensors (which we require: no pickle). Plain int8
tensors + float32 scales are readable by any safetensors reader, today and later.

At load we dequantise to float32 and run the ordinary model: the whole network is ~0.1 M
parameters, inference time is dominated by small conv / LSTM kernels and Python overhead, not
by weight bandwidth, so an int8 compute path buys nothing measurable on this CPU, while the
dequantised model runs at exactly the fp32 speed (the "at least as many beats/s" target)
and the file is ~4x smaller (the size target). Measured with
``python scripts/benchmark.py --sections model --out m.json`` (record 208's 2950 detected
beats, 2 threads, median of 5; diagnostic): batched fp32 20.7k, int8-dequantised 21.1k,
torch.ao dynamic int8 (LSTM + Linear) 20.5k beats/s; one beat at a time 1.19k / 1.11k / 1.10k
— the deprecated path gains nothing measurable (within run-to-run noise), so it is not used.
Accuracy: symmetric per-channel int8 keeps the
relative weight error below ~0.4 %, and tests check label agreement on real beats.

Quantised: every weight tensor with >= 2 dims (conv, linear, LSTM ih/hh), per output row.
Kept in float16: biases and BatchNorm parameters/statistics (a few hundred numbers).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

INT8_SUFFIX = ".int8"
SCALE_SUFFIX = ".scale"
FLOAT_SUFFIX = ".f16"


def quantize_tensor(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-output-channel int8: w ≈ q * scale[:, None, ...]."""
    flat = w.detach().float().reshape(w.shape[0], -1)
    scale = flat.abs().amax(dim=1).clamp_min(1e-12) / 127.0
    q = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q.reshape(w.shape), scale


def quantize_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        if t.dtype.is_floating_point and t.dim() >= 2:
            q, scale = quantize_tensor(t)
            out[name + INT8_SUFFIX] = q.contiguous()
            out[name + SCALE_SUFFIX] = scale.contiguous()
        elif t.dtype.is_floating_point:
            out[name + FLOAT_SUFFIX] = t.detach().to(torch.float16).contiguous()
        else:  # e.g. BatchNorm's num_batches_tracked
            out[name] = t.detach().contiguous()
    return out


def dequantize_state_dict(stored: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for name, t in stored.items():
        if name.endswith(INT8_SUFFIX):
            base = name[: -len(INT8_SUFFIX)]
            scale = stored[base + SCALE_SUFFIX].float()
            state[base] = t.float() * scale.reshape(-1, *([1] * (t.dim() - 1)))
        elif name.endswith(FLOAT_SUFFIX):
            state[name[: -len(FLOAT_SUFFIX)]] = t.float()
        elif not name.endswith(SCALE_SUFFIX):
            state[name] = t
    return state


def save_int8(model: torch.nn.Module, path: str | Path) -> int:
    """Write the int8 safetensors file; return its size in bytes."""
    save_file(
        quantize_state_dict(model.state_dict()), str(path), metadata={"format": "int8-per-channel"}
    )
    return Path(path).stat().st_size


def load_int8_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Float32 state dict from an int8 safetensors file (no pickle involved)."""
    return dequantize_state_dict(load_file(str(path)))
