//! Order enricher: an order webhook carries only a customer id; the block fetches the customer
//! from the CRM (`CRM_BASE_URL`, which the block's `network.allowedHosts` must list) and returns
//! the order with the customer's name, tier and the discount the tier earns.

use serde::{Deserialize, Serialize};
use wasmhook_sdk::{Context, Error, http, log};

#[derive(Deserialize)]
struct Order {
    id: String,
    customer_id: String,
    amount_cents: u64,
}

#[derive(Deserialize)]
struct Customer {
    name: String,
    tier: String,
}

#[derive(Serialize)]
struct Enriched {
    order: String,
    customer: String,
    tier: String,
    amount_cents: u64,
    discount_cents: u64,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Enriched, Error> {
    let order: Order = ctx.data()?;
    let base = ctx.env("CRM_BASE_URL").ok_or_else(|| Error::with_code("config", "CRM_BASE_URL is not set"))?;
    let url = format!("{}/customers/{}", base.trim_end_matches('/'), order.customer_id);
    log::info!("fetching customer {} for order {}", order.customer_id, order.id);
    let response = http::get(&url)?;
    if response.status() == 404 {
        return Err(Error::with_code("unknown_customer", format!("no customer {}", order.customer_id)));
    }
    if !response.is_success() {
        return Err(Error::with_code("crm_unavailable", format!("the CRM answered {}", response.status())));
    }
    let customer: Customer = response.json()?;
    let percent = match customer.tier.as_str() {
        "gold" => 10,
        "silver" => 5,
        _ => 0,
    };
    Ok(Enriched {
        order: order.id,
        customer: customer.name,
        tier: customer.tier,
        amount_cents: order.amount_cents,
        discount_cents: order.amount_cents * percent / 100,
    })
}
