//! (#17, in progress) the sealing repository on PostgreSQL.
