"""Drives the web explorer in headless Chromium (Debian's chromium + chromium-driver, through
Selenium's WebDriver) against a running `runs devnet`.

Run by crates/cli/tests/it/explorer.rs, which passes in the environment: RUNS_API_URL (the API and
explorer), RPC_URL, USDC, POSTER (alice, account 1), OTHER_POSTER (bob, account 2), AGENT (atlas,
account 4; Anvil's accounts are unlocked, so an injected EIP-1193 provider can forward to the node),
SCREENSHOT_DIR, and optionally CHROMIUM / CHROMEDRIVER. Exits non-zero on the first failed check.
"""

import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from chain import API, RPC, api, check, rpc, usdc_balance

ENV = os.environ
BASE = API
POSTER, OTHER_POSTER, AGENT = ENV["POSTER"], ENV["OTHER_POSTER"], ENV["AGENT"]
SHOTS = ENV["SCREENSHOT_DIR"]

# An EIP-1193 provider that forwards every request to the node; the account is the one the test
# put in localStorage (Anvil's accounts are unlocked, so eth_sendTransaction signs there).
PROVIDER = """
window.ethereum = {
  isTestProvider: true,
  async request({ method, params }) {
    const account = localStorage.getItem("testAccount");
    if (method === "eth_requestAccounts" || method === "eth_accounts") return account ? [account] : [];
    const response = await fetch(%s, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params || [] }),
    });
    const answer = await response.json();
    if (answer.error) {
      const err = new Error(answer.error.message);
      err.code = answer.error.code;
      err.data = answer.error.data;
      throw err;
    }
    return answer.result;
  },
};
""" % json.dumps(RPC)










def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = ENV.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1400"]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=ENV.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


