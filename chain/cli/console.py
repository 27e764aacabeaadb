"""`chain console`: an interactive shell on a node, in the spirit of the FISCO BCOS console.

The shell is two layers, so that everything but the keyboard can be tested without a terminal:

* ``Console.execute(line) -> str`` parses one command line, runs it through the SDK and returns the
  text to print (errors included: a bad command is a helpful message, never a traceback);
* ``run_interactive`` is the prompt_toolkit loop around it (history file, tab completion of
  commands, contract names and function names).

Contracts come from a library of compiled artifacts (``Name.abi`` + ``Name.bin``, or ``Name.json``
holding ``abi`` and ``bytecode``): the samples shipped in ``chain/contracts/artifacts/<suite>`` and
any ``--contracts`` directory. ``deploy`` remembers each address, so ``call Name latest fn`` targets the last one.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import typer

from chain.abi.artifact import Artifact
from chain.abi.codec import ABIError, ContractABI, DecodedEvent, decode_revert_reason, encode_call
from chain.errors import ChainError, KeyFileError
from chain.sdk.account import Account
from chain.sdk.client import SyncClient
from chain.sdk.contract import Contract, SyncContract, status_name
from chain.sdk.errors import RpcCallError, RpcTransportError

SYSTEM_CONFIG = bytes.fromhex("0000000000000000000000000000000000001000")
CONSENSUS = bytes.fromhex("0000000000000000000000000000000000001003")
DEFAULT_RPC = "http://127.0.0.1:8545"
HISTORY_FILE = Path.home() / ".chain_console_history"
ADDRESS_TEXT = re.compile(r"0x[0-9a-fA-F]{40}")


class UsageError(ChainError):
    """A command line the console cannot run; the message says how to write it."""


# --- the contract library ---------------------------------------------------------------------

def load_artifacts(directories: Iterable[Path]) -> dict[str, Artifact]:
    """Every compiled contract found in the directories (later directories win on a name clash)."""
    found: dict[str, Artifact] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for abi_file in sorted(directory.rglob("*.abi")):
            bin_file = abi_file.with_suffix(".bin")
            if bin_file.exists():
                artifact = _artifact(abi_file.stem, abi_file.read_text(), bin_file.read_text())
                if artifact:
                    found[artifact.name] = artifact
        for json_file in sorted(directory.rglob("*.json")):
            try:
                data = json.loads(json_file.read_text())
            except (ValueError, OSError, UnicodeDecodeError):
                continue
            if isinstance(data, dict) and "abi" in data and ("bytecode" in data or "bin" in data):
                artifact = _artifact(json_file.stem, data["abi"], data.get("bytecode") or data.get("bin"))
                if artifact:
                    found[artifact.name] = artifact
    return found


def _artifact(name: str, abi: Any, bytecode: Any) -> Artifact | None:
    try:
        entries = json.loads(abi) if isinstance(abi, str) else abi
        code = bytecode.strip()
        code = bytes.fromhex(code[2:] if code.startswith("0x") else code)
    except (ValueError, AttributeError, TypeError):
        return None  # not an artifact we can use; skip it rather than fail the whole library
    if not isinstance(entries, list) or not code:
        return None
    return Artifact(name, tuple(entries), code)


def default_contract_dirs(suite_name: str) -> list[Path]:
    """The shipped samples, compiled for this suite (sm bytecode hashes with SM3, so it differs)."""
    return [Path(__file__).resolve().parent.parent / "contracts" / "artifacts" / suite_name]


# --- turning command-line words into ABI values ------------------------------------------------

def parse_value(kind: str, text: str) -> Any:
    """One argument, given as text on the command line, as the Python value eth-abi wants for kind."""
    if kind.endswith("]") or kind.startswith("("):  # arrays and tuples: JSON, converted item by item
        try:
            items = json.loads(text)
        except ValueError:
            raise UsageError(f"{kind} argument must be JSON, e.g. [1,2], got {text!r}") from None
        return _convert_json(kind, items)
    if kind.startswith(("uint", "int")):
        try:
            return int(text, 0)
        except ValueError:
            raise UsageError(f"{kind} argument must be a number, got {text!r}") from None
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise UsageError(f"bool argument must be true or false, got {text!r}")
        return text.lower() == "true"
    if kind == "address" or kind.startswith("bytes"):
        value = hex_bytes(text)
        if value is None:
            raise UsageError(f"{kind} argument must be hex, got {text!r}")
        return value if kind.startswith("bytes") else "0x" + value.hex()
    return text  # string


def hex_bytes(text: str) -> bytes | None:
    """Hex typed by a person, with or without 0x; None if it is not hex."""
    try:
        return bytes.fromhex(text[2:] if text[:2].lower() == "0x" else text)
    except ValueError:
        return None


def _convert_json(kind: str, value: Any) -> Any:
    if kind.endswith("]"):
        inner = kind[: kind.rindex("[")]
        if not isinstance(value, list):
            raise UsageError(f"{kind} argument must be a JSON list")
        return [_convert_json(inner, item) for item in value]
    if isinstance(value, str):
        return parse_value(kind, value)
    return value


def format_value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, str):
        if ADDRESS_TEXT.fullmatch(value):  # eth-abi gives addresses as text: show them bare
            return value
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def format_event(event: DecodedEvent) -> str:
    return f"event {event.name}(" + ", ".join(f"{k}={format_value(v)}" for k, v in event.args.items()) + ")"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


# --- commands ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    handler: Callable[[Console, list[str]], str]
    usage: str
    summary: str


COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, summary: str) -> Callable[[Callable[[Console, list[str]], str]], Callable[[Console, list[str]], str]]:
    def register(handler: Callable[[Console, list[str]], str]) -> Callable[[Console, list[str]], str]:
        COMMANDS[name] = Command(handler, usage, summary)
        return handler
    return register


class Console:
    """The command interpreter: one line in, the text to show out."""

    def __init__(self, client: SyncClient, account: Account | None, contracts: Mapping[str, Artifact]) -> None:
        self.client = client
        self.account = account
        self.contracts = dict(contracts)
        self.deployed: dict[str, list[bytes]] = {}
        self.finished = False
        self.channel: Any = None  # chain.channel.client.ChannelEndpoint of the node, when known (--dir)

    def execute(self, line: str) -> str:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            return f"error: {exc} (quote arguments with spaces: \"like this\")"
        if not words:
            return ""
        name, args = words[0], words[1:]
        entry = COMMANDS.get(name)
        if entry is None:
            close = [c for c in COMMANDS if c.lower().startswith(name.lower()[:3])]
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            return f"error: unknown command {name!r}{hint} (type help for the list)"
        try:
            return entry.handler(self, args)
        except UsageError as exc:
            return f"error: {exc}\nusage: {entry.usage}"
        except RpcCallError as exc:
            return f"error from node: {exc.message} (code {exc.code})"
        except ChainError as exc:  # a reverted call, a bad answer, an unreachable node...
            return f"error: {exc}"

    # --- helpers used by the commands ---

    def need_account(self) -> Account:
        if self.account is None:
            raise UsageError("this command sends a transaction: start the console with --key FILE")
        return self.account

    def artifact(self, name: str) -> Artifact:
        if name not in self.contracts:
            known = ", ".join(sorted(self.contracts)) or "none found"
            raise UsageError(f"unknown contract {name!r} (known: {known})")
        return self.contracts[name]

    def address_of(self, name: str, text: str) -> bytes:
        if text == "latest":
            if not self.deployed.get(name):
                raise UsageError(f"no {name} deployed in this session: give its address instead of latest")
            return self.deployed[name][-1]
        address = hex_bytes(text)
        if address is None or len(address) != 20:
            raise UsageError(f"{text!r} is not a contract address (20 bytes of hex) or 'latest'")
        return address

    def contract(self, name: str, address_text: str) -> SyncContract:
        artifact = self.artifact(name)
        abi = ContractABI(self.client.suite, list(artifact.abi))
        return SyncContract(Contract(self.client.client, abi, self.address_of(name, address_text), self.account),
                            self.client)

    def arguments(self, types: Sequence[str], words: Sequence[str], what: str) -> list[Any]:
        if len(types) != len(words):
            raise UsageError(f"{what} takes {len(types)} argument(s) ({', '.join(types) or 'none'}), got {len(words)}")
        return [parse_value(kind, word) for kind, word in zip(types, words)]

    def system_transaction(self, to: bytes, signature: str, *args: Any) -> str:
        receipt = self.client.send_and_wait(self.need_account(), to, encode_call(self.client.suite, signature, *args))
        if not receipt.ok:
            reason = decode_revert_reason(self.client.suite, receipt.output)
            return f"failed: {status_name(receipt.status)}" + (f": {reason}" if reason else "")
        return f"success (transaction 0x{receipt.transaction_hash.hex()}, block {receipt.block_number})"


def _number(text: str, what: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise UsageError(f"{what} must be a number, got {text!r}") from None


def _hex32(text: str, what: str) -> bytes:
    value = hex_bytes(text)
    if value is None or len(value) != 32:
        raise UsageError(f"{what} must be 32 bytes of hex, got {text!r}")
    return value


def _arity(args: list[str], low: int, high: int | None = None) -> None:
    high = low if high is None else high
    if not low <= len(args) <= high:
        raise UsageError(f"expected {low if low == high else f'{low} to {high}'} argument(s), got {len(args)}")


@command("help", "help [command]", "list the commands, or explain one")
def cmd_help(console: Console, args: list[str]) -> str:
    if args:
        entry = COMMANDS.get(args[0])
        if entry is None:
            raise UsageError(f"no command {args[0]!r}")
        return f"{entry.usage}\n  {entry.summary}"
    width = max(len(name) for name in COMMANDS)
    return "\n".join(f"{name.ljust(width)}  {entry.summary}" for name, entry in COMMANDS.items())


@command("quit", "quit", "leave the console")
def cmd_quit(console: Console, args: list[str]) -> str:
    console.finished = True
    return "bye"


@command("getBlockNumber", "getBlockNumber", "height of the latest block")
def cmd_block_number(console: Console, args: list[str]) -> str:
    _arity(args, 0)
    return str(console.client.block_number())


@command("getBlockByNumber", "getBlockByNumber <number> [true|false]", "a block, with full transactions unless false")
def cmd_block_by_number(console: Console, args: list[str]) -> str:
    _arity(args, 1, 2)
    full = parse_value("bool", args[1]) if len(args) == 2 else True
    number = _number(args[0], "block number")
    if number < 0:  # heights start at 0 (genesis)
        raise UsageError(f"block number must be 0 or more, got {number}")
    return pretty(console.client.block_by_number(number, full))


@command("getTransactionReceipt", "getTransactionReceipt <txHash>", "a receipt, with events decoded by known ABIs")
def cmd_receipt(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    tx_hash = _hex32(args[0], "transaction hash")
    view = console.client.receipt_view(tx_hash)
    if view is None:
        return "no receipt yet (unknown, or not yet in a block)"
    text = pretty(view)
    receipt = console.client.receipt(tx_hash)
    events = []
    for artifact in console.contracts.values():
        events += ContractABI(console.client.suite, list(artifact.abi)).decode_logs(receipt.logs)
    for event in events:
        text += f"\n{format_event(event)} from 0x{event.address.hex()}"
    reason = decode_revert_reason(console.client.suite, receipt.output) if not receipt.ok else None
    if reason:
        text += f"\nrevert reason: {reason}"
    return text


def _log_words(args: list[str]) -> tuple[bytes | None, list[bytes | None]]:
    """[address|-] [topic|- ...] → (address or None, topics with None as a wildcard)."""
    address = None if not args or args[0] == "-" else hex_bytes(args[0])
    if args and args[0] != "-" and (address is None or len(address) != 20):
        raise UsageError(f"address must be 20 bytes of hex (or - for any), got {args[0]!r}")
    topics = [None if word == "-" else _hex32(word, "topic") for word in args[1:]]
    return address, topics


@command("getLogs", "getLogs <fromBlock|latest> <toBlock|latest> [address|-] [topic|- ...]",
         "event logs in a block range (at most 10000 blocks), by emitter and topics")
def cmd_get_logs(console: Console, args: list[str]) -> str:
    _arity(args, 2, 7)
    ends = [None if word == "latest" else _number(word, "block number") for word in args[:2]]
    address, topics = _log_words(args[2:])
    return pretty(console.client.logs(from_block=ends[0], to_block=ends[1], address=address, topics=topics))


@command("subscribeLogs", "subscribeLogs [address|-] [topic|- ...]",
         "wait for new event logs pushed by the node (up to 10 logs or 30 s)")
def cmd_subscribe_logs(console: Console, args: list[str]) -> str:
    _arity(args, 0, 5)
    address, topics = _log_words(args)
    found = console.client.wait_for_logs(10, 30.0, address=address, topics=topics)
    return pretty(found) if found else "no logs within 30 s"


def _channel(console: Console) -> Any:
    if console.channel is None:
        raise UsageError("no channel port known: start the console with --dir CHAIN (a chain built by `chain build`)")
    return console.channel


@command("subscribeBlocks", "subscribeBlocks [count] [seconds]",
         "block numbers the node pushes over the channel port (default: 3 blocks or 30 s)")
def cmd_subscribe_blocks(console: Console, args: list[str]) -> str:
    from chain.channel.client import watch_blocks

    _arity(args, 0, 2)
    count = _number(args[0], "count") if args else 3
    seconds = _number(args[1], "seconds") if len(args) > 1 else 30
    numbers = watch_blocks(_channel(console), count, seconds)
    return "\n".join(f"block {n}" for n in numbers) or f"no block within {seconds} s"


@command("subscribeTopic", "subscribeTopic TOPIC [count] [seconds]",
         "listen on an AMOP topic and answer each request (default: 1 message or 30 s)")
def cmd_subscribe_topic(console: Console, args: list[str]) -> str:
    from chain.channel.client import watch_topic

    _arity(args, 1, 3)
    count = _number(args[1], "count") if len(args) > 1 else 1
    seconds = _number(args[2], "seconds") if len(args) > 2 else 30
    got = watch_topic(_channel(console), args[0], count, seconds)
    lines = [f"{kind} on {args[0]}: {content.decode(errors='replace')}" for kind, content in got]
    return "\n".join(lines) or f"nothing on {args[0]} within {seconds} s"


@command("publish", "publish TOPIC MESSAGE [multicast]",
         "send an AMOP message to one SDK listening on TOPIC (at any node), or to all with multicast")
def cmd_publish(console: Console, args: list[str]) -> str:
    from chain.channel.client import ChannelError, publish_once
    from chain.channel.framing import ChannelResult

    _arity(args, 2, 3)
    multicast = len(args) == 3
    if multicast and args[2] != "multicast":
        raise UsageError(f"the third word can only be multicast, got {args[2]!r}")
    try:
        answer = publish_once(_channel(console), args[0], args[1].encode(), multicast)
    except ChannelError as exc:
        if exc.result == ChannelResult.REMOTE_PEER_UNAVAILABLE:
            return f"no SDK listens on {args[0]} at any node (FISCO result 100)"
        raise
    return "sent to every listener" if answer is None else f"answer: {answer.decode(errors='replace')}"


def _node_ids(console: Console, args: list[str], method: str) -> str:
    _arity(args, 0)
    return "\n".join(console.client.group_call(method)) or "(none)"


@command("getSealerList", "getSealerList", "node ids of the sealers")
def cmd_sealers(console: Console, args: list[str]) -> str:
    return _node_ids(console, args, "getSealerList")


@command("getObserverList", "getObserverList", "node ids of the observers")
def cmd_observers(console: Console, args: list[str]) -> str:
    return _node_ids(console, args, "getObserverList")


@command("getGroupList", "getGroupList", "the groups this node serves (2.x ids; --group picks one)")
def cmd_groups(console: Console, args: list[str]) -> str:
    _arity(args, 0)
    return " ".join(f"{g} (group{int(g) - 1})" for g in console.client.request("getGroupList", [])) or "(none)"


@command("getPbftView", "getPbftView", "the current PBFT view")
def cmd_view(console: Console, args: list[str]) -> str:
    _arity(args, 0)
    return str(int(console.client.group_call("getPbftView"), 16))


@command("getSystemConfigByKey", "getSystemConfigByKey <key>", "a system config value (tx_count_limit, ...)")
def cmd_get_config(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return console.client.system_config(args[0])


def committee_governs(console: Console, proposal: str) -> str | None:
    """On an auth chain (built with --auth) the admin commands are closed: say which proposal to make."""
    if console.client.system_config("auth_check_status") != "1":
        return None
    return (f"this chain is governed by its committee (built with --auth): a governor proposes it with {proposal}, "
            "the others vote with voteProposal <id> (getCommitteeInfo lists the governors)")


@command("setSystemConfigByKey", "setSystemConfigByKey <key> <value>", "change a system config value (admin; from the next block)")
def cmd_set_config(console: Console, args: list[str]) -> str:
    _arity(args, 2)
    closed = committee_governs(console, f"setSysConfigProposal {args[0]} {args[1]}")
    if closed:
        return closed
    return console.system_transaction(SYSTEM_CONFIG, "setValueByKey(string,string)", args[0], args[1])


@command("addSealer", "addSealer <nodeId> [weight]", "make a node a sealer (admin; from the next block)")
def cmd_add_sealer(console: Console, args: list[str]) -> str:
    _arity(args, 1, 2)
    weight = _number(args[1], "weight") if len(args) == 2 else 1
    closed = committee_governs(console, f"addSealerProposal <nodeId> {weight}")
    if closed:
        return closed
    return console.system_transaction(CONSENSUS, "addSealer(string,uint256)", args[0], weight)


@command("addObserver", "addObserver <nodeId>", "make a node an observer (admin; from the next block)")
def cmd_add_observer(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    closed = committee_governs(console, "addObserverProposal <nodeId>")
    if closed:
        return closed
    return console.system_transaction(CONSENSUS, "addObserver(string)", args[0])


@command("removeNode", "removeNode <nodeId>", "remove a node from the consensus list (admin)")
def cmd_remove_node(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    closed = committee_governs(console, "removeNodeProposal <nodeId>")
    if closed:
        return closed
    return console.system_transaction(CONSENSUS, "remove(string)", args[0])


@command("deploy", "deploy <Contract> [constructor args...]", "deploy a compiled contract; prints its address")
def cmd_deploy(console: Console, args: list[str]) -> str:
    if not args:
        raise UsageError("name the contract to deploy")
    artifact = console.artifact(args[0])
    abi = ContractABI(console.client.suite, list(artifact.abi))
    values = console.arguments(abi.constructor_inputs, args[1:], f"{artifact.name}'s constructor")
    try:
        deployed = SyncContract.deploy(console.client, console.need_account(), abi, artifact.bytecode, *values)
    except ABIError as exc:
        raise UsageError(str(exc)) from None
    console.deployed.setdefault(artifact.name, []).append(deployed.address)
    return f"contract address: 0x{deployed.address.hex()}"


def _function_call(console: Console, args: list[str], send: bool) -> str:
    if len(args) < 3:
        raise UsageError("give the contract name, its address (or latest) and the function")
    contract = console.contract(args[0], args[1])
    try:
        function = contract.abi.function(args[2])
    except ABIError:
        names = sorted(f for f in contract.abi.functions if "(" not in f)
        raise UsageError(f"{args[0]} has no function {args[2]!r} (it has: {', '.join(names)})") from None
    values = console.arguments(function.inputs, args[3:], function.signature)
    if args[1] != "latest" and not console.client.code(contract.address):
        # the EVM runs a call to an account without code as a success that does nothing: say so instead
        raise UsageError(f"no contract at {args[1]} (deploy {args[0]} first, or check the address)")
    try:
        if not send:
            result = contract.call(function.signature, *values)
            return format_value(result)
        outcome = contract.transact(function.signature, *values, account=console.need_account())
    except ABIError as exc:
        raise UsageError(str(exc)) from None
    lines = [f"transaction hash: 0x{outcome.transaction_hash.hex()}", f"block: {outcome.receipt.block_number}"]
    if outcome.outputs:
        lines.append("output: " + ", ".join(format_value(v) for v in outcome.outputs))
    lines.extend(format_event(event) for event in outcome.events)
    return "\n".join(lines)


@command("call", "call <Contract> <address|latest> <function> [args...]", "query a function (no transaction)")
def cmd_call(console: Console, args: list[str]) -> str:
    return _function_call(console, args, send=False)


@command("sendtx", "sendtx <Contract> <address|latest> <function> [args...]", "call a function in a signed transaction")
def cmd_sendtx(console: Console, args: list[str]) -> str:
    return _function_call(console, args, send=True)


# --- the interactive loop ------------------------------------------------------------------------

def make_completer(console: Console) -> Any:
    from prompt_toolkit.completion import Completer, Completion

    class ConsoleCompleter(Completer):
        """Commands first; then contract names for deploy/call/sendtx; then function names."""

        def get_completions(self, document: Any, complete_event: Any) -> Iterable[Completion]:
            text = document.text_before_cursor
            words = text.split()
            current = "" if text.endswith(" ") or not words else words[-1]
            position = len(words) - (0 if text.endswith(" ") or not words else 1)
            if position == 0:
                choices: Iterable[str] = COMMANDS
            elif words[0] in ("deploy", "call", "sendtx") and position == 1:
                choices = console.contracts
            elif words[0] in ("call", "sendtx") and position == 2:
                choices = ["latest"]
            elif words[0] in ("call", "sendtx") and position == 3 and words[1] in console.contracts:
                choices = [e["name"] for e in console.contracts[words[1]].abi if e.get("type", "function") == "function"]
            elif words[0] == "help" and position == 1:
                choices = COMMANDS
            else:
                choices = []
            for choice in sorted(set(choices)):
                if choice.startswith(current):
                    yield Completion(choice, start_position=-len(current))

    return ConsoleCompleter()


def run_script(console: Console, lines: Iterable[str]) -> None:
    """Run commands one per line (stdin that is not a terminal: `chain console < script.txt`)."""
    for line in lines:
        output = console.execute(line)
        if output:
            print(output)
        if console.finished:
            break


def run_interactive(console: Console, history_file: Path = HISTORY_FILE) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    if not sys.stdin.isatty():
        run_script(console, sys.stdin)
        return

    session: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)), completer=make_completer(console))
    while not console.finished:
        try:
            line = session.prompt("[chain]> ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        output = console.execute(line)
        if output:
            print(output)


def from_chain_dir(directory: Path) -> tuple[str, Path | None]:
    """(node0's RPC URL, the admin key file) of a chain built by `chain build`."""
    from chain.node.builder import read_nodes

    url = read_nodes(directory)[0].rpc
    admin = directory / "sdk" / "admin.key"
    return url, admin if admin.exists() else None


def node_suite(rpc: str, group: int) -> str:
    """The suite a node says it uses (getClientVersion's "Crypto Suite"); the question needs no signing."""
    from chain.crypto.suite import get_suite

    with SyncClient(rpc, get_suite("standard"), group) as probe:
        return str(probe.client_version().get("Crypto Suite", "sm"))


def console(
    rpc: str = typer.Option(DEFAULT_RPC, "--rpc", help="JSON-RPC URL of a node"),
    chain_dir: Path | None = typer.Option(None, "--dir", help="a chain built by `chain build`: node0's RPC and sdk/admin.key"),
    key: Path | None = typer.Option(None, "--key", help="private key file that signs transactions (PEM)"),
    password: bool = typer.Option(False, "--password", help="the key file is encrypted: prompt for it"),
    suite: str | None = typer.Option(None, "--suite", help="crypto suite (default: ask the node)"),
    contracts: list[Path] = typer.Option([], "--contracts", help="directory of compiled contracts (.abi + .bin, or .json)"),
    group: int = typer.Option(1, "--group", help="group id"),
) -> None:
    """An interactive console on a node: blocks, receipts, contracts, governance."""
    from chain.cli.errors import reported
    from chain.crypto.suite import get_suite

    account = None
    with reported():
        if chain_dir is not None:
            rpc, admin_key = from_chain_dir(chain_dir)
            key = key or admin_key
        if key is not None:
            secret = typer.prompt("password", hide_input=True) if password else None
            try:
                account = Account.from_key_file(key, secret)
            except KeyFileError as exc:  # name the file: "not a PEM file" alone does not say which
                raise KeyFileError(str(exc) if str(key) in str(exc) else f"key file {key}: {exc}") from None
        if suite is None:
            try:
                suite = node_suite(rpc, group)
            except RpcTransportError as exc:  # the commonest first mistake: no node started yet
                raise RpcTransportError(f"{exc} (is a node running there? `chain node status DIR` tells)") from None
        # a key of the other suite signs transactions the node cannot verify
        if account is not None and account.suite.name != suite:
            raise UsageError(f"the key is a {account.suite.name} key but the chain uses {suite}")
        client = SyncClient(rpc, get_suite(suite), group)
    shell = Console(client, account, load_artifacts(default_contract_dirs(suite) + list(contracts)))
    if chain_dir is not None:  # the channel commands (subscribeBlocks, subscribeTopic, publish) use node0's port
        from chain.node.builder import channel_endpoint

        shell.channel = channel_endpoint(chain_dir)
    typer.echo(f"connected to {rpc} ({suite} suite); account: "
               f"{'0x' + account.address.hex() if account else 'none (read-only: pass --key to send transactions)'}")
    typer.echo("type help for the commands, Tab to complete, quit to leave")
    try:
        run_interactive(shell)
    finally:
        client.close()


# The permission-governance commands of auth chains (getCommitteeInfo, voteProposal, ...) register
# themselves in COMMANDS; imported last because they use the helpers above.
from chain.cli import console_governance  # noqa: E402,F401
