//! (#17, in progress) the callbacks repository on PostgreSQL.
