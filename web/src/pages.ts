// The explorer's pages: each fetches its JSON and returns HTML (values escaped).
import { lossChart } from "./chart";
import {
  addr,
  amount,
  badge,
  esc,
  getJson,
  hash,
  loss,
  pageParam,
  pager,
  short,
  stat,
  table,
  when,
  type Json,
} from "./util";

function eventRow(e: Json): string[] {
  const a = e.args ?? {};
  const bits: string[] = [];
  if (a.poolId !== undefined && a.round !== undefined)
    bits.push(`<a href="/pool/${esc(a.poolId)}/round/${esc(a.round)}">pool ${esc(a.poolId)} round ${esc(a.round)}</a>`);
  else if (a.poolId !== undefined) bits.push(`<a href="/pool/${esc(a.poolId)}">pool ${esc(a.poolId)}</a>`);
  if (a.provider) bits.push(`provider ${addr(a.provider)}`);
  if (a.node) bits.push(`node ${addr(a.node, "node")}`);
  return [String(e.block), `${esc(e.contract)}.<strong>${esc(e.event)}</strong>`, bits.join(", ") || "—", hash(e.tx_hash)];
}

function poolRow(p: Json): string[] {
  return [
    `<a href="/pool/${esc(p.id)}">pool ${esc(p.id)}</a>`,
    badge(p.status),
    esc(p.params?.baseModelUri ?? ""),
    esc(p.params?.datasetUri ?? ""),
    `${esc(p.node_count)} / ${esc(p.params?.maxNodes ?? "?")}`,
    String(p.rounds_finalized),
    amount(p.rewards_paid),
  ];
}

function providerRow(p: Json): string[] {
  return [
    addr(p.address),
    amount(p.staked),
    amount(p.unbonding),
    String(p.node_count),
    String(p.compute_units),
    amount(p.rewards_accrued),
    amount(p.slashed),
  ];
}

const PROVIDER_HEADERS = ["provider", "staked", "unbonding", "nodes", "compute units", "rewards earned", "slashed"];

export async function overview(): Promise<string> {
  const page = pageParam();
  const d = await getJson(`/api/overview?page=${page}`);
  const t = d.totals;
  return `
    <h1>Network overview</h1>
    <dl class="stats">
      ${stat("Providers", String(t.providers))}
      ${stat("Nodes", `${t.nodes} <small>(${t.compute_units} units)</small>`)}
      ${stat("Staked", amount(t.staked))}
      ${stat("Unbonding", amount(t.unbonding))}
      ${stat("LORA supply", amount(t.supply))}
      ${stat("Pools", `${t.pools} <small>(${t.active_pools} active)</small>`)}
      ${stat("Rounds finalized", String(t.rounds_finalized))}
      ${stat("Rewards earned", amount(t.rewards_accrued))}
      ${stat("Rewards claimed", amount(t.rewards_claimed))}
      ${stat("Slashed", amount(t.slashed))}
    </dl>
    <p class="meta">Indexed up to block <strong data-testid="cursor">${esc(d.meta?.cursor ?? "—")}</strong> of chain ${esc(d.meta?.chain_id ?? "—")} (${esc(t.events)} events).</p>
    <h2>Pools</h2>
    ${table("Pools", ["pool", "status", "model", "data set", "nodes", "rounds", "rewards paid"], d.pools.map(poolRow))}
    <h2>Providers</h2>
    ${table("Providers by stake", PROVIDER_HEADERS, d.providers.map(providerRow))}
    ${pager(d.providers_page, "/", "Providers")}
    <h2>Latest events</h2>
    ${table("Latest events", ["block", "event", "about", "transaction"], d.recent.map(eventRow))}
    <p><a href="/events">All events</a></p>`;
}

export async function providers(): Promise<string> {
  const page = pageParam();
  const d = await getJson(`/api/providers?page=${page}`);
  return `<h1>Providers</h1>
    ${table("Providers by stake", PROVIDER_HEADERS, d.providers.map(providerRow))}
    ${pager(d.page, "/providers", "Providers")}`;
}

export async function events(): Promise<string> {
  const page = pageParam();
  const d = await getJson(`/api/events?page=${page}`);
  return `<h1>Events</h1>
    ${table("Indexed events, newest first", ["block", "event", "about", "transaction"], d.events.map(eventRow))}
    ${pager(d.page, "/events", "Events")}`;
}

