#!/usr/bin/env python3
"""Symbol work for scripts/link-order.sh.

  link-order.py addresses BINARY          start address of every function in BINARY's symbol table (hex)
  link-order.py names BINARY ENTERED [ARCHIVE...]
                                          the names of the functions at the addresses in ENTERED (written by
                                          fntrace, first entered first), one per line: an lld symbol ordering file.
                                          ARCHIVEs are prebuilt static libraries linked in (the Swift runtime):
                                          their functions share one section per object file.
"""
import re
import subprocess
import sys


def functions(binary):
    """(address, name) of every defined function in the static symbol table."""
    listing = subprocess.run(["readelf", "-sW", binary], capture_output=True, text=True, check=True).stdout
    table = None
    for line in listing.splitlines():
        if line.startswith("Symbol table"):
            table = ".symtab" if "'.symtab'" in line else "other"
            continue
        fields = line.split()
        if table != ".symtab" or len(fields) < 8 or fields[3] != "FUNC" or fields[6] == "UND":
            continue
        address = int(fields[1], 16)
        if address:
            yield address, fields[7]


def shared_section_functions(archives):
    """For each function that sits in an object file's one `.text` section rather than in its own: the object files
    (archive members) where it does."""
    members = {}
    member = None
    header = re.compile(r"^(\S+):\s+file format ")
    line_format = re.compile(r"^[0-9a-f]+ .{7} (\S+)\s+[0-9a-f]+\s+(?:\.hidden )?(\S+)$")
    for archive in archives:
        listing = subprocess.run(["objdump", "-t", archive], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            start = header.match(line)
            if start:
                member = archive + ":" + start.group(1)
                continue
            match = line_format.match(line)
            if match and match.group(1) == ".text" and " F " in line:
                members.setdefault(match.group(2), set()).add(member)
    return members


def main(argv):
    if len(argv) == 3 and argv[1] == "addresses":
        for address in sorted({address for address, _ in functions(argv[2])}):
            print(f"{address:x}")
        return 0
    if len(argv) >= 4 and argv[1] == "names":
        bulky = shared_section_functions(argv[4:])
        names, instances = {}, {}
        for address, name in functions(argv[2]):
            names.setdefault(address, []).append(name)
            instances.setdefault(name, set()).add(address)
        with open(argv[3]) as file:
            entered = [int(line, 16) for line in file if line.strip()]
        ran = set(entered)
        # lld orders every function of a name. A local name can stand for several functions, some of which did not
        # run (merged helpers, value witnesses). Moving those along costs little when they sit in sections of their
        # own, but one in a prebuilt object's shared `.text` would drag that whole object's code along: such a name
        # is kept only when those objects are moved anyway, for another function of theirs that ran.
        moved = set()
        for address in entered:
            for name in names.get(address, []):
                if instances[name] <= ran:
                    moved |= bulky.get(name, set())
        written = set()
        for address in entered:
            for name in names.get(address, []):
                if name not in written and (instances[name] <= ran or bulky.get(name, set()) <= moved):
                    written.add(name)
                    print(name)
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
