"""Who spoke when: voice activity, then voice embeddings over short windows, then clustering with an
automatic speaker count, then each transcript segment and word labelled with its speaker.

Pure functions over numpy arrays and segment dicts, apart from `Diarizer.feed`, which runs the VAD
(faster-whisper's bundled Silero model) and the voice encoder (processing.speakers.encoder) on one
audio window at a time: memory grows with the number of embeddings (1 KB per 0.75 s of speech), not
with the length of the audio, and clustering works on at most MAX_CLUSTERED embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import encoder

EMBED_SECONDS = 1.5  # one embedding per 1.5 s of speech ...
HOP_SECONDS = 0.75  # ... every 0.75 s
MIN_REGION_SECONDS = 0.5  # speech shorter than this gets no embedding of its own
RELIABLE_SECONDS = 1.0  # windows at least this long found the clusters
MAX_CLUSTERED = 3000  # beyond this, a spread sample is clustered and the rest joins the nearest speaker
MIN_SPEAKER_SHARE = 0.02  # a cluster with less of the speech than this (and under MIN_SPEAKER_SECONDS) ...
MIN_SPEAKER_SECONDS = 5.0  # ... is folded into its nearest neighbour: a cough, a laugh, a window across a turn


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int  # 0-based cluster index, ordered by first appearance


@dataclass
class Diarizer:
    """Fed window by window; `finish` clusters and returns the turns."""

    threshold: float  # cosine distance at which two groups of windows are different speakers
    min_speakers: int = 1
    max_speakers: int = 8
    embeddings: list[np.ndarray] = field(default_factory=list)
    spans: list[tuple[float, float, int]] = field(default_factory=list)  # (start, end, region index)
    regions: list[tuple[float, float]] = field(default_factory=list)

    labels: np.ndarray | None = None

    def feed(self, offset: float, samples: np.ndarray, on_progress: Callable[[float], None] | None = None) -> None:
        """One audio window (16 kHz mono float) starting `offset` seconds into the recording;
        `on_progress` hears the seconds done after each speech region."""
        for start, end in speech_regions(samples):
            if on_progress is not None:
                on_progress(offset + start / encoder.SAMPLE_RATE)
            region = len(self.regions)
            self.regions.append((offset + start / encoder.SAMPLE_RATE, offset + end / encoder.SAMPLE_RATE))
            mels = encoder.mel_frames(samples[start:end])
            windows, spans = embedding_windows(mels)
            if not windows:
                continue
            self.embeddings.append(encoder.embed(windows))
            base = offset + start / encoder.SAMPLE_RATE
            self.spans.extend((base + s, base + e, region) for s, e in spans)

    def finish(self) -> list[Turn]:
        if not self.embeddings:
            return []
        vectors = np.concatenate(self.embeddings)
        lengths = np.array([end - start for start, end, _ in self.spans], dtype=np.float64)
        self.labels = cluster(vectors, self.threshold, self.min_speakers, self.max_speakers, self._durations(), lengths)
        return turns_from_labels(self.spans, self.labels, self.regions)

    def centroids(self) -> np.ndarray:
        """Each speaker's mean embedding (after finish), normalised: (speakers, 256)."""
        if self.labels is None or not len(self.labels):
            return np.zeros((0, encoder.EMBEDDING_SIZE))
        return _centroids(_normalise(np.concatenate(self.embeddings).astype(np.float64)), self.labels)

    def _durations(self) -> np.ndarray:
        """The speech each embedding stands for: a hop (windows overlap), a whole short region."""
        return np.array([min(end - start, HOP_SECONDS) for start, end, _ in self.spans], dtype=np.float64)


def speech_regions(samples: np.ndarray) -> list[tuple[int, int]]:
    """Speech as (start, end) sample indices, by faster-whisper's Silero VAD."""
    # faster-whisper's VAD starts onnxruntime: only in the process that runs the stage
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if len(samples) < encoder.SAMPLE_RATE // 10:
        return []
    options = VadOptions(min_silence_duration_ms=250, speech_pad_ms=100, min_speech_duration_ms=250)
    return [(int(r["start"]), int(r["end"])) for r in get_speech_timestamps(samples, options)]


