"""The REST API's shared machinery (tokens, authentication, permissions, throttling, errors,
record batches) and the traders' own endpoints. It lives in the lowest layer so that the
campaign and rewards APIs can build on it without importing upwards."""
