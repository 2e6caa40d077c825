#!/usr/bin/env python3
"""Lines shared by two sets of Rust files after normalising backend noise:
placeholders (?N/$N/?), `.await`, error mapping, whitespace. Counts lines of B
that also occur in A (multiset), skipping blanks, comments, imports and lone
punctuation. Usage: dup_lines.py DIR_A DIR_B"""
import re, sys, pathlib, collections

def lines(d):
    out = []
    for p in sorted(pathlib.Path(d).rglob('*.rs')):
        for l in p.read_text().splitlines():
            s = l.strip()
            if not s or s.startswith('//') or s.startswith('use ') or re.fullmatch(r'[{}()\[\];,.]*', s):
                continue
            s = re.sub(r'\$\d+|\?\d+|\?(?=[,) ])', '?', s)
            s = s.replace('.await', '').replace('.map_err(db_err)', '').replace('&', '')
            s = re.sub(r'\s+', ' ', s)
            out.append(s)
    return out

a, b = lines(sys.argv[1]), lines(sys.argv[2])
ca = collections.Counter(a)
shared = 0
for l in b:
    if ca[l] > 0:
        ca[l] -= 1
        shared += 1
print(f"A {len(a)} lines, B {len(b)} lines, shared {shared} ({100*shared/len(b):.0f}% of B, {100*shared/len(a):.0f}% of A)")
