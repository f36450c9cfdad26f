from django.apps import AppConfig

from processing.registry import AUDIO, VIDEO, StageSpec, register

WORD_COUNT = StageSpec(
    key="word_count",
    label="Word count",
    task_name="tests.throwaway_stage.tasks.count_words_async",
    queue="analysis",
    service="tests.throwaway_stage.services:word_count_run",
    phrase="Word count",
    done="completed successfully",
    media_kinds=frozenset({AUDIO, VIDEO}),
)


class ThrowawayStageConfig(AppConfig):
    name = "tests.throwaway_stage"
    label = "throwaway_stage"

    def ready(self) -> None:
        register(WORD_COUNT, after="analysis")
