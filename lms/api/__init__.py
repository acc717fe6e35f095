"""The REST API under /api/v1: token authentication with scopes, OpenAPI 3.1, problem details."""
