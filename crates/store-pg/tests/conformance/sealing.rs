//! (#17, in progress) conformance cases of the sealing repository.
