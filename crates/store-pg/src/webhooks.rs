//! (#17, in progress) the webhooks repository on PostgreSQL.
