//! (#17, in progress) conformance cases of the blocks repository.
