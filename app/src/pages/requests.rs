//! `/orgs/{slug}/settings/logs`: the org's request log (what verification
//! answered, newest first), filtered by key, outcome and time, for owners,
//! admins and members. Plain GET forms and links: works without JavaScript.

use crate::api::usage::{LOG_PERIODS, LogQuery, RequestView, request_log};
use crate::components::{
    DataTable, Field, FilterSelect, Loaded, PageHeading, Pager, format_timestamp, page_link,
    page_param, path_param, query_param, thousands, url_filters,
};
use crate::domain::{OUTCOMES, outcome_label};
use leptos::prelude::*;

#[component]
pub fn RequestLogPage() -> impl IntoView {
    let slug = path_param("slug");
    let filters = url_filters(|q| LogQuery {
        key: query_param(q, "key"),
        outcome: query_param(q, "outcome"),
        since: query_param(q, "since"),
        page: page_param(q),
    });
    let log = Resource::new(move || (slug.get(), filters.get()), |(slug, q)| request_log(slug, q));
    view! {
        <PageHeading title="Request log" lede="Every verification of this organisation's keys: which key, what it asked for, and the answer. Entries appear within a few seconds." />
        <Loaded resource=log show=move |p| {
            let q = filters.get_untracked();
            let since = q.since.clone().unwrap_or_else(|| "24h".into());
            let link = {
                let (q, since) = (q.clone(), since.clone());
                move |page| {
                    page_link(page, &[("since", Some(&since)), ("key", q.key.as_deref()), ("outcome", q.outcome.as_deref())])
                }
            };
            let key = q.key.clone();
            let known = key.as_ref().is_none_or(|k| p.keys.iter().any(|(id, _)| id == k));
            view! {
                <form method="get" class="filters" role="search">
                    <Field id="log-key" label="Key">
                        <select id="log-key" name="key">
                            <option value="" selected=key.is_none()>"All keys"</option>
                            {(!known).then(|| view! { <option value=key.clone().unwrap_or_default() selected=true>"This key"</option> })}
                            {p.keys.iter().map(|(id, name)| view! { <option value=id.clone() selected=key.as_deref() == Some(id.as_str())>{name.clone()}</option> }).collect_view()}
                        </select>
                    </Field>
                    <FilterSelect name="outcome" label="Outcome" all="All outcomes"
                        options=OUTCOMES.iter().map(|o| (o.to_string(), outcome_label(o).to_string())).collect()
                        selected=q.outcome.clone() />
                    <Field id="log-since" label="Time">
                        <select id="log-since" name="since">
                            {LOG_PERIODS.iter().map(|(v, label, _)| view! { <option value=*v selected=since == *v>{*label}</option> }).collect_view()}
                        </select>
                    </Field>
                    <button type="submit" class="secondary">"Apply"</button>
                </form>
                <RequestTable entries=p.entries show_key=true slug=slug.get_untracked() />
                <Pager
                    summary=match (p.total, p.more) {
                        (_, true) => format!("More than {} requests", thousands(p.total)),
                        (1, false) => "1 request".to_string(),
                        (n, false) => format!("{} requests", thousands(n)),
                    }
                    page=p.page
                    total=p.total
                    more=p.more
                    next=p.next
                    per_page=p.per_page
                    link
                />
            }
        } />
    }
}

/// Request-log entries as a table.
#[component]
pub fn RequestTable(entries: Vec<RequestView>, show_key: bool, slug: String) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="panel empty-state">"No requests in this period."</p> }.into_any();
    }
    view! {
        <DataTable label="Requests" names=[&["Time (UTC)"][..], if show_key { &["Key"] } else { &[] }, &["Outcome", "Path", "IP", "User agent"]].concat()>
                    {entries
                        .into_iter()
                        .map(|e| {
                            let key = show_key.then(|| {
                                let cell = match e.key_name.clone() {
                                    Some(name) => view! { <a href=format!("/orgs/{slug}/settings/api-keys/{}", e.key_id)>{name}</a> }.into_any(),
                                    None => view! { <span class="muted">"Deleted key"</span> }.into_any(),
                                };
                                view! { <td data-label="Key">{cell}</td> }
                            });
                            let class = if e.code == "VALID" { "outcome outcome-valid" } else { "outcome outcome-refused" };
                            view! {
                                <tr>
                                    <td data-label="Time (UTC)">{format_timestamp(e.at_ms / 1000)}</td>
                                    {key}
                                    <td data-label="Outcome"><span class=class title=e.code.clone()>{outcome_label(&e.code)}</span></td>
                                    <td data-label="Path" class="mono">{e.path.clone().unwrap_or_default()}</td>
                                    <td data-label="IP">{e.ip.clone().unwrap_or_default()}</td>
                                    <td data-label="User agent" class="small-text">{e.user_agent.clone().unwrap_or_default()}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </DataTable>
    }
    .into_any()
}
