"""The console's permission-governance commands, with FISCO BCOS 3.x's names and arguments.

Registered into ``chain.cli.console``'s command table when that module loads. Three kinds, as in
FISCO's committee guide: reads anyone may run (getCommitteeInfo, getProposalInfo, getDeployAuth,
checkDeployAuth, checkMethodAuth, getLatestProposal, getContractAdmin, getAccountStatus); a
governor's (the *Proposal commands, voteProposal, revokeProposal, freeze/unfreeze/abolishAccount);
a contract admin's (setMethodAuth, open/closeMethodAuth, freeze/unfreezeContract). The SDK calls
behind them are ``chain.sdk.governance.Governance``.
"""

from __future__ import annotations

from chain.cli.console import Console, UsageError, _arity, _number, command, hex_bytes
from chain.ledger.permissions import AccountStatus, AuthType
from chain.ledger.receipt import Receipt
from chain.sdk.contract import status_name
from chain.sdk.governance import Governance, ProposalInfo, proposal_id_of, reason_of

RULE = "-" * 93
AUTH_TYPES = {"white_list": AuthType.WHITE_LIST, "black_list": AuthType.BLACK_LIST}


def governance(console: Console, write: bool = False) -> Governance:
    return Governance(console.client, console.need_account() if write else console.account)


def _address(text: str, what: str) -> bytes:
    value = hex_bytes(text)
    if value is None or len(value) != 20:
        raise UsageError(f"{what} must be an address (20 bytes of hex), got {text!r}")
    return value


def _failed(console: Console, receipt: Receipt) -> str:
    reason = reason_of(console.client.suite, receipt)
    return f"failed: {status_name(receipt.status)}" + (f": {reason}" if reason else "")


def format_proposal(info: ProposalInfo) -> str:
    return "\n".join([
        RULE,
        f"Proposer: 0x{info.proposer.hex()}",
        f"Proposal Type   : {info.type_name}",
        f"Proposal Status : {info.status_name}",
        f"Open until block: {info.deadline}",
        RULE,
        "Agree Voters:", *[f"0x{a.hex()}" for a in info.agree],
        RULE,
        "Against Voters:", *[f"0x{a.hex()}" for a in info.against],
    ])


def _proposal_made(console: Console, receipt: Receipt, what: str) -> str:
    if not receipt.ok:
        return _failed(console, receipt)
    proposal_id = proposal_id_of(receipt)
    info = governance(console).proposal_info(proposal_id)
    return f"{what} proposal created, ID is: {proposal_id}" + (f"\n{format_proposal(info)}" if info else "")


def _done(console: Console, receipt: Receipt, what: str = "success") -> str:
    if not receipt.ok:
        return _failed(console, receipt)
    return f"{what} (transaction 0x{receipt.transaction_hash.hex()}, block {receipt.block_number})"


# --- reads ---------------------------------------------------------------------------------------

@command("getCommitteeInfo", "getCommitteeInfo", "the governors, their weights and the committee's rates (auth chains)")
def cmd_committee_info(console: Console, args: list[str]) -> str:
    _arity(args, 0)
    info = governance(console).committee_info()
    lines = [RULE, "Committee address   : 0x" + "0" * 35 + "10001", RULE,
             f"ParticipatesRate: {info.participates_rate}% , WinRate: {info.win_rate}%", RULE,
             "Governor Address                                        | Weight"]
    lines += [f"index{i} : 0x{a.hex()}     | {w}" for i, (a, w) in enumerate(info.governors)]
    return "\n".join(lines)


@command("getProposalInfo", "getProposalInfo <id> [toId]", "one proposal, or a range of them: type, status, votes")
def cmd_proposal_info(console: Console, args: list[str]) -> str:
    _arity(args, 1, 2)
    first = _number(args[0], "proposal id")
    last = _number(args[1], "last proposal id") if len(args) == 2 else first
    if not 1 <= first <= last or last - first > 50:
        raise UsageError("give a proposal id >= 1, or a range of at most 50")
    shown = []
    for proposal_id in range(first, last + 1):
        info = governance(console).proposal_info(proposal_id)
        shown.append(f"Proposal ID: {proposal_id}\n" + (format_proposal(info) if info else "no such proposal"))
    return "\n".join(shown)


@command("getLatestProposal", "getLatestProposal", "the newest proposal")
def cmd_latest_proposal(console: Console, args: list[str]) -> str:
    _arity(args, 0)
    latest = governance(console).latest_proposal()
    return "no proposal yet" if latest == 0 else cmd_proposal_info(console, [str(latest)])


