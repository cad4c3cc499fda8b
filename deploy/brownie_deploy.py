"""`brownie run deploy/brownie_deploy.py --network NETWORK`: deploy PoGO with brownie, from Anvil's
development account 0 (a local chain's key, never a real one)."""

# brownie's own venv (make brownie): not a dependency of pogo
from brownie import PoGO, accounts

ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
BOUNDS = (100_000, 10, 10_000, 10_000, 5_000, 1_000, 100 * 10**18, 10_000_000)  # pogo.net.contract.Bounds()


def main():
    deployer = accounts.add(ANVIL_KEY_0)
    pogo = PoGO.deploy(20, 10**18, BOUNDS, {"from": deployer, "gas_price": "10 gwei"})
    print(f"PoGO deployed at {pogo.address}")
    return pogo
