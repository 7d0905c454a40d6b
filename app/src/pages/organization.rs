//! `/orgs/{slug}/settings/organization`: the org's name and policies.
//! Owners change them; admins see them without Save.

use crate::api::org_settings::{OrgSettings, RenameOrg, SavePolicies, get_org_settings};
use crate::components::{ErrorText, Field, Loaded, PageHeading, action_error, path_param};
use crate::domain::{Policies, days_label};
use leptos::prelude::*;

#[component]
pub fn OrganizationPage() -> impl IntoView {
    let slug = path_param("slug");
    let rename = ServerAction::<RenameOrg>::new();
    let save = ServerAction::<SavePolicies>::new();
    let settings = Resource::new(
        move || (slug.get(), rename.version().get(), save.version().get()),
        |(slug, ..)| get_org_settings(slug),
    );
    view! {
        <PageHeading title="Organisation" lede="The organisation's name, and the rules every key and member here follows." />
        <Loaded resource=settings show=move |s| view! { <SettingsForms settings=s rename save /> } />
    }
}

#[component]
fn SettingsForms(
    settings: OrgSettings,
    rename: ServerAction<RenameOrg>,
    save: ServerAction<SavePolicies>,
) -> impl IntoView {
    let OrgSettings { name, slug, policies, default_rotation_days, can_edit } = settings;
    let rename_error = action_error(rename);
    let save_error = action_error(save);
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    let default_rotation = format!("Operator default ({default_rotation_days} days)");
    let rename_slug = slug.clone();
    view! {
        <section class="panel" aria-labelledby="org-name-title">
            <h2 id="org-name-title">"Name"</h2>
            <ActionForm action=rename attr:class="inline-form">
                <input type="hidden" name="slug" value=rename_slug />
                <Field id="org-name" label="Organisation name">
                    <input id="org-name" name="name" value=name maxlength="100" required disabled=!can_edit />
                </Field>
                {can_edit.then(|| view! { <button type="submit" class="primary">"Save"</button> })}
            </ActionForm>
            <ErrorText error=rename_error />
        </section>
        <section class="panel" aria-labelledby="policies-title">
            <h2 id="policies-title">"Policies"</h2>
            <ActionForm action=save attr:class="stack">
                <input type="hidden" name="slug" value=slug />
                <PolicySelect id="policy-lifetime" name="max_key_lifetime" label="Maximum key lifetime"
                    choices=&Policies::LIFETIMES current=policies.max_key_lifetime_days none="None" disabled=!can_edit
                    hint="New keys must expire within this many days; existing keys are marked \u{201c}Exceeds policy\u{201d}, never changed." />
                <PolicySelect id="policy-rotation" name="rotation" label="Rotation period"
                    choices=&Policies::ROTATIONS current=policies.rotation_days none=default_rotation disabled=!can_edit
                    hint="Keys older than this since they were made or regenerated show \u{201c}Rotation due\u{201d}." />
                <PolicySelect id="policy-unused" name="disable_unused_after" label="Disable unused keys after"
                    choices=&Policies::UNUSED current=policies.disable_unused_after_days none="Never" disabled=!can_edit
                    hint="Keys not used for this long are disabled (they can be enabled again); a week before, the list says so." />
                <label class="check">
                    <input type="checkbox" name="require_two_factor" checked=policies.require_two_factor disabled=!can_edit />
                    <span>"Require two-factor sign-in"</span>
                </label>
                <p class="hint">"Members without two-factor sign-in are sent to their account page to turn it on before they can use this organisation."</p>
                {can_edit.then(|| view! { <div><button type="submit" class="primary">"Save policies"</button></div> })}
                {move || saved().then(|| view! { <p role="status" class="hint">"Policies saved."</p> })}
            </ActionForm>
            <ErrorText error=save_error />
            {(!can_edit).then(|| view! { <p class="hint">"Only owners can change these."</p> })}
        </section>
    }
}

/// A labelled choice of days (or off).
#[component]
fn PolicySelect(
    id: &'static str,
    name: &'static str,
    label: &'static str,
    choices: &'static [i64],
    current: Option<i64>,
    #[prop(into)] none: String,
    disabled: bool,
    hint: &'static str,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    view! {
        <Field id label>
            <select id=id name=name disabled=disabled aria-describedby=hint_id.clone()>
                <option value="" selected=current.is_none()>{none}</option>
                {choices
                    .iter()
                    .map(|d| view! { <option value=d.to_string() selected=current == Some(*d)>{days_label(Some(*d), "")}</option> })
                    .collect_view()}
            </select>
            <p class="hint" id=hint_id>{hint}</p>
        </Field>
    }
}
