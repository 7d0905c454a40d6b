//! A key as people and programs are shown it: the one place a [`KeyRow`]
//! becomes a [`KeyView`] under its org's policies, for the API Keys page
//! and the REST API alike (a new field is added here once).

use super::KeyRow;
use crate::backend::{AppState, db, policies};
use crate::domain::KeyView;
use crate::error::AppError;

/// `rows` (all of one org) as they are shown, under their org's policies.
pub async fn views(state: &AppState, rows: &[KeyRow]) -> Result<Vec<KeyView>, AppError> {
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let policies = policies::of_org_in(&state.db, &first.org_id).await?;
    let now = db::now();
    rows.iter().map(|r| r.view(now, state.settings.rotation_days, &policies)).collect()
}

/// One row as it is shown.
pub async fn view(state: &AppState, row: &KeyRow) -> Result<KeyView, AppError> {
    Ok(views(state, std::slice::from_ref(row)).await?.remove(0))
}
