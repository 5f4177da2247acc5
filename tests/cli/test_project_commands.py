"""startproject, startmodule, check, --version, --help and commands contributed by modules."""

import subprocess
import sys

from tether import __version__


def test_startproject_layout(project):
    names = sorted(p.relative_to(project.root).as_posix() for p in project.root.rglob("*"))
    assert names == [
        ".gitignore", "configs", "configs/__init__.py", "configs/context.yaml",
        "configs/settings.py", "data", "data/.gitkeep", "experiments", "experiments/__init__.py",
        "manage.py", "params", "params/__init__.py",
    ]
    assert "TETHER_SETTINGS_MODULE" in (project.root / "manage.py").read_text()


def test_startmodule_writes_the_module_and_installs_it(project):
    result = project.run("startmodule", "sales")
    assert result.code == 0, result.err
    assert sorted(p.name for p in (project.root / "sales").iterdir()) == [
        "__init__.py", "commands.py", "dags.py", "tasks.py"
    ]
    assert '"sales"' in (project.root / "configs" / "settings.py").read_text()
    run = project.run("dag", "sales")
    assert run.code == 0, run.err
    log = next((project.root / "data" / "runs").rglob("sales_task.log")).read_text()
    assert "Hello from sales" in log


def test_module_commands_join_the_cli(project):
    project.run("startmodule", "sales")
    help_text = project.run("--help")
    assert "sales-hello" in help_text.out
    result = project.run("sales-hello")
    assert result.code == 0 and result.out.strip() == "Hello from sales"


def test_commands_registered_on_the_tether_group(project):
    project.run("startmodule", "sales")
    project.write("sales/commands.py", """
        import click
        from tether.cli import cli

        @cli.command()
        def sample():
            \"\"\"Sample command.\"\"\"
            click.echo("Sample command called")
    """)
    result = project.run("sample")
    assert result.code == 0, result.err
    assert result.out.strip() == "Sample command called"


def test_tether_finds_the_project_from_a_subfolder(project):
    project.run("startmodule", "sales")
    result = project.tether("dag", "sales", "--dry-run")
    assert result.code == 0, result.err
    sub = project.root / "sales"
    done = subprocess.run([sys.executable, "-m", "tether", "dag", "sales", "--dry-run"], cwd=sub,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_version_and_help(project):
    assert project.tether("--version").out.strip() == f"tether {__version__}"
    result = project.tether("--help")
    assert result.code == 0
    for command in ("startproject", "startmodule", "dag", "runs", "check"):
        assert command in result.out


def test_check_passes_on_a_fresh_project(project):
    result = project.run("check")
    assert result.code == 0, result.err
    assert "No problems found" in result.out


def test_check_reports_problems_with_fixes(project):
    settings = project.root / "configs" / "settings.py"
    settings.write_text(settings.read_text() + '\nINSTALLED_MODULES = ["ghost"]\nDATA_BACKEND = "x.y.Z"\n')
    project.write("configs/broken.yaml", "a: [\n")
    result = project.run("check")
    assert result.code == 2
    assert "DATA_BACKEND = 'x.y.Z'" in result.err
    assert "broken.yaml:" in result.err
    assert "'ghost'" in result.err
