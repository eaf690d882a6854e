"""User-facing assets: models, environments, inference configs, images."""
