//! Settings → API Keys: the list, its dialogs, and a key's detail page.

mod detail;
mod dialogs;
mod fields;
mod reveal;
mod usage;

pub use detail::KeyDetailPage;

use crate::api::key_types::{KeyPage, KeyQuery, KeySort, KeyView};
use crate::api::keys::list_keys;
use crate::components::{
    DataTable, ErrorPanel, ErrorText, Field, FilterSelect, Loading, Pager, busy, format_datetime,
    format_day, page_link, page_param, path_param, relative, url_filters, use_hydrated,
};
use crate::domain::{Environment, KeyStatus, UnixTime};
use dialogs::{KeyActions, KeyDialog, KeyDialogs};
use leptos::prelude::*;
use leptos_meta::Title;

/// The list's filters as they sit in the URL (so they survive reloads and
/// work without JavaScript).
fn query_from_url(q: &leptos_router::params::ParamsMap) -> KeyQuery {
    KeyQuery {
        environment: q.get("environment").and_then(|e| e.parse().ok()),
        status: q.get("status").and_then(|s| KeyStatus::ALL.into_iter().find(|k| k.as_str() == s)),
        search: q.get("q").unwrap_or_default(),
        customer: q.get("customer").unwrap_or_default(),
        sort: if q.get("sort").as_deref() == Some("last_used") {
            KeySort::LastUsed
        } else {
            KeySort::Created
        },
        page: page_param(q),
    }
}

fn query_string(q: &KeyQuery, page: u32) -> String {
    page_link(
        page,
        &[
            ("environment", q.environment.map(|e| e.as_str())),
            ("status", q.status.map(|s| s.as_str())),
            ("q", Some(q.search.as_str()).filter(|s| !s.is_empty())),
            ("customer", Some(q.customer.as_str()).filter(|s| !s.is_empty())),
            ("sort", (q.sort == KeySort::LastUsed).then_some("last_used")),
        ],
    )
}

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let slug = path_param("slug");
    let query = url_filters(query_from_url);
    let actions = KeyActions::new(slug, None);
    let page = Resource::new(
        move || (slug.get(), query.get(), actions.version()),
        |(slug, query, _)| list_keys(slug, query),
    );
    view! {
        <Title text="API Keys" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! { <KeyList page=p query=query.get_untracked() actions /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
        <KeyDialogs actions />
    }
}

#[component]
fn KeyList(page: KeyPage, query: KeyQuery, actions: KeyActions) -> impl IntoView {
    let can_manage = page.can_manage;
    let create = move |_| actions.dialog.set(Some(KeyDialog::Create));
    let ready = use_hydrated();
    let shown_from = (page.page - 1) * page.per_page + 1;
    let shown_to = shown_from - 1 + page.keys.len() as u32;
    let filtered =
        query.environment.is_some() || query.status.is_some() || !query.search.is_empty();
    view! {
        <div class="page-head">
            <div>
                <h1>"API Keys"</h1>
                <p class="lede">"Keys let your integrations call the platform on behalf of this organisation."</p>
            </div>
            {can_manage.then(|| view! { <button type="button" class="primary" disabled=move || !ready.get() aria-busy=busy(ready) on:click=create>"Create API key"</button> })}
        </div>
        {if !page.org_has_keys {
            view! {
                <section class="panel empty-state">
                    <h2>"No API keys yet"</h2>
                    <p>
                        "An API key identifies one of your integrations (a server, an SDK, a CI job) when it calls the API. "
                        "Each key belongs to one environment and carries only the permissions it needs."
                    </p>
                    {if can_manage {
                        view! { <button type="button" class="primary" disabled=move || !ready.get() aria-busy=busy(ready) on:click=create>"Create API key"</button> }.into_any()
                    } else {
                        view! { <p>"Owners and admins of this organisation can create keys."</p> }.into_any()
                    }}
                </section>
            }
                .into_any()
        } else {
            view! {
                <Filters query=query.clone() customers=page.can_view_detail />
                <ErrorText error=actions.enable_error() />
                {if page.keys.is_empty() {
                    view! { <p class="panel empty-state">"No keys match these filters."</p> }.into_any()
                } else {
                    view! { <KeyTable page=page.clone() actions /> }.into_any()
                }}
                <Pager
                    summary=if page.keys.is_empty() {
                        "0 keys".to_string()
                    } else {
                        format!("{shown_from}–{shown_to} of {} {}", page.total, if filtered { "matching keys" } else { "keys" })
                    }
                    page=page.page
                    total=page.total
                    per_page=page.per_page
                    link=move |n| query_string(&query, n)
                />
            }
                .into_any()
        }}
    }
}

