//! The fields shared by the create and edit dialogs.

use crate::api::key_types::{KeyFormOptions, KeyInput, KeyView};
use crate::components::Field;
use crate::domain::{CUSTOM_TYPE, Environment, RateLimit, Refill};
use leptos::prelude::*;

/// The form's state; nothing typed is lost when the server refuses it.
#[derive(Clone, Copy)]
pub struct KeyForm {
    pub name: RwSignal<String>,
    pub environment: RwSignal<String>,
    pub key_type: RwSignal<String>,
    pub permissions: RwSignal<Vec<String>>,
    pub expiry: RwSignal<String>,
    pub expiry_date: RwSignal<String>,
    pub rate_limit: RwSignal<String>,
    pub rate_window_secs: RwSignal<String>,
    pub ip_allowlist: RwSignal<String>,
    pub customer: RwSignal<String>,
    pub meta: RwSignal<String>,
    pub usage_limit: RwSignal<String>,
    pub usage_refill: RwSignal<String>,
}

impl KeyForm {
    /// An empty create form.
    pub fn new() -> Self {
        KeyForm {
            name: RwSignal::new(String::new()),
            environment: RwSignal::new(Environment::Production.as_str().into()),
            key_type: RwSignal::new("Write".into()),
            permissions: RwSignal::new(Vec::new()),
            expiry: RwSignal::new("never".into()),
            expiry_date: RwSignal::new(String::new()),
            rate_limit: RwSignal::new(String::new()),
            rate_window_secs: RwSignal::new("60".into()),
            ip_allowlist: RwSignal::new(String::new()),
            customer: RwSignal::new(String::new()),
            meta: RwSignal::new(String::new()),
            usage_limit: RwSignal::new(String::new()),
            usage_refill: RwSignal::new(Refill::None.as_str().into()),
        }
    }

    /// An edit form holding `key`'s current values.
    pub fn editing(key: &KeyView) -> Self {
        let form = Self::new();
        form.name.set(key.name.clone());
        form.environment.set(key.environment.as_str().into());
        form.key_type.set(key.key_type.clone());
        form.permissions.set(key.permissions.clone());
        form.expiry.set("keep".into());
        if let Some(rate) = key.rate_limit {
            form.rate_limit.set(rate.limit.to_string());
            form.rate_window_secs.set(rate.window_secs.to_string());
        }
        form.ip_allowlist.set(key.ip_allowlist.join("\n"));
        form.customer.set(key.customer.clone().unwrap_or_default());
        form.meta.set(key.meta.clone().unwrap_or_default());
        if let Some(usage) = key.usage {
            form.usage_limit.set(usage.limit.to_string());
            form.usage_refill.set(usage.refill.as_str().into());
        }
        form
    }

    /// What the server function receives.
    pub fn input(&self) -> KeyInput {
        KeyInput {
            name: self.name.get_untracked(),
            environment: self.environment.get_untracked().parse().ok(),
            key_type: self.key_type.get_untracked(),
            permissions: self.permissions.get_untracked(),
            expiry: self.expiry.get_untracked(),
            expiry_date: self.expiry_date.get_untracked(),
            rate_limit: self.rate_limit.get_untracked(),
            rate_window_secs: self.rate_window_secs.get_untracked(),
            ip_allowlist: self.ip_allowlist.get_untracked(),
            customer: self.customer.get_untracked(),
            meta: self.meta.get_untracked(),
            usage_limit: self.usage_limit.get_untracked(),
            usage_refill: self.usage_refill.get_untracked(),
        }
    }
}

