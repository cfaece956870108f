"""The Python API of a trained model: score files, segments or in-memory arrays.

    from aqa import Predictor
    p = Predictor.load("run/checkpoints/best.ckpt", device="auto")
    rows = p.predict(["a.wav", "b.flac"])                       # paths
    rows = p.predict([wav], sample_rate=44100)                  # (T,), (T, C) or (C, T) arrays
    rows = p.predict([{"path": "long.wav", "start": 10.0, "end": 20.0}])

Each row: {"id", "path", <aspect>: score on the original scale, ..., "error": None}; an input that cannot
be scored gets None scores and `error` saying why (e.g. "too_short: ..."). Rows come in input order, one per
input. Audio is decoded in memory (never written to the training cache); clips longer than
`data.eval_window_seconds` are scored in the same deterministic windows as evaluation.
"""

import math
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from aqa.training.devices import DEVICES, PRECISIONS  # noqa: E402
from data_modules.audio import AudioError, check_waveform, decode
from data_modules.audio.decode import to_mono
from data_modules.datasets import Clips, collate
from data_modules.manifest.columns import END, ID, PATH, START
from data_modules.samplers import SortedBatchSampler
from data_modules.windows import eval_windows, window_mean

MAX_CHANNELS = 8  # a 2-D array with at most this many rows (and more columns) is read as (C, T)
CHUNK_WINDOWS = 256  # windows decoded ahead and scored together (bounds memory on long input lists)


@dataclass
class Clip:
    """One input: a file (optionally a segment of it) or an in-memory waveform at `rate` Hz."""

    id: str
    path: str | None = None
    start: float = math.nan  # seconds, NaN = file start
    end: float = math.nan  # seconds, NaN = file end
    audio: np.ndarray | None = None  # (T,) or (T, C)
    rate: int | None = None


