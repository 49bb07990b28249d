"""`make deb`'s package, built by CPack from this build tree and checked by Debian's own tools:
its contents, lintian, systemd-analyze verify of the unit, the generated man page and bash
completion, and an install, a run and a purge in a throwaway root (dpkg --root)."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

BUILD = os.environ.get("MOCCHA_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))


def run(*argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, **kw)


def commands():
    """The subcommands `moccha --help` lists."""
    out = run(os.path.join(BUILD, "moccha"), "--help").stdout
    section = out.split("Subcommands:")[1]
    return [m.group(1) for m in re.finditer(r"^\s{2}(\S+)\s", section, re.M)]


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="moccha-deb-")
        built = run("cmake", "--build", BUILD, "--target", "package_docs")
        assert built.returncode == 0, built.stdout + built.stderr
        packed = run("cpack", "-G", "DEB", "--config", os.path.join(BUILD, "CPackConfig.cmake"),
                     "-B", cls.tmp)
        assert packed.returncode == 0, packed.stdout + packed.stderr
        debs = [f for f in os.listdir(cls.tmp) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(cls.tmp, debs[0])
        cls.version = run(os.path.join(BUILD, "moccha"), "--version").stdout.split()[1]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_contents_and_control(self):
        listing = run("dpkg-deb", "-c", self.deb).stdout
        for path in ["./usr/bin/moccha", "./lib/systemd/system/moccha.service",
                     "./usr/lib/sysusers.d/moccha.conf", "./usr/share/doc/moccha/README.md",
                     "./usr/share/doc/moccha/copyright", "./usr/share/doc/moccha/changelog.gz",
                     "./usr/share/man/man1/moccha.1.gz",
                     "./usr/share/bash-completion/completions/moccha"]:
            self.assertIn(path, listing)
        owners = {line.split()[1] for line in listing.splitlines()}
        self.assertEqual(owners, {"root/root"})
        field = lambda name: run("dpkg-deb", "-f", self.deb, name).stdout.strip()
        self.assertEqual(field("Package"), "moccha")
        self.assertEqual(field("Version"), self.version)
        for dep in ("adduser", "libarchive13", "libcurl4", "libsqlite3-0"):
            self.assertIn(dep, field("Depends"))
        self.assertEqual(os.path.basename(self.deb), f"moccha_{self.version}_amd64.deb")

    def test_lintian_finds_no_error(self):
        out = run("lintian", "--no-tag-display-limit", self.deb)
        errors = [l for l in out.stdout.splitlines() if l.startswith("E:")]
        self.assertEqual(errors, [], out.stdout)
        self.assertIn(out.returncode, (0, 1), out.stderr)

    def test_the_unit_verifies(self):
        root = os.path.join(self.tmp, "verify-root")
        run("dpkg-deb", "-x", self.deb, root)
        # The system's own units beside ours, so the targets it orders against exist.
        shutil.copytree("/lib/systemd/system", os.path.join(root, "lib/systemd/system"),
                        dirs_exist_ok=True, symlinks=True,
                        ignore=lambda d, names: [n for n in names if n == "moccha.service"])
        out = run("systemd-analyze", "verify", "--man=no", f"--root={root}",
                  "/lib/systemd/system/moccha.service")
        self.assertEqual((out.returncode, out.stdout + out.stderr), (0, ""))
        with open(os.path.join(root, "lib/systemd/system/moccha.service")) as f:
            unit = f.read()
        for line in ("User=moccha", "ProtectSystem=full", "Restart=on-failure",
                     "StateDirectory=moccha", "--data-dir /var/lib/moccha"):
            self.assertIn(line, unit)

    def test_man_page_and_completion_cover_every_command(self):
        root = os.path.join(self.tmp, "docs-root")
        run("dpkg-deb", "-x", self.deb, root)
        page = os.path.join(root, "usr/share/man/man1/moccha.1.gz")
        out = run("man", "--warnings", "-l", page, env={**os.environ, "MANWIDTH": "80"})
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stderr, "")  # groff has nothing to say
        names = commands()
        self.assertIn("serve", names)
        self.assertGreater(len(names), 25)
        for name in names:
            self.assertRegex(out.stdout, rf"(?m)^\s+{re.escape(name)}\b", name)
        completion = os.path.join(root, "usr/share/bash-completion/completions/moccha")
        probe = ('source "$1"; COMP_WORDS=(moccha "$2"); COMP_CWORD=1; _moccha; '
                 'echo "${COMPREPLY[*]}"')
        got = run("bash", "-c", probe, "-", completion, "").stdout.split()
        self.assertEqual(sorted(n for n in got if not n.startswith("-")), sorted(names))
        got = run("bash", "-c", 'source "$1"; COMP_WORDS=(moccha download x --z); COMP_CWORD=3; '
                  '_moccha; echo "${COMPREPLY[*]}"', "-", completion).stdout.split()
        self.assertEqual(got, ["--zip"])

    def test_install_run_and_purge_in_a_throwaway_root(self):
        root = os.path.join(self.tmp, "root")
        for d in ("etc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
            os.makedirs(os.path.join(root, d))
        open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
        dpkg = ["dpkg", f"--root={root}", "--force-script-chrootless",
                f"--log={root}/dpkg.log"]
        # Its libraries are the host's: this root has no packages, so dependencies are waived.
        out = run(*dpkg, "--force-depends", "-i", self.deb)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        version = run(os.path.join(root, "usr/bin/moccha"), "--version")
        self.assertEqual(version.stdout.strip(), f"moccha {self.version}")
        with open(os.path.join(root, "etc/passwd")) as f:
            self.assertRegex(f.read(), r"(?m)^moccha:x:\d+:\d+:Moccha agent:/var/lib/moccha:")
        with open("/etc/passwd") as f:  # the host's users are untouched
            host = f.read()
        os.makedirs(os.path.join(root, "var/lib/moccha"))
        with open(os.path.join(root, "var/lib/moccha/api_key"), "w") as f:
            f.write("x\n")
        out = run(*dpkg, "--purge", "moccha")
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        left = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                if "var/lib/dpkg" not in d and not f.endswith("dpkg.log")
                and not d.endswith("/etc")]
        self.assertEqual(left, [])
        with open("/etc/passwd") as f:
            self.assertEqual(f.read(), host)


if __name__ == "__main__":
    unittest.main()
