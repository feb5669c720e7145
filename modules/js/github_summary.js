// The pure part of the GitHub example: no host calls, so it bundles as an ordinary module.

import { WasmhookError } from "wasmhook";

export function summarize(event, payload, watchedBranch) {
  const repo = payload.repository?.full_name ?? "unknown/repo";
  switch (event) {
    case "push": {
      const branch = String(payload.ref ?? "").replace(/^refs\/heads\//, "");
      const commits = payload.commits.length; // GitHub always sends the list (maybe empty)
      const line = `${payload.pusher?.name ?? "someone"} pushed ${commits} commit(s) to ${repo}@${branch}`;
      return branch === watchedBranch
        ? { route: "notify", line, commits }
        : { route: "ignore", line, commits, why: `branch ${branch} is not ${watchedBranch}` };
    }
    case "issues":
    case "pull_request": {
      const item = payload.issue ?? payload.pull_request;
      if (!item) throw new WasmhookError(`${event} event without its ${event === "issues" ? "issue" : "pull_request"}`, "invalid_event");
      const kind = event === "issues" ? "issue" : "PR";
      const line = `${kind} #${item.number} ${payload.action} in ${repo}: ${item.title}`;
      return { route: payload.action === "opened" ? "triage" : "notify", line };
    }
    default:
      throw new WasmhookError(`event ${event} is not handled`, "unsupported_event");
  }
}
