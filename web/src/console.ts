// The provider console: a browser wallet (EIP-1193, through viem) signs and sends; the server
// runs the CLI's prechecks and builds the calldata (/api/console/plan), and turns a revert
// into the CLI's sentence (/api/console/revert). Nothing here copies a CLI message.
import { createPublicClient, createWalletClient, custom, type Address, type Hex } from "viem";
import { addr, amount, badge, esc, getJson, postJson, table, when, type Json } from "./util";

declare global {
  interface Window {
    ethereum?: {
      request(args: { method: string; params?: unknown[] }): Promise<unknown>;
      on?(event: string, listener: (...args: unknown[]) => void): void;
    };
  }
}

let account: Address | null = null;

function wallet() {
  if (!window.ethereum) throw new Error("no browser wallet found: install MetaMask or Rabby, then reload.");
  const transport = custom(window.ethereum);
  return { wallet: createWalletClient({ transport }), reader: createPublicClient({ transport }) };
}

export function render(): string {
  return `
    <h1>Provider console</h1>
    <p>Your browser wallet signs every transaction; the node key never leaves your node's machine
      (sign a pool join there with <code>loranet node sign</code>).</p>
    <p><button id="connect" type="button">Connect wallet</button> <span id="who" class="mono"></span></p>
    <div id="result" role="status" aria-live="polite"></div>
    <div id="refusal" role="alert"></div>
    <section id="account" aria-labelledby="account-title" hidden>
      <h2 id="account-title">Your account</h2>
      <div id="account-body"></div>
    </section>
    <section id="actions" aria-labelledby="actions-title" hidden>
      <h2 id="actions-title">Actions</h2>
      <div class="forms">
        <form data-action="register"><fieldset><legend>Register as a provider</legend>
          <label for="register-amount">Stake (LORA)</label>
          <input id="register-amount" name="amount" inputmode="decimal" required />
          <button type="submit">Register</button></fieldset></form>
        <form data-action="stake"><fieldset><legend>Add stake</legend>
          <label for="stake-amount">Amount (LORA)</label>
          <input id="stake-amount" name="amount" inputmode="decimal" required />
          <button type="submit">Stake</button></fieldset></form>
        <form data-action="unbond"><fieldset><legend>Unbond</legend>
          <label for="unbond-amount">Amount (LORA)</label>
          <input id="unbond-amount" name="amount" inputmode="decimal" required />
          <button type="submit">Unbond</button></fieldset></form>
        <form data-action="withdraw"><fieldset><legend>Withdraw matured unbonds</legend>
          <button type="submit">Withdraw</button></fieldset></form>
        <form data-action="claim"><fieldset><legend>Claim rewards</legend>
          <button type="submit">Claim</button></fieldset></form>
        <form data-action="join"><fieldset><legend>Join a pool</legend>
          <label for="join-signed">Output of <code>loranet node sign</code></label>
          <textarea id="join-signed" name="signed" rows="4" required></textarea>
          <button type="submit">Join pool</button></fieldset></form>
        <form data-action="leave"><fieldset><legend>Leave a pool</legend>
          <label for="leave-node">Node address</label>
          <input id="leave-node" name="node" autocomplete="off" required />
          <button type="submit">Leave pool</button></fieldset></form>
      </div>
    </section>`;
}

function say(kind: "result" | "refusal", text: string): void {
  const other = kind === "result" ? "refusal" : "result";
  (document.getElementById(other) as HTMLElement).textContent = "";
  (document.getElementById(kind) as HTMLElement).textContent = text;
}

async function refreshAccount(): Promise<void> {
  if (!account) return;
  const d = await getJson(`/api/console/account/${account}`);
  const nodes = d.nodes.map((n: Json) => [
    addr(n.address, "node"),
    esc(n.compute_units),
    n.validated ? "yes" : "no",
    n.pool_id ? `<a href="/pool/${esc(n.pool_id)}">pool ${esc(n.pool_id)}</a>` : "—",
  ]);
  const unbonds = d.unbonds.map((u: Json) => [`#${esc(u.id)}`, amount(u.amount), esc(u.release_at_utc ?? when(u.release_at))]);
  (document.getElementById("account-body") as HTMLElement).innerHTML = `
    <dl class="stats">
      <div class="stat"><dt>Registered</dt><dd>${d.registered ? badge("yes", "active") : badge("no", "pending")}</dd></div>
      <div class="stat"><dt>Wallet</dt><dd data-testid="balance">${amount(d.lora)}</dd></div>
      <div class="stat"><dt>Staked</dt><dd data-testid="staked">${amount(d.staked)}</dd></div>
      <div class="stat"><dt>Minimum stake</dt><dd>${amount(d.min_stake)}</dd></div>
      <div class="stat"><dt>Unbonding</dt><dd>${amount(d.unbonding)}</dd></div>
      <div class="stat"><dt>Withdrawable</dt><dd>${amount(d.withdrawable)}</dd></div>
      <div class="stat"><dt>Pending rewards</dt><dd data-testid="pending">${amount(d.pending_rewards)}</dd></div>
    </dl>
    ${table("Your nodes", ["node", "compute units", "validated", "pool"], nodes, "none")}
    ${table("Your unbonds", ["request", "amount", "withdrawable from"], unbonds, "none")}
    <p><a href="/provider/${esc(d.address)}">Your provider page in the explorer</a></p>`;
}

