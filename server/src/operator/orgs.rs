//! `/v1/orgs…` handlers: the platform's backend creates, lists, renames,
//! suspends and resumes organisations and opens portal sessions. Each is
//! a thin shell around `app::backend::platform` and `portal`, audited as
//! the operator.

use super::OperatorState;
use super::auth::Operator;
use crate::rest::error::answers::{Conflict, Forbidden, Invalid, NotFound, Unauthorized};
use crate::rest::error::{JsonBody, RestError};
use app::AppError;
use app::backend::platform::{self, PlatformActor};
use app::backend::portal;
use app::domain::{Email, OrgName, OrgOverview, ReturnUrl, Role, Slug};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An organisation as the operator API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"slug": "acme", "name": "Acme Inc.", "members": 3, "active_keys": 4,
    "keys": 5, "verifications_24h": 1200, "created_at": 1767225600, "suspended": false,
    "suspended_at": null}))]
pub struct OrgResource {
    pub slug: String,
    pub name: String,
    pub members: i64,
    /// Keys that verify now.
    pub active_keys: i64,
    pub keys: i64,
    pub verifications_24h: i64,
    /// Unix seconds.
    pub created_at: i64,
    pub suspended: bool,
    pub suspended_at: Option<i64>,
}

impl From<OrgOverview> for OrgResource {
    fn from(o: OrgOverview) -> Self {
        OrgResource {
            suspended: o.suspended_at.is_some(),
            slug: o.slug,
            name: o.name,
            members: o.members,
            active_keys: o.active_keys,
            keys: o.keys,
            verifications_24h: o.verifications_24h,
            created_at: o.created_at,
            suspended_at: o.suspended_at,
        }
    }
}

/// One page of organisations.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgList {
    pub orgs: Vec<OrgResource>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// `GET /v1/orgs` filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgListParams {
    /// Part of the slug or name (any case).
    pub search: Option<String>,
    /// From 1; 25 organisations a page.
    pub page: Option<u32>,
}

/// `POST /v1/orgs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"slug": "acme", "name": "Acme Inc.", "owner_email": "owner@acme.test"}))]
pub struct CreateOrg {
    pub slug: String,
    pub name: String,
    /// Gets a one-time invitation as the org's owner.
    pub owner_email: Option<String>,
}

/// A new organisation and, if an owner was named, their invitation link.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgCreated {
    pub org: OrgResource,
    pub invitation_url: Option<String>,
}

/// `PATCH /v1/orgs/{slug}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"suspended": true}))]
pub struct UpdateOrg {
    pub name: Option<String>,
    /// `true` suspends (members read, nothing changes, keys verify as
    /// DISABLED); `false` resumes.
    pub suspended: Option<bool>,
}

/// `POST /v1/orgs/{slug}/portal-sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "jo@customer.example", "role": "admin",
    "return_url": "https://platform.example/settings"}))]
pub struct CreatePortalSession {
    pub email: String,
    /// `admin`, `member` or `viewer` (never `owner`).
    pub role: String,
    /// Where the portal's "Back to …" link leads (http or https).
    pub return_url: Option<String>,
}

/// A one-time sign-in link, valid for five minutes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalSession {
    pub url: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Creates an organisation; with `owner_email`, answers its owner's
/// one-time invitation link.
#[utoipa::path(post, path = "/v1/orgs", operation_id = "createOrg", tag = "orgs",
    request_body = CreateOrg, security(("operator_token" = [])),
    responses((status = 201, description = "Created", body = OrgCreated), Invalid, Unauthorized, Conflict))]
pub async fn create(
    State(state): State<OperatorState>,
    operator: Operator,
    JsonBody(body): JsonBody<CreateOrg>,
) -> Result<Response, RestError> {
    let slug = Slug::parse(&body.slug).map_err(RestError::invalid)?;
    let name = OrgName::parse(&body.name).map_err(RestError::invalid)?;
    let owner =
        body.owner_email.as_deref().map(Email::parse).transpose().map_err(RestError::invalid)?;
    let (org, token) = platform::create(
        &state.app.db,
        PlatformActor::Operator,
        &slug,
        &name,
        owner.as_ref(),
        state.app.settings.invitation_ttl_secs,
        operator.ip.as_deref(),
    )
    .await?;
    let origin = &operator.origin;
    let body = OrgCreated {
        org: org.into(),
        invitation_url: token.map(|t| format!("{origin}/invite/{t}")),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Lists organisations by name, 25 a page.
#[utoipa::path(get, path = "/v1/orgs", operation_id = "listOrgs", tag = "orgs",
    params(OrgListParams), security(("operator_token" = [])),
    responses((status = 200, description = "OK", body = OrgList), Unauthorized))]