/// Name, environment (create only), type, permissions, expiry, rate limit.
#[component]
pub fn KeyFields(
    form: KeyForm,
    options: KeyFormOptions,
    creating: bool,
    /// What "Keep current" means on the edit form.
    current_expiry: String,
) -> impl IntoView {
    let types = options.key_types.clone();
    // The chosen type's preset, if it is not Custom.
    let preset = {
        let types = types.clone();
        move || {
            let t = form.key_type.get();
            types.iter().find(|o| o.name == t).cloned()
        }
    };
    let preset_permissions = {
        let preset = preset.clone();
        move || preset().map(|o| o.permissions)
    };
    let default_limit = move || preset().map(|o| o.rate_limit.label());
    let all_permissions = options.permissions.clone();
    let max_days = options.max_lifetime_days;
    if creating
        && let Some(first) = expiry_choices(max_days).first()
        && !expiry_choices(max_days).iter().any(|(v, _)| *v == form.expiry.get_untracked())
    {
        form.expiry.set(first.0.to_string());
    }
    // The fields arrive after the dialog opened (their options load first):
    // the name takes the focus when it appears.
    let name_field = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = name_field.get() {
            // After the frame that puts it on the page.
            request_animation_frame(move || {
                let _ = input.focus();
            });
        }
    });
    view! {
        <Field id="key-name" label="Name">
            <input
                node_ref=name_field
                id="key-name"
                maxlength="100"
                required
                placeholder="e.g. Production Web SDK"
                prop:value=move || form.name.get()
                on:input=move |ev| form.name.set(event_target_value(&ev))
            />
        </Field>
        {creating
            .then(|| {
                view! {
                    <SelectField id="key-environment" label="Environment" value=form.environment>
                        {Environment::ALL
                            .into_iter()
                            .map(|e| view! { <option value=e.as_str()>{e.label()}</option> })
                            .collect_view()}
                    </SelectField>
                }
            })}
        <SelectField id="key-type" label="Type" value=form.key_type>
            {types
                .iter()
                .map(|t| view! { <option value=t.name.clone()>{t.name.clone()}</option> })
                .collect_view()}
            <option value=CUSTOM_TYPE>"Custom"</option>
        </SelectField>
        <fieldset class="field permissions">
            <legend>"Permissions"</legend>
            {move || match preset_permissions() {
                Some(ps) => view! { <p class="mono">{ps.join(", ")}</p> }.into_any(),
                None => {
                    all_permissions
                        .iter()
                        .map(|p| {
                            let p = p.clone();
                            let p2 = p.clone();
                            let label = p.clone();
                            view! {
                                <label class="check">
                                    <input
                                        type="checkbox"
                                        prop:checked=move || form.permissions.read().contains(&p)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            form.permissions.update(|ps| {
                                                ps.retain(|x| *x != p2);
                                                if on {
                                                    ps.push(p2.clone());
                                                }
                                            });
                                        }
                                    />
                                    <span class="mono">{label}</span>
                                </label>
                            }
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </fieldset>
        <Field id="key-expires" label="Expires">
            <select
                id="key-expires"
                prop:value=move || form.expiry.get()
                on:change=move |ev| form.expiry.set(event_target_value(&ev))
            >
                {(!creating)
                    .then(|| {
                        let label = format!("Keep current ({current_expiry})");
                        view! { <option value="keep">{label}</option> }
                    })}
                {expiry_choices(max_days)
                    .into_iter()
                    .map(|(value, label)| view! { <option value=value>{label}</option> })
                    .collect_view()}
            </select>
            {max_days.map(|d| view! { <p class="hint">{format!("This organisation's keys expire within {d} days.")}</p> })}
            <Show when=move || form.expiry.get() == "date">
                <label for="key-expiry-date" class="sr-only">"Expiry date"</label>
                <input
                    id="key-expiry-date"
                    type="date"
                    prop:value=move || form.expiry_date.get()
                    on:input=move |ev| form.expiry_date.set(event_target_value(&ev))
                />
            </Show>
        </Field>
        <Field id="key-rate-limit" label="Rate limit">
            <div class="inline-form">
                <input
                    id="key-rate-limit"
                    type="number"
                    min="1"
                    max="1000000"
                    placeholder=move || default_limit().map(|l| format!("default: {l}")).unwrap_or_default()
                    prop:value=move || form.rate_limit.get()
                    on:input=move |ev| form.rate_limit.set(event_target_value(&ev))
                />
                <span>"requests per"</span>
                <select
                    aria-label="Rate limit window"
                    prop:value=move || form.rate_window_secs.get()
                    on:change=move |ev| form.rate_window_secs.set(event_target_value(&ev))
                >
                    {RateLimit::WINDOWS
                        .into_iter()
                        .map(|(secs, name)| view! { <option value=secs.to_string()>{name}</option> })
                        .collect_view()}
                </select>
            </div>
        </Field>
        <MoreOptions form=form />
    }
}

/// The expiry choices a maximum lifetime (in days) leaves: no "Never", and
/// no period longer than it.
pub fn expiry_choices(max_days: Option<i64>) -> Vec<(&'static str, &'static str)> {
    let fits = |days: i64| max_days.is_none_or(|max| days <= max);
    [
        ("never", "Never", None),
        ("30", "In 30 days", Some(30)),
        ("90", "In 90 days", Some(90)),
        ("365", "In 365 days", Some(365)),
        ("date", "On a date…", Some(0)),
    ]
    .into_iter()
    .filter(|(_, _, days)| days.map_or(max_days.is_none(), fits))
    .map(|(value, label, _)| (value, label))
    .collect()
}

/// Allowed IPs, customer id, metadata and usage limit, folded away until
/// asked for (open when the key has any of them).
#[component]
fn MoreOptions(form: KeyForm) -> impl IntoView {
    let any_set = [form.ip_allowlist, form.customer, form.meta, form.usage_limit]
        .iter()
        .any(|s| !s.get_untracked().is_empty());
    view! {
        <details class="more-options" open=any_set>
            <summary>"More options"</summary>
            <TextField id="key-allowed-ips" label="Allowed IPs" value=form.ip_allowlist multiline=true
                hint="One address or CIDR per line, e.g. 203.0.113.7 or 10.0.0.0/8. Empty: any address." />
            <TextField id="key-customer" label="Customer ID" value=form.customer multiline=false
                hint="Your customer this key belongs to, e.g. cus_123." />
            <TextField id="key-meta" label="Metadata" value=form.meta multiline=true
                hint="A JSON object of up to 4 KiB, returned by verify." />
            <div class="inline-form">
                <TextField id="key-usage-limit" label="Usage limit" value=form.usage_limit multiline=false
                    hint="VALID verifications allowed; empty for no limit." />
                <SelectField id="key-usage-refill" label="Refill" value=form.usage_refill>
                    {Refill::ALL
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str()>{r.label()}</option> })
                        .collect_view()}
                </SelectField>
            </div>
        </details>
    }
}

/// A labelled text input (or textarea) bound to `value`, with a hint.
#[component]
fn TextField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    multiline: bool,
    hint: &'static str,
) -> impl IntoView {
    let hint_id = format!("{id}-hint");
    let control = if multiline {
        view! {
            <textarea
                id=id
                rows="3"
                aria-describedby=hint_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            ></textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                id=id
                aria-describedby=hint_id.clone()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        }
        .into_any()
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {control}
            <p class="hint" id=hint_id>{hint}</p>
        </div>
    }
}

/// A labelled `<select>` bound to `value`; `children` are its options.
#[component]
fn SelectField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select
                id=id
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                {children()}
            </select>
        </div>
    }
}
