"""Say plainly whether this Python can run Factor Desk, before anything is installed.

Written so that any Python 3 runs it (no f-strings, nothing newer): the point is to answer on
an old one too. Exit status 1 with what to install when it cannot.
"""
import sys

NEEDED = (3, 11)


def main():
    """Check the version and the venv module (Debian ships it apart: python3-venv)."""
    have = sys.version_info[:3]
    if tuple(have[:2]) < NEEDED:
        sys.stderr.write(
            "Factor Desk needs Python %d.%d or newer; %s is Python %d.%d.%d.\n"
            "Install a newer Python (Debian 12 and later: apt-get install python3 python3-venv),\n"
            "or point make at one: make run PY=python3.12\n" % (NEEDED + (sys.executable,) + tuple(have)))
        return 1
    try:
        import ensurepip  # noqa: F401  (missing when Debian's python3-venv is not installed)
        import venv  # noqa: F401
    except ImportError:
        sys.stderr.write(
            "Python %d.%d has no venv module with pip. On Debian or Ubuntu: "
            "apt-get install python3-venv (or python%d.%d-venv)\n" % (have[0], have[1], have[0], have[1]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