#[component]
fn Filters(query: KeyQuery, customers: bool) -> impl IntoView {
    let env = query.environment;
    let status = query.status;
    // A viewer sees no customers, so finds no keys by one.
    let customer = customers.then(|| {
        view! {
            <Field id="filter-customer" label="Filter by customer">
                <input id="filter-customer" type="search" name="customer" placeholder="cus_123" value=query.customer.clone() />
            </Field>
        }
    });
    view! {
        <form method="get" class="filters" role="search">
            <Field id="filter-q" label="Search by name">
                <input id="filter-q" type="search" name="q" value=query.search.clone() />
            </Field>
            {customer}
            <FilterSelect name="environment" label="Filter by environment" all="All environments"
                options=Environment::ALL.iter().map(|e| (e.as_str().into(), e.label().into())).collect()
                selected=env.map(|e| e.as_str().into()) />
            <FilterSelect name="status" label="Filter by status" all="All statuses"
                options=KeyStatus::ALL.iter().map(|s| (s.as_str().into(), s.label().into())).collect()
                selected=status.map(|s| s.as_str().into()) />
            <Field id="filter-sort" label="Sort by">
                <select id="filter-sort" name="sort">
                    <option value="created" selected=query.sort == KeySort::Created>"Newest"</option>
                    <option value="last_used" selected=query.sort == KeySort::LastUsed>"Last used"</option>
                </select>
            </Field>
            <button type="submit" class="secondary">"Apply"</button>
        </form>
    }
}

/// When a time is shown relatively, the exact time is one hover away.
#[component]
pub fn When(t: UnixTime, now: UnixTime) -> impl IntoView {
    view! { <time title=format_datetime(t)>{relative(t, now)}</time> }
}

#[component]
fn KeyTable(page: KeyPage, actions: KeyActions) -> impl IntoView {
    let now = page.now;
    let show_actions = page.can_manage || page.can_delete;
    // A viewer's list has no rate limits (docs/design.md#roles).
    let mut names = vec![
        "Name",
        "Prefix",
        "Type",
        "Environment",
        "Rate limit",
        "Requests",
        "Last used",
        "Created",
        "Expires",
        "Status",
    ];
    if !page.can_view_detail {
        names.retain(|n| *n != "Rate limit");
    }
    view! {
        <DataTable label="API keys" class="keys" names
                    actions=show_actions>
                    {page
                        .keys
                        .into_iter()
                        .map(|key| view! { <KeyRowView key now detail=page.can_view_detail can_manage=page.can_manage can_delete=page.can_delete actions /> })
                        .collect_view()}
                </DataTable>
    }
}

/// The status badge of a key.
#[component]
pub fn StatusBadge(status: KeyStatus) -> impl IntoView {
    view! { <span class=format!("badge status-{}", status.as_str())>{status.label()}</span> }
}

#[component]
fn KeyRowView(
    key: KeyView,
    now: UnixTime,
    detail: bool,
    can_manage: bool,
    can_delete: bool,
    actions: KeyActions,
) -> impl IntoView {
    let href = format!("/orgs/{}/settings/api-keys/{}", actions.slug.get_untracked(), key.id);
    let name = if detail {
        view! { <a href=href>{key.name.clone()}</a> }.into_any()
    } else {
        view! { <span>{key.name.clone()}</span> }.into_any()
    };
    // The permissions in a word or two; the whole list on hover and on
    // the key's page (not in a viewer's list, which has none).
    let all = key.permissions.join(", ");
    let summary = match key.permissions.len() {
        _ if !detail => None,
        0 => Some("no permissions".to_string()),
        1 => Some(all.clone()),
        n => Some(format!("{n} permissions")),
    };
    let never = || view! { <span>"Never"</span> }.into_any();
    view! {
        <tr>
            <td data-label="Name">
                <div class="key-name">{name}</div>
                {key.customer.clone().map(|c| view! { <div class="hint mono customer" title="Customer ID">{c}</div> })}
                <KeyHints key=key.clone() now />
            </td>
            <td data-label="Prefix" class="mono prefix">{format!("{}••••", key.start)}</td>
            <td data-label="Type">
                {key.key_type.clone()}
                {summary.map(|s| view! { <div class="hint mono" title=all.clone()>{s}</div> })}
            </td>
            <td data-label="Environment">{key.environment.label()}</td>
            {key.rate_limit.map(|r| view! { <td data-label="Rate limit">{r.short_label()}</td> })}
            <td data-label="Requests">
                {key.request_count.to_string()}
                {key.usage.map(|u| view! { <div class="hint usage-left">{format!("{} left", u.remaining)}</div> })}
            </td>
            <td data-label="Last used">{key.last_used_at.map_or_else(never, |t| view! { <When t now /> }.into_any())}</td>
            <td data-label="Created"><time title=format_datetime(key.created_at)>{format_day(key.created_at, now)}</time></td>
            <td data-label="Expires">{key.expires_at.map_or_else(never, |t| view! { <time title=format_datetime(t)>{format_day(t, now)}</time> }.into_any())}</td>
            <td data-label="Status"><StatusBadge status=key.status /></td>
            {(can_manage || can_delete).then(|| view! { <td class="actions-cell"><KeyActionsMenu key can_manage can_delete actions /></td> })}
        </tr>
    }
}

