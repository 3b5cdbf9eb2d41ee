"""loranet trainer: models, data shards, collaborative LoRA training over hivemind, evaluation,
adapter artifacts and inference."""
