// Signs a body the way the senders' own Node libraries do and prints the headers as JSON.
//
// usage: node sign.mjs <scheme> <secret> <body-file> <timestamp>
// schemes: stripe (stripe.webhooks.generateTestHeaderString), github (@octokit/webhooks-methods sign)
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { sign } from "@octokit/webhooks-methods";

const [scheme, secret, bodyFile, timestamp] = process.argv.slice(2);
const body = readFileSync(bodyFile, "utf8");
let headers;
if (scheme === "stripe") {
  const stripe = new Stripe("sk_test_unused");
  const signature = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: Number(timestamp) });
  headers = { "stripe-signature": signature };
} else if (scheme === "github") {
  headers = { "x-hub-signature-256": await sign(secret, body) };
} else {
  throw new Error(`unknown scheme ${scheme}`);
}
console.log(JSON.stringify(headers));
