//! (#17, in progress) the blocks repository on PostgreSQL.
