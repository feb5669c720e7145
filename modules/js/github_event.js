// GitHub event summarizer: turns a GitHub webhook delivery (push, issues, pull_request) into
// a short notification line and a routing decision, the JavaScript example block.
//
// The event name comes from the `x-github-event` header when the trigger webhook captures
// request headers, else from `"event"` in the data (v2/v4 senders). Config (env):
// `WATCHED_BRANCH` (default `main`) — pushes elsewhere are routed to `ignore`. GitHub's `ping`
// is answered with a plain-text `pong` as the webhook's own HTTP response.

import { block, HttpResponse, WasmhookError, log } from "wasmhook";
import { summarize } from "./github_summary.js";

export const run = block((ctx) => {
  const payload = ctx.data();
  const event = ctx.headers()["x-github-event"] ?? payload.event;
  if (typeof event !== "string") {
    throw new WasmhookError("no x-github-event header and no \"event\" field", "unknown_event");
  }
  if (event === "ping") {
    // GitHub's hello when the webhook is created: answer it directly (the `$http` convention).
    return new HttpResponse(200, `pong ${payload.zen ?? ""}`.trim(), { contentType: "text/plain" })
      .header("x-hook-id", String(payload.hook_id ?? ""));
  }
  const watched = ctx.env("WATCHED_BRANCH", "main");
  const summary = summarize(event, payload, watched);
  log.info(`${event}: ${summary.line}`);
  if (summary.route === "ignore") log.debug(`ignored: ${summary.why}`);
  return { event, ...summary, executionId: ctx.executionId() ?? null, datasetKey: ctx.datasetKey() ?? null };
});
