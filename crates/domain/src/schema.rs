//! OpenAPI schemas of the types that serialize as text through a hand-written `Serialize`
//! (a derive would describe their fields, which the JSON never shows).

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Implements `ToSchema` for `$type` as a string with `$description` (and a `$pattern`).
macro_rules! text_schema {
    ($type:ty, $description:literal $(, $pattern:literal)?) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                let builder = ObjectBuilder::new().schema_type(Type::String).description(Some($description));
                $(let builder = builder.pattern(Some($pattern));)?
                RefOr::T(Schema::Object(builder.build()))
            }
        }

        impl utoipa::ToSchema for $type {}
    };
}

text_schema!(crate::BlockDigest, "SHA-256 of the component's bytes, lowercase hex", "^[0-9a-f]{64}$");
text_schema!(
    crate::AllowedHost,
    "An origin a block may call: `https://api.stripe.com`, `https://*.slack.com` (one label), `http://10.0.0.5:8099`"
);
