"""A throwaway pipeline stage, as an app would add one: one StageSpec (apps.py), one service
(services.py) and the task made from the spec (tasks.py). Installed only where TEST_EXTRA_APPS names
it (config/settings/test.py), by tests/processing/test_registry_stage.py's worker and commands."""