@command("getDeployAuth", "getDeployAuth", "the chain's deploy policy: none, white list or black list")
def cmd_deploy_auth(console: Console, args: list[str]) -> str:
    _arity(args, 0)
    kind = governance(console).deploy_type()
    if kind == AuthType.NONE:
        return "There is no deploy strategy, everyone can deploy contracts."
    return f"Deploy strategy is {'White List' if kind == AuthType.WHITE_LIST else 'Black List'} Access."


@command("checkDeployAuth", "checkDeployAuth [account]", "may this account (default: yours) deploy?")
def cmd_check_deploy_auth(console: Console, args: list[str]) -> str:
    _arity(args, 0, 1)
    account = _address(args[0], "account") if args else console.need_account().address
    allowed = governance(console).has_deploy_auth(account)
    return f"Deploy : {'ACCESS' if allowed else 'PERMISSION DENIED'}\nAccount: 0x{account.hex()}"


@command("getContractAdmin", "getContractAdmin <contract>", "the account that administers a contract's ACLs")
def cmd_contract_admin(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    contract = _address(args[0], "contract")
    return f"Admin for contract 0x{contract.hex()} is: 0x{governance(console).contract_admin(contract).hex()}"


@command("checkMethodAuth", "checkMethodAuth <contract> <function> [account]", "may this account call this method?")
def cmd_check_method_auth(console: Console, args: list[str]) -> str:
    _arity(args, 2, 3)
    account = _address(args[2], "account") if len(args) == 3 else console.need_account().address
    allowed = governance(console).check_method_auth(_address(args[0], "contract"), args[1], account)
    return f"Method {args[1]} : {'ACCESS' if allowed else 'PERMISSION DENIED'}\nAccount: 0x{account.hex()}"


@command("getAccountStatus", "getAccountStatus <account>", "normal, frozen or abolished")
def cmd_account_status(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    account = _address(args[0], "account")
    return f"Account 0x{account.hex()} status: {governance(console).account_status(account).name.lower()}"


# --- a governor's proposals and votes ------------------------------------------------------------

@command("updateGovernorProposal", "updateGovernorProposal <account> <weight>",
         "propose to add a governor, change its weight, or remove it (weight 0)")
def cmd_update_governor(console: Console, args: list[str]) -> str:
    _arity(args, 2)
    receipt = governance(console, True).update_governor(_address(args[0], "account"), _number(args[1], "weight"))
    return _proposal_made(console, receipt, "Update governor")


@command("setRateProposal", "setRateProposal <participatesRate> <winRate>", "propose the committee's rates (percent)")
def cmd_set_rate(console: Console, args: list[str]) -> str:
    _arity(args, 2)
    rates = [_number(a, "rate") for a in args]
    if not all(0 <= r <= 100 for r in rates):
        raise UsageError("rates are percentages, 0 to 100")
    return _proposal_made(console, governance(console, True).set_rate(rates[0], rates[1]), "Set rate")


@command("setDeployAuthTypeProposal", "setDeployAuthTypeProposal <white_list|black_list>", "propose the deploy policy")
def cmd_set_deploy_type(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    if args[0] not in AUTH_TYPES:
        raise UsageError(f"the policy is white_list or black_list, got {args[0]!r}")
    receipt = governance(console, True).set_deploy_auth_type(AUTH_TYPES[args[0]])
    return _proposal_made(console, receipt, "Set deploy auth type")


@command("openDeployAuthProposal", "openDeployAuthProposal <account>", "propose to let an account deploy")
def cmd_open_deploy(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    receipt = governance(console, True).modify_deploy_auth(_address(args[0], "account"), True)
    return _proposal_made(console, receipt, "Open deploy auth")


@command("closeDeployAuthProposal", "closeDeployAuthProposal <account>", "propose to stop an account deploying")
def cmd_close_deploy(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    receipt = governance(console, True).modify_deploy_auth(_address(args[0], "account"), False)
    return _proposal_made(console, receipt, "Close deploy auth")


@command("resetAdminProposal", "resetAdminProposal <newAdmin> <contract>", "propose a new admin for a contract")
def cmd_reset_admin(console: Console, args: list[str]) -> str:
    _arity(args, 2)
    receipt = governance(console, True).reset_admin(_address(args[0], "new admin"), _address(args[1], "contract"))
    return _proposal_made(console, receipt, "Reset admin")


@command("setSysConfigProposal", "setSysConfigProposal <key> <value>", "propose a system config value")
def cmd_set_config_proposal(console: Console, args: list[str]) -> str:
    _arity(args, 2)
    return _proposal_made(console, governance(console, True).set_sys_config(args[0], args[1]), "Set system config")


@command("addSealerProposal", "addSealerProposal <nodeId> <weight>", "propose a new sealer")
def cmd_add_sealer_proposal(console: Console, args: list[str]) -> str:
    _arity(args, 2)
    weight = _number(args[1], "weight")
    if weight < 1:
        raise UsageError("a sealer's weight is at least 1 (addObserverProposal for an observer)")
    return _proposal_made(console, governance(console, True).set_node_weight(args[0], weight, add=True), "Add sealer")


@command("addObserverProposal", "addObserverProposal <nodeId>", "propose a new observer")
def cmd_add_observer_proposal(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return _proposal_made(console, governance(console, True).set_node_weight(args[0], 0, add=True), "Add observer")


@command("setConsensusNodeWeightProposal", "setConsensusNodeWeightProposal <nodeId> <weight>", "propose a sealer's weight")
def cmd_set_weight_proposal(console: Console, args: list[str]) -> str:
    _arity(args, 2)
    receipt = governance(console, True).set_node_weight(args[0], _number(args[1], "weight"), add=False)
    return _proposal_made(console, receipt, "Set consensus weight")


@command("removeNodeProposal", "removeNodeProposal <nodeId>", "propose to remove a node")
def cmd_remove_node_proposal(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return _proposal_made(console, governance(console, True).remove_node(args[0]), "Remove node")


@command("voteProposal", "voteProposal <id> [true|false]", "vote for (default) or against a proposal")
def cmd_vote(console: Console, args: list[str]) -> str:
    _arity(args, 1, 2)
    if len(args) == 2 and args[1].lower() not in ("true", "false"):
        raise UsageError(f"the vote is true (agree) or false (against), got {args[1]!r}")
    proposal_id = _number(args[0], "proposal id")
    receipt = governance(console, True).vote(proposal_id, len(args) == 1 or args[1].lower() == "true")
    if not receipt.ok:
        return _failed(console, receipt)
    info = governance(console).proposal_info(proposal_id)
    return "Vote proposal success." + (f"\n{format_proposal(info)}" if info else "")


@command("revokeProposal", "revokeProposal <id>", "withdraw your own open proposal")
def cmd_revoke(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return _done(console, governance(console, True).revoke(_number(args[0], "proposal id")), "Revoke proposal success")


@command("freezeAccount", "freezeAccount <account>", "a governor freezes an account (its transactions are refused)")
def cmd_freeze_account(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return _done(console, governance(console, True).set_account_status(_address(args[0], "account"), AccountStatus.FROZEN))


@command("unfreezeAccount", "unfreezeAccount <account>", "a governor unfreezes an account")
def cmd_unfreeze_account(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return _done(console, governance(console, True).set_account_status(_address(args[0], "account"), AccountStatus.NORMAL))


@command("abolishAccount", "abolishAccount <account>", "a governor abolishes an account, for ever")
def cmd_abolish_account(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return _done(console, governance(console, True).set_account_status(_address(args[0], "account"),
                                                                       AccountStatus.ABOLISHED))


# --- a contract admin's ----------------------------------------------------------------------------

@command("setMethodAuth", "setMethodAuth <contract> <function> <white_list|black_list>",
         "the contract's admin sets a method's policy")
def cmd_set_method_auth(console: Console, args: list[str]) -> str:
    _arity(args, 3)
    if args[2] not in AUTH_TYPES:
        raise UsageError(f"the policy is white_list or black_list, got {args[2]!r}")
    return _done(console, governance(console, True).set_method_auth_type(_address(args[0], "contract"), args[1],
                                                                         AUTH_TYPES[args[2]]))


@command("openMethodAuth", "openMethodAuth <contract> <function> <account>", "the admin lets an account call a method")
def cmd_open_method_auth(console: Console, args: list[str]) -> str:
    _arity(args, 3)
    return _done(console, governance(console, True).open_method_auth(_address(args[0], "contract"), args[1],
                                                                     _address(args[2], "account")))


@command("closeMethodAuth", "closeMethodAuth <contract> <function> <account>", "the admin stops an account calling a method")
def cmd_close_method_auth(console: Console, args: list[str]) -> str:
    _arity(args, 3)
    return _done(console, governance(console, True).close_method_auth(_address(args[0], "contract"), args[1],
                                                                      _address(args[2], "account")))


@command("freezeContract", "freezeContract <contract>", "the admin freezes a contract (its calls are refused)")
def cmd_freeze_contract(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return _done(console, governance(console, True).set_contract_frozen(_address(args[0], "contract"), True))


@command("unfreezeContract", "unfreezeContract <contract>", "the admin unfreezes a contract")
def cmd_unfreeze_contract(console: Console, args: list[str]) -> str:
    _arity(args, 1)
    return _done(console, governance(console, True).set_contract_frozen(_address(args[0], "contract"), False))
