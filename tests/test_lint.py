"""What `make lint` relies on, checked without running slither (that takes ~20 s: `make lint`)."""

import json
import subprocess

from pogo.dev import compiler, toolchain


def test_slither_config_compiles_with_the_repo_settings():
    """`slither contracts/PoGO.sol` by hand goes through --combined-json with these solc_args."""
    cfg = json.loads((toolchain.REPO_ROOT / "slither.config.json").read_text())
    args = cfg["solc_args"].split()
    s = compiler.SETTINGS
    assert ("--via-ir" in args) == s["viaIR"] and ("--optimize" in args) == s["optimizer"]["enabled"]
    assert args[args.index("--optimize-runs") + 1] == str(s["optimizer"]["runs"])
    assert args[args.index("--evm-version") + 1] == s["evmVersion"]
    assert cfg["solc"] == "deploy/solc" and "contracts/test" in cfg["filter_paths"]


def test_solc_shim_combined_json_ast_in_native_layout(tmp_path):
    """crytic-compile asks for abi,ast,bin,...,hashes and reads sources[file]["AST"]."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "L.sol").write_text("pragma solidity 0.8.28;\nlibrary L { function k() internal pure returns (uint) { return 1; } }\n")
    (tmp_path / "A.sol").write_text('pragma solidity 0.8.28;\nimport {L} from "./lib/L.sol";\n'
                                    "contract A { function f() external pure returns (uint) { return L.k(); } }\n")
    fields = "abi,ast,bin,bin-runtime,srcmap,srcmap-runtime,userdoc,devdoc,hashes"
    out = subprocess.run([str(toolchain.solc()), "A.sol", "--combined-json", fields, "--via-ir", "--optimize",
                          "--optimize-runs", "200", "--evm-version", "cancun", "--allow-paths", f".,{tmp_path}"],
                         cwd=tmp_path, capture_output=True, text=True, check=True)
    compiled = json.loads(out.stdout)
    assert compiled["sourceList"] == ["A.sol", "lib/L.sol"]
    assert [compiled["sources"][f]["id"] for f in compiled["sourceList"]] == [0, 1]
    assert compiled["sources"]["A.sol"]["AST"]["nodeType"] == "SourceUnit"
    a = compiled["contracts"]["A.sol:A"]
    assert set(a) == set(fields.split(",")) - {"ast"} and a["hashes"] == {"f()": "26121ff0"}


def test_solc_shim_refuses_what_it_would_otherwise_drop(tmp_path):
    src = tmp_path / "A.sol"
    src.write_text("pragma solidity 0.8.28;\ncontract A {}\n")
    for extra in (["--frobnicate"], ["--combined-json", "abi,nonsense"]):
        args = [str(toolchain.solc()), str(src), "--combined-json", "abi", *extra]
        r = subprocess.run(args, check=False, capture_output=True, text=True)
        assert r.returncode == 1 and "solc-shim: unsupported" in r.stderr
