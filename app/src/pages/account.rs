//! `/account`: the signed-in user's password, two-factor sign-in and
//! sessions.

use crate::api::account::{
    AccountInfo, ChangePassword, DisableTwoFactor, EnableTwoFactor, EndOtherSessions, EndSession,
    RegenerateRecoveryCodes, SessionView, StartTwoFactor, get_account,
};
use crate::components::{
    DataTable, ErrorPanel, ErrorText, Loading, SignOut, action_error, busy, format_datetime,
    relative, use_hydrated,
};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AccountPage() -> impl IntoView {
    let query = use_query_map();
    let required = move || query.read().get("required");
    let password = ServerAction::<ChangePassword>::new();
    let start = ServerAction::<StartTwoFactor>::new();
    let enable = ServerAction::<EnableTwoFactor>::new();
    let disable = ServerAction::<DisableTwoFactor>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let end = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let account = Resource::new(
        move || {
            (
                password.version().get(),
                enable.version().get(),
                disable.version().get(),
                regenerate.version().get(),
                end.version().get() + end_others.version().get(),
            )
        },
        |_| get_account(),
    );
    let actions = Actions { password, start, enable, disable, regenerate, end, end_others };
    view! {
        <Title text="Account" />
        <main class="account-page">
            <header class="page-head">
                <div>
                    <p class="brand"><a href="/">"Keywarden"</a></p>
                    <h1>"Account"</h1>
                </div>
                <SignOut />
            </header>
            {move || required().map(|org| view! {
                <p class="banner banner-warning" role="status">
                    {format!("The organisation \u{201c}{org}\u{201d} requires two-factor sign-in. Set it up below to continue.")}
                </p>
            })}
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match account.await {
                        Ok(info) => view! { <AccountBody info actions /> }.into_any(),
                        Err(AppError::Unauthenticated) => view! { <Redirect path="/login?next=/account" /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    password: ServerAction<ChangePassword>,
    start: ServerAction<StartTwoFactor>,
    enable: ServerAction<EnableTwoFactor>,
    disable: ServerAction<DisableTwoFactor>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
    end: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
}

#[component]
fn AccountBody(info: AccountInfo, actions: Actions) -> impl IntoView {
    let AccountInfo { email, has_password, two_factor, recovery_codes_left, sessions, now } = info;
    view! {
        <p class="lede">"Signed in as " <strong>{email}</strong></p>
        {has_password.then(|| view! { <PasswordPanel action=actions.password /> })}
        <TwoFactorPanel on=two_factor left=recovery_codes_left actions />
        <SessionsPanel sessions now actions />
    }
}

#[component]
fn PasswordPanel(action: ServerAction<ChangePassword>) -> impl IntoView {
    let done = move || action.value().get().is_some_and(|r| r.is_ok());
    view! {
        <section class="panel" aria-labelledby="password-title">
            <h2 id="password-title">"Password"</h2>
            <ActionForm action=action attr:class="stack narrow">
                <label for="current-password">"Current password"</label>
                <input id="current-password" type="password" name="current" autocomplete="current-password" required />
                <label for="new-password">"New password"</label>
                <input id="new-password" type="password" name="new" autocomplete="new-password" minlength="10" required />
                <ErrorText error=action_error(action) />
                <div><button type="submit" class="primary">"Change password"</button></div>
                {move || done().then(|| view! { <p role="status" class="hint">"Password changed. Your other sessions were signed out."</p> })}
            </ActionForm>
        </section>
    }
}

#[component]
fn TwoFactorPanel(on: bool, left: i64, actions: Actions) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let ready = use_hydrated();
    let codes = Signal::derive(move || {
        let fresh = actions.enable.value().get().and_then(Result::ok);
        fresh.or_else(|| actions.regenerate.value().get().and_then(Result::ok)).map(|c| c.0)
    });
    let errors = [
        action_error(actions.start),
        action_error(actions.enable),
        action_error(actions.disable),
        action_error(actions.regenerate),
    ];
    let error = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    view! {
        <section class="panel" aria-labelledby="two-factor-title">
            <h2 id="two-factor-title">"Two-factor sign-in"</h2>
            {move || codes.get().map(|list| view! { <RecoveryCodeList codes=list /> })}
            {if on {
                view! {
                    <p>{format!("Two-factor sign-in is on. {left} recovery codes left.")}</p>
                    <form class="stack narrow" on:submit=|ev| ev.prevent_default()>
                        <label for="manage-code">"Authentication code"</label>
                        <input id="manage-code" autocomplete="one-time-code" prop:value=move || code.get()
                            on:input=move |ev| code.set(event_target_value(&ev)) />
                        <div class="inline-form">
                            <button type="button" class="danger" disabled=move || !ready.get() aria-busy=busy(ready) on:click=move |_| {
                                actions.disable.dispatch(DisableTwoFactor { code: code.get_untracked() });
                            }>"Turn off"</button>
                            <button type="button" class="secondary" disabled=move || !ready.get() aria-busy=busy(ready) on:click=move |_| {
                                actions.regenerate.dispatch(RegenerateRecoveryCodes { code: code.get_untracked() });
                                code.set(String::new());
                            }>"Regenerate recovery codes"</button>
                        </div>
                    </form>
                }
                .into_any()
            } else {
                view! { <SetUp actions code /> }.into_any()
            }}
            <ErrorText error />
        </section>
    }
}

/// Set-up: the secret as text and as a QR code, then a code to turn it on.
#[component]
fn SetUp(actions: Actions, code: RwSignal<String>) -> impl IntoView {
    let setup = move || actions.start.value().get().and_then(Result::ok);
    let ready = use_hydrated();
    view! {
        <p>"Sign in with a code from an authenticator app as well as your password."</p>
        {move || match setup() {
            None => view! {
                <button type="button" class="primary" disabled=move || !ready.get() aria-busy=busy(ready) on:click=move |_| { actions.start.dispatch(StartTwoFactor {}); }>
                    "Set up two-factor sign-in"
                </button>
            }
            .into_any(),
            Some(s) => view! {
                <div class="two-factor-setup">
                    <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=s.qr_svg.clone()></div>
                    <form class="stack narrow" on:submit=move |ev| {
                        ev.prevent_default();
                        actions.enable.dispatch(EnableTwoFactor { code: code.get_untracked() });
                    }>
                        <p>"Scan the QR code with your authenticator app, or enter the secret by hand."</p>
                        <label for="totp-secret">"Secret"</label>
                        <input id="totp-secret" class="mono" readonly value=s.secret.clone() />
                        <label for="setup-code">"Authentication code"</label>
                        <input id="setup-code" autocomplete="one-time-code" inputmode="numeric" maxlength="6" required
                            prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev)) />
                        <div><button type="submit" class="primary">"Turn on"</button></div>
                    </form>
                </div>
            }
            .into_any(),
        }}
    }
}