def embedding_windows(mels: np.ndarray) -> tuple[list[np.ndarray], list[tuple[float, float]]]:
    """Mel windows of EMBED_SECONDS every HOP_SECONDS over one speech region, and their times in
    seconds from the region's start. A region shorter than a window is one window; under
    MIN_REGION_SECONDS it has none."""
    rate = encoder.FRAMES_PER_SECOND
    size, hop = int(EMBED_SECONDS * rate), int(HOP_SECONDS * rate)
    frames = len(mels)
    if frames < MIN_REGION_SECONDS * rate:
        return [], []
    if frames <= size:
        return [mels], [(0.0, frames / rate)]
    starts = list(range(0, frames - size + 1, hop))
    if starts[-1] + size < frames:
        starts.append(frames - size)  # the region's end gets a window too
    return [mels[s : s + size] for s in starts], [(s / rate, (s + size) / rate) for s in starts]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-9)


def cluster(
    vectors: np.ndarray,
    threshold: float,
    min_speakers: int,
    max_speakers: int,
    durations: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
) -> np.ndarray:
    """A speaker index per embedding. Average-linkage agglomerative clustering on cosine distance,
    cut at `threshold` (the speaker count follows from it), then held within [min, max] speakers;
    centroids refined by two rounds of nearest-centroid reassignment; tiny clusters folded into their
    nearest. Only full-length windows (`lengths` >= RELIABLE_SECONDS) make clusters: the embedding of
    a short utterance ("Yes.") is less like its speaker's long windows than those are like each
    other, so short ones join the nearest speaker instead of founding their own. Indices are ordered
    by first appearance."""
    # scipy is imported where clustering runs (the worker), not by whoever imports this module
    from scipy.cluster.hierarchy import fcluster, linkage

    vectors = _normalise(np.asarray(vectors, dtype=np.float64))
    count = len(vectors)
    durations = np.ones(count) if durations is None else durations
    lengths = np.full(count, EMBED_SECONDS) if lengths is None else lengths
    if count == 1:
        return np.zeros(1, dtype=int)
    reliable = np.flatnonzero(lengths >= RELIABLE_SECONDS)
    if len(reliable) < 2:
        reliable = np.arange(count)
    sample = (
        reliable
        if len(reliable) <= MAX_CLUSTERED
        else reliable[np.linspace(0, len(reliable) - 1, MAX_CLUSTERED).astype(int)]
    )
    tree = linkage(vectors[sample], method="average", metric="cosine")
    labels = fcluster(tree, t=threshold, criterion="distance") - 1
    found = int(labels.max()) + 1
    wanted = min(max(found, min_speakers), max_speakers, len(sample))
    if wanted != found:
        labels = fcluster(tree, t=wanted, criterion="maxclust") - 1
    centroids = _centroids(vectors[sample], labels)
    for _ in range(2):
        labels = np.argmax(vectors @ centroids.T, axis=1)
        centroids = _centroids(vectors[reliable], labels[reliable], len(centroids))
    labels = np.argmax(vectors @ centroids.T, axis=1)
    labels = _fold_small(vectors, labels, durations, keep_at_least=min_speakers)
    return _by_first_appearance(labels)


def _centroids(vectors: np.ndarray, labels: np.ndarray, count: int | None = None) -> np.ndarray:
    count = int(labels.max()) + 1 if count is None else count
    rows = [
        vectors[labels == k].mean(axis=0) if np.any(labels == k) else np.zeros(vectors.shape[1]) for k in range(count)
    ]
    return _normalise(np.array(rows))


def _fold_small(vectors: np.ndarray, labels: np.ndarray, durations: np.ndarray, *, keep_at_least: int) -> np.ndarray:
    labels = labels.copy()
    total = float(durations.sum()) or 1.0
    while True:
        present = [k for k in np.unique(labels)]
        if len(present) <= max(1, keep_at_least):
            return labels
        talk = {k: float(durations[labels == k].sum()) for k in present}
        smallest = min(present, key=lambda k: talk[k])
        if talk[smallest] >= min(MIN_SPEAKER_SECONDS, MIN_SPEAKER_SHARE * total + 1.0):
            return labels
        others = [k for k in present if k != smallest]
        centroids = _centroids(vectors, labels, int(labels.max()) + 1)[others]
        members = labels == smallest
        labels[members] = np.array(others)[np.argmax(vectors[members] @ centroids.T, axis=1)]


def _by_first_appearance(labels: np.ndarray) -> np.ndarray:
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return np.array([order[int(label)] for label in labels], dtype=int)


