//! The key detail page's usage: verifications by outcome over the last 24
//! hours or 7 days (a bar chart with its numbers in a table beside it), and
//! the key's latest requests.

use crate::api::usage::{KeyUsage, UsageRange, get_key_usage};
use crate::components::{ErrorPanel, Loading, format_datetime};
use crate::domain::outcome_label;
use crate::pages::requests::RequestTable;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Chart size in SVG units (scaled to the panel's width by CSS).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 160.0;

#[component]
pub fn KeyUsagePanel(slug: Signal<String>, id: Signal<String>) -> impl IntoView {
    let query = use_query_map();
    let range =
        Signal::derive(move || UsageRange::from_query(query.read().get("range").as_deref()));
    let usage = Resource::new(
        move || (slug.get(), id.get(), range.get()),
        |(s, i, r)| get_key_usage(s, i, r),
    );
    view! {
        <section class="panel" aria-labelledby="usage-heading">
            <div class="panel-head">
                <h2 id="usage-heading">"Usage"</h2>
                <nav class="segmented" aria-label="Usage period">
                    {[UsageRange::Day, UsageRange::Week]
                        .into_iter()
                        .map(|r| {
                            let current = move || (range.get() == r).then_some("page");
                            view! { <a href=format!("?range={}", r.query()) aria-current=current>{r.label()}</a> }
                        })
                        .collect_view()}
                </nav>
            </div>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match usage.await {
                        Ok(u) => view! { <UsageView usage=u slug=slug.get_untracked() id=id.get_untracked() /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn UsageView(usage: KeyUsage, slug: String, id: String) -> impl IntoView {
    let total: i64 = usage.totals.iter().map(|(_, n)| n).sum();
    let valid: i64 = usage.buckets.iter().map(|b| b.valid).sum();
    let summary = format!(
        "{}: {total} verifications, {valid} valid, {} refused.",
        usage.range.label(),
        total - valid
    );
    let peak = usage.buckets.iter().map(|b| b.valid + b.refused).max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / usage.buckets.len() as f64;
    let bars = usage
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let x = i as f64 * slot + slot * 0.1;
            let w = slot * 0.8;
            let hv = b.valid as f64 / peak * HEIGHT;
            let hr = b.refused as f64 / peak * HEIGHT;
            let title =
                format!("{}: {} valid, {} refused", format_datetime(b.start), b.valid, b.refused);
            view! {
                <g>
                    <title>{title}</title>
                    <rect class="bar-valid" x=x y=HEIGHT - hv width=w height=hv />
                    <rect class="bar-refused" x=x y=HEIGHT - hv - hr width=w height=hr />
                </g>
            }
        })
        .collect_view();
    let first = usage.buckets.first().map(|b| b.start).unwrap_or_default();
    let recent_link = format!("/orgs/{slug}/settings/logs?key={id}&since=7d");
    view! {
        <p class="usage-summary">{summary.clone()}</p>
        <div class="usage">
            <figure class="chart">
                <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=summary>
                    {bars}
                </svg>
                <figcaption>
                    <span class="legend legend-valid">"Valid"</span>
                    <span class="legend legend-refused">"Refused"</span>
                    <span class="muted">{format!("from {}", format_datetime(first))}</span>
                </figcaption>
            </figure>
            <table class="table compact" aria-label="Verifications by outcome">
                <thead>
                    <tr><th scope="col">"Outcome"</th><th scope="col">"Count"</th></tr>
                </thead>
                <tbody>
                    {if usage.totals.is_empty() {
                        view! { <tr><td colspan="2">"No verifications in this period."</td></tr> }.into_any()
                    } else {
                        usage
                            .totals
                            .iter()
                            .map(|(code, n)| view! { <tr><td title=code.clone()>{outcome_label(code)}</td><td>{*n}</td></tr> })
                            .collect_view()
                            .into_any()
                    }}
                </tbody>
            </table>
        </div>
        <div class="panel-head">
            <h3>"Recent requests"</h3>
            <a href=recent_link>"Open in the request log"</a>
        </div>
        <RequestTable entries=usage.recent show_key=false slug />
    }
}