def resolve_device(device: str) -> torch.device:
    """auto -> cuda when a GPU is visible, else cpu (whatever accelerator the model was trained with)."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {'|'.join(DEVICES)}, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device=cuda but no CUDA GPU is visible (torch.cuda.is_available() is False)")
    return torch.device(
        "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"
    )


class Predictor:
    """A trained AQAModule on a device, scoring audio in deterministic evaluation windows."""

    def __init__(
        self,
        module,
        cfg,
        sample_rate: int,
        device: str = "auto",
        precision: str = "32",
        domain: str | None = None,
    ):
        """domain: a trained domain name for conditioned/bias aspects (default None: unknown, the neutral choice)."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {'|'.join(PRECISIONS)}, got {precision!r}")
        self.device = resolve_device(device)
        if PRECISIONS[precision] == "float16" and self.device.type == "cpu":
            raise ValueError("precision=16-mixed needs a GPU; use bf16-mixed or 32 on CPU")
        self.module, self.cfg, self.sample_rate = module.to(self.device).eval(), cfg, int(sample_rate)
        self.precision = precision
        self.aspects = list(cfg.data.aspects)
        self.batch_size = int(cfg.data.eval_batch_size)
        self.window = int(round(float(cfg.data.eval_window_seconds) * self.sample_rate))
        self.threads = max(1, int(cfg.data.num_workers))
        self.domains = domain_labels(module, domain)  # {aspect: label}; the others stay -1 (unknown)

    @classmethod
    def load(
        cls,
        checkpoint: str | Path,
        device: str = "auto",
        precision: str = "32",
        overrides: list[str] = (),
        domain: str | None = None,
    ) -> "Predictor":
        """The model of an aqa checkpoint; `overrides` (key=value) change its stored config (e.g. the
        evaluation window or batch size)."""
        from aqa.training.checkpoint import load_checkpoint

        module, cfg, sample_rate = load_checkpoint(checkpoint, list(overrides))
        return cls(module, cfg, sample_rate, device=device, precision=precision, domain=domain)

    # -- inputs ----------------------------------------------------------------------------------------
    def predict(self, inputs, sample_rate: int | None = None) -> list[dict]:
        """Rows for `inputs`: one path / array / dict, a list of them, or a table (id, path, start, end).

        Arrays need `sample_rate` (their rate; resampled to the encoder's). A dict may hold `path` (with
        `start`/`end` or `start_time`/`end_time` in seconds) or `audio` (+ `sample_rate`), and an `id`.
        """
        if isinstance(inputs, pd.DataFrame):
            return list(self.predict_clips(clips_from_table(inputs)))
        if isinstance(inputs, (str, Path, np.ndarray, torch.Tensor, dict)):
            inputs = [inputs]
        return list(self.predict_clips(_clip(x, n, sample_rate) for n, x in enumerate(inputs)))

    def predict_clips(self, clips: Iterable[Clip]) -> Iterator[dict]:
        """Rows in input order, streaming: inputs are decoded a chunk ahead, in threads."""
        with ThreadPoolExecutor(self.threads) as pool:
            chunk: list[tuple[Clip, np.ndarray | AudioError]] = []
            windows = 0
            for clip, wav in _ahead(pool, self._load, clips, self.threads * 4):
                chunk.append((clip, wav))
                windows += 0 if isinstance(wav, AudioError) else -(-len(wav) // max(self.window, 1))
                if windows >= CHUNK_WINDOWS:
                    yield from self._score_chunk(chunk)
                    chunk, windows = [], 0
            yield from self._score_chunk(chunk)

    def _load(self, clip: Clip) -> np.ndarray | AudioError:
        """(T,) float32 at the encoder rate, checked; or the AudioError saying why it cannot be used."""
        name = clip.path or f"array {clip.id}"
        try:
            if clip.audio is not None:
                first = 0 if math.isnan(clip.start) else int(round(clip.start * clip.rate))
                last = None if math.isnan(clip.end) else int(round(clip.end * clip.rate))
                wav = to_mono(clip.audio[first:last], int(clip.rate), self.sample_rate)
            else:
                wav = decode(clip.path, self.sample_rate, clip.start, clip.end)
            check_waveform(wav, name)
            return wav
        except AudioError as err:
            return err

    # -- scoring ---------------------------------------------------------------------------------------
    def _score_chunk(self, chunk: list[tuple[Clip, np.ndarray | AudioError]]) -> Iterator[dict]:
        good = [i for i, (_, wav) in enumerate(chunk) if not isinstance(wav, AudioError)]
        scores, stds = self._score([chunk[i][1] for i in good], [chunk[i][0].id for i in good])
        by_row = dict(zip(good, scores))
        spread = dict(zip(good, stds)) if stds is not None else {}
        for i, (clip, wav) in enumerate(chunk):
            row = {"id": clip.id, "path": clip.path}
            if i in by_row:
                row |= {a: round(float(v), 4) for a, v in zip(self.aspects, by_row[i])} | {"error": None}
                if i in spread:  # variance heads: the predicted rating spread (std)
                    row |= {f"{a}_std": round(float(v), 4) for a, v in zip(self.aspects, spread[i])}
            else:
                row |= {a: None for a in self.aspects} | {"error": wav.message}
            yield row

    @torch.inference_mode()
    def _score(self, wavs: list[np.ndarray], ids: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """(C, A) clip scores: windows of similar length batched together (padded to the longest; the model
        masks the padding), length-weighted mean; and (C, A) predicted spread (root of the weighted mean
        window variance) or None."""
        if not wavs:
            return np.zeros((0, len(self.aspects))), None
        clips = Clips.from_table(pd.DataFrame({ID: ids, PATH: ""}), self.aspects)  # targets NaN, domains -1
        for a, label in self.domains.items():
            clips.domains[:, self.aspects.index(a)] = label
        windows = [
            (c, w, s, n, wt)
            for c, wav in enumerate(wavs)
            for w, (s, n, wt) in enumerate(eval_windows(len(wav), self.window))
        ]
        sizes = np.array([n for *_, n, _ in windows])
        preds = np.zeros((len(windows), len(self.aspects)))
        variances = np.zeros_like(preds) if self.module.head_variance else None
        dtype = getattr(torch, PRECISIONS[self.precision]) if PRECISIONS[self.precision] else None
        for batch_rows in SortedBatchSampler(sizes, self.batch_size, distributed=False):
            items = [
                clips.item(c, wavs[c][s : s + n], w, float(wt))
                for c, w, s, n, wt in (windows[k] for k in batch_rows)
            ]
            batch = collate(items)
            batch |= {k: batch[k].to(self.device) for k in ("audio", "lengths", "domains")}
            with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
                out = self.module.predict_step(batch, 0)
            preds[batch_rows] = out["preds"].float().cpu().numpy()
            if variances is not None:
                variances[batch_rows] = out["stds"].float().cpu().numpy() ** 2
        codes = np.array([c for c, *_ in windows])
        weights = np.array([wt for *_, wt in windows], dtype=np.float64)
        stds = None if variances is None else np.sqrt(window_mean(variances, weights, codes, len(wavs)))
        return window_mean(preds, weights, codes, len(wavs)), stds


def domain_labels(module, name: str | None) -> dict[str, int]:
    """A domain name -> {aspect: label} for the aspects whose trained domains include it."""
    if name is None:
        return {}
    names = module.domain_names or {}
    labels = {a: list(n).index(name) for a, n in names.items() if name in list(n)}
    if not labels:
        known = sorted({n for ns in names.values() for n in ns})
        raise ValueError(f"--domain {name!r} is not a domain of this checkpoint; known: {known or 'none'}")
    return labels


def clips_from_table(table: pd.DataFrame) -> list[Clip]:
    """Clip per row of a table with `id`, `path` and optional `start`/`end` (seconds)."""
    starts = table[START] if START in table else [math.nan] * len(table)
    ends = table[END] if END in table else [math.nan] * len(table)
    return [
        Clip(str(i), str(p), _seconds(s), _seconds(e))
        for i, p, s, e in zip(table[ID], table[PATH], starts, ends, strict=True)
    ]


def _clip(x, n: int, sample_rate: int | None) -> Clip:
    if isinstance(x, Clip):
        return x
    if isinstance(x, (str, Path)):
        return Clip(str(x), str(x))
    if isinstance(x, (np.ndarray, torch.Tensor)):
        x = {"audio": x}
    if not isinstance(x, dict):
        raise TypeError(f"input {n}: expected a path, an array or a dict, got {type(x).__name__}")
    start = x.get(START, x.get("start_time", math.nan))
    end = x.get(END, x.get("end_time", math.nan))
    if "audio" in x:
        rate = x.get("sample_rate", sample_rate)
        if rate is None:
            raise ValueError(f"input {n}: an in-memory array needs its sample_rate")
        audio = x["audio"]
        audio = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        if audio.ndim == 2 and audio.shape[0] <= MAX_CHANNELS < audio.shape[1]:
            audio = audio.T  # (C, T), torchaudio's layout -> (T, C)
        return Clip(str(x.get("id", n)), None, _seconds(start), _seconds(end), audio=audio, rate=int(rate))
    if "path" not in x:
        raise ValueError(f"input {n}: a dict needs `path` or `audio`, has {sorted(x)}")
    return Clip(str(x.get("id", x["path"])), str(x["path"]), _seconds(start), _seconds(end))


def _seconds(value) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"start/end must be seconds, got {value!r}") from None


def _ahead(pool: ThreadPoolExecutor, fn, items: Iterable, depth: int) -> Iterator[tuple]:
    """(item, fn(item)) in order, with at most `depth` calls running ahead in `pool`."""
    pending: deque = deque()
    for item in items:
        pending.append((item, pool.submit(fn, item)))
        if len(pending) >= depth:
            item0, future = pending.popleft()
            yield item0, future.result()
    while pending:
        item0, future = pending.popleft()
        yield item0, future.result()
