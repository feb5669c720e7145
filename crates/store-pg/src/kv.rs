//! (#17, in progress) the kv repository on PostgreSQL.
