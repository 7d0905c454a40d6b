//! The OpenAPI document of the whole HTTP API (verification, REST,
//! operator), generated from the handlers' annotations and types; above
//! each of them, served at `/v1/openapi.json`.

use crate::operator::orgs;
use crate::rest::{error, keys};
use crate::verify::{authorize, handler};
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key of the org (`kw_…`). Its environment bounds what it reaches.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "service_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A verifier's service token (KEYWARDEN_SERVICE_TOKENS), bound to one environment.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "customer_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The client's API key, forwarded by the proxy."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "customer_key_header",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "The client's API key in X-API-Key, forwarded by the proxy.",
            ))),
        );
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An operator token (KEYWARDEN_OPERATOR_TOKENS) of the platform's backend.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keywarden",
        description = "Self-hosted API keys for a platform and its organisations. \
            Verification (`verifyKey`, `authorizeRequest`) is for the platform's gateway, with a service token; \
            the keys API is for automation, with one of the org's own keys holding keys:read or keys:write; \
            the orgs API is for the platform's backend, with an operator token.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(handler::verify, authorize::authorize,
        keys::list, keys::get, keys::create, keys::update, keys::regenerate, keys::revoke,
        orgs::create, orgs::list, orgs::get, orgs::update, orgs::portal_session),
    components(schemas(
        handler::VerifyRequest,
        handler::VerifyResponse,
        crate::verify::Code,
        crate::verify::RateLimitInfo,
        keys::KeyResource,
        keys::KeyList,
        keys::RevealedKeyBody,
        keys::CreateKey,
        keys::UpdateKey,
        keys::RegenerateKey,
        keys::RateLimitBody,
        crate::rest::key_options::UsageLimitBody,
        crate::rest::key_options::UsageResource,
        crate::verify::UsageInfo,
        error::ErrorBody,
        error::ErrorDetail,
        orgs::OrgResource,
        orgs::OrgList,
        orgs::CreateOrg,
        orgs::OrgCreated,
        orgs::UpdateOrg,
        orgs::CreatePortalSession,
        orgs::PortalSession
    )),
    modifiers(&BearerKey),
    tags((name = "verification", description = "For the platform's gateway: is this key allowed?"),
        (name = "keys", description = "API keys of the caller's org and environment"),
        (name = "orgs", description = "The operator API: organisations and portal sessions (operator tokens)"))
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`: the document, with this instance as its server
/// (`public_url`, else the request's host).
pub async fn document(
    axum::extract::State(state): axum::extract::State<app::backend::AppState>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Json<utoipa::openapi::OpenApi> {
    let mut doc = ApiDoc::openapi();
    let origin = app::backend::request::origin_of(&state, &headers, &uri);
    doc.servers = Some(vec![utoipa::openapi::server::Server::new(origin)]);
    Json(doc)
}
