"""HTTP ingest: NDJSON and plain text, Elasticsearch bulk, Loki push and OTLP/HTTP logs, turned
into NDJSON batches and published to RabbitMQ with publisher confirms (docs/sending.md)."""
