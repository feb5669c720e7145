//! (#17, in progress) the docs repository on PostgreSQL.
