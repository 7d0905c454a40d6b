//! `/orgs/{slug}/settings/audit-log`: every change, newest first, for owners
//! and admins.

use crate::api::key_types::AuditView;
use crate::api::keys::audit_log;
use crate::components::{
    DataTable, FilterSelect, Loaded, PageHeading, Pager, describe_changes, format_datetime,
    page_link, page_param, path_param, query_param, url_filters,
};
use leptos::prelude::*;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let slug = path_param("slug");
    let filters = url_filters(|q| (query_param(q, "action"), query_param(q, "key"), page_param(q)));
    let log = Resource::new(
        move || (slug.get(), filters.get()),
        |(slug, (action, key, page))| audit_log(slug, action, key, page),
    );
    view! {
        <PageHeading title="Audit log" lede="Every change to this organisation's keys and members. Entries are never edited or deleted." />
        <Loaded resource=log show=move |p| {
            let (action, key, _) = filters.get_untracked();
            let link = {
                let (action, key) = (action.clone(), key.clone());
                move |page| page_link(page, &[("action", action.as_deref()), ("key", key.as_deref())])
            };
            view! {
                <form method="get" class="filters" role="search">
                    <FilterSelect name="action" label="Filter by action" all="All actions"
                        options=p.actions.iter().map(|a| (a.clone(), a.clone())).collect()
                        selected=action.clone() />
                    {key.clone().map(|k| view! { <input type="hidden" name="key" value=k /> })}
                    <button type="submit" class="secondary">"Apply"</button>
                    {key.is_some().then(|| view! { <a href="?">"Show all keys"</a> })}
                </form>
                <AuditTable entries=p.entries show_target=true />
                <Pager summary=format!("{} entries", p.total) page=p.page total=p.total per_page=p.per_page link />
            }
        } />
    }
}

/// Audit entries as a table.
#[component]
pub fn AuditTable(entries: Vec<AuditView>, show_target: bool) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="panel empty-state">"Nothing recorded yet."</p> }.into_any();
    }
    view! {
        <DataTable label="Audit entries" names=[&["Time (UTC)", "Actor", "Action"][..], if show_target { &["Target"] } else { &[] }, &["Changes", "IP"]].concat()>
                    {entries
                        .into_iter()
                        .map(|e| {
                            let target = show_target.then(|| {
                                let label = e.target_label.clone().unwrap_or_default();
                                let cell = match (e.target_type.as_str(), e.target_id.clone()) {
                                    ("key", Some(id)) => view! { <a href=format!("?key={id}")>{label}</a> }.into_any(),
                                    _ => view! { <span>{label}</span> }.into_any(),
                                };
                                view! { <td data-label="Target">{cell}</td> }
                            });
                            view! {
                                <tr>
                                    <td data-label="Time (UTC)">{format_datetime(e.at_ms / 1000)}</td>
                                    <td data-label="Actor">{e.actor.clone().unwrap_or_else(|| "—".into())}</td>
                                    <td data-label="Action" class="mono">{e.action.clone()}</td>
                                    {target}
                                    <td data-label="Changes" class="changes">
                                        <ul class="change-list">
                                            {describe_changes(e.changes.as_deref())
                                                .into_iter()
                                                .map(|l| view! { <li>{l}</li> })
                                                .collect_view()}
                                        </ul>
                                    </td>
                                    <td data-label="IP">{e.client_ip.clone().unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </DataTable>
    }
    .into_any()
}
