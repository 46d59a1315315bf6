"""Files in and out: atomic writes and JSON, the Picture and its sheets, reading photos."""
