//! Controls that need the page's code (a dialog to open, a menu, a copy to
//! the clipboard) wait for it visibly: until hydration they are rendered
//! disabled and `aria-busy` (a busy cursor), so a person who clicks as soon
//! as the page shows sees the button is not ready yet, never one that looks
//! ready and silently does nothing. Forms and links work without the code
//! and are not held back.

use leptos::prelude::*;

/// `false` while the server renders and until this component has hydrated
/// in the browser, then `true`. Effects run only in the browser, after
/// hydration, so the first value always matches the server's HTML.
pub fn use_hydrated() -> Signal<bool> {
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    ready.into()
}

/// `aria-busy` for a control held back until `ready`.
pub fn busy(ready: Signal<bool>) -> impl Fn() -> Option<&'static str> + Copy + Send + Sync {
    move || (!ready.get()).then_some("true")
}
