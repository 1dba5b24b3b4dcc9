"""The traders' endpoints: batch upserts of registrations and trading stats (core.api is the
machinery they, and the campaign and rewards APIs, build on)."""
