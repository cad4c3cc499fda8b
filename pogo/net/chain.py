"""The chain edge: a web3 connection, signing keys, deployment, and transactions whose
custom-error reverts come back as readable ``ChainError``s (``StaleBase(head=0x.., given=0x..)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.types import RPCEndpoint

from pogo.errors import PogoError
from pogo.net.artifacts import Artifact
from pogo.protocol.atomicfile import write_bytes_atomic

# Anvil's well-known development mnemonic; its keys hold only test ETH on local chains.
# Added to every gas estimate (besides 25%): see Client._send.
GAS_MARGIN = 20_000
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
Account.enable_unaudited_hdwallet_features()


class ChainError(PogoError):
    """A transaction reverted; ``name`` is the contract's custom error, ``args`` its values."""

    def __init__(self, name: str, args: tuple = (), message: str = ""):
        self.name, self.args_ = name, args
        super().__init__(message or f"transaction reverted: {name}{args if args else '()'}")


def dev_account(index: int) -> LocalAccount:
    """Account ``index`` of Anvil's development mnemonic."""
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def connect(rpc_url: str) -> Web3:
    # web3 asks the node for its chain id before every call it validates: remember it instead
    # (half of a bot's requests were eth_chainId).
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}, cache_allowed_requests=True,
                                cacheable_requests={RPCEndpoint("eth_chainId")}))
    if not w3.is_connected():
        raise PogoError(f"no Ethereum node answers at {rpc_url}: start one with `pogo devnet up`, or pass --rpc")
    return w3


def _error_table(abi: list) -> dict[bytes, tuple[str, list[str]]]:
    table = {}
    for item in abi:
        if item.get("type") == "error":
            types = [i["type"] if i["type"] != "tuple" else "(" + ",".join(c["type"] for c in i["components"]) + ")"
                     for i in item["inputs"]]
            table[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    return table


def decode_revert(abi: list, data: str | bytes | dict | None) -> ChainError:
    """Turn revert data into a ChainError naming the custom error. Nodes differ in how they hand
    it over: a hex string or bytes (Anvil, geth), or an object with the hex under `result` or
    `data` (Ganache)."""
    if isinstance(data, dict):
        data = data.get("result") or data.get("data")
    if isinstance(data, str):
        raw = bytes.fromhex(data.removeprefix("0x"))
    else:
        raw = bytes(data or b"")
    if len(raw) < 4:
        return ChainError("Reverted", (), "transaction reverted without a reason")
    table = _error_table(abi)
    if raw[:4] in table:
        name, types = table[raw[:4]]
        values = tuple("0x" + v.hex() if isinstance(v, bytes) else v for v in decode(types, raw[4:]))
        return ChainError(name, values)
    if raw[:4] == keccak(text="Error(string)")[:4]:
        return ChainError("Error", decode(["string"], raw[4:]))
    if raw[:4] == keccak(text="Panic(uint256)")[:4]:
        return ChainError("Panic", decode(["uint256"], raw[4:]))
    return ChainError("Unknown", (raw.hex(),))


@dataclass(frozen=True)
class Sent:
    """A transaction broadcast and not yet waited for (Client.broadcast, Client.wait)."""

    tx_hash: bytes
    gas: int
    call: Any
    abi: list


class Client:
    """One signer on one chain, sending transactions to contracts it knows the ABI of."""

    def __init__(self, w3: Web3, account: LocalAccount):
        self.w3 = w3
        self.account = account
        self.address = account.address
        self._gas_limit: int | None = None

    def deploy(self, artifact: Artifact, *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        receipt = self._send(factory.constructor(*args), artifact.abi)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def transact(self, contract: Contract, fn: str, *args: Any, value: int = 0, headroom_pct: int = 25) -> dict:
        """Send ``contract.fn(*args)`` and wait for it; raise ChainError on a revert. The gas limit
        is the estimate plus ``headroom_pct`` percent and GAS_MARGIN."""
        return self._send(getattr(contract.functions, fn)(*args), contract.abi, value, headroom_pct)

    def broadcast(self, contract: Contract, fn: str, *args: Any, headroom_pct: int = 25) -> Sent:
        """Send ``contract.fn(*args)`` without waiting for it (several can share a block); a
        revert at the estimate raises ChainError now, one in its block at ``wait``."""
        call = getattr(contract.functions, fn)(*args)
        return Sent(*self._broadcast(call, contract.abi, 0, headroom_pct), call, contract.abi)

    def wait(self, sent: Sent) -> dict:
        """The receipt of a broadcast transaction; raise ChainError if it reverted."""
        return self._receipt(sent.tx_hash, sent.gas, sent.call, sent.abi, 0)

    def _send(self, call: Any, abi: list, value: int = 0, headroom_pct: int = 25) -> dict:
        tx_hash, gas = self._broadcast(call, abi, value, headroom_pct)
        return self._receipt(tx_hash, gas, call, abi, value)

    def _broadcast(self, call: Any, abi: list, value: int, headroom_pct: int) -> tuple[bytes, int]:
        try:
            tx = call.build_transaction({"from": self.address, "value": value,
                                         "nonce": self.w3.eth.get_transaction_count(self.address, "pending")})
            # The estimate ran on the latest block; the transaction lands in a later one, where
            # gas can differ (e.g. the first stake change of a new epoch writes a snapshot).
            tx["gas"] = min(tx["gas"] * (100 + headroom_pct) // 100 + GAS_MARGIN, self._block_gas_limit())
        except ContractCustomError as exc:
            raise decode_revert(abi, exc.data) from None
        except ContractLogicError as exc:
            raise decode_revert(abi, exc.data) from None
        except Web3RPCError as exc:
            raise PogoError(f"the node refused the transaction: {exc}") from None
        signed = self.account.sign_transaction(tx)
        return self.w3.eth.send_raw_transaction(signed.raw_transaction), tx["gas"]

    def _receipt(self, tx_hash: bytes, gas: int, call: Any, abi: list, value: int) -> dict:
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            if receipt["gasUsed"] >= gas:
                raise ChainError("OutOfGas", (), f"transaction {tx_hash.hex()} ran out of gas ({gas})")
            raise self._why_reverted(call, abi, value, receipt, tx_hash.hex())
        return dict(receipt)

    def _block_gas_limit(self) -> int:
        if self._gas_limit is None:
            self._gas_limit = int(self.w3.eth.get_block("latest")["gasLimit"])
        return self._gas_limit

    def _why_reverted(self, call: Any, abi: list, value: int, receipt: Any, tx_hash: str) -> ChainError:
        """A transaction that passed its estimate but reverted in its block lost a race (another
        transaction moved the state first). Replaying it on the block's state names the error."""
        try:
            call.call({"from": self.address, "value": value}, block_identifier=receipt["blockNumber"])
        except ContractCustomError as exc:
            return decode_revert(abi, exc.data)
        except (ContractLogicError, Web3RPCError, ValueError):
            pass
        return ChainError("Reverted", (), f"transaction {tx_hash} reverted on chain")


@dataclass(frozen=True)
class Deployment:
    """Where the PoGO contract lives; written by `pogo deploy` (or `pogo demo --keep`), read by
    every role. A record that names its RPC and IPFS endpoints is enough to reach them."""

    chain_id: int
    address: str
    block: int
    rpc_url: str
    ipfs_api: str = ""
    written_by: str = "pogo deploy"

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, json.dumps(self.__dict__, indent=2).encode())

    @classmethod
    def load(cls, path: Path) -> Deployment:
        if not path.exists():
            raise PogoError(f"no deployment at {path}: run `pogo deploy` first")
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise PogoError(f"{path} is not a deployment record: {exc}") from None
