"""Drives `runs mcp` with the official Python MCP client (the reference SDK, `mcp` on PyPI),
over stdio and over Streamable HTTP, against a running `runs devnet`.

Run by crates/cli/tests/it/mcp.rs, which starts the devnet and passes, in the environment:
RUNS_BIN, RPC_URL, RUNS_API_URL, RUNS_DEPLOYMENTS, USDC, RUN_ESCROW, POSTER_KEY,
POSTER_ADDRESS, AGENT_KEY and AGENT_ADDRESS (a fresh wallet, funded here). Exits non-zero,
with the failed check, on the first failure.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from decimal import Decimal

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from chain import API, RPC, USDC, api, call, check, rpc, usdc_balance

ENV = os.environ
RUNS = ENV["RUNS_BIN"]
ESCROW = ENV["RUN_ESCROW"]
POSTER_KEY, POSTER = ENV["POSTER_KEY"], ENV["POSTER_ADDRESS"]
AGENT_KEY, AGENT = ENV["AGENT_KEY"], ENV["AGENT_ADDRESS"]
# Anvil's account 0 deployed MockUSDC (it may mint) and is unlocked on the node.
OWNER = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

READ_TOOLS = {
    "list_runs",
    "get_run",
    "check_claim_eligibility",
    "get_agent",
    "whoami",
    "market_summary",
}
WRITE_TOOLS = {
    "register_agent",
    "stake",
    "request_unstake",
    "withdraw_stake",
    "claim_run",
    "start_run",
    "submit_work",
    "dispute_rejection",
    "withdraw_credit",
    "create_run",
    "approve_run",
    "request_revision",
    "reject_run",
    "cancel_run",
    "slash_agent",
    "expire_run",
}










def accrued_fees():
    return call(ESCROW, "0x682c2058")


def nonce(address):
    return int(rpc("eth_getTransactionCount", [address, "latest"]), 16)


def fund_agent():
    """Gas money and 100 MockUSDC for the fresh agent wallet."""
    rpc("anvil_setBalance", [AGENT, hex(10**19)])
    data = "0x40c10f19" + AGENT[2:].lower().rjust(64, "0") + hex(100 * 10**6)[2:].rjust(64, "0")
    tx = rpc("eth_sendTransaction", [{"from": OWNER, "to": USDC, "data": data}])
    for _ in range(100):
        if rpc("eth_getTransactionReceipt", [tx]):
            return
        time.sleep(0.1)
    raise AssertionError("the mint was not mined")




def server_env(key=None):
    env = {"RPC_URL": RPC, "RUNS_API_URL": API, "RUNS_DEPLOYMENTS": ENV["RUNS_DEPLOYMENTS"]}
    if key:
        env["PRIVATE_KEY"] = key
    return env


@asynccontextmanager
async def stdio_session(*args, key=None):
    params = StdioServerParameters(command=RUNS, args=["mcp", *args], env=server_env(key))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def http_session(*args, key=None):
    env = {**os.environ, **server_env(key)}
    if key is None:
        env.pop("PRIVATE_KEY", None)
    process = subprocess.Popen(
        [RUNS, "mcp", "--http", "127.0.0.1:0", *args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        check(url.startswith("http://127.0.0.1:") and url.endswith("/mcp"), "HTTP server URL", url)
        async with streamable_http_client(url) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session
    finally:
        process.terminate()
        process.wait(timeout=15)


async def ok(session, tool, **arguments):
    """Calls a tool that must succeed; its structured result."""
    result = await session.call_tool(tool, arguments)
    text = result.content[0].text if result.content else ""
    check(not result.is_error, f"{tool}({arguments}) failed", text)
    return result.structured_content


async def fails(session, tool, **arguments):
    """Calls a tool that must fail with a tool error; its text and structured details."""
    result = await session.call_tool(tool, arguments)
    text = result.content[0].text if result.content else ""
    check(result.is_error, f"{tool}({arguments}) should have failed", result.structured_content)
    return text, result.structured_content or {}


async def wait_indexed(predicate, what):
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the API never showed {what}")


async def tool_schemas():
    """Every tool is listed, described for a model, with an object schema and truthful hints."""
    async with stdio_session(key=AGENT_KEY) as session:
        tools = (await session.list_tools()).tools
        names = {tool.name for tool in tools}
        check(names == READ_TOOLS | WRITE_TOOLS, "tool names", sorted(names ^ (READ_TOOLS | WRITE_TOOLS)))
        for tool in tools:
            check(tool.description and len(tool.description) > 60, f"{tool.name} description")
            schema = tool.input_schema
            check(schema.get("type") == "object", f"{tool.name} schema type", schema)
            for name, prop in schema.get("properties", {}).items():
                described = "description" in prop or "$ref" in prop or "anyOf" in prop
                check(described, f"{tool.name}.{name} has no description", prop)
            hints = tool.annotations
            check(hints is not None, f"{tool.name} annotations")
            check(hints.read_only_hint is (tool.name in READ_TOOLS), f"{tool.name} readOnlyHint")
            if tool.name in WRITE_TOOLS:
                check(hints.destructive_hint is not None, f"{tool.name} destructiveHint")
                check(hints.idempotent_hint is not None, f"{tool.name} idempotentHint")
        # The amount schema says what a model must write.
        stake = next(tool for tool in tools if tool.name == "stake")
        check("12.5" in json.dumps(stake.input_schema), "amount schema shows the decimal form", stake.input_schema)
        templates = (await session.list_resource_templates()).resource_templates
        check({t.uri_template for t in templates} == {"runs://run/{id}", "runs://agent/{id}"}, "resource templates")


async def read_only_mode():
    async with stdio_session("--read-only", key=AGENT_KEY) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        check(names == READ_TOOLS, "--read-only exposes only the read tools", sorted(names))


async def bad_input_and_caps():
    """Bad input and spending caps are tool errors that say what was wrong; nothing is sent."""
    before = nonce(AGENT), nonce(POSTER)
    async with stdio_session("--max-stake", "50", key=AGENT_KEY) as agent:
        text, _ = await fails(agent, "get_run", runId=999999)
        check("RUN_NOT_FOUND" in text, "unknown run", text)
        text, _ = await fails(agent, "list_runs", poster="0xnot-an-address")
        check("poster" in text and "not an address" in text, "malformed address", text)
        text, _ = await fails(agent, "get_agent", agentId=0)
        check("agentId" in text, "agent id 0", text)
        text, _ = await fails(agent, "stake", amount="-5")
        check("amount" in text and "not a USDC amount" in text, "negative amount", text)
        text, _ = await fails(agent, "stake", amount="1.0000001")
        check("not a USDC amount" in text, "over-precise amount", text)
        text, _ = await fails(agent, "stake", amount="51")
        check("limit of 50 USDC" in text and "nothing was signed" in text, "stake cap", text)
        text, _ = await fails(agent, "create_run", specUri="ipfs://x", reward="10", deadline="soon")
        check("deadline" in text, "bad deadline", text)
    async with stdio_session("--max-reward", "500", key=POSTER_KEY) as poster:
        text, _ = await fails(poster, "create_run", specUri="ipfs://big", reward="500.000001")
        check("limit of 500 USDC" in text, "reward cap", text)
    async with stdio_session() as keyless:
        text, details = await fails(keyless, "claim_run", runId=1)
        check("no wallet" in text and "PRIVATE_KEY" in details.get("hint", ""), "missing key", text)
        text, _ = await fails(keyless, "whoami")
        check("no wallet" in text, "whoami without a key", text)
    check((nonce(AGENT), nonce(POSTER)) == before, "no transaction was sent", before)


async def agent_and_poster_flows():
    """A poster posts, an agent finds, checks, claims and delivers, the poster approves: the
    agent is paid the reward, the poster pays reward + fee, the escrow keeps the fee."""
    fund_agent()
    agent_usdc, poster_usdc, fees = usdc_balance(AGENT), usdc_balance(POSTER), accrued_fees()
    async with stdio_session(key=AGENT_KEY) as agent, stdio_session(key=POSTER_KEY) as poster:
        me = await ok(agent, "whoami")
        check(me["agent"] is None and me["usdcBalance"] == "100", "a fresh wallet", me)
        registered = await ok(agent, "register_agent", metadataUri="ipfs://mcp-agent")
        agent_id = registered["agentId"]
        check(isinstance(agent_id, int) and registered["transactions"][0]["txHash"].startswith("0x"), "register", registered)
        staked = await ok(agent, "stake", amount="20")
        check(staked["status"] == "PROVISIONAL" and staked["stake"] == "20000000", "stake", staked)
        tx = staked["transactions"][-1]
        check(tx["gasUsed"] > 0 and tx["blockNumber"] > 0 and tx["events"], "tx report", tx)

        created = await ok(poster, "create_run", specUri="ipfs://mcp-spec", reward="10", deadline="7d")
        run_id = created["runId"]
        events = [e["event"] for t in created["transactions"] for e in t["events"]]
        check({"RunCreated", "RunFunded"} <= set(events), "create events", events)

        # A revert comes back decoded, with the CLI's hint.
        text, details = await fails(poster, "approve_run", runId=run_id)
        check(details.get("contractError", {}).get("name") == "RunEscrowInvalidState", "decoded revert", details)
        check(details["contractError"]["fields"].get("state") == "OPEN", "revert fields", details)
        check("hint" in details and "hint:" in text, "revert hint", text)

        await wait_indexed(lambda: any(r["bountyId"] == run_id for r in api("/api/runs?state=OPEN&limit=100")["runs"]), f"run {run_id}")
        listed = await ok(agent, "list_runs", state="OPEN", limit=100)
        check(any(r["bountyId"] == run_id for r in listed["runs"]), "the new run is listed OPEN", listed)
        await wait_indexed(lambda: api(f"/api/agents/{agent_id}")["stakedAmount"] == "20000000", f"agent {agent_id}'s stake")
        eligibility = await ok(agent, "check_claim_eligibility", runId=run_id)
        check(eligibility["eligible"] is True, "eligible", eligibility)

        claimed = await ok(agent, "claim_run", runId=run_id)
        check(claimed["state"] == "CLAIMED" and "submit by" in claimed["summary"], "claim", claimed)
        started = await ok(agent, "start_run", runId=run_id)
        check(started["state"] == "IN_PROGRESS", "start", started)
        submitted = await ok(agent, "submit_work", runId=run_id, deliverableUri="ipfs://mcp-deliverable")
        check(submitted["state"] == "SUBMITTED", "submit", submitted)
        approved = await ok(poster, "approve_run", runId=run_id)
        check(approved["state"] == "APPROVED", "approve", approved)

        fee = 10 * 10**6 * 5 // 100
        check(usdc_balance(AGENT) == agent_usdc - 20 * 10**6 + 10 * 10**6, "agent paid the reward", usdc_balance(AGENT))
        check(usdc_balance(POSTER) == poster_usdc - 10 * 10**6 - fee, "poster paid reward + fee", usdc_balance(POSTER))
        check(accrued_fees() == fees + fee, "the fee accrued to the treasury", accrued_fees())

        await wait_indexed(lambda: api(f"/api/runs/{run_id}")["state"] == "APPROVED", f"run {run_id} APPROVED")
        run = await ok(agent, "get_run", runId=run_id)
        check(run["state"] == "APPROVED" and run["timers"]["state"] == "APPROVED", "get_run", run)
        history = [event["type"] for event in run["events"]]
        check(len(history) >= 5 and "Approved" in history, "history", history)
        me = await ok(agent, "whoami")
        check(me["agent"]["completions"] == 1 and me["agent"]["openClaims"] == [], "whoami after", me)
        resource = await agent.read_resource(f"runs://run/{run_id}")
        check(json.loads(resource.contents[0].text)["bountyId"] == run_id, "run resource", resource)
        return run_id, agent_id


async def over_http(run_id, agent_id):
    """The same server over Streamable HTTP: reads, a write, and a decoded revert."""
    async with http_session(key=AGENT_KEY) as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        check(names == READ_TOOLS | WRITE_TOOLS, "HTTP tool names", sorted(names))
        summary = await ok(session, "market_summary")
        total = api("/api/runs?limit=1")["pagination"]["total"]
        check(summary["totalRuns"] == total and sum(summary["runsByState"].values()) == total, "summary counts", summary)
        open_volume = sum(Decimal(r["reward"]) for r in api("/api/runs?state=OPEN&limit=100")["runs"]) / 10**6
        check(Decimal(summary["openRewardVolume"]) == open_volume, "open volume", summary)
        run = await ok(session, "get_run", runId=run_id)
        check(run["state"] == "APPROVED", "HTTP get_run", run)
        agent = await ok(session, "get_agent", agentId=agent_id)
        check(agent["status"] == "PROVISIONAL", "HTTP get_agent", agent)
        unstaked = await ok(session, "request_unstake", amount="5")
        check(unstaked["pendingUnstake"] == "5000000", "HTTP request_unstake", unstaked)
        _, details = await fails(session, "claim_run", runId=run_id)
        revert = details.get("contractError", {})
        check(revert.get("name") == "RunEscrowNotClaimable", "HTTP decoded revert", details)
        check("RUN_NOT_OPEN" in revert["fields"]["reasons"], "HTTP revert reasons", revert)
    async with http_session("--read-only") as session:
        names = {tool.name for tool in (await session.list_tools()).tools}
        check(names == READ_TOOLS, "HTTP --read-only", sorted(names))


async def main():
    await tool_schemas()
    await read_only_mode()
    await bad_input_and_caps()
    run_id, agent_id = await agent_and_poster_flows()
    await over_http(run_id, agent_id)
    print("mcp client: all checks passed")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as err:
        print(f"mcp client: FAILED: {err}", file=sys.stderr)
        sys.exit(1)
