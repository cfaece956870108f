"""Clean content of the three modalities, vectorised numpy/scipy.

Each function returns a float64 mono signal of `n` samples made of `layers` simultaneous layers.
`expressiveness` (0..1) makes content more musical/lively: consonant scale notes and steady timing
(music), wide intonation (speech), regular tonal events (sound). `density` (0..1) sets the event rate.
"""

import numpy as np
from scipy import signal

VOWELS = np.array(  # formants F1, F2, F3 in Hz of a, e, i, o, u
    [[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240]], dtype=float
)
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])


def render(
    modality: str, rng, n: int, sr: int, layers: int, expressiveness: float, density: float
) -> np.ndarray:
    fn = {"music": music, "speech": speech, "sound": sound}[modality]
    return fn(rng, n, sr, layers, expressiveness, density)


def _mix(parts: list[np.ndarray], rng) -> np.ndarray:
    """First layer in front, the others 3-9 dB below it; each layer RMS-normalised first."""
    out = np.zeros_like(parts[0])
    for k, part in enumerate(parts):
        gain = 1.0 if k == 0 else 10 ** (-rng.uniform(3, 9) / 20)
        out += gain * part / (np.sqrt(np.mean(part**2)) + 1e-9)
    return out


def _segments(onsets: np.ndarray, n: int, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """For each sample: index of the latest onset (sample positions, sorted; -1 before the first) and the
    time in seconds since it."""
    idx = np.searchsorted(onsets, np.arange(n), side="right") - 1
    t_rel = (np.arange(n) - onsets[np.maximum(idx, 0)]) / sr
    return idx, t_rel


def _harmonics(cycles: np.ndarray, amps: np.ndarray, table_size: int = 8192) -> np.ndarray:
    """sum_k amps[k] * sin(2 pi (k + 1) * cycles), by lookup in a one-period wavetable."""
    grid = np.arange(table_size) / table_size
    table = (amps[:, None] * np.sin(2 * np.pi * np.arange(1, amps.size + 1)[:, None] * grid)).sum(0)
    return table[(cycles * table_size).astype(np.int64) & (table_size - 1)]  # table_size: a power of 2


def _notes(onsets_s, durs_s, freqs, amps, n: int, sr: int, brightness: float, decay_s: float) -> np.ndarray:
    """One monophonic voice of harmonic notes with attack/decay envelopes (a note ends at the next onset)."""
    onsets = np.round(np.asarray(onsets_s) * sr).astype(int)
    order = np.argsort(onsets, kind="stable")
    onsets, durs, freqs, amps = (
        onsets[order],
        np.asarray(durs_s)[order],
        np.asarray(freqs)[order],
        np.asarray(amps)[order],
    )
    idx, t_rel = _segments(onsets, n, sr)
    k = np.maximum(idx, 0)
    freq = freqs[k]
    env = amps[k] * (1 - np.exp(-t_rel / 0.01)) * np.exp(-t_rel / decay_s)
    env *= np.clip((durs[k] - t_rel) / 0.02, 0.0, 1.0) * (idx >= 0)  # short release, silence before the first
    n_harm = int(max(1, min(10, 0.45 * sr / freqs.max())))
    harm = np.arange(1, n_harm + 1) ** -(2.5 - 1.5 * brightness)
    return env * _harmonics(np.cumsum(freq) / sr, harm)


def _midi_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=float) - 69.0) / 12.0)


