"""`govchaos policy check|test|eval|serve`.

    govchaos policy check [PATH...] [--json]   parse/compile; errors as path:line:col: message (exit 2)
    govchaos policy test [PATH...] [--engine regorus|regopy|opa-go | --engines A,B] [--json]
                                               Rego test_ rules + cases/*.yaml; PASS|FAIL|ERROR lines,
                                               "N passed, N failed, N errors"; exit 0 / 1 / 2;
                                               with --engines, DIFF lines for tests whose outcome
                                               differs between engines (exit 1)
    govchaos policy eval --input FILE|- [--bundle DIR] [--engine NAME]
                                               prints the decision JSON for one input
    govchaos policy serve [--bundle DIR] [--host 127.0.0.1] [--port 8181] [--bundle-name NAME]
                          [--signing-key KEY]  decision server speaking OPA's REST Data/Policy API,
                                               and a bundle service: GET /bundles/NAME (ETag, 304)
    govchaos policy build PATH --out bundle.tar.gz [--signing-key KEY] [--key-id ID]
                                               an OPA bundle (.manifest, data.json, the .rego files;
                                               signed: .signatures.json) for opa run -s -b FILE

Using a real OPA instead of the embedded engine
-----------------------------------------------
The Rego in ``policies/`` is plain Rego v1 and its data files are documents merged at the root
of ``data``. Give OPA the Rego files and the data *directory* (OPA mounts a data file found in a
sub-directory of a path argument under that sub-directory's name, so ``opa run policies/`` would
put the catalog at ``data.data.govchaos`` and load ``cases/*.yaml`` as data)::

    opa run --server --addr 127.0.0.1:8181 policies/*.rego policies/data/
    opa test -v policies/*.rego policies/data/             # the Rego unit tests (not the cases)

and select the ``opa`` engine pointed at it (``create_engine("opa", url="http://127.0.0.1:8181")``;
in a gateway config, ``policy: {engine: opa, url: http://127.0.0.1:8181}``). The engine sends
``POST /v1/data/govchaos/gateway/decision`` with ``{"input": ...}``; a timeout, a connection
error, an undefined result or a result that is not a decision is a deny. ``govchaos policy serve``
speaks the same subset of the API (plus ``PUT/GET/DELETE /v1/policies``, ``PUT /v1/data``,
``GET /health``), so everything that talks to OPA can be tried against it first. For several
gateway replicas, run one OPA per replica (sidecar) or a shared pool, loading the same bundle:
``govchaos policy build policies --out bundle.tar.gz [--signing-key KEY]`` writes it (``opa run -s
-b bundle.tar.gz``), and ``govchaos policy serve`` serves it at ``GET /bundles/govchaos`` for OPAs
that poll a bundle service. ``--engine opa-go`` runs the real OPA in-process instead.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

DEFAULT_BUNDLE = "policies"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("policy", help="check, test, evaluate and serve Rego policies")
    parser.set_defaults(func=lambda args: (parser.print_help(sys.stderr), 2)[1])
    cmds = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = cmds.add_parser("check", help="parse and compile policies (errors as file:line:col)")
    check.add_argument("paths", nargs="*", metavar="PATH", help="bundle directories or .rego files")
    check.add_argument("--json", action="store_true",
                       help="print one JSON document: per file ok, or the error's code, file, "
                       "line, column, field and message")
    check.set_defaults(func=_check)

    test = cmds.add_parser("test", help="run Rego test_ rules and YAML decision cases")
    test.add_argument("paths", nargs="*", metavar="PATH", help=f"bundle directories (default {DEFAULT_BUNDLE}/; "
                      "builtin:policies is the bundle shipped with govchaos)")
    engines = test.add_mutually_exclusive_group()
    engines.add_argument("--engine", default=None,
                         help="engine running the tests: regorus (default), regopy or opa-go")
    engines.add_argument("--engines", default=None, metavar="A,B",
                         help="run the tests under each engine (e.g. regorus,opa-go) and report "
                         "any test whose outcome differs")
    test.add_argument("--json", action="store_true", help="print the results as JSON")
    test.add_argument("--timeout-s", type=float, default=30.0, help="per-test time limit")
    test.add_argument("-q", "--quiet", action="store_true",
                      help="print only failing tests and the summary")
    test.set_defaults(func=_test)

    ev = cmds.add_parser("eval", help="evaluate one decision input and print the decision JSON")
    ev.add_argument("--input", required=True, metavar="FILE|-", help="decision input JSON file, or - for stdin")
    ev.add_argument("--bundle", default=DEFAULT_BUNDLE, metavar="DIR")
    ev.add_argument("--engine", default="regorus", help="regorus (default), regopy or opa-go")
    ev.set_defaults(func=_eval)

    serve = cmds.add_parser("serve", help="serve decisions over OPA's REST API (subset)")
    serve.add_argument("--bundle", default=DEFAULT_BUNDLE, metavar="DIR")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8181, help="0-65535; 0 lets the OS pick")
    serve.add_argument("--bundle-name", default="govchaos", metavar="NAME",
                       help="serve the policy as an OPA bundle at GET /bundles/NAME (default govchaos)")
    serve.add_argument("--signing-key", metavar="KEY",
                       help="sign the served bundle with this ECDSA P-256 private key (PEM)")
    serve.add_argument("--key-id", metavar="ID", help="kid of the signature (default: the key's sha256 id)")
    serve.set_defaults(func=_serve)

    build = cmds.add_parser("build", help="write an OPA bundle (tar.gz), optionally signed")
    build.add_argument("path", metavar="PATH", help="bundle directory (e.g. policies/)")
    build.add_argument("--out", required=True, metavar="FILE", help="the bundle.tar.gz to write")
    build.add_argument("--signing-key", metavar="KEY",
                       help="ECDSA P-256 private key (PEM, e.g. from govchaos keys generate): adds "
                       ".signatures.json (ES256 JWT, OPA's bundle-signing format)")
    build.add_argument("--key-id", metavar="ID",
                       help="kid in the signature's header, the key name OPA is configured with "
                       "(default: the key's sha256 id)")
    build.add_argument("--json", action="store_true", help="print what was written as JSON")
    build.set_defaults(func=_build)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range (0-65535; 0 picks a free port)")
    return port


def _paths(args: argparse.Namespace) -> list[str]:
    from govchaos.builtin import resolve_all

    return resolve_all(list(args.paths) or [DEFAULT_BUNDLE], kind="bundle")


def _bundle_arg(ref: str) -> str:
    """``--bundle`` as a path; ``builtin:policies`` is the shipped bundle."""
    from govchaos.builtin import resolve

    return str(resolve(ref, kind="bundle"))


def _check(args: argparse.Namespace) -> int:
    from governance.engine.bundle import load_bundle
    from governance.engine.cases import load_case_files
    from governance.engine.regorus_engine import check_modules
    from governance.errors import GovchaosError

    paths = _paths(args)
    try:
        bundle = load_bundle(*paths)
        check_modules(bundle)
        checked_by = ["regorus", *_check_with_opa_go(bundle)]
        cases = load_case_files(bundle.case_files, bundle.data)
    except GovchaosError as exc:
        if not args.json:
            raise
        import json

        from govchaos.cli.errors import error_json

        # Loading stops at the first bad file, so that file is the one result.
        error = error_json(exc)
        print(json.dumps({"ok": False, "paths": paths, "errors": 1,
                          "results": [{"file": error["file"], "ok": False, "error": error}]}, indent=2))
        return exc.exit_code
    if args.json:
        import json

        print(json.dumps({"ok": True, "paths": paths, "errors": 0, "bundle": bundle.digest,
                          "modules": len(bundle.modules), "cases": len(cases),
                          "checked_by": checked_by,
                          "results": [{"file": _bundle_path(bundle.root, f), "ok": True}
                                      for f in bundle.files]}, indent=2))
        return 0
    print(
        f"ok: {len(bundle.modules)} modules, {len(cases)} cases, {len(bundle.files)} files, "
        f"bundle {bundle.digest}; compiled by {', '.join(checked_by)}"
    )
    return 0


def _check_with_opa_go(bundle: Any) -> list[str]:
    """Compile with the real OPA too when it is installed: it rejects what regorus accepts
    (recursion, some unsafe variables). Raises PolicyCompileError located path:line:col."""
    from governance.engine import opa_go_engine

    if not opa_go_engine.available():
        return []
    opa_go_engine.compile_modules(bundle.modules, bundle.data, root=bundle.root).close()
    return ["opa-go"]


def _bundle_path(root: str, name: str) -> str:
    """A bundle file as a path the user can open (a directory bundle lists names relative to it)."""
    import os

    return os.path.join(root, name) if os.path.isdir(root) else name


TEST_ENGINES = ("regorus", "regopy", "opa-go")


def _test_engines(args: argparse.Namespace) -> list[str]:
    """The engines named by --engine / --engines, validated (exit 2 with a hint otherwise)."""
    from governance.engine.registry import ENGINES, UnknownEngineError
    from governance.errors import PolicyInputError

    if args.engines is not None:
        names = [n.strip() for n in args.engines.split(",")]
        if any(not n for n in names) or len(names) < 2:
            raise PolicyInputError(
                f"--engines takes two or more comma-separated engines, got {args.engines!r}"
            )
        if len(set(names)) != len(names):
            raise PolicyInputError(f"--engines names an engine twice: {args.engines!r}")
    else:
        names = [args.engine or "regorus"]
    for name in names:
        if name not in TEST_ENGINES:
            ENGINES.factory(name)  # unknown names get the did-you-mean error
            raise UnknownEngineError(
                f"policy tests run on {', '.join(TEST_ENGINES)}, not {name!r}"
            )
    return names


def _test(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from governance.engine.bundle import load_bundle
    from governance.engine.policy_tests import PolicyTestRunner
    from governance.engine.regorus_engine import check_modules

    engines = _test_engines(args)
    bundle = load_bundle(*_paths(args))
    # A compile error is exit 2 with file:line:col, not N test errors (bounded in a child).
    check_modules(bundle, require_decision=False)
    if "opa-go" in engines:
        from governance.engine.opa_go_engine import compile_modules

        compile_modules(bundle.modules, bundle.data, root=bundle.root).close()  # OPA's compiler too
    reports = [
        asyncio.run(PolicyTestRunner(bundle, engine=e, test_timeout_s=args.timeout_s).run())
        for e in engines
    ]
    if len(reports) == 1:
        report: Any = reports[0]
    else:
        from governance.engine.cross_engine import CrossEngineReport

        report = CrossEngineReport.of(reports)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        lines = report.lines()
        if args.quiet:  # keep FAIL/ERROR lines (and their detail) and the summary
            lines = [ln for ln in lines[:-1] if not ln.startswith("PASS")] + lines[-1:]
        for line in lines:
            print(line)
    return report.exit_code


def _eval(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from governance.engine.bundle import load_bundle
    from governance.engine.cases import catalog_of, expand_input
    from governance.engine.registry import create_engine
    from governance.strict_load import loads_json
    from governance.errors import Location, PolicyInputError

    from govchaos.builtin import resolve

    name = "<stdin>" if args.input == "-" else str(resolve(args.input))
    try:
        if args.input == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        else:
            with open(name, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise PolicyInputError(exc.strerror or str(exc), location=Location(name)) from exc
    if not data.strip():
        raise PolicyInputError("empty input: expected a JSON object", location=Location(name))
    raw = loads_json(data, name, PolicyInputError)
    if isinstance(raw, dict) and set(raw) == {"input"}:
        raw = raw["input"]  # accept OPA's request envelope too
    if not isinstance(raw, dict):
        raise PolicyInputError("the decision input must be a JSON object", location=Location(name))
    bundle = load_bundle(_bundle_arg(args.bundle))
    inp = expand_input(raw, catalog_of(bundle.data), file=name, field="input")
    engine = create_engine(args.engine, bundle)
    decision = asyncio.run(engine.decide(inp))
    print(json.dumps(decision.model_dump(mode="json"), indent=2, sort_keys=True))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from governance.engine.bundle import load_bundle
    from governance.engine.bundle_service import BundleService
    from governance.engine.server import DecisionServer

    bundle = load_bundle(_bundle_arg(args.bundle))
    key = _signing_key(args.signing_key)
    try:
        bundles = BundleService(args.bundle_name, signing_key=key, key_id=args.key_id)
    except ValueError as exc:
        from governance.errors import PolicyInputError

        raise PolicyInputError(f"--bundle-name: {exc}") from exc

    async def run() -> None:
        server = DecisionServer(bundle, bundles=bundles)
        host, port = await server.start(args.host, args.port)
        print(f"govchaos policy server listening on http://{host}:{port}", flush=True)
        try:
            await server.serve_forever()
        finally:
            await server.close()

    asyncio.run(run())
    return 0


def _signing_key(path: str | None) -> Any:
    if path is None:
        return None
    from governance.attest import load_private_key

    return load_private_key(path)  # KeyFileError (exit 2) names the file and what is wrong


def _build(args: argparse.Namespace) -> int:
    import json
    import os

    from governance.engine.bundle import load_bundle
    from governance.engine.opa_bundle import build_opa_bundle
    from governance.engine.regorus_engine import check_modules
    from governance.errors import Location, PolicyInputError

    bundle = load_bundle(_bundle_arg(args.path))
    check_modules(bundle)  # never ship a bundle that does not compile
    _check_with_opa_go(bundle)
    built = build_opa_bundle(bundle, signing_key=_signing_key(args.signing_key), key_id=args.key_id)
    tmp = f"{args.out}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(built.tarball)
        os.replace(tmp, args.out)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise PolicyInputError(f"cannot write: {exc.strerror or exc}", location=Location(args.out)) from exc
    if args.json:
        print(json.dumps({"out": args.out, "revision": built.revision, "roots": list(built.roots),
                          "files": sorted(built.files), "signed": built.signed,
                          "sha256": built.etag.strip('"')}, indent=2))
    else:
        signed = "signed" if built.signed else "unsigned"
        print(f"wrote {args.out}: {len(built.files)} files, {signed}, revision {built.revision}, "
              f"roots {', '.join(built.roots)}")
    return 0
