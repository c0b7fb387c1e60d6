"""The one model loader and the beat classifier used by the app, scripts and tests.

>>> model = load_model("diagnostic")                     # doctest: +SKIP
>>> pred = model.classify(signal_1d, fs=360.0, r_peaks=r_peaks)  # doctest: +SKIP
>>> pred.labels[:5], pred.probs.shape                     # doctest: +SKIP

Checkpoints are folders holding ``config.json`` (validated before use) and weights in
safetensors only (never pickle / ``torch.load``: a downloaded checkpoint must not be able
to run code): ``model.safetensors`` (fp32) or ``model_int8.safetensors`` (see
:mod:`ecg_core.quantize`). A checkpoint adapted to another recorder's N and S beats
(``ns_network`` in its config; ``scripts/adapt.py --n-s-only``) holds a second network,
``ns_model.safetensors`` / ``ns_model_int8.safetensors``, of the same shape
(:func:`resplit_n_s`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from ecg_core.aami import AAMI_CLASSES
from ecg_core.errors import ECGInputError
from ecg_core.features import beat_features, lowpass_morphology, template_aligned_positions
from ecg_core.models import HybridBeatNet, ModelConfig, context_indices
from ecg_core.preprocessing import CANONICAL_FS, resample_positions, to_canonical, validate_fs
from ecg_core.rhythm import af_beats, svt_continuation

CHECKPOINTS_DIR = Path(__file__).resolve().parents[1] / "checkpoints"
FP32_WEIGHTS = "model.safetensors"
INT8_WEIGHTS = "model_int8.safetensors"
NS_FP32_WEIGHTS = "ns_model.safetensors"
NS_INT8_WEIGHTS = "ns_model_int8.safetensors"
N_INDEX, S_INDEX, V_INDEX = (AAMI_CLASSES.index(c) for c in "NSV")


@dataclass
class BeatPredictions:
    """Per-beat output of :meth:`BeatClassifier.classify` (beats in the order given)."""

    probs: np.ndarray  # (n, 5) float32, over AAMI_CLASSES
    labels: np.ndarray  # (n,) int64 indices into AAMI_CLASSES
    attention: np.ndarray  # (n, L) float32, sums to 1 over the beat window
    window_offset_s: float  # time of attention[:, 0] relative to the R peak (negative)
    window_fs: float  # rate of the attention steps (Hz)
    in_af: np.ndarray  # (n,) bool: beat in atrial fibrillation (ecg_core.rhythm.af_beats)
    # (n,) bool: labelled S as the continuation of an SVT run (ecg_core.rhythm.svt_continuation)
    in_svt: np.ndarray


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """A checkpoint folder from a name under ``checkpoints/`` or a path.

    The one place that turns a model reference into a folder (the hub adds ``hf://`` here).
    """
    if str(name_or_path).strip().startswith("hf://"):  # hub engineer: Hub cache, validated
        from ecg_core.hub import resolve_checkpoint as resolve_hub_checkpoint

        return resolve_hub_checkpoint(name_or_path)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    named = CHECKPOINTS_DIR / str(name_or_path)
    if named.is_dir():
        return named
    available = sorted(p.name for p in CHECKPOINTS_DIR.glob("*") if (p / "config.json").exists())
    raise FileNotFoundError(
        f"No model checkpoint {str(name_or_path)!r}: not a folder, and not one of "
        f"{', '.join(available) or 'no checkpoints'} under {CHECKPOINTS_DIR}."
    )


@torch.no_grad()
def predict_beats(
    model: HybridBeatNet, morph: np.ndarray, rr: np.ndarray, batch_size: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (n, 5) and attention (n, T) for ONE record's consecutive beats.

    Each beat is embedded once; the LSTM then runs over each beat's context of embeddings.
    """
    model.eval()
    n = morph.shape[0]
    cfg = model.cfg
    if n == 0:
        t_steps = -(-(cfg.window_pre + cfg.window_post) // cfg.attention_stride)
        return np.zeros((0, len(cfg.classes)), np.float32), np.zeros((0, t_steps), np.float32)
    embs, attns = [], []
    for s in range(0, n, batch_size):
        e, a = model.encoder(
            torch.from_numpy(morph[s : s + batch_size]), torch.from_numpy(rr[s : s + batch_size])
        )
        embs.append(e)
        attns.append(a)
    emb = torch.cat(embs)
    ctx = context_indices(n, cfg.context_past, cfg.lookahead)
    probs = [
        torch.softmax(model.classify_context(emb[ctx[s : s + batch_size]]), dim=-1)
        for s in range(0, n, batch_size)
    ]
    return torch.cat(probs).numpy().astype(np.float32), torch.cat(attns).numpy().astype(np.float32)


def move_probability(probs: np.ndarray, beats: np.ndarray, source: int, target: int) -> np.ndarray:
    """A copy of ``probs`` where the marked beats' ``source`` probability is added to
    ``target``; the other classes keep theirs."""
    if not np.any(beats):
        return probs
    probs = probs.copy()
    probs[beats, target] += probs[beats, source]
    probs[beats, source] = 0.0
    return probs


def mean_over_leads(probs: np.ndarray, lead_weights: np.ndarray | None = None) -> np.ndarray:
    """Per-beat weighted mean of per-lead probabilities ``probs`` (n_beats, n_leads, 5).

    ``lead_weights`` (n_beats, n_leads), non-negative, e.g. 0 where a lead is noisy; None
    weighs the leads equally, and so does a beat whose weights are all 0.
    """
    n_beats, n_leads = probs.shape[:2]
    if lead_weights is None:
        return probs.mean(axis=1)
    weights = np.asarray(lead_weights, dtype=np.float64)
    if weights.shape != (n_beats, n_leads) or not np.all(np.isfinite(weights) & (weights >= 0)):
        raise ValueError(
            f"lead_weights must be finite, >= 0 and of shape {(n_beats, n_leads)}; "
            f"got shape {weights.shape}."
        )
    weights = np.where(weights.sum(axis=1, keepdims=True) > 0, weights, 1.0)
    weights = weights / weights.sum(axis=1, keepdims=True)
    return np.einsum("bl,blc->bc", weights, probs).astype(np.float32)


def resplit_n_s(probs: np.ndarray, ns_probs: np.ndarray) -> np.ndarray:
    """``probs`` (n, 5) with each beat's N and S probabilities re-split in the ratio of
    ``ns_probs``' (a network adapted to another recorder), keeping the larger of the two;
    V, F and Q keep theirs, and each row is normalised again.

    So a beat whose most probable class is V, F or Q keeps it, and one whose most probable
    class is N or S gets ``ns_probs``' choice between the two: an adapted network that learnt
    a recorder's supraventricular beats cannot change its V calls (adapting all layers moved
    V by a seed's and a fold's draw; README, "Domain adaptation").

    >>> p = np.array([[0.6, 0.1, 0.3, 0.0, 0.0], [0.2, 0.1, 0.7, 0.0, 0.0]])
    >>> a = np.array([[0.2, 0.8, 0.0, 0.0, 0.0], [0.9, 0.05, 0.05, 0.0, 0.0]])
    >>> resplit_n_s(p, a).astype(float).round(3).tolist()
    [[0.143, 0.571, 0.286, 0.0, 0.0], [0.22, 0.012, 0.768, 0.0, 0.0]]
    """
    out = np.asarray(probs, dtype=np.float64).copy()
    n_s = out[:, [N_INDEX, S_INDEX]]
    adapted = np.asarray(ns_probs, dtype=np.float64)[:, [N_INDEX, S_INDEX]]
    # Where the adapted network gives N and S no probability at all, the split stays.
    silent = adapted.max(axis=1) <= 0
    adapted[silent] = n_s[silent]
    adapted_larger = np.maximum(adapted.max(axis=1, keepdims=True), np.finfo(float).tiny)
    out[:, [N_INDEX, S_INDEX]] = n_s.max(axis=1, keepdims=True) * adapted / adapted_larger
    return (out / out.sum(axis=1, keepdims=True)).astype(np.float32)


def af_s_to_n(probs: np.ndarray, in_af: np.ndarray) -> np.ndarray:
    """Inside atrial fibrillation "premature" means nothing: no beat there is S, and AAMI
    labels the conducted beats N (a Holter reader reports AF, not thousands of S beats). So
    the S probability of beats in AF goes to N; the other classes keep theirs. (Spreading it
    over all classes in proportion, as we did before, turned some of these beats into V:
    ``scripts/af_check.py`` compares the two.)"""
    return move_probability(probs, in_af, S_INDEX, N_INDEX)


def shift_attention(attention: np.ndarray, shifts: np.ndarray, stride: int) -> np.ndarray:
    """Attention rows (n, T) of windows moved by ``shifts`` samples, put back on the grid of
    the unmoved windows (steps of ``stride`` samples); what falls off the grid is dropped and
    each row sums to 1 again.

    >>> shift_attention(np.array([[0.5, 0.5, 0.0, 0.0]]), np.array([4]), 4).tolist()
    [[0.0, 0.5, 0.5, 0.0]]
    """
    steps = np.round(np.asarray(shifts) / stride).astype(np.int64)
    if attention.size == 0 or not np.any(steps):
        return attention
    columns = np.arange(attention.shape[1])[None, :] - steps[:, None]
    inside = (columns >= 0) & (columns < attention.shape[1])
    rows = np.arange(attention.shape[0])[:, None]
    moved = np.where(inside, attention[rows, np.clip(columns, 0, attention.shape[1] - 1)], 0.0)
    total = moved.sum(axis=1, keepdims=True)
    return (moved / np.where(total > 0, total, 1.0)).astype(np.float32)


class BeatClassifier:
    """A loaded model plus its preprocessing: signal + R peaks in, per-beat labels out."""

    def __init__(
        self,
        model: HybridBeatNet,
        name: str,
        quantized: bool = False,
        align_windows: bool = True,
        ns_model: HybridBeatNet | None = None,
        lowpass_hz: float | None = None,
    ):
        self.model = model.eval()
        #: A network adapted to another recorder that re-splits N and S (:func:`resplit_n_s`).
        self.ns_model = None if ns_model is None else ns_model.eval()
        self.config: ModelConfig = model.cfg
        self.name = name
        self.quantized = quantized
        #: Move each beat's window onto its template first
        #: (:func:`~ecg_core.features.template_aligned_positions`); False: at the R peaks given.
        self.align_windows = align_windows
        #: Low-pass every beat and template at this cutoff before the network
        #: (:func:`~ecg_core.features.lowpass_morphology`): one bandwidth for every recorder.
        #: None: as recorded.
        self.lowpass_hz = lowpass_hz

    @property
    def mode(self) -> str:
        return self.config.mode

    def network_probabilities(
        self,
        signal_1d: np.ndarray,
        fs: float,
        r_peaks: np.ndarray,
        window_centres: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The network alone: (probabilities (n, 5), attention, beat positions at
        CANONICAL_FS). The windows and RR intervals are taken at ``window_centres`` when
        given (at CANONICAL_FS), else at the R peaks moved onto their templates on this lead
        when :attr:`align_windows`, else at the R peaks; the attention is placed relative to
        the given R peaks all the same."""
        fs = validate_fs(fs)
        cfg = self.config
        r = np.asarray(r_peaks, dtype=np.int64).reshape(-1)
        canonical = to_canonical(
            np.asarray(signal_1d, dtype=np.float64).reshape(-1), fs, causal=cfg.causal
        )
        r_c = resample_positions(r, fs, CANONICAL_FS)
        centres = r_c if window_centres is None else np.asarray(window_centres, np.int64)
        if self.align_windows and window_centres is None:
            centres = template_aligned_positions(
                canonical, r_c, cfg.causal, cfg.window_pre, cfg.window_post
            )
        feats = beat_features(
            canonical, centres, causal=cfg.causal, pre=cfg.window_pre, post=cfg.window_post
        )
        rr = feats.rr[:, : cfg.n_rr]
        morph = feats.morph
        if self.lowpass_hz is not None:
            morph = lowpass_morphology(morph, self.lowpass_hz, cfg.fs)
        probs, attention = predict_beats(self.model, morph, rr)
        if self.ns_model is not None:
            probs = resplit_n_s(probs, predict_beats(self.ns_model, morph, rr)[0])
        attention = shift_attention(attention, centres - r_c, cfg.attention_stride)
        return probs, attention, centres

    def classify(
        self,
        signal: np.ndarray,
        fs: float,
        r_peaks: np.ndarray,
        svt_step: bool | None = None,
        lead_weights: np.ndarray | None = None,
    ) -> BeatPredictions:
        """Classify the beats at ``r_peaks`` (sample indices at ``fs``): the network, then
        the atrial fibrillation step and the SVT-run step (``svt_step``; None: in
        diagnostic mode only).

        ``signal`` is one lead (n_samples,) or several (n_samples, n_leads). With several,
        the network runs on each and its probabilities are averaged per beat
        (:func:`mean_over_leads`, weighted by ``lead_weights``); the attention and the
        rhythm steps come from column 0, the lead the beats were detected on.
        """
        cfg = self.config
        leads = np.asarray(signal, dtype=np.float64)
        leads = leads.reshape(-1, 1) if leads.ndim == 1 else leads
        if leads.ndim != 2 or leads.shape[1] == 0:
            raise ValueError(
                f"signal must be (n_samples,) or (n_samples, n_leads); got {leads.shape}"
            )
        if not np.all(np.isfinite(leads)):
            raise ECGInputError(
                "The signal contains NaN or infinite values; fill or cut the gaps first."
            )
        probs, attention, r_c = self.network_probabilities(leads[:, 0], fs, r_peaks)
        if leads.shape[1] > 1:
            # A beat has one time: the other leads' windows sit where column 0's moved to.
            per_lead = [probs] + [
                self.network_probabilities(leads[:, j], fs, r_peaks, window_centres=r_c)[0]
                for j in range(1, leads.shape[1])
            ]
            probs = mean_over_leads(np.stack(per_lead, axis=1), lead_weights)
        # The AF call uses the network's own V labels.
        in_af = af_beats(r_c, CANONICAL_FS, probs.argmax(axis=1) == V_INDEX, causal=cfg.causal)
        probs = af_s_to_n(probs, in_af)
        in_svt = np.zeros(len(probs), dtype=bool)
        if cfg.mode == "diagnostic" if svt_step is None else svt_step:
            # The rest of an SVT run whose onset the network saw: its N probability goes to
            # S, so the run is labelled S. Not in real-time mode, where it added more false S
            # than true ones on DS1 (scripts/svt_check.py; README, "What we tried").
            in_svt = svt_continuation(r_c, CANONICAL_FS, probs.argmax(axis=1), in_af)
            probs = move_probability(probs, in_svt, N_INDEX, S_INDEX)
        stride = cfg.attention_stride
        return BeatPredictions(
            probs=probs,
            labels=probs.argmax(axis=1).astype(np.int64),
            in_af=in_af,
            in_svt=in_svt,
            attention=attention,
            window_offset_s=float(((stride - 1) / 2 - cfg.window_pre) / cfg.fs),
            window_fs=float(cfg.fs / stride),
        )


def load_network(path: str | Path, config: ModelConfig, quantized: bool = False) -> HybridBeatNet:
    """One network from its safetensors file: fp32, or (``quantized=True``) int8 weights
    dequantised to float."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path.parent} has no {path.name}.")
    if quantized:
        from ecg_core.quantize import load_int8_state_dict

        state = load_int8_state_dict(path)
    else:
        state = load_file(str(path))
    model = HybridBeatNet(config)
    model.load_state_dict(state, strict=True)
    return model


def load_model(name_or_path: str | Path = "diagnostic", quantized: bool = False) -> BeatClassifier:
    """Load a checkpoint folder (``"realtime"``, ``"diagnostic"`` or a path).

    ``quantized=True`` reads the int8 weights (dequantised to float at load).
    """
    folder = resolve_checkpoint(name_or_path)
    config = ModelConfig.from_json(folder / "config.json")

    def network(fp32_file: str, int8_file: str) -> HybridBeatNet:
        return load_network(folder / (int8_file if quantized else fp32_file), config, quantized)

    ns_model = network(NS_FP32_WEIGHTS, NS_INT8_WEIGHTS) if config.ns_network else None
    return BeatClassifier(
        network(FP32_WEIGHTS, INT8_WEIGHTS),
        name=folder.name,
        quantized=quantized,
        ns_model=ns_model,
    )
