//! `/orgs/{slug}/settings/api-keys/{id}`: one key in full, with its usage,
//! latest requests and audit trail. Not for viewers (the server refuses them).

use super::dialogs::{KeyActions, KeyDialogs};
use super::usage::KeyUsagePanel;
use super::{KeyActionButtons, KeyHints, StatusBadge, When};
use crate::api::keys::get_key_detail;
use crate::components::{ErrorPanel, Loading, format_datetime, path_param};
use crate::pages::audit::AuditTable;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

#[component]
pub fn KeyDetailPage() -> impl IntoView {
    let slug = path_param("slug");
    let id = path_param("id");
    let navigate = use_navigate();
    let on_deleted = Callback::new(move |_| {
        navigate(&format!("/orgs/{}/settings/api-keys", slug.get_untracked()), Default::default())
    });
    let actions = KeyActions::new(slug, Some(on_deleted));
    let detail = Resource::new(
        move || (slug.get(), id.get(), actions.version()),
        |(s, i, _)| get_key_detail(s, i),
    );
    view! {
        <Title text="API key" />
        <p><a href=move || format!("/orgs/{}/settings/api-keys", slug.get())>"← All API keys"</a></p>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let k = d.key.clone();
                        let now = d.now;
                        let usage = k.usage.map(|u| {
                            let refill = u.refills_at.map_or_else(
                                || "never refills".to_string(),
                                |t| format!("refills to {} on {}", u.limit, format_datetime(t)),
                            );
                            format!("{} of {} left; {refill}", u.remaining, u.limit)
                        });
                        let allowed = if k.ip_allowlist.is_empty() {
                            "Any address".to_string()
                        } else {
                            k.ip_allowlist.join(", ")
                        };
                        let rows = vec![
                            ("Prefix", format!("{}••••", k.start)),
                            ("Customer ID", k.customer.clone().unwrap_or_else(|| "None".into())),
                            ("Allowed IPs", allowed),
                            ("Usage limit", usage.unwrap_or_else(|| "None".into())),
                            ("Environment", k.environment.label().to_string()),
                            ("Type", k.key_type.clone()),
                            ("Rate limit", k.rate_limit.map(|r| r.label()).unwrap_or_default()),
                            ("Requests", k.request_count.to_string()),
                            ("Created", format!("{}{}", format_datetime(k.created_at), k.created_by.as_ref().map(|e| format!(" by {e}")).unwrap_or_default())),
                            ("Expires", k.expires_at.map_or("Never".into(), format_datetime)),
                        ];
                        view! {
                            <div class="page-head">
                                <div>
                                    <h1>{k.name.clone()}</h1>
                                    <StatusBadge status=k.status />
                                    <KeyHints key=k.clone() now />
                                </div>
                                <KeyActionButtons key=k.clone() can_manage=d.can_manage can_delete=d.can_delete actions />
                            </div>
                            <section class="panel">
                                <dl class="details">
                                    {rows.into_iter().map(|(term, value)| view! { <dt>{term}</dt><dd>{value}</dd> }).collect_view()}
                                    <dt>"Last used"</dt>
                                    <dd>{k.last_used_at.map_or_else(|| view! { <span>"Never"</span> }.into_any(), |t| view! { <When t now /> }.into_any())}</dd>
                                    <dt>"Metadata"</dt>
                                    <dd>{k.meta.clone().map_or_else(|| view! { <span>"None"</span> }.into_any(), |m| view! { <pre class="mono meta">{m}</pre> }.into_any())}</dd>
                                    <dt>"Permissions"</dt>
                                    <dd>
                                        <ul class="permissions-list">
                                            {k.permissions.iter().map(|p| view! { <li class="mono">{p.clone()}</li> }).collect_view()}
                                        </ul>
                                    </dd>
                                </dl>
                            </section>
                            <KeyUsagePanel slug id />
                            {d.audit.map(|entries| view! {
                                <h2>"History"</h2>
                                <AuditTable entries show_target=false />
                            })}
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
        <KeyDialogs actions />
    }
}
