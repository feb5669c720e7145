//! Advisory lock keys, `(CLASS, job)`: one class for wasmhook (`'whk'`), one number per thing
//! done once at a time cluster-wide. Transaction-scoped (`pg_advisory_xact_lock`) wherever a
//! transaction spans the work, so a lock cannot outlive it on a pooled connection.

/// wasmhook's advisory lock class: `'whk'`.
pub(crate) const CLASS: i32 = 0x0077_686b;
/// Schema migrations.
pub(crate) const MIGRATE: i32 = 1;
/// The retention purge.
pub(crate) const RETENTION: i32 = 2;
/// First-start bootstrap (the operator team is created once, whichever node starts first).
pub(crate) const BOOTSTRAP: i32 = 3;
