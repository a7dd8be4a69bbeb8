#!/usr/bin/env python3
"""Makes tools/symbol-order.txt: the functions of the release binary that
ingesting mail executes, hottest first, for the linker to lay out together
(build.rs passes it to rust-lld as --symbol-ordering-file).

Why: the kernel maps a binary's code into a process 64 KB around each page
fault (fault-around), so code executed once per run, scattered over the whole
text segment, made 8.5 MB of the 10.7 MB of code resident during `ingest`,
of which 3.7 MB is ever executed. Laid out together, the executed code takes
about as many pages as its size.

    python3 tools/make_symbol_order.py [BINARY]     (default target/release/supportd)

Runs `ingest --no-send` under valgrind's callgrind (instructions counted,
not sampled: every executed function is seen) on the repository's fixture
mails (bounces, agent commands, replies, spam, threads, all languages) and
300 of the peer benchmark's mails (tools/gen_bench_mails.py: HTML
alternatives, attachments, legacy charsets), into a new store with the
shipped default config. Takes about a minute. The counts vary a little
run to run (two threads), so functions of near-equal cost may swap places;
the set of functions does not change. A function not listed
(new or renamed since) is laid out after the listed ones: the file only
needs making again when the resident size (README, "Years of mail") grows.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tools", "symbol-order.txt")


def executed_functions(profile: str, binary: str) -> list[str]:
    """Functions of `binary` in a callgrind profile, by self cost descending."""
    cost: dict[str, int] = {}
    # callgrind names objects (ob=, cob=) and functions (fn=, cfn=) by a
    # number, with the name at the number's first use.
    known: dict[str, dict[str, str]] = {"ob": {}, "fn": {}}
    current = None
    in_binary = False
    skip_next = False
    real_binary = os.path.realpath(binary)
    with open(profile, errors="replace") as f:
        for line in f:
            m = re.match(r"^(c?)(ob|fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if m:
                called, kind, i, name = m.groups()
                if name:
                    known[kind][i] = name
                if called:
                    continue
                if kind == "ob":
                    in_binary = os.path.realpath(known["ob"].get(i, "")) == real_binary
                else:
                    current = known["fn"][i] if in_binary else None
                    if current is not None:
                        cost.setdefault(current, 0)
                continue
            if line.startswith("calls="):
                # the next cost line is the call's inclusive cost, not the caller's own
                skip_next = True
                continue
            if not (line[:1].isdigit() or line[:1] in "+-*"):
                continue
            if skip_next or current is None:
                skip_next = False
                continue
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                cost[current] += int(parts[1])
    # callgrind marks a function's recursion levels and duplicates as name'2
    merged: dict[str, int] = {}
    for name, c in cost.items():
        base = re.sub(r"'\d+$", "", name)
        if base.startswith("0x") or base.startswith("("):
            continue
        merged[base] = merged.get(base, 0) + c
    return [n for n, _ in sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))]


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "supportd")
    if not shutil.which("valgrind"):
        sys.exit("make_symbol_order: valgrind is not installed (apt-get install valgrind)")
    work = tempfile.mkdtemp(prefix="symbol-order-")
    try:
        mails = os.path.join(work, "mails")
        os.makedirs(mails)
        n = 0
        for d, _, files in sorted(os.walk(os.path.join(ROOT, "fixtures"))):
            for name in sorted(files):
                if name.endswith(".eml"):
                    shutil.copy(os.path.join(d, name), os.path.join(mails, f"{n:05}.eml"))
                    n += 1
        peer = os.path.join(work, "peer")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_bench_mails.py"), peer, "300", "7"], check=True)
        for name in sorted(os.listdir(peer)):
            shutil.copy(os.path.join(peer, name), os.path.join(mails, f"{n:05}.eml"))
            n += 1
        os.makedirs(os.path.join(work, "config"))
        os.makedirs(os.path.join(work, "var", "inbox", "new"))
        shutil.copy(os.path.join(ROOT, "config", "supportd.toml"), os.path.join(work, "config"))
        profile = os.path.join(work, "callgrind.out")
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--demangle=no",
                f"--callgrind-out-file={profile}",
                binary,
                "--config",
                os.path.join(work, "config", "supportd.toml"),
                "ingest",
                "--no-send",
                mails,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        order = executed_functions(profile, binary)
        with open(OUT, "w") as f:
            f.writelines(name + "\n" for name in order)
        print(f"make_symbol_order: {len(order)} functions of {n} mails' ingest -> {os.path.relpath(OUT, ROOT)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
