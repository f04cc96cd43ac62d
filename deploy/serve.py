"""`make serve`: several dashboard processes behind nginx on loopback (docs/deploy.md).

It migrates the database and publishes its first read-only snapshot (data/store.py), starts N
`streamlit run app.py` processes on loopback ports (BANZI_SNAPSHOTS=1, one shared cookie
secret), writes an nginx configuration of its own (websocket-aware, sticky by a route cookie,
passive fail-over, a health URL per process) and runs nginx from it with `nginx -c FILE -p DIR`,
not as the system service. It polls every process's /_stcore/health, restarts a process that
died, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ROUTE_COOKIE = "banzi_route"
HEALTH_PATH = "/_stcore/health"
START_TIMEOUT_S = 90.0

NGINX_CONF = """\
# Written by deploy/serve.py; regenerated on every start.
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format banzi '$remote_addr [$time_local] "$request" $status $body_bytes_sent '
                     'upstream=$upstream_addr upstream_s=$upstream_response_time '
                     'route=$banzi_route';
    access_log {prefix}/access.log banzi;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    client_max_body_size 200m;

    # Websockets: pass the upgrade through; plain requests close nothing.
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    # Sticky sessions: a browser without a route cookie gets a random one (the request id);
    # every later request and its websocket hash to the same process. ip_hash would send
    # every browser of one machine (and every user behind one office NAT) to one process.
    map $cookie_{cookie} $banzi_route {{
        ''      $request_id;
        default $cookie_{cookie};
    }}

    upstream banzi {{
        hash $banzi_route consistent;
{servers}
    }}

    server {{
        listen {listen};
        location / {{
            proxy_pass http://banzi;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 1d;
            proxy_send_timeout 1d;
            proxy_next_upstream error timeout http_502 http_503;
            add_header Set-Cookie "{cookie}=$banzi_route; Path=/; HttpOnly; SameSite=Lax" always;
        }}
        location = /_banzi/health {{
            return 200 "ok";
        }}
{health}
    }}
}}
"""


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_nginx() -> str | None:
    """Return the nginx binary (Debian puts it in /usr/sbin), or None if not installed."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def nginx_config(listen: str, ports: list[int], prefix: Path, max_fails: int = 1) -> str:
    """Return an nginx configuration proxying `listen` to the dashboard processes on `ports`."""
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails={max_fails} fail_timeout=5s;" for p in ports
    )
    health = "\n".join(
        f"        location = /_banzi/health/{i} {{ proxy_pass http://127.0.0.1:{p}{HEALTH_PATH}; }}"
        for i, p in enumerate(ports)
    )
    return NGINX_CONF.format(
        prefix=prefix, listen=listen, servers=servers, health=health, cookie=ROUTE_COOKIE
    )


def healthy(url: str, timeout: float = 2.0) -> bool:
    """Return whether a Streamlit process answers its health check."""
    try:
        with urllib.request.urlopen(f"{url}{HEALTH_PATH}", timeout=timeout) as resp:
            return resp.read().decode().strip() == "ok"
    except OSError:
        return False


