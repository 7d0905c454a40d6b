//! `/admin`: the platform console for instance admins. Every organisation
//! with its counts; create one (with its first owner's invitation link),
//! rename, suspend and resume. Anyone else gets "not found".

use crate::api::platform::{AdminCreateOrg, AdminRenameOrg, AdminSuspendOrg, admin_orgs};
use crate::components::{
    CopyButton, DataTable, ErrorPanel, ErrorText, Field, Loading, Modal, Pager, Submit,
    action_error, busy, format_date, page_link, page_param, url_filters, use_hydrated,
};
use crate::domain::OrgOverview;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// A suspension or resumption waiting for its confirmation.
#[derive(Clone)]
struct Pending {
    slug: String,
    name: String,
    suspend: bool,
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let filters = url_filters(|q| (q.get("q").unwrap_or_default(), page_param(q)));
    let create = ServerAction::<AdminCreateOrg>::new();
    let suspend = ServerAction::<AdminSuspendOrg>::new();
    let rename = ServerAction::<AdminRenameOrg>::new();
    let orgs = Resource::new(
        move || {
            (filters.get(), create.version().get(), suspend.version().get(), rename.version().get())
        },
        |((search, page), ..)| admin_orgs(search, page),
    );
    let pending = RwSignal::new(None::<Pending>);
    view! {
        <Title text="Admin console" />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match orgs.await {
                    Ok(page) => view! {
                        <main class="console">
                            <header class="console-header">
                                <p class="brand">"Keywarden"</p>
                                <h1>"Admin console"</h1>
                                <a href="/">"Your organisations"</a>
                            </header>
                            <CreateOrg create />
                            <OrgTable page filters pending rename />
                        </main>
                    }
                    .into_any(),
                    Err(AppError::Unauthenticated) => {
                        view! { <Redirect path="/login?next=/admin" /> }.into_any()
                    }
                    Err(AppError::NotFound) => view! { <super::NotFound /> }.into_any(),
                    Err(error) => view! { <main class="auth-page"><ErrorPanel error /></main> }.into_any(),
                }
            })}
        </Suspense>
        <ConfirmSuspension pending suspend />
    }
}

/// Name, slug and owner email → the organisation and a one-time link.
#[component]
fn CreateOrg(create: ServerAction<AdminCreateOrg>) -> impl IntoView {
    let error = action_error(create);
    let link = Signal::derive(move || {
        create.value().get().and_then(Result::ok).and_then(|c| c.invitation_link)
    });
    view! {
        <section class="panel" aria-labelledby="create-org-title">
            <h2 id="create-org-title">"New organisation"</h2>
            <ActionForm action=create attr:class="inline-form">
                <Field id="org-name" label="Name">
                    <input id="org-name" name="name" maxlength="100" required />
                </Field>
                <Field id="org-slug" label="Slug">
                    <input
                        id="org-slug"
                        name="slug"
                        pattern="[a-z0-9]([a-z0-9\\-]*[a-z0-9])?"
                        minlength="2"
                        maxlength="40"
                        required
                    />
                </Field>
                <Field id="org-owner" label="Owner email">
                    <input id="org-owner" name="owner_email" type="email" />
                </Field>
                <Submit pending=create.pending() label="Create organisation" />
            </ActionForm>
            <ErrorText error />
            {move || link.get().map(|url| {
                let text = Signal::derive({
                    let url = url.clone();
                    move || url.clone()
                });
                view! {
                    <div class="reveal" role="status">
                        <label for="invitation-link">"Invitation link"</label>
                        <div class="reveal-row">
                            <input id="invitation-link" class="mono" readonly value=url />
                            <CopyButton text />
                        </div>
                        <p class="hint">
                            "Send this link to the owner. It works once and is not shown again."
                        </p>
                    </div>
                }
            })}
        </section>
    }
}