export async function pool(id: string): Promise<string> {
  const page = pageParam();
  const d = await getJson(`/api/pools/${encodeURIComponent(id)}?page=${page}`);
  const p = d.params ?? {};
  const rounds = d.rounds.map((r: Json) => [
    `<a href="/pool/${esc(d.id)}/round/${esc(r.round)}">round ${esc(r.round)}</a>`,
    String(r.reports),
    String(r.samples),
    `${r.accepted} ${badge("accepted")} ${r.rejected ? `${r.rejected} ${badge("rejected")}` : ""}`,
    String(r.attestations),
    loss(r.accepted_loss ?? r.mean_loss),
    amount(r.rewarded),
    r.slashed && r.slashed.wei !== "0" ? amount(r.slashed) : "—",
    r.finalized ? badge("finalized") : badge("open", "pending"),
  ]);
  const slashes = d.slashes.map((s: Json) => [
    `<a href="/pool/${esc(d.id)}/round/${esc(s.round)}">round ${esc(s.round)}</a>`,
    `#${esc(s.index)}`,
    addr(s.provider),
    addr(s.node, "node"),
    amount(s.slashed),
  ]);
  return `
    <p class="crumbs"><a href="/">Network</a> › pool ${esc(d.id)}</p>
    <h1>Pool ${esc(d.id)} ${badge(d.status)}</h1>
    <dl class="stats">
      ${stat("Base model", `${esc(p.baseModelUri)}<br>${hash(p.baseModelHash)}`)}
      ${stat("Data set", `${esc(p.datasetUri)}<br>${hash(p.datasetHash)}`)}
      ${stat("Creator", addr(d.creator))}
      ${stat("Domain", esc(d.domain_id))}
      ${stat("Round length", `${esc(p.roundLength)} s <small>(window ${esc(p.submissionWindow)} s)</small>`)}
      ${stat("Reward per round", amount(p.rewardPerRound))}
      ${stat("Nodes", `${esc(d.node_count)} / ${esc(p.maxNodes)}`)}
      ${stat("Started", when(d.start_time))}
      ${stat("Rewards paid", amount(d.rewards_paid))}
      ${stat("Slashed", amount(d.slashed_total))}
      ${stat("Reports", esc(d.reports_total))}
    </dl>
    <h2>Eval loss per round</h2>
    ${lossChart(d.loss_series)}
    <h2>Rounds</h2>
    ${table(
      "Rounds, newest first",
      ["round", "reports", "samples", "verdicts", "attestations", "loss", "rewarded", "slashed", "state"],
      rounds,
    )}
    ${pager(d.rounds_page, `/pool/${d.id}`, "Rounds")}
    <h2>Slashes</h2>
    ${table("Rejected reports and slashes", ["round", "report", "provider", "node", "slashed"], slashes, "none")}
    <h2>Members</h2>
    ${table("Nodes in the pool now", ["node"], d.members.map((m: string) => [addr(m, "node")]), "none")}`;
}

export async function round(poolId: string, number: string): Promise<string> {
  const d = await getJson(`/api/pools/${encodeURIComponent(poolId)}/rounds/${encodeURIComponent(number)}`);
  const validators: string[] = d.attestations.map((a: Json) => a.validator);
  const reports = d.reports.map((r: Json) => {
    const artifact = r.artifact_link
      ? `<a href="${esc(r.artifact_link)}" rel="noopener">adapter</a>`
      : `<span title="${esc(r.artifact_uri)}">${esc(short(r.artifact_uri, 16, 8))}</span>`;
    const verdicts = r.verdicts.length
      ? `<ul class="verdicts">${r.verdicts
          .map(
            (v: Json) =>
              `<li>${addr(v.validator)}: ${v.accept ? badge("accept", "accepted") : badge("reject", "rejected")}</li>`,
          )
          .join("")}</ul>`
      : "—";
    const outcome =
      r.outcome === "accepted"
        ? `${badge("accepted")} ${amount(r.reward)}`
        : r.outcome === "rejected"
          ? `${badge("rejected")} slashed ${amount(r.slashed)}`
          : badge("pending");
    return [
      `#${esc(r.index)}`,
      addr(r.node, "node"),
      addr(r.provider),
      esc(r.samples),
      loss(r.loss),
      `${hash(r.adapter_hash)}<br>${artifact}`,
      verdicts,
      outcome,
      r.reasons.length ? r.reasons.map((x: string) => `<code>${esc(x)}</code>`).join(" ") : "—",
    ];
  });
  const f = d.finalized;
  return `
    <p class="crumbs"><a href="/">Network</a> › <a href="/pool/${esc(d.pool_id)}">pool ${esc(d.pool_id)}</a> › round ${esc(d.round)}</p>
    <h1>Pool ${esc(d.pool_id)}, round ${esc(d.round)} ${f ? badge("finalized") : badge("open", "pending")}</h1>
    <dl class="stats">
      ${stat("Reports", esc(d.reports.length))}
      ${stat("Validators", esc(validators.length))}
      ${stat("Accepted", esc(f?.accepted ?? "—"))}
      ${stat("Rejected", esc(f?.rejected ?? "—"))}
      ${stat("Awarded", amount(f?.awarded))}
      ${stat("Next base adapter", hash(f?.base_adapter_hash))}
    </dl>
    <h2>Reports</h2>
    ${table(
      "Work reports with each validator's verdict",
      ["report", "node", "provider", "samples", "loss", "adapter", "verdicts", "outcome", "reasons"],
      reports,
    )}
    <h2>Attestations</h2>
    ${table(
      "Validator attestations",
      ["validator", "accept bitmap", "next adapter", "votes", "block"],
      d.attestations.map((a: Json) => [addr(a.validator), `<code>${esc(a.bitmap)}</code>`, hash(a.next_adapter_hash), esc(a.votes), esc(a.block)]),
    )}`;
}