def turns_from_labels(
    spans: Sequence[tuple[float, float, int]], labels: np.ndarray, regions: Sequence[tuple[float, float]]
) -> list[Turn]:
    """Speaker turns: each speech region is cut between consecutive windows whose labels differ (at the
    middle of their overlap); a label seen in only one window between two windows of another speaker
    is smoothed away; turns of one speaker that follow each other are joined."""
    turns: list[Turn] = []
    by_region: dict[int, list[int]] = {}
    for index, (_, _, region) in enumerate(spans):
        by_region.setdefault(region, []).append(index)
    for region, (region_start, region_end) in enumerate(regions):
        indices = by_region.get(region)
        if not indices:
            continue
        seq = [int(labels[i]) for i in indices]
        for k in range(1, len(seq) - 1):
            if seq[k - 1] == seq[k + 1] != seq[k]:
                seq[k] = seq[k - 1]
        start = region_start
        for k in range(1, len(seq) + 1):
            if k == len(seq) or seq[k] != seq[k - 1]:
                end = region_end if k == len(seq) else (spans[indices[k - 1]][1] + spans[indices[k]][0]) / 2
                turns.append(Turn(round(start, 3), round(end, 3), seq[k - 1]))
                start = end
    joined: list[Turn] = []
    for turn in sorted(turns, key=lambda t: t.start):
        if joined and joined[-1].speaker == turn.speaker and turn.start - joined[-1].end < 1.0:
            joined[-1] = Turn(joined[-1].start, turn.end, turn.speaker)
        else:
            joined.append(turn)
    return joined


def speaker_at(turns: Sequence[Turn], start: float, end: float) -> int | None:
    """The speaker with the most overlap with [start, end]; with none, the nearest turn's."""
    if not turns:
        return None
    overlap: dict[int, float] = {}
    for turn in turns:
        shared = min(end, turn.end) - max(start, turn.start)
        if shared > 0:
            overlap[turn.speaker] = overlap.get(turn.speaker, 0.0) + shared
    if overlap:
        return max(overlap, key=lambda k: overlap[k])
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker


MIN_RUN_WORDS = 2  # a run of fewer words than this inside a segment joins its neighbour ...
MIN_RUN_SECONDS = 0.6  # ... unless it lasts this long


def label_segments(
    segments: Sequence[dict[str, Any]], turns: Sequence[Turn], name: Callable[[int], str]
) -> list[dict[str, Any]]:
    """The segments with "speaker" set (and on each word, where word times exist). A segment whose
    words change speaker is split at the word boundary into segments of one speaker each."""
    out: list[dict[str, Any]] = []
    for segment in segments:
        words = list(segment.get("words") or [])
        if not words or not turns:
            found = speaker_at(turns, float(segment["start"]), float(segment["end"]))
            out.append({**segment, "speaker": name(found) if found is not None else ""})
            continue
        owners = [speaker_at(turns, float(w["start"]), float(w["end"])) for w in words]
        runs = _runs(words, owners)
        for run_owner, run_words in runs:
            label = name(run_owner) if run_owner is not None else ""
            labelled = [{**w, "speaker": label} for w in run_words]
            piece = {**segment, "words": labelled, "speaker": label}
            if len(runs) > 1:
                piece["start"] = round(float(run_words[0]["start"]), 3)
                piece["end"] = round(float(run_words[-1]["end"]), 3)
                piece["text"] = "".join(str(w.get("word", "")) for w in run_words).strip()
            out.append(piece)
    return out


def _runs(words: list[dict[str, Any]], owners: list[int | None]) -> list[tuple[int | None, list[dict[str, Any]]]]:
    runs: list[tuple[int | None, list[dict[str, Any]]]] = []
    for word, owner in zip(words, owners, strict=True):
        if runs and runs[-1][0] == owner:
            runs[-1][1].append(word)
        else:
            runs.append((owner, [word]))
    changed = True
    while changed and len(runs) > 1:  # a word or two that flickered to another speaker joins a neighbour
        changed = False
        for k, (_, group) in enumerate(runs):
            length = float(group[-1]["end"]) - float(group[0]["start"])
            if len(group) < MIN_RUN_WORDS and length < MIN_RUN_SECONDS:
                into = k - 1 if k > 0 else k + 1
                merged = runs[into][1] + group if into < k else group + runs[into][1]
                runs[into] = (runs[into][0], merged)
                del runs[k]
                changed = True
                break
    joined: list[tuple[int | None, list[dict[str, Any]]]] = []
    for owner, group in runs:
        if joined and joined[-1][0] == owner:
            joined[-1] = (owner, joined[-1][1] + group)
        else:
            joined.append((owner, group))
    return joined
