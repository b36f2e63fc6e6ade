"""What several test modules share: tiny configurations and batches, the `train.py` command and
readers of its outputs, weight files laid out as the real ones, a PyTorch reference of DPTN."""
