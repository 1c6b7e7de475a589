"""The demo organization: generated deterministically, logged through the real MLflow client."""
