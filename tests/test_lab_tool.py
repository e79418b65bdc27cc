"""The parts of course_utils.tools.lab that need no browser and no server: ports, the
command line, the server config, the settings that keep JupyterLab from saving, the copy."""

import json
import socket
import sys

from course_utils.tools import lab


def test_free_port_is_bindable_on_loopback():
    port = lab.free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))


def test_command_line_allows_root_only_when_asked():
    cmd = lab.server_command("/tmp/c.py", allow_root=False)
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"]
    assert "--config=/tmp/c.py" in cmd and "--no-browser" in cmd
    assert "--allow-root" not in cmd
    assert "--allow-root" in lab.server_command("/tmp/c.py", allow_root=True)


def test_config_has_no_token_loopback_port_and_root(tmp_path):
    text = lab.server_config(12345, tmp_path / "root", tmp_path / "settings")
    compile(text, "jupyter_server_config.py", "exec")  # valid Python
    assert "configure_jupyter_server(c)" in text
    assert 'c.ServerApp.ip = "127.0.0.1"' in text
    assert "c.ServerApp.port = 12345" in text and "port_retries = 0" in text
    assert repr(str(tmp_path / "root")) in text


def test_config_applies_galata_setup(tmp_path):
    class Section(dict):
        def __getattr__(self, name):
            return self.setdefault(name, Section())

        def __setattr__(self, name, value):
            self[name] = value

    c = Section()
    exec(lab.server_config(4242, tmp_path, tmp_path / "s"), {"c": c})
    assert c.IdentityProvider.token == "" and c.ServerApp.disable_check_xsrf
    assert c.ServerApp.port == 4242 and c.ServerApp.root_dir == str(tmp_path)
    assert c.LabServerApp.user_settings_dir == str(tmp_path / "s")


def test_settings_turn_autosave_off_and_show_every_cell(tmp_path):
    lab.write_settings(tmp_path)
    doc = json.loads((tmp_path / "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings")
                     .read_text())
    assert doc == {"autosave": False}
    nb = json.loads((tmp_path / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings")
                    .read_text())
    assert nb["windowingMode"] == "none"


def test_copy_course_copies_only_notebooks(tmp_path):
    src = tmp_path / "src"
    (src / "notebooks").mkdir(parents=True)
    (src / "exercises").mkdir()
    (src / "notebooks" / "01_a.ipynb").write_text("{}")
    (src / "notebooks" / "notes.txt").write_text("x")
    (src / "exercises" / "01_a.ipynb").write_text("{}")
    dest = lab.copy_course(tmp_path / "dest", root=src)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "exercises/01_a.ipynb", "notebooks/01_a.ipynb"]


def test_explorer_calls_are_recognized():
    hit = lab.EXPLORER_CALL.search
    assert hit("ch.make_explorer()") and hit("ch.make_cliff_explorer()")
    assert hit("ex = ch.make_mc_explorer(p=0.2)")
    assert not hit("explorers.drive_to_extremes(ex)") and not hit("make_explorer = None")


def test_kernel_environment_keeps_one_thread_and_the_cpu():
    assert lab.KERNEL_ENV["COURSE_DEVICE"] == "cpu"
    assert lab.KERNEL_ENV["OMP_NUM_THREADS"] == "1"


def test_server_takes_an_env_mapping_as_strings():
    server = lab.LabServer(env={"COURSE_SEED_OFFSET": 2, "MKL_CBWR": "COMPATIBLE"})
    assert server.env == {"COURSE_SEED_OFFSET": "2", "MKL_CBWR": "COMPATIBLE"}
    server.stop()  # never started: a no-op
