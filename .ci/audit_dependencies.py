"""pip-audit of the locked dependencies (run by ``make test``, hence by CI).

A known vulnerability in any locked package fails the run. When the vulnerability service
cannot be reached (an offline machine, or a package index mirror without PyPI's JSON API),
no package can be audited: that is said plainly, with the count, and the run goes on, since
failing every offline test run would hide nothing and block everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

PIP_AUDIT = "pip-audit==2.10.1"


def main(uv: str, requirements: str) -> int:
    argv = [uv, "tool", "run", PIP_AUDIT, "-r", requirements, "--no-deps", "--disable-pip"]
    argv += ["-f", "json", "--progress-spinner", "off"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        print(f"pip-audit: could not audit ({done.stderr.strip().splitlines()[-1:]})")
        return 0
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            package = f"{dependency['name']} {dependency['version']}"
            print(f"pip-audit: {package}: {vuln['id']} ({fixed})")
    audited = len(dependencies) - len(skipped)
    print(
        f"pip-audit: {len(dependencies)} locked packages, {audited} audited, "
        f"{len(vulnerable)} with known vulnerabilities"
        + (f", {len(skipped)} not auditable here (no vulnerability service)" if skipped else "")
    )
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
