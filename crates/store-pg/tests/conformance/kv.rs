//! (#17, in progress) conformance cases of the kv repository.
