"""Admin for the pipeline: uploads with their stage runs, results and actions (uploads.py), and the
operational records, lifecycle events and dead letters (records.py). The upload admin lives here,
not in uploads/, because everything on it beyond the file is the pipeline's."""

from .records import DeadLetterAdmin, TaskAttemptAdmin, TaskAttemptInline
from .uploads import UploadedFileAdmin

__all__ = ["DeadLetterAdmin", "TaskAttemptAdmin", "TaskAttemptInline", "UploadedFileAdmin"]
