//! (#17, in progress) conformance cases of the webhooks repository.