/// Stale, rotation-due and grace-period hints.
#[component]
pub fn KeyHints(key: KeyView, now: UnixTime) -> impl IntoView {
    view! {
        <div class="hints">
            {key.hints.stale.then(|| view! { <span class="badge hint-badge" title="Not used for 90 days or more">"Stale"</span> })}
            {key.hints.rotation_due.then(|| view! { <span class="badge hint-badge" title="Older than the rotation period">"Rotation due"</span> })}
            {key.previous_expires_at.map(|t| view! { <span class="hint">"Old secret expires " {relative(t, now)}</span> })}
            {key.hints.exceeds_policy.then(|| view! { <span class="badge hint-badge" title="Outlives the organisation's maximum key lifetime">"Exceeds policy"</span> })}
            {key.hints.disabled_by_policy.then(|| view! { <span class="badge hint-badge" title="Unused for longer than the organisation allows">"Disabled by policy"</span> })}
            {key.hints.disables_at.map(|t| view! { <span class="hint">{format!("Disabled by policy {} unless used", relative(t, now))}</span> })}
        </div>
    }
}

/// The row's actions behind a menu button **Actions for <key name>**.
#[component]
fn KeyActionsMenu(
    key: KeyView,
    can_manage: bool,
    can_delete: bool,
    actions: KeyActions,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let ready = use_hydrated();
    let trigger = NodeRef::<leptos::html::Button>::new();
    // Focus goes back to the menu button before a dialog opens, so the
    // dialog returns focus there when it closes (its item is gone by then).
    let close_menu = move |_| {
        open.set(false);
        if let Some(button) = trigger.get_untracked() {
            let _ = button.focus();
        }
    };
    let label = format!("Actions for {}", key.name);
    let nothing = key.status == KeyStatus::Revoked && !can_delete;
    (!nothing).then(|| {
        view! {
            <div
                class="menu-wrap"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        open.set(false);
                    }
                }
            >
                <button
                    type="button"
                    class="secondary small"
                    node_ref=trigger
                    aria-label=label
                    aria-haspopup="true"
                    aria-expanded=move || open.get().to_string()
                    disabled=move || !ready.get()
                    aria-busy=busy(ready)
                    on:click=move |_| open.update(|o| *o = !*o)
                >
                    "⋯"
                </button>
                <Show when=move || open.get()>
                    <div class="row-menu" on:click=close_menu>
                        <KeyActionButtons key=key.clone() can_manage can_delete actions />
                    </div>
                </Show>
            </div>
        }
    })
}

/// The actions a role may take on a key; none for a revoked key but Delete.
#[component]
pub fn KeyActionButtons(
    key: KeyView,
    can_manage: bool,
    can_delete: bool,
    actions: KeyActions,
) -> impl IntoView {
    let open = move |d: KeyDialog| move |_| actions.dialog.set(Some(d.clone()));
    let live = key.status != KeyStatus::Revoked;
    let ready = use_hydrated();
    let manage = (can_manage && live).then(|| {
        let toggle = if key.status == KeyStatus::Disabled {
            let k = key.clone();
            view! { <button type="button" class="secondary small" disabled=move || !ready.get() aria-busy=busy(ready) on:click=move |_| actions.enable(&k)>"Enable"</button> }.into_any()
        } else {
            view! { <button type="button" class="secondary small" disabled=move || !ready.get() aria-busy=busy(ready) on:click=open(KeyDialog::Disable(key.clone()))>"Disable"</button> }.into_any()
        };
        view! {
            <button type="button" class="secondary small" disabled=move || !ready.get() aria-busy=busy(ready) on:click=open(KeyDialog::Edit(key.clone()))>"Edit"</button>
            <button type="button" class="secondary small" disabled=move || !ready.get() aria-busy=busy(ready) on:click=open(KeyDialog::Regenerate(key.clone()))>"Regenerate"</button>
            {toggle}
            <button type="button" class="danger small" disabled=move || !ready.get() aria-busy=busy(ready) on:click=open(KeyDialog::Revoke(key.clone()))>"Revoke"</button>
        }
    });
    let delete = can_delete.then(|| {
        view! { <button type="button" class="danger small" disabled=move || !ready.get() aria-busy=busy(ready) on:click=open(KeyDialog::Delete(key.clone()))>"Delete"</button> }
    });
    view! { <div class="row-actions">{manage} {delete}</div> }
}
