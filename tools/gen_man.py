#!/usr/bin/env python3
"""tools/gen_man.py - man pages (section 3) from the public headers' comments.

    gen_man.py --out DIR [--version V] [--check LIBSONDE.so] HEADER...

For each header include/sonde/NAME.h it writes DIR/sonde-NAME.3: the
header's opening comment as the DESCRIPTION, then every public function
(a SONDE_API declaration) with its declaration and the comment written
above it; a run of declarations with no blank line (nor comment) between them
shares the comment above the first. Every function also gets DIR/<function>.3, a
`.so` link to its header's page, so `man 3 sonde_counter_inc` works, and
DIR/sonde.3 lists the pages. A declaration with no comment right above it
takes the nearest comment since the previous declaration (one written
above the typedef or #define the function goes with).

--check LIB: fails (exit 1, each problem named) unless every function the
shared library exports (nm -D, sonde_ names; sonde__ names are internal)
has a page with a non-empty comment, and every documented function is
exported. When groff is installed, each page must also render without a
warning.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

DECL = re.compile(r"\bSONDE_API\b")


def roff(text):
    out = []
    for line in text.split("\n"):
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def comment_text(raw):
    """The text of a /* ... */ comment, stars and indentation removed."""
    body = raw[2:-2]
    lines = body.split("\n")
    res = []
    for ln in lines:
        s = ln.strip()
        if s.startswith("*"):
            s = s[1:]
            if s.startswith(" "):
                s = s[1:]
        res.append(s.rstrip())
    while res and not res[0].strip(" -"):
        res.pop(0)
    while res and not res[-1].strip():
        res.pop()
    return "\n".join(res)


def parse(path):
    """(intro, [(name, declaration, comment)]) of one header."""
    src = open(path, encoding="utf-8").read()
    intro_m = re.match(r"\s*(/\*.*?\*/)", src, re.S)
    intro = comment_text(intro_m.group(1)) if intro_m else ""
    # spans of every comment, to find the one right above a declaration
    comments = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"/\*.*?\*/", src, re.S)]
    funcs = []
    prev_end = -1
    prev_comment = ""
    for m in DECL.finditer(src):
        line_start = src.rfind("\n", 0, m.start()) + 1
        if src[line_start:m.start()].strip():  # SONDE_API inside a macro or text
            continue
        if any(a <= m.start() < b for a, b, _ in comments):
            continue
        end = src.index(";", m.end())
        decl = " ".join(src[m.start():end + 1].split())
        decl = decl.replace("SONDE_API ", "").replace("SONDE_WUR ", "")
        nm = re.search(r"\b(sonde_[A-Za-z0-9_]+)\s*\(", decl)
        if not nm or nm.group(1).startswith("sonde__"):
            prev_end = end + 1
            continue
        name = nm.group(1)
        between = src[prev_end:line_start] if prev_end >= 0 else None
        comment = ""
        above = [c for c in comments if c[1] <= line_start]
        if above:
            a, b, raw = above[-1]
            gap = src[b:line_start]
            if not gap.strip() and gap.count("\n") <= 1 and b > prev_end:
                comment = comment_text(raw)
        if not comment and between is not None and "/*" not in between and \
                not re.search(r"\n\s*\n", between):
            comment = prev_comment  # one comment for a run of declarations
        if not comment:
            # the comment of the declaration's own section: the nearest one
            # after the previous declaration (above a typedef or #define
            # that the function uses), a ruler alone excepted
            for a_, b_, raw in reversed(above):
                if b_ <= prev_end:
                    break
                text = comment_text(raw)
                if text.startswith("----") and "\n" not in text:
                    continue
                comment = text
                break
        funcs.append((name, decl, comment))
        prev_end = end + 1
        prev_comment = comment
    return intro, funcs


def page(title, section_name, summary, version, header, intro, funcs):
    out = [
        '.TH %s 3 "" "sonde %s" "sonde manual"' % (title.upper(), version),
        ".SH NAME",
        "%s \\- %s" % (", ".join([title] + [f[0] for f in funcs]), summary),
        ".SH SYNOPSIS",
        ".nf",
        "#include <%s>" % header,
        "",
    ]
    for name, decl, _ in funcs:
        out.append(roff(decl))
    out += [".fi", ".PP", "Link with \\fI\\-lsonde\\fP "
            "(pkg\\-config: \\fIsonde\\fP; CMake: \\fIsonde::sonde\\fP).",
            ".SH DESCRIPTION", ".nf", roff(intro), ".fi", ".SH FUNCTIONS"]
    for name, decl, comment in funcs:
        out += [".SS %s" % name, ".nf", ".B %s" % roff(decl), ".PP", roff(comment), ".fi"]
    out += [".SH SEE ALSO", "\\fBsonde\\fP(3)", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", default="")
    ap.add_argument("--check")
    ap.add_argument("headers", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for f in os.listdir(a.out):
        if f.endswith(".3"):
            os.unlink(os.path.join(a.out, f))
    documented = {}
    index = []
    problems = []
    for h in a.headers:
        base = os.path.splitext(os.path.basename(h))[0]
        intro, funcs = parse(h)
        if not funcs:
            continue
        header = "sonde.h" if base == "sonde" else "sonde/%s.h" % base
        title = "sonde-" + base
        first = intro.split("\n", 1)[0]
        summary = first.split(" - ", 1)[1] if " - " in first else first
        with open(os.path.join(a.out, title + ".3"), "w") as fp:
            fp.write(page(title, base, summary, a.version, header, intro, funcs))
        index.append((title, summary))
        for name, _, comment in funcs:
            if name in documented:
                problems.append("%s declared twice (%s and %s)" % (name, documented[name][0], h))
            documented[name] = (h, comment)
            with open(os.path.join(a.out, name + ".3"), "w") as fp:
                fp.write(".so man3/%s.3\n" % title)
    with open(os.path.join(a.out, "sonde.3"), "w") as fp:
        fp.write('.TH SONDE 3 "" "sonde %s" "sonde manual"\n.SH NAME\nsonde \\- embeddable '
                 "instrumentation SDK: metrics, logs, traces\n.SH SYNOPSIS\n.nf\n"
                 "#include <sonde.h>\n.fi\n.SH PAGES\n" % a.version)
        for title, summary in index:
            fp.write(".TP\n\\fB%s\\fP(3)\n%s\n" % (title, roff(summary)))
    print("man: %d functions in %d pages" % (len(documented), len(index)))
    if a.check:
        nm = subprocess.run(["nm", "-D", "--defined-only", a.check], check=True,
                            capture_output=True, text=True).stdout
        exported = {l.split()[2] for l in nm.splitlines()
                    if len(l.split()) == 3 and l.split()[1] == "T"
                    and l.split()[2].startswith("sonde_")
                    and not l.split()[2].startswith("sonde__")}
        for name in sorted(exported - set(documented)):
            problems.append("%s is exported but has no man page" % name)
        for name in sorted(set(documented) - exported):
            problems.append("%s is documented but %s does not export it" % (name, a.check))
        for name, (h, comment) in sorted(documented.items()):
            if len(comment.split()) < 3:
                problems.append("%s (%s) has no comment to document it" % (name, h))
        if shutil.which("groff"):
            for title, _ in index + [("sonde", "")]:
                r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z",
                                    os.path.join(a.out, title + ".3")],
                                   capture_output=True, text=True)
                if r.returncode or r.stderr.strip():
                    problems.append("%s.3: groff: %s" % (title, r.stderr.strip()[:300]))
        for p in problems:
            print("man: " + p)
        print("man: %d exported functions, %d documented, %d problems"
              % (len(exported), len(documented), len(problems)))
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
