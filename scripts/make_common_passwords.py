"""Write webapp/services/data/common-passwords.txt: passwords people pick first, refused by
services/passwords.py. Made here from patterns (a word people reach for, then a year, a run of
digits or a "!"; keyboard walks; one character repeated), not copied from a published list.
services/passwords.py also tries a password without the digits and symbols around it, so
"Password2024!" meets "password" here: the years need no entries of their own.
Run: .venv/bin/python scripts/make_common_passwords.py
"""
import itertools
import os

WORDS = """
password passw0rd p@ssword p@ssw0rd letmein welcome welcome1 qwerty qwertyuiop admin administrator
iloveyou sunshine princess football baseball basketball soccer hockey dragon monkey shadow master
superman batman spiderman trustno1 whatever freedom starwars michael jennifer jordan hunter ranger
killer pepper cheese summer winter spring autumn monday friday secret changeme default login access
computer internet google abc123 trucking truckdriver freight factoring trucker driver dispatch
logistics carrier broker invoice invoices billing payroll company factordesk factor capitaldepot
demo-password demopassword chicago dallas houston texas america liberty eagle eagles cowboys
yankees lakers patriots steelers packers bears chelsea liverpool arsenal mustang corvette harley
peterbilt kenworth freightliner volvo diesel highway roadking bigrig semitruck eighteenwheeler
charlie thomas robert daniel matthew andrew joshua jessica ashley amanda sarah nicole elizabeth
jesus christ blessed angel angels heaven lovely loveyou mylove baby babygirl family forever
happy sunshine1 flower flowers rainbow butterfly purple orange yellow silver golden diamond
money dollar cash bank banking finance account accounts office server network system security
manager supervisor operations support helpdesk service customer user username guest test tester
testing sample example temp temporary newpassword mypassword yourpassword oldpassword passcode
letmein1 opensesame abcdef abcdefg abcdefgh qazwsx qwerty123 asdfgh asdfghjkl zxcvbnm
""".split()

SUFFIXES = ["", "1", "12", "123", "1234", "12345", "123456", "!", "1!", "123!", "!!", "01", "69",
            "007", "2k", "@123", "#1", "*", "?"]
YEARS = [str(y) for y in range(1990, 2031, 5)]
KEYBOARD = """
qwertyuiop qwertyuiopasdf 1qaz2wsx3edc 1qaz2wsx3edc4rfv qazwsxedcrfv zaq12wsxcde3 1q2w3e4r5t6y
1q2w3e4r5t6y7u8i q1w2e3r4t5y6 asdfghjkl;' asdfghjklzxcv zxcvbnm,./ qwertyasdfgh qwerty123456
asdf1234asdf 1234qwerasdf qwer1234qwer !qaz@wsx#edc 1qazxsw23edc poiuytrewq lkjhgfdsa mnbvcxz
abcdefghijkl abcdefghijklmnop abc123abc123 a1b2c3d4e5f6 123abc123abc
""".split()


def entries():
    """Every entry, lower case."""
    for word in WORDS:
        for base, tail in itertools.product((word, word + word), SUFFIXES):
            yield base + tail
        for year in YEARS:
            yield word + year + word
    yield from KEYBOARD
    for digits in ("0123456789", "1234567890", "9876543210", "0987654321"):
        for n in range(12, 21):
            yield (digits * 3)[:n]
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789!*.":
        for n in range(12, 21):
            yield ch * n
    for a, b in itertools.combinations("0123456789", 2):
        yield (a + b) * 6
        yield (a * 3 + b * 3) * 2


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.path.join(here, "..", "webapp", "services", "data", "common-passwords.txt")
    kept = sorted({e.lower() for e in entries()})
    with open(target, "w", encoding="utf-8") as out:
        out.write("# Passwords people pick first; made by scripts/make_common_passwords.py (do not edit).\n")
        out.write("\n".join(kept) + "\n")
    print(f"{len(kept)} entries written to {os.path.normpath(target)}")


if __name__ == "__main__":
    main()
