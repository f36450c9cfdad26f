"""Who said what: the speakers stage (diarization), its voice encoder, and speaker names."""
