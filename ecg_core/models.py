"""The hybrid beat classifier: morphology CNN + RR MLP + LSTM across neighbouring beats.

Read top to bottom (nanoGPT style):

1. ``BeatEncoder`` turns ONE beat into an embedding: a small ResNet1D over the beat window
   (channels: beat, beat minus the patient's template), soft attention over its time steps
   (weights returned for the app) concatenated with adaptive average pooling (so any window
   length works), plus an MLP over the RR-ratio features.
2. ``HybridBeatNet`` runs an LSTM over the embeddings of a short context of beats
   (``context_past`` beats before, the current beat, ``lookahead`` beats after) and classifies
   the current beat from the LSTM state at its position plus its own embedding.

realtime:   lookahead=0, unidirectional LSTM -> the label of beat i uses beats <= i only.
diagnostic: lookahead=1, bidirectional LSTM -> also sees the next beat (and the next RR).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ecg_core.aami import AAMI_CLASSES

MODES: tuple[str, ...] = ("realtime", "diagnostic")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model and its preprocessing (saved as config.json)."""

    mode: str = "diagnostic"
    classes: list[str] = field(default_factory=lambda: list(AAMI_CLASSES))
    # preprocessing (must match ecg_core.features at training time)
    fs: float = 128.0
    window_pre: int = 36  # samples before R at fs
    window_post: int = 60  # samples from R on
    causal: bool = False  # causal filtering, past-only template and running means
    n_rr: int = 6
    # architecture
    in_channels: int = 2
    channels: list[int] = field(default_factory=lambda: [16, 24, 32, 48])
    strides: list[int] = field(default_factory=lambda: [2, 2, 1])
    kernel_size: int = 5
    rr_hidden: int = 16
    embed_dim: int = 64
    lstm_hidden: int = 48
    context_past: int = 3
    lookahead: int = 1
    bidirectional: bool = True
    dropout: float = 0.1
    # The checkpoint also holds ns_model.safetensors: a copy of this network adapted to
    # another recorder that re-splits each beat's N and S probabilities
    # (ecg_core.classifier.resplit_n_s); V, F and Q stay this network's.
    ns_network: bool = False

    @property
    def context_len(self) -> int:
        return self.context_past + 1 + self.lookahead

    @property
    def attention_stride(self) -> int:
        stride = 1
        for s in self.strides:
            stride *= s
        return stride

    def validate(self) -> ModelConfig:
        """Raise ValueError naming the first inconsistent field; return self."""
        problems = []
        if self.mode not in MODES:
            problems.append(f"mode={self.mode!r} (expected one of {MODES})")
        if list(self.classes) != list(AAMI_CLASSES):
            problems.append(f"classes={self.classes!r} (expected {list(AAMI_CLASSES)})")
        if self.mode == "realtime" and (
            self.lookahead != 0 or self.bidirectional or not self.causal
        ):
            problems.append("realtime mode needs lookahead=0, bidirectional=false, causal=true")
        if self.mode == "diagnostic" and self.lookahead < 1:
            problems.append("diagnostic mode needs lookahead >= 1")
        # the first n_rr columns of ecg_core.features.rr_features (the last, rhythm
        # irregularity, is optional so that models trained before it still load)
        expected_rr = (3, 4) if self.causal else (5, 6)
        if self.n_rr not in expected_rr:
            problems.append(
                f"n_rr={self.n_rr} (the {'causal' if self.causal else 'lookahead'} "
                f"RR features have {expected_rr[0]} or {expected_rr[1]} columns)"
            )
        if self.in_channels not in (1, 2):
            problems.append(
                f"in_channels={self.in_channels} (1: residual only, 2: beat + residual)"
            )
        if len(self.channels) != len(self.strides) + 1:
            problems.append("channels must have one more entry than strides")
        for name in ("window_pre", "window_post", "embed_dim", "lstm_hidden", "kernel_size"):
            if int(getattr(self, name)) <= 0:
                problems.append(f"{name}={getattr(self, name)} must be positive")
        if self.context_past < 0 or self.fs <= 0:
            problems.append("context_past must be >= 0 and fs > 0")
        if problems:
            raise ValueError("Invalid model config: " + "; ".join(problems))
        return self

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        if not isinstance(data, dict):
            raise ValueError("Invalid model config: expected a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Invalid model config: unknown field(s) {unknown}")
        return cls(**data).validate()

    @classmethod
    def from_json(cls, path: str | Path) -> ModelConfig:
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"Invalid model config {path}: {err}") from None
        return cls.from_dict(data)


