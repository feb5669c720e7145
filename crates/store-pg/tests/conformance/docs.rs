//! (#17, in progress) conformance cases of the docs repository.
