//! The OpenAPI document of the REST API and the verification endpoints,
//! generated from the handlers' annotations and types.

use super::keys;
use crate::operator::orgs;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        description = "Manage an organisation's API keys. Authenticate with one of the org's keys holding keys:read or keys:write."
    ),
    paths(keys::list, keys::get, keys::create, keys::update, keys::regenerate, keys::revoke,
        orgs::create, orgs::list, orgs::get, orgs::update, orgs::portal_session),
    components(schemas(
        keys::KeyResource,
        keys::KeyList,
        keys::RevealedKeyBody,
        keys::CreateKey,
        keys::UpdateKey,
        keys::RegenerateKey,
        keys::RateLimitBody,
        keys::ErrorBody,
        keys::ErrorDetail,
        orgs::OrgResource,
        orgs::OrgList,
        orgs::CreateOrg,
        orgs::OrgCreated,
        orgs::UpdateOrg,
        orgs::CreatePortalSession,
        orgs::PortalSession
    )),
    modifiers(&BearerKey),
    tags((name = "keys", description = "API keys of the caller's org and environment"),
        (name = "orgs", description = "The operator API: organisations and portal sessions (operator tokens)"))
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
