"""JSON Lines (application/x-ndjson) for schemathesis: the document describes such a body as an array of
records; on the wire it is one JSON object per line."""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson_serializer(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, list):
        return "".join(json.dumps(item) + "\n" for item in value).encode("utf-8")
    return json.dumps(value).encode("utf-8")


@schemathesis.deserializer("application/x-ndjson")
def ndjson_deserializer(ctx, response):
    # Only "\n" ends a line: str.splitlines would also split at U+2028 and others inside JSON strings.
    return [json.loads(line) for line in response.content.split(b"\n") if line.strip()]
