"""Miners: train the task's model with DeepSpeed and publish MX-int4 updates."""