pub async fn list(
    State(state): State<OperatorState>,
    _operator: Operator,
    Query(params): Query<OrgListParams>,
) -> Result<Json<OrgList>, RestError> {
    let search = params.search.unwrap_or_default();
    let page = platform::list(&state.app.db, &search, params.page.unwrap_or(1)).await?;
    Ok(Json(OrgList {
        orgs: page.orgs.into_iter().map(Into::into).collect(),
        total: page.total,
        page: page.page,
        per_page: page.per_page,
    }))
}

/// One organisation.
#[utoipa::path(get, path = "/v1/orgs/{slug}", operation_id = "getOrg", tag = "orgs",
    params(("slug" = String, Path, description = "The org's slug")), security(("operator_token" = [])),
    responses((status = 200, description = "OK", body = OrgResource), Unauthorized, NotFound))]
pub async fn get(
    State(state): State<OperatorState>,
    _operator: Operator,
    Path(slug): Path<String>,
) -> Result<Json<OrgResource>, RestError> {
    let org = platform::find(&state.app.db, &slug).await?.ok_or(AppError::NotFound)?;
    Ok(Json(org.into()))
}

/// Renames, suspends or resumes an organisation. A suspension reaches
/// every instance's verification at once.
#[utoipa::path(patch, path = "/v1/orgs/{slug}", operation_id = "updateOrg", tag = "orgs",
    params(("slug" = String, Path, description = "The org's slug")),
    request_body = UpdateOrg, security(("operator_token" = [])),
    responses((status = 200, description = "OK", body = OrgResource), Invalid, Unauthorized, NotFound))]
pub async fn update(
    State(state): State<OperatorState>,
    operator: Operator,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<UpdateOrg>,
) -> Result<Json<OrgResource>, RestError> {
    let app = &state.app;
    let ip = operator.ip.as_deref();
    let name = body.name.as_deref().map(OrgName::parse).transpose().map_err(RestError::invalid)?;
    // Both in one transaction: a rename never lands without the suspension
    // asked for with it.
    let change = platform::OrgChange { name: name.as_ref(), suspended: body.suspended };
    let (org_id, suspension_changed) =
        platform::change(&app.db, &app.instance, PlatformActor::Operator, &slug, change, ip)
            .await?;
    if suspension_changed {
        app.org_changed(&org_id);
    }
    let org = platform::find(&app.db, &slug).await?.ok_or(AppError::NotFound)?;
    Ok(Json(org.into()))
}

/// Opens a portal session: a one-time link (5 minutes) that signs `email`
/// in as `role` and lands on the org's API keys.
#[utoipa::path(post, path = "/v1/orgs/{slug}/portal-sessions", operation_id = "createPortalSession",
    tag = "orgs", params(("slug" = String, Path, description = "The org's slug")),
    request_body = CreatePortalSession, security(("operator_token" = [])),
    responses((status = 201, description = "Created", body = PortalSession), Invalid, Unauthorized,
        Forbidden, NotFound))]
pub async fn portal_session(
    State(state): State<OperatorState>,
    operator: Operator,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<CreatePortalSession>,
) -> Result<Response, RestError> {
    let email = Email::parse(&body.email).map_err(RestError::invalid)?;
    let role: Role = body.role.parse().map_err(RestError::invalid)?;
    let role = portal::portal_role(role).map_err(RestError::invalid)?;
    let return_url =
        body.return_url.as_deref().map(ReturnUrl::parse).transpose().map_err(RestError::invalid)?;
    let org_id = platform::org_id(&state.app.db, &slug).await?.ok_or(AppError::NotFound)?;
    let (token, expires_at) =
        portal::create(&state.app.db, &org_id, &email, role, return_url.as_ref()).await?;
    let origin = &operator.origin;
    let body = PortalSession { url: format!("{origin}/portal/{token}"), expires_at };
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
