//! The pieces every list page shares: filter selects, column headings and
//! the pager.

use super::Field;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

/// A list's filters, read from the URL's query by `read` whenever it
/// changes (so they survive reloads and work without JavaScript).
pub fn url_filters<T>(read: impl Fn(&ParamsMap) -> T + Send + Sync + 'static) -> Signal<T>
where
    T: Clone + Send + Sync + 'static,
{
    let query = use_query_map();
    Signal::derive(move || read(&query.read()))
}

/// A query parameter that is there and not empty.
pub fn query_param(q: &ParamsMap, name: &str) -> Option<String> {
    q.get(name).filter(|v| !v.is_empty())
}

/// The `page` query parameter (1 when absent or not a number).
pub fn page_param(q: &ParamsMap) -> u32 {
    q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1)
}

/// One select of a list's filter form: "All …" first, then `options`
/// (value, label), with the one the URL names selected.
#[component]
pub fn FilterSelect(
    /// The query parameter; the select's id is `filter-{name}`.
    name: &'static str,
    label: &'static str,
    all: &'static str,
    options: Vec<(String, String)>,
    selected: Option<String>,
) -> impl IntoView {
    let none = selected.is_none();
    let id = format!("filter-{name}");
    view! {
        <Field id=id.clone() label>
            <select id=id name=name>
                <option value="" selected=none>{all}</option>
                {options
                    .into_iter()
                    .map(|(value, text)| {
                        let on = selected.as_deref() == Some(value.as_str());
                        view! { <option value=value selected=on>{text}</option> }
                    })
                    .collect_view()}
            </select>
        </Field>
    }
}

/// A scrollable table: a heading row, one `<th scope="col">` a name (with
/// `actions`, a last column for row actions, named for screen readers
/// only), and `children` as its rows.
#[component]
pub fn DataTable(
    label: &'static str,
    names: Vec<&'static str>,
    #[prop(optional)] class: &'static str,
    #[prop(optional)] actions: bool,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class=format!("table {class}").trim_end().to_string() aria-label=label>
                <thead>
                    <tr>
                        {names.into_iter().map(|name| view! { <th scope="col">{name}</th> }).collect_view()}
                        {actions.then(|| view! { <th scope="col"><span class="sr-only">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
    // Erased so the pages that hold tables keep their view types shallow.
    .into_any()
}

/// How many pages `total` rows fill, at least one.
pub fn page_count(total: i64, per_page: u32) -> u32 {
    u32::try_from(total.max(0)).unwrap_or(u32::MAX).div_ceil(per_page.max(1)).max(1)
}

/// A link to `page` of a list that keeps its filters (`?page=2&key=…`);
/// filters without a value are left out, values are URL-encoded.
pub fn page_link(page: u32, filters: &[(&str, Option<&str>)]) -> String {
    let mut link = format!("?page={page}");
    for (name, value) in filters {
        if let Some(value) = value {
            link.push_str(&format!("&{name}={}", urlencode(value)));
        }
    }
    link
}

/// "Page 2 of 5" with links to the pages either side, after a summary of
/// what the list holds. With `more`, `total` is where counting stopped
/// ("Page 2 of 200+"), and `next` says whether a next page exists (without
/// it, the pages that `total` fills).
#[component]
pub fn Pager<F>(
    #[prop(into)] summary: String,
    page: u32,
    total: i64,
    #[prop(optional)] more: bool,
    #[prop(optional)] next: Option<bool>,
    per_page: u32,
    link: F,
) -> impl IntoView
where
    F: Fn(u32) -> String + 'static,
{
    let pages = page_count(total, per_page);
    let position = match (more, page > pages) {
        (true, true) => format!("Page {page}"),
        (true, false) => format!("Page {page} of {pages}+"),
        (false, _) => format!("Page {page} of {pages}"),
    };
    let next = next.unwrap_or(page < pages);
    view! {
        <nav class="pager" aria-label="Pages">
            <span>{summary}</span>
            {(page > 1).then(|| view! { <a href=link(page - 1)>"Previous page"</a> })}
            <span>{position}</span>
            {next.then(|| view! { <a href=link(page + 1)>"Next page"</a> })}
        </nav>
    }
    .into_any()
}

/// `n` with its thousands separated by commas: 12,345.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Percent-encodes `s` for use as a query value (`/` kept).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_round_up_and_links_keep_their_filters() {
        assert_eq!(page_count(0, 25), 1);
        assert_eq!(page_count(25, 25), 1);
        assert_eq!(page_count(26, 25), 2);
        assert_eq!(page_count(-3, 0), 1);
        assert_eq!(
            page_link(2, &[("action", Some("key.created")), ("key", None)]),
            "?page=2&action=key.created"
        );
        assert_eq!(page_link(1, &[("q", Some("a b&c"))]), "?page=1&q=a%20b%26c");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(-45_000), "-45,000");
    }
}
