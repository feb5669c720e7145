//! (#17, in progress) conformance cases of the callbacks repository.
