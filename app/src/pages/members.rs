//! `/orgs/{slug}/settings/members`: members, roles and invitations.

use crate::api::members::{ChangeRole, InviteMember, RemoveMember, RevokeInvitation, org_members};
use crate::api::types::{InvitationView, MemberView, MembersPage as Page};
use crate::components::{
    CopyButton, DataTable, ErrorText, Field, Loaded, Modal, PageHeading, Submit, action_error,
    busy, format_date, path_param, use_hydrated,
};
use crate::domain::Role;
use leptos::prelude::*;

#[component]
pub fn MembersPage() -> impl IntoView {
    let slug = path_param("slug");
    let invite = ServerAction::<InviteMember>::new();
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let page = Resource::new(
        move || {
            let versions = (invite.version().get(), change.version().get());
            (slug.get(), versions, remove.version().get(), revoke.version().get())
        },
        |(slug, ..)| org_members(slug),
    );
    let actions = Actions { slug, change, remove, revoke };
    view! {
        <PageHeading title="Members" lede="People who can see this organisation's keys, and what each may do." />
        <Loaded resource=page show=move |p| view! { <MembersBody page=p invite actions /> } />
    }
}

/// The member actions shared by every row.
#[derive(Clone, Copy)]
struct Actions {
    slug: Signal<String>,
    change: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
    revoke: ServerAction<RevokeInvitation>,
}

#[component]
fn MembersBody(page: Page, invite: ServerAction<InviteMember>, actions: Actions) -> impl IntoView {
    let can_manage = page.can_manage;
    let can_invite = !page.invitable_roles.is_empty();
    let change_error = action_error(actions.change);
    let remove_error = action_error(actions.remove);
    view! {
        {can_invite.then(|| view! { <InviteForm slug=actions.slug roles=page.invitable_roles.clone() invite /> })}
        <ErrorText error=change_error />
        <ErrorText error=remove_error />
        <DataTable label="Members" names=vec!["Email", "Role", "Joined"] actions=can_manage>
                {page
                    .members
                    .into_iter()
                    .map(|m| view! { <MemberRow member=m can_manage actions /> })
                    .collect_view()}
            </DataTable>
        {(can_invite && !page.invitations.is_empty())
            .then(|| view! { <Invitations list=page.invitations.clone() actions /> })}
    }
}

#[component]
fn MemberRow(member: MemberView, can_manage: bool, actions: Actions) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let ready = use_hydrated();
    let MemberView { user_id, email, role, joined_at, is_you } = member;
    let manage = can_manage.then(|| {
        let label = format!("Role for {email}");
        let remove_label = format!("Remove {email}");
        let (uid, uid2) = (user_id.clone(), user_id.clone());
        let prompt = format!("Remove {email} from this organisation? Their access ends with their next request.");
        view! {
            <td class="row-actions" data-label="Actions">
                <ActionForm action=actions.change attr:class="inline-form">
                    <input type="hidden" name="slug" value=actions.slug />
                    <input type="hidden" name="user_id" value=uid />
                    <select name="role" aria-label=label>
                        {Role::ALL
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=r == role>{r.label()}</option> })
                            .collect_view()}
                    </select>
                    <button type="submit" class="secondary">"Change role"</button>
                </ActionForm>
                <button type="button" class="danger" aria-label=remove_label disabled=move || !ready.get() aria-busy=busy(ready) on:click=move |_| confirming.set(true)>
                    "Remove"
                </button>
                <Show when=move || confirming.get()>
                    <ConfirmRemove prompt=prompt.clone() user_id=uid2.clone() confirming actions />
                </Show>
            </td>
        }
    });
    view! {
        <tr>
            <td data-label="Email">
                {email.clone()}
                {is_you.then(|| view! { <span class="badge subtle">"you"</span> })}
            </td>
            <td data-label="Role">{role.label()}</td>
            <td data-label="Joined">{format_date(joined_at)}</td>
            {manage}
        </tr>
    }
}

#[component]
fn ConfirmRemove(
    prompt: String,
    user_id: String,
    confirming: RwSignal<bool>,
    actions: Actions,
) -> impl IntoView {
    let close = Callback::new(move |_| confirming.set(false));
    view! {
        <Modal title="Remove member" on_close=close>
            <p>{prompt}</p>
            <ActionForm action=actions.remove on:submit=move |_| confirming.set(false)>
                <input type="hidden" name="slug" value=actions.slug />
                <input type="hidden" name="user_id" value=user_id />
                <div class="modal-actions">
                    <button type="button" class="secondary" on:click=move |_| confirming.set(false)>
                        "Cancel"
                    </button>
                    <button type="submit" class="danger">"Remove"</button>
                </div>
            </ActionForm>
        </Modal>
    }
}

#[component]
fn InviteForm(
    slug: Signal<String>,
    roles: Vec<Role>,
    invite: ServerAction<InviteMember>,
) -> impl IntoView {
    let error = action_error(invite);
    let created = move || invite.value().get().and_then(Result::ok);
    view! {
        <section class="panel">
            <h2>"Invite someone"</h2>
            <ActionForm action=invite attr:class="invite-form">
                <input type="hidden" name="slug" value=slug />
                <Field id="invite-email" label="Email">
                    <input id="invite-email" type="email" name="email" required />
                </Field>
                <Field id="invite-role" label="Role">
                    <select id="invite-role" name="role">
                        {roles
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=r == Role::Member>{r.label()}</option> })
                            .collect_view()}
                    </select>
                </Field>
                <Submit pending=invite.pending() label="Invite" />
            </ActionForm>
            <ErrorText error />
            {move || {
                created()
                    .map(|inv| {
                        let link = inv.link.clone();
                        view! {
                            <div class="reveal" role="status">
                                <p>
                                    "Invitation for " <strong>{inv.email.clone()}</strong> " as "
                                    {inv.role.label()} ". Send them this link: it works once, expires on "
                                    {format_date(inv.expires_at)} ", and will not be shown again."
                                </p>
                                <label for="invite-link">"Invitation link"</label>
                                <div class="copy-row">
                                    <input id="invite-link" class="mono" readonly value=inv.link />
                                    <CopyButton text=Signal::derive(move || link.clone()) />
                                </div>
                            </div>
                        }
                    })
            }}
        </section>
    }
}

#[component]
fn Invitations(list: Vec<InvitationView>, actions: Actions) -> impl IntoView {
    view! {
        <h2 id="pending-invitations">"Pending invitations"</h2>
        <DataTable label="Pending invitations" names=vec!["Email", "Role", "Invited by", "Expires"] actions=true>
                {list
                    .into_iter()
                    .map(|inv| {
                        let label = format!("Withdraw invitation for {}", inv.email);
                        view! {
                            <tr>
                                <td data-label="Email">{inv.email.clone()}</td>
                                <td data-label="Role">{inv.role.label()}</td>
                                <td data-label="Invited by">{inv.invited_by.clone()}</td>
                                <td data-label="Expires">{format_date(inv.expires_at)}</td>
                                <td class="row-actions" data-label="Actions">
                                    <ActionForm action=actions.revoke attr:class="inline-form">
                                        <input type="hidden" name="slug" value=actions.slug />
                                        <input type="hidden" name="invitation_id" value=inv.id.clone() />
                                        <button type="submit" class="secondary" aria-label=label>"Withdraw"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </DataTable>
    }
}
