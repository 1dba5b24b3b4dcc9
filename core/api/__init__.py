"""The REST API's shared machinery: tokens, authentication, permissions, throttling, errors,
parsers, pagination, record batches and the serializers every app's API uses. The endpoints
live in their apps (traders.api, campaign.api, rewards.api), which build on it."""
