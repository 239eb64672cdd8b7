"""Shared code of the Walmart connection renewal functions: settings, models, data access and domain logic."""
