"""Skiff's own checks of skiffd through Docker's Python client (Debian's python3-docker).

Run by dockerpy_test.go with DOCKER_HOST pointing at a skiffd it started and
SKIFF_BUSYBOX naming a busybox image in a registry on 127.0.0.1.
"""
import io
import os
import tarfile
import time
import uuid

import docker
import pytest

BUSYBOX = os.environ["SKIFF_BUSYBOX"]


@pytest.fixture(scope="module")
def client():
    c = docker.from_env(version="auto", timeout=120)
    c.images.pull(BUSYBOX)
    yield c
    c.close()


def name(prefix):
    return prefix + "-" + uuid.uuid4().hex[:8]


@pytest.fixture
def cleanup(client):
    made = []
    yield made
    for kind, ident in reversed(made):
        try:
            if kind == "container":
                client.api.remove_container(ident, force=True, v=True)
            elif kind == "network":
                client.api.remove_network(ident)
            elif kind == "volume":
                client.api.remove_volume(ident, force=True)
            elif kind == "image":
                client.api.remove_image(ident, force=True)
        except docker.errors.NotFound:
            pass


def test_version_info_ping(client):
    assert client.ping()
    v = client.version()
    assert v["ApiVersion"] and v["Os"] == "linux"
    assert "Containers" in client.info()


def test_run_output_and_exit_code(client):
    out = client.containers.run(BUSYBOX, ["sh", "-c", "echo hello; echo oops >&2"], remove=True, stderr=True)
    assert b"hello" in out
    with pytest.raises(docker.errors.ContainerError) as e:
        client.containers.run(BUSYBOX, ["sh", "-c", "exit 3"], remove=True)
    assert e.value.exit_status == 3


def test_detached_logs_wait_and_inspect(client, cleanup):
    c = client.containers.run(BUSYBOX, ["sh", "-c", "echo one; echo two; exit 4"], detach=True,
                              name=name("pylogs"), labels={"suite": "dockerpy"}, environment={"A": "1"})
    cleanup.append(("container", c.id))
    assert c.wait(timeout=30)["StatusCode"] == 4
    assert c.logs() == b"one\ntwo\n"
    assert c.logs(tail=1) == b"two\n"
    c.reload()
    assert c.status == "exited"
    assert c.labels["suite"] == "dockerpy"
    assert "A=1" in c.attrs["Config"]["Env"]
    listed = client.containers.list(all=True, filters={"label": "suite=dockerpy"})
    assert c.id in [x.id for x in listed]


def test_exec_run(client, cleanup):
    c = client.containers.run(BUSYBOX, ["sleep", "300"], detach=True, name=name("pyexec"))
    cleanup.append(("container", c.id))
    code, out = c.exec_run(["sh", "-c", "echo $X; exit 2"], environment={"X": "from-exec"})
    assert code == 2 and out == b"from-exec\n"
    code, out = c.exec_run("cat /etc/hostname", workdir="/tmp")
    assert code == 0 and out.strip() == c.id[:12].encode()
    exec_id = client.api.exec_create(c.id, ["sh", "-c", "exit 5"])["Id"]
    client.api.exec_start(exec_id)
    info = client.api.exec_inspect(exec_id)
    assert info["ExitCode"] == 5 and info["Running"] is False


def test_put_and_get_archive(client, cleanup):
    c = client.containers.create(BUSYBOX, ["sleep", "300"], name=name("pyarchive"))
    cleanup.append(("container", c.id))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"archived\n"
        ti = tarfile.TarInfo("dir/file.txt")
        ti.size = len(data)
        ti.mode = 0o640
        tf.addfile(ti, io.BytesIO(data))
    assert c.put_archive("/opt", buf.getvalue())
    c.start()
    code, out = c.exec_run("cat /opt/dir/file.txt")
    assert code == 0 and out == b"archived\n"
    bits, stat = c.get_archive("/opt/dir")
    assert stat["name"] == "dir"
    raw = b"".join(bits)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        names = tf.getnames()
        assert "dir/file.txt" in names
        assert tf.extractfile("dir/file.txt").read() == b"archived\n"
    with pytest.raises(docker.errors.NotFound):
        c.get_archive("/no/such/path")


def test_volumes(client, cleanup):
    vname = name("pyvol")
    v = client.volumes.create(vname, labels={"k": "v"})
    cleanup.append(("volume", vname))
    assert v.attrs["Labels"] == {"k": "v"}
    client.containers.run(BUSYBOX, ["sh", "-c", "echo kept > /data/f"], remove=True,
                          volumes={vname: {"bind": "/data", "mode": "rw"}})
    out = client.containers.run(BUSYBOX, ["cat", "/data/f"], remove=True,
                                volumes={vname: {"bind": "/data", "mode": "ro"}})
    assert out == b"kept\n"
    assert vname in [x.name for x in client.volumes.list()]
    v.remove()
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get(vname)


def test_network_aliases(client, cleanup):
    nname = name("pynet")
    net = client.networks.create(nname, driver="bridge", labels={"suite": "dockerpy"})
    cleanup.append(("network", net.id))
    srv = client.containers.run(BUSYBOX, ["sh", "-c", "echo hi > /index.html; trap 'exit 0' TERM; httpd -f -p 80 -h / & wait"],
                                detach=True, name=name("pysrv"), network=nname)
    cleanup.append(("container", srv.id))
    # connect a second name for it, as docker-py does for aliases
    other = client.containers.create(BUSYBOX, ["sh", "-c", "sleep 300"], name=name("pycli"))
    cleanup.append(("container", other.id))
    net.connect(other, aliases=["client-alias"])
    other.start()
    code, out = other.exec_run(["sh", "-c", "for i in 1 2 3 4 5; do wget -q -O - http://%s/ && exit 0; sleep 0.2; done; exit 1" % srv.name])
    assert code == 0 and out == b"hi\n"
    net.reload()
    assert {srv.id, other.id} <= {c.id for c in net.containers}
    assert client.networks.list(names=[nname])[0].id == net.id
    net.disconnect(other)


def test_images_tag_history_save_load(client, cleanup):
    img = client.images.get(BUSYBOX)
    tag = "pytest/" + name("box") + ":v1"
    assert img.tag(tag)
    cleanup.append(("image", tag))
    assert tag in client.images.get(tag).tags
    assert len(img.history()) >= 1
    blob = b"".join(client.images.get(tag).save(named=tag))
    client.images.remove(tag)
    loaded = client.images.load(blob)
    assert tag in [t for i in loaded for t in i.tags]


def test_events_and_stats(client, cleanup):
    since = int(time.time()) - 1
    c = client.containers.run(BUSYBOX, ["sleep", "300"], detach=True, name=name("pyev"))
    cleanup.append(("container", c.id))
    stats = c.stats(stream=False)
    assert stats["memory_stats"]["usage"] > 0
    assert stats["pids_stats"]["current"] >= 1
    c.kill()
    c.wait(timeout=30)
    actions = [e["Action"] for e in client.events(since=since, until=int(time.time()) + 1, decode=True,
                                                   filters={"container": c.id})]
    assert actions[:2] == ["create", "start"] and "die" in actions


def test_prune(client):
    c = client.containers.run(BUSYBOX, ["true"], detach=True, name=name("pyprune"))
    c.wait(timeout=30)
    res = client.containers.prune()
    assert c.id in res["ContainersDeleted"]
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(c.id)


def test_errors(client):
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("no-such-container")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("no-such-image:latest")
    with pytest.raises(docker.errors.NotFound):
        client.networks.get("no-such-network")