#[component]
fn OrgTable(
    page: crate::domain::OrgPage,
    filters: Signal<(String, u32)>,
    pending: RwSignal<Option<Pending>>,
    rename: ServerAction<AdminRenameOrg>,
) -> impl IntoView {
    let (search, _) = filters.get_untracked();
    let link = {
        let search = search.clone();
        move |n| page_link(n, &[("q", Some(&search))])
    };
    let renaming = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if rename.value().get().is_some_and(|r| r.is_ok()) {
            renaming.set(None);
        }
    });
    let rename_error = action_error(rename);
    view! {
        <section aria-labelledby="orgs-title">
            <h2 id="orgs-title">"Organisations"</h2>
            <form method="get" class="filters" role="search">
                <Field id="org-search" label="Search organisations">
                    <input id="org-search" name="q" type="search" value=search />
                </Field>
                <button type="submit" class="secondary">"Search"</button>
            </form>
            <ErrorText error=rename_error />
            <DataTable label="Organisations" names=vec!["Name", "Slug", "Members", "Keys (active / total)", "Verifications (24 h)", "Created", "Status", "Actions"]>
                        {page.orgs.into_iter().map(|org| view! { <OrgRow org pending renaming rename /> }).collect_view()}
                    </DataTable>
            <Pager summary=format!("{} organisations", page.total) page=page.page total=page.total per_page=page.per_page link />
        </section>
    }
}

#[component]
fn OrgRow(
    org: OrgOverview,
    pending: RwSignal<Option<Pending>>,
    renaming: RwSignal<Option<String>>,
    rename: ServerAction<AdminRenameOrg>,
) -> impl IntoView {
    let status = org.status();
    let suspended = org.suspended_at.is_some();
    let slug = org.slug.clone();
    let is_renaming = {
        let slug = slug.clone();
        move || renaming.get().as_deref() == Some(slug.as_str())
    };
    let ask = {
        let (slug, name) = (org.slug.clone(), org.name.clone());
        move |_| {
            pending.set(Some(Pending {
                slug: slug.clone(),
                name: name.clone(),
                suspend: !suspended,
            }))
        }
    };
    let ready = use_hydrated();
    let start_rename = {
        let slug = slug.clone();
        move |_| renaming.set(Some(slug.clone()))
    };
    let name_cell = {
        let (slug, name) = (org.slug.clone(), org.name.clone());
        move || {
            let (slug, name) = (slug.clone(), name.clone());
            if is_renaming() {
                let id = format!("rename-{slug}");
                view! {
                    <ActionForm action=rename attr:class="inline-form">
                        <input type="hidden" name="slug" value=slug />
                        <label class="visually-hidden" for=id.clone()>"Organisation name"</label>
                        <input id=id name="name" value=name maxlength="100" required />
                        <button type="submit" class="primary">"Save"</button>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! { <span>{name}</span> }.into_any()
            }
        }
    };
    view! {
        <tr>
            <td data-label="Name">{name_cell}</td>
            <td data-label="Slug" class="mono">{org.slug.clone()}</td>
            <td data-label="Members">{org.members}</td>
            <td data-label="Keys (active / total)">{format!("{} / {}", org.active_keys, org.keys)}</td>
            <td data-label="Verifications (24 h)">{org.verifications_24h}</td>
            <td data-label="Created">{format_date(org.created_at)}</td>
            <td data-label="Status">
                <span class=if suspended { "badge badge-danger" } else { "badge badge-ok" }>{status}</span>
            </td>
            <td class="row-actions" data-label="Actions">
                <button type="button" class="secondary" disabled=move || !ready.get() aria-busy=busy(ready) on:click=start_rename>"Rename"</button>
                <button type="button" class="secondary" disabled=move || !ready.get() aria-busy=busy(ready) on:click=ask>
                    {if suspended { "Resume" } else { "Suspend" }}
                </button>
            </td>
        </tr>
    }
}

/// The confirmation before a suspension (or its end) takes effect.
#[component]
fn ConfirmSuspension(
    pending: RwSignal<Option<Pending>>,
    suspend: ServerAction<AdminSuspendOrg>,
) -> impl IntoView {
    let close = Callback::new(move |()| pending.set(None));
    move || {
        pending.get().map(|p| {
            let verb = if p.suspend { "Suspend" } else { "Resume" };
            let text = if p.suspend {
                "Its members can still sign in and read, but nothing can be changed, and every one of its keys is refused as DISABLED from the next request."
            } else {
                "Its members can change things again and its keys verify as before."
            };
            let confirm = {
                let slug = p.slug.clone();
                let suspended = p.suspend;
                move |_| {
                    suspend.dispatch(AdminSuspendOrg {
                        slug: slug.clone(),
                        suspended,
                    });
                    pending.set(None);
                }
            };
            view! {
                <Modal title=format!("{verb} {}?", p.name) on_close=close>
                    <p>{text}</p>
                    <div class="dialog-actions">
                        <button type="button" class="secondary" on:click=move |_| pending.set(None)>"Cancel"</button>
                        <button type="button" class="danger" on:click=confirm>{verb}</button>
                    </div>
                </Modal>
            }
        })
    }
}