def realtime_config(**overrides) -> ModelConfig:
    base = dict(mode="realtime", causal=True, n_rr=4, lookahead=0, bidirectional=False)
    return ModelConfig(**{**base, **overrides}).validate()


def diagnostic_config(**overrides) -> ModelConfig:
    base = dict(mode="diagnostic", causal=False, n_rr=6, lookahead=1, bidirectional=True)
    return ModelConfig(**{**base, **overrides}).validate()


class ResBlock1d(nn.Module):
    """conv-bn-relu-conv-bn plus a (strided 1x1) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, k: int):
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, k, padding=k // 2, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(
                nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out)
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class BeatEncoder(nn.Module):
    """One beat (window + RR features) -> embedding, and attention over the window."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = cfg.channels
        self.in_channels = cfg.in_channels
        self.stem = nn.Sequential(
            nn.Conv1d(cfg.in_channels, c[0], 7, padding=3, bias=False),
            nn.BatchNorm1d(c[0]),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(
            *[
                ResBlock1d(c[i], c[i + 1], cfg.strides[i], cfg.kernel_size)
                for i in range(len(cfg.strides))
            ]
        )
        self.attn_score = nn.Conv1d(c[-1], 1, 1)  # one score per time step
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.rr_mlp = nn.Sequential(
            nn.Linear(cfg.n_rr, cfg.rr_hidden),
            nn.ReLU(),
            nn.Linear(cfg.rr_hidden, cfg.rr_hidden),
            nn.ReLU(),
        )
        self.project = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(2 * c[-1] + cfg.rr_hidden, cfg.embed_dim), nn.ReLU()
        )

    def forward(self, morph: torch.Tensor, rr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """morph (N, C, L), rr (N, n_rr) -> embedding (N, E), attention (N, L // stride)."""
        # inputs are [beat, beat - template]; in_channels=1 keeps the template residual only
        h = self.blocks(self.stem(morph[:, -self.in_channels :]))  # (N, C', T)
        attention = torch.softmax(self.attn_score(h).squeeze(1), dim=-1)  # (N, T)
        attended = torch.einsum("nct,nt->nc", h, attention)
        pooled = self.pool(h).squeeze(-1)
        emb = self.project(torch.cat([attended, pooled, self.rr_mlp(rr)], dim=-1))
        return emb, attention


class HybridBeatNet(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.encoder = BeatEncoder(cfg)
        self.lstm = nn.LSTM(
            cfg.embed_dim, cfg.lstm_hidden, batch_first=True, bidirectional=cfg.bidirectional
        )
        lstm_out = cfg.lstm_hidden * (2 if cfg.bidirectional else 1)
        self.head = nn.Sequential(
            nn.Dropout(cfg.dropout), nn.Linear(lstm_out + cfg.embed_dim, len(cfg.classes))
        )

    def classify_context(self, emb_ctx: torch.Tensor) -> torch.Tensor:
        """emb_ctx (B, context_len, E), current beat at index context_past -> logits (B, K)."""
        seq, _ = self.lstm(emb_ctx)
        i = self.cfg.context_past
        return self.head(torch.cat([seq[:, i], emb_ctx[:, i]], dim=-1))

    def forward(
        self, morph: torch.Tensor, rr: torch.Tensor, context_grad: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """morph (B, T, C, L), rr (B, T, n_rr) with T = context_len
        -> logits (B, n_classes), attention of the current beat (B, L // stride).

        ``context_grad=False`` (training on a slow CPU) embeds the neighbouring beats without
        gradient: the encoder learns from the current beat only, the LSTM from all of them,
        at about a third of the cost. The outputs are the same either way.
        """
        b, t = morph.shape[:2]
        i = self.cfg.context_past
        if context_grad:
            emb, attention = self.encoder(morph.flatten(0, 1), rr.flatten(0, 1))
            emb, attention = emb.view(b, t, -1), attention.view(b, t, -1)[:, i]
        else:
            emb_i, attention = self.encoder(morph[:, i], rr[:, i])
            with torch.no_grad():
                emb = self.encoder(morph.flatten(0, 1), rr.flatten(0, 1))[0].view(b, t, -1)
            emb = torch.cat([emb[:, :i], emb_i[:, None], emb[:, i + 1 :]], dim=1)
        return self.classify_context(emb), attention


def context_indices(n_beats: int, context_past: int, lookahead: int) -> torch.Tensor:
    """(n_beats, context_len) indices of each beat's context, clipped at the record's ends
    (the first beat's "past" repeats the first beat, as in training)."""
    offsets = torch.arange(-context_past, lookahead + 1)
    return (torch.arange(n_beats)[:, None] + offsets[None, :]).clamp(0, max(n_beats - 1, 0))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
