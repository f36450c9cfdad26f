"""The multi-speaker set for the speakers stage's tests and bench.speakers: meetings of 1-4 espeak-ng
voices (processing.media.dialogue.VOICES: two male, two female, pitch and speed apart) with turns of
1-20 s, a quick back-and-forth and a speaker who returns after a long gap, with exact ground truth."""

from __future__ import annotations

import random
from dataclasses import dataclass

from processing.media.dialogue import Turn

SENTENCES = (
    "The deliveries to the northern warehouse are late again this week.",
    "We should hire two more drivers before the holiday season.",
    "The budget for the new bridge is higher than planned.",
    "Residents have complained about the noise from the construction site.",
    "I propose that we move the meeting to Thursday afternoon.",
    "The tracking page was broken for two days and nobody noticed.",
    "Our main problem is that the contract with the supplier ends in March.",
    "Let us ask the finance team to review the numbers before we decide.",
    "The school bus route needs a new stop near the river.",
    "We could open the library on Sunday mornings as a trial.",
    "The survey shows that most people want more parking near the station.",
    "I am worried that the repairs will take longer than the summer.",
    "Can we publish the minutes on the website by Friday?",
    "The council should apply for the regional grant this autumn.",
    "Water pressure in the eastern district has been low since May.",
    "We will send a letter to every household about the new collection days.",
)
SHORT = ("Yes.", "No, not yet.", "Why not?", "Agreed.", "Really?", "Okay, go on.", "Thank you.", "Exactly.")


@dataclass(frozen=True)
class Meeting:
    name: str
    turns: tuple[Turn, ...]

    @property
    def speakers(self) -> int:
        return len({t.voice for t in self.turns})


def _turn(rng: random.Random, voice: str, sentences: int, gap: float) -> Turn:
    return Turn(voice, " ".join(rng.sample(SENTENCES, sentences)), gap=gap)


def _meeting(name: str, voices: list[str], turns: int, seed: int) -> Meeting:
    rng = random.Random(seed)
    out: list[Turn] = []
    previous = ""
    for _ in range(turns):
        voice = rng.choice([v for v in voices if v != previous])
        out.append(_turn(rng, voice, rng.choice((1, 1, 2, 3, 4)), round(rng.uniform(0.4, 1.2), 2)))
        previous = voice
    for voice in voices:  # everyone speaks at least once
        if all(t.voice != voice for t in out):
            out.append(_turn(rng, voice, 2, 0.8))
    return Meeting(name, tuple(out))


def meeting_set() -> list[Meeting]:
    rng = random.Random(16)
    meetings = [
        _meeting("two_ben_ann", ["ben", "ann"], 8, 1),
        _meeting("two_ben_kate", ["ben", "kate"], 8, 2),
        _meeting("two_tom_ann", ["tom", "ann"], 8, 3),
        _meeting("three_a", ["ben", "ann", "tom"], 10, 4),
        _meeting("three_b", ["kate", "tom", "ben"], 10, 5),
        _meeting("four", ["ben", "ann", "kate", "tom"], 12, 6),
        Meeting("one_voice", tuple(_turn(rng, "ben", 3, 0.7) for _ in range(4))),
    ]
    back_and_forth = [Turn("ben", " ".join(SENTENCES[:2]))]
    for k in range(8):  # turns of about one second each
        back_and_forth.append(Turn("ann" if k % 2 == 0 else "ben", SHORT[k], gap=0.4))
    back_and_forth.append(Turn("ann", " ".join(SENTENCES[2:4]), gap=0.6))
    meetings.append(Meeting("back_and_forth", tuple(back_and_forth)))
    returns = [Turn("kate", " ".join(SENTENCES[4:6]))]
    for k in range(6):  # about a minute without her
        returns.append(_turn(rng, "ben" if k % 2 == 0 else "tom", 3, 0.7))
    returns.append(Turn("kate", " ".join(SENTENCES[6:8]), gap=0.9))
    meetings.append(Meeting("returns_after_gap", tuple(returns)))
    long_turns = [Turn("ann", " ".join(SENTENCES[0:7])), Turn("tom", " ".join(SENTENCES[7:13]), gap=1.0)]
    meetings.append(Meeting("long_turns", tuple(long_turns)))  # turns of about 20 s
    return meetings
