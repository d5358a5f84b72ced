"""The TTP REST layer: shared models, validation, services, and the connect/jobs APIs."""
