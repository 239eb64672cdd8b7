"""Data access: the only code that touches DynamoDB. Everything above it works with the models' plain values."""