def _scale(root: int, scale: np.ndarray, positions) -> np.ndarray:
    """MIDI notes at scale positions (0 = root; 7 = an octave up)."""
    positions = np.asarray(positions)
    return root + scale[positions % 7] + 12 * (positions // 7)


def music(rng, n: int, sr: int, layers: int, expressiveness: float, density: float) -> np.ndarray:
    """Melody, bass, chord pad, drums, arpeggio (the first `layers` of them) over a shared beat grid.

    Each note is a scale note (consonant) with probability `expressiveness`, else a random chromatic one;
    timing jitter grows as expressiveness falls.
    """
    seconds = n / sr
    beat = 60.0 / rng.uniform(80, 140)
    step = beat / (1 + round(3 * density))  # 1..4 melody notes per beat
    root = int(rng.integers(57, 66))
    scale = MAJOR if rng.random() < 0.5 else MINOR
    jitter = (1 - expressiveness) * 0.3

    def grid(dt):
        t = np.arange(0, seconds, dt)
        return np.clip(t + rng.normal(0, jitter * dt, t.size) * (t > 0), 0, seconds)

    def voice(onsets, length, midi, amp, brightness, decay):
        lengths, amps = np.full(onsets.size, length), np.broadcast_to(amp, onsets.shape)
        return _notes(onsets, lengths, _midi_hz(midi), amps, n, sr, brightness, decay)

    # one chord per bar: a scale triad (I IV V vi) or three random chromatic notes
    bars = np.arange(0, seconds, 4 * beat)
    chords = [
        _scale(root, scale, rng.choice([0, 3, 4, 5]) + np.array([0, 2, 4]))
        if rng.random() < expressiveness
        else root + rng.integers(-6, 7, 3)
        for _ in bars
    ]

    def chord_at(t):
        return chords[min(int(t / (4 * beat)), len(chords) - 1)]

    # melody: stepwise scale motion, or random chromatic leaps
    t = grid(step)
    pos, melody = 7, []
    for _ in t:
        if rng.random() < expressiveness:
            pos = int(np.clip(pos + rng.choice([-2, -1, 1, 2]), 0, 14))
            melody.append(_scale(root, scale, pos))
        else:
            melody.append(root + rng.integers(-5, 17))
    parts = [voice(t, 0.9 * step, melody, rng.uniform(0.6, 1.0, t.size), rng.uniform(0.3, 1.0), 0.4)]
    if layers >= 2:  # bass: chord root two octaves down, on beats
        t = grid(beat)
        parts.append(voice(t, beat, [chord_at(x)[0] - 24 for x in t], 1.0, 0.2, 0.6))
    if layers >= 3:  # pad: three sustained voices
        parts.append(sum(voice(bars, 4 * beat, [c[v] for c in chords], 1.0, 0.5, 3.0) for v in range(3)))
    if layers >= 4:  # drums: low thumps on beats, noise ticks on half beats
        parts.append(_drums(rng, n, sr, grid(beat), grid(beat / 2)))
    if layers >= 5:  # arpeggio: chord tones an octave up, four per beat
        t = grid(beat / 4)
        parts.append(voice(t, beat / 4, [chord_at(x)[i % 3] + 12 for i, x in enumerate(t)], 0.7, 0.8, 0.15))
    return _mix(parts, rng)


def _drums(rng, n: int, sr: int, kicks: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    idx, t_rel = _segments(np.round(kicks * sr).astype(int), n, sr)
    sweep = 55 * t_rel + 2.4 * (1 - np.exp(-t_rel / 0.04))  # cycles: starts near 115 Hz, settles at 55 Hz
    out = (idx >= 0) * np.exp(-t_rel / 0.12) * np.sin(2 * np.pi * sweep)
    idx, t_rel = _segments(np.round(ticks * sr).astype(int), n, sr)
    hiss = signal.sosfilt(signal.butter(2, 0.3, "highpass", output="sos"), rng.standard_normal(n))
    out += 0.5 * (idx >= 0) * np.exp(-t_rel / 0.03) * hiss
    return out


def speech(rng, n: int, sr: int, layers: int, expressiveness: float, density: float) -> np.ndarray:
    """`layers` overlapping talkers: a glottal source through moving formants, in syllables."""
    return _mix([_talker(rng, n, sr, expressiveness, density) for _ in range(layers)], rng)


def _talker(rng, n: int, sr: int, expressiveness: float, density: float) -> np.ndarray:
    seconds = n / sr
    rate = 3.0 + 3.0 * density  # syllables per second
    durs = rng.uniform(0.6, 1.4, int(seconds * rate) + 2) / rate
    starts = np.concatenate([[rng.uniform(0, 0.2)], np.cumsum(durs)[:-1]])
    centres = starts + durs / 2
    voiced = rng.random(starts.size) > 0.15  # some syllables are pauses between words

    # f0: declining line plus a per-syllable excursion whose range grows with expressiveness
    semitones = (1.0 + 7.0 * expressiveness) * rng.uniform(-1, 1, starts.size) - 2.0 * centres / seconds
    t = np.arange(n) / sr
    f0 = rng.uniform(90, 240) * 2 ** (np.interp(t, centres, semitones) / 12)
    phase = np.cumsum(f0) / sr
    noise = rng.standard_normal(n)
    source = 2 * (phase % 1.0) - 1 + 0.05 * noise  # buzzy source plus breath

    # moving formants: vowel targets at syllable centres, interpolated per STFT frame
    vowels = VOWELS[rng.integers(0, len(VOWELS), starts.size)] * rng.uniform(0.9, 1.15)
    freqs, frames, spec = signal.stft(source, fs=sr, nperseg=512, noverlap=256, boundary="even")
    formants = np.stack([np.interp(frames, centres, vowels[:, i]) for i in range(3)])  # (3, frames)
    widths = np.array([80.0, 120.0, 160.0])[:, None, None]
    gains = np.array([1.0, 0.6, 0.3])[:, None, None]
    shape = (gains / (1 + ((freqs[None, :, None] - formants[:, None, :]) / widths) ** 2)).sum(
        0
    )  # (bins, frames)
    _, voice = signal.istft(spec * shape, fs=sr, nperseg=512, noverlap=256, boundary=True)
    voice = voice[:n] if voice.size >= n else np.pad(voice, (0, n - voice.size))

    # syllable envelope (raised cosine) and a fricative noise burst at some onsets
    idx, t_rel = _segments(np.round(starts * sr).astype(int), n, sr)
    k = np.maximum(idx, 0)
    phase_in = np.clip(t_rel / durs[k], 0, 1)
    env = np.sqrt(np.sin(np.pi * phase_in)) * voiced[k] * (idx >= 0)
    fricative = rng.random(starts.size) < 0.5
    burst = np.exp(-t_rel / 0.03) * fricative[k] * (idx >= 0)
    hiss = signal.sosfilt(signal.butter(2, 0.35, "highpass", output="sos"), noise)
    voice = voice / (np.sqrt(np.mean(voice**2)) + 1e-9)
    return env * voice + 0.4 * burst * hiss


def sound(rng, n: int, sr: int, layers: int, expressiveness: float, density: float) -> np.ndarray:
    """`layers` streams of events: impacts (damped modes) or filtered noise bursts."""
    return _mix([_event_stream(rng, n, sr, expressiveness, density) for _ in range(layers)], rng)


def _event_stream(rng, n: int, sr: int, expressiveness: float, density: float) -> np.ndarray:
    seconds = n / sr
    rate = 1.0 + 4.0 * density  # events per second
    period = 1.0 / rate
    # regular timing when expressive, Poisson-like otherwise
    onsets = np.arange(rng.uniform(0, period), seconds, period)
    onsets = onsets + (1 - expressiveness) * period * rng.uniform(-0.5, 0.5, onsets.size)
    onsets = np.sort(np.clip(onsets, 0, seconds - 1.0 / sr))
    idx, t_rel = _segments(np.round(onsets * sr).astype(int), n, sr)
    active = idx >= 0
    decay = rng.uniform(0.05, 0.35)
    env = np.exp(-t_rel / decay) * active * (1 - np.exp(-t_rel / 0.002))
    if (
        rng.random() < 0.5
    ):  # impacts: harmonic modes (tonal) when expressive, bar-like inharmonic ones otherwise
        ratios = (
            np.array([1.0, 2.0, 3.0, 4.0])
            if rng.random() < expressiveness
            else np.array([1.0, 2.76, 5.40, 8.93])
        )
        f = rng.uniform(150, 1200) * ratios
        f = f[f < 0.45 * sr]
        amps = 1.0 / np.arange(1, f.size + 1)
        tone = (amps[:, None] * np.sin(2 * np.pi * f[:, None] * t_rel[None, :])).sum(0)
        return env * tone
    centre = rng.uniform(300, min(6000, 0.35 * sr))
    band = np.array([centre / 1.5, min(centre * 1.5, 0.45 * sr)]) / (sr / 2)
    noise = signal.sosfilt(signal.butter(2, band, "bandpass", output="sos"), rng.standard_normal(n))
    return env * noise