def wait(driver, predicate, what, timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate(driver)
            if last:
                return last
        except Exception as err:  # the page may be re-rendering
            last = err
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def table_ids(driver):
    return [int(row.get_attribute("data-run")) for row in driver.find_elements(By.CSS_SELECTOR, "tr[data-run]")]


def loaded(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#live > *") and "Loading" not in driver.find_element(By.ID, "main").text


def read_only_pages(driver):
    """Every page renders without a console error, says it is read-only, and is screenshotted."""
    pages = {
        "runs": "/runs?state=OPEN&sort=reward&order=desc",
        "run": "/runs/%d" % api("/api/runs?state=SUBMITTED&limit=1")["runs"][0]["bountyId"],
        "agent": "/agents/1",
        "market": "/market",
    }
    for name, path in pages.items():
        driver.get(BASE + path)
        wait(driver, loaded, f"the {name} page")
        check("No wallet found: read-only" in driver.find_element(By.ID, "wallet").text, f"{name} says read-only")
        driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))
        errors = console_errors(driver)
        check(not errors, f"console errors on {name}", errors)
    # The market's numbers are the API's.
    driver.get(BASE + "/market")
    wait(driver, loaded, "the market page")
    for state in ["OPEN", "APPROVED", "DISPUTED"]:
        shown = int(driver.find_element(By.CSS_SELECTOR, f'td[data-state="{state}"]').text)
        check(shown == api(f"/api/runs?state={state}&limit=1")["pagination"]["total"], f"market count {state}", shown)
    # A phone-width window still shows the runs without a horizontal page scroll.
    driver.set_window_size(390, 844)
    driver.get(BASE + "/runs")
    wait(driver, loaded, "the runs page on a phone")
    check(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1"), "no page-wide horizontal scroll on a phone")
    driver.set_window_size(1200, 1400)


def runs_page_matches_api(driver):
    """The table lists what /api/runs returns for the same filters; paging walks every run once;
    the first load stays under 150 KB; every response has the content-security-policy."""
    driver.get(BASE + "/runs?state=OPEN&sort=reward&order=desc")
    wait(driver, lambda d: table_ids(d), "the filtered table")
    expected = [run["bountyId"] for run in api("/api/runs?state=OPEN&sort=reward&order=desc")["runs"]]
    check(table_ids(driver) == expected, "filtered runs equal the API's", (table_ids(driver), expected))
    check(driver.find_element(By.NAME, "state").get_attribute("value") == "OPEN", "the form shows the URL's filters")

    total = api("/api/runs?limit=1")["pagination"]["total"]
    seen = []
    driver.get(BASE + "/runs?limit=10")
    while True:
        wait(driver, lambda d: table_ids(d), "a page of runs")
        seen += table_ids(driver)
        nexts = driver.find_elements(By.CSS_SELECTOR, 'a[rel="next"]')
        if not nexts:
            break
        nexts[0].click()
        wait(driver, lambda d: "cursor=" in d.current_url and not set(table_ids(d)) & set(seen), "the next page")
    check(len(seen) == total and len(set(seen)) == total, "paging walks every run once", (len(seen), len(set(seen)), total))

    driver.get(BASE + "/runs")
    wait(driver, lambda d: table_ids(d), "the runs page")
    transferred = driver.execute_script(
        "const nav = performance.getEntriesByType('navigation')[0];"
        "return nav.transferSize + performance.getEntriesByType('resource').reduce((s, r) => s + r.transferSize, 0);")
    check(0 < transferred < 150_000, "first load of the runs page under 150 KB", transferred)
    for path in ["/", "/runs/1", "/assets/app.js", "/assets/app.css", "/explorer/config.json"]:
        with urllib.request.urlopen(BASE + path, timeout=30) as response:
            csp = response.headers.get("Content-Security-Policy", "")
            check("default-src 'none'" in csp and "script-src 'self'" in csp, f"CSP on {path}", csp)
    # Keyboard: the first Tab reaches the skip link, and the links are reachable.
    driver.find_element(By.TAG_NAME, "body").send_keys("\ue004")
    check(driver.switch_to.active_element.get_attribute("class") == "skip", "Tab reaches the skip link first")


def live_update(driver):
    """A run changed on chain (not through the page) updates in the open page without a reload,
    through the event stream."""
    run = next(r for r in api("/api/runs?state=OPEN&limit=100")["runs"] if r["posterAddress"].lower() == OTHER_POSTER.lower())
    run_id = run["bountyId"]
    driver.get(BASE + f"/runs/{run_id}")
    wait(driver, lambda d: "OPEN" in d.find_element(By.CSS_SELECTOR, ".badge").text, "the OPEN run")
    # The page follows the event stream (not the fallback poll).
    wait(driver, lambda d: d.find_element(By.ID, "freshness").text.endswith("· live"), "the stream to open")
    driver.execute_script("window.__sameDocument = 'yes';")
    cancel = "0x40e58ee5" + hex(run_id)[2:].rjust(64, "0")  # cancel(uint256)
    rpc("eth_sendTransaction", [{"from": OTHER_POSTER, "to": api("/explorer/config.json")["contracts"]["runEscrow"], "data": cancel}])
    wait(driver, lambda d: "CANCELLED" in d.find_element(By.CSS_SELECTOR, ".badge").text, "the run to show CANCELLED")
    check(driver.execute_script("return window.__sameDocument") == "yes", "updated without a reload")
    check(any(li.text.startswith("RunCancelled") for li in driver.find_elements(By.CSS_SELECTOR, ".timeline li")), "the timeline gained the cancellation")


def set_account(driver, account):
    driver.execute_script("localStorage.setItem('testAccount', arguments[0]);", account)


def act(driver, button_id, expect):
    wait(driver, lambda d: d.find_elements(By.ID, button_id), f"the {button_id} button")
    driver.execute_script("document.getElementById('notice').replaceChildren();")
    driver.find_element(By.ID, button_id).click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".notice.ok, .notice.error"), f"{button_id} to finish", timeout=60)
    outcome = driver.execute_script("const n = document.querySelector('#notice .notice'); return [n.className, n.textContent];")
    check("ok" in outcome[0], f"{button_id} succeeded", outcome[1])
    wait(driver, lambda d: expect in d.find_element(By.CSS_SELECTOR, ".badge").text, f"the run to show {expect}", timeout=30)