export async function provider(address: string): Promise<string> {
  const page = pageParam();
  const d = await getJson(`/api/providers/${encodeURIComponent(address)}?page=${page}`);
  const nodes = d.nodes.map((n: Json) => [
    addr(n.address, "node"),
    esc(n.compute_units),
    n.pool_id ? `<a href="/pool/${esc(n.pool_id)}">pool ${esc(n.pool_id)}</a>` : "—",
    n.last_report_block ? `block ${esc(n.last_report_block)}` : "—",
    n.heartbeat ? `${when(n.heartbeat.ts)} · CPU ${esc(Math.round(n.heartbeat.cpu_percent))}%` : "—",
  ]);
  const unbonds = d.unbonds.map((u: Json) => [
    `#${esc(u.id)}`,
    amount(u.amount),
    when(u.release_at),
    u.withdrawn ? badge("withdrawn", "completed") : badge("unbonding", "pending"),
  ]);
  const rewards = d.rewards.map((r: Json) => [
    `<a href="/pool/${esc(r.pool_id)}/round/${esc(r.round)}">pool ${esc(r.pool_id)} round ${esc(r.round)}</a>`,
    addr(r.node, "node"),
    amount(r.reward),
    esc(r.block),
  ]);
  const slashes = d.slashes.map((s: Json) => [amount(s.amount), amount(s.burned), amount(s.to_treasury), hash(s.reason), esc(s.block)]);
  return `
    <p class="crumbs"><a href="/">Network</a> › <a href="/providers">providers</a> › ${esc(short(d.address))}</p>
    <h1>Provider <span class="mono">${esc(d.address)}</span> ${d.blacklisted ? badge("blacklisted", "rejected") : ""}</h1>
    <dl class="stats">
      ${stat("Staked", amount(d.staked))}
      ${stat("Unbonding", amount(d.unbonding))}
      ${stat("Rewards earned", amount(d.rewards_accrued))}
      ${stat("Rewards claimed", amount(d.rewards_claimed))}
      ${stat("Rewards pending", amount(d.rewards_pending))}
      ${stat("Slashed", amount(d.slashed))}
      ${stat("Nodes", `${esc(d.node_count)} <small>(${esc(d.compute_units)} units)</small>`)}
    </dl>
    <h2>Nodes</h2>
    ${table("Nodes and their heartbeats", ["node", "compute units", "pool", "last report", "heartbeat"], nodes, "none")}
    <h2>Unbonds</h2>
    ${table("Unbond requests", ["request", "amount", "release", "state"], unbonds, "none")}
    <h2>Rewards</h2>
    ${table("Rewards per report, newest first", ["round", "node", "reward", "block"], rewards, "none")}
    ${pager(d.rewards_page, `/provider/${d.address}`, "Rewards")}
    <h2>Slashes</h2>
    ${table("Slashes", ["amount", "burned", "to treasury", "reason", "block"], slashes, "none")}`;
}

export async function node(address: string): Promise<string> {
  const page = pageParam();
  const d = await getJson(`/api/nodes/${encodeURIComponent(address)}?page=${page}`);
  const reports = d.reports.map((r: Json) => [
    `<a href="/pool/${esc(r.pool_id)}/round/${esc(r.round)}">pool ${esc(r.pool_id)} round ${esc(r.round)}</a>`,
    esc(r.samples),
    loss(r.loss),
    hash(r.adapter_hash),
    esc(r.block),
  ]);
  const history = d.pool_history.map((h: Json) => [esc(h.event), `<a href="/pool/${esc(h.pool_id)}">pool ${esc(h.pool_id)}</a>`, esc(h.block)]);
  const hb = d.heartbeat;
  return `
    <p class="crumbs"><a href="/">Network</a> › ${d.provider ? `<a href="/provider/${esc(d.provider)}">provider ${esc(short(d.provider))}</a> › ` : ""}node</p>
    <h1>Node <span class="mono">${esc(d.address)}</span></h1>
    <dl class="stats">
      ${stat("Provider", addr(d.provider))}
      ${stat("Compute units", esc(d.compute_units))}
      ${stat("Validated", d.validated ? "yes" : "no")}
      ${stat("Pool", d.pool_id ? `<a href="/pool/${esc(d.pool_id)}">pool ${esc(d.pool_id)}</a>` : "none")}
      ${stat("State", d.removed ? badge("removed", "rejected") : d.blacklisted ? badge("blacklisted", "rejected") : badge("registered", "active"))}
      ${stat("Heartbeat", hb ? `${when(hb.ts)}<br><small>CPU ${esc(Math.round(hb.cpu_percent))}% · RAM ${esc(Math.round((100 * hb.ram_used) / hb.ram_total))}%</small>` : "—")}
    </dl>
    <h2>Reports</h2>
    ${table("Reports, newest first", ["round", "samples", "loss", "adapter", "block"], reports, "none")}
    ${pager(d.reports_page, `/node/${d.address}`, "Reports")}
    <h2>Pool history</h2>
    ${table("Joins and leaves", ["event", "pool", "block"], history, "none")}`;
}