def wait_healthy(url: str, timeout: float = START_TIMEOUT_S) -> bool:
    """Wait until `url` answers its health check; return False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(url):
            return True
        time.sleep(0.3)
    return False


def prepare_db(db: Path) -> Path:
    """Migrate the live file and publish its first snapshot; return the snapshot path."""
    from data.store import Store

    store = Store(db)
    store.init()
    return store.publish()


@dataclass
class Cluster:
    """N dashboard processes and one nginx in front, all on loopback."""

    db: Path
    procs: int
    port: int
    workdir: Path
    ports: list[int] = field(default_factory=list)
    servers: list[subprocess.Popen | None] = field(default_factory=list)
    nginx: subprocess.Popen | None = None
    cookie_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    quiet: bool = True

    @property
    def url(self) -> str:
        """The URL users open (nginx)."""
        return f"http://127.0.0.1:{self.port}"

    def server_url(self, index: int) -> str:
        """The direct URL of one dashboard process."""
        return f"http://127.0.0.1:{self.ports[index]}"

    def _start_server(self, index: int) -> subprocess.Popen:
        log = self.workdir / f"streamlit-{index}.log"
        # The same cookie secret in every process: Streamlit's XSRF cookie (uploads) then
        # verifies whichever process a request reaches.
        env = {
            **os.environ,
            "BANZI_DB": str(self.db),
            "BANZI_SNAPSHOTS": "1",
            "STREAMLIT_SERVER_COOKIE_SECRET": self.cookie_secret,
        }
        out = open(log, "ab") if not self.quiet else subprocess.DEVNULL
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app.py"),
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(self.ports[index]),
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--server.runOnSave",
                "false",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if not self.quiet else subprocess.DEVNULL,
        )

    def start(self) -> None:
        """Publish the snapshot, start the processes and nginx; wait until all answer."""
        nginx = find_nginx()
        if nginx is None:
            raise RuntimeError("未找到 nginx。请先安装：sudo apt-get install -y nginx")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.workdir / "tmp" / sub).mkdir(parents=True, exist_ok=True)
            # nginx workers started by root run as nobody and must write here.
            os.chmod(self.workdir / "tmp" / sub, 0o777)
        prepare_db(self.db)
        self.ports = [free_port() for _ in range(self.procs)]
        self.servers = [self._start_server(i) for i in range(self.procs)]
        conf = self.workdir / "nginx.conf"
        conf.write_text(
            nginx_config(f"127.0.0.1:{self.port}", self.ports, self.workdir), encoding="utf-8"
        )
        for i in range(self.procs):
            if not wait_healthy(self.server_url(i)):
                self.stop()
                raise RuntimeError(f"仪表盘进程 {i} 在 {START_TIMEOUT_S:.0f} 秒内没有启动。")
        self.nginx = subprocess.Popen(
            [
                nginx,
                "-c",
                str(conf),
                "-p",
                str(self.workdir),
                "-e",
                str(self.workdir / "error.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_healthy(self.url, timeout=20):
            self.stop()
            raise RuntimeError(f"nginx 没有启动，见 {self.workdir / 'error.log'}")

    def pids(self) -> list[int]:
        """Return the process ids of the dashboard processes still running."""
        return [p.pid for p in self.servers if p is not None and p.poll() is None]

    def kill(self, index: int) -> None:
        """Kill one dashboard process at once (SIGKILL), as a crash would."""
        proc = self.servers[index]
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    def supervise_once(self) -> list[str]:
        """Restart processes that exited; return a log line per process that failed its check."""
        notes = []
        for i, proc in enumerate(self.servers):
            if proc is None or proc.poll() is not None:
                notes.append(f"进程 {i}（端口 {self.ports[i]}）已退出，重新启动")
                self.servers[i] = self._start_server(i)
            elif not healthy(self.server_url(i)):
                notes.append(f"进程 {i}（端口 {self.ports[i]}）健康检查未通过")
        return notes

    def stop(self) -> None:
        """Stop nginx and every dashboard process."""
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait(timeout=10)
        for proc in self.servers:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in self.servers:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run `make serve` until Ctrl-C."""
    from data.store import StoreError, resolve_db_path

    parser = argparse.ArgumentParser(prog="deploy/serve.py", description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--db", default=None)
    parser.add_argument("--workdir", default=str(ROOT / "deploy" / "run"))
    parser.add_argument("--verbose", action="store_true", help="写入每个进程的日志")
    args = parser.parse_args(argv)
    if args.procs < 1:
        print("--procs 至少为 1。", file=sys.stderr)
        return 2
    cluster = Cluster(
        resolve_db_path(args.db), args.procs, args.port, Path(args.workdir), quiet=not args.verbose
    )

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            cluster.start()
        except (RuntimeError, StoreError) as exc:
            print(str(exc), file=sys.stderr)
            return 1
        print(
            f"banzi：{args.procs} 个仪表盘进程，经 nginx 在 {cluster.url} 提供服务"
            f"（日志与配置：{cluster.workdir}）。按 Ctrl-C 停止。",
            flush=True,
        )
        while True:
            for note in cluster.supervise_once():
                print(note, flush=True)
            time.sleep(5)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C (or the SIGTERM a supervisor sends the whole group) must not cut
        # the shutdown short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cluster.stop()
        print("已停止。", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
