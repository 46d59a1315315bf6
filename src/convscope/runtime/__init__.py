"""Where and how the arithmetic runs: devices, precision, the heap of freed memory, compile settings."""