#[component]
fn RecoveryCodeList(codes: Vec<String>) -> impl IntoView {
    view! {
        <div class="recovery-codes" role="status">
            <h3>"Recovery codes"</h3>
            <p>"Save these now: each signs you in once if you lose your authenticator app. They will not be shown again."</p>
            <ul class="mono" aria-label="Recovery codes">
                {codes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn SessionsPanel(sessions: Vec<SessionView>, now: i64, actions: Actions) -> impl IntoView {
    let others = sessions.iter().filter(|s| !s.current).count();
    let ready = use_hydrated();
    view! {
        <section class="panel" aria-labelledby="sessions-title">
            <h2 id="sessions-title">"Sessions"</h2>
            <DataTable label="Sessions" names=vec!["Device", "Address", "Created", "Last seen"] actions=true>
                {sessions
                    .into_iter()
                    .map(|s| {
                        let id = s.id.clone();
                        let seen = s.last_seen_at.unwrap_or(s.created_at);
                        view! {
                            <tr>
                                <td data-label="Device">{s.device.clone()}</td>
                                <td data-label="Address" class="mono">{s.ip.clone().unwrap_or_else(|| "Unknown".into())}</td>
                                <td data-label="Created"><time title=format_datetime(s.created_at)>{relative(s.created_at, now)}</time></td>
                                <td data-label="Last seen"><time title=format_datetime(seen)>{relative(seen, now)}</time></td>
                                <td data-label="Actions">
                                    {if s.current {
                                        view! { <span class="badge">"This session"</span> }.into_any()
                                    } else {
                                        view! {
                                            <button type="button" class="secondary small" disabled=move || !ready.get() aria-busy=busy(ready) on:click=move |_| {
                                                actions.end.dispatch(EndSession { id: id.clone() });
                                            }>"Sign out"</button>
                                        }
                                        .into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </DataTable>
            {(others > 0).then(|| view! {
                <button type="button" class="secondary" disabled=move || !ready.get() aria-busy=busy(ready) on:click=move |_| { actions.end_others.dispatch(EndOtherSessions {}); }>
                    "Sign out everywhere else"
                </button>
            })}
            <ErrorText error=action_error(actions.end) />
        </section>
    }
}