def wallet_actions(driver):
    """With an EIP-1193 provider: alice posts a run from the runs page (it appears live), atlas
    claims and submits it, alice approves; balances move exactly; a revert is shown decoded."""
    driver.execute_cdp_cmd("Page.setBypassCSP", {"enabled": True})  # the test provider fetches the node
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROVIDER})
    driver.get(BASE + "/runs")
    set_account(driver, POSTER)
    driver.get(BASE + "/runs")
    wait(driver, lambda d: "Wallet" in d.find_element(By.ID, "wallet").text, "the connected wallet")
    before = set(table_ids(driver))
    poster_usdc, agent_usdc = usdc_balance(POSTER), usdc_balance(AGENT)
    form = driver.find_element(By.CSS_SELECTOR, 'form[aria-label="Post a run"]')
    form.find_element(By.NAME, "spec").send_keys("ipfs://explorer-spec")
    form.find_element(By.NAME, "reward").send_keys("12.5")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".notice.ok, .notice.error"), "the run to be created", timeout=60)
    check(driver.find_elements(By.CSS_SELECTOR, ".notice.ok"), "create succeeded", driver.find_element(By.ID, "notice").text)
    new_ids = wait(driver, lambda d: set(table_ids(d)) - before, "the new run to appear in the list")
    run_id = max(new_ids)
    check(usdc_balance(POSTER) == poster_usdc - 12_500_000 - 625_000, "alice escrowed reward + fee", usdc_balance(POSTER))

    set_account(driver, AGENT)
    driver.get(BASE + f"/runs/{run_id}")
    act(driver, "claim", "CLAIMED")
    wait(driver, lambda d: d.find_elements(By.ID, "input-deliverable"), "the agent's submit form")
    driver.find_element(By.ID, "input-deliverable").send_keys("ipfs://explorer-deliverable")
    act(driver, "submit", "SUBMITTED")
    set_account(driver, POSTER)
    driver.get(BASE + f"/runs/{run_id}")
    # Rejecting while revisions remain reverts: refused before the reject is signed, and shown as
    # the decoded contract error with the CLI's hint.
    wait(driver, lambda d: d.find_elements(By.ID, "reject"), "the poster's review actions")
    driver.find_element(By.ID, "input-reason").send_keys("ipfs://not-good")
    driver.find_element(By.ID, "reject").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".notice.error"), "the decoded revert", timeout=60)
    error = driver.find_element(By.CSS_SELECTOR, ".notice.error").text
    check(f"RunEscrowRevisionsRemaining(runId: {run_id}, revisionCount: 0, maxRevisions: 3)" in error and "Hint:" in error, "decoded revert with hint", error)
    check(api(f"/api/runs/{run_id}")["state"] == "SUBMITTED", "nothing was rejected")
    act(driver, "approve", "APPROVED")
    check(usdc_balance(AGENT) == agent_usdc + 12_500_000, "atlas was paid the reward", usdc_balance(AGENT))

    driver.get(BASE + "/runs?state=OPEN")
    wait(driver, lambda d: table_ids(d), "open runs")
    driver.save_screenshot(os.path.join(SHOTS, "runs-with-wallet.png"))
    errors = [e for e in console_errors(driver) if "testAccount" not in e["message"]]
    check(not errors, "console errors with the wallet", errors)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    driver = browser()
    try:
        driver.set_script_timeout(30)
        read_only_pages(driver)
        runs_page_matches_api(driver)
        live_update(driver)
    finally:
        driver.quit()
    driver = browser()
    try:
        driver.set_script_timeout(30)
        wallet_actions(driver)
    finally:
        driver.quit()
    print("explorer browser: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as err:
        print(f"explorer browser: FAILED: {err}", file=sys.stderr)
        sys.exit(1)
