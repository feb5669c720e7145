//! The OpenAPI 3.1 description of the API, served at `GET /openapi.json`. It is derived from
//! the code: every route is registered through `utoipa_axum`'s `routes!` from the handler's own
//! `#[utoipa::path]` (so a route cannot exist without its description, nor at another path),
//! and every body's schema is derived from the Rust type the handler reads or writes. A test
//! compares the served description with `openapi.json` at the repository root, so every change
//! to the contract shows in review.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Spec, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

/// The error body every failure answers with (the trigger webhooks' 401 has `error` only).
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // a schema: the body is written by `ApiError`'s `IntoResponse`
pub struct ErrorBody {
    /// What went wrong, and what to change.
    pub error: String,
    /// A stable code: `BAD_REQUEST`, `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`,
    /// `VALIDATION_ERROR`, `PAYLOAD_TOO_LARGE`, `UNSUPPORTED_MEDIA_TYPE`, `REQUEST_TIMEOUT`,
    /// `QUEUE_FULL`, `OVERLOADED`, `INTERNAL_ERROR`, ….
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// A trigger webhook's failed run: the execution to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
}

/// Raw bytes (a component, a key-value value, a webhook body): a binary string, not the array
/// of integers a `Vec<u8>` would be described as.
#[derive(Debug)]
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        let schema = utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary)));
        RefOr::T(utoipa::openapi::schema::Schema::Object(schema.build()))
    }
}

impl ToSchema for Binary {}

/// The document's fixed parts; the paths come from the routers.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "wasmhook",
        description = "Webhooks into sandboxed WebAssembly runs. Every error answers `{\"error\", \"error_code\"}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(crate::telemetry::scrape::metrics),
    components(schemas(ErrorBody)),
    tags(
        (name = "webhooks (Definite)", description = "The Definite v2 block and v4 doc webhooks"),
        (name = "trigger webhooks", description = "Capability URLs with their own secret, signatures, arming and rate limits"),
        (name = "blocks"), (name = "docs"), (name = "executions"), (name = "webhooks"), (name = "callbacks"),
        (name = "keys and teams"), (name = "secrets"), (name = "key-value"), (name = "operations"),
    ),
)]
pub struct ApiDoc;

/// The whole description: the fixed parts, the routers' paths, then what applies to every
/// operation (applied here, after the paths are in: `#[openapi(modifiers)]` would run before).
pub fn finish(mut spec: Spec) -> Spec {
    Security.modify(&mut spec);
    DefaultError.modify(&mut spec);
    spec
}

/// The bearer schemes: an API key (`{user_id}-{secret}`) or a run's own key; a trigger
/// webhook's own secret; the metrics token.
struct Security;

impl Modify for Security {
    fn modify(&self, spec: &mut Spec) {
        let components = spec.components.get_or_insert_with(Default::default);
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(description)).build(),
            )
        };
        components
            .add_security_scheme("apiKey", bearer("An API key, `{user_id}-{secret}`, or a run's `WASMHOOK_API_KEY`"));
        components.add_security_scheme(
            "webhookSecret",
            bearer("A trigger webhook's own secret (`whk_…`; also `?token=` or `?key=`), when its `auth` is `secret`"),
        );
        components.add_security_scheme("metricsToken", bearer("The `metrics_token` of the server's config, when set"));
    }
}

/// Every operation may fail with the one error body: its `default` response.
struct DefaultError;

impl Modify for DefaultError {
    fn modify(&self, spec: &mut Spec) {
        let error = ResponseBuilder::new()
            .description("An error: `{\"error\", \"error_code\"}`")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody"))))
                    .build(),
            )
            .build();
        for item in spec.paths.paths.values_mut() {
            for operation in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                let responses = &mut operation.responses.responses;
                responses.entry("default".to_owned()).or_insert_with(|| RefOr::T(error.clone()));
                // A response needs a description: the status's reason phrase where none is given.
                for (status, response) in responses.iter_mut() {
                    if let RefOr::T(response) = response
                        && response.description.is_empty()
                    {
                        let reason = status.parse::<u16>().ok().and_then(|code| http::StatusCode::from_u16(code).ok());
                        response.description = reason.and_then(|s| s.canonical_reason()).unwrap_or("Answer").to_owned();
                    }
                }
            }
        }
    }
}
