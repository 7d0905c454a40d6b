//! Small building blocks shared by the pages.

mod copy;
mod history;
mod hydrated;
mod modal;
mod page;
mod table;

pub use crate::domain::time::{
    format_date, format_datetime, format_day, format_timestamp, relative,
};
pub use copy::CopyButton;
pub use history::describe as describe_changes;
pub use hydrated::{busy, use_hydrated};
pub use modal::Modal;
pub use page::{
    AuthCard, AuthPage, DeadLink, Field, Gate, Loaded, Loading, PageHeading, SignOut, Submit,
    action_error, path_param,
};
pub use table::{
    DataTable, FilterSelect, Pager, page_count, page_link, page_param, query_param, thousands,
    url_filters, urlencode,
};

use crate::error::AppError;
use leptos::prelude::*;

/// A server error shown beside the form that caused it.
#[component]
pub fn ErrorText(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p class="form-error" role="alert">
                    {e.to_string()}
                </p>
            }
        })
    }
}

/// A full-width notice for a page that could not load.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let (title, text) = match &error {
        AppError::NotFound => {
            ("Not found", "There is nothing here, or you do not have access to it.".to_string())
        }
        AppError::Forbidden => ("No access", error.to_string()),
        _ => ("Something went wrong", error.to_string()),
    };
    view! {
        <section class="panel error-panel">
            <h1>{title}</h1>
            <p>{text}</p>
            <a href="/">"Go to your organisations"</a>
        </section>
    }
}
