from processing.tasks import stage_task

count_words_async = stage_task("word_count")