async function connect(): Promise<void> {
  const { wallet: w } = wallet();
  const [first] = await w.requestAddresses();
  account = first;
  (document.getElementById("who") as HTMLElement).textContent = `connected: ${first}`;
  (document.getElementById("account") as HTMLElement).hidden = false;
  (document.getElementById("actions") as HTMLElement).hidden = false;
  await refreshAccount();
}

/** The revert data hidden somewhere in viem's error chain (``cause``s, ``data`` fields). */
function revertData(err: unknown): Hex | undefined {
  let current: any = err; // eslint-disable-line @typescript-eslint/no-explicit-any
  for (let depth = 0; current && depth < 12; depth++) {
    const data = current.data;
    if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) return data as Hex;
    if (data && typeof data === "object" && typeof data.data === "string") return data.data as Hex;
    current = current.cause;
  }
  return undefined;
}

async function sentenceFor(err: unknown, context: Json): Promise<string> {
  const data = revertData(err);
  if (data) {
    const d = await postJson("/api/console/revert", { data, context });
    return d.sentence;
  }
  const e = err as { shortMessage?: string; message?: string };
  return (e.shortMessage ?? e.message ?? String(err)).split("\n")[0];
}

function request(action: string, form: FormData): Json {
  const body: Json = { action, address: account };
  if (form.has("amount")) body.amount = String(form.get("amount")).trim();
  if (action === "leave") body.node = String(form.get("node")).trim();
  if (action === "join") {
    let signed: Json;
    try {
      signed = JSON.parse(String(form.get("signed")));
    } catch {
      throw new Error("the node signature is not the JSON printed by `loranet node sign`.");
    }
    Object.assign(body, {
      pool_id: signed.pool_id,
      node: signed.node,
      deadline: signed.deadline,
      signature: signed.signature,
    });
  }
  return body;
}

async function act(action: string, form: FormData, button: HTMLButtonElement): Promise<void> {
  if (!account) return;
  button.disabled = true;
  say("result", "checking…");
  try {
    let plan: Json;
    try {
      plan = await postJson("/api/console/plan", request(action, form));
    } catch (err) {
      say("refusal", (err as Error).message);
      return;
    }
    const { wallet: w, reader } = wallet();
    const chainId = await w.getChainId();
    if (chainId !== plan.chain_id) {
      say("refusal", `the wallet is on chain ${chainId} but the network is chain ${plan.chain_id}: switch networks in your wallet.`);
      return;
    }
    const sent: string[] = [];
    for (const tx of plan.transactions) {
      say("result", `${tx.description}: confirm in your wallet…`);
      let hash: Hex;
      try {
        hash = await w.sendTransaction({
          account: account,
          to: tx.to as Address,
          data: tx.data as Hex,
          value: BigInt(tx.value),
          chain: null,
        });
      } catch (err) {
        say("refusal", await sentenceFor(err, tx.context));
        return;
      }
      say("result", `${tx.description}: waiting for ${hash.slice(0, 10)}…`);
      const receipt = await reader.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") {
        say("refusal", `${tx.description} was reverted (transaction ${hash}).`);
        return;
      }
      sent.push(`${tx.description} (${hash.slice(0, 10)}…, block ${receipt.blockNumber})`);
    }
    say("result", `done: ${sent.join("; ")}.`);
    await refreshAccount();
  } catch (err) {
    say("refusal", (err as Error).message);
  } finally {
    button.disabled = false;
  }
}

let following = false;

/** Follow the wallet: another account or chain chosen there shows at once. */
function followWallet(): void {
  if (following || !window.ethereum?.on) return;
  following = true;
  window.ethereum.on("accountsChanged", (accounts) => {
    const list = accounts as Address[];
    account = list.length ? list[0] : null;
    const who = document.getElementById("who");
    if (who) who.textContent = account ? `connected: ${account}` : "disconnected";
    if (account) refreshAccount().catch(() => undefined);
  });
  window.ethereum.on("chainChanged", () => {
    if (account) refreshAccount().catch(() => undefined);
  });
}

export function mount(root: HTMLElement): void {
  followWallet();
  const button = root.querySelector("#connect") as HTMLButtonElement;
  button.addEventListener("click", () => {
    connect().catch((err) => say("refusal", (err as Error).message));
  });
  root.querySelectorAll<HTMLFormElement>("form[data-action]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const submit = form.querySelector("button[type=submit]") as HTMLButtonElement;
      void act(form.dataset.action as string, new FormData(form), submit);
    });
  });
}

export function onBlock(): void {
  if (account) refreshAccount().catch(() => undefined);
}
