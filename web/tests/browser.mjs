// The dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core:
// no browser download). Run by tests/offchain/web/test_web_browser.py, which starts anvil,
// plays a network, serves the dashboard and reads the JSON this script writes.
//
// Environment: BASE_URL (dashboard), RPC_URL (anvil), WALLET (an unlocked anvil account that
// is a provider with pending rewards), POOL, ROUND, PROVIDER, NODE (ids to visit), SHOTS (folder
// for screenshots), RESULT (JSON output), CHROMIUM (executable).
//
// The injected EIP-1193 test wallet forwards every request to anvil from Node (no CORS), so
// eth_sendTransaction is signed by anvil's unlocked dev account, as a real wallet would sign.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const env = process.env;
const base = env.BASE_URL;
const shots = env.SHOTS;
mkdirSync(shots, { recursive: true });

const result = { pages: {}, console: {}, keyboard: {}, phone: {}, errors: [] };

async function rpc(method, params) {
  const response = await fetch(env.RPC_URL, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params ?? [] }),
  });
  const body = await response.json();
  if (body.error) {
    const err = new Error(body.error.message);
    err.code = body.error.code;
    err.data = body.error.data;
    throw err;
  }
  return body.result;
}

async function walletRequest(method, params) {
  if (method === "eth_requestAccounts" || method === "eth_accounts") return [env.WALLET];
  if (method === "wallet_switchEthereumChain") return null;
  try {
    return { ok: await rpc(method, params) };
  } catch (err) {
    return { error: { message: err.message, code: err.code, data: err.data } };
  }
}

const INJECT = `
  window.ethereum = {
    isLoranetTestWallet: true,
    async request({ method, params }) {
      const answer = await window.__walletRequest(method, params ?? []);
      if (Array.isArray(answer) || answer === null) return answer;
      if (answer.error) {
        const err = new Error(answer.error.message);
        err.code = answer.error.code;
        err.data = answer.error.data;
        throw err;
      }
      return answer.ok;
    },
    on() {}, removeListener() {},
  };`;

async function ready(page, path) {
  await page.goto(base + path, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("main[data-ready]", { timeout: 60_000 });
}

async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const report = await page.evaluate(async () =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"] } }),
  );
  return report.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.exposeFunction("__walletRequest", walletRequest);
  await context.addInitScript(INJECT);
  const page = await context.newPage();
  page.on("pageerror", (err) => result.errors.push(String(err)));

  const pages = {
    overview: "/",
    pool: `/pool/${env.POOL}`,
    round: `/pool/${env.POOL}/round/${env.ROUND}`,
    provider: `/provider/${env.PROVIDER}`,
    node: `/node/${env.NODE}`,
    providers: "/providers",
    events: "/events",
  };
  for (const [name, path] of Object.entries(pages)) {
    const started = Date.now();
    await ready(page, path);
    const loadMs = Date.now() - started;
    const text = await page.innerText("main");
    const links = await page.$$eval("main a[href]", (as) => as.map((a) => a.getAttribute("href")));
    await page.screenshot({ path: `${shots}/dashboard-${name}.png`, fullPage: true });
    result.pages[name] = { path, text, links, loadMs, violations: await axe(page), title: await page.title() };
  }

  // Keyboard: the first Tab reaches the skip link, Enter moves focus to the content; then
  // Tab walks through the page's links.
  await ready(page, `/pool/${env.POOL}`);
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement?.textContent?.trim());
  await page.keyboard.press("Enter");
  const afterSkip = await page.evaluate(() => document.activeElement?.id);
  const focused = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    focused.push(await page.evaluate(() => {
      const el = document.activeElement;
      return el ? `${el.tagName.toLowerCase()}:${(el.textContent || "").trim().slice(0, 30)}` : "";
    }));
  }
  // following a link by keyboard
  await page.focus(`main a[href="/pool/${env.POOL}/round/${env.ROUND}"]`);
  await page.keyboard.press("Enter");
  await page.waitForSelector(`main[data-ready="/pool/${env.POOL}/round/${env.ROUND}"]`);
  result.keyboard = { first, afterSkip, focused, followed: new URL(page.url()).pathname };

  // Phone-sized screen: no horizontal scrolling of the page itself.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  for (const [name, path] of [["overview", "/"], ["pool", `/pool/${env.POOL}`], ["round", `/pool/${env.POOL}/round/${env.ROUND}`]]) {
    await ready(small, path);
    const widths = await small.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    await small.screenshot({ path: `${shots}/dashboard-phone-${name}.png`, fullPage: false });
    result.phone[name] = widths;
  }
  await phone.close();

  // Console: connect the injected wallet, stake, claim, then see the CLI's refusals.
  await ready(page, "/console");
  await page.click("#connect");
  await page.waitForSelector("[data-testid=staked]");
  const stakedBefore = await page.innerText("[data-testid=staked]");
  const pendingBefore = await page.innerText("[data-testid=pending]");
  const outcome = async () => {
    await page.waitForFunction(
      () => {
        const r = document.getElementById("result")?.textContent ?? "";
        const e = document.getElementById("refusal")?.textContent ?? "";
        return e.length > 0 || r.startsWith("done");
      },
      null,
      { timeout: 60_000 },
    );
    return {
      result: await page.innerText("#result"),
      refusal: await page.innerText("#refusal"),
    };
  };
  await page.fill("#stake-amount", "50");
  await page.click("form[data-action=stake] button");
  result.console.stake = await outcome();
  await page.waitForFunction((before) => document.querySelector("[data-testid=staked]")?.textContent !== before, stakedBefore, { timeout: 30_000 });
  result.console.stakedBefore = stakedBefore;
  result.console.stakedAfter = await page.innerText("[data-testid=staked]");
  await page.click("form[data-action=claim] button");
  result.console.claim = await outcome();
  await page.waitForFunction((before) => document.querySelector("[data-testid=pending]")?.textContent !== before, pendingBefore, { timeout: 30_000 });
  result.console.pendingBefore = pendingBefore;
  result.console.pendingAfter = await page.innerText("[data-testid=pending]");
  await page.screenshot({ path: `${shots}/dashboard-console.png`, fullPage: true });
  await page.click("form[data-action=claim] button");
  result.console.claimAgain = await outcome();
  await page.fill("#unbond-amount", "1000000");
  await page.click("form[data-action=unbond] button");
  result.console.unbondTooMuch = await outcome();
  await page.fill("#join-signed", env.JOIN_SIGNED ?? "{}");
  await page.click("form[data-action=join] button");
  result.console.join = await outcome();
  result.console.violations = await axe(page);
  await context.close();
} catch (err) {
  result.errors.push(String(err && err.stack ? err.stack : err));
} finally {
  await browser.close();
  writeFileSync(env.RESULT, JSON.stringify(result, null, 2));
}
