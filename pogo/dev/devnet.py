"""The local network: an Anvil chain and a js-ipfs daemon on free loopback ports.

``up`` is idempotent: a service that answers its health check is left alone, a dead one is
started again on its old state (Anvil dumps its chain to disk, js-ipfs keeps its repo).
Addresses and pids go to ``STATE_DIR/devnet.json``; ``down`` stops only the process groups
recorded there, politely first.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pogo.dev import toolchain
from pogo.errors import PogoError
from pogo.net.ports import free_port, port_is_free
from pogo.protocol.atomicfile import write_bytes_atomic

CHAIN_ID = 31337
CHAINS = ("anvil", "ganache")
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"  # Anvil's development accounts
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


@dataclass
class Service:
    name: str
    pid: int = 0
    port: int = 0
    url: str = ""
    log: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class DevnetState:
    anvil: Service
    ipfs: Service

    @property
    def rpc_url(self) -> str:
        return self.anvil.url

    @property
    def ipfs_api(self) -> str:
        """The multiaddr that ``ipfshttpclient.Client`` takes."""
        return f"/ip4/127.0.0.1/tcp/{self.ipfs.port}/http"

    def to_json(self) -> dict:
        return {"anvil": asdict(self.anvil), "ipfs": asdict(self.ipfs),
                "rpc_url": self.rpc_url, "ipfs_api": self.ipfs_api}


def default_state_dir() -> Path:
    return Path(os.environ.get("POGO_HOME", Path.cwd() / ".pogo")) / "devnet"


def _post(url: str, body: bytes | None, timeout: float = 2.0) -> bytes:
    req = urllib.request.Request(url, data=body if body is not None else b"", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def anvil_healthy(url: str) -> bool:
    try:
        reply = json.loads(_post(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()))
        return int(reply["result"], 16) == CHAIN_ID
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return False


def ipfs_healthy(port: int) -> bool:
    try:
        return "Version" in json.loads(_post(f"http://127.0.0.1:{port}/api/v0/version", None))
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


class Devnet:
    """The chain and IPFS daemon of one state directory."""

    def __init__(self, state_dir: Path | str | None = None, progress: Callable[[str], None] = lambda _: None):
        self.dir = Path(state_dir) if state_dir else default_state_dir()
        self.state_file = self.dir / "devnet.json"
        self.progress = progress

    # -- state ------------------------------------------------------------------------

    def load(self) -> DevnetState | None:
        if not self.state_file.exists():
            return None
        try:
            raw = json.loads(self.state_file.read_text())
            return DevnetState(Service(**raw["anvil"]), Service(**raw["ipfs"]))
        except (ValueError, KeyError, TypeError):
            raise PogoError(f"{self.state_file} is damaged: run `pogo devnet down` and delete it") from None

    def _save(self, state: DevnetState) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.state_file, json.dumps(state.to_json(), indent=2).encode())

    def status(self) -> dict:
        state = self.load()
        if state is None:
            return {"running": False, "state_dir": str(self.dir)}
        return {
            "running": anvil_healthy(state.rpc_url) and ipfs_healthy(state.ipfs.port),
            "state_dir": str(self.dir),
            "anvil": {"url": state.rpc_url, "pid": state.anvil.pid, "healthy": anvil_healthy(state.rpc_url)},
            "ipfs": {"api": state.ipfs_api, "pid": state.ipfs.pid, "healthy": ipfs_healthy(state.ipfs.port)},
        }

    # -- up ---------------------------------------------------------------------------

    def up(self, anvil_port: int = 0, ipfs_port: int = 0, block_time: int = 0, chain: str = "anvil",
           interval_only: bool = False, state_interval_s: int = 2) -> DevnetState:
        """Start whatever is not already healthy; return the running network's addresses.

        ``block_time`` > 0 adds a block every that many seconds to the blocks each transaction
        mines, so that windows and seeds move on with no traffic (as on a live chain); tests
        and the demo keep 0 and mine the blocks they need. ``chain`` is "anvil" or "ganache" (the
        same accounts, chain id and block gas limit; the chain's port is still `anvil_port`).
        ``interval_only`` (anvil): transactions wait for the next block instead of mining their
        own, so each block packs what arrived, up to the 30M gas limit, as on a live chain
        (benchmarks.network measures blocks per round that way). ``state_interval_s``: how often
        anvil writes its state file besides on stopping (each write is the whole chain: at a
        thousand nodes, tens of MB every few seconds).
        """
        if chain not in CHAINS:
            raise PogoError(f"unknown chain {chain!r}: choose one of {', '.join(CHAINS)}")
        self.dir.mkdir(parents=True, exist_ok=True)
        state = self.load() or DevnetState(Service("anvil"), Service("ipfs"))
        if anvil_healthy(state.anvil.url) and _alive(state.anvil.pid):
            self.progress(f"anvil already running at {state.anvil.url}")
        else:
            port = anvil_port or state.anvil.port or free_port()
            state.anvil = (self._start_anvil(port, block_time, interval_only, state_interval_s) if chain == "anvil"
                           else self._start_ganache(port, block_time))
        self._save(state)
        if ipfs_healthy(state.ipfs.port) and _alive(state.ipfs.pid):
            self.progress(f"ipfs already running at {state.ipfs_api}")
        else:
            state.ipfs = self._start_ipfs(ipfs_port or state.ipfs.port or free_port())
        self._save(state)
        return state

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "ab")  # noqa: SIM115 - the child process keeps it open
        try:
            # A session of its own: `down` can stop the whole process group, and a Ctrl-C in
            # the terminal that ran `up` does not take the network down with it.
            return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True, cwd=self.dir)
        finally:
            log.close()

    def _wait_healthy(self, name: str, proc: subprocess.Popen, healthy: Callable[[], bool], port: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if healthy():
                return
            if proc.poll() is not None:
                tail = (self.dir / f"{name}.log").read_text(errors="replace").strip().splitlines()[-3:]
                raise PogoError(f"{name} exited with code {proc.returncode} on port {port}: {' | '.join(tail)}"
                                f" (full log: {self.dir / (name + '.log')})")
            time.sleep(0.2)
        _stop_group(proc.pid)
        raise PogoError(f"{name} did not answer on 127.0.0.1:{port} within {START_TIMEOUT_S:.0f} s; "
                        f"see {self.dir / (name + '.log')}")

    def _start_anvil(self, port: int, block_time: int = 0, interval_only: bool = False,
                     state_interval_s: int = 2) -> Service:
        binary = toolchain.anvil()
        if not port_is_free(port):
            raise PogoError(f"port {port} for anvil is already taken by another program; choose another with --anvil-port")
        self.progress(f"starting anvil on 127.0.0.1:{port}")
        chain_state = self.dir / "anvil-state.json"
        argv = [str(binary), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(CHAIN_ID),
                "--accounts", "20", "--balance", "100000", "--state", str(chain_state), "--state-interval", str(state_interval_s),
                "--config-out", str(self.dir / "anvil-accounts.json"),
                # anvil moves older block states to disk (about 2.7 GB a test session) and never
                # deletes them; in the devnet's folder they go with it, not into ~/.foundry for good
                "--cache-path", str(self.dir / "anvil-cache")]
        if block_time > 0:
            argv += ["--block-time", str(block_time)] + ([] if interval_only else ["--mixed-mining"])
        proc = self._spawn("anvil", argv)
        url = f"http://127.0.0.1:{port}"
        self._wait_healthy("anvil", proc, lambda: anvil_healthy(url), port)
        return Service("anvil", proc.pid, port, url, str(self.dir / "anvil.log"))

    def _start_ganache(self, port: int, block_time: int = 0) -> Service:
        """Ganache with Anvil's accounts (its mnemonic), chain id and 30M block gas, its chain kept
        in STATE_DIR/ganache-db across restarts."""
        binary = toolchain.ganache()
        toolchain.node()
        if not port_is_free(port):
            raise PogoError(f"port {port} for ganache is already taken by another program; choose another with --anvil-port")
        self.progress(f"starting ganache on 127.0.0.1:{port}")
        argv = [str(binary), "--server.host", "127.0.0.1", "--server.port", str(port), "--chain.chainId", str(CHAIN_ID),
                "--wallet.mnemonic", ANVIL_MNEMONIC, "--wallet.totalAccounts", "20", "--wallet.defaultBalance", "100000",
                "--miner.blockGasLimit", "30000000", "--database.dbPath", str(self.dir / "ganache-db"),
                "--logging.quiet"]
        if block_time > 0:
            argv += ["--miner.blockTime", str(block_time)]
        proc = self._spawn("ganache", argv)
        url = f"http://127.0.0.1:{port}"
        self._wait_healthy("ganache", proc, lambda: anvil_healthy(url), port)
        return Service("ganache", proc.pid, port, url, str(self.dir / "ganache.log"))

    def _start_ipfs(self, port: int) -> Service:
        binary = toolchain.jsipfs()
        toolchain.node()
        if not port_is_free(port):
            raise PogoError(f"port {port} for the IPFS API is already taken by another program; choose another with --ipfs-port")
        repo = self.dir / "ipfs"
        env = toolchain.node_env()
        env["IPFS_PATH"] = str(repo)
        if not (repo / "config").exists():
            self.progress(f"initialising an IPFS repo in {repo}")
            done = subprocess.run([str(binary), "init", "--empty-repo"], env=env, capture_output=True, text=True,
                                  check=False)
            if done.returncode != 0:
                raise PogoError(f"`jsipfs init` failed: {done.stderr.strip().splitlines()[-1:]}")
        _configure_offline(repo / "config", port, free_port(), free_port())
        self.progress(f"starting js-ipfs on 127.0.0.1:{port}")
        proc = self._spawn("ipfs", [str(binary), "daemon", "--offline"], env)
        self._wait_healthy("ipfs", proc, lambda: ipfs_healthy(port), port)
        return Service("ipfs", proc.pid, port, f"http://127.0.0.1:{port}", str(self.dir / "ipfs.log"),
                       {"repo": str(repo)})

    # -- down -------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop the recorded services; return what was stopped."""
        state = self.load()
        if state is None:
            return []
        stopped = []
        for service in (state.ipfs, state.anvil):
            if _alive(service.pid) and _stop_group(service.pid):
                stopped.append(service.name)
        self.state_file.unlink(missing_ok=True)
        return stopped


def _configure_offline(config_path: Path, api_port: int, gateway_port: int, rpc_port: int) -> None:
    """Loopback-only ports, no bootstrap peers, no discovery: the daemon never dials out."""
    config = json.loads(config_path.read_text())
    config["Addresses"].update(Swarm=[], Announce=[], Delegates=[],
                               API=f"/ip4/127.0.0.1/tcp/{api_port}",
                               Gateway=f"/ip4/127.0.0.1/tcp/{gateway_port}",
                               RPC=f"/ip4/127.0.0.1/tcp/{rpc_port}")
    config["Bootstrap"] = []
    config.setdefault("Discovery", {}).update(MDNS={"Enabled": False}, webRTCStar={"Enabled": False})
    write_bytes_atomic(config_path, json.dumps(config, indent=2).encode())


def _stop_group(pid: int) -> bool:
    """SIGTERM the process group, wait for a graceful exit, then SIGKILL it."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return False
    if pgid != pid:  # not a group leader we started: never signal someone else's group
        return False
    os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        _reap(pid)
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(pid)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
